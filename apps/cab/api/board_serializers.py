"""Serializers of the CAB board API: queue rows, meetings, agenda, attendance, freeze exception decisions."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.models import User
from apps.rollouts.models import FreezeException
from apps.upgrades.choices import RiskClass

from ..forms_board import DECISION_CHOICES
from ..models import AgendaItem, Attendance, Meeting


class QueueRowSerializer(serializers.Serializer):
    reference = serializers.CharField()
    title = serializers.CharField()
    risk_class = serializers.ChoiceField(choices=RiskClass.choices)
    requester = serializers.CharField(source="requester.username")
    in_review_since = serializers.DateTimeField(source="state_changed_at")
    window_start = serializers.DateTimeField(allow_null=True)
    window_end = serializers.DateTimeField(allow_null=True)
    risk_score = serializers.SerializerMethodField()
    verdict = serializers.SerializerMethodField()
    strategy = serializers.SerializerMethodField()
    waves = serializers.IntegerField(source="wave_count")
    backout_steps = serializers.IntegerField(source="backout_step_count")
    open_conflicts = serializers.IntegerField(source="open_conflict_count")
    approvals = serializers.IntegerField()
    rejections = serializers.IntegerField()
    review = serializers.IntegerField(source="review_pk", allow_null=True)
    emergency_path = serializers.BooleanField(source="review_emergency", allow_null=True)
    awaiting_you = serializers.BooleanField()
    review_url = serializers.SerializerMethodField()

    @staticmethod
    def _assessment(obj):
        try:
            return obj.assessment
        except Exception:  # noqa: BLE001  (no assessment row: RelatedObjectDoesNotExist)
            return None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_risk_score(self, obj):
        a = self._assessment(obj)
        return a.risk_score if a else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_verdict(self, obj):
        a = self._assessment(obj)
        return a.verdict if a else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_strategy(self, obj):
        try:
            plan = obj.plan
        except Exception:  # noqa: BLE001
            return None
        return plan.strategy or None

    @extend_schema_field(serializers.CharField())
    def get_review_url(self, obj):
        from django.urls import reverse

        return reverse("cab_board:review", args=[obj.reference])


# plain strings, not enums: the schema already has a "decision" enum (votes)
DECISION_HELP = ", ".join(v for v, _ in DECISION_CHOICES)


class AgendaItemSerializer(serializers.ModelSerializer):
    request = serializers.CharField(source="request.reference")
    request_title = serializers.CharField(source="request.title")
    request_state = serializers.CharField(source="request.state")
    decision = serializers.CharField(read_only=True, help_text=DECISION_HELP + " or pending")

    class Meta:
        model = AgendaItem
        fields = ["id", "position", "request", "request_title", "request_state", "decision", "notes", "decided_at"]


class AttendanceSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")
    delegate_for = serializers.CharField(source="delegate_for.username", allow_null=True, default=None)

    class Meta:
        model = Attendance
        fields = ["id", "user", "delegate_for", "present"]


class MeetingSerializer(serializers.ModelSerializer):
    chair = serializers.CharField(source="chair.username")
    status = serializers.CharField(read_only=True, help_text="planned, held or cancelled")
    item_count = serializers.IntegerField(read_only=True)
    attendee_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Meeting
        fields = ["id", "title", "scheduled_at", "duration_minutes", "location", "emergency", "chair", "status",
                  "item_count", "attendee_count"]


class MeetingDetailSerializer(MeetingSerializer):
    items = AgendaItemSerializer(many=True, read_only=True)
    attendance = AttendanceSerializer(many=True, read_only=True)

    class Meta(MeetingSerializer.Meta):
        fields = [f for f in MeetingSerializer.Meta.fields if f not in ("item_count", "attendee_count")] + [
            "notes", "items", "attendance"]


class _Username(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="username", queryset=User.objects.filter(is_active=True), **kwargs)


class MeetingWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=160, trim_whitespace=False)
    scheduled_at = serializers.DateTimeField()
    duration_minutes = serializers.IntegerField(default=60)
    location = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                     trim_whitespace=False)
    emergency = serializers.BooleanField(default=False)
    chair = _Username(help_text="Username of a CAB member.")


class MinutesWriteSerializer(serializers.Serializer):
    notes = serializers.CharField(allow_blank=True, trim_whitespace=False)
    status = serializers.CharField(required=False, help_text="planned, held or cancelled")


class AgendaAddSerializer(serializers.Serializer):
    request = serializers.CharField(max_length=40, help_text="Reference of a request in CAB review.",
                                    trim_whitespace=False)


class AttendanceWriteSerializer(serializers.Serializer):
    user = _Username()
    delegate_for = _Username(required=False, allow_null=True, default=None)
    present = serializers.BooleanField(default=True)


class AgendaDecisionSerializer(serializers.Serializer):
    decision = serializers.CharField(max_length=20, help_text=DECISION_HELP)
    notes = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)


class FreezeExceptionSerializer(serializers.ModelSerializer):
    request = serializers.CharField(source="request.reference")
    risk_class = serializers.CharField(source="request.risk_class")
    freeze = serializers.CharField(source="freeze.name")
    freeze_starts_at = serializers.DateTimeField(source="freeze.starts_at")
    freeze_ends_at = serializers.DateTimeField(source="freeze.ends_at")
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    status = serializers.CharField(read_only=True, help_text="requested, approved, refused or withdrawn")

    class Meta:
        model = FreezeException
        fields = ["id", "request", "risk_class", "freeze", "freeze_starts_at", "freeze_ends_at", "reason", "status",
                  "requested_by", "requested_at", "decided_by", "decided_at", "decision_reason", "emergency",
                  "expires_at", "signature"]


class FreezeExceptionDecisionSerializer(serializers.Serializer):
    decision = serializers.CharField(max_length=10, help_text="approve or refuse")

    def validate_decision(self, value):
        if value not in ("approve", "refuse"):
            raise serializers.ValidationError("Choose approve or refuse.")
        return value
    reason = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False,
                                   help_text="Required when refusing.")
    step_up_token = serializers.CharField(required=False, allow_blank=True, default="",
                                          help_text="From POST /api/v1/auth/step-up/ (valid 5 minutes).")
    password = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False,
                                     write_only=True, help_text="Alternatively, the caller's password.")
