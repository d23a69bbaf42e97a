from typing import ClassVar

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..incidents import MAX_TEXT
from ..models import ExecutionRun, Incident, RunState, Severity, StepEvent, StepOutcome, TriggerFiring
from ..runs import MAX_OUTPUT, MAX_REASON


class TextField(serializers.CharField):
    """Text only: a number or a list is the wrong type, not something to coerce into text."""

    default_error_messages: ClassVar[dict] = {"invalid": "Enter text (a JSON string)."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field({"type": "string"})
class WordChoiceField(serializers.ChoiceField):
    """A choice field documented as a string with its choices in words: the field names `outcome`,
    `severity` and `state` already name other apps' enums in the schema."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "One of: " + ", ".join(str(v) for v, _ in kwargs["choices"]) + ".")
        super().__init__(**kwargs)


class StepEventSerializer(serializers.ModelSerializer):
    step = serializers.IntegerField(source="step_id", read_only=True)
    step_key = serializers.CharField(source="step.key", read_only=True)
    runbook = serializers.CharField(source="step.runbook", read_only=True)
    operator = serializers.CharField(source="operator.username", read_only=True)
    outcome = WordChoiceField(choices=StepOutcome.choices, read_only=True)

    class Meta:
        model = StepEvent
        fields = ["id", "step", "step_key", "runbook", "kind", "outcome", "reason", "output", "operator",
                  "automated", "at"]


class FiringSerializer(serializers.ModelSerializer):
    trigger = serializers.CharField(source="trigger.name", read_only=True)
    kind = serializers.CharField(source="trigger.kind", read_only=True)

    class Meta:
        model = TriggerFiring
        fields = ["id", "trigger", "kind", "action", "numbers", "at"]


class StepStateSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="step.pk")
    key = serializers.CharField(source="step.key")
    title = serializers.CharField(source="step.title")
    runbook = serializers.CharField(source="step.runbook")
    owner_duty = serializers.CharField(source="step.owner_duty")
    is_outage = serializers.BooleanField(source="step.is_outage")
    status = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    operator = serializers.CharField(source="operator.username", allow_null=True, default=None)
    waiting_for = serializers.SerializerMethodField()

    def get_waiting_for(self, obj) -> list[str]:
        return [p.key for p in obj.waiting_for]


class ExecutionRunSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(source="request.reference", read_only=True)
    started_by = serializers.CharField(source="started_by.username", read_only=True)
    plan_version = serializers.IntegerField(source="plan_version.number", read_only=True, default=None)
    state = WordChoiceField(choices=RunState.choices, read_only=True)

    class Meta:
        model = ExecutionRun
        fields = ["id", "reference", "state", "plan_version", "started_by", "started_at", "finished_at",
                  "paused_reason", "backout_started_at", "backout_reason", "validation_signature"]


class ExecutionRunDetailSerializer(ExecutionRunSerializer):
    forward = StepStateSerializer(many=True, read_only=True)
    backout = StepStateSerializer(many=True, read_only=True)
    progress = serializers.DictField(read_only=True)
    downtime = serializers.DictField(read_only=True)
    firings = FiringSerializer(source="fired", many=True, read_only=True)

    class Meta(ExecutionRunSerializer.Meta):
        fields = [*ExecutionRunSerializer.Meta.fields, "forward", "backout", "progress", "downtime", "firings"]


class StartCheckSerializer(serializers.Serializer):
    prechecks = serializers.ListField(child=serializers.CharField())
    conditions = serializers.ListField(child=serializers.CharField())
    window = serializers.ListField(child=serializers.CharField())


class StepFinishInputSerializer(serializers.Serializer):
    outcome = WordChoiceField(choices=StepOutcome.choices)
    output = TextField(max_length=MAX_OUTPUT, required=False, allow_blank=True, default="")
    reason = TextField(max_length=MAX_REASON, required=False, allow_blank=True, default="")


class ReasonInputSerializer(serializers.Serializer):
    reason = TextField(max_length=MAX_REASON, required=False, allow_blank=True, default="")


class SignInputSerializer(serializers.Serializer):
    token = TextField(max_length=200, help_text="A step-up token obtained by posting your password (valid 5 minutes).")


class IncidentSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(source="request.reference", read_only=True)
    opened_by = serializers.CharField(source="opened_by.username", read_only=True)
    severity = WordChoiceField(choices=Severity.choices, read_only=True)

    class Meta:
        model = Incident
        fields = ["id", "reference", "title", "severity", "started_at", "ended_at", "impact", "impact_minutes",
                  "escalation_path", "contacts", "runbook_url", "opened_by", "opened_at"]


class IncidentInputSerializer(serializers.Serializer):
    title = TextField(max_length=200)
    severity = WordChoiceField(choices=Severity.choices)
    started_at = serializers.DateTimeField(required=False)
    ended_at = serializers.DateTimeField(required=False, allow_null=True)
    impact = TextField(max_length=MAX_TEXT, required=False, allow_blank=True)
    impact_minutes = serializers.IntegerField(min_value=0, max_value=100000, required=False)
    escalation_path = TextField(max_length=MAX_TEXT, required=False, allow_blank=True)
    contacts = TextField(max_length=MAX_TEXT, required=False, allow_blank=True)
    runbook_url = serializers.URLField(max_length=500, required=False, allow_blank=True)


class IncidentUpdateSerializer(IncidentInputSerializer):
    title = TextField(max_length=200, required=False)
    severity = WordChoiceField(choices=Severity.choices, required=False)
