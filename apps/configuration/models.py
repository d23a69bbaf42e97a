from django.conf import settings
from django.db import models
from django.db.models import Q

from .choices import (CaseOutcome, ExceptionReason, ExceptionStatus, MaskingMethod, SnapshotFormat,
                      SnapshotPurpose, TopologyKind)


class ImmutableError(Exception):
    """A snapshot, once recorded, never changes."""


class Snapshot(models.Model):
    """The configuration of one system in one environment at one moment; immutable once recorded.

    `content` holds the parsed document with secret values replaced by keyed fingerprints (so a changed
    secret still shows as changed, but Tollgate never stores it). `sha256` is the SHA-256 of exactly the
    bytes that were uploaded; `content_sha256` that of the stored content (canonical JSON), so the stored
    row can be checked at any time.
    """

    system = models.ForeignKey("inventory.System", on_delete=models.PROTECT, related_name="config_snapshots")
    environment = models.ForeignKey("inventory.Environment", on_delete=models.PROTECT,
                                    related_name="config_snapshots")
    request = models.ForeignKey("upgrades.UpgradeRequest", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="config_snapshots")
    purpose = models.CharField(max_length=20, choices=SnapshotPurpose.choices, default=SnapshotPurpose.ROUTINE)
    tag = models.CharField(max_length=80, help_text="A short label, e.g. before-pg16 or nightly-2026-11-28.")
    format = models.CharField(max_length=20, choices=SnapshotFormat.choices)
    source_name = models.CharField(max_length=200, blank=True, help_text="The uploaded file's name.")
    content = models.JSONField()
    key_count = models.PositiveIntegerField(default=0)
    masked_count = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    content_sha256 = models.CharField(max_length=64)
    taken_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    taken_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-taken_at", "-id"]
        indexes = [models.Index(fields=["system", "environment", "-taken_at"])]

    def __str__(self) -> str:
        return f"{self.system.name}/{self.environment.slug} “{self.tag}”"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ImmutableError("A configuration snapshot cannot be changed; take a new one.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableError("A configuration snapshot cannot be deleted.")


class Baseline(models.Model):
    """An approved snapshot: what the configuration of a system in an environment should be."""

    system = models.ForeignKey("inventory.System", on_delete=models.PROTECT, related_name="config_baselines")
    environment = models.ForeignKey("inventory.Environment", on_delete=models.PROTECT, related_name="+")
    snapshot = models.ForeignKey(Snapshot, on_delete=models.PROTECT, related_name="baselines")
    note = models.TextField(blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField()
    active = models.BooleanField(default=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    last_validated_at = models.DateTimeField(null=True, blank=True)
    last_deviations = models.JSONField(default=list, blank=True,
                                       help_text="Deviations the last validation found (masked).")

    class Meta:
        ordering = ["system__name", "environment__order", "-approved_at"]
        constraints = [models.UniqueConstraint(fields=["system", "environment"], condition=Q(active=True),
                                               name="one_active_config_baseline")]


class ConfigException(models.Model):
    """A documented, approved deviation from a system's configuration baseline."""

    system = models.ForeignKey("inventory.System", on_delete=models.PROTECT, related_name="config_exceptions")
    environment = models.ForeignKey("inventory.Environment", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", help_text="Empty: every environment.")
    key_pattern = models.CharField(max_length=300, help_text="Which keys: a path like db.pool.size, or "
                                                             "db.pool.* for everything under db.pool.")
    reason_kind = models.CharField(max_length=30, choices=ExceptionReason.choices)
    reason = models.TextField()
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=ExceptionStatus.choices, default=ExceptionStatus.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]


class TopologyItem(models.Model):
    """One element of a system's topology in one environment (a load balancer, a firewall rule set ...)."""

    system = models.ForeignKey("inventory.System", on_delete=models.CASCADE, related_name="topology_items")
    environment = models.ForeignKey("inventory.Environment", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=TopologyKind.choices)
    name = models.CharField(max_length=120)
    value = models.CharField(max_length=300, help_text="e.g. 3 nodes, HAProxy 2.8, 12 rules, 16.4")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["system__name", "kind", "name"]
        constraints = [models.UniqueConstraint(fields=["system", "environment", "kind", "name"],
                                               name="topology_item_unique")]


class MaskingRecord(models.Model):
    """How the staging data of a system was prepared for a request: a masked copy, or not."""

    request = models.ForeignKey("upgrades.UpgradeRequest", on_delete=models.CASCADE, related_name="masking_records")
    system = models.ForeignKey("inventory.System", on_delete=models.CASCADE, related_name="+")
    masked = models.BooleanField()
    method = models.CharField(max_length=20, choices=MaskingMethod.choices)
    masked_by = models.CharField(max_length=200, help_text="Who masked the copy (person or tool).")
    masked_on = models.DateField()
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-recorded_at", "-id"]


class RegressionReport(models.Model):
    """An imported JUnit XML report: staging evidence for a request (optionally one wave of its plan)."""

    request = models.ForeignKey("upgrades.UpgradeRequest", on_delete=models.CASCADE,
                                related_name="regression_reports")
    wave = models.ForeignKey("rollouts.Wave", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(max_length=200)
    filename = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    tests = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    duration_seconds = models.DecimalField(max_digits=12, decimal_places=3, default=0)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField()

    class Meta:
        ordering = ["-imported_at", "-id"]

    @property
    def passed(self) -> int:
        return self.tests - self.failures - self.errors - self.skipped


class TestCaseResult(models.Model):
    """A failed (or erroring) test case of a report; failures block until accepted with a justification."""

    __test__ = False  # not a pytest class

    report = models.ForeignKey(RegressionReport, on_delete=models.CASCADE, related_name="cases")
    suite = models.CharField(max_length=300, blank=True)
    classname = models.CharField(max_length=300, blank=True)
    name = models.CharField(max_length=300)
    outcome = models.CharField(max_length=20, choices=CaseOutcome.choices)
    message = models.TextField(blank=True)
    duration_seconds = models.DecimalField(max_digits=12, decimal_places=3, default=0)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    accepted_at = models.DateTimeField(null=True, blank=True)
    justification = models.TextField(blank=True)

    class Meta:
        ordering = ["report_id", "id"]


class PerformanceFigure(models.Model):
    """One before/after measurement of the simulated upgrade in staging."""

    request = models.ForeignKey("upgrades.UpgradeRequest", on_delete=models.CASCADE,
                                related_name="performance_figures")
    system = models.ForeignKey("inventory.System", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    metric = models.CharField(max_length=120, help_text="e.g. p95 latency of /payments")
    unit = models.CharField(max_length=20, blank=True, help_text="e.g. ms, req/s, %")
    before = models.DecimalField(max_digits=16, decimal_places=4)
    after = models.DecimalField(max_digits=16, decimal_places=4)
    higher_is_better = models.BooleanField(default=False, help_text="Throughput: yes; latency: no.")
    tolerance_percent = models.DecimalField(max_digits=6, decimal_places=2, default=10)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["metric", "id"]

    @property
    def change_percent(self) -> float | None:
        if not self.before:
            return None
        return float((self.after - self.before) / abs(self.before) * 100)

    @property
    def regressed(self) -> bool:
        change = self.change_percent
        if change is None:
            return False
        worse = -change if self.higher_is_better else change
        return worse > float(self.tolerance_percent)


class UatSignoff(models.Model):
    """A business process owner's signed acceptance of the staging evidence for one workflow."""

    request = models.ForeignKey("upgrades.UpgradeRequest", on_delete=models.CASCADE, related_name="uat_signoffs")
    workflow = models.ForeignKey("inventory.BusinessWorkflow", on_delete=models.CASCADE, related_name="+")
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField()
    method = models.CharField(max_length=20, help_text="How the signer re-authenticated.")
    evidence_sha256 = models.CharField(max_length=64, help_text="SHA-256 of exactly what was signed.")
    evidence = models.JSONField(default=dict)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-signed_at", "-id"]
