from django.db import models


class Severity(models.TextChoices):
    INFO = "info", "Info"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    BLOCKING = "blocking", "Blocking"


SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "blocking": 4}


class Category(models.TextChoices):
    COMPATIBILITY = "compatibility", "Version compatibility"
    LIFECYCLE = "lifecycle", "Vendor lifecycle"
    DEPENDENCY = "dependency", "Dependencies and blast radius"
    CAPACITY = "capacity", "Capacity"
    SECURITY = "security", "Security review"
    CUSTOMIZATION = "customization", "Customizations"
    WORKFLOW = "workflow", "Business-critical workflows"
    CONFIGURATION = "configuration", "Configuration"
    OTHER = "other", "Other"


class Source(models.TextChoices):
    COMPUTED = "computed", "Computed"
    ENTERED = "entered", "Entered"


class Resolution(models.TextChoices):
    OPEN = "open", "Open"
    MITIGATED = "mitigated", "Mitigated"
    ACCEPTED = "accepted", "Accepted risk"
    RESOLVED = "resolved", "Resolved"


class AssessmentStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class RiskLevel(models.TextChoices):
    LOW = "low", "Low"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"


class Verdict(models.TextChoices):
    READY = "ready", "Ready"
    READY_WITH_RISKS = "ready_with_risks", "Ready with accepted risks"
    NOT_READY = "not_ready", "Not ready"


class ChecklistKind(models.TextChoices):
    SECURITY = "security", "Security (authentication / encryption changes)"
    CUSTOMIZATION = "customization", "Local customizations"
