import functools
from urllib.parse import quote

from django.conf import settings
from django.db import models
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.http import RFC3986_SUBDELIMS
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from apps.core.storage import region_storage

from .choices import RiskClass, State


class ReferenceCounter(models.Model):
    """Per-year counter behind UPG-YYYY-NNNN, locked while a number is taken."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)


class UpgradeRequest(models.Model):
    reference = models.CharField(max_length=20, unique=True)
    title = models.CharField(max_length=200)
    justification = models.TextField(blank=True)
    risk_class = models.CharField(max_length=20, choices=RiskClass.choices, default=RiskClass.NORMAL)
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT, db_index=True)
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requests_raised")
    window_start = models.DateTimeField(null=True, blank=True, help_text="Requested window start (UTC).")
    window_end = models.DateTimeField(null=True, blank=True, help_text="Requested window end (UTC).")
    external_ref = models.CharField(max_length=80, blank=True)
    external_url = models.URLField(max_length=500, blank=True)
    revised_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="revisions"
    )
    fix_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="fixes",
        help_text="The upgrade this (emergency) request fixes: a hotfix counts against that upgrade's success.",
    )
    state_reason = models.TextField(blank=True, help_text="Why the last transition was taken, where it needs one.")
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    state_changed_at = models.DateTimeField()
    # milestones, written by upgrade_transition: what the KPIs count without replaying the audit trail
    submitted_at = models.DateTimeField(null=True, blank=True, help_text="Last submitted to the CAB.")
    decided_at = models.DateTimeField(null=True, blank=True, help_text="Last approved or rejected.")
    started_at = models.DateTimeField(null=True, blank=True, help_text="Execution started.")
    finished_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                       help_text="Completed, rolled back or failed.")
    outcome = models.CharField(max_length=20, blank=True, db_index=True,
                               help_text="completed, rolled_back or failed: how it ended, kept after closing.")

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("duty_requester", "Requester of the request"),
            ("duty_assessor", "Assessor of the request"),
            ("duty_approver", "Approver of the request"),
            ("duty_implementer", "Implementer of the request"),
            ("duty_validator", "Validator of the request"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(window_start__isnull=True)
                | models.Q(window_end__isnull=True)
                | models.Q(window_end__gt=models.F("window_start")),
                name="upgrade_window_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def get_absolute_url(self) -> str:
        # what reverse("upgrades:detail", args=[reference]) returns, without resolving the pattern for each of
        # the hundreds of rows a list or My work draws (reverse costs ~30 µs a call)
        return _list_url(get_script_prefix(), get_urlconf()) + quote(self.reference, safe=_SAFE) + "/"


_SAFE = RFC3986_SUBDELIMS + "~:@"  # the characters reverse() leaves unquoted in a path argument


@functools.lru_cache(maxsize=16)
def _list_url(prefix: str, urlconf) -> str:
    return reverse("upgrades:list", urlconf=urlconf)


class UpgradeItem(models.Model):
    """One thing that changes: a component of a system, from a version to another."""

    request = models.ForeignKey(UpgradeRequest, on_delete=models.CASCADE, related_name="items")
    system = models.ForeignKey("inventory.System", on_delete=models.PROTECT, related_name="upgrade_items")
    component = models.ForeignKey(
        "inventory.Component", null=True, blank=True, on_delete=models.PROTECT, related_name="upgrade_items"
    )
    product = models.CharField(max_length=80)
    current_version = models.CharField(max_length=40)
    target_version = models.CharField(max_length=40)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.system.name}: {self.product} {self.current_version} → {self.target_version}"


class Comment(models.Model):
    request = models.ForeignKey(UpgradeRequest, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]


def attachment_path(instance, filename):
    """attachments/<reference>/<hash>-<name>, under regions/<region>/ so it lands in its region's storage.

    A request spanning several regions stores its files in the first of them alphabetically (a file has one
    home; who may read it is still decided by the request's visibility, which requires all its regions)."""
    from apps.core.storage import region_prefix

    from .selectors import request_regions

    regions = sorted(request_regions(instance.request))
    prefix = region_prefix(regions[0]) if regions else ""
    return f"{prefix}attachments/{instance.request.reference}/{instance.sha256[:12]}-{filename}"


class Attachment(models.Model):
    request = models.ForeignKey(UpgradeRequest, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, storage=region_storage, max_length=300)
    filename = models.CharField(max_length=200)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["uploaded_at"]


class UpgradeRequestUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key table for duties (no generic-relation scans)."""

    content_object = models.ForeignKey(UpgradeRequest, on_delete=models.CASCADE)


class UpgradeRequestGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(UpgradeRequest, on_delete=models.CASCADE)
