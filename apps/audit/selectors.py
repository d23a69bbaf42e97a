"""Reads of the audit trail shared by the auditor pages and the API."""

import datetime as dt
import json

from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import AuditCheckpoint, AuditEvent

AUDIT_ROLES = ("auditor", "admin")
EMPTY = "—"  # the field is absent on this side of the diff
NULL = "(none)"  # the field is present and empty
# dates outside this range cannot be turned into UTC instants safely (and no event has them)
DATE_MIN = dt.date(1970, 1, 1)
DATE_MAX = dt.date(2999, 12, 31)


def audit_event_list(*, filters: dict | None = None) -> QuerySet:
    """Events newest first, narrowed by the filters an auditor can give.

    filters: action, actor (username, any case), object_type, object_id (exact id),
    object (id or words of the object's name), date_from / date_to (dates in the
    reader's time zone, both inclusive).
    """
    filters = filters or {}
    qs = AuditEvent.objects.order_by("-seq")
    if filters.get("action"):
        qs = qs.filter(action=filters["action"])
    if filters.get("actor"):
        qs = qs.filter(actor_username__iexact=filters["actor"])
    if filters.get("object_type"):
        qs = qs.filter(object_type=filters["object_type"])
    if filters.get("object_id"):
        qs = qs.filter(object_id=filters["object_id"])
    if filters.get("object"):
        text = filters["object"]
        qs = qs.filter(Q(object_id=text) | Q(object_repr__icontains=text))
    tz = timezone.get_current_timezone()
    if filters.get("date_from"):
        day = min(max(filters["date_from"], DATE_MIN), DATE_MAX)
        qs = qs.filter(created_at__gte=dt.datetime.combine(day, dt.time.min, tzinfo=tz))
    if filters.get("date_to"):
        next_day = min(max(filters["date_to"], DATE_MIN), DATE_MAX) + dt.timedelta(days=1)
        qs = qs.filter(created_at__lt=dt.datetime.combine(next_day, dt.time.min, tzinfo=tz))
    return qs


def audit_event_get(*, seq: int) -> AuditEvent:
    return AuditEvent.objects.get(seq=seq)


def audit_actions() -> list[str]:
    """Every action that occurs on the trail, for the filter's choices."""
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())


def audit_object_types() -> list[str]:
    return list(
        AuditEvent.objects.exclude(object_type="").order_by("object_type")
        .values_list("object_type", flat=True).distinct()
    )


def audit_latest_checkpoint() -> AuditCheckpoint | None:
    return AuditCheckpoint.objects.order_by("-seq", "-created_at").first()


def _show(value, limit: int | None) -> str:
    if value is None:
        return NULL
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    if text == "":
        return '""'
    if limit and len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def event_changes(event: AuditEvent, *, limit: int | None = 120) -> list[tuple[str, str, str]]:
    """The before/after diff as readable rows (field, old, new); a field absent on one side shows as —."""
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    rows = []
    for key in sorted(set(before) | set(after)):
        old = _show(before[key], limit) if key in before else EMPTY
        new = _show(after[key], limit) if key in after else EMPTY
        rows.append((key, old, new))
    return rows


def event_data(event: AuditEvent, *, limit: int | None = 120) -> list[tuple[str, str]]:
    data = event.data if isinstance(event.data, dict) else {}
    return [(key, _show(data[key], limit)) for key in sorted(data)]
