"""Execution runs of a request, the append-only step log, trigger firings and incidents."""

from django.conf import settings
from django.db import models


class RunState(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused by a trigger"
    BACKING_OUT = "backing_out", "Backing out"
    DONE = "done", "Done"
    ROLLED_BACK = "rolled_back", "Rolled back"


class ExecutionRun(models.Model):
    request = models.ForeignKey("upgrades.UpgradeRequest", on_delete=models.CASCADE, related_name="execution_runs")
    plan_version = models.ForeignKey("rollouts.PlanVersion", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    state = models.CharField(max_length=20, choices=RunState.choices, default=RunState.RUNNING, db_index=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    paused_reason = models.TextField(blank=True)
    backout_started_at = models.DateTimeField(null=True, blank=True)
    backout_started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                           on_delete=models.PROTECT, related_name="+")
    backout_reason = models.TextField(blank=True)
    validation_signature = models.JSONField(
        default=dict, blank=True, help_text="Who signed the validation, when, how, and the evidence's SHA-256.")

    class Meta:
        ordering = ["-started_at"]


class StepOutcome(models.TextChoices):
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class StepEvent(models.Model):
    """One line of the append-only step log: a step started or finished (with its outcome)."""

    run = models.ForeignKey(ExecutionRun, on_delete=models.CASCADE, related_name="events")
    step = models.ForeignKey("rollouts.RunbookStep", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=[("started", "Started"), ("finished", "Finished")])
    outcome = models.CharField(max_length=10, choices=StepOutcome.choices, blank=True)
    reason = models.TextField(blank=True)
    output = models.TextField(blank=True)
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    automated = models.BooleanField(default=False, help_text="Posted by automation with an API token.")
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["run_id", "at", "id"]


class TriggerFiring(models.Model):
    run = models.ForeignKey(ExecutionRun, on_delete=models.CASCADE, related_name="firings")
    trigger = models.ForeignKey("rollouts.RollbackTrigger", on_delete=models.PROTECT, related_name="+")
    numbers = models.JSONField(help_text="The figures that made it fire.")
    action = models.CharField(max_length=20)
    at = models.DateTimeField()
    basis = models.CharField(max_length=64, blank=True,
                             help_text="The latest result the evaluation saw: the same window fires once.")

    class Meta:
        ordering = ["run_id", "at"]
        constraints = [models.UniqueConstraint(fields=["run", "trigger", "basis"], name="one_firing_per_basis")]


class Severity(models.TextChoices):
    P1 = "P1", "P1 — critical"
    P2 = "P2", "P2 — high"
    P3 = "P3", "P3 — moderate"
    P4 = "P4", "P4 — low"


class Incident(models.Model):
    request = models.ForeignKey("upgrades.UpgradeRequest", on_delete=models.CASCADE, related_name="incidents")
    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=2, choices=Severity.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    impact = models.TextField(blank=True)
    impact_minutes = models.PositiveIntegerField(default=0, help_text="Unplanned downtime caused.")
    escalation_path = models.TextField(blank=True)
    contacts = models.TextField(blank=True)
    runbook_url = models.URLField(max_length=500, blank=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at"]
