"""Generated KPI reports (PDF + CSV, with their parameters and SHA-256) and report subscriptions."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from apps.core.storage import region_storage

from .choices import Delivery, Frequency, ReportStatus


def report_path(instance, filename):
    return f"reports/{instance.pk}/{filename}"


class Report(models.Model):
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="reports")
    params = models.JSONField(help_text="Period and filters, as the form cleaned them.")
    params_key = models.CharField(max_length=64, db_index=True,
                                  help_text="SHA-256 of the canonical parameters.")
    fingerprint = models.CharField(max_length=64,
                                   help_text="SHA-256 of the counted rows' sizes and last changes.")
    status = models.CharField(max_length=20, choices=ReportStatus.choices, default=ReportStatus.QUEUED,
                              db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0–100.")
    stage = models.CharField(max_length=120, blank=True)
    pdf = models.FileField(upload_to=report_path, max_length=300, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    csv = models.FileField(upload_to=report_path, max_length=300, blank=True)
    csv_sha256 = models.CharField(max_length=64, blank=True)
    headline = models.JSONField(default=dict, blank=True, help_text="The headline figures, for the e-mail.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"KPI report {self.params.get('start')} – {self.params.get('end')}"

    def get_absolute_url(self) -> str:
        return reverse("reporting:report", args=[self.pk])


class Subscription(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="report_subscriptions")
    frequency = models.CharField(max_length=20, choices=Frequency.choices, default=Frequency.MONTHLY)
    delivery = models.CharField(max_length=20, choices=Delivery.choices, default=Delivery.LINK)
    filters = models.JSONField(default=dict, blank=True,
                               help_text="Team, system, environment, region, risk class.")
    active = models.BooleanField(default=True)
    last_period_end = models.DateField(null=True, blank=True, help_text="End of the last period sent.")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["user_id", "frequency"]
        constraints = [models.UniqueConstraint(fields=["user", "frequency"],
                                               name="subscription_user_frequency")]

    def __str__(self) -> str:
        return f"{self.get_frequency_display()} report for {self.user}"


# --- evidence packs --------------------------------------------------------------------------------------


def evidence_path(instance, filename):
    """evidence/<pk>/<name>, under regions/<region>/ so the pack lands in its request's region storage
    (a pack never mixes regions unless the policy allows it; then the first region alphabetically)."""
    from apps.core.storage import region_prefix
    from apps.upgrades.selectors import request_regions

    regions = sorted(request_regions(instance.request))
    return f"{region_prefix(regions[0]) if regions else ''}evidence/{instance.pk}/{filename}"


class EvidencePack(models.Model):
    """A zip of every decision and record of one upgrade request, with a sha256sum manifest, the audit events
    of the request, the audit checkpoint they chain up to and a PDF summary; built by a worker."""

    request = models.ForeignKey("upgrades.UpgradeRequest", on_delete=models.PROTECT,
                                related_name="evidence_packs")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="evidence_packs")
    status = models.CharField(max_length=20, choices=ReportStatus.choices, default=ReportStatus.QUEUED,
                              db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0–100.")
    stage = models.CharField(max_length=120, blank=True)
    file = models.FileField(upload_to=evidence_path, storage=region_storage, max_length=300, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the zip.")
    size = models.PositiveBigIntegerField(default=0, help_text="Bytes of the zip.")
    checkpoint = models.JSONField(
        default=dict, blank=True,
        help_text="The audit checkpoint (chain head) the pack's events chain up to.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Evidence pack {self.pk} of {self.request.reference}"

    def get_absolute_url(self) -> str:
        return reverse("reporting:evidence", args=[self.request.reference])


class UpgradeFacts(models.Model):
    """What the KPIs make of one upgrade, counted once and again only when a row it depends on changes
    (see apps/reporting/facts.py: PostgreSQL triggers mark it stale, `facts.refresh()` counts it again). One
    row per request; the counted columns are empty until it has ended. A request id without a foreign key: the
    triggers may touch a request in the statement that deletes it."""

    request_id = models.BigIntegerField(primary_key=True)
    version = models.BigIntegerField(default=0, db_default=0,
                                     help_text="Bumped by every write that changes a fact.")
    stale = models.BooleanField(default=True, db_default=True)
    window_days = models.IntegerField(null=True, help_text="The incident window it was counted with.")
    # the request's own, as they were when counted (a change to them marks the facts stale)
    finished_at = models.DateTimeField(null=True)
    month = models.IntegerField(null=True, help_text="Year × 100 + month of the end, UTC.")
    outcome = models.CharField(max_length=20, null=True)
    risk_class = models.CharField(max_length=20, null=True)
    lead_hours = models.FloatField(null=True, help_text="Creation to end, completed upgrades only.")
    # what the KPIs make of it
    category = models.CharField(max_length=20, null=True, help_text="Empty while the request has not ended.")
    failure = models.BooleanField(null=True)
    retried = models.BooleanField(null=True)
    on_time = models.BooleanField(null=True)
    planned_minutes = models.IntegerField(null=True)
    unplanned_minutes = models.BigIntegerField(null=True)
    score = models.IntegerField(null=True)
    p1 = models.IntegerField(null=True)
    p2 = models.IntegerField(null=True)
    p3 = models.IntegerField(null=True)
    p4 = models.IntegerField(null=True)
    severities = models.TextField(null=True, help_text="Each linked incident's severity, \"; \" between.")
    hotfixes = models.TextField(null=True, help_text="The hotfixes' references, \"; \" between.")
    team_ids = models.JSONField(null=True)

    class Meta:
        verbose_name_plural = "upgrade facts"
        indexes = [
            models.Index(fields=["finished_at"], name="reporting_facts_ended_idx",
                         condition=models.Q(category__isnull=False)),
            models.Index(fields=["request_id"], name="reporting_facts_stale_idx",
                         condition=models.Q(stale=True)),
            models.Index(fields=["window_days"], name="reporting_facts_window_idx"),
        ]

    def __str__(self) -> str:
        return f"Facts of request {self.request_id}"
