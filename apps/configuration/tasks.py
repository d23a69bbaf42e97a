from celery import shared_task
from celery.schedules import crontab

from config.celery import app

from .services import baselines_validate_all

NIGHTLY_VALIDATION = "configuration-baseline-validation"


@shared_task(name="configuration.baselines_validate", acks_late=True, max_retries=3, default_retry_delay=300,
             soft_time_limit=600, time_limit=660)
def baselines_validate_task() -> int:
    """Validate the latest snapshots against their baselines; a re-run changes nothing it already found."""
    return baselines_validate_all()


def schedule() -> None:
    """Add the validation to the beat schedule (called from the app's register(), so beat always has it)."""
    app.conf.beat_schedule = {
        **(app.conf.beat_schedule or {}),
        NIGHTLY_VALIDATION: {"task": "configuration.baselines_validate", "schedule": crontab(minute=15)},
    }
