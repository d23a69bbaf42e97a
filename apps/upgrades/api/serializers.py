from typing import ClassVar

from rest_framework import serializers

from ..models import Comment, UpgradeItem, UpgradeRequest
from ..workflow import TRANSITIONS


class TextField(serializers.CharField):
    """Text only: a number, a list or an object is the wrong type, not something to coerce into text."""

    default_error_messages: ClassVar[dict] = {"invalid": "Enter text (a JSON string)."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ItemSerializer(serializers.ModelSerializer):
    system_slug = serializers.CharField(source="system.slug", read_only=True)

    class Meta:
        model = UpgradeItem
        fields = ["system", "system_slug", "component", "product", "current_version", "target_version"]
        read_only_fields = ["system_slug"]


class ItemInputSerializer(serializers.Serializer):
    system = serializers.IntegerField(min_value=1)
    component = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    product = TextField(max_length=80, required=False, allow_blank=True)
    current_version = TextField(max_length=40, required=False, allow_blank=True)
    target_version = TextField(max_length=40)


class UpgradeRequestSerializer(serializers.ModelSerializer):
    requester = serializers.CharField(source="requester.username", read_only=True)
    items = ItemSerializer(many=True, read_only=True)
    revised_from = serializers.CharField(source="revised_from.reference", read_only=True, default=None)
    url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = UpgradeRequest
        fields = ["reference", "title", "justification", "risk_class", "state", "state_reason", "requester",
                  "window_start", "window_end", "external_ref", "external_url", "items", "revised_from",
                  "created_at", "updated_at", "state_changed_at", "url"]
        read_only_fields = fields


class UpgradeRequestWriteSerializer(serializers.Serializer):
    """Input of create (all required fields) and of a partial update while draft."""

    title = TextField(max_length=200)
    justification = TextField(max_length=20000, required=False, allow_blank=True)
    risk_class = serializers.ChoiceField(choices=UpgradeRequest._meta.get_field("risk_class").choices,
                                         required=False)
    window_start = serializers.DateTimeField(required=False, allow_null=True)
    window_end = serializers.DateTimeField(required=False, allow_null=True)
    external_ref = TextField(max_length=80, required=False, allow_blank=True)
    external_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    items = ItemInputSerializer(many=True, required=True, allow_empty=True)

    def validate(self, attrs):
        for key in ("title", "justification", "external_ref"):
            if "\x00" in (attrs.get(key) or ""):
                raise serializers.ValidationError({key: "The text contains a NUL character."})
        return attrs


class TransitionInputSerializer(serializers.Serializer):
    reason = TextField(max_length=5000, required=False, allow_blank=True, default="")


class TransitionStateSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    target = serializers.CharField()
    allowed = serializers.BooleanField()
    needs_reason = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())


class DutySerializer(serializers.Serializer):
    duty = serializers.ChoiceField(choices=["assessor", "implementer", "validator"])
    user = TextField(max_length=150)


class CommentSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True)
    body = TextField(max_length=10000)

    class Meta:
        model = Comment
        fields = ["id", "author", "body", "created_at"]
        read_only_fields = ["id", "author", "created_at"]


def transition_rows(pairs) -> list[dict]:
    return [
        {"name": t.name, "label": t.label, "target": t.target, "allowed": not reasons,
         "needs_reason": t.needs_reason, "reasons": reasons}
        for t, reasons in pairs
    ]


__all__ = ["TRANSITIONS"]
