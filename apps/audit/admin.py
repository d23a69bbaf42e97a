"""Read-only admin: the trail is appended by services and never edited, not even here."""

from django.contrib import admin

from .models import AuditCheckpoint, AuditEvent
from .selectors import AUDIT_ROLES


class ReadOnlyAdmin(admin.ModelAdmin):
    actions = None

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        user = request.user
        return bool(user.is_active and user.is_authenticated and user.has_role(*AUDIT_ROLES))

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("seq", "created_at", "actor_username", "action", "object_type", "object_id",
                    "object_repr", "ip")
    list_filter = ("action", "object_type")
    search_fields = ("actor_username", "object_id", "object_repr")
    ordering = ("-seq",)
    show_full_result_count = False
    readonly_fields = ("seq", "created_at", "actor_id", "actor_username", "action", "object_type",
                       "object_id", "object_repr", "ip", "before", "after", "data", "prev_hash", "hash")
    fields = readonly_fields


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    list_display = ("seq", "created_at", "hash", "signature")
    ordering = ("-seq",)
    readonly_fields = ("seq", "hash", "created_at", "signature")
    fields = readonly_fields
