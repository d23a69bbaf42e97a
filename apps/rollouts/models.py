"""The rollout plan of an upgrade request, and the change calendar around it.

A plan is data the CAB reviews and execution enforces: strategy, waves with
windows and tiers, rollback triggers, runbook steps forming a DAG (forward and
backout), data migration scope and integration fallbacks. Submitting to CAB
freezes an immutable `PlanVersion`. Around all plans: recurring approved windows
per system, freezes, freeze exceptions, detected conflicts and calendar feeds.
All times are stored in UTC.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from apps.accounts.choices import Duty


class Strategy(models.TextChoices):
    BIG_BANG = "big_bang", "Big bang"
    PHASED = "phased", "Phased (waves)"
    PARALLEL_RUN = "parallel_run", "Parallel run"


class DataMigrationScope(models.TextChoices):
    NONE = "none", "No data migration"
    CARRY_FORWARD = "carry_forward", "Carry data forward"
    ARCHIVE = "archive", "Archive old data"
    MIXED = "mixed", "Carry forward recent, archive the rest"


class Plan(models.Model):
    request = models.OneToOneField("upgrades.UpgradeRequest", on_delete=models.CASCADE, related_name="plan")
    strategy = models.CharField(max_length=20, choices=Strategy.choices, blank=True)
    strategy_justification = models.TextField(
        blank=True, help_text="Why a strategy other than the recommended one was chosen."
    )
    planner_timezone = models.CharField(max_length=64, default="UTC")
    data_migration_scope = models.CharField(max_length=20, choices=DataMigrationScope.choices, blank=True)
    data_migration_volume = models.CharField(max_length=120, blank=True, help_text="e.g. 1.2 TB, 40 million rows.")
    data_migration_method = models.TextField(blank=True)
    data_migration_verification = models.TextField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Plan of {self.request.reference}"


class Wave(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="waves")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=120)
    environment = models.ForeignKey(
        "inventory.Environment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    systems = models.ManyToManyField("inventory.System", blank=True, related_name="rollout_waves")
    window_start = models.DateTimeField(null=True, blank=True, db_index=True)
    window_end = models.DateTimeField(null=True, blank=True, db_index=True)
    entry_criteria = models.TextField(blank=True)
    exit_criteria = models.TextField(blank=True)

    class Meta:
        ordering = ["plan_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "position"], name="wave_position_unique"),
            models.CheckConstraint(
                condition=Q(window_start__isnull=True) | Q(window_end__isnull=True) | Q(window_end__gt=F("window_start")),
                name="wave_window_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"Wave {self.position}: {self.name}"


class Layer(models.TextChoices):
    INFRASTRUCTURE = "infrastructure", "Infrastructure"
    DATABASE = "database", "Database"
    MIDDLEWARE = "middleware", "Middleware"
    APPLICATION = "application", "Application"
    FRONTEND = "frontend", "Front end"
    OTHER = "other", "Other"


class TierMode(models.TextChoices):
    SEQUENTIAL = "sequential", "One after another"
    SIMULTANEOUS = "simultaneous", "Simultaneously"


class WaveTier(models.Model):
    """A tier inside a wave: e.g. the database tier before the application tier."""

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="tiers")
    position = models.PositiveSmallIntegerField()
    layer = models.CharField(max_length=20, choices=Layer.choices)
    systems = models.ManyToManyField("inventory.System", blank=True, related_name="+")
    mode = models.CharField(max_length=20, choices=TierMode.choices, default=TierMode.SEQUENTIAL)
    reason = models.TextField(blank=True, help_text="Why this order, or why simultaneously.")

    class Meta:
        ordering = ["wave_id", "position"]
        constraints = [models.UniqueConstraint(fields=["wave", "position"], name="tier_position_unique")]


class TriggerKind(models.TextChoices):
    HEALTH_FAILURES = "health_failures", "Consecutive health check failures"
    ERROR_RATE = "error_rate", "Error rate above X %"
    ERROR_RATE_OVER_BASELINE = "error_rate_over_baseline", "Error rate above baseline + Y points"
    LATENCY_P95 = "latency_p95", "p95 latency above X ms"
    LATENCY_P95_OVER_BASELINE = "latency_p95_over_baseline", "p95 latency above Z × baseline"
    SLA_BREACH = "sla_breach", "SLA breach (availability below X %)"
    MANUAL = "manual", "Manual decision"


class TriggerAction(models.TextChoices):
    PAUSE = "pause", "Pause the run"
    ROLL_BACK = "roll_back", "Start the backout runbook"


class RollbackTrigger(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="triggers")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=40, choices=TriggerKind.choices)
    threshold = models.DecimalField(
        max_digits=12, decimal_places=3, null=True, blank=True,
        help_text="N failures, X %, Y points, X ms, Z × baseline or availability %, by kind.",
    )
    evaluation_window_minutes = models.PositiveIntegerField(default=5)
    system = models.ForeignKey("inventory.System", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    endpoint = models.ForeignKey("inventory.Endpoint", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", help_text="Empty: every endpoint of the affected systems.")
    action = models.CharField(max_length=20, choices=TriggerAction.choices, default=TriggerAction.PAUSE)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["plan_id", "id"]

    def __str__(self) -> str:
        return self.name


class Runbook(models.TextChoices):
    FORWARD = "forward", "Upgrade runbook"
    BACKOUT = "backout", "Backout runbook"


class StepAction(models.TextChoices):
    INSTRUCTION = "instruction", "Instruction"
    STOP_SERVICE = "stop_service", "Stop a service"
    UPGRADE = "upgrade", "Upgrade a component"
    START_SERVICE = "start_service", "Start a service"
    DATA_MIGRATION = "data_migration", "Migrate data"
    VERIFY = "verify", "Verify"


class RunbookStep(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="steps")
    runbook = models.CharField(max_length=10, choices=Runbook.choices, default=Runbook.FORWARD)
    key = models.SlugField(max_length=40, help_text="Short name other steps use to depend on this one.")
    position = models.PositiveIntegerField(default=0, help_text="Order as entered (the DAG decides execution).")
    title = models.CharField(max_length=200)
    owner_duty = models.CharField(
        max_length=20, default=Duty.IMPLEMENTER,
        choices=[(Duty.IMPLEMENTER.value, Duty.IMPLEMENTER.label), (Duty.VALIDATOR.value, Duty.VALIDATOR.label)],
    )
    expected_minutes = models.PositiveIntegerField()
    instructions = models.TextField(help_text="The command to run or what to do.")
    verification = models.TextField(blank=True, help_text="How to tell the step worked.")
    action = models.CharField(max_length=20, choices=StepAction.choices, default=StepAction.INSTRUCTION)
    component = models.ForeignKey("inventory.Component", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    wave = models.ForeignKey(Wave, null=True, blank=True, on_delete=models.SET_NULL, related_name="steps")
    is_outage = models.BooleanField(default=False, help_text="The service is down while this step runs.")
    depends_on = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="dependents")

    class Meta:
        ordering = ["plan_id", "runbook", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["plan", "runbook", "key"], name="step_key_unique")]

    def __str__(self) -> str:
        return f"{self.key}: {self.title}"


class IntegrationFallback(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="fallbacks")
    integration = models.ForeignKey("inventory.Integration", on_delete=models.CASCADE, related_name="+")
    procedure = models.TextField(help_text="What happens to the integration if the upgrade goes wrong.")
    contact = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["plan_id", "integration_id"]
        constraints = [models.UniqueConstraint(fields=["plan", "integration"], name="fallback_unique")]


class PlanVersion(models.Model):
    """An immutable copy of the plan as submitted to the CAB: canonical JSON and its SHA-256."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    content = models.JSONField()
    sha256 = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["plan_id", "number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="plan_version_unique")]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("A plan version is immutable.")
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.plan.request.reference} plan v{self.number}"


# --- the calendar around all plans -----------------------------------------------------------------


class ApprovedWindow(models.Model):
    """A recurring window in which a system may be changed, e.g. Sundays 01:00–05:00 Europe/Berlin."""

    system = models.ForeignKey("inventory.System", on_delete=models.CASCADE, related_name="approved_windows")
    label = models.CharField(max_length=120)
    rrule = models.CharField(max_length=300, help_text="RFC 5545 recurrence rule, e.g. FREQ=WEEKLY;BYDAY=SU.")
    start_time = models.TimeField(help_text="Local start time in the window's time zone.")
    duration_minutes = models.PositiveIntegerField()
    timezone = models.CharField(max_length=64)
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["system__name", "label"]

    def __str__(self) -> str:
        return f"{self.system.name}: {self.label}"


class FreezeScope(models.TextChoices):
    ORGANISATION = "organisation", "Whole organisation"
    SYSTEMS = "systems", "Named systems"
    REGION = "region", "A region"


class Freeze(models.Model):
    name = models.CharField(max_length=120)
    reason = models.TextField()
    scope = models.CharField(max_length=20, choices=FreezeScope.choices, default=FreezeScope.ORGANISATION)
    region = models.CharField(max_length=40, blank=True)
    systems = models.ManyToManyField("inventory.System", blank=True, related_name="freezes")
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField(db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="freeze_ends_after_start")]

    def __str__(self) -> str:
        return self.name


class ExceptionStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    REFUSED = "refused", "Refused"
    WITHDRAWN = "withdrawn", "Withdrawn"


class FreezeException(models.Model):
    """Lets one request act inside one freeze; decided by the CAB (emergency CAB for emergencies)."""

    request = models.ForeignKey("upgrades.UpgradeRequest", on_delete=models.CASCADE, related_name="freeze_exceptions")
    freeze = models.ForeignKey(Freeze, on_delete=models.PROTECT, related_name="exceptions")
    reason = models.TextField()
    status = models.CharField(max_length=20, choices=ExceptionStatus.choices, default=ExceptionStatus.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    emergency = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Defaults to the end of the freeze.")
    signature = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "freeze"], condition=Q(status__in=["requested", "approved"]),
                name="one_live_freeze_exception",
            )
        ]


class ConflictKind(models.TextChoices):
    SAME_SYSTEM = "same_system", "Same system in another change's window"
    DEPENDENCY = "dependency", "A dependency or dependent in an overlapping window"
    OUTSIDE_APPROVED_WINDOW = "outside_approved_window", "Outside the system's approved windows"
    FREEZE = "freeze", "Inside a freeze"
    IMPLEMENTER_BOOKED = "implementer_booked", "The same implementer booked twice"


class ConflictStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    ACCEPTED = "accepted", "Accepted"


class Conflict(models.Model):
    request = models.ForeignKey("upgrades.UpgradeRequest", on_delete=models.CASCADE, related_name="conflicts")
    key = models.CharField(max_length=200, help_text="Fingerprint: the same conflict found again keeps its row.")
    kind = models.CharField(max_length=30, choices=ConflictKind.choices)
    wave = models.ForeignKey(Wave, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    other_request = models.ForeignKey("upgrades.UpgradeRequest", null=True, blank=True, on_delete=models.CASCADE,
                                      related_name="+")
    freeze = models.ForeignKey(Freeze, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    system = models.ForeignKey("inventory.System", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    detail = models.TextField()
    status = models.CharField(max_length=20, choices=ConflictStatus.choices, default=ConflictStatus.OPEN)
    justification = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    detected_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["request_id", "kind", "id"]
        constraints = [models.UniqueConstraint(fields=["request", "key"], name="conflict_key_unique")]


class CalendarFeed(models.Model):
    """A token-protected iCalendar URL for one user and one filter; only the token's hash is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds")
    name = models.CharField(max_length=80)
    filters = models.JSONField(default=dict, blank=True)
    token_digest = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user_id", "name"]
