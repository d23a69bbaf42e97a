from rest_framework import serializers

from apps.audit.models import AuditEvent, LegalHold, RetentionPolicy


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


class RetentionPolicySerializer(serializers.ModelSerializer):
    updated_by = serializers.CharField(source="updated_by.username", read_only=True, allow_null=True,
                                       default=None, help_text="who last changed it")

    class Meta:
        model = RetentionPolicy
        fields = ("id", "kind", "region", "days", "updated_by", "updated_at")
        read_only_fields = fields


class RetentionPolicyInputSerializer(serializers.Serializer):
    kind = serializers.CharField(max_length=40,
                                 help_text="attachments, snapshots, reports, health_results or "
                                                          "audit_events (the registered kinds)")
    region = serializers.CharField(max_length=40, required=False, allow_blank=True, default="",
                                   help_text="empty: every region without its own policy")
    days = serializers.IntegerField(help_text="1 to 36500")


class LegalHoldSerializer(serializers.ModelSerializer):
    set_by = serializers.CharField(source="set_by.username", read_only=True)
    lifted_by = serializers.CharField(source="lifted_by.username", read_only=True, allow_null=True,
                                      default=None)
    active = serializers.BooleanField(read_only=True)

    class Meta:
        model = LegalHold
        fields = ("id", "object_type", "object_id", "object_repr", "reason", "active", "set_by", "set_at",
                  "lifted_by", "lifted_at", "lift_reason")
        read_only_fields = fields


class LegalHoldInputSerializer(serializers.Serializer):
    target_type = serializers.CharField(max_length=40,
                                        help_text="request, or an artifact kind (e.g. attachments)")
    target = serializers.CharField(max_length=64, help_text="a request's reference, or the artifact's id")
    reason = serializers.CharField(max_length=2000)


class LegalHoldLiftSerializer(serializers.Serializer):
    lift_reason = serializers.CharField(max_length=2000)
