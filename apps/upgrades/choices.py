from django.db import models


class State(models.TextChoices):
    DRAFT = "draft", "Draft"
    ASSESSING = "assessing", "Assessing"
    PLANNING = "planning", "Planning"
    CAB_REVIEW = "cab_review", "CAB review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    VALIDATING = "validating", "Validating"
    COMPLETED = "completed", "Completed"
    ROLLED_BACK = "rolled_back", "Rolled back"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    CLOSED = "closed", "Closed"


FINAL_STATES = {State.REJECTED, State.CANCELLED, State.CLOSED}
# from cab_review on, CAB members see a request
CAB_VISIBLE_STATES = [
    State.CAB_REVIEW, State.APPROVED, State.REJECTED, State.SCHEDULED, State.IN_PROGRESS, State.VALIDATING,
    State.COMPLETED, State.ROLLED_BACK, State.FAILED, State.CLOSED,
]
EDITABLE_STATES = {State.DRAFT}
# until a plan owns the windows, the requested window may still move while assessing and planning
WINDOW_EDITABLE_STATES = {State.DRAFT, State.ASSESSING, State.PLANNING}


class RiskClass(models.TextChoices):
    STANDARD = "standard", "Standard"
    NORMAL = "normal", "Normal"
    EMERGENCY = "emergency", "Emergency"
