from celery import shared_task
from celery.schedules import crontab

from config.celery import app

from .services import assessments_rerun_open

DAILY_RERUN = "assessments-daily-rerun"


@shared_task(name="assessments.rerun_open", acks_late=True, max_retries=3, default_retry_delay=300)
def assessments_rerun_open_task() -> int:
    """Re-run every open assessment; a re-run only records what changed, so a redelivery is harmless."""
    return assessments_rerun_open()


def schedule() -> None:
    """Add the daily re-run to the beat schedule (called from AppConfig.ready, so beat always has it)."""
    app.conf.beat_schedule = {
        **(app.conf.beat_schedule or {}),
        DAILY_RERUN: {"task": "assessments.rerun_open", "schedule": crontab(hour=4, minute=30)},
    }
