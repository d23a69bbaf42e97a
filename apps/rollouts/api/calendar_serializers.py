"""Serializers of the calendar API: freezes, approved windows, conflicts, freeze exceptions, calendar entries."""

import datetime as dt
from typing import ClassVar

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core import clock
from apps.inventory.models import System

from ..calendar import windows
from ..models import ApprovedWindow, Conflict, Freeze, FreezeException, FreezeScope


class TextField(serializers.CharField):
    default_error_messages: ClassVar[dict] = {"invalid": "Enter text (a JSON string)."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class FreezeSerializer(serializers.ModelSerializer):
    systems = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = Freeze
        fields = ["id", "name", "reason", "scope", "region", "systems", "starts_at", "ends_at", "created_by",
                  "created_at", "lifted_at", "lifted_reason"]


class FreezeInputSerializer(serializers.Serializer):
    name = TextField(max_length=120)
    reason = TextField(max_length=5000)
    scope = serializers.ChoiceField(choices=FreezeScope.choices, default=FreezeScope.ORGANISATION)
    region = TextField(max_length=40, required=False, allow_blank=True, default="")
    systems = serializers.SlugRelatedField(slug_field="slug", many=True, queryset=System.objects.all(),
                                           required=False, default=list,
                                           help_text="System slugs, when the scope is named systems.")
    starts_at = serializers.DateTimeField(help_text="ISO 8601 with an offset, e.g. 2026-12-15T00:00:00+01:00.")
    ends_at = serializers.DateTimeField()


class FreezeUpdateSerializer(FreezeInputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
            field.default = serializers.empty


class FreezeLiftInputSerializer(serializers.Serializer):
    reason = TextField(max_length=5000)


class WindowOccurrenceSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class ApprovedWindowSerializer(serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    description = serializers.SerializerMethodField()
    next_occurrences = serializers.SerializerMethodField()

    class Meta:
        model = ApprovedWindow
        fields = ["id", "system", "label", "rrule", "start_time", "duration_minutes", "timezone", "valid_from",
                  "valid_until", "description", "next_occurrences", "created_at"]

    def get_description(self, obj) -> str:
        return windows.describe(obj)

    @extend_schema_field(WindowOccurrenceSerializer(many=True))
    def get_next_occurrences(self, obj):
        now = clock.now()
        return [{"start": s, "end": e} for s, e in windows.occurrences(obj, now, now + dt.timedelta(days=60))[:3]]


class ApprovedWindowInputSerializer(serializers.Serializer):
    system = serializers.SlugRelatedField(slug_field="slug", queryset=System.objects.all())
    label = TextField(max_length=120)
    rrule = TextField(max_length=300, help_text="RFC 5545 rule without DTSTART, e.g. FREQ=WEEKLY;BYDAY=SU.")
    start_time = serializers.TimeField(help_text="Local start time in the window's zone, e.g. 01:00.")
    duration_minutes = serializers.IntegerField(min_value=1, max_value=1440)
    timezone = TextField(max_length=64, help_text="IANA zone, e.g. Europe/Berlin.")
    valid_from = serializers.DateField()
    valid_until = serializers.DateField(required=False, allow_null=True, default=None)


class ApprovedWindowUpdateSerializer(ApprovedWindowInputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
            field.default = serializers.empty


class ConflictSerializer(serializers.ModelSerializer):
    other_request = serializers.SerializerMethodField()
    freeze = serializers.CharField(source="freeze.name", read_only=True, default=None)
    system = serializers.CharField(source="system.slug", read_only=True, default=None)
    user = serializers.CharField(source="user.username", read_only=True, default=None)
    wave = serializers.CharField(source="wave.name", read_only=True, default=None)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, default=None)
    detail = serializers.SerializerMethodField()

    class Meta:
        model = Conflict
        fields = ["id", "kind", "status", "detail", "other_request", "freeze", "system", "user", "wave",
                  "justification", "decided_by", "decided_at", "detected_at", "last_seen_at"]

    def _visible(self, obj) -> bool:
        return obj.other_request_id is None or obj.other_request_id in self.context.get("visible", set())

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_other_request(self, obj):
        return obj.other_request.reference if obj.other_request_id and self._visible(obj) else None

    def get_detail(self, obj) -> str:
        if self._visible(obj):
            return obj.detail
        return "Another change you may not see uses this time; ask the change managers."


class ConflictAcceptInputSerializer(serializers.Serializer):
    justification = TextField(max_length=5000)


class RequestFreezeExceptionSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(source="request.reference", read_only=True)
    freeze = serializers.CharField(source="freeze.name", read_only=True)
    freeze_id = serializers.IntegerField(read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, default=None)

    class Meta:
        model = FreezeException
        fields = ["id", "reference", "freeze", "freeze_id", "reason", "status", "requested_by", "requested_at",
                  "decided_by", "decided_at", "decision_reason", "emergency", "expires_at"]


class RequestFreezeExceptionInputSerializer(serializers.Serializer):
    freeze = serializers.PrimaryKeyRelatedField(queryset=Freeze.objects.all())
    reason = TextField(max_length=5000)


_MOMENT = serializers.DateTimeField()  # start and end, as the declared fields write them


class CalendarEntrySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["window", "freeze"])
    uid = serializers.CharField()
    title = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    description = serializers.CharField()
    reference = serializers.CharField(source="request.reference", default=None, allow_null=True)
    state = serializers.CharField(source="request.state", default=None, allow_null=True)
    risk_class = serializers.CharField(source="request.risk_class", default=None, allow_null=True)
    wave = serializers.CharField(source="wave.name", default=None, allow_null=True)
    freeze_id = serializers.IntegerField(source="freeze.pk", default=None, allow_null=True)
    systems = serializers.SerializerMethodField()

    def get_systems(self, obj) -> list[str]:
        return [s.slug for s in obj.systems]

    def to_representation(self, obj):
        """The fields above, built directly: a month of a large organisation is thousands of entries, and DRF's
        field-by-field machinery cost more than reading them."""
        request, wave, freeze = obj.request, obj.wave, obj.freeze
        moment = _MOMENT.to_representation
        return {
            "kind": obj.kind, "uid": obj.uid, "title": obj.title, "start": moment(obj.start), "end": moment(obj.end),
            "description": obj.description,
            "reference": request.reference if request else None, "state": request.state if request else None,
            "risk_class": request.risk_class if request else None, "wave": wave.name if wave else None,
            "freeze_id": freeze.pk if freeze else None, "systems": [s.slug for s in obj.systems],
        }


class CalendarSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    timezone = serializers.CharField(help_text="All times are UTC (ISO 8601); this is the user's zone for display.")
    entries = CalendarEntrySerializer(many=True)
