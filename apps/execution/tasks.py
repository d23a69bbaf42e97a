"""Celery finds tasks here: health-check tasks and execution-run tasks live in their own modules."""

from .tasks_health import *  # noqa: F401,F403
from .tasks_runs import *  # noqa: F401,F403
