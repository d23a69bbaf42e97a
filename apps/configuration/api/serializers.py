from typing import ClassVar

from rest_framework import serializers

from ..choices import ExceptionReason, MaskingMethod, SnapshotFormat, SnapshotPurpose, TopologyKind
from ..models import (Baseline, ConfigException, MaskingRecord, PerformanceFigure, RegressionReport, Snapshot,
                      TestCaseResult, UatSignoff)


class TextField(serializers.CharField):
    default_error_messages: ClassVar[dict] = {"invalid": "Enter text (a JSON string)."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ConfigSnapshotSerializer(serializers.ModelSerializer):
    system = serializers.CharField(source="system.slug", read_only=True)
    environment = serializers.CharField(source="environment.slug", read_only=True)
    request = serializers.SerializerMethodField()
    taken_by = serializers.CharField(source="taken_by.username", read_only=True)

    class Meta:
        model = Snapshot
        fields = ["id", "system", "environment", "request", "purpose", "tag", "format", "source_name", "key_count",
                  "masked_count", "sha256", "content_sha256", "taken_by", "taken_at"]

    def get_request(self, obj) -> str | None:
        visible = self.context.get("visible_refs")
        if obj.request_id and (visible is None or obj.request_id in visible):
            return obj.request.reference
        return None


class ConfigSnapshotDetailSerializer(ConfigSnapshotSerializer):
    class Meta(ConfigSnapshotSerializer.Meta):
        fields = [*ConfigSnapshotSerializer.Meta.fields, "content"]


class ConfigSnapshotInputSerializer(serializers.Serializer):
    system = serializers.SlugField(help_text="The system's slug.")
    environment = serializers.SlugField(help_text="The environment's slug.")
    tag = TextField(max_length=80)
    purpose = serializers.ChoiceField(choices=SnapshotPurpose.choices, default=SnapshotPurpose.ROUTINE)
    request = serializers.CharField(required=False, allow_blank=True, help_text="Reference of the upgrade request "
                                                                               "it belongs to.")
    format = serializers.ChoiceField(choices=SnapshotFormat.choices, required=False, allow_blank=True)
    values = serializers.JSONField(required=False, help_text="A key/value document (a JSON object); or give "
                                                            "`content` with a format, or upload `file`.")
    content = TextField(required=False, allow_blank=True, max_length=1024 * 1024, trim_whitespace=False,
                        help_text="The document as text (JSON, YAML, INI or .env) with `format`.")
    file = serializers.FileField(required=False, help_text="The document as an upload (multipart).")

    def validate(self, attrs):
        given = [k for k in ("values", "content", "file") if attrs.get(k) not in (None, "")]
        if len(given) != 1:
            raise serializers.ValidationError({"values": "Give exactly one of: values, content (with format), file."})
        if "content" in given and not attrs.get("format"):
            raise serializers.ValidationError({"format": "Say which format the content is in."})
        return attrs


class ConfigChangeSerializer(serializers.Serializer):
    path = serializers.CharField()
    kind = serializers.ChoiceField(choices=["added", "removed", "changed"])
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)
    secret = serializers.BooleanField()


class ConfigDiffSerializer(serializers.Serializer):
    from_snapshot = ConfigSnapshotSerializer()
    to_snapshot = ConfigSnapshotSerializer()
    summary = serializers.DictField(child=serializers.IntegerField())
    changes = ConfigChangeSerializer(many=True)


class ConfigBaselineSerializer(serializers.ModelSerializer):
    system = serializers.CharField(source="system.slug", read_only=True)
    environment = serializers.CharField(source="environment.slug", read_only=True)
    tag = serializers.CharField(source="snapshot.tag", read_only=True)
    approved_by = serializers.CharField(source="approved_by.username", read_only=True)

    class Meta:
        model = Baseline
        fields = ["id", "system", "environment", "snapshot", "tag", "note", "approved_by", "approved_at", "active",
                  "superseded_at", "last_validated_at", "last_deviations"]


class ConfigBaselineInputSerializer(serializers.Serializer):
    note = TextField(required=False, allow_blank=True, max_length=5000)


class ConfigExceptionSerializer(serializers.ModelSerializer):
    system = serializers.CharField(source="system.slug", read_only=True)
    environment = serializers.CharField(source="environment.slug", read_only=True, default=None)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, default=None)
    in_force = serializers.SerializerMethodField()

    class Meta:
        model = ConfigException
        fields = ["id", "system", "environment", "key_pattern", "reason_kind", "reason", "expires_at", "status",
                  "in_force", "requested_by", "requested_at", "decided_by", "decided_at", "decision_reason"]

    def get_in_force(self, obj) -> bool:
        now = self.context.get("now")
        return obj.status == "approved" and now is not None and obj.expires_at > now


class ConfigExceptionInputSerializer(serializers.Serializer):
    system = serializers.SlugField()
    environment = serializers.SlugField(required=False, allow_blank=True, help_text="Empty: every environment.")
    key_pattern = TextField(max_length=300)
    reason_kind = serializers.ChoiceField(choices=ExceptionReason.choices)
    reason = TextField(max_length=5000)
    expires_at = serializers.DateTimeField()


class ConfigExceptionDecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    reason = TextField(required=False, allow_blank=True, max_length=5000)


class TestCaseResultSerializer(serializers.ModelSerializer):
    outcome = serializers.CharField(read_only=True, help_text="failed or error (passing tests are only counted).")
    accepted_by = serializers.CharField(source="accepted_by.username", read_only=True, default=None)

    class Meta:
        model = TestCaseResult
        fields = ["id", "suite", "classname", "name", "outcome", "message", "duration_seconds", "accepted_by",
                  "accepted_at", "justification"]


class RegressionReportSerializer(serializers.ModelSerializer):
    imported_by = serializers.CharField(source="imported_by.username", read_only=True)
    cases = TestCaseResultSerializer(many=True, read_only=True)
    passed = serializers.IntegerField(read_only=True)

    class Meta:
        model = RegressionReport
        fields = ["id", "name", "filename", "sha256", "wave", "tests", "passed", "failures", "errors", "skipped",
                  "duration_seconds", "imported_by", "imported_at", "cases"]


class JunitImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The JUnit XML report (multipart).")
    name = TextField(required=False, allow_blank=True, max_length=200)
    wave = serializers.IntegerField(required=False, help_text="Id of a wave of the request's plan.")


class FailureAcceptInputSerializer(serializers.Serializer):
    justification = TextField(max_length=5000)


class TopologyItemInputSerializer(serializers.Serializer):
    system = serializers.SlugField()
    environment = serializers.SlugField()
    kind = serializers.ChoiceField(choices=TopologyKind.choices)
    name = TextField(max_length=120)
    value = TextField(max_length=300)


class MaskingRecordInputSerializer(serializers.Serializer):
    system = serializers.SlugField()
    masked = serializers.BooleanField()
    method = serializers.ChoiceField(choices=MaskingMethod.choices)
    masked_by = TextField(max_length=200)
    masked_on = serializers.DateField()
    notes = TextField(required=False, allow_blank=True, max_length=5000)


class MaskingRecordSerializer(serializers.ModelSerializer):
    system = serializers.CharField(source="system.slug", read_only=True)

    class Meta:
        model = MaskingRecord
        fields = ["id", "system", "masked", "method", "masked_by", "masked_on", "notes", "recorded_at"]


class PerformanceFigureInputSerializer(serializers.Serializer):
    metric = TextField(max_length=120)
    unit = TextField(required=False, allow_blank=True, max_length=20)
    before = serializers.DecimalField(max_digits=16, decimal_places=4)
    after = serializers.DecimalField(max_digits=16, decimal_places=4)
    higher_is_better = serializers.BooleanField(default=False)
    tolerance_percent = serializers.DecimalField(max_digits=6, decimal_places=2, default=10)
    system = serializers.IntegerField(required=False, allow_null=True)


class PerformanceImportSerializer(serializers.Serializer):
    figures = PerformanceFigureInputSerializer(many=True)


class PerformanceFigureSerializer(serializers.ModelSerializer):
    change_percent = serializers.FloatField(read_only=True, allow_null=True)
    regressed = serializers.BooleanField(read_only=True)

    class Meta:
        model = PerformanceFigure
        fields = ["id", "system", "metric", "unit", "before", "after", "higher_is_better", "tolerance_percent",
                  "change_percent", "regressed", "recorded_at"]


class UatSignoffInputSerializer(serializers.Serializer):
    workflow = serializers.IntegerField(help_text="Id of the business workflow signed off.")
    token = serializers.CharField(required=False, allow_blank=True,
                                  help_text="Step-up token from POST /api/v1/auth/step-up/.")
    password = serializers.CharField(required=False, allow_blank=True, write_only=True)
    comment = TextField(required=False, allow_blank=True, max_length=5000)


class UatSignoffSerializer(serializers.ModelSerializer):
    signed_by = serializers.CharField(source="signed_by.username", read_only=True)
    workflow_name = serializers.CharField(source="workflow.name", read_only=True)

    class Meta:
        model = UatSignoff
        fields = ["id", "workflow", "workflow_name", "signed_by", "signed_at", "method", "evidence_sha256",
                  "comment"]


class RequestConfigurationSerializer(serializers.Serializer):
    reference = serializers.CharField()
    submit_reasons = serializers.ListField(child=serializers.CharField())
    start_reasons = serializers.ListField(child=serializers.CharField())
    snapshots = ConfigSnapshotSerializer(many=True)
    backout = ConfigSnapshotSerializer(many=True)
    drift = serializers.ListField(child=serializers.DictField())
    parity = serializers.ListField(child=serializers.DictField())
    masking = MaskingRecordSerializer(many=True)
    reports = RegressionReportSerializer(many=True)
    performance = PerformanceFigureSerializer(many=True)
    signoffs = serializers.ListField(child=serializers.DictField())
    patching_order = serializers.ListField(child=serializers.DictField())
