"""The change advisory board: policies, standard change templates, reviews, signed votes, meetings.

A `Review` opens when a request is submitted to CAB; it freezes the policy that
applies and names the plan version under review. Votes name the plan version
they approve; after a replan they become stale. Signatures (who, when, how the
voter re-authenticated, the SHA-256 of the plan version) live in the audit chain;
the vote keeps the number of that audit event.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.upgrades.choices import RiskClass


class RiskLevelScope(models.TextChoices):
    ANY = "any", "Any risk level"
    LOW = "low", "Low"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"


class ApprovalPolicy(models.Model):
    name = models.CharField(max_length=120)
    risk_class = models.CharField(max_length=20, choices=RiskClass.choices)
    risk_level = models.CharField(max_length=20, choices=RiskLevelScope.choices, default=RiskLevelScope.ANY,
                                  help_text="The assessment's risk level this policy applies to.")
    quorum = models.PositiveSmallIntegerField(default=2, help_text="Approvals needed.")
    veto = models.BooleanField(default=True, help_text="Any rejection rejects the request.")
    voter_team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Only members of this team may vote (e.g. the emergency CAB). Empty: every CAB member.",
    )
    required_teams = models.ManyToManyField(
        "accounts.Team", blank=True, related_name="+", help_text="At least one approval from each of these teams."
    )
    require_critical_owner_teams = models.BooleanField(
        default=False, help_text="At least one approval from the owner team of every affected critical system."
    )
    retrospective_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Emergency path: a full retrospective review is due within this many days."
    )
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["risk_class", "risk_level"]
        constraints = [models.UniqueConstraint(fields=["risk_class", "risk_level"], name="policy_unique_scope")]

    def __str__(self) -> str:
        return self.name


class TemplateStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved by the CAB"
    RETIRED = "retired", "Retired"


class StandardTemplate(models.Model):
    """A CAB-approved routine upgrade; standard requests raised from it are approved while it is valid."""

    name = models.CharField(max_length=160)
    description = models.TextField()
    product = models.CharField(max_length=80)
    systems = models.ManyToManyField("inventory.System", blank=True, related_name="+")
    version_constraint = models.CharField(max_length=120, help_text="Target versions it covers, e.g. >=16.1,<17.")
    constraint_kind = models.CharField(max_length=10, default="semver")
    runbook = models.TextField()
    valid_from = models.DateField()
    valid_until = models.DateField()
    status = models.CharField(max_length=20, choices=TemplateStatus.choices, default=TemplateStatus.DRAFT)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReviewOutcome(models.TextChoices):
    OPEN = "open", "Awaiting votes"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    RETURNED = "returned", "Returned to planning"
    WITHDRAWN = "withdrawn", "Withdrawn (request cancelled)"


class Review(models.Model):
    request = models.ForeignKey("upgrades.UpgradeRequest", on_delete=models.CASCADE, related_name="cab_reviews")
    plan_version = models.ForeignKey("rollouts.PlanVersion", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    policy = models.ForeignKey(ApprovalPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    policy_snapshot = models.JSONField(default=dict, help_text="The policy as it was when the review opened.")
    template = models.ForeignKey(StandardTemplate, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="reviews")
    emergency = models.BooleanField(default=False)
    outcome = models.CharField(max_length=20, choices=ReviewOutcome.choices, default=ReviewOutcome.OPEN,
                               db_index=True)
    opened_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    retrospective_due = models.DateField(null=True, blank=True)
    retrospective_done_at = models.DateTimeField(null=True, blank=True)
    retrospective_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="+")
    retrospective_notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["request"], condition=Q(outcome="open"), name="one_open_review")
        ]


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    ABSTAIN = "abstain", "Abstain"


class SignatureMethod(models.TextChoices):
    PASSWORD = "password", "Password on the form"
    STEP_UP_TOKEN = "step_up_token", "Step-up token (API)"


class Vote(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cab_votes")
    on_behalf_of = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", help_text="The CAB member this delegate votes for.")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    reason = models.TextField(blank=True)
    plan_version = models.ForeignKey("rollouts.PlanVersion", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    plan_sha256 = models.CharField(max_length=64, blank=True)
    signature_method = models.CharField(max_length=20, choices=SignatureMethod.choices, blank=True)
    signed_at = models.DateTimeField()
    audit_seq = models.BigIntegerField(null=True, blank=True, help_text="The audit event that holds the signature.")
    stale = models.BooleanField(default=False, help_text="Cast on an older plan version.")

    class Meta:
        ordering = ["signed_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["review", "voter"], condition=Q(stale=False), name="one_live_vote_per_voter"),
            models.UniqueConstraint(fields=["review", "on_behalf_of"], condition=Q(stale=False),
                                    name="one_live_vote_per_principal"),
        ]


class Condition(models.Model):
    """A condition attached to an approval; it must be acknowledged before execution starts."""

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="conditions")
    text = models.TextField()
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]


class Delegation(models.Model):
    """A CAB member names a delegate who may vote for them for a period."""

    principal = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations_given")
    delegate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations_held")
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-valid_from"]


class MeetingStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    HELD = "held", "Held"
    CANCELLED = "cancelled", "Cancelled"


class Meeting(models.Model):
    title = models.CharField(max_length=160)
    scheduled_at = models.DateTimeField(db_index=True)
    duration_minutes = models.PositiveIntegerField(default=60)
    location = models.CharField(max_length=200, blank=True)
    emergency = models.BooleanField(default=False)
    chair = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=MeetingStatus.choices, default=MeetingStatus.PLANNED)
    notes = models.TextField(blank=True, help_text="Minutes: what was said beyond the decisions.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-scheduled_at"]

    def __str__(self) -> str:
        return self.title


class AgendaDecision(models.TextChoices):
    PENDING = "pending", "Not yet discussed"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    RETURNED = "returned", "Returned to planning"
    DEFERRED = "deferred", "Deferred"
    NOTED = "noted", "Noted"


class AgendaItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="items")
    request = models.ForeignKey("upgrades.UpgradeRequest", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()
    decision = models.CharField(max_length=20, choices=AgendaDecision.choices, default=AgendaDecision.PENDING)
    notes = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["meeting_id", "position"]
        constraints = [models.UniqueConstraint(fields=["meeting", "request"], name="agenda_request_once")]


class Attendance(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendance")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    delegate_for = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    present = models.BooleanField(default=True)

    class Meta:
        ordering = ["meeting_id", "user__username"]
        constraints = [models.UniqueConstraint(fields=["meeting", "user"], name="attendance_once")]
