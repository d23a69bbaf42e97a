from rest_framework import serializers

from apps.audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.IntegerField(source="actor_id", allow_null=True, read_only=True,
                                     help_text="id of the acting user (null for the system)")
    before = serializers.JSONField(read_only=True, allow_null=True, help_text="changed fields, old values")
    after = serializers.JSONField(read_only=True, allow_null=True, help_text="changed fields, new values")
    data = serializers.JSONField(read_only=True, help_text="further facts (a denied path, a signed hash)")

    class Meta:
        model = AuditEvent
        fields = ("seq", "created_at", "actor", "actor_username", "action", "object_type", "object_id",
                  "object_repr", "ip", "before", "after", "data", "prev_hash", "hash")
        read_only_fields = fields


class AuditVerifySerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="true when every link recomputes and every checkpoint matches")
    checked = serializers.IntegerField(help_text="events verified (before the break, when broken)")
    head_seq = serializers.IntegerField()
    broken_seq = serializers.IntegerField(allow_null=True, help_text="the first broken or missing event")
    reason = serializers.CharField(allow_blank=True)
