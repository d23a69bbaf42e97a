"""Read-only views in Django's admin; changes go through the pages (services, audit)."""

from django.contrib import admin

from .models import AllowedTarget, CheckResult, CheckRun, HealthCheck


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(HealthCheck)
class HealthCheckAdmin(ReadOnly):
    list_display = ["name", "endpoint", "enabled"]
    exclude = ["sql_password_encrypted"]


@admin.register(CheckRun)
class CheckRunAdmin(ReadOnly):
    list_display = ["pk", "purpose", "status", "total", "passed", "failed", "requested_at"]


@admin.register(CheckResult)
class CheckResultAdmin(ReadOnly):
    list_display = ["run", "health_check", "status", "latency_ms", "checked_at"]


@admin.register(AllowedTarget)
class AllowedTargetAdmin(ReadOnly):
    list_display = ["value", "ports", "note"]
