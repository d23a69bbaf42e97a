from celery import shared_task
from celery.schedules import crontab

from config.celery import app

SUBSCRIPTIONS_DAILY = "reporting-subscriptions-daily"


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


def schedule() -> None:
    """Beat runs the subscriptions every morning; monthly ones go out on the 1st, weekly ones on Mondays."""
    app.conf.beat_schedule = {
        **(app.conf.beat_schedule or {}),
        SUBSCRIPTIONS_DAILY: {"task": "reporting.subscriptions_send", "schedule": crontab(hour=6, minute=15)},
    }


@shared_task(name="reporting.evidence_pack_build", acks_late=True, max_retries=2, default_retry_delay=30)
def evidence_pack_build_task(pack_id: int) -> str:
    """Build a queued evidence pack; the row is claimed with a conditional update, so a redelivery does
    nothing."""
    from .evidence import evidence_pack_build

    pack = evidence_pack_build(pack_id)
    return pack.status if pack else "already claimed"
