"""Rollout plan API: what it answers (model serializers) and what it takes (input descriptions).

The input serializers document the fields for the OpenAPI schema; the services validate them
(per-kind thresholds, time zones, DAG) so the page and the API refuse with the same words.
"""

from rest_framework import serializers

from apps.accounts.choices import Duty

from ..models import (DataMigrationScope, IntegrationFallback, Layer, Plan, PlanVersion, RollbackTrigger, Runbook,
                      RunbookStep, StepAction, Strategy, TierMode, TriggerAction, TriggerKind, Wave, WaveTier)


class TierSerializer(serializers.ModelSerializer):
    systems = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)

    class Meta:
        model = WaveTier
        fields = ["id", "position", "layer", "mode", "reason", "systems"]


class LocalTimeSerializer(serializers.Serializer):
    zone = serializers.CharField()
    systems = serializers.ListField(child=serializers.CharField())
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    crosses_midnight = serializers.BooleanField()
    offset_changes = serializers.BooleanField()


class WaveSerializer(serializers.ModelSerializer):
    environment = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)  # not set yet
    systems = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    tiers = TierSerializer(many=True, read_only=True)

    class Meta:
        model = Wave
        fields = ["id", "position", "name", "environment", "systems", "window_start", "window_end",
                  "entry_criteria", "exit_criteria", "tiers"]


class WaveDetailSerializer(WaveSerializer):
    local_times = serializers.SerializerMethodField()

    class Meta(WaveSerializer.Meta):
        fields = [*WaveSerializer.Meta.fields, "local_times"]

    def get_local_times(self, obj) -> list[dict]:
        from ..selectors import local_times

        if not obj.window_start:
            return []
        systems = list(obj.systems.all()) or self.context.get("affected", [])
        rows = local_times(obj.window_start, obj.window_end, systems)
        return LocalTimeSerializer(
            [{"zone": r.zone, "systems": r.systems, "start": r.start, "end": r.end,
              "crosses_midnight": r.crosses_midnight, "offset_changes": r.offset_changes} for r in rows],
            many=True).data


class TriggerSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True, help_text=", ".join(TriggerKind.values))
    action = serializers.CharField(read_only=True, help_text=", ".join(TriggerAction.values))
    system = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    threshold_words = serializers.SerializerMethodField()

    class Meta:
        model = RollbackTrigger
        fields = ["id", "name", "kind", "threshold", "threshold_words", "evaluation_window_minutes", "system",
                  "endpoint", "action", "notes"]

    def get_threshold_words(self, obj) -> str:
        from ..selectors import threshold_text

        return threshold_text(obj)


class StepSerializer(serializers.ModelSerializer):
    action = serializers.CharField(read_only=True, help_text=", ".join(StepAction.values))
    depends_on = serializers.SlugRelatedField(slug_field="key", many=True, read_only=True)
    wave = serializers.IntegerField(source="wave.position", read_only=True, default=None)
    wave_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = RunbookStep
        fields = ["id", "runbook", "key", "position", "title", "owner_duty", "expected_minutes", "instructions",
                  "verification", "action", "component", "wave", "wave_id", "is_outage", "depends_on"]


class FallbackSerializer(serializers.ModelSerializer):
    integration_name = serializers.CharField(source="integration.name", read_only=True)
    partner = serializers.CharField(source="integration.partner", read_only=True)
    system = serializers.CharField(source="integration.system.slug", read_only=True)

    class Meta:
        model = IntegrationFallback
        fields = ["id", "integration", "integration_name", "partner", "system", "procedure", "contact"]


class VersionSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = PlanVersion
        fields = ["number", "sha256", "created_by", "created_at", "reason"]


class VersionDetailSerializer(VersionSerializer):
    class Meta(VersionSerializer.Meta):
        fields = [*VersionSerializer.Meta.fields, "content"]


class ChangeSerializer(serializers.Serializer):
    path = serializers.CharField()
    kind = serializers.CharField(help_text="added, removed or changed")
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class DiffSerializer(serializers.Serializer):
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    from_sha256 = serializers.CharField()
    to_sha256 = serializers.CharField()
    changes = ChangeSerializer(many=True)


class RecommendationSerializer(serializers.Serializer):
    strategy = serializers.CharField()
    label = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())


class AnalysisSerializer(serializers.Serializer):
    order = serializers.ListField(child=serializers.CharField(), help_text="Upgrade runbook step keys in order.")
    critical_path = serializers.ListField(child=serializers.CharField())
    total_minutes = serializers.IntegerField(allow_null=True, help_text="Critical path of the upgrade runbook.")
    window_minutes = serializers.IntegerField(allow_null=True)
    backout_order = serializers.ListField(child=serializers.CharField())
    backout_minutes = serializers.IntegerField(allow_null=True)
    start_order_violations = serializers.ListField(child=serializers.CharField())
    problems = serializers.ListField(child=serializers.CharField())
    missing_fallbacks = serializers.ListField(child=serializers.CharField())
    gate_reasons = serializers.ListField(child=serializers.CharField())


class PlanSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(source="request.reference", read_only=True)

    class Meta:
        model = Plan
        fields = ["reference", "strategy", "strategy_justification", "planner_timezone", "data_migration_scope",
                  "data_migration_volume", "data_migration_method", "data_migration_verification", "created_at",
                  "updated_at"]


class PlanDetailSerializer(PlanSerializer):
    recommendation = RecommendationSerializer(read_only=True)
    waves = WaveDetailSerializer(many=True, read_only=True)
    triggers = TriggerSerializer(many=True, read_only=True)
    steps = StepSerializer(many=True, read_only=True)
    fallbacks = FallbackSerializer(many=True, read_only=True)
    analysis = AnalysisSerializer(read_only=True)
    current_version = VersionSerializer(read_only=True, allow_null=True)

    class Meta(PlanSerializer.Meta):
        fields = [*PlanSerializer.Meta.fields, "recommendation", "waves", "triggers", "steps", "fallbacks",
                  "analysis", "current_version"]


class PlanOverviewSerializer(PlanDetailSerializer):
    """The GET answer (schema only): a request without a plan yet has only `reference` and the analysis, so
    the plan's own fields are documented as optional there."""

    def get_fields(self):
        fields = super().get_fields()
        for name in PlanSerializer.Meta.fields[1:]:
            fields[name].read_only, fields[name].required = False, False
        return fields


# --- inputs (for the schema; the services validate) ---------------------------------------------------


class PlanInput(serializers.Serializer):
    strategy = serializers.ChoiceField(choices=Strategy.choices, required=False, allow_blank=True)
    strategy_justification = serializers.CharField(required=False, allow_blank=True)
    planner_timezone = serializers.CharField(required=False, help_text="IANA time zone, e.g. Europe/Berlin.")
    data_migration_scope = serializers.ChoiceField(choices=DataMigrationScope.choices, required=False,
                                                   allow_blank=True)
    data_migration_volume = serializers.CharField(required=False, allow_blank=True)
    data_migration_method = serializers.CharField(required=False, allow_blank=True)
    data_migration_verification = serializers.CharField(required=False, allow_blank=True)


class WaveInput(serializers.Serializer):
    name = serializers.CharField(required=False)
    environment = serializers.IntegerField(required=False, allow_null=True)
    systems = serializers.ListField(child=serializers.IntegerField(), required=False)
    window_start = serializers.CharField(required=False, allow_null=True, help_text=(
        "Wall time in `timezone` (e.g. 2026-12-06T02:00), or with a UTC offset. Stored in UTC."))
    window_end = serializers.CharField(required=False, allow_null=True)
    timezone = serializers.CharField(required=False, help_text="IANA zone of the wall times; default: yours.")
    entry_criteria = serializers.CharField(required=False, allow_blank=True)
    exit_criteria = serializers.CharField(required=False, allow_blank=True)
    position = serializers.IntegerField(required=False, help_text="Only on update: move the wave there.")


class TierInput(serializers.Serializer):
    layer = serializers.ChoiceField(choices=Layer.choices, required=False)
    mode = serializers.ChoiceField(choices=TierMode.choices, required=False)
    reason = serializers.CharField(required=False)
    systems = serializers.ListField(child=serializers.IntegerField(), required=False)
    position = serializers.IntegerField(required=False)


class TriggerInput(serializers.Serializer):
    name = serializers.CharField(required=False)
    kind = serializers.ChoiceField(choices=TriggerKind.choices, required=False)
    threshold = serializers.DecimalField(max_digits=12, decimal_places=3, required=False, allow_null=True)
    evaluation_window_minutes = serializers.IntegerField(required=False, min_value=1, max_value=24 * 60)
    action = serializers.CharField(required=False, help_text="pause or roll_back")
    system = serializers.IntegerField(required=False, allow_null=True)
    endpoint = serializers.IntegerField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True)


class StepInput(serializers.Serializer):
    runbook = serializers.ChoiceField(choices=Runbook.choices, required=False)
    key = serializers.CharField(required=False)
    title = serializers.CharField(required=False)
    owner_duty = serializers.ChoiceField(choices=[Duty.IMPLEMENTER.value, Duty.VALIDATOR.value], required=False)
    expected_minutes = serializers.IntegerField(required=False, min_value=1, max_value=24 * 60)
    instructions = serializers.CharField(required=False)
    verification = serializers.CharField(required=False, allow_blank=True)
    action = serializers.CharField(required=False, help_text=", ".join(StepAction.values))
    component = serializers.IntegerField(required=False, allow_null=True)
    wave = serializers.IntegerField(required=False, allow_null=True, help_text="Wave id.")
    is_outage = serializers.BooleanField(required=False)
    depends_on = serializers.ListField(child=serializers.CharField(), required=False,
                                       help_text="Keys of steps of the same runbook this one waits for.")
    position = serializers.IntegerField(required=False)


class FallbackInput(serializers.Serializer):
    integration = serializers.IntegerField()
    procedure = serializers.CharField()
    contact = serializers.CharField(required=False, allow_blank=True)
