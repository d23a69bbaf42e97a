"""Reads of the audit trail shared by the auditor pages and the API."""

import datetime as dt
import json

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import AuditCheckpoint, AuditEvent

AUDIT_ROLES = ("auditor", "admin")
EMPTY = "—"  # the field is absent on this side of the diff
NULL = "(none)"  # the field is present and empty
# dates outside this range cannot be turned into UTC instants safely (and no event has them)
DATE_MIN = dt.date(1970, 1, 1)
DATE_MAX = dt.date(2999, 12, 31)


def newest_shown_seq() -> int:
    """The number of the newest audit event that may change what a person sees (ChainHead.shown_seq: every
    event but a comment, a refusal, a download or a sign-in): caches of what a person sees (the My-work
    count, the visible requests, a form's options) put it in their key, so every write that matters makes
    them be read again and a comment does not. One primary-key read of the chain head, once per GET (the
    page's readers share it); a request that writes asks the database each time, so what it reads after its
    write is current."""
    from apps.core.middleware import current_request

    from .models import ChainHead

    request = current_request()
    memo = request is not None and request.method in ("GET", "HEAD")
    if memo and hasattr(request, "_newest_shown_seq"):
        return request._newest_shown_seq
    seq = ChainHead.objects.filter(pk=1).values_list("shown_seq", flat=True).first() or 0
    if memo:
        request._newest_shown_seq = seq
    return seq


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
    if connection.vendor == "postgresql":
        return _distinct_by_index("action")
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())


def audit_object_types() -> list[str]:
    if connection.vendor == "postgresql":
        return _distinct_by_index("object_type")
    return list(
        AuditEvent.objects.exclude(object_type="").order_by("object_type")
        .values_list("object_type", flat=True).distinct()
    )


def _distinct_by_index(column: str) -> list[str]:
    """The distinct non-empty values of an indexed column, one index probe per value (a "loose index scan"):
    DISTINCT would read all of a million events' index entries for a few dozen values."""
    table, name = AuditEvent._meta.db_table, connection.ops.quote_name(column)
    sql = f"""
        WITH RECURSIVE v(value) AS (
            (SELECT {name} FROM {table} WHERE {name} > '' ORDER BY {name} LIMIT 1)
            UNION ALL
            SELECT (SELECT {name} FROM {table} WHERE {name} > v.value ORDER BY {name} LIMIT 1)
            FROM v WHERE v.value IS NOT NULL
        )
        SELECT value FROM v WHERE value IS NOT NULL"""
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


FILTER_CHOICES_KEY = "audit:filter-choices:{name}"
FILTER_CHOICES_SECONDS = 60


def audit_filter_choices() -> tuple[list[str], list[str]]:
    """(actions, object types) for the filters' suggestions, kept for a minute: a page view then reads
    none of the trail for them, and an action seen for the first time is suggested within a minute."""
    from django.core.cache import cache

    key = FILTER_CHOICES_KEY.format(name=connection.settings_dict.get("NAME"))
    choices = cache.get(key)
    if choices is None:
        choices = (audit_actions(), audit_object_types())
        cache.set(key, choices, FILTER_CHOICES_SECONDS)
    return choices


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



VERIFIED_HEAD_KEY = "audit:verified-head:{name}"
# links a page view walks when nothing is remembered yet: a longer chain is walked in full by
# `manage.py audit_verify` (or the API), the page then checks its most recent links only
PAGE_WALK_LIMIT = 20_000


def chain_verification():
    """The auditor pages' verification box, fast on a long chain.

    The first view walks the whole chain, or on a chain longer than PAGE_WALK_LIMIT its latest links, and
    an OK result leaves the verified head (seq, hash) in the cache. Later views walk only the links appended
    since, after checking that the remembered event still carries its hash (else they start over). Returns
    (result, verified_from, verified_at): the first event the walk covered (1: the whole chain) and when the
    earlier part was walked (None when this view walked everything it reports)."""
    from django.core.cache import cache
    from django.db import connection

    from apps.core import clock

    from .models import ChainHead
    from .services import VerifyResult, audit_verify

    key = VERIFIED_HEAD_KEY.format(name=connection.settings_dict.get("NAME"))
    anchor = cache.get(key)
    result = audit_verify(after=anchor["seq"], after_hash=anchor["hash"]) if anchor else None
    if result is None:
        anchor = None
        head = ChainHead.objects.get(pk=1)
        start = AuditEvent.objects.filter(seq=head.seq - PAGE_WALK_LIMIT).values_list("hash", flat=True).first()
        if start is not None:
            anchor = {"seq": head.seq - PAGE_WALK_LIMIT, "hash": start, "checked": 0,
                      "from": head.seq - PAGE_WALK_LIMIT + 1, "at": None}
            result = audit_verify(after=anchor["seq"], after_hash=start)
        if result is None:
            anchor, result = None, audit_verify()
    checked = (anchor["checked"] if anchor else 0) + result.checked
    verified_from = anchor["from"] if anchor else 1
    verified_at = anchor["at"] if anchor else None
    if result.ok:
        cache.set(key, {"seq": result.head_seq, "hash": result.head_hash, "checked": checked,
                        "from": verified_from, "at": verified_at or clock.now()}, timeout=None)
    else:
        cache.delete(key)
    combined = VerifyResult(result.ok, checked, result.head_seq, result.broken_seq, result.reason,
                            result.head_hash, result.latest_checkpoint)
    return combined, verified_from, verified_at
