"""Patch management schedules: a recurring window per system that raises standard change requests.

The rule (RFC 5545 RRULE) is evaluated with python-dateutil on naive local times of the schedule's own zone,
and each local occurrence is then placed in that zone — so 22:00 Europe/Berlin stays 22:00 across a DST
change while its UTC time moves. A PatchOccurrence row (unique per schedule and start) makes generation
happen exactly once per occurrence, however often the task runs.
"""

import datetime as dt
import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule as du_rrule
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from apps.accounts.choices import Role
from apps.audit.services import audit_append
from apps.cab.models import StandardTemplate, TemplateStatus
from apps.core import clock
from apps.core.validation import clean_text
from apps.inventory.models import Component, System
from apps.upgrades.choices import RiskClass

from .models import PatchOccurrence, PatchSchedule

log = logging.getLogger(__name__)
ALLOWED_FREQ = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
MAX_LEAD_DAYS = 60
MAX_DURATION = 24 * 60
PREVIEW = 6


def _actor(by):
    return by if by is not None and getattr(by, "is_authenticated", False) else None


def can_manage(user) -> bool:
    return bool(user and user.is_authenticated and user.has_role(Role.CHANGE_MANAGER, Role.ADMIN))


def _rule_text(text: str) -> str:
    text = text.strip()
    return text[6:] if text.upper().startswith("RRULE:") else text


def parse_rule(text: str, dtstart: dt.datetime):
    """A dateutil rrule, or ValueError with words a change manager understands."""
    body = _rule_text(text)
    parts = dict(p.split("=", 1) for p in body.upper().split(";") if "=" in p)
    if "DTSTART" in body.upper() or "\n" in body:
        raise ValueError("Give only the rule (FREQ=…;BYDAY=…); the start date and time are separate fields.")
    if parts.get("FREQ") not in ALLOWED_FREQ:
        raise ValueError("The rule needs FREQ=DAILY, WEEKLY, MONTHLY or YEARLY, e.g. FREQ=MONTHLY;BYDAY=2TU.")
    try:
        return du_rrule.rrulestr(body, dtstart=dtstart)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"This is not a valid RFC 5545 rule: {exc}.") from None


def _local_start(schedule) -> dt.datetime:
    return dt.datetime.combine(schedule.first_date, schedule.start_time)


def occurrences(schedule: PatchSchedule, *, after: dt.datetime, before: dt.datetime) -> list[dict]:
    """Occurrences starting in [after, before) (aware datetimes): local start, UTC start and end."""
    zone = ZoneInfo(schedule.time_zone)
    rule = parse_rule(schedule.rrule, _local_start(schedule))
    # widen the naive local search by a day on each side, then filter exactly on UTC
    lo = after.astimezone(zone).replace(tzinfo=None) - dt.timedelta(days=1)
    hi = before.astimezone(zone).replace(tzinfo=None) + dt.timedelta(days=1)
    out = []
    for local in rule.between(lo, hi, inc=True):
        start = local.replace(tzinfo=zone).astimezone(dt.UTC)
        if after <= start < before:
            out.append({"local": local.replace(tzinfo=zone), "starts_at": start,
                        "ends_at": start + dt.timedelta(minutes=schedule.duration_minutes),
                        "raise_at": start - dt.timedelta(days=schedule.lead_days)})
    return out


def upcoming(schedule: PatchSchedule, *, count: int = PREVIEW, now=None) -> list[dict]:
    now = now or clock.now()
    zone = ZoneInfo(schedule.time_zone)
    rule = parse_rule(schedule.rrule, _local_start(schedule))
    out, cursor = [], now.astimezone(zone).replace(tzinfo=None) - dt.timedelta(days=1)
    for local in rule.xafter(cursor, count=count + 2, inc=True):
        start = local.replace(tzinfo=zone).astimezone(dt.UTC)
        if start >= now:
            out.append({"local": local.replace(tzinfo=zone), "starts_at": start,
                        "ends_at": start + dt.timedelta(minutes=schedule.duration_minutes),
                        "raise_at": start - dt.timedelta(days=schedule.lead_days)})
        if len(out) == count:
            break
    return out


def _components(system: System, template: StandardTemplate) -> list[Component]:
    return list(Component.objects.filter(system=system, product__iexact=template.product).order_by("pk"))


def schedule_create(*, by, system, template, name, rrule, first_date, start_time, time_zone,
                    target_version, duration_minutes=120, lead_days=7) -> PatchSchedule:
    from apps.inventory.versions import ConstraintError, satisfies

    if not can_manage(by):
        audit_append(action="reviews.denied", actor=_actor(by),
                     data={"what": "create a patch schedule", "rule": "change manager or administrator role"})
        raise PermissionDenied("Only change managers and administrators set up patch schedules.")
    errors: dict = {}
    name = clean_text(errors, "name", name, required=True, max_length=160)
    rrule = clean_text(errors, "rrule", rrule, required=True, max_length=500)
    time_zone = clean_text(errors, "time_zone", time_zone, required=True, max_length=64)
    target_version = clean_text(errors, "target_version", target_version, required=True, max_length=40)
    if not isinstance(system, System):
        errors["system"] = "Choose a system."
    if not isinstance(template, StandardTemplate):
        errors["template"] = "Choose a standard change template."
    elif template.status != TemplateStatus.APPROVED or template.valid_until < clock.now().date():
        errors["template"] = "The template is not approved or no longer valid; the CAB must approve a valid one."
    if not isinstance(first_date, dt.date) or isinstance(first_date, dt.datetime):
        errors["first_date"] = "Enter a date."
    if not isinstance(start_time, dt.time):
        errors["start_time"] = "Enter a time, e.g. 22:00."
    if "time_zone" not in errors:
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = "Enter an IANA time zone, e.g. Europe/Berlin."
    if not isinstance(duration_minutes, int) or not 15 <= duration_minutes <= MAX_DURATION:
        errors["duration_minutes"] = f"Give the window length in minutes, 15 to {MAX_DURATION}."
    if not isinstance(lead_days, int) or not 0 <= lead_days <= MAX_LEAD_DAYS:
        errors["lead_days"] = f"Give 0 to {MAX_LEAD_DAYS} days."
    if "rrule" not in errors and "first_date" not in errors and "start_time" not in errors:
        try:
            rule = parse_rule(rrule, dt.datetime.combine(first_date, start_time))
            if rule.after(dt.datetime.combine(first_date, start_time), inc=True) is None:
                errors["rrule"] = "The rule has no occurrence on or after the first date."
        except ValueError as exc:
            errors["rrule"] = str(exc)
    if isinstance(system, System) and isinstance(template, StandardTemplate) and "template" not in errors:
        allowed = set(template.systems.values_list("pk", flat=True))
        if allowed and system.pk not in allowed:
            errors["template"] = f"“{template.name}” does not cover {system.name}."
        elif not _components(system, template):
            errors["system"] = f"{system.name} runs no {template.product}, which “{template.name}” patches."
    if "target_version" not in errors and isinstance(template, StandardTemplate) and "template" not in errors:
        try:
            if not satisfies(template.version_constraint, template.constraint_kind, target_version):
                errors["target_version"] = (f"{target_version} is outside what the template covers "
                                            f"({template.version_constraint}).")
        except ConstraintError as exc:
            errors["target_version"] = f"Tollgate cannot compare this version: {exc}"
    if errors:
        raise ValidationError(errors)
    now = clock.now()
    with transaction.atomic():
        schedule = PatchSchedule.objects.create(
            system=system, template=template, name=name, rrule=_rule_text(rrule).upper(), first_date=first_date,
            start_time=start_time, time_zone=time_zone, duration_minutes=duration_minutes, lead_days=lead_days,
            target_version=target_version, created_by=by, created_at=now, updated_at=now)
        audit_append(action="reviews.patch_schedule_create", actor=by, obj=schedule, after=_snapshot(schedule))
    return schedule


def _snapshot(s: PatchSchedule) -> dict:
    return {"name": s.name, "system": s.system.slug, "template": s.template_id, "rrule": s.rrule,
            "first_date": s.first_date.isoformat(), "start_time": s.start_time.isoformat(),
            "time_zone": s.time_zone, "duration_minutes": s.duration_minutes, "lead_days": s.lead_days,
            "target_version": s.target_version, "active": s.active}


def schedule_set_active(*, schedule: PatchSchedule, active: bool, by) -> PatchSchedule:
    if not can_manage(by):
        audit_append(action="reviews.denied", actor=_actor(by), obj=schedule,
                     data={"what": "pause or resume a patch schedule", "rule": "change manager or administrator role"})
        raise PermissionDenied("Only change managers and administrators pause or resume patch schedules.")
    with transaction.atomic():
        schedule = PatchSchedule.objects.select_for_update().get(pk=schedule.pk)
        if schedule.active != bool(active):
            before = schedule.active
            schedule.active, schedule.updated_at = bool(active), clock.now()
            schedule.save(update_fields=["active", "updated_at"])
            audit_append(action="reviews.patch_schedule_active", actor=by, obj=schedule,
                         before={"active": before}, after={"active": schedule.active})
    return schedule


def schedule_generate(*, schedule: PatchSchedule, now=None) -> list[PatchOccurrence]:
    """Raise the standard requests of every occurrence within the lead time not raised yet (idempotent)."""
    from apps.cab.services import template_valid
    from apps.upgrades.services import upgrade_create

    now = now or clock.now()
    created = []
    window = occurrences(schedule, after=now, before=now + dt.timedelta(days=schedule.lead_days, seconds=1))
    for occ in window:
        try:
            with transaction.atomic():
                locked = (PatchSchedule.objects.select_for_update().select_related("template", "system", "created_by")
                          .get(pk=schedule.pk))
                if not locked.active or PatchOccurrence.objects.filter(
                        schedule=locked, starts_at=occ["starts_at"]).exists():
                    continue
                template = locked.template
                if not template_valid(template, occ["local"].date()):
                    continue
                local = occ["local"]
                items = [{"system": locked.system_id, "component": c.pk, "target_version": locked.target_version}
                         for c in _components(locked.system, template)]
                request = upgrade_create(
                    by=locked.created_by, items=items, risk_class=RiskClass.STANDARD,
                    title=f"{locked.name}: {locked.system.name} {local:%Y-%m-%d %H:%M} {locked.time_zone}"[:200],
                    justification=(f"Raised by the patch schedule “{locked.name}” ({locked.rrule}, "
                                   f"{locked.start_time:%H:%M} {locked.time_zone}) from the standard change "
                                   f"template “{template.name}”.\n\n{template.description}"),
                    window_start=occ["starts_at"], window_end=occ["ends_at"])
                row = PatchOccurrence.objects.create(schedule=locked, starts_at=occ["starts_at"],
                                                     ends_at=occ["ends_at"], request=request, generated_at=now)
                audit_append(action="reviews.patch_generate", actor=None, obj=locked,
                             after={"occurrence": occ["starts_at"].isoformat(), "local": local.isoformat(),
                                    "request": request.reference, "template": template.pk})
                created.append(row)
        except (PermissionDenied, ValidationError, IntegrityError) as exc:
            log.warning("patch schedule %s: occurrence %s not raised: %s", schedule.pk, occ["starts_at"], exc)
            audit_append(action="reviews.patch_generate_failed", actor=None, obj=schedule,
                         data={"occurrence": occ["starts_at"].isoformat(), "error": str(exc)[:500]})
    return created


def generate_due(now=None) -> int:
    """The beat task's body: every active schedule, every occurrence within its lead time."""
    count = 0
    for schedule in PatchSchedule.objects.filter(active=True).order_by("pk"):
        count += len(schedule_generate(schedule=schedule, now=now))
    return count


# --- reads ---------------------------------------------------------------------------------------------

def schedule_list():
    from django.db.models import Count

    return (PatchSchedule.objects.select_related("system", "template")
            .annotate(generated=Count("occurrences")).order_by("system__name", "name", "pk"))


def schedule_get(pk) -> PatchSchedule | None:
    return PatchSchedule.objects.select_related("system", "template", "created_by").filter(pk=pk).first()


def next_start(schedule: PatchSchedule, now=None):
    found = upcoming(schedule, count=1, now=now)
    return found[0]["starts_at"] if found else None
