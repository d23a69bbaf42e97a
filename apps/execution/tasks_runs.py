"""Execution-run tasks (thin wrappers around apps.execution.triggers services)."""

from celery import shared_task

from config.celery import app

MONITOR = "execution-monitor-runs"


@shared_task(name="execution.monitor_runs", acks_late=True, max_retries=2, default_retry_delay=20,
             soft_time_limit=50, time_limit=60)
def execution_monitor_runs() -> int:
    """Every minute: evaluate the rollback triggers of each running run and request its next monitoring
    run. The evaluation is idempotent (the same results fire a trigger once), so a redelivery is harmless."""
    from .triggers import monitor_tick

    return monitor_tick()


def schedule() -> None:
    app.conf.beat_schedule = {
        **(app.conf.beat_schedule or {}),
        MONITOR: {"task": "execution.monitor_runs", "schedule": 60.0},
    }
