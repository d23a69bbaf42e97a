"""Appending to and verifying the hash-chained audit trail."""

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction

from apps.core import clock
from apps.core.middleware import client_ip, current_request

from .models import AuditCheckpoint, AuditEvent, ChainHead

GENESIS = "0" * 64

# Events that change nothing a person sees in a request list, in "My work" or in a form's options: the
# caches of those (keyed on ChainHead.shown_seq) stay valid across them. A comment is the most frequent write
# of a working day; a refusal or a denial writes nothing but its event; a download, a sign-in or a sign-out
# only reads. Everything else (the Django admin's changes too) moves shown_seq.
SHOWS_NOTHING_NEW = frozenset({
    "upgrade.comment", "auth.login", "auth.logout", "auth.login_failed", "auth.token_failed",
    "report.downloaded", "meeting.minutes_downloaded", "evidence_pack.downloaded",
})
REFUSAL_SUFFIXES = (".denied", ".refused", "_refused")


def changes_what_is_shown(action: str) -> bool:
    """Whether an event of this action may change a request list, a "My work" count or a form's options."""
    return action not in SHOWS_NOTHING_NEW and not action.endswith(REFUSAL_SUFFIXES)


def _jsonable(value):
    """Round-trip through JSON so what is hashed is exactly what the database gives back."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def canonical(
    *, seq, created_at, actor_id, actor_username, action, object_type, object_id, object_repr, ip, before,
    after, data,
) -> str:
    body = {
        "seq": seq,
        "created_at": created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "actor_username": actor_username,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "object_repr": object_repr,
        "ip": ip,
        "before": before,
        "after": after,
        "data": data,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def link_hash(prev_hash: str, canonical_text: str) -> str:
    return hashlib.sha256((prev_hash + canonical_text).encode("utf-8")).hexdigest()


def _object_identity(obj) -> tuple[str, str, str]:
    if obj is None:
        return "", "", ""
    meta = obj._meta
    return f"{meta.app_label}.{meta.model_name}", str(obj.pk), str(obj)[:300]


def audit_append(
    *,
    action: str,
    actor=None,
    obj=None,
    before: dict | None = None,
    after: dict | None = None,
    data: dict | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    ip: str | None = None,
) -> AuditEvent:
    """Append one event; locks the chain head so concurrent appends form one chain."""
    if obj is not None:
        object_type, object_id, object_repr = _object_identity(obj)
    request = current_request()
    if actor is None and request is not None and getattr(request, "user", None) is not None:
        if request.user.is_authenticated:
            actor = request.user
    if ip is None:
        ip = client_ip(request) or ""
    actor_id = actor.pk if actor is not None else None
    actor_username = actor.get_username() if actor is not None else ""
    before, after, data = _jsonable(before), _jsonable(after), _jsonable(data or {})
    with transaction.atomic():
        head = ChainHead.objects.select_for_update().get(pk=1)
        seq = head.seq + 1
        created_at = clock.now().astimezone(dt.UTC)
        text = canonical(
            seq=seq,
            created_at=created_at,
            actor_id=actor_id,
            actor_username=actor_username,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            object_repr=object_repr[:300],
            ip=ip,
            before=before,
            after=after,
            data=data,
        )
        digest = link_hash(head.hash, text)
        event = AuditEvent.objects.create(
            seq=seq,
            created_at=created_at,
            actor_id=actor_id,
            actor_username=actor_username,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            object_repr=object_repr[:300],
            ip=ip,
            before=before,
            after=after,
            data=data,
            prev_hash=head.hash,
            hash=digest,
        )
        shown = {"shown_seq": seq} if changes_what_is_shown(action) else {}
        ChainHead.objects.filter(pk=1).update(seq=seq, hash=digest, **shown)
    return event


def field_diff(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the fields that changed, as (before, after)."""
    keys = sorted(set(before) | set(after))
    changed = [k for k in keys if _jsonable(before.get(k)) != _jsonable(after.get(k))]
    return {k: before.get(k) for k in changed}, {k: after.get(k) for k in changed}


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    head_seq: int
    broken_seq: int | None = None
    reason: str = ""
    head_hash: str = ""
    # on an OK result: the latest checkpoint the walk checked against (None: none exported), for the page
    latest_checkpoint: AuditCheckpoint | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        if self.ok:
            return f"OK: {self.checked} events verified, chain head #{self.head_seq}"
        return f"BROKEN at event #{self.broken_seq}: {self.reason}"


_VERIFY_FIELDS = ("seq", "created_at", "actor_id", "actor_username", "action", "object_type", "object_id",
                  "object_repr", "ip", "before", "after", "data", "prev_hash", "hash")


def audit_verify(*, after: int | None = None, after_hash: str = "") -> VerifyResult | None:
    """Recompute every link from the latest retention checkpoint (or genesis) onwards.

    With `after`, only the links appended after event #after, which must still carry `after_hash` (a head
    verified earlier); None when it no longer does, and the caller verifies everything."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # one snapshot for the whole walk: appends and retention running meanwhile raise no false alarm
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return _verify(after, after_hash)
    return _verify(after, after_hash)


def _verify(after: int | None = None, after_hash: str = "") -> VerifyResult | None:
    # Read checkpoints, then the head, then the events up to that head: an append that commits
    # meanwhile is left for the next run instead of looking like a broken head.
    checkpoints: dict[int, str] = {}
    latest_checkpoint = None
    for cp in AuditCheckpoint.objects.order_by("seq", "created_at"):
        if not hmac.compare_digest(cp.signature, checkpoint_signature(cp.seq, cp.hash, cp.created_at)):
            return VerifyResult(False, 0, 0, cp.seq, f"the checkpoint at #{cp.seq} has an invalid signature")
        if checkpoints.setdefault(cp.seq, cp.hash) != cp.hash:
            return VerifyResult(False, 0, 0, cp.seq, f"two checkpoints at #{cp.seq} disagree")
        latest_checkpoint = cp
    head = ChainHead.objects.get(pk=1)
    checked = 0

    def broken(seq: int, reason: str) -> VerifyResult:
        return VerifyResult(False, checked, head.seq, seq, reason)

    events = AuditEvent.objects.filter(seq__lte=head.seq).order_by("seq")
    if after is not None:
        if head.seq < after or not AuditEvent.objects.filter(seq=after, hash=after_hash).exists():
            return None
        events = events.filter(seq__gt=after)
    first = events.values_list("seq", "prev_hash").first() if after is None else None
    # no event left: the chain is empty, or retention archived everything up to a checkpoint at the head
    start_seq, start_prev = first if first is not None else (head.seq + 1, head.hash)
    if after is not None:
        start_seq, prev_hash = after + 1, after_hash
    elif start_seq == 1:
        prev_hash = GENESIS
    elif checkpoints.get(start_seq - 1) == start_prev:
        # events before the first present one were archived by retention up to this checkpoint
        prev_hash = start_prev
    elif start_seq - 1 in checkpoints:
        return broken(start_seq, f"it does not continue the checkpoint at #{start_seq - 1}")
    else:
        gap = max((s for s in checkpoints if s < start_seq), default=0) + 1
        return broken(gap, f"event #{gap} is missing (no checkpoint covers it)")
    expected_seq = start_seq
    for (seq, created_at, actor_id, actor_username, action, object_type, object_id, object_repr, ip, before,
         after_value, data, row_prev_hash, row_hash) in _chain_rows(events, head.seq, after or 0):
        if seq != expected_seq:
            return broken(expected_seq, f"event #{expected_seq} is missing")
        if row_prev_hash != prev_hash:
            return broken(seq, "its previous hash does not match the event before it")
        text = canonical(seq=seq, created_at=created_at, actor_id=actor_id, actor_username=actor_username,
                         action=action, object_type=object_type, object_id=object_id, object_repr=object_repr,
                         ip=ip, before=before, after=after_value, data=data)
        if link_hash(prev_hash, text) != row_hash:
            return broken(seq, "its content does not match its hash (altered)")
        if seq in checkpoints and checkpoints[seq] != row_hash:
            return broken(seq, "it does not match the exported checkpoint")
        prev_hash = row_hash
        expected_seq += 1
        checked += 1
    last = expected_seq - 1
    beyond = [s for s in checkpoints if s > last]
    if beyond:
        return broken(last + 1, f"event #{last + 1} is missing (a checkpoint was exported at #{max(beyond)})")
    if head.seq > last:
        return broken(last + 1, f"event #{last + 1} is missing")
    if head.hash != prev_hash:
        return broken(last, "the chain head does not match the last event")
    # an event numbered past the head was not appended through the locked head (or committed meanwhile)
    extra = AuditEvent.objects.filter(seq__gt=head.seq).order_by("-seq").values_list("seq", flat=True).first()
    if extra is not None and ChainHead.objects.get(pk=1).seq < extra:
        return broken(head.seq + 1, "events exist past the chain head (moved back, or inserted around it)")
    return VerifyResult(True, checked, head.seq, head_hash=head.hash, latest_checkpoint=latest_checkpoint)


_FEW_LINKS = 2000


def _chain_rows(events, head_seq: int, after: int):
    """The events up to the head in seq order, as tuples in _VERIFY_FIELDS order.

    On PostgreSQL one server-side cursor read in large batches, without the ORM's per-value converters
    (a million events: the walk's time is then hashing, not fetching). The JSON columns arrive as text and
    are parsed as JSONField.from_db_value does; timestamps arrive as aware datetimes."""
    if connection.vendor != "postgresql":
        yield from events.values_list(*_VERIFY_FIELDS).iterator(chunk_size=2000)
        return
    if head_seq <= after:  # nothing appended since a verified head (the page's usual case): no query
        return
    loads = json.loads
    columns = ", ".join(connection.ops.quote_name(name) for name in _VERIFY_FIELDS)
    # a few links (the page's walk since its last view): one plain query; a long walk: a server-side cursor
    few = head_seq - after <= _FEW_LINKS
    with connection.cursor() if few else connection.chunked_cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {AuditEvent._meta.db_table} WHERE seq > %s AND seq <= %s "
                       "ORDER BY seq", [after, head_seq])
        while rows := cursor.fetchmany(20000):
            for row in rows:
                before, after, data = row[9], row[10], row[11]
                yield (*row[:9], None if before is None else loads(before),
                       None if after is None else loads(after), None if data is None else loads(data),
                       row[12], row[13])


def checkpoint_signature(seq: int, digest: str, created_at: dt.datetime) -> str:
    message = f"{seq}:{digest}:{created_at.astimezone(dt.UTC).isoformat()}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def audit_checkpoint_export(*, actor=None) -> dict:
    """Record and return the current chain head, signed, for an auditor to keep elsewhere."""
    with transaction.atomic():
        head = ChainHead.objects.select_for_update().get(pk=1)
        created_at = clock.now().astimezone(dt.UTC)
        signature = checkpoint_signature(head.seq, head.hash, created_at)
        AuditCheckpoint.objects.create(
            seq=head.seq, hash=head.hash, created_at=created_at, signature=signature
        )
    audit_append(action="audit.checkpoint", actor=actor, data={"seq": head.seq, "hash": head.hash})
    return {"seq": head.seq, "hash": head.hash, "created_at": created_at.isoformat(), "signature": signature}


def segment_verify_rows(records: list[dict], *, prev_hash: str) -> VerifyResult:
    """Recompute the links of an archived segment (records as written to its file, oldest first)."""
    checked = 0
    last_seq = records[-1]["seq"] if records else 0
    expected = records[0]["seq"] if records else None
    for record in records:
        seq = record.get("seq")
        if seq != expected:
            return VerifyResult(False, checked, last_seq, expected, f"event #{expected} is missing")
        if record.get("prev_hash") != prev_hash:
            return VerifyResult(False, checked, last_seq, seq,
                                "its previous hash does not match the event before it")
        try:
            fields = {k: record[k] for k in _VERIFY_FIELDS if k not in ("prev_hash", "hash")}
            if isinstance(fields["created_at"], str):
                fields["created_at"] = dt.datetime.fromisoformat(fields["created_at"])
            text = canonical(**fields)
        except (KeyError, TypeError, ValueError):
            return VerifyResult(False, checked, last_seq, seq, "the event is incomplete or malformed")
        if link_hash(prev_hash, text) != record.get("hash"):
            return VerifyResult(False, checked, last_seq, seq,
                                "its content does not match its hash (altered)")
        prev_hash = record["hash"]
        expected += 1
        checked += 1
    return VerifyResult(True, checked, last_seq)


def segment_verify(path) -> VerifyResult:
    """Verify an archived audit segment file on its own: its header, every link, and its last hash."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = [line for line in handle.read().splitlines() if line.strip()]
        header = json.loads(lines[0])
        records = [json.loads(line) for line in lines[1:]]
    except (OSError, UnicodeDecodeError, ValueError, IndexError) as exc:
        return VerifyResult(False, 0, 0, None, f"the file cannot be read as an audit segment ({exc})")
    if not isinstance(header, dict) or header.get("format") != "tollgate-audit-segment/1" or not all(
        isinstance(r, dict) for r in records
    ):
        return VerifyResult(False, 0, 0, None, "the file is not a Tollgate audit segment")
    result = segment_verify_rows(records, prev_hash=str(header.get("prev_hash", "")))
    if not result.ok:
        return result
    if (not records or records[0]["seq"] != header.get("first_seq")
            or records[-1]["seq"] != header.get("last_seq")):
        return VerifyResult(False, result.checked, result.head_seq, header.get("first_seq"),
                            "the events do not cover the segment named in the header")
    if records[-1]["hash"] != header.get("last_hash"):
        return VerifyResult(False, result.checked, result.head_seq, records[-1]["seq"],
                            "the last event does not match the segment's last hash")
    return result
