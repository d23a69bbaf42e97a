"""The tech-debt backlog: import accepted risks and expiring configuration exceptions, mark items done."""

import datetime as dt

from django.db import transaction

from apps.accounts.choices import Role
from apps.audit.services import audit_append
from apps.core import clock
from apps.upgrades.models import UpgradeRequest

from .models import BacklogItem
from .pir import ReviewRefused, _lock, _refuse, may_write

ACCEPTED_RISK_DAYS = 90  # an accepted risk is revisited within a quarter
HIGH_SEVERITIES = ("high", "blocking")


def _accepted_risks(request: UpgradeRequest):
    from apps.assessments.choices import Resolution
    from apps.assessments.models import Finding

    return (Finding.objects.filter(assessment__request=request, resolution=Resolution.ACCEPTED)
            .select_related("owner", "resolved_by").order_by("pk"))


def _expiring_exceptions(request: UpgradeRequest):
    from apps.configuration.choices import ExceptionStatus
    from apps.configuration.models import ConfigException

    systems = request.items.values("system_id")
    return (ConfigException.objects.filter(system_id__in=systems, status=ExceptionStatus.APPROVED,
                                           expires_at__gt=clock.now())
            .select_related("system", "requested_by").order_by("pk"))


def backlog_import(*, request: UpgradeRequest, by) -> list[BacklogItem]:
    """Turn the request's accepted risks and its systems' expiring exceptions into backlog items
    (each source once)."""
    try:
        with transaction.atomic():
            request = _lock(request)
            reasons = may_write(by, request)
            if reasons:
                raise ReviewRefused(reasons)
            known = set(BacklogItem.objects.filter(request=request).exclude(source_key="")
                        .values_list("source_key", flat=True))
            today = clock.now().date()
            created = []
            for f in _accepted_risks(request):
                key = f"finding:{f.pk}"
                if key in known:
                    continue
                created.append(BacklogItem(
                    request=request, kind=BacklogItem.Kind.ACCEPTED_RISK, source_key=key,
                    title=f"Accepted risk: {f.title}"[:300],
                    priority=(BacklogItem.Priority.HIGH if f.severity in HIGH_SEVERITIES
                              else BacklogItem.Priority.MEDIUM),
                    owner=f.owner or f.resolved_by or request.requester,
                    due_date=today + dt.timedelta(days=ACCEPTED_RISK_DAYS), created_by=by,
                    created_at=clock.now()))
            for e in _expiring_exceptions(request):
                key = f"exception:{e.pk}"
                if key in known:
                    continue
                expires = e.expires_at.date()
                created.append(BacklogItem(
                    request=request, kind=BacklogItem.Kind.CONFIG_EXCEPTION, source_key=key,
                    title=f"Configuration exception on {e.system.name} ({e.key_pattern}) expires"[:300],
                    priority=(BacklogItem.Priority.HIGH if expires - today <= dt.timedelta(days=30)
                              else BacklogItem.Priority.MEDIUM),
                    owner=e.requested_by, due_date=expires, created_by=by, created_at=clock.now()))
            for item in created:
                item.save()
            audit_append(action="backlog.import", actor=by, obj=request,
                         data={"created": [i.source_key for i in created]})
            return created
    except ReviewRefused as exc:
        _refuse(exc.reasons, action="backlog.refused", by=by, request=request)


def backlog_done(*, item: BacklogItem, by) -> BacklogItem:
    """The owner (or the request's requester, or an admin) marks an item done."""
    try:
        with transaction.atomic():
            item = BacklogItem.objects.select_for_update().select_related("request").get(pk=item.pk)
            allowed = (by is not None and by.is_authenticated
                       and (item.owner_id == by.pk or by.has_role(Role.ADMIN)
                            or not may_write(by, item.request)))
            if not allowed:
                raise ReviewRefused(["Only the owner of the item or the requester of the upgrade may mark it "
                                     "done."])
            if item.status == BacklogItem.Status.DONE:
                return item
            item.status, item.done_by, item.done_at = BacklogItem.Status.DONE, by, clock.now()
            item.save(update_fields=["status", "done_by", "done_at"])
            audit_append(action="backlog.done", actor=by, obj=item, before={"status": "open"},
                         after={"status": "done"})
            return item
    except ReviewRefused as exc:
        _refuse(exc.reasons, action="backlog.refused", by=by, request=item.request)
