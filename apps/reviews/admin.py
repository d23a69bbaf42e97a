"""Read-only admin views: writes go through the services (and the audit trail)."""

from django.contrib import admin

from .models import BacklogItem, PostImplementationReview, ReadinessItem, TrainingRecord


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PostImplementationReview)
class ReviewAdmin(ReadOnly):
    list_display = ["request", "status", "due_at", "completed_at"]


@admin.register(BacklogItem)
class BacklogItemAdmin(ReadOnly):
    list_display = ["title", "kind", "priority", "owner", "due_date", "status"]


@admin.register(ReadinessItem)
class ReadinessItemAdmin(ReadOnly):
    list_display = ["title", "kind", "request", "done", "confirmed_by"]


@admin.register(TrainingRecord)
class TrainingRecordAdmin(ReadOnly):
    list_display = ["trainee", "topic", "trained_on", "request"]
