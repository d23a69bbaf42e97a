from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from apps.audit.services import audit_append

from .models import SodRule, Team, User


class AuditedAdminMixin:
    """Changes made in the Django admin go on the audit trail like every other write."""

    def log_addition(self, request, obj, message):
        audit_append(action="admin.add", actor=request.user, obj=obj, data={"change": message})
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        audit_append(action="admin.change", actor=request.user, obj=obj, data={"change": message})
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            audit_append(action="admin.delete", actor=request.user, obj=obj)
        return super().log_deletions(request, queryset)


@admin.register(User)
class TollgateUserAdmin(AuditedAdminMixin, UserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_service_account",
                    "is_staff")
    list_filter = ("is_active", "is_service_account", "is_staff", "groups", "teams")
    filter_horizontal = ("groups", "user_permissions", "teams")
    fieldsets = UserAdmin.fieldsets + (
        ("Tollgate", {"fields": ("teams", "timezone", "notify_channel", "notify_on_assignment",
                                 "notify_on_decision", "is_service_account", "service_owner")}),
    )
    raw_id_fields = ("service_owner",)


@admin.register(Team)
class TeamAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "email")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(SodRule)
class SodRuleAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("risk_class", "duty_a", "duty_b", "allowed")
    list_filter = ("risk_class", "allowed")
