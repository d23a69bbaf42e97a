"""Read-only admin: the CAB's policies, templates, reviews, votes and delegations change only through their
services (signatures, segregation of duties and the audit trail) — on the CAB pages and the API."""

from django.contrib import admin

from .models import ApprovalPolicy, Condition, Delegation, Review, StandardTemplate, Vote


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(ReadOnlyAdmin):
    list_display = ["name", "risk_class", "risk_level", "quorum", "veto", "voter_team", "retrospective_days"]
    list_select_related = ["voter_team"]


@admin.register(StandardTemplate)
class StandardTemplateAdmin(ReadOnlyAdmin):
    list_display = ["name", "product", "version_constraint", "status", "valid_from", "valid_until"]
    list_filter = ["status"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["request", "outcome", "emergency", "opened_at", "decided_at", "retrospective_due"]
    list_filter = ["outcome", "emergency"]
    list_select_related = ["request"]


@admin.register(Vote)
class VoteAdmin(ReadOnlyAdmin):
    list_display = ["review", "voter", "on_behalf_of", "decision", "signature_method", "signed_at", "stale"]
    list_filter = ["decision", "stale", "signature_method"]
    list_select_related = ["review__request", "voter", "on_behalf_of"]


@admin.register(Condition)
class ConditionAdmin(ReadOnlyAdmin):
    list_display = ["text", "vote", "acknowledged_by", "acknowledged_at"]
    list_select_related = ["vote__review__request", "acknowledged_by"]


@admin.register(Delegation)
class DelegationAdmin(ReadOnlyAdmin):
    list_display = ["principal", "delegate", "valid_from", "valid_until"]
    list_select_related = ["principal", "delegate"]
