"""Retention: a registry of artifact kinds, policies, legal holds, the dry-run plan and the run.

Lower layers never import higher ones, so each app tells the registry what can expire
(`register_kind`); the audit trail's own kind, ``audit_events``, is special: the oldest
contiguous segment past retention is archived to a file carrying its hashes, a signed
checkpoint keeps the last hash, and only then is the segment deleted through
`triggers.purge_window` (see `audit_segment_archive`).
"""

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core import serializers
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError, QuerySet

from apps.core import clock
from apps.core.validation import clean_text

from . import triggers
from .models import (
    ArchivedArtifact,
    ArchivedSegment,
    AuditCheckpoint,
    AuditEvent,
    ChainHead,
    LegalHold,
    RetentionPolicy,
)
from .services import _VERIFY_FIELDS, audit_append, checkpoint_signature, field_diff, segment_verify_rows

AUDIT_EVENTS = "audit_events"
REQUEST_TYPE = "upgrades.upgraderequest"
POLICY_ROLES = ("admin",)
HOLD_ROLES = ("auditor", "admin")
DAYS_MAX = 36500  # a hundred years
SEGMENT_MAX = 50_000  # events archived per run at most (the next run takes the rest)


@dataclass(frozen=True)
class ArtifactKind:
    name: str
    label: str
    queryset_fn: Callable[[], QuerySet]
    age_field: str
    region_field: str | None = None  # ORM path to a region, for per-region policies
    request_field: str | None = None  # ORM path to the upgrade request's id, for holds on a request
    file_fields: tuple[str, ...] = ()  # FileFields moved to the archive
    hash_fields: dict = field(default_factory=dict)  # file field -> the field holding its SHA-256
    label_fn: Callable | None = None
    archive_fn: Callable | None = None  # (kind, obj, storage) -> (path, sha256)
    delete_fn: Callable | None = None  # (obj) -> None


_REGISTRY: dict[str, ArtifactKind] = {}


def register_kind(name: str, label: str, *, queryset_fn, age_field: str, **options) -> ArtifactKind:
    """Called from an app's ready(): what of that app can expire, and how to find its age."""
    kind = ArtifactKind(name=name, label=label, queryset_fn=queryset_fn, age_field=age_field, **options)
    _REGISTRY[name] = kind
    return kind


def kinds() -> dict[str, ArtifactKind]:
    return dict(_REGISTRY)


def kind_get(name: str) -> ArtifactKind:
    return _REGISTRY[name]


def kind_choices() -> list[tuple[str, str]]:
    return [(k.name, k.label) for k in _REGISTRY.values()]


def archive_storage() -> FileSystemStorage:
    root = getattr(settings, "ARCHIVE_ROOT", None) or os.path.join(settings.MEDIA_ROOT, "archive")
    return FileSystemStorage(location=root)


def _sha256_file(handle) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(65536), b""):
        digest.update(chunk)
    return digest.hexdigest()


# --- policies and holds (services) ------------------------------------------------------


def _refuse(action: str, by, message: str, data: dict) -> None:
    audit_append(action=action, actor=by, data={**data, "reason": message})
    raise PermissionDenied(message)


def retention_policy_set(*, kind: str, region: str = "", days, by) -> RetentionPolicy:
    """Create or change the policy of (kind, region); administrators only; audited."""
    errors: dict = {}
    kind = clean_text(errors, "kind", kind, required=True, max_length=40)
    region = clean_text(errors, "region", region, required=False, max_length=40)
    if "kind" not in errors and kind not in _REGISTRY:
        errors["kind"] = f"Unknown kind “{kind}”; choose one of: {', '.join(sorted(_REGISTRY))}."
    if region and "region" not in errors and kind in _REGISTRY and _REGISTRY[kind].region_field is None:
        errors["region"] = f"{_REGISTRY[kind].label} have no region; leave the region empty."
    if isinstance(days, bool) or not isinstance(days, int):
        try:
            days = int(str(days).strip()) if not isinstance(days, bool) else None
        except (TypeError, ValueError):
            days = None
    if days is None:
        errors["days"] = "Enter a whole number of days."
    elif not (1 <= days <= DAYS_MAX):
        errors["days"] = f"Use between 1 and {DAYS_MAX} days."
    if errors:
        raise ValidationError(errors)
    if not by.has_role(*POLICY_ROLES):
        _refuse("retention.policy_refused", by, "Only administrators may change retention policies.",
                {"kind": kind, "region": region, "days": days})
    with transaction.atomic():
        policy = RetentionPolicy.objects.select_for_update().filter(kind=kind, region=region).first()
        now = clock.now()
        if policy is None:
            policy = RetentionPolicy.objects.create(kind=kind, region=region, days=days, updated_by=by,
                                                    updated_at=now)
            audit_append(action="retention.policy_create", actor=by, obj=policy,
                         after={"kind": kind, "region": region, "days": days})
        else:
            before, after = field_diff({"days": policy.days}, {"days": days})
            policy.days, policy.updated_by, policy.updated_at = days, by, now
            policy.save(update_fields=["days", "updated_by", "updated_at"])
            audit_append(action="retention.policy_update", actor=by, obj=policy, before=before, after=after)
    return policy


def retention_policy_delete(*, policy_id: int, by) -> None:
    if not by.has_role(*POLICY_ROLES):
        _refuse("retention.policy_refused", by, "Only administrators may change retention policies.",
                {"policy": policy_id})
    with transaction.atomic():
        policy = RetentionPolicy.objects.select_for_update().get(pk=policy_id)
        audit_append(action="retention.policy_delete", actor=by, obj=policy,
                     before={"kind": policy.kind, "region": policy.region, "days": policy.days})
        policy.delete()


def hold_target_resolve(*, target_type: str, target: str) -> tuple[str, str, str]:
    """(object_type, object_id, repr) of what a hold is put on: a request by reference, or an artifact."""
    errors: dict = {}
    target_type = clean_text(errors, "target_type", target_type, required=True, max_length=40)
    target = clean_text(errors, "target", target, required=True, max_length=64)
    if errors:
        raise ValidationError(errors)
    from django.apps import apps

    if target_type == "request":
        model = apps.get_model("upgrades", "UpgradeRequest")
        obj = model.objects.filter(reference__iexact=target).first()
        if obj is None and target.isdigit():
            obj = model.objects.filter(pk=int(target)).first()
        if obj is None:
            raise ValidationError({"target": f"No upgrade request “{target}”."})
        return REQUEST_TYPE, str(obj.pk), f"{obj.reference} {obj.title}"[:300]
    if target_type not in _REGISTRY or target_type == AUDIT_EVENTS:
        raise ValidationError({"target_type": f"Unknown kind “{target_type}”."})
    kind = _REGISTRY[target_type]
    if not target.isdigit():
        raise ValidationError({"target": "Enter the number (id) of the item."})
    obj = kind.queryset_fn().filter(pk=int(target)).first()
    if obj is None:
        raise ValidationError({"target": f"No item {target} among {kind.label.lower()}."})
    meta = obj._meta
    return f"{meta.app_label}.{meta.model_name}", str(obj.pk), _label(kind, obj)


def legal_hold_set(*, target_type: str, target: str, reason: str, by) -> LegalHold:
    """Put a legal hold on a request (everything of it) or on one artifact; auditors and admins; audited."""
    errors: dict = {}
    reason = clean_text(errors, "reason", reason, required=True, max_length=2000)
    try:
        object_type, object_id, label = hold_target_resolve(target_type=target_type, target=target)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    if not by.has_role(*HOLD_ROLES):
        _refuse("retention.hold_refused", by, "Only auditors and administrators may set legal holds.",
                {"object_type": object_type, "object_id": object_id})
    with transaction.atomic():
        hold = LegalHold.objects.create(object_type=object_type, object_id=object_id, object_repr=label,
                                        reason=reason, set_by=by, set_at=clock.now())
        audit_append(action="retention.hold_set", actor=by, obj=hold,
                     after={"object_type": object_type, "object_id": object_id, "reason": reason})
    return hold


def legal_hold_lift(*, hold_id: int, reason: str, by) -> LegalHold:
    errors: dict = {}
    reason = clean_text(errors, "lift_reason", reason, required=True, max_length=2000)
    if errors:
        raise ValidationError(errors)
    if not by.has_role(*HOLD_ROLES):
        _refuse("retention.hold_refused", by, "Only auditors and administrators may lift legal holds.",
                {"hold": hold_id})
    with transaction.atomic():
        hold = LegalHold.objects.select_for_update().get(pk=hold_id)
        if hold.lifted_at is not None:
            raise ValidationError({"lift_reason": "This hold was already lifted."})
        hold.lifted_by, hold.lifted_at, hold.lift_reason = by, clock.now(), reason
        hold.save(update_fields=["lifted_by", "lifted_at", "lift_reason"])
        audit_append(action="retention.hold_lift", actor=by, obj=hold, before={"active": True},
                     after={"active": False, "lift_reason": reason})
    return hold


# --- the plan (dry run) -----------------------------------------------------------------


@dataclass
class PlanItem:
    kind: str
    kind_label: str
    object_type: str
    object_id: str
    label: str
    recorded_at: dt.datetime
    region: str
    held: bool = False
    obj: object = None


@dataclass
class Plan:
    now: dt.datetime
    go: list[PlanItem] = field(default_factory=list)
    held: list[PlanItem] = field(default_factory=list)
    segment: tuple[int, int] | None = None  # (first_seq, last_seq) of the audit events that would go
    segment_stop: str = ""

    def by_kind(self) -> dict[str, list[PlanItem]]:
        out: dict[str, list[PlanItem]] = {}
        for item in self.go:
            out.setdefault(item.kind_label, []).append(item)
        return out


class _Holds:
    def __init__(self):
        rows = LegalHold.objects.filter(lifted_at__isnull=True).values_list("object_type", "object_id")
        self.objects = set(rows)
        self.requests = {oid for otype, oid in self.objects if otype == REQUEST_TYPE}

    def covers(self, object_type: str, object_id: str, request_id=None) -> bool:
        if (object_type, str(object_id)) in self.objects:
            return True
        return request_id is not None and str(request_id) in self.requests


def _label(kind: ArtifactKind, obj) -> str:
    return (kind.label_fn(obj) if kind.label_fn else str(obj))[:300]


def _all_policies() -> list[RetentionPolicy]:
    return list(RetentionPolicy.objects.order_by("kind", "region"))


def retention_plan(*, now: dt.datetime | None = None) -> Plan:
    """What a run would archive and delete now, and what a legal hold keeps."""
    now = now or clock.now()
    plan = Plan(now=now)
    holds = _Holds()
    policies = _all_policies()
    for kind in _REGISTRY.values():
        mine = [p for p in policies if p.kind == kind.name]
        if not mine:
            continue
        if kind.name == AUDIT_EVENTS:
            _plan_audit(plan, mine, holds, now)
            continue
        specific = [p.region for p in mine if p.region]
        for policy in mine:
            cutoff = now - dt.timedelta(days=policy.days)
            qs = kind.queryset_fn().filter(**{f"{kind.age_field}__lt": cutoff})
            if kind.region_field:
                if policy.region:
                    qs = qs.filter(**{kind.region_field: policy.region})
                elif specific:
                    qs = qs.exclude(**{f"{kind.region_field}__in": specific})
                qs = qs.distinct()
            elif policy.region:
                continue
            for obj in qs.order_by(kind.age_field, "pk"):
                meta = obj._meta
                request_id = _request_id(kind, obj)
                item = PlanItem(kind=kind.name, kind_label=kind.label,
                                object_type=f"{meta.app_label}.{meta.model_name}", object_id=str(obj.pk),
                                label=_label(kind, obj), recorded_at=getattr(obj, kind.age_field),
                                region=policy.region, obj=obj)
                item.held = holds.covers(item.object_type, item.object_id, request_id)
                (plan.held if item.held else plan.go).append(item)
    return plan


def _request_id(kind: ArtifactKind, obj):
    if not kind.request_field:
        return None
    value = obj
    for part in kind.request_field.split("__"):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def _plan_audit(plan: Plan, policies, holds: _Holds, now) -> None:
    policy = next((p for p in policies if not p.region), None)
    if policy is None:
        return
    cutoff = now - dt.timedelta(days=policy.days)
    head_seq = ChainHead.objects.values_list("seq", flat=True).get(pk=1)
    first = AuditEvent.objects.order_by("seq").values_list("seq", flat=True).first()
    if first is None:
        return
    expected, last, last_created = first, None, None
    rows = (AuditEvent.objects.filter(seq__gte=first, seq__lte=head_seq, created_at__lt=cutoff)
            .order_by("seq")
            .values_list("seq", "object_type", "object_id", "object_repr", "action", "created_at"))
    for seq, otype, oid, orepr, action, created_at in rows[:SEGMENT_MAX].iterator():
        if seq != expected:
            break
        if holds.covers(otype, oid, oid if otype == REQUEST_TYPE else None):
            plan.segment_stop = f"event #{seq} ({action}, {orepr or otype}) is under legal hold"
            plan.held.append(PlanItem(kind=AUDIT_EVENTS, kind_label=_REGISTRY[AUDIT_EVENTS].label,
                                      object_type="audit.auditevent", object_id=str(seq),
                                      label=f"#{seq} {action} {orepr}"[:300], recorded_at=created_at,
                                      region="", held=True))
            break
        last, last_created = seq, created_at
        expected += 1
    if last is not None:
        plan.segment = (first, last)
        plan.go.append(PlanItem(kind=AUDIT_EVENTS, kind_label=_REGISTRY[AUDIT_EVENTS].label,
                                object_type="audit.auditevent", object_id=f"{first}-{last}",
                                label=f"Audit events #{first} to #{last} ({last - first + 1} events)",
                                recorded_at=last_created,
                                region=""))


# --- the run ----------------------------------------------------------------------------


@dataclass
class RunResult:
    archived: list[dict] = field(default_factory=list)
    kept: list[dict] = field(default_factory=list)
    segment: ArchivedSegment | None = None

    def summary(self) -> str:
        text = f"{len(self.archived)} archived and deleted, {len(self.kept)} kept"
        if self.segment:
            segment = self.segment
            text += f"; audit events #{segment.first_seq}–#{segment.last_seq} archived to {segment.path}"
        return text


def _archive_default(kind: ArtifactKind, obj, storage) -> tuple[str, str]:
    """Copy the files (checking their recorded hash) and a JSON record of the row to the archive."""
    meta = obj._meta
    stem = f"{kind.name}/{meta.app_label}.{meta.model_name}-{obj.pk}"
    files = []
    try:
        for name in kind.file_fields:
            fieldfile = getattr(obj, name)
            if not fieldfile:
                continue
            with fieldfile.open("rb") as handle:
                digest = _sha256_file(handle)
                hash_field = kind.hash_fields.get(name)
                recorded = getattr(obj, hash_field, "") if hash_field else ""
                if recorded and recorded != digest:
                    raise ValueError(f"the file {fieldfile.name} no longer matches its recorded SHA-256")
                handle.seek(0)
                stored = storage.save(f"{stem}-{name}-{os.path.basename(fieldfile.name)}", handle)
            files.append({"field": name, "name": fieldfile.name, "archive_path": stored, "sha256": digest})
    except Exception:
        for copied in files:  # nothing half-archived
            storage.delete(copied["archive_path"])
        raise
    row = json.loads(serializers.serialize("json", [obj]))[0]
    record = {"kind": kind.name, "object": row, "files": files}
    body = json.dumps(record, indent=2, sort_keys=True, default=str).encode()
    path = storage.save(f"{stem}.json", ContentFile(body))
    return path, hashlib.sha256(body).hexdigest()


def _delete_default(obj) -> None:
    """Delete the row through the collector (PROTECT still refuses); a model's delete() guards users only."""
    type(obj)._base_manager.filter(pk=obj.pk).delete()


def _delete_files(kind: ArtifactKind, obj) -> None:
    for name in kind.file_fields:
        fieldfile = getattr(obj, name)
        if fieldfile:
            fieldfile.storage.delete(fieldfile.name)


def retention_run(*, by=None, now: dt.datetime | None = None) -> RunResult:
    """Archive, then delete, everything past retention that no legal hold keeps; audited item by item."""
    now = now or clock.now()
    plan = retention_plan(now=now)
    storage = archive_storage()
    result = RunResult()
    for item in plan.held:
        result.kept.append({"kind": item.kind, "object": f"{item.object_type} {item.object_id}",
                            "reason": "legal hold"})
    for item in plan.go:
        if item.kind == AUDIT_EVENTS:
            continue
        kind = _REGISTRY[item.kind]
        archived_paths: list[str] = []
        try:
            with transaction.atomic():
                obj = kind.queryset_fn().select_for_update().filter(pk=item.obj.pk).first()
                if obj is None:
                    continue
                # re-read the holds after the lock: a hold set meanwhile wins
                if _Holds().covers(item.object_type, item.object_id, _request_id(kind, obj)):
                    result.kept.append({"kind": item.kind, "object": item.label, "reason": "legal hold"})
                    continue
                path, digest = (kind.archive_fn or _archive_default)(kind, obj, storage)
                archived_paths.append(path)
                ArchivedArtifact.objects.create(kind=kind.name, object_type=item.object_type,
                                                object_id=item.object_id, object_repr=item.label, path=path,
                                                sha256=digest, archived_at=clock.now())
                audit_append(action="retention.archived", actor=by, object_type=item.object_type,
                             object_id=item.object_id, object_repr=item.label,
                             data={"kind": kind.name, "archive": path, "sha256": digest,
                                   "recorded_at": item.recorded_at.isoformat()})
                (kind.delete_fn or _delete_default)(obj)
                transaction.on_commit(lambda k=kind, o=obj: _delete_files(k, o))
            result.archived.append({"kind": item.kind, "object": item.label, "archive": path})
        except (ProtectedError, IntegrityError, ValueError, OSError) as exc:
            for p in archived_paths:
                storage.delete(p)
            result.kept.append({"kind": item.kind, "object": item.label, "reason": str(exc)[:300]})
    if plan.segment:
        result.segment = audit_segment_archive(first_seq=plan.segment[0], last_seq=plan.segment[1], by=by)
    audit_append(action="retention.run", actor=by,
                 data={"archived": len(result.archived), "kept": len(result.kept),
                       "segment": list(plan.segment) if plan.segment else None})
    return result


def _event_record(row) -> dict:
    record = dict(zip(_VERIFY_FIELDS, row, strict=True))
    record["created_at"] = record["created_at"].astimezone(dt.UTC).isoformat(timespec="microseconds")
    return record


def audit_segment_archive(*, first_seq: int, last_seq: int, by=None) -> ArchivedSegment | None:
    """Archive events first..last to a JSON-lines file, checkpoint the last hash, then purge them.

    The file's first line describes the segment (the hash it continues, its last hash); each further
    line is one event with its hashes, so the file verifies on its own (`segment_verify`).
    """
    storage = archive_storage()
    with transaction.atomic():
        ChainHead.objects.select_for_update().get(pk=1)  # one retention run at a time, appends wait briefly
        present = AuditEvent.objects.order_by("seq").values_list("seq", flat=True).first()
        if present != first_seq:
            return None  # another run archived these meanwhile
        rows = list(AuditEvent.objects.filter(seq__gte=first_seq, seq__lte=last_seq).order_by("seq")
                    .values_list(*_VERIFY_FIELDS))
        records = [_event_record(r) for r in rows]
        holds = _Holds()  # re-read under the lock: a hold set since the plan still stops the segment
        for index, r in enumerate(records):
            request_id = r["object_id"] if r["object_type"] == REQUEST_TYPE else None
            if holds.covers(r["object_type"], r["object_id"], request_id):
                records = records[:index]
                break
        if not records:
            return None
        last_seq = records[-1]["seq"]
        check = segment_verify_rows(records, prev_hash=records[0]["prev_hash"])
        if not check.ok:
            raise ValidationError(f"the segment does not verify, nothing archived: {check}")
        header = {"format": "tollgate-audit-segment/1", "first_seq": first_seq, "last_seq": last_seq,
                  "count": len(records), "prev_hash": records[0]["prev_hash"],
                  "last_hash": records[-1]["hash"]}
        lines = [json.dumps(header, sort_keys=True)] + [json.dumps(r, sort_keys=True, ensure_ascii=False)
                                                        for r in records]
        body = ("\n".join(lines) + "\n").encode("utf-8")
        path = storage.save(f"audit/segment-{first_seq:012d}-{last_seq:012d}.jsonl", ContentFile(body))
        try:
            created_at = clock.now().astimezone(dt.UTC)
            AuditCheckpoint.objects.create(seq=last_seq, hash=header["last_hash"], created_at=created_at,
                                           signature=checkpoint_signature(last_seq, header["last_hash"],
                                                                          created_at))
            segment = ArchivedSegment.objects.create(
                first_seq=first_seq, last_seq=last_seq, prev_hash=header["prev_hash"],
                last_hash=header["last_hash"], count=len(records), path=path,
                sha256=hashlib.sha256(body).hexdigest(), created_at=created_at)
            with triggers.purge_window(connection):
                AuditEvent.objects.filter(seq__gte=first_seq, seq__lte=last_seq).delete()
        except Exception:
            storage.delete(path)
            raise
    audit_append(action="retention.audit_segment_archived", actor=by, obj=segment,
                 data={"first_seq": first_seq, "last_seq": last_seq, "last_hash": header["last_hash"],
                       "archive": path, "sha256": segment.sha256})
    return segment
