"""Execution: health checks and their runs (health.py), execution runs, the step log, trigger
firings and incidents (runs.py)."""

from .health import AllowedTarget, Baseline, CheckPurpose, CheckResult, CheckRun, HealthCheck, ResultStatus, RunStatus
from .runs import ExecutionRun, Incident, RunState, Severity, StepEvent, StepOutcome, TriggerFiring

__all__ = [
    "AllowedTarget", "Baseline", "CheckPurpose", "CheckResult", "CheckRun", "ExecutionRun", "HealthCheck", "Incident",
    "ResultStatus", "RunState", "RunStatus", "Severity", "StepEvent", "StepOutcome", "TriggerFiring",
]
