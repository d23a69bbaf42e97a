from typing import ClassVar

from django.contrib.auth import get_user_model
from rest_framework import serializers

from ..models import BacklogItem, PostImplementationReview, ReadinessItem, TrainingRecord


class TextField(serializers.CharField):
    """Text only: a number or a list is the wrong type, not something to coerce into text."""

    default_error_messages: ClassVar[dict] = {"invalid": "Enter text (a JSON string)."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _person():
    return serializers.SlugRelatedField(slug_field="username",
                                        queryset=get_user_model().objects.filter(is_active=True))


class PostImplementationReviewSerializer(serializers.ModelSerializer):
    request = serializers.CharField(source="request.reference", read_only=True)
    completed_by = serializers.CharField(source="completed_by.username", read_only=True, default=None)

    class Meta:
        model = PostImplementationReview
        fields = ["request", "status", "due_at", "success_criteria", "success_notes", "downtime_minutes",
                  "incidents_summary", "went_well", "went_badly", "lessons", "completed_by", "completed_at",
                  "created_at", "updated_at"]


class ReviewInputSerializer(serializers.Serializer):
    success_criteria = serializers.ChoiceField(choices=PostImplementationReview.Criteria.choices, required=False,
                                               allow_blank=True)
    success_notes = TextField(max_length=4000, required=False, allow_blank=True)
    downtime_minutes = serializers.IntegerField(min_value=0, max_value=525600, required=False, allow_null=True)
    incidents_summary = TextField(max_length=4000, required=False, allow_blank=True)
    went_well = TextField(max_length=4000, required=False, allow_blank=True)
    went_badly = TextField(max_length=4000, required=False, allow_blank=True)
    lessons = TextField(max_length=4000, required=False, allow_blank=True)
    complete = serializers.BooleanField(default=False, help_text="Complete the review (every field required).")


class BacklogItemSerializer(serializers.ModelSerializer):
    request = serializers.CharField(source="request.reference", read_only=True)
    owner = serializers.CharField(source="owner.username", read_only=True)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = BacklogItem
        fields = ["id", "request", "kind", "source_key", "title", "priority", "owner", "due_date", "status",
                  "done_at", "overdue", "created_at"]

    def get_overdue(self, obj) -> bool:
        from apps.core import clock

        return obj.status == BacklogItem.Status.OPEN and obj.due_date < clock.now().date()


class FollowUpInputSerializer(serializers.Serializer):
    title = TextField(max_length=300)
    owner = _person()
    due_date = serializers.DateField()
    priority = serializers.ChoiceField(choices=BacklogItem.Priority.choices, default=BacklogItem.Priority.MEDIUM)


class ReadinessItemSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True, help_text="dr_runbook, service_doc or training")
    confirmed_by = serializers.CharField(source="confirmed_by.username", read_only=True, default=None)
    file = serializers.SerializerMethodField()

    class Meta:
        model = ReadinessItem
        fields = ["id", "kind", "title", "link", "file", "done", "confirmed_by", "confirmed_at", "created_at"]

    def get_file(self, obj) -> str:
        return obj.file.name or ""


class ReadinessInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ReadinessItem.Kind.choices)
    title = TextField(max_length=200)


class ReadinessConfirmSerializer(serializers.Serializer):
    link = TextField(max_length=500, required=False, allow_blank=True, default="")
    file = serializers.FileField(required=False, allow_null=True, default=None)


class TrainingRecordSerializer(serializers.ModelSerializer):
    trainee = serializers.CharField(source="trainee.username", read_only=True)
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True)

    class Meta:
        model = TrainingRecord
        fields = ["id", "trainee", "trained_on", "topic", "recorded_by", "recorded_at"]


class TrainingInputSerializer(serializers.Serializer):
    trainee = _person()
    trained_on = serializers.DateField()
    topic = TextField(max_length=200)


class LessonSerializer(serializers.ModelSerializer):
    request = serializers.CharField(source="request.reference", read_only=True)
    title = serializers.CharField(source="request.title", read_only=True)

    class Meta:
        model = PostImplementationReview
        fields = ["request", "title", "success_criteria", "downtime_minutes", "went_well", "went_badly", "lessons",
                  "completed_at"]
