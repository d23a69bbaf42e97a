from django.conf import settings
from django.db import models

from .choices import (AssessmentStatus, Category, ChecklistKind, Resolution, RiskLevel, Severity, Source,
                      Verdict)


class Assessment(models.Model):
    """The readiness assessment of one upgrade request."""

    request = models.OneToOneField("upgrades.UpgradeRequest", on_delete=models.CASCADE, related_name="assessment")
    status = models.CharField(max_length=20, choices=AssessmentStatus.choices, default=AssessmentStatus.IN_PROGRESS)
    depth = models.PositiveSmallIntegerField(default=2, help_text="How far the dependency map walks.")
    risk_score = models.PositiveSmallIntegerField(default=0)
    risk_level = models.CharField(max_length=20, choices=RiskLevel.choices, default=RiskLevel.LOW)
    risk_factors = models.JSONField(default=list, blank=True)
    verdict = models.CharField(max_length=20, choices=Verdict.choices, default=Verdict.NOT_READY)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")

    def __str__(self) -> str:
        return f"Assessment of {self.request.reference}"


class Finding(models.Model):
    """One thing between a system and a safe upgrade: of a request's assessment, or of a system."""

    assessment = models.ForeignKey(Assessment, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="findings")
    system = models.ForeignKey("inventory.System", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="findings")
    key = models.CharField(max_length=300, blank=True,
                           help_text="Stable identity of a computed finding, so a re-run can tell what changed.")
    category = models.CharField(max_length=20, choices=Category.choices)
    severity = models.CharField(max_length=20, choices=Severity.choices)
    title = models.CharField(max_length=300)
    evidence = models.TextField(blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.COMPUTED)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="owned_findings")
    resolution = models.CharField(max_length=20, choices=Resolution.choices, default=Resolution.OPEN)
    justification = models.TextField(blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    stale = models.BooleanField(default=False, help_text="A computed finding the last run no longer found.")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-severity", "category", "title"]
        constraints = [
            models.CheckConstraint(condition=models.Q(assessment__isnull=False) | models.Q(system__isnull=False),
                                   name="finding_belongs_somewhere"),
        ]
        indexes = [models.Index(fields=["assessment", "resolution"]), models.Index(fields=["system", "resolution"])]

    def __str__(self) -> str:
        return self.title


class AssessmentRun(models.Model):
    """One computation of the findings, with what changed since the run before."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="runs")
    run_at = models.DateTimeField()
    run_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    added = models.JSONField(default=list, blank=True)
    removed = models.JSONField(default=list, blank=True)
    changed = models.JSONField(default=list, blank=True)
    risk_score = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-run_at"]


class ChecklistItem(models.Model):
    """Security and customization review questions answered for one assessment."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="checklist")
    kind = models.CharField(max_length=20, choices=ChecklistKind.choices)
    question = models.CharField(max_length=300)
    answered = models.BooleanField(default=False)
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "id"]
