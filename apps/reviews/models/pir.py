"""Post-implementation reviews, lessons learned, follow-ups/backlog, operational readiness, training."""

from django.conf import settings
from django.db import models

__all__ = ["BacklogItem", "PostImplementationReview", "ReadinessItem", "TrainingRecord"]


class PostImplementationReview(models.Model):
    """The review due after a request completed, rolled back or failed; closing needs it completed."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        COMPLETED = "completed", "Completed"

    class Criteria(models.TextChoices):
        MET = "met", "Met"
        PARTLY = "partly", "Partly met"
        NOT_MET = "not_met", "Not met"

    request = models.OneToOneField("upgrades.UpgradeRequest", on_delete=models.CASCADE, related_name="pir")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    due_at = models.DateTimeField(help_text="When the review must be completed.")
    success_criteria = models.CharField(max_length=20, choices=Criteria.choices, blank=True)
    success_notes = models.TextField(blank=True)
    downtime_minutes = models.PositiveIntegerField(null=True, blank=True)
    incidents_summary = models.TextField(blank=True)
    went_well = models.TextField(blank=True)
    went_badly = models.TextField(blank=True)
    lessons = models.TextField(blank=True, help_text="Lessons learned, shown to later requests on the same "
                                                      "systems or products.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-completed_at", "-id"]
        indexes = [models.Index(fields=["status", "completed_at"])]

    def __str__(self) -> str:
        return f"Review of {self.request.reference}"


class BacklogItem(models.Model):
    """Tech debt left by an upgrade: a PIR follow-up, an accepted risk, an expiring configuration exception."""

    class Kind(models.TextChoices):
        FOLLOW_UP = "follow_up", "Follow-up action"
        ACCEPTED_RISK = "accepted_risk", "Accepted risk"
        CONFIG_EXCEPTION = "config_exception", "Expiring configuration exception"

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    request = models.ForeignKey("upgrades.UpgradeRequest", on_delete=models.CASCADE, related_name="backlog_items")
    review = models.ForeignKey(PostImplementationReview, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="follow_ups")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    source_key = models.CharField(max_length=80, blank=True,
                                  help_text="finding:<id> or exception:<id> for imported items (imported once).")
    title = models.CharField(max_length=300)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.MEDIUM)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="backlog_items")
    due_date = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["status", "due_date"])]
        constraints = [models.UniqueConstraint(fields=["request", "source_key"], condition=~models.Q(source_key=""),
                                               name="backlog_source_once")]

    def __str__(self) -> str:
        return self.title


class ReadinessItem(models.Model):
    """A runbook, service document or training that must be updated before the request closes."""

    class Kind(models.TextChoices):
        DR_RUNBOOK = "dr_runbook", "Disaster-recovery runbook"
        SERVICE_DOC = "service_doc", "Service documentation"
        TRAINING = "training", "Training"

    request = models.ForeignKey("upgrades.UpgradeRequest", on_delete=models.CASCADE, related_name="readiness_items")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    link = models.URLField(max_length=500, blank=True, help_text="Where the updated document lives.")
    file = models.FileField(upload_to="readiness/%Y/", max_length=300, blank=True)
    done = models.BooleanField(default=False)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["kind", "title", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"


class TrainingRecord(models.Model):
    """Who was trained on the new version, and when."""

    request = models.ForeignKey("upgrades.UpgradeRequest", on_delete=models.CASCADE, related_name="training_records")
    trainee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="training_records")
    trained_on = models.DateField()
    topic = models.CharField(max_length=200)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-trained_on", "id"]
        constraints = [models.UniqueConstraint(fields=["request", "trainee", "topic"], name="training_once")]
