from celery import shared_task
from celery.schedules import crontab

from config.celery import app

SUBSCRIPTIONS_DAILY = "reporting-subscriptions-daily"
FACTS_REFRESH = "reporting-facts-refresh"
FACTS_REFRESH_SECONDS = 300


@shared_task(name="reporting.report_generate", acks_late=True, max_retries=2, default_retry_delay=30)
def report_generate_task(report_id: int) -> str:
    """Render a queued report; the row is claimed with a conditional update, so a redelivery does nothing."""
    from .services import report_generate

    report = report_generate(report_id)
    return report.status if report else "already claimed"


@shared_task(name="reporting.subscriptions_send", acks_late=True, max_retries=3, default_retry_delay=600)
def subscriptions_send_task() -> int:
    """Send every subscription's last complete period (each period is claimed once per subscription)."""
    from .services import subscriptions_send_due

    return subscriptions_send_due()


@shared_task(name="reporting.facts_refresh", acks_late=True)
def facts_refresh_task() -> int:
    """Count the KPI facts that writes made stale since the last time (an index lookup when none did), so a
    report finds them counted instead of counting them itself."""
    from .facts import refresh, usable

    return refresh() if usable() else 0


def schedule() -> None:
    """Beat runs the subscriptions every morning (monthly ones go out on the 1st, weekly ones on Mondays) and
    counts stale KPI facts every five minutes (a run not started within that time is dropped)."""
    app.conf.beat_schedule = {
        **(app.conf.beat_schedule or {}),
        SUBSCRIPTIONS_DAILY: {"task": "reporting.subscriptions_send", "schedule": crontab(hour=6, minute=15)},
        FACTS_REFRESH: {"task": "reporting.facts_refresh", "schedule": float(FACTS_REFRESH_SECONDS),
                        "options": {"expires": FACTS_REFRESH_SECONDS}},
    }


@shared_task(name="reporting.evidence_pack_build", acks_late=True, max_retries=2, default_retry_delay=30)
def evidence_pack_build_task(pack_id: int) -> str:
    """Build a queued evidence pack; the row is claimed with a conditional update, so a redelivery does
    nothing."""
    from .evidence import evidence_pack_build

    pack = evidence_pack_build(pack_id)
    return pack.status if pack else "already claimed"
