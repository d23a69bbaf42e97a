"""Rollback triggers during a run: evaluate the plan's triggers against the health results, and fire.

A firing writes a TriggerFiring with the numbers that caused it, pauses the run (or, for the action
`roll_back`, switches it to its backout runbook), audits the decision with the numbers and notifies the
implementers. The evaluation is idempotent: a firing is keyed by the latest result it saw, so the same
window evaluated twice fires once.
"""

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max

from apps.audit.services import audit_append
from apps.core import clock

from . import selectors
from .models import Baseline, CheckPurpose, CheckResult, HealthCheck, RunState, TriggerFiring

KINDS_WITH_BASELINE = ("error_rate_over_baseline", "latency_p95_over_baseline")


def _checks_for_trigger(trigger, request) -> list:
    checks = selectors.checks_of(request)
    if trigger.endpoint_id:
        checks = HealthCheck.objects.filter(endpoint_id=trigger.endpoint_id, enabled=True)
    elif trigger.system_id:
        checks = checks.filter(endpoint__system_id=trigger.system_id)
    return list(checks)


def _p95(metrics: dict):
    for key in ("p95_ms", "p95", "latency_p95"):
        if metrics.get(key) is not None:
            return float(metrics[key])
    return None


def _baselines(request, checks) -> dict[int, Baseline]:
    found: dict[int, Baseline] = {}
    for b in Baseline.objects.filter(request=request, health_check__in=checks).order_by("health_check_id",
                                                                                        "-captured_at", "-pk"):
        found.setdefault(b.health_check_id, b)
    return found


def measure(trigger, request, *, now: dt.datetime) -> dict | None:
    """The trigger's figures over its evaluation window; `fires` says whether it crossed its threshold.
    None: nothing to measure (no checks, no results, a manual trigger, no threshold)."""
    from .health import window_metrics

    if trigger.kind == "manual" or trigger.threshold is None:
        return None
    checks = _checks_for_trigger(trigger, request)
    if not checks:
        return None
    since = now - dt.timedelta(minutes=trigger.evaluation_window_minutes or 5)
    metrics = {int(k): v for k, v in window_metrics(checks, since).items()}
    samples = sum(int(m.get("samples") or 0) for m in metrics.values())
    if samples == 0:
        return None
    failures = sum(int(m.get("failures") or 0) for m in metrics.values())
    threshold = float(Decimal(trigger.threshold))
    names = {c.pk: c.name for c in checks}
    numbers: dict = {"kind": trigger.kind, "threshold": threshold, "samples": samples, "failures": failures,
                     "window_minutes": trigger.evaluation_window_minutes, "since": since.isoformat(),
                     "until": now.isoformat()}
    per_check = {}
    fires = False
    if trigger.kind == "health_failures":
        worst = max(metrics.items(), key=lambda kv: int(kv[1].get("consecutive_failures") or 0))
        observed = int(worst[1].get("consecutive_failures") or 0)
        numbers.update(observed=observed, unit="consecutive failures", check=names.get(worst[0], str(worst[0])))
        fires = observed >= threshold
    elif trigger.kind in ("error_rate", "sla_breach"):
        rate = 100.0 * failures / samples
        if trigger.kind == "error_rate":
            numbers.update(observed=round(rate, 3), unit="% errors")
            fires = rate > threshold
        else:
            availability = 100.0 - rate
            numbers.update(observed=round(availability, 3), unit="% available")
            fires = availability < threshold
    elif trigger.kind == "latency_p95":
        values = {pk: _p95(m) for pk, m in metrics.items() if _p95(m) is not None}
        if not values:
            return None
        worst_pk = max(values, key=values.get)
        numbers.update(observed=round(values[worst_pk], 3), unit="ms p95", check=names.get(worst_pk, str(worst_pk)))
        fires = values[worst_pk] > threshold
    elif trigger.kind in KINDS_WITH_BASELINE:
        baselines = _baselines(request, checks)
        if not baselines:
            return None
        observed_any = False
        for pk, m in metrics.items():
            base = baselines.get(pk)
            if base is None or not m.get("samples"):
                continue
            if trigger.kind == "error_rate_over_baseline":
                now_pts, base_pts = 100.0 * float(m.get("error_rate") or 0), 100.0 * float(base.error_rate or 0)
                crossed = now_pts > base_pts + threshold
                per_check[names.get(pk, str(pk))] = {"error_rate_pct": round(now_pts, 3),
                                                     "baseline_pct": round(base_pts, 3),
                                                     "limit_pct": round(base_pts + threshold, 3)}
            else:
                p95 = _p95(m)
                if p95 is None or not base.p95_ms:
                    continue
                crossed = p95 > threshold * base.p95_ms
                per_check[names.get(pk, str(pk))] = {"p95_ms": round(p95, 3), "baseline_p95_ms": base.p95_ms,
                                                     "limit_ms": round(threshold * base.p95_ms, 3)}
            observed_any = True
            fires = fires or crossed
        if not observed_any:
            return None
        numbers["unit"] = "points over baseline" if trigger.kind == "error_rate_over_baseline" else "× baseline p95"
    else:
        return None
    if per_check:
        numbers["per_check"] = per_check
    last = CheckResult.objects.filter(health_check__in=checks, checked_at__gte=since).aggregate(m=Max("id"))["m"]
    numbers["basis"] = f"result:{last}"
    numbers["fires"] = fires
    return numbers


def _num(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def triggers_evaluate(*, run, now: dt.datetime | None = None) -> list[TriggerFiring]:
    """Evaluate every trigger of the run's plan; fire those over their threshold (once per window)."""
    now = now or clock.now()
    if run.state != RunState.RUNNING:
        return []
    plan = selectors.plan_of(run.request)
    if plan is None:
        return []
    fired = []
    for trigger in plan.triggers.all().order_by("id"):
        numbers = measure(trigger, run.request, now=now)
        if numbers is None or not numbers["fires"]:
            continue
        firing = trigger_fire(run=run, trigger=trigger, numbers=numbers, now=now)
        if firing is not None:
            fired.append(firing)
    return fired


def trigger_fire(*, run, trigger, numbers: dict, now: dt.datetime | None = None) -> TriggerFiring | None:
    """Write the firing, pause the run (or start its backout), audit the numbers, notify implementers.
    Returns None when this window already fired or the run is no longer running."""
    from .runs import _lock, _notify_implementers, _start_backout

    now = now or clock.now()
    basis = numbers.get("basis", "")[:64]
    try:
        with transaction.atomic():
            run = _lock(run)
            if run.state != RunState.RUNNING:
                return None
            if TriggerFiring.objects.filter(run=run, trigger=trigger, basis=basis).exists():
                return None
            firing = TriggerFiring.objects.create(run=run, trigger=trigger, numbers=numbers, action=trigger.action,
                                                  at=now, basis=basis)
            summary = (f"{trigger.name}: {_num(numbers.get('observed'))} {numbers.get('unit', '')} "
                       f"(threshold {_num(numbers.get('threshold'))})").strip()
            before = run.state
            if trigger.action == "roll_back":
                _start_backout(run, by=None, reason=f"Rollback trigger fired — {summary}", now=now)
                run.paused_reason = f"Rollback trigger fired — {summary}"
                run.save(update_fields=["paused_reason"])
            else:
                run.state, run.paused_reason = RunState.PAUSED, f"Rollback trigger fired — {summary}"
                run.save(update_fields=["state", "paused_reason"])
            audit_append(action="execution.trigger_fired", obj=run, before={"state": before},
                         after={"state": run.state},
                         data={"trigger": trigger.name, "kind": trigger.kind, "action": trigger.action,
                               "numbers": numbers, "request": run.request.reference})
            verb = "started the backout" if trigger.action == "roll_back" else "paused the run"
            _notify_implementers(run, f"{run.request.reference}: rollback trigger “{trigger.name}” fired and "
                                      f"{verb} ({summary}).")
    except IntegrityError:  # a concurrent evaluation of the same window fired it
        return None
    return firing


def monitor_tick(now: dt.datetime | None = None) -> int:
    """The beat's minute: evaluate each running run, then ask for its next monitoring check run."""
    from .health import checkrun_request

    now = now or clock.now()
    count = 0
    for run in selectors.live_runs():
        triggers_evaluate(run=run, now=now)
        run.refresh_from_db()
        if run.state != RunState.RUNNING:
            continue
        checks = list(selectors.checks_of(run.request))
        if checks:
            checkrun_request(checks=checks, purpose=CheckPurpose.MONITORING, by=None, request=run.request,
                             execution_run=run)
            count += 1
    return count
