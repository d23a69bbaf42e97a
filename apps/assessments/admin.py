"""Read-only admin: assessments and findings change only through their services (and so the audit trail)."""

from django.contrib import admin

from .models import Assessment, AssessmentRun, Finding


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Assessment)
class AssessmentAdmin(ReadOnlyAdmin):
    list_display = ["request", "status", "risk_score", "risk_level", "verdict", "last_run_at"]
    list_filter = ["status", "verdict", "risk_level"]
    list_select_related = ["request"]


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = ["title", "severity", "category", "resolution", "assessment", "system", "stale"]
    list_filter = ["severity", "category", "resolution", "source", "stale"]
    list_select_related = ["assessment__request", "system"]
    search_fields = ["title", "key"]


@admin.register(AssessmentRun)
class AssessmentRunAdmin(ReadOnlyAdmin):
    list_display = ["assessment", "run_at", "run_by", "risk_score"]
    list_select_related = ["assessment__request", "run_by"]
