"""Read-only admin: plans change only through their services (and so the audit trail); versions never change."""

import contextlib

from django.contrib import admin

from .models import IntegrationFallback, Plan, PlanVersion, RollbackTrigger, RunbookStep, Wave


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdmin):
    list_display = ["request", "strategy", "planner_timezone", "data_migration_scope", "updated_at"]
    list_filter = ["strategy", "data_migration_scope"]
    list_select_related = ["request"]
    search_fields = ["request__reference"]


@admin.register(Wave)
class WaveAdmin(ReadOnlyAdmin):
    list_display = ["plan", "position", "name", "window_start", "window_end"]
    list_select_related = ["plan__request"]


@admin.register(RollbackTrigger)
class RollbackTriggerAdmin(ReadOnlyAdmin):
    list_display = ["plan", "name", "kind", "threshold", "evaluation_window_minutes", "action"]
    list_filter = ["kind", "action"]
    list_select_related = ["plan__request"]


@admin.register(RunbookStep)
class RunbookStepAdmin(ReadOnlyAdmin):
    list_display = ["plan", "runbook", "key", "title", "action", "expected_minutes", "owner_duty"]
    list_filter = ["runbook", "action"]
    list_select_related = ["plan__request"]


@admin.register(IntegrationFallback)
class IntegrationFallbackAdmin(ReadOnlyAdmin):
    list_display = ["plan", "integration", "contact"]
    list_select_related = ["plan__request", "integration__system"]


@admin.register(PlanVersion)
class PlanVersionAdmin(ReadOnlyAdmin):
    list_display = ["plan", "number", "sha256", "created_by", "created_at"]
    list_select_related = ["plan__request", "created_by"]


with contextlib.suppress(ImportError):  # the calendar's models (apps/rollouts/calendar/admin.py), when present
    from .calendar import admin as _calendar_admin  # noqa: F401
