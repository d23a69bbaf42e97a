"""Health checks on inventory endpoints, the runs that probe them, and the baselines taken from runs."""

from django.conf import settings
from django.db import models


class AllowedTarget(models.Model):
    """Probes reach only hosts or networks on this list (and, if given, only these ports)."""

    value = models.CharField(max_length=200, help_text="A host name, an IP address or a network in CIDR form.")
    ports = models.CharField(max_length=200, blank=True, help_text="e.g. 80,443,8000-8100. Empty: any port.")
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["value"]


class HealthCheck(models.Model):
    endpoint = models.ForeignKey("inventory.Endpoint", on_delete=models.CASCADE, related_name="health_checks")
    name = models.CharField(max_length=120)
    expect_status = models.PositiveSmallIntegerField(null=True, blank=True)
    body_contains = models.CharField(max_length=200, blank=True)
    json_path = models.CharField(max_length=200, blank=True, help_text="e.g. status or checks.db.state")
    json_expected = models.CharField(max_length=200, blank=True)
    max_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    sql_query = models.TextField(blank=True, help_text="A read-only query, e.g. SELECT 1.")
    sql_username = models.CharField(max_length=120, blank=True)
    sql_password_encrypted = models.TextField(blank=True, help_text="Encrypted at rest; never shown back.")
    tls_min_days = models.PositiveIntegerField(default=14, help_text="Fail when the certificate expires sooner.")
    timeout_seconds = models.DecimalField(max_digits=5, decimal_places=2, default=5)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["endpoint__system__name", "name"]

    def __str__(self) -> str:
        return self.name


class CheckPurpose(models.TextChoices):
    ADHOC = "adhoc", "On demand"
    PRE_CHECK = "pre_check", "Pre-upgrade check"
    BASELINE = "baseline", "Baseline"
    MONITORING = "monitoring", "Monitoring during the run"
    POST_CHECK = "post_check", "Post-upgrade smoke test"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class CheckRun(models.Model):
    purpose = models.CharField(max_length=20, choices=CheckPurpose.choices, default=CheckPurpose.ADHOC)
    request = models.ForeignKey("upgrades.UpgradeRequest", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="check_runs")
    execution_run = models.ForeignKey("execution.ExecutionRun", null=True, blank=True, on_delete=models.CASCADE,
                                      related_name="check_runs")
    checks = models.ManyToManyField(HealthCheck, related_name="+")
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    requested_at = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True, help_text="Handed to the broker (outbox).")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker took the run up (redeliveries).")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]


class ResultStatus(models.TextChoices):
    OK = "ok", "OK"
    FAIL = "fail", "Failed"
    ERROR = "error", "Error"
    REFUSED = "refused", "Refused (not on the allow-list)"


class CheckResult(models.Model):
    run = models.ForeignKey(CheckRun, on_delete=models.CASCADE, related_name="results")
    health_check = models.ForeignKey(HealthCheck, on_delete=models.CASCADE, related_name="results")
    status = models.CharField(max_length=10, choices=ResultStatus.choices)
    latency_ms = models.FloatField(null=True, blank=True)
    detail = models.TextField(blank=True)
    checked_at = models.DateTimeField()
    samples = models.JSONField(default=list, blank=True,
                               help_text="Baseline runs probe each check several times: [{status, latency_ms}].")

    class Meta:
        ordering = ["run_id", "health_check_id"]
        constraints = [models.UniqueConstraint(fields=["run", "health_check"], name="one_result_per_check_per_run")]


class Baseline(models.Model):
    """Pre-upgrade figures per endpoint that post-upgrade runs are compared with."""

    request = models.ForeignKey("upgrades.UpgradeRequest", on_delete=models.CASCADE, related_name="baselines")
    health_check = models.ForeignKey(HealthCheck, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(CheckRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    samples = models.PositiveIntegerField()
    p50_ms = models.FloatField(null=True, blank=True)
    p95_ms = models.FloatField(null=True, blank=True)
    p99_ms = models.FloatField(null=True, blank=True)
    error_rate = models.FloatField(help_text="Share of failed probes, 0–1.")
    captured_at = models.DateTimeField()

    class Meta:
        ordering = ["request_id", "health_check_id", "-captured_at"]
