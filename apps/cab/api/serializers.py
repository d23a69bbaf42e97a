from typing import ClassVar

from rest_framework import serializers

from apps.accounts.models import Team, User
from apps.inventory.models import System
from apps.upgrades.choices import RiskClass

from ..models import (ApprovalPolicy, Condition, Decision, Delegation, Review, RiskLevelScope, StandardTemplate,
                      Vote)


class TextField(serializers.CharField):
    """Text only: a number or a list is the wrong type, not something to coerce into text."""

    default_error_messages: ClassVar[dict] = {"invalid": "Enter text (a JSON string)."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StepUpInputSerializer(serializers.Serializer):
    password = TextField(max_length=4096, trim_whitespace=False)


class StepUpSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `step_up_token` with the signed request.")
    expires_at = serializers.DateTimeField()


class GateCheckSerializer(serializers.Serializer):
    name = serializers.CharField()
    ok = serializers.BooleanField()
    message = serializers.CharField()
    outcome = serializers.CharField(allow_null=True, help_text="For a failed check: pending or prevented.")


class GateSerializer(serializers.Serializer):
    request = serializers.CharField()
    environment = serializers.CharField(allow_null=True)
    decision = serializers.CharField(help_text="allowed, pending or prevented.")
    allowed = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())
    checks = GateCheckSerializer(many=True)
    checked_at = serializers.DateTimeField()


class TeamRefField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", queryset=Team.objects.all(), **kwargs)


class PolicySerializer(serializers.ModelSerializer):
    voter_team = TeamRefField(required=False, allow_null=True)
    required_teams = TeamRefField(many=True, required=False)
    risk_class = serializers.ChoiceField(choices=RiskClass.choices)
    risk_level = serializers.ChoiceField(choices=RiskLevelScope.choices, required=False, default="any")
    quorum = serializers.IntegerField(min_value=1, max_value=20)
    retrospective_days = serializers.IntegerField(min_value=1, max_value=90, required=False, allow_null=True)
    name = TextField(max_length=120)
    updated_by = serializers.CharField(source="updated_by.username", read_only=True, default=None)

    class Meta:
        model = ApprovalPolicy
        fields = ["id", "name", "risk_class", "risk_level", "quorum", "veto", "voter_team", "required_teams",
                  "require_critical_owner_teams", "retrospective_days", "updated_by", "updated_at"]
        read_only_fields = ["id", "updated_by", "updated_at"]


class TemplateSerializer(serializers.ModelSerializer):
    systems = serializers.SlugRelatedField(slug_field="slug", many=True, queryset=System.objects.all(),
                                           required=False)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    approved_by = serializers.CharField(source="approved_by.username", read_only=True, default=None)
    name = TextField(max_length=160)
    description = TextField(max_length=5000)
    product = TextField(max_length=80)
    version_constraint = TextField(max_length=120)
    runbook = TextField(max_length=20000)
    constraint_kind = serializers.ChoiceField(choices=["semver", "pep440"], default="semver")

    class Meta:
        model = StandardTemplate
        fields = ["id", "name", "description", "product", "systems", "version_constraint", "constraint_kind",
                  "runbook", "valid_from", "valid_until", "status", "approved_by", "approved_at", "created_by",
                  "created_at"]
        read_only_fields = ["id", "status", "approved_by", "approved_at", "created_by", "created_at"]


class TemplateSignInputSerializer(serializers.Serializer):
    step_up_token = TextField(max_length=200, help_text="From POST /api/v1/auth/step-up/ (valid 5 minutes).")


class ConditionSerializer(serializers.ModelSerializer):
    acknowledged_by = serializers.CharField(source="acknowledged_by.username", read_only=True, default=None)

    class Meta:
        model = Condition
        fields = ["id", "text", "acknowledged_by", "acknowledged_at"]


class VoteSerializer(serializers.ModelSerializer):
    voter = serializers.CharField(source="voter.username")
    on_behalf_of = serializers.CharField(source="on_behalf_of.username", default=None, allow_null=True)
    plan_version = serializers.IntegerField(source="plan_version.number", default=None, allow_null=True)
    conditions = ConditionSerializer(many=True)

    class Meta:
        model = Vote
        fields = ["id", "voter", "on_behalf_of", "decision", "reason", "conditions", "plan_version", "plan_sha256",
                  "signature_method", "signed_at", "audit_seq", "stale"]


class VoteInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Decision.choices)
    reason = TextField(max_length=5000, required=False, allow_blank=True, default="")
    conditions = serializers.ListField(child=TextField(max_length=1000), required=False, default=list,
                                       max_length=10)
    on_behalf_of = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.all(),
                                                required=False, allow_null=True, default=None,
                                                help_text="Vote as the delegate of this CAB member.")
    step_up_token = TextField(max_length=200, help_text="From POST /api/v1/auth/step-up/ (valid 5 minutes).")


class ReviewSerializer(serializers.ModelSerializer):
    request = serializers.CharField(source="request.reference")
    plan_version = serializers.IntegerField(source="plan_version.number", default=None, allow_null=True)
    plan_sha256 = serializers.CharField(source="plan_version.sha256", default=None, allow_null=True)
    template = serializers.CharField(source="template.name", default=None, allow_null=True)
    retrospective = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = ["id", "request", "outcome", "emergency", "opened_at", "decided_at", "plan_version", "plan_sha256",
                  "policy_snapshot", "template", "retrospective_due", "retrospective_done_at", "retrospective"]

    def get_retrospective(self, obj) -> str | None:
        from ..selectors import retrospective_state

        return retrospective_state(obj)


class TallySerializer(serializers.Serializer):
    approvals = serializers.IntegerField()
    quorum = serializers.IntegerField()
    reasons = serializers.ListField(child=serializers.CharField())


class ReviewDetailSerializer(ReviewSerializer):
    votes = serializers.SerializerMethodField()
    stale_votes = serializers.SerializerMethodField()
    tally = serializers.SerializerMethodField()

    class Meta(ReviewSerializer.Meta):
        fields = [*ReviewSerializer.Meta.fields, "votes", "stale_votes", "tally"]

    def _votes(self, obj):
        if not hasattr(obj, "_all_votes"):
            from ..selectors import votes_of

            obj._all_votes = votes_of(obj)
        return obj._all_votes

    def get_votes(self, obj) -> list[dict]:
        return VoteSerializer([v for v in self._votes(obj) if not v.stale], many=True).data

    def get_stale_votes(self, obj) -> list[dict]:
        return VoteSerializer([v for v in self._votes(obj) if v.stale], many=True).data

    def get_tally(self, obj) -> dict:
        from ..policies import tally

        result = tally(obj, votes=[v for v in self._votes(obj) if not v.stale])
        return {"approvals": len(result.approvals), "quorum": result.quorum, "reasons": result.reasons}


class RetrospectiveInputSerializer(serializers.Serializer):
    notes = TextField(max_length=20000)


class DelegationSerializer(serializers.ModelSerializer):
    principal = serializers.CharField(source="principal.username", read_only=True)
    delegate = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.all())
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = Delegation
        fields = ["id", "principal", "delegate", "valid_from", "valid_until", "created_by", "created_at"]
        read_only_fields = ["id", "principal", "created_by", "created_at"]
