"""Every write to a rollout plan: strategy, waves and tiers, triggers, runbook steps, fallbacks, versions.

The requester of the request (the change manager) and admins edit the plan while the
request is being assessed or planned. Each write runs in one transaction, locks the
request row and re-reads its state after the lock, checks who acts, and appends the
audit event (with the field diff) in the same transaction. Refusals are audited after
the rolled-back transaction, with the reasons that refused them.
"""

import datetime as dt
import re
import zoneinfo
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from apps.accounts import duties
from apps.accounts.choices import Duty, Role
from apps.audit.services import audit_append, field_diff
from apps.core import clock
from apps.core.validation import clean_text
from apps.inventory.models import Component, Endpoint, Environment, Integration, System
from apps.upgrades.choices import State
from apps.upgrades.models import UpgradeRequest

from . import dag
from .models import (DataMigrationScope, IntegrationFallback, Layer, Plan, PlanVersion, RollbackTrigger, Runbook,
                     RunbookStep, StepAction, Strategy, TierMode, TriggerAction, TriggerKind, Wave, WaveTier)

EDIT_STATES = (State.ASSESSING, State.PLANNING)
MAX_TEXT = 5000
MAX_WINDOW = dt.timedelta(days=14)
MAX_STEP_MINUTES = 24 * 60
MAX_EVALUATION_MINUTES = 24 * 60

# what a threshold means for each kind of trigger: (required, minimum, maximum, whole number, words)
THRESHOLDS: dict[str, tuple[bool, Decimal | None, Decimal | None, bool, str]] = {
    TriggerKind.HEALTH_FAILURES: (True, Decimal(1), Decimal(100), True,
                                  "the number of consecutive failed health checks (1–100)"),
    TriggerKind.ERROR_RATE: (True, Decimal("0.001"), Decimal(100), False, "an error rate in percent (above 0, at most 100)"),
    TriggerKind.ERROR_RATE_OVER_BASELINE: (True, Decimal("0.001"), Decimal(100), False,
                                           "percentage points above the baseline error rate (above 0, at most 100)"),
    TriggerKind.LATENCY_P95: (True, Decimal(1), Decimal(600000), False, "a p95 latency in milliseconds (1–600000)"),
    TriggerKind.LATENCY_P95_OVER_BASELINE: (True, Decimal("1.001"), Decimal(100), False,
                                            "a multiple of the baseline p95 latency (above 1, at most 100)"),
    TriggerKind.SLA_BREACH: (True, Decimal("0.001"), Decimal(100), False,
                             "the availability in percent below which the SLA is breached (above 0, at most 100)"),
    TriggerKind.MANUAL: (False, None, None, False, "nothing: a person decides"),
}


class PlanRefused(Exception):
    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("; ".join(reasons))


# --- who, when --------------------------------------------------------------------------------------


def edit_blockers(request: UpgradeRequest, user) -> list[str]:
    """Why `user` may not edit the plan of `request` now (empty: may)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return ["You must be signed in."]
    reasons = []
    if request.state not in EDIT_STATES:
        reasons.append(f"{request.reference} is {request.get_state_display().lower()}; the plan changes only "
                       "while the request is being assessed or planned (replan an approved request first).")
    if not user.has_role(Role.ADMIN):
        reasons.extend(duties.duty_check(user, request, Duty.REQUESTER))
    return reasons


def _may_edit(request: UpgradeRequest, by) -> None:
    if by is None or not by.is_authenticated or not by.has_role(Role.ADMIN):
        reasons = duties.duty_check(by, request, Duty.REQUESTER)
        if reasons:
            raise duties.DutyRefused(reasons)
    if request.state not in EDIT_STATES:
        raise PlanRefused([f"{request.reference} is {request.get_state_display().lower()}; the plan changes "
                           "only while the request is being assessed or planned (replan an approved request "
                           "first)."])


def _refused(exc, *, action: str, by, request: UpgradeRequest, **data) -> None:
    actor = by if by is not None and by.is_authenticated else None
    audit_append(action=action, actor=actor, obj=request, data={**data, "reasons": exc.reasons})


def _lock_request(request: UpgradeRequest) -> UpgradeRequest:
    return UpgradeRequest.objects.select_for_update().get(pk=request.pk)


def _plan(request: UpgradeRequest, by) -> Plan:
    plan = Plan.objects.select_for_update().filter(request=request).first()
    if plan is None:
        now = clock.now()
        plan = Plan.objects.create(request=request, planner_timezone=_user_zone(by), created_at=now, updated_at=now)
        audit_append(action="plan.create", actor=by, obj=request, after={"planner_timezone": plan.planner_timezone})
    return plan


def _user_zone(user) -> str:
    name = getattr(user, "timezone", "") or "UTC"
    return name if _valid_zone(name) else "UTC"


def _valid_zone(name) -> bool:
    if not isinstance(name, str) or not name or "\x00" in name or len(name) > 64:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _edit(request: UpgradeRequest, by, what: str, work):
    """Run `work(request, plan)` under the request's lock, as an editor of the plan; audit refusals."""
    try:
        with transaction.atomic():
            request = _lock_request(request)
            _may_edit(request, by)
            plan = _plan(request, by)
            result = work(request, plan)
            Plan.objects.filter(pk=plan.pk).update(updated_at=clock.now())
    except PlanRefused as exc:
        _refused(exc, action="plan.refused", by=by, request=request, what=what)
        raise
    except duties.DutyRefused as exc:
        _refused(exc, action="duty.denied", by=by, request=request, duties=[Duty.REQUESTER], what=what)
        raise
    return result


def plan_ensure(*, request: UpgradeRequest, by) -> Plan:
    """The plan of the request, created (empty) when there is none yet."""
    return _edit(request, by, "create plan", lambda request, plan: plan)


# --- time zones ---------------------------------------------------------------------------------------


def to_utc(value, *, tzname: str, field: str, errors: dict):
    """A window bound entered in `tzname` (a naive or ISO text wall time, or an aware datetime) in UTC.

    A wall time that does not exist (the hour skipped when clocks go forward) or exists twice (the
    hour repeated when they go back) is refused: the planner must say which moment they mean.
    """
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            errors[field] = "Enter a date and time such as 2026-12-06T01:00."
            return None
    if not isinstance(value, dt.datetime):
        errors[field] = "Enter a date and time."
        return None
    if value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    zone = zoneinfo.ZoneInfo(tzname)
    first, second = value.replace(tzinfo=zone, fold=0), value.replace(tzinfo=zone, fold=1)
    back = first.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
    if back != value:
        errors[field] = (f"{value:%Y-%m-%d %H:%M} does not exist in {tzname}: the clocks go forward then. "
                         "Pick a time outside the skipped hour.")
        return None
    if first.utcoffset() != second.utcoffset():
        errors[field] = (f"{value:%Y-%m-%d %H:%M} happens twice in {tzname}: the clocks go back then. "
                         "Pick a time outside the repeated hour, or give the UTC offset.")
        return None
    return first.astimezone(dt.UTC)


def _clean_window(data: dict, errors: dict, tzname: str, current: Wave | None = None) -> dict:
    cleaned = {}
    for field in ("window_start", "window_end"):
        if field in data:
            cleaned[field] = to_utc(data[field], tzname=tzname, field=field, errors=errors)
    if errors:
        return cleaned
    start = cleaned.get("window_start", current.window_start if current else None)
    end = cleaned.get("window_end", current.window_end if current else None)
    if (start is None) != (end is None):
        errors["window_end" if start else "window_start"] = "Give both the start and the end of the window."
    elif start and end and end <= start:
        errors["window_end"] = "The window must end after it starts."
    elif start and end and end - start > MAX_WINDOW:
        errors["window_end"] = "A maintenance window lasts at most 14 days; split the work into waves."
    return cleaned


# --- the plan itself: strategy, time zone, data migration ----------------------------------------------

PLAN_FIELDS = ("strategy", "strategy_justification", "planner_timezone", "data_migration_scope",
               "data_migration_volume", "data_migration_method", "data_migration_verification")


def _plan_snapshot(plan: Plan) -> dict:
    return {k: getattr(plan, k) for k in PLAN_FIELDS}


def plan_update(*, request: UpgradeRequest, by, **data) -> Plan:
    """Strategy (a choice other than the recommendation needs a justification), the planner's time zone
    and the data migration scope."""
    unknown = set(data) - set(PLAN_FIELDS)
    if unknown:
        raise ValidationError({k: "Not a field of the plan." for k in sorted(unknown)})
    errors: dict = {}
    cleaned = {}
    if "strategy" in data:
        if data["strategy"] not in ("", *Strategy.values):
            errors["strategy"] = f"Choose one of: {', '.join(Strategy.values)}."
        cleaned["strategy"] = data["strategy"] or ""
    if "strategy_justification" in data:
        cleaned["strategy_justification"] = clean_text(errors, "strategy_justification",
                                                       data["strategy_justification"], required=False,
                                                       max_length=MAX_TEXT)
    if "planner_timezone" in data:
        if not _valid_zone(data["planner_timezone"]):
            errors["planner_timezone"] = "Give an IANA time zone such as Europe/Berlin."
        cleaned["planner_timezone"] = data["planner_timezone"]
    if "data_migration_scope" in data:
        if data["data_migration_scope"] not in ("", *DataMigrationScope.values):
            errors["data_migration_scope"] = f"Choose one of: {', '.join(DataMigrationScope.values)}."
        cleaned["data_migration_scope"] = data["data_migration_scope"] or ""
    if "data_migration_volume" in data:
        cleaned["data_migration_volume"] = clean_text(errors, "data_migration_volume", data["data_migration_volume"],
                                                      required=False, max_length=120)
    for field in ("data_migration_method", "data_migration_verification"):
        if field in data:
            cleaned[field] = clean_text(errors, field, data[field], required=False, max_length=MAX_TEXT)
    if errors:
        raise ValidationError(errors)

    def work(request, plan):
        from .recommend import recommend

        before = _plan_snapshot(plan)
        for key, value in cleaned.items():
            setattr(plan, key, value)
        if "strategy" in cleaned and plan.strategy:
            recommended = recommend(request)
            if plan.strategy != recommended.strategy and not plan.strategy_justification:
                raise ValidationError({"strategy_justification": (
                    f"Tollgate recommends {recommended.label}; say why {Strategy(plan.strategy).label} "
                    "is the better choice here.")})
        plan.updated_at = clock.now()
        plan.save()
        b, a = field_diff(before, _plan_snapshot(plan))
        if a:
            audit_append(action="plan.update", actor=by, obj=request, before=b, after=a)
        return plan

    return _edit(request, by, "update plan", work)


# --- waves --------------------------------------------------------------------------------------------


def _affected_system_ids(request: UpgradeRequest) -> set[int]:
    return set(request.items.values_list("system_id", flat=True))


def _ids(values, errors: dict, field: str) -> list[int]:
    if values is None:
        return []
    if not isinstance(values, (list, tuple, set)) and not hasattr(values, "__iter__"):
        errors[field] = "Give a list."
        return []
    out = []
    for v in values:
        pk = getattr(v, "pk", v)
        try:
            out.append(int(pk))
        except (TypeError, ValueError):
            errors[field] = "Give systems by their numeric id."
            return []
    return sorted(set(out))


def _wave_snapshot(wave: Wave) -> dict:
    return {
        "position": wave.position, "name": wave.name,
        "environment": wave.environment.slug if wave.environment_id else None,
        "systems": sorted(wave.systems.values_list("slug", flat=True)) if wave.pk else [],
        "window_start": wave.window_start, "window_end": wave.window_end,
        "entry_criteria": wave.entry_criteria, "exit_criteria": wave.exit_criteria,
    }


def _clean_wave(request: UpgradeRequest, data: dict, *, current: Wave | None, tzname: str) -> dict:
    errors: dict = {}
    cleaned: dict = {}
    if "name" in data or current is None:
        cleaned["name"] = clean_text(errors, "name", data.get("name"), required=True, max_length=120)
    for field in ("entry_criteria", "exit_criteria"):
        if field in data:
            cleaned[field] = clean_text(errors, field, data[field], required=False, max_length=MAX_TEXT)
    if "environment" in data:
        env = data["environment"]
        if env in (None, ""):
            cleaned["environment"] = None
        else:
            pk = getattr(env, "pk", env)
            found = Environment.objects.filter(pk=pk).first() if str(pk).isdigit() else None
            if found is None:
                errors["environment"] = "Unknown environment."
            cleaned["environment"] = found
    if "systems" in data:
        ids = _ids(data["systems"], errors, "systems")
        allowed = _affected_system_ids(request)
        strangers = [i for i in ids if i not in allowed]
        if strangers:
            names = ", ".join(System.objects.filter(pk__in=strangers).values_list("name", flat=True)) or "unknown"
            errors["systems"] = f"Only systems this request changes can be in a wave (not: {names})."
        cleaned["systems"] = ids
    cleaned.update(_clean_window(data, errors, tzname, current))
    if errors:
        raise ValidationError(errors)
    return cleaned


def _refresh_conflicts(request: UpgradeRequest, by) -> None:
    """The calendar re-checks this request's windows for conflicts (apps/rollouts/calendar)."""
    try:
        from .calendar.services import conflicts_refresh
    except ImportError:
        return
    conflicts_refresh(request=request, by=by)


def wave_add(*, request: UpgradeRequest, by, timezone: str | None = None, **data) -> Wave:
    tzname = timezone or _user_zone(by)
    if not _valid_zone(tzname):
        raise ValidationError({"timezone": "Give an IANA time zone such as Europe/Berlin."})
    cleaned = _clean_wave(request, data, current=None, tzname=tzname)

    def work(request, plan):
        systems = cleaned.pop("systems", None)
        position = (plan.waves.aggregate(m=Max("position"))["m"] or 0) + 1
        wave = Wave.objects.create(plan=plan, position=position, **cleaned)
        if not systems and len(_affected_system_ids(request)) == 1:
            systems = list(_affected_system_ids(request))  # one system: the wave is obviously about it
        if systems:
            wave.systems.set(systems)
        if wave.window_start:
            plan.planner_timezone = tzname
            plan.save(update_fields=["planner_timezone"])
        audit_append(action="plan.wave_add", actor=by, obj=request, after=_wave_snapshot(wave),
                     data={"entered_in": tzname})
        return wave

    wave = _edit(request, by, "add wave", work)
    if wave.window_start:
        _refresh_conflicts(request, by)
    return wave


def _own(model, pk, plan: Plan, label: str):
    obj = model.objects.select_for_update().filter(pk=getattr(pk, "pk", pk)).first()
    owner_plan = getattr(obj, "plan_id", None) if obj is not None else None
    if obj is not None and model is WaveTier:
        owner_plan = obj.wave.plan_id
    if obj is None or owner_plan != plan.pk:
        raise ValidationError({"id": f"No such {label} in this plan."})
    return obj


def wave_update(*, wave: Wave, by, timezone: str | None = None, **data) -> Wave:
    request = wave.plan.request
    tzname = timezone or _user_zone(by)
    if not _valid_zone(tzname):
        raise ValidationError({"timezone": "Give an IANA time zone such as Europe/Berlin."})
    position = data.pop("position", None)
    cleaned = _clean_wave(request, data, current=wave, tzname=tzname)

    def work(request, plan):
        obj = _own(Wave, wave, plan, "wave")
        before = _wave_snapshot(obj)
        systems = cleaned.pop("systems", None)
        for key, value in cleaned.items():
            setattr(obj, key, value)
        if position is not None and int(position) != obj.position:
            _move(plan.waves.all(), obj, int(position))
        obj.save()
        if systems is not None:
            obj.systems.set(systems)
        if {"window_start", "window_end"} & set(cleaned) and obj.window_start:
            plan.planner_timezone = tzname
            plan.save(update_fields=["planner_timezone"])
        b, a = field_diff(before, _wave_snapshot(obj))
        if a:
            audit_append(action="plan.wave_update", actor=by, obj=request, before=b, after=a,
                         data={"wave": obj.position, "entered_in": tzname})
        return obj, bool({"window_start", "window_end"} & set(a))

    obj, window_changed = _edit(request, by, "update wave", work)
    if window_changed:
        _refresh_conflicts(request, by)
    return obj


def _move(siblings, obj, position: int) -> None:
    """Give `obj` the position another sibling holds, and that sibling `obj`'s old one."""
    if position < 1:
        raise ValidationError({"position": "Positions start at 1."})
    other = siblings.exclude(pk=obj.pk).filter(position=position).first()
    old = obj.position
    if other is not None:
        top = (siblings.aggregate(m=Max("position"))["m"] or 0) + 1
        type(obj).objects.filter(pk=other.pk).update(position=top)  # out of the way of the unique constraint
        obj.position = position
        obj.save(update_fields=["position"])
        type(obj).objects.filter(pk=other.pk).update(position=old)
    else:
        obj.position = position


def wave_delete(*, wave: Wave, by) -> None:
    request = wave.plan.request

    def work(request, plan):
        obj = _own(Wave, wave, plan, "wave")
        audit_append(action="plan.wave_delete", actor=by, obj=request, before=_wave_snapshot(obj))
        obj.delete()

    _edit(request, by, "delete wave", work)
    _refresh_conflicts(request, by)


# --- tiers --------------------------------------------------------------------------------------------


def _tier_snapshot(tier: WaveTier) -> dict:
    return {"wave": tier.wave.position, "position": tier.position, "layer": tier.layer, "mode": tier.mode,
            "reason": tier.reason, "systems": sorted(tier.systems.values_list("slug", flat=True)) if tier.pk else []}


def _clean_tier(request, data: dict, *, creating: bool) -> dict:
    errors: dict = {}
    cleaned: dict = {}
    if "layer" in data or creating:
        if data.get("layer") not in Layer.values:
            errors["layer"] = f"Choose one of: {', '.join(Layer.values)}."
        cleaned["layer"] = data.get("layer")
    if "mode" in data or creating:
        mode = data.get("mode") or TierMode.SEQUENTIAL
        if mode not in TierMode.values:
            errors["mode"] = f"Choose one of: {', '.join(TierMode.values)}."
        cleaned["mode"] = mode
    if "reason" in data or creating:
        cleaned["reason"] = clean_text(errors, "reason", data.get("reason"), required=True, max_length=MAX_TEXT)
        if errors.get("reason") == "This field is required.":
            errors["reason"] = "Say why this tier comes in this order (or runs simultaneously)."
    if "systems" in data:
        ids = _ids(data["systems"], errors, "systems")
        if set(ids) - _affected_system_ids(request):
            errors["systems"] = "Only systems this request changes can be in a tier."
        cleaned["systems"] = ids
    if errors:
        raise ValidationError(errors)
    return cleaned


def tier_add(*, wave: Wave, by, **data) -> WaveTier:
    request = wave.plan.request
    cleaned = _clean_tier(request, data, creating=True)

    def work(request, plan):
        obj = _own(Wave, wave, plan, "wave")
        systems = cleaned.pop("systems", None)
        position = (obj.tiers.aggregate(m=Max("position"))["m"] or 0) + 1
        tier = WaveTier.objects.create(wave=obj, position=position, **cleaned)
        if systems:
            tier.systems.set(systems)
        audit_append(action="plan.tier_add", actor=by, obj=request, after=_tier_snapshot(tier))
        return tier

    return _edit(request, by, "add tier", work)


def tier_update(*, tier: WaveTier, by, **data) -> WaveTier:
    request = tier.wave.plan.request
    position = data.pop("position", None)
    cleaned = _clean_tier(request, data, creating=False)

    def work(request, plan):
        obj = _own(WaveTier, tier, plan, "tier")
        before = _tier_snapshot(obj)
        systems = cleaned.pop("systems", None)
        for key, value in cleaned.items():
            setattr(obj, key, value)
        if position is not None and int(position) != obj.position:
            _move(obj.wave.tiers.all(), obj, int(position))
        obj.save()
        if systems is not None:
            obj.systems.set(systems)
        b, a = field_diff(before, _tier_snapshot(obj))
        if a:
            audit_append(action="plan.tier_update", actor=by, obj=request, before=b, after=a)
        return obj

    return _edit(request, by, "update tier", work)


def tier_delete(*, tier: WaveTier, by) -> None:
    request = tier.wave.plan.request

    def work(request, plan):
        obj = _own(WaveTier, tier, plan, "tier")
        audit_append(action="plan.tier_delete", actor=by, obj=request, before=_tier_snapshot(obj))
        obj.delete()

    _edit(request, by, "delete tier", work)


# --- rollback triggers --------------------------------------------------------------------------------


def _trigger_snapshot(t: RollbackTrigger) -> dict:
    return {"name": t.name, "kind": t.kind, "threshold": None if t.threshold is None else str(t.threshold),
            "evaluation_window_minutes": t.evaluation_window_minutes, "action": t.action,
            "system": t.system.slug if t.system_id else None, "endpoint": t.endpoint_id, "notes": t.notes}


def _clean_trigger(request, data: dict, current: RollbackTrigger | None) -> dict:
    errors: dict = {}
    cleaned: dict = {}
    if "name" in data or current is None:
        cleaned["name"] = clean_text(errors, "name", data.get("name"), required=True, max_length=120)
    kind = data.get("kind", current.kind if current else None)
    if kind not in TriggerKind.values:
        errors["kind"] = f"Choose one of: {', '.join(TriggerKind.values)}."
    cleaned["kind"] = kind
    threshold = data.get("threshold", current.threshold if current else None)
    if kind in THRESHOLDS:
        required, low, high, whole, words = THRESHOLDS[kind]
        if threshold in (None, ""):
            if required:
                errors["threshold"] = f"Give the threshold: {words}."
            threshold = None
        elif not required:
            errors["threshold"] = "A manual trigger has no threshold: leave it empty."
        else:
            try:
                value = Decimal(str(threshold).strip())
                if not value.is_finite():
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                errors["threshold"] = f"Give a number: {words}."
            else:
                if value < low or value > high or (whole and value != value.to_integral_value()):
                    errors["threshold"] = f"Out of range: give {words}."
                threshold = value.quantize(Decimal("0.001")) if "threshold" not in errors else None
    cleaned["threshold"] = threshold
    if "evaluation_window_minutes" in data or current is None:
        raw = data.get("evaluation_window_minutes", 5)
        try:
            if isinstance(raw, bool):  # JSON true is no number of minutes (int(True) would be 1)
                raise ValueError
            minutes = int(raw)
            if str(raw).strip() != str(minutes) and not isinstance(raw, int):
                raise ValueError
        except (TypeError, ValueError):
            errors["evaluation_window_minutes"] = "Give a whole number of minutes."
            minutes = None
        if minutes is not None and not 1 <= minutes <= MAX_EVALUATION_MINUTES:
            errors["evaluation_window_minutes"] = "The evaluation window is 1 to 1440 minutes."
        cleaned["evaluation_window_minutes"] = minutes
    if "action" in data or current is None:
        action = data.get("action") or TriggerAction.PAUSE
        if action not in TriggerAction.values:
            errors["action"] = f"Choose one of: {', '.join(TriggerAction.values)}."
        cleaned["action"] = action
    if "system" in data:
        system = data["system"]
        if system in (None, ""):
            cleaned["system"] = None
        else:
            pk = getattr(system, "pk", system)
            found = System.objects.filter(pk=pk).first() if str(pk).isdigit() else None
            if found is None or found.pk not in _affected_system_ids(request):
                errors["system"] = "Pick one of the systems this request changes."
            cleaned["system"] = found
    if "endpoint" in data:
        endpoint = data["endpoint"]
        if endpoint in (None, ""):
            cleaned["endpoint"] = None
        else:
            pk = getattr(endpoint, "pk", endpoint)
            found = Endpoint.objects.filter(pk=pk).first() if str(pk).isdigit() else None
            if found is None or found.system_id not in _affected_system_ids(request):
                errors["endpoint"] = "Pick a health endpoint of a system this request changes."
            cleaned["endpoint"] = found
    if "notes" in data:
        cleaned["notes"] = clean_text(errors, "notes", data["notes"], required=False, max_length=MAX_TEXT)
    if errors:
        raise ValidationError(errors)
    return cleaned


def trigger_add(*, request: UpgradeRequest, by, **data) -> RollbackTrigger:
    cleaned = _clean_trigger(request, data, None)

    def work(request, plan):
        trigger = RollbackTrigger.objects.create(plan=plan, **cleaned)
        audit_append(action="plan.trigger_add", actor=by, obj=request, after=_trigger_snapshot(trigger))
        return trigger

    return _edit(request, by, "add trigger", work)


def trigger_update(*, trigger: RollbackTrigger, by, **data) -> RollbackTrigger:
    request = trigger.plan.request
    cleaned = _clean_trigger(request, data, trigger)

    def work(request, plan):
        obj = _own(RollbackTrigger, trigger, plan, "trigger")
        before = _trigger_snapshot(obj)
        for key, value in cleaned.items():
            setattr(obj, key, value)
        obj.save()
        b, a = field_diff(before, _trigger_snapshot(obj))
        if a:
            audit_append(action="plan.trigger_update", actor=by, obj=request, before=b, after=a)
        return obj

    return _edit(request, by, "update trigger", work)


def trigger_delete(*, trigger: RollbackTrigger, by) -> None:
    request = trigger.plan.request

    def work(request, plan):
        obj = _own(RollbackTrigger, trigger, plan, "trigger")
        audit_append(action="plan.trigger_delete", actor=by, obj=request, before=_trigger_snapshot(obj))
        obj.delete()

    _edit(request, by, "delete trigger", work)


# --- runbook steps ------------------------------------------------------------------------------------

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
NEEDS_COMPONENT = (StepAction.STOP_SERVICE, StepAction.UPGRADE, StepAction.START_SERVICE)


def _step_snapshot(s: RunbookStep) -> dict:
    return {"runbook": s.runbook, "key": s.key, "position": s.position, "title": s.title,
            "owner_duty": s.owner_duty, "expected_minutes": s.expected_minutes, "instructions": s.instructions,
            "verification": s.verification, "action": s.action, "component": s.component_id,
            "wave": s.wave.position if s.wave_id else None, "is_outage": s.is_outage,
            "depends_on": sorted(s.depends_on.values_list("key", flat=True)) if s.pk else []}


def _clean_step(data: dict, current: RunbookStep | None) -> dict:
    errors: dict = {}
    cleaned: dict = {}
    creating = current is None
    if "runbook" in data or creating:
        runbook = data.get("runbook") or Runbook.FORWARD
        if runbook not in Runbook.values:
            errors["runbook"] = f"Choose one of: {', '.join(Runbook.values)}."
        cleaned["runbook"] = runbook
    if "key" in data or creating:
        key = data.get("key")
        if not isinstance(key, str) or not KEY_RE.match(key.strip()):
            errors["key"] = ("Give a short name of lower-case letters, digits, - or _ (at most 40), "
                             "e.g. stop-app.")
        cleaned["key"] = key.strip() if isinstance(key, str) else ""
    if "title" in data or creating:
        cleaned["title"] = clean_text(errors, "title", data.get("title"), required=True, max_length=200)
    if "instructions" in data or creating:
        cleaned["instructions"] = clean_text(errors, "instructions", data.get("instructions"), required=True,
                                             max_length=MAX_TEXT)
    if "verification" in data:
        cleaned["verification"] = clean_text(errors, "verification", data["verification"], required=False,
                                             max_length=MAX_TEXT)
    if "owner_duty" in data or creating:
        duty = data.get("owner_duty") or Duty.IMPLEMENTER
        if duty not in (Duty.IMPLEMENTER, Duty.VALIDATOR):
            errors["owner_duty"] = "The implementer or the validator carries out a step."
        cleaned["owner_duty"] = duty
    if "expected_minutes" in data or creating:
        raw = data.get("expected_minutes")
        try:
            minutes = int(raw)
            if isinstance(raw, (bool, float)) or (isinstance(raw, str) and raw.strip() != str(minutes)):
                raise ValueError
        except (TypeError, ValueError):
            errors["expected_minutes"] = "Give the expected duration in whole minutes."
            minutes = None
        if minutes is not None and not 1 <= minutes <= MAX_STEP_MINUTES:
            errors["expected_minutes"] = "A step takes 1 to 1440 minutes; split longer work into steps."
        cleaned["expected_minutes"] = minutes
    if "action" in data or creating:
        action = data.get("action") or StepAction.INSTRUCTION
        if action not in StepAction.values:
            errors["action"] = f"Choose one of: {', '.join(StepAction.values)}."
        cleaned["action"] = action
    if "component" in data:
        comp = data["component"]
        if comp in (None, ""):
            cleaned["component"] = None
        else:
            pk = getattr(comp, "pk", comp)
            found = Component.objects.select_related("system").filter(pk=pk).first() if str(pk).isdigit() else None
            if found is None:
                errors["component"] = "No such component in the inventory."
            cleaned["component"] = found
    if "is_outage" in data:
        if not isinstance(data["is_outage"], bool):
            errors["is_outage"] = "Answer true or false."
        cleaned["is_outage"] = bool(data["is_outage"])
    if "wave" in data:
        cleaned["wave"] = data["wave"]
    if "depends_on" in data:
        deps = data["depends_on"] or []
        if isinstance(deps, str):
            deps = [d for d in re.split(r"[\s,]+", deps) if d]
        if not isinstance(deps, (list, tuple)) or not all(isinstance(d, str) for d in deps):
            errors["depends_on"] = "Give the keys of the steps this one waits for."
            deps = []
        cleaned["depends_on"] = sorted({d.strip() for d in deps})
    if "position" in data and data["position"] not in (None, ""):
        try:
            cleaned["position"] = int(data["position"])
            if cleaned["position"] < 0:
                raise ValueError
        except (TypeError, ValueError):
            errors["position"] = "Give a whole number."
    action = cleaned.get("action", current.action if current else None)
    component = cleaned["component"] if "component" in cleaned else (current.component if current else None)
    if action in NEEDS_COMPONENT and component is None and "component" not in errors:
        errors["component"] = f"“{StepAction(action).label}” needs the component it acts on."
    if errors:
        raise ValidationError(errors)
    return cleaned


def _apply_step(request, plan: Plan, step: RunbookStep, cleaned: dict, *, creating: bool) -> RunbookStep:
    errors: dict = {}
    deps = cleaned.pop("depends_on", None)
    wave = cleaned.pop("wave", "unset")
    runbook = cleaned.get("runbook", step.runbook)
    if "key" in cleaned and plan.steps.filter(runbook=runbook, key=cleaned["key"]).exclude(pk=step.pk).exists():
        errors["key"] = f"Another step of this runbook is called “{cleaned['key']}”."
    if wave != "unset":
        if wave in (None, ""):
            cleaned["wave"] = None
        else:
            pk = getattr(wave, "pk", wave)
            found = plan.waves.filter(pk=pk).first() if str(pk).isdigit() else None
            if found is None:
                errors["wave"] = "No such wave in this plan."
            cleaned["wave"] = found
    for key, value in cleaned.items():
        setattr(step, key, value)
    if creating and "position" not in cleaned:
        step.position = (plan.steps.filter(runbook=step.runbook).aggregate(m=Max("position"))["m"] or 0) + 1
    siblings = {s.key: s for s in plan.steps.filter(runbook=step.runbook).exclude(pk=step.pk)
                .prefetch_related("depends_on")}
    targets = []
    if deps is not None:
        if step.key in deps:
            errors["depends_on"] = "A step cannot wait for itself."
        missing = [d for d in deps if d not in siblings and d != step.key]
        if missing:
            errors["depends_on"] = (f"No step called {', '.join(f'“{m}”' for m in missing)} in the "
                                    f"{Runbook(step.runbook).label.lower()}.")
        targets = [siblings[d] for d in deps if d in siblings]
        if "depends_on" not in errors:
            graph = {k: {d.key for d in s.depends_on.all()} for k, s in siblings.items()}
            cycle = dag.would_cycle(graph=graph, key=step.key, depends_on=set(deps))
            if cycle:
                errors["depends_on"] = "This would make a cycle: " + " → ".join(cycle) + "."
    elif not creating and "runbook" in cleaned and step.depends_on.exclude(runbook=step.runbook).exists():
        errors["runbook"] = "Remove the dependencies on steps of the other runbook first."
    if errors:
        raise ValidationError(errors)
    step.save()
    if deps is not None:
        step.depends_on.set(targets)
    return step


def step_add(*, request: UpgradeRequest, by, **data) -> RunbookStep:
    cleaned = _clean_step(data, None)

    def work(request, plan):
        step = _apply_step(request, plan, RunbookStep(plan=plan), cleaned, creating=True)
        audit_append(action="plan.step_add", actor=by, obj=request, after=_step_snapshot(step))
        return step

    return _edit(request, by, "add runbook step", work)


def step_update(*, step: RunbookStep, by, **data) -> RunbookStep:
    request = step.plan.request
    cleaned = _clean_step(data, step)

    def work(request, plan):
        obj = _own(RunbookStep, step, plan, "runbook step")
        before = _step_snapshot(obj)
        obj = _apply_step(request, plan, obj, cleaned, creating=False)
        b, a = field_diff(before, _step_snapshot(obj))
        if a:
            audit_append(action="plan.step_update", actor=by, obj=request, before=b, after=a,
                         data={"step": obj.key})
        return obj

    return _edit(request, by, "update runbook step", work)


def step_delete(*, step: RunbookStep, by) -> None:
    request = step.plan.request

    def work(request, plan):
        obj = _own(RunbookStep, step, plan, "runbook step")
        waiting = list(obj.dependents.values_list("key", flat=True))
        if waiting:
            raise ValidationError({"id": f"Steps {', '.join(waiting)} wait for “{obj.key}”; change them first."})
        audit_append(action="plan.step_delete", actor=by, obj=request, before=_step_snapshot(obj))
        obj.delete()

    _edit(request, by, "delete runbook step", work)


# --- integration fallbacks ----------------------------------------------------------------------------


def fallback_set(*, request: UpgradeRequest, by, integration, procedure: str, contact: str = "") -> IntegrationFallback:
    """The fallback procedure for one integration of an affected system (created or replaced)."""
    errors: dict = {}
    procedure = clean_text(errors, "procedure", procedure, required=True, max_length=MAX_TEXT)
    contact = clean_text(errors, "contact", contact, required=False, max_length=200)
    pk = getattr(integration, "pk", integration)
    found = Integration.objects.select_related("system").filter(pk=pk).first() if str(pk).isdigit() else None
    if found is None or found.system_id not in _affected_system_ids(request):
        errors["integration"] = "Pick an integration of a system this request changes."
    if errors:
        raise ValidationError(errors)

    def work(request, plan):
        fallback = IntegrationFallback.objects.select_for_update().filter(plan=plan, integration=found).first()
        before = {"procedure": fallback.procedure, "contact": fallback.contact} if fallback else {}
        if fallback is None:
            fallback = IntegrationFallback(plan=plan, integration=found)
        fallback.procedure, fallback.contact = procedure, contact
        fallback.save()
        b, a = field_diff(before, {"procedure": procedure, "contact": contact})
        if a:
            audit_append(action="plan.fallback_set", actor=by, obj=request, before=b or None, after=a,
                         data={"integration": str(found)})
        return fallback

    return _edit(request, by, "set integration fallback", work)


def fallback_delete(*, fallback: IntegrationFallback, by) -> None:
    request = fallback.plan.request

    def work(request, plan):
        obj = _own(IntegrationFallback, fallback, plan, "fallback")
        audit_append(action="plan.fallback_delete", actor=by, obj=request,
                     before={"integration": str(obj.integration), "procedure": obj.procedure})
        obj.delete()

    _edit(request, by, "delete integration fallback", work)


# --- versions -----------------------------------------------------------------------------------------


def plan_freeze(*, request: UpgradeRequest, by, transition: str = "submit_to_cab", reason: str = "") -> PlanVersion:
    """The effect of submitting to CAB: an immutable copy of the plan (canonical JSON and its SHA-256).

    Runs inside upgrade_transition's transaction, which holds the request's row lock."""
    from .versions import plan_content, sha256_of

    plan = Plan.objects.select_for_update().filter(request=request).first()
    if plan is None:
        now = clock.now()
        plan = Plan.objects.create(request=request, planner_timezone=_user_zone(by), created_at=now, updated_at=now)
    by = by if by is not None and getattr(by, "pk", None) else request.requester  # an automatic submission
    content = plan_content(plan)
    number = (PlanVersion.objects.filter(plan=plan).aggregate(m=Max("number"))["m"] or 0) + 1
    version = PlanVersion.objects.create(plan=plan, number=number, content=content, sha256=sha256_of(content),
                                         created_by=by, created_at=clock.now(), reason=reason)
    audit_append(action="plan.version_frozen", actor=by, obj=request,
                 after={"version": number, "sha256": version.sha256}, data={"transition": transition})
    return version


def freeze_effect(*, request, by, transition, reason) -> None:
    plan_freeze(request=request, by=by, transition=transition, reason=reason)


# --- a complete plan for the demo and the tests -------------------------------------------------------


def _minutes(start, end) -> int:
    return int((end - start).total_seconds() // 60)


def plan_pass(*, request: UpgradeRequest, by) -> Plan:
    """Build what is missing of a plan that passes this app's gates (the seed and tests' drive() use it).

    Follows the recommendation (two waves when it says phased), puts the waves on the request's window,
    and writes runbook steps that fit it, a backout runbook, triggers, integration fallbacks and the data
    migration scope — all through the services above. Idempotent: a resubmit reuses what is there.
    """
    from .recommend import recommend

    plan = plan_ensure(request=request, by=by)
    request.refresh_from_db()
    recommendation = recommend(request)
    if not plan.strategy:
        plan = plan_update(request=request, by=by, strategy=recommendation.strategy)
    items = list(request.items.select_related("system", "component__system", "component__environment"))
    systems = sorted({i.system for i in items}, key=lambda s: s.name)
    start, end = request.window_start, request.window_end
    if start is None or end is None:
        start = clock.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=7)
        end = start + dt.timedelta(hours=4)
    waves = list(plan.waves.order_by("position"))
    if not waves:
        env = next((i.component.environment_id for i in items if i.component_id), None)
        if plan.strategy == Strategy.PHASED:
            middle = start + (end - start) / 2
            first = systems[: max(1, len(systems) // 2)]
            rest = systems[len(first):] or systems
            wave_add(request=request, by=by, name="Wave 1: pilot", environment=env, systems=[s.pk for s in first],
                     window_start=start, window_end=middle,
                     entry_criteria="Assessment complete; backups verified; implementer and validator on call.",
                     exit_criteria="Health checks green for 30 minutes; no trigger fired.")
            wave_add(request=request, by=by, name="Wave 2: remainder", environment=env,
                     systems=[s.pk for s in rest], window_start=middle, window_end=end,
                     entry_criteria="Wave 1 exit criteria met and signed off by the validator.",
                     exit_criteria="Health checks green; smoke tests passed; business owners informed.")
        else:
            wave_add(request=request, by=by, name="Production", environment=env, systems=[s.pk for s in systems],
                     window_start=start, window_end=end,
                     entry_criteria="Assessment complete; backups verified; implementer and validator on call.",
                     exit_criteria="Health checks green for 30 minutes; smoke tests passed.")
        waves = list(plan.waves.order_by("position"))
    for wave in waves:
        if wave.window_start is None:
            wave_update(wave=wave, by=by, window_start=start, window_end=end)
    waves = list(plan.waves.order_by("position"))
    shortest = min(_minutes(w.window_start, w.window_end) for w in waves)
    components = [i.component for i in items if i.component_id]
    if not plan.steps.filter(runbook=Runbook.FORWARD).exists():
        _seed_forward(request, by, components, shortest, waves[0])
    if not plan.steps.filter(runbook=Runbook.BACKOUT).exists():
        _seed_backout(request, by, components, shortest)
    if not plan.triggers.exists():
        trigger_add(request=request, by=by, name="Health checks failing", kind=TriggerKind.HEALTH_FAILURES,
                    threshold=3, evaluation_window_minutes=5, action=TriggerAction.ROLL_BACK,
                    notes="Three failed checks in a row on any endpoint of the changed systems.")
        trigger_add(request=request, by=by, name="Error rate above baseline",
                    kind=TriggerKind.ERROR_RATE_OVER_BASELINE, threshold=2, evaluation_window_minutes=10,
                    action=TriggerAction.PAUSE)
        trigger_add(request=request, by=by, name="p95 latency tripled", kind=TriggerKind.LATENCY_P95_OVER_BASELINE,
                    threshold=3, evaluation_window_minutes=10, action=TriggerAction.PAUSE)
    elif not plan.triggers.filter(action=TriggerAction.ROLL_BACK).exists():
        trigger_add(request=request, by=by, name="Implementer calls it", kind=TriggerKind.MANUAL,
                    action=TriggerAction.ROLL_BACK)
    have = set(plan.fallbacks.values_list("integration_id", flat=True))
    for integration in Integration.objects.filter(system__in=systems).exclude(pk__in=have).order_by("pk"):
        fallback_set(request=request, by=by, integration=integration,
                     procedure=(f"Queue outgoing {integration.protocol or 'traffic'} to {integration.partner} while "
                                "the system is down; if the upgrade is backed out, replay the queue against the "
                                "restored version and reconcile with the partner's end-of-day report."),
                     contact=f"{integration.partner} service desk")
    plan.refresh_from_db()
    if not plan.data_migration_scope:
        databases = [c for c in components if c.product.lower() in DATABASE_PRODUCTS]
        if databases:
            plan_update(request=request, by=by, data_migration_scope=DataMigrationScope.CARRY_FORWARD,
                        data_migration_volume="All data files of " + ", ".join(c.name for c in databases),
                        data_migration_method="In-place upgrade of the data files after a full backup; "
                                              "no data is archived.",
                        data_migration_verification="Row counts and checksums of the 20 largest tables "
                                                    "compared before and after.")
        else:
            plan_update(request=request, by=by, data_migration_scope=DataMigrationScope.NONE)
    plan.refresh_from_db()
    return plan


DATABASE_PRODUCTS = {"postgresql", "mysql", "mariadb", "oracle", "oracle-database", "mssql", "mssqlserver",
                     "sql-server", "mongodb", "redis", "db2", "cassandra", "elasticsearch"}


def _durations(total: int, parts: int) -> int:
    return max(1, (total * 6 // 10) // max(parts, 1))


def _seed_forward(request, by, components, window_minutes: int, wave) -> None:
    from apps.inventory.models import Dependency

    # start dependencies before their dependents (the inventory's order)
    deps = list(Dependency.objects.filter(source_component__in=components, target_component__in=components))
    ordered: list = []
    pending = list(components)
    while pending:
        ready = [c for c in pending if not any(d.source_component_id == c.pk and d.target_component_id in
                                               {p.pk for p in pending if p.pk != c.pk} for d in deps)]
        nxt = (ready or pending)[0]
        ordered.append(nxt)
        pending.remove(nxt)
    count = 3 + 3 * len(components)
    each = _durations(window_minutes, count)
    previous: list[str] = []

    def add(key, **fields):
        step_add(request=request, by=by, key=key, expected_minutes=each, depends_on=list(previous),
                 wave=wave.pk, **fields)
        previous[:] = [key]

    add("announce", title="Announce the start of the window", instructions="Post the start in the change channel "
        "and on the status page.", verification="Status page shows the maintenance notice.")
    add("backup", title="Take and verify a full backup", instructions="Run the backup job and restore-test it "
        "to the scratch host.", verification="Restore test completes; checksum matches.")
    for index, c in enumerate(reversed(ordered)):
        add(f"stop-{index + 1}", title=f"Stop {_label(c, ordered)}", action=StepAction.STOP_SERVICE, component=c.pk,
            is_outage=True, instructions=f"Stop {_label(c, ordered)} on {c.system.name} and drain its connections.",
            verification="No process listening; no open sessions.")
    for index, c in enumerate(ordered):
        add(f"upgrade-{index + 1}", title=f"Upgrade {_label(c, ordered)}", action=StepAction.UPGRADE, component=c.pk,
            is_outage=True, instructions=f"Install the target version of {c.product} on {c.system.name}.",
            verification="The reported version is the target version.")
    for index, c in enumerate(ordered):
        add(f"start-{index + 1}", title=f"Start {_label(c, ordered)}", action=StepAction.START_SERVICE, component=c.pk,
            instructions=f"Start {_label(c, ordered)} and wait until it reports ready.",
            verification="Health endpoint answers 200.")
    add("verify", title="Smoke tests and sign-off", owner_duty=Duty.VALIDATOR, action=StepAction.VERIFY,
        instructions="Run the smoke test suite and compare the health metrics with the baseline.",
        verification="Smoke tests green; metrics within 10 % of the baseline.")


def _label(component, components) -> str:
    """A component's name, with its environment when the request changes two of the same name
    (production and DR copies), so no two steps read the same."""
    same = sum(1 for c in components if c.name == component.name)
    return f"{component.name} ({component.environment.name})" if same > 1 else component.name


def _seed_backout(request, by, components, window_minutes: int) -> None:
    each = max(1, (window_minutes * 3 // 10) // (2 + 2 * max(len(components), 1)))
    previous: list[str] = []

    def add(key, **fields):
        step_add(request=request, by=by, runbook=Runbook.BACKOUT, key=key, expected_minutes=each,
                 depends_on=list(previous), **fields)
        previous[:] = [key]

    for index, c in enumerate(components):
        add(f"stop-new-{index + 1}", title=f"Stop the upgraded {_label(c, components)}", action=StepAction.STOP_SERVICE,
            component=c.pk, is_outage=True, instructions=f"Stop {_label(c, components)} on {c.system.name}.",
            verification="No process listening.")
    add("restore", title="Restore the backup taken at the start", is_outage=True,
        instructions="Reinstall the previous version and restore the backup from the start of the window.",
        verification="The reported version is the previous version; restore log shows no error.")
    for index, c in enumerate(components):
        add(f"start-old-{index + 1}", title=f"Start {_label(c, components)} on the previous version", component=c.pk,
            action=StepAction.START_SERVICE, instructions=f"Start {_label(c, components)} and wait until it reports ready.",
            verification="Health endpoint answers 200.")
    add("verify-backout", title="Confirm the old version serves", owner_duty=Duty.VALIDATOR,
        action=StepAction.VERIFY, instructions="Run the smoke tests against the restored version.",
        verification="Smoke tests green.")
