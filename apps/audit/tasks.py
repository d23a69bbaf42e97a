from celery import shared_task
from celery.schedules import crontab

from config.celery import app

RETENTION_DAILY = "audit-retention-daily"


@shared_task(name="audit.retention_run", acks_late=True, max_retries=2, default_retry_delay=600)
def retention_run_task() -> str:
    """Archive, then delete, what is past retention and under no legal hold."""
    from .retention import retention_run

    return retention_run().summary()


def schedule() -> None:
    """Beat runs retention every night at 02:30 (server time), away from the upgrade windows' checks."""
    app.conf.beat_schedule = {
        **(app.conf.beat_schedule or {}),
        RETENTION_DAILY: {"task": "audit.retention_run", "schedule": crontab(hour=2, minute=30)},
    }
