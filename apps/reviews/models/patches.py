"""Patch management schedules and vendor advisories."""

from django.conf import settings
from django.db import models

__all__ = ["PatchSchedule", "PatchOccurrence", "Advisory", "AdvisoryProduct", "AdvisoryMatch",
           "AdvisorySource", "AdvisorySeverity", "ProductStatus"]


class PatchSchedule(models.Model):
    """A recurring patch window of one system (RFC 5545 RRULE in the schedule's own time zone).

    Ahead of each occurrence (`lead_days`) a standard change request is raised from `template`, once.
    """

    system = models.ForeignKey("inventory.System", on_delete=models.CASCADE, related_name="patch_schedules")
    template = models.ForeignKey("cab.StandardTemplate", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=160)
    rrule = models.CharField(max_length=500, help_text="RFC 5545 rule, e.g. FREQ=MONTHLY;BYDAY=2TU.")
    first_date = models.DateField(help_text="The rule counts from this local date.")
    start_time = models.TimeField(help_text="Local start time of each window.")
    time_zone = models.CharField(max_length=64, help_text="IANA time zone, e.g. Europe/Berlin.")
    duration_minutes = models.PositiveIntegerField(default=120)
    lead_days = models.PositiveSmallIntegerField(default=7, help_text="Raise the request this many days ahead.")
    target_version = models.CharField(max_length=40)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["system__name", "name", "pk"]

    def __str__(self) -> str:
        return self.name


class PatchOccurrence(models.Model):
    """One occurrence a request was generated for; the unique constraint makes generation happen once."""

    schedule = models.ForeignKey(PatchSchedule, on_delete=models.CASCADE, related_name="occurrences")
    starts_at = models.DateTimeField(help_text="Start of the window (UTC).")
    ends_at = models.DateTimeField()
    request = models.ForeignKey("upgrades.UpgradeRequest", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    generated_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["schedule", "starts_at"], name="patch_occurrence_once")]


class AdvisorySource(models.TextChoices):
    CSAF = "csaf", "CSAF 2.0 document"
    CSV = "csv", "CSV file"
    MANUAL = "manual", "Entered by hand"


class AdvisorySeverity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class ProductStatus(models.TextChoices):
    AFFECTED = "affected", "Affected"
    FIXED = "fixed", "Fixed in"


class Advisory(models.Model):
    identifier = models.CharField(max_length=120, unique=True, help_text="The vendor's id, e.g. RHSA-2022:0011.")
    title = models.CharField(max_length=300)
    publisher = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=20, choices=AdvisorySeverity.choices)
    url = models.URLField(max_length=500, blank=True)
    source = models.CharField(max_length=10, choices=AdvisorySource.choices)
    cves = models.JSONField(default=list, blank=True)
    document = models.JSONField(default=dict, blank=True, help_text="The imported CSAF document as given.")
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField()

    class Meta:
        ordering = ["-imported_at", "-pk"]
        verbose_name_plural = "advisories"

    def __str__(self) -> str:
        return f"{self.identifier}: {self.title}"


class AdvisoryProduct(models.Model):
    """A product/version the advisory names: affected, or the version that fixes it."""

    advisory = models.ForeignKey(Advisory, on_delete=models.CASCADE, related_name="products")
    product = models.CharField(max_length=200)
    version = models.CharField(max_length=120, blank=True)
    version_range = models.CharField(max_length=200, blank=True, help_text="e.g. >=1.0,<1.4 (semver).")
    status = models.CharField(max_length=10, choices=ProductStatus.choices, default=ProductStatus.AFFECTED)

    class Meta:
        ordering = ["product", "version", "pk"]


class AdvisoryMatch(models.Model):
    """An inventory component running an affected version, with the system-level finding it raised."""

    advisory = models.ForeignKey(Advisory, on_delete=models.CASCADE, related_name="matches")
    component = models.ForeignKey("inventory.Component", on_delete=models.CASCADE, related_name="advisory_matches")
    version = models.CharField(max_length=40, help_text="The running version when it matched.")
    finding = models.ForeignKey("assessments.Finding", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    request = models.ForeignKey("upgrades.UpgradeRequest", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", help_text="The upgrade request opened for it, if any.")

    class Meta:
        ordering = ["component__system__name", "component__name", "pk"]
        constraints = [models.UniqueConstraint(fields=["advisory", "component"], name="advisory_match_once")]
