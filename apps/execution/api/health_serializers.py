from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.inventory.models import Endpoint

from ..models import AllowedTarget, Baseline, CheckPurpose, CheckResult, CheckRun, HealthCheck


# an inline enum: another app's "purpose" field has other choices, and a shared component name would clash
# (spectacular's enum post-processing names enums by field name, so the choices are a pattern here)
PURPOSE_SCHEMA = {"type": "string", "pattern": "^(" + "|".join(CheckPurpose.values) + ")$",
                  "description": "One of " + "; ".join(f"{v} ({label})" for v, label in CheckPurpose.choices)}


@extend_schema_field(PURPOSE_SCHEMA)
class PurposeField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=CheckPurpose.choices, **kwargs)


class HealthCheckSerializer(serializers.ModelSerializer):
    system = serializers.CharField(source="endpoint.system.slug", read_only=True)
    environment = serializers.CharField(source="endpoint.environment.slug", read_only=True)
    kind = serializers.CharField(source="endpoint.kind", read_only=True)
    target = serializers.CharField(source="endpoint.target", read_only=True)
    sql_password_set = serializers.SerializerMethodField(help_text="The password itself is never shown.")

    class Meta:
        model = HealthCheck
        fields = ["id", "name", "endpoint", "system", "environment", "kind", "target", "expect_status",
                  "body_contains", "json_path", "json_expected", "max_latency_ms", "sql_query", "sql_username",
                  "sql_password_set", "tls_min_days", "timeout_seconds", "enabled", "created_at"]

    def get_sql_password_set(self, obj) -> bool:
        return bool(obj.sql_password_encrypted)


class HealthCheckInputSerializer(serializers.Serializer):
    endpoint = serializers.PrimaryKeyRelatedField(queryset=Endpoint.objects.all())
    name = serializers.CharField(max_length=120)
    expect_status = serializers.IntegerField(required=False, allow_null=True, min_value=100, max_value=599)
    body_contains = serializers.CharField(max_length=200, required=False, allow_blank=True)
    json_path = serializers.CharField(max_length=200, required=False, allow_blank=True)
    json_expected = serializers.CharField(max_length=200, required=False, allow_blank=True)
    max_latency_ms = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=60_000)
    sql_query = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    sql_username = serializers.CharField(max_length=120, required=False, allow_blank=True)
    sql_password = serializers.CharField(max_length=200, required=False, allow_blank=True, write_only=True,
                                         help_text="Write only; empty or absent keeps the stored one.")
    tls_min_days = serializers.IntegerField(required=False, min_value=0, max_value=3650)
    timeout_seconds = serializers.DecimalField(max_digits=5, decimal_places=2, required=False, min_value=Decimal("0.1"),
                                               max_value=Decimal("60"))
    enabled = serializers.BooleanField(required=False)


class HealthCheckUpdateSerializer(HealthCheckInputSerializer):
    endpoint = serializers.PrimaryKeyRelatedField(queryset=Endpoint.objects.all(), required=False)
    name = serializers.CharField(max_length=120, required=False)


class CheckRunSerializer(serializers.ModelSerializer):
    request = serializers.CharField(source="request.reference", read_only=True, default=None)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, default=None)
    green = serializers.SerializerMethodField()
    purpose = PurposeField(read_only=True)

    class Meta:
        model = CheckRun
        fields = ["id", "purpose", "request", "execution_run", "status", "requested_by", "requested_at",
                  "dispatched_at", "started_at", "finished_at", "total", "passed", "failed", "attempts", "error",
                  "green"]

    def get_green(self, obj) -> bool:
        return obj.status == "done" and obj.total > 0 and obj.passed == obj.total


class CheckRunInputSerializer(serializers.Serializer):
    checks = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=5000)
    purpose = PurposeField(default=CheckPurpose.ADHOC)
    request = serializers.CharField(max_length=20, required=False, allow_blank=True,
                                    help_text="Reference of the upgrade request the run belongs to, if any.")


class CheckResultSerializer(serializers.ModelSerializer):
    check_name = serializers.CharField(source="health_check.name", read_only=True)
    system = serializers.CharField(source="health_check.endpoint.system.slug", read_only=True)

    class Meta:
        model = CheckResult
        fields = ["id", "health_check", "check_name", "system", "status", "latency_ms", "detail", "checked_at",
                  "samples"]


class ComparisonSerializer(serializers.Serializer):
    health_check_id = serializers.IntegerField()
    check = serializers.CharField()
    system = serializers.CharField()
    status = serializers.CharField()
    latency_ms = serializers.FloatField(allow_null=True)
    error_rate = serializers.FloatField()
    baseline = serializers.BooleanField()
    baseline_p50_ms = serializers.FloatField(allow_null=True)
    baseline_p95_ms = serializers.FloatField(allow_null=True)
    baseline_error_rate = serializers.FloatField(allow_null=True)
    delta_ms = serializers.FloatField(allow_null=True)
    delta_pct = serializers.FloatField(allow_null=True)
    regression = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())


class BaselineSerializer(serializers.ModelSerializer):
    check_name = serializers.CharField(source="health_check.name", read_only=True)

    class Meta:
        model = Baseline
        fields = ["id", "health_check", "check_name", "run", "samples", "p50_ms", "p95_ms", "p99_ms", "error_rate",
                  "captured_at"]


class BaselineInputSerializer(serializers.Serializer):
    run = serializers.IntegerField(min_value=1, help_text="A finished run of this request (a baseline run).")


class AllowedTargetSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = AllowedTarget
        fields = ["id", "value", "ports", "note", "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]
