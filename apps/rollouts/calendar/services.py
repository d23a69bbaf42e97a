"""Every write of the change calendar: approved windows, freezes, freeze exceptions, conflicts, feeds.

Each runs in one transaction with the audit event; refusals that matter (permission, a decided exception,
accepting a freeze conflict) are audited too, outside the rolled-back transaction.
"""

import datetime as dt
import hashlib
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone as djtz

from apps.accounts import duties
from apps.accounts.choices import Duty, Role
from apps.audit.services import audit_append, field_diff
from apps.core import clock
from apps.core.validation import clean_text
from apps.inventory.models import System
from apps.upgrades.choices import FINAL_STATES
from apps.upgrades.models import UpgradeRequest

from ..models import (
    ApprovedWindow,
    CalendarFeed,
    Conflict,
    ConflictKind,
    ConflictStatus,
    ExceptionStatus,
    Freeze,
    FreezeException,
    FreezeScope,
)
from . import conflicts as detection
from . import selectors, windows

MANAGERS = (Role.ADMIN, Role.CHANGE_MANAGER)
MAX_FEEDS = 20


class CalendarRefused(PermissionDenied):
    """A refusal with reasons (permission, state); pages show them, the API answers 403/409."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__(" ".join(reasons))


def _deny(*, by, what: str, reasons: list[str], obj=None) -> None:
    actor = by if by is not None and getattr(by, "is_authenticated", False) else None
    audit_append(action="calendar.denied", actor=actor, obj=obj, data={"what": what, "reasons": reasons})
    raise CalendarRefused(reasons)


def _manager(by, what: str, obj=None) -> None:
    if by is None or not by.is_authenticated or not by.has_role(*MANAGERS):
        _deny(by=by, what=what, obj=obj, reasons=["Only administrators and change managers manage "
                                                  "freezes and approved windows."])


def _aware(errors: dict, key: str, value) -> dt.datetime | None:
    if value is None or value == "":
        errors[key] = "Enter a date and time."
        return None
    if not isinstance(value, dt.datetime):
        errors[key] = "Enter a date and time."
        return None
    if not 1900 <= value.year <= 2999:
        errors[key] = "Enter a date between the years 1900 and 2999."
        return None
    if value.tzinfo is None:
        value = djtz.make_aware(value)  # the user's zone, activated by the middleware
    return value.astimezone(dt.UTC)


# --- approved windows ---------------------------------------------------------------------------------


def _clean_window(data: dict) -> dict:
    errors: dict = {}
    cleaned: dict = {}
    cleaned["label"] = clean_text(errors, "label", data.get("label"), required=True, max_length=120)
    system = data.get("system")
    if isinstance(system, (int, str)) and str(system).isdigit():
        system = System.objects.filter(pk=int(system)).first()
    if not isinstance(system, System):
        errors["system"] = "Choose a system."
    cleaned["system"] = system
    try:
        cleaned["rrule"] = windows.rrule_check(data.get("rrule") if isinstance(data.get("rrule"), str) else "")
    except ValueError as exc:
        errors["rrule"] = str(exc)
    tz = data.get("timezone") or ""
    try:
        windows.zone(tz if isinstance(tz, str) and "\x00" not in tz else "")
        cleaned["timezone"] = tz
    except ValueError as exc:
        errors["timezone"] = str(exc)
    start_time = data.get("start_time")
    if not isinstance(start_time, dt.time):
        errors["start_time"] = "Enter a time, e.g. 01:00."
    cleaned["start_time"] = start_time
    duration = data.get("duration_minutes")
    if not isinstance(duration, int) or isinstance(duration, bool) or not 1 <= duration <= 24 * 60:
        errors["duration_minutes"] = "Enter a duration between 1 and 1440 minutes."
    cleaned["duration_minutes"] = duration
    valid_from, valid_until = data.get("valid_from"), data.get("valid_until")
    if not isinstance(valid_from, dt.date) or not 1900 <= valid_from.year <= 2999:
        errors["valid_from"] = "Enter the first day the window applies."
    if valid_until is not None and not isinstance(valid_until, dt.date):
        errors["valid_until"] = "Enter a date or leave it empty."
    elif valid_until and isinstance(valid_from, dt.date) and valid_until < valid_from:
        errors["valid_until"] = "The last day must not be before the first."
    cleaned["valid_from"], cleaned["valid_until"] = valid_from, valid_until
    if errors:
        raise ValidationError(errors)
    return cleaned


def _window_snapshot(w: ApprovedWindow) -> dict:
    return {"system": w.system.name, "label": w.label, "rrule": w.rrule, "start_time": w.start_time,
            "duration_minutes": w.duration_minutes, "timezone": w.timezone, "valid_from": w.valid_from,
            "valid_until": w.valid_until}


def _refresh_system_requests(system_ids, by) -> None:
    """Re-check the live requests touching these systems (a rule or a freeze changed under them)."""
    qs = UpgradeRequest.objects.filter(state__in=selectors.BOOKING_STATES)
    if system_ids is not None:
        from django.db.models import Q

        qs = qs.filter(Q(items__system_id__in=system_ids) | Q(plan__waves__systems__id__in=system_ids))
    for request in qs.distinct():
        conflicts_refresh(request=request, by=by)


def approved_window_create(*, by, **data) -> ApprovedWindow:
    _manager(by, "approved_window.create")
    cleaned = _clean_window(data)
    with transaction.atomic():
        window = ApprovedWindow.objects.create(created_by=by, created_at=clock.now(), **cleaned)
        audit_append(action="approved_window.create", actor=by, obj=window, after=_window_snapshot(window))
        _refresh_system_requests([window.system_id], by)
    return window


def approved_window_update(*, window: ApprovedWindow, by, **data) -> ApprovedWindow:
    _manager(by, "approved_window.update", obj=window)
    with transaction.atomic():
        window = ApprovedWindow.objects.select_for_update().get(pk=window.pk)
        merged = {**_window_snapshot(window), "system": window.system, **data}
        cleaned = _clean_window(merged)
        before = _window_snapshot(window)
        old_system = window.system_id
        for key, value in cleaned.items():
            setattr(window, key, value)
        window.save()
        b, a = field_diff(before, _window_snapshot(window))
        if a:
            audit_append(action="approved_window.update", actor=by, obj=window, before=b, after=a)
        _refresh_system_requests({old_system, window.system_id}, by)
    return window


def approved_window_delete(*, window: ApprovedWindow, by) -> None:
    _manager(by, "approved_window.delete", obj=window)
    with transaction.atomic():
        window = ApprovedWindow.objects.select_for_update().get(pk=window.pk)
        system_id = window.system_id
        audit_append(action="approved_window.delete", actor=by, obj=window, before=_window_snapshot(window))
        window.delete()
        _refresh_system_requests([system_id], by)


# --- freezes ------------------------------------------------------------------------------------------


def _clean_freeze(data: dict) -> dict:
    errors: dict = {}
    cleaned: dict = {}
    cleaned["name"] = clean_text(errors, "name", data.get("name"), required=True, max_length=120)
    cleaned["reason"] = clean_text(errors, "reason", data.get("reason"), required=True, max_length=5000)
    scope = data.get("scope") or FreezeScope.ORGANISATION
    if scope not in FreezeScope.values:
        errors["scope"] = f"Choose one of: {', '.join(FreezeScope.values)}."
    cleaned["scope"] = scope
    region = clean_text(errors, "region", data.get("region"), required=scope == FreezeScope.REGION, max_length=40)
    cleaned["region"] = region if scope == FreezeScope.REGION else ""
    if scope == FreezeScope.REGION and "region" not in errors and not System.objects.filter(region=region).exists():
        errors["region"] = f"No system runs in region “{region}”."
    systems = data.get("systems") or []
    if scope == FreezeScope.SYSTEMS:
        ids = []
        for s in systems:
            pk = s.pk if isinstance(s, System) else s
            if not (isinstance(pk, int) or (isinstance(pk, str) and pk.isdigit())):
                errors["systems"] = "Choose systems from the list."
                break
            ids.append(int(pk))
        found = list(System.objects.filter(pk__in=ids)) if "systems" not in errors else []
        if "systems" not in errors and (not ids or len(found) != len(set(ids))):
            errors["systems"] = "Choose at least one system (from the list)."
        cleaned["systems"] = found
    else:
        cleaned["systems"] = []
    cleaned["starts_at"] = _aware(errors, "starts_at", data.get("starts_at"))
    cleaned["ends_at"] = _aware(errors, "ends_at", data.get("ends_at"))
    if cleaned["starts_at"] and cleaned["ends_at"] and cleaned["ends_at"] <= cleaned["starts_at"]:
        errors["ends_at"] = "The freeze must end after it starts."
    if errors:
        raise ValidationError(errors)
    return cleaned


def _freeze_snapshot(f: Freeze) -> dict:
    return {"name": f.name, "reason": f.reason, "scope": f.scope, "region": f.region,
            "systems": sorted(s.name for s in f.systems.all()), "starts_at": f.starts_at, "ends_at": f.ends_at,
            "lifted_at": f.lifted_at, "lifted_reason": f.lifted_reason}


def _freeze_systems_ids(freeze: Freeze):
    if freeze.scope == FreezeScope.ORGANISATION:
        return None
    if freeze.scope == FreezeScope.REGION:
        return list(System.objects.filter(region=freeze.region).values_list("pk", flat=True))
    return [s.pk for s in freeze.systems.all()]


def freeze_create(*, by, **data) -> Freeze:
    _manager(by, "freeze.create")
    cleaned = _clean_freeze(data)
    systems = cleaned.pop("systems")
    with transaction.atomic():
        freeze = Freeze.objects.create(created_by=by, created_at=clock.now(), **cleaned)
        freeze.systems.set(systems)
        audit_append(action="freeze.create", actor=by, obj=freeze, after=_freeze_snapshot(freeze))
        _refresh_system_requests(_freeze_systems_ids(freeze), by)
    return freeze


def freeze_update(*, freeze: Freeze, by, **data) -> Freeze:
    _manager(by, "freeze.update", obj=freeze)
    with transaction.atomic():
        freeze = Freeze.objects.select_for_update().get(pk=freeze.pk)
        if freeze.lifted_at is not None:
            raise ValidationError({"freeze": "This freeze was lifted; create a new one instead."})
        before = _freeze_snapshot(freeze)
        old_ids = _freeze_systems_ids(freeze)
        merged = {"name": freeze.name, "reason": freeze.reason, "scope": freeze.scope, "region": freeze.region,
                  "systems": [s.pk for s in freeze.systems.all()], "starts_at": freeze.starts_at,
                  "ends_at": freeze.ends_at, **data}
        cleaned = _clean_freeze(merged)
        systems = cleaned.pop("systems")
        for key, value in cleaned.items():
            setattr(freeze, key, value)
        freeze.save()
        freeze.systems.set(systems)
        b, a = field_diff(before, _freeze_snapshot(freeze))
        if a:
            audit_append(action="freeze.update", actor=by, obj=freeze, before=b, after=a)
        new_ids = _freeze_systems_ids(freeze)
        _refresh_system_requests(None if old_ids is None or new_ids is None else set(old_ids) | set(new_ids), by)
    return freeze


def freeze_lift(*, freeze: Freeze, by, reason: str) -> Freeze:
    """End a freeze early (or cancel a planned one); kept for the record."""
    _manager(by, "freeze.lift", obj=freeze)
    errors: dict = {}
    reason = clean_text(errors, "reason", reason, required=True, max_length=5000)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        freeze = Freeze.objects.select_for_update().get(pk=freeze.pk)
        if freeze.lifted_at is not None:
            raise ValidationError({"freeze": "This freeze was already lifted."})
        freeze.lifted_at = clock.now()
        freeze.lifted_reason = reason
        freeze.save(update_fields=["lifted_at", "lifted_reason"])
        audit_append(action="freeze.lift", actor=by, obj=freeze, data={"reason": reason})
        _refresh_system_requests(_freeze_systems_ids(freeze), by)
    return freeze


# --- freeze exceptions --------------------------------------------------------------------------------


def freeze_exception_request(*, request: UpgradeRequest, freeze: Freeze, reason: str, by) -> FreezeException:
    """The requester asks the CAB to let this request act inside `freeze`."""
    errors: dict = {}
    reason = clean_text(errors, "reason", reason, required=True, max_length=5000)
    if not isinstance(freeze, Freeze):
        errors["freeze"] = "Choose the freeze."
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            request = UpgradeRequest.objects.select_for_update().get(pk=request.pk)
            if by is None or not by.is_authenticated or duties.duty_check(by, request, Duty.REQUESTER):
                raise CalendarRefused(["Only the requester of this change may request a freeze exception."])
            if request.state in FINAL_STATES:
                raise CalendarRefused([f"{request.reference} is {request.get_state_display().lower()}."])
            freeze = Freeze.objects.select_for_update().get(pk=freeze.pk)
            if freeze.lifted_at is not None or freeze.ends_at <= clock.now():
                raise ValidationError({"freeze": "This freeze is over; no exception is needed."})
            live = [ExceptionStatus.REQUESTED, ExceptionStatus.APPROVED]
            if FreezeException.objects.filter(request=request, freeze=freeze, status__in=live).exists():
                raise ValidationError({"freeze": "An exception for this freeze is already requested or approved."})
            exception = FreezeException.objects.create(
                request=request, freeze=freeze, reason=reason, requested_by=by, requested_at=clock.now(),
                emergency=request.risk_class == "emergency",
            )
            audit_append(action="freeze_exception.request", actor=by, obj=request,
                         data={"freeze": freeze.name, "freeze_id": freeze.pk, "exception": exception.pk,
                               "reason": reason})
    except CalendarRefused as exc:
        audit_append(action="calendar.denied", actor=by if by and by.is_authenticated else None, obj=request,
                     data={"what": "freeze_exception.request", "reasons": exc.reasons})
        raise
    return exception


def freeze_exception_record_decision(*, exception: FreezeException, by, approve: bool, reason: str,
                                     signature: dict, emergency: bool) -> FreezeException:
    """Record the CAB's decision. The CAB-side checks (role, segregation of duties, signature) are the
    caller's (apps.cab); this locks, re-reads, writes and audits."""
    errors: dict = {}
    reason = clean_text(errors, "reason", reason, required=not approve, max_length=5000)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        exception = FreezeException.objects.select_for_update().select_related("freeze", "request").get(
            pk=exception.pk)
        if exception.status != ExceptionStatus.REQUESTED:
            raise ValidationError({"exception": f"This freeze exception is already "
                                                f"{exception.get_status_display().lower()}."})
        now = clock.now()
        exception.status = ExceptionStatus.APPROVED if approve else ExceptionStatus.REFUSED
        exception.decided_by = by
        exception.decided_at = now
        exception.decision_reason = reason
        exception.emergency = bool(emergency)
        exception.signature = dict(signature or {})
        if approve and exception.expires_at is None:
            exception.expires_at = exception.freeze.ends_at
        exception.save()
        audit_append(
            action=f"freeze_exception.{'approved' if approve else 'refused'}", actor=by, obj=exception.request,
            data={"exception": exception.pk, "freeze": exception.freeze.name, "freeze_id": exception.freeze_id,
                  "reason": reason, "emergency": exception.emergency, "signature": exception.signature,
                  "expires_at": exception.expires_at},
        )
        conflicts_refresh(request=exception.request, by=by)
    return exception


def freeze_exception_withdraw(*, exception: FreezeException, by) -> FreezeException:
    with transaction.atomic():
        exception = FreezeException.objects.select_for_update().select_related("request").get(pk=exception.pk)
        if by is None or duties.duty_check(by, exception.request, Duty.REQUESTER):
            raise CalendarRefused(["Only the requester may withdraw the exception."])
        if exception.status != ExceptionStatus.REQUESTED:
            raise ValidationError({"exception": "Only a pending exception can be withdrawn."})
        exception.status = ExceptionStatus.WITHDRAWN
        exception.save(update_fields=["status"])
        audit_append(action="freeze_exception.withdrawn", actor=by, obj=exception.request,
                     data={"exception": exception.pk, "freeze": exception.freeze.name})
    return exception


# --- conflicts ----------------------------------------------------------------------------------------


def conflicts_refresh(*, request: UpgradeRequest, by=None, _cascade: bool = True) -> list[Conflict]:
    """Detect the request's conflicts now: new ones are opened, known ones keep their row (and an acceptance),
    vanished ones are resolved. Idempotent; audits only changes. Also re-checks the other changes involved,
    so a conflict disappears from both sides."""
    found = {c["key"]: c for c in detection.detect(request)}
    now = clock.now()
    others: set[int] = set()
    with transaction.atomic():
        existing = {c.key: c for c in Conflict.objects.select_for_update().filter(request=request)}
        opened, resolved, reopened = [], [], []
        for key, spec in found.items():
            row = existing.get(key)
            fields = {k: spec[k] for k in ("kind", "wave", "other_request", "freeze", "system", "user", "detail")}
            if spec["other_request"] is not None:
                others.add(spec["other_request"].pk)
            if row is None:
                Conflict.objects.create(request=request, key=key, detected_at=now, last_seen_at=now, **fields)
                opened.append(key)
                continue
            changed = [k for k, v in fields.items() if getattr(row, k) != v]
            for k in changed:
                setattr(row, k, fields[k])
            if row.status == ConflictStatus.RESOLVED:
                row.status = ConflictStatus.OPEN
                row.justification, row.decided_by, row.decided_at = "", None, None
                reopened.append(key)
            row.last_seen_at = now
            row.save()
        for key, row in existing.items():
            if key not in found and row.status != ConflictStatus.RESOLVED:
                if row.other_request_id:
                    others.add(row.other_request_id)
                row.status = ConflictStatus.RESOLVED
                row.save(update_fields=["status"])
                resolved.append(key)
        if opened or resolved or reopened:
            audit_append(action="conflict.refresh", actor=by, obj=request,
                         data={"opened": [found[k]["detail"] for k in opened],
                               "reopened": [found[k]["detail"] for k in reopened],
                               "resolved": [existing[k].detail for k in resolved]})
        if _cascade:
            for other in UpgradeRequest.objects.filter(pk__in=others):
                conflicts_refresh(request=other, by=by, _cascade=False)
    return list(selectors.conflicts_of(request))


def conflict_accept(*, conflict: Conflict, justification: str, by) -> Conflict:
    """The requester (or an administrator) accepts a conflict with a justification; not a freeze."""
    errors: dict = {}
    justification = clean_text(errors, "justification", justification, required=True, max_length=5000)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            conflict = Conflict.objects.select_for_update().select_related("request").get(pk=conflict.pk)
            request = conflict.request
            if by is None or not by.is_authenticated or (
                    not by.has_role(Role.ADMIN) and duties.duty_check(by, request, Duty.REQUESTER)):
                raise CalendarRefused(["Only the requester of this change or an administrator may accept "
                                       "a conflict."])
            if conflict.kind == ConflictKind.FREEZE:
                raise CalendarRefused(["A freeze cannot be accepted: move the window, or request a freeze "
                                       "exception from the CAB."])
            if conflict.status != ConflictStatus.OPEN:
                raise ValidationError({"conflict": f"This conflict is {conflict.get_status_display().lower()}."})
            conflict.status = ConflictStatus.ACCEPTED
            conflict.justification = justification
            conflict.decided_by = by
            conflict.decided_at = clock.now()
            conflict.save()
            audit_append(action="conflict.accept", actor=by, obj=request,
                         data={"conflict": conflict.pk, "kind": conflict.kind, "detail": conflict.detail,
                               "justification": justification})
    except CalendarRefused as exc:
        audit_append(action="calendar.denied", actor=by if by and by.is_authenticated else None,
                     obj=conflict.request, data={"what": "conflict.accept", "reasons": exc.reasons})
        raise
    return conflict


# --- calendar feeds -----------------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def calendar_feed_create(*, user, name: str, filters: dict, by) -> tuple[CalendarFeed, str]:
    """A new feed for `user`; the token is returned once and only its hash is kept."""
    if by is None or not by.is_authenticated or by.pk != user.pk:
        raise CalendarRefused(["You can only create calendar feeds for yourself."])
    errors: dict = {}
    name = clean_text(errors, "name", name, required=True, max_length=80)
    filters, filter_errors = selectors.calendar_filters(filters or {})
    errors.update(filter_errors)
    if selectors.feeds_of(user).count() >= MAX_FEEDS:
        errors["name"] = f"You have {MAX_FEEDS} feeds; revoke one first."
    if errors:
        raise ValidationError(errors)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        feed = CalendarFeed.objects.create(user=user, name=name, filters=filters, token_digest=_digest(token),
                                           token_prefix=token[:8], created_at=clock.now())
        audit_append(action="calendar_feed.create", actor=by, obj=feed,
                     after={"name": name, "filters": filters, "token_prefix": feed.token_prefix})
    return feed, token


def calendar_feed_revoke(*, feed: CalendarFeed, by) -> CalendarFeed:
    with transaction.atomic():
        feed = CalendarFeed.objects.select_for_update().get(pk=feed.pk)
        if by is None or by.pk != feed.user_id:
            raise CalendarRefused(["You can only revoke your own feeds."])
        if feed.revoked_at is None:
            feed.revoked_at = clock.now()
            feed.save(update_fields=["revoked_at"])
            audit_append(action="calendar_feed.revoke", actor=by, obj=feed,
                         data={"name": feed.name, "token_prefix": feed.token_prefix})
    return feed


def calendar_feed_resolve(token: str) -> CalendarFeed | None:
    """The live feed of a token, or None (unknown, revoked, or its owner deactivated)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100 or "\x00" in token:
        return None
    feed = CalendarFeed.objects.select_related("user").filter(token_digest=_digest(token),
                                                             revoked_at__isnull=True).first()
    if feed is None or not feed.user.is_active:
        return None
    now = clock.now()
    if feed.last_used_at is None or now - feed.last_used_at > dt.timedelta(minutes=5):
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    return feed
