from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..choices import Role
from ..models import Team, User
from ..selectors import token_is_expired, token_name
from ..services import TOKEN_MAX_DAYS


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["slug", "name"]


class _RolesMixin:
    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=Role.choices)))
    def get_roles(self, user: User) -> list[str]:
        return sorted(r for r in user.role_names if r in Role.values)


class MeSerializer(_RolesMixin, serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)
    roles = serializers.SerializerMethodField()
    teams = TeamSerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = ["username", "name", "email", "timezone", "is_service_account", "roles", "teams"]
        read_only_fields = fields


class UserBriefSerializer(_RolesMixin, serializers.ModelSerializer):
    display_name = serializers.CharField(read_only=True)
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["username", "display_name", "roles"]
        read_only_fields = fields


class TokenSerializer(serializers.Serializer):
    token_key = serializers.CharField(read_only=True,
                                      help_text="The first characters of the token, to tell it apart.")
    name = serializers.SerializerMethodField()
    created = serializers.DateTimeField(read_only=True)
    expiry = serializers.DateTimeField(read_only=True, allow_null=True, help_text="Null: never expires.")
    expired = serializers.SerializerMethodField()

    def get_name(self, token) -> str:
        return token_name(token)

    def get_expired(self, token) -> bool:
        return token_is_expired(token)


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="What uses the token, e.g. “deploy pipeline”.")
    expires_in_days = serializers.IntegerField(
        min_value=1, max_value=TOKEN_MAX_DAYS, allow_null=True, default=90,
        help_text=f"1 to {TOKEN_MAX_DAYS} days; null for a token that never expires.",
    )

    def validate_name(self, value: str) -> str:
        if not value.isprintable():
            raise serializers.ValidationError("Use printable characters only.")
        return value


class TokenCreatedSerializer(TokenSerializer):
    token = serializers.CharField(read_only=True,
                                  help_text="The secret. Shown only in this response; keep it safe.")


class UserListQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200)
    role = serializers.ChoiceField(required=False, choices=Role.choices)
