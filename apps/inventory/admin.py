"""Django admin for the inventory: saves and deletes go through the same audited services as the pages."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from . import services
from .models import Component, Dependency, Endpoint, Environment, ImportJob, System


class _ServiceAdmin(admin.ModelAdmin):
    def save_model(self, request, obj, form, change):
        services.inventory_object_save(form=form, by=request.user)

    def delete_model(self, request, obj):
        try:
            services.inventory_object_delete(obj=obj, by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(System)
class SystemAdmin(_ServiceAdmin):
    list_display = ["name", "slug", "owner_team", "criticality", "region"]
    list_filter = ["criticality", "region"]
    search_fields = ["name", "slug", "description", "region"]
    list_select_related = ["owner_team"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Environment)
class EnvironmentAdmin(_ServiceAdmin):
    list_display = ["name", "slug", "kind", "order"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Component)
class ComponentAdmin(_ServiceAdmin):
    list_display = ["name", "system", "environment", "product", "version"]
    list_filter = ["environment", "product"]
    search_fields = ["name", "product", "version", "system__name"]
    list_select_related = ["system", "environment"]


@admin.register(Dependency)
class DependencyAdmin(_ServiceAdmin):
    list_display = ["source_system", "source_component", "target_system", "target_component", "constraint"]
    list_select_related = [
        "source_system",
        "source_component__system",
        "target_system",
        "target_component__system",
        "source_component__environment",
        "target_component__environment",
    ]
    raw_id_fields = ["source_component", "target_component"]


@admin.register(Endpoint)
class EndpointAdmin(_ServiceAdmin):
    list_display = ["name", "system", "environment", "kind", "target"]
    list_filter = ["kind", "environment"]
    list_select_related = ["system", "environment"]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Read-only: imports are started from the import page, never edited."""

    list_display = [
        "pk",
        "kind",
        "filename",
        "status",
        "total",
        "created",
        "updated",
        "created_by",
        "created_at",
    ]
    list_filter = ["kind", "status"]
    exclude = ["content"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
