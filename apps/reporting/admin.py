from django.contrib import admin

from .models import Report, Subscription


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("pk", "requested_by", "status", "created_at", "pdf_sha256")
    readonly_fields = [f.name for f in Report._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("user", "frequency", "delivery", "active", "last_period_end")
    readonly_fields = [f.name for f in Subscription._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
