from typing import ClassVar

from rest_framework import serializers

from ..choices import Category, Severity
from ..models import Assessment, AssessmentRun, Finding
from ..services import MAX_TEXT, MAX_TITLE, RESOLUTIONS


class TextField(serializers.CharField):
    """Text only: a number or a list is the wrong type, not something to coerce into text."""

    default_error_messages: ClassVar[dict] = {"invalid": "Enter text (a JSON string)."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class FindingSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True, default=None)
    resolved_by = serializers.CharField(source="resolved_by.username", read_only=True, default=None)
    system = serializers.CharField(source="system.slug", read_only=True, default=None)
    system_level = serializers.SerializerMethodField()

    class Meta:
        model = Finding
        fields = ["id", "key", "category", "severity", "title", "evidence", "source", "owner", "resolution",
                  "justification", "resolved_by", "resolved_at", "stale", "system", "system_level",
                  "created_at", "updated_at"]

    def get_system_level(self, obj) -> bool:
        return obj.assessment_id is None


class FindingInputSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=Category.choices)
    severity = serializers.ChoiceField(choices=Severity.choices)
    title = TextField(max_length=MAX_TITLE)
    evidence = TextField(max_length=MAX_TEXT, required=False, allow_blank=True)


class ResolveInputSerializer(serializers.Serializer):
    resolution = serializers.ChoiceField(choices=[(r.value, r.label) for r in RESOLUTIONS])
    justification = TextField(max_length=MAX_TEXT, required=False, allow_blank=True, default="")


class RunSerializer(serializers.ModelSerializer):
    run_by = serializers.CharField(source="run_by.username", read_only=True, default=None)

    class Meta:
        model = AssessmentRun
        fields = ["run_at", "run_by", "added", "removed", "changed", "risk_score"]


class AssessmentSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(source="request.reference", read_only=True)
    started_by = serializers.CharField(source="started_by.username", read_only=True)
    completed_by = serializers.CharField(source="completed_by.username", read_only=True, default=None)

    class Meta:
        model = Assessment
        fields = ["reference", "status", "depth", "risk_score", "risk_level", "risk_factors", "verdict",
                  "started_by", "started_at", "last_run_at", "completed_at", "completed_by"]
