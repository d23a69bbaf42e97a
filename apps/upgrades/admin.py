"""Read-only admin: upgrade requests change only through their services (and so the audit trail)."""

from django.contrib import admin

from .models import Attachment, Comment, UpgradeItem, UpgradeRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ItemInline(admin.TabularInline):
    model = UpgradeItem
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(UpgradeRequest)
class UpgradeRequestAdmin(ReadOnlyAdmin):
    list_display = ["reference", "title", "state", "risk_class", "requester", "created_at"]
    list_filter = ["state", "risk_class"]
    search_fields = ["reference", "title"]
    inlines = [ItemInline]


admin.site.register(Comment, ReadOnlyAdmin)
admin.site.register(Attachment, ReadOnlyAdmin)
