"""Health-check tasks (thin wrappers around apps.execution.health services)."""

from celery import shared_task
from django.db import DatabaseError, InterfaceError

from config.celery import app

DISPATCHER = "health-dispatch-pending"


@shared_task(name="health.checkrun_execute", acks_late=True, reject_on_worker_lost=True, soft_time_limit=240,
             time_limit=300, autoretry_for=(DatabaseError, InterfaceError), retry_backoff=2, retry_backoff_max=60,
             max_retries=3)
def checkrun_execute_task(run_id: int) -> str:
    """Probe a run; the run row makes it idempotent (a redelivery only adds results still missing)."""
    from .health import checkrun_execute

    run = checkrun_execute(run_id)
    return run.status if run is not None else "missing"


@shared_task(name="health.dispatch_pending", acks_late=True, soft_time_limit=60, time_limit=90, max_retries=0)
def checkruns_dispatch_pending_task() -> int:
    """The outbox's periodic sweep: send runs that could not be handed to the broker when requested."""
    from .health import checkruns_dispatch_pending

    return checkruns_dispatch_pending()


def schedule() -> None:
    """Every 30 seconds, from the one beat (called from the app's ready())."""
    app.conf.beat_schedule = {
        **(app.conf.beat_schedule or {}),
        DISPATCHER: {"task": "health.dispatch_pending", "schedule": 30.0},
    }
