"""Reads of rollout plans shared by the plan page, the API, the CAB review page and the gates.

`plan_analysis(plan)` loads a plan in a fixed number of queries and computes what a
reader (and the gate) needs: runbook order, critical path, start-order violations, how
the runbook fits each window, and the local times of every window in the zones of the
systems it touches.
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.db.models import Max, Prefetch, Q

from apps.inventory.models import Dependency, Integration, System

from . import dag
from .models import (DataMigrationScope, Plan, PlanVersion, RollbackTrigger, Runbook, RunbookStep, Strategy,
                     TriggerAction, TriggerKind, Wave, WaveTier)


def plan_get(request) -> Plan | None:
    return Plan.objects.filter(request=request).first()


def current_version(request) -> PlanVersion | None:
    return PlanVersion.objects.filter(plan__request=request).order_by("-number").first()


def versions_of(request) -> list[PlanVersion]:
    return list(PlanVersion.objects.filter(plan__request=request).select_related("created_by").order_by("-number"))


def version_get(request, number) -> PlanVersion | None:
    try:
        number = int(number)
    except (TypeError, ValueError):
        return None
    return PlanVersion.objects.filter(plan__request=request, number=number).select_related("created_by").first()


def plan_windows(request) -> list[tuple[dt.datetime, dt.datetime, Wave | None]]:
    """The plan's wave windows (UTC); without any, the request's requested window (wave None)."""
    waves = list(Wave.objects.filter(plan__request=request, window_start__isnull=False, window_end__isnull=False)
                 .order_by("position"))
    if waves:
        return [(w.window_start, w.window_end, w) for w in waves]
    if request.window_start and request.window_end:
        return [(request.window_start, request.window_end, None)]
    return []


# --- local times ------------------------------------------------------------------------------------------


@dataclass
class LocalTime:
    zone: str
    systems: list[str]
    start: dt.datetime
    end: dt.datetime

    @property
    def crosses_midnight(self) -> bool:
        return self.end.date() != self.start.date()

    @property
    def days_later(self) -> int:
        return (self.end.date() - self.start.date()).days

    @property
    def offset_changes(self) -> bool:
        """The clocks change inside the window (summer time starts or ends)."""
        return self.start.utcoffset() != self.end.utcoffset()

    @property
    def start_text(self) -> str:
        return f"{self.start:%a %d %b %Y %H:%M} {self.start.tzname()}"

    @property
    def end_text(self) -> str:
        return f"{self.end:%a %d %b %Y %H:%M} {self.end.tzname()}"


def local_times(start: dt.datetime, end: dt.datetime, systems) -> list[LocalTime]:
    """The window in the time zone of every system's region, one row per zone."""
    zones: dict[str, list[str]] = {}
    for system in systems:
        zones.setdefault(system.timezone or "UTC", []).append(system.name)
    rows = []
    for name in sorted(zones):
        try:
            zone, label = zoneinfo.ZoneInfo(name), name
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone, label = dt.UTC, f"{name} (unknown zone; shown in UTC)"
        rows.append(LocalTime(zone=label, systems=sorted(zones[name]), start=start.astimezone(zone),
                              end=end.astimezone(zone)))
    return rows


def minutes_text(minutes: int | None) -> str:
    if minutes is None:
        return "—"
    hours, rest = divmod(int(minutes), 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


# --- the analysis ------------------------------------------------------------------------------------------


@dataclass
class RunbookView:
    runbook: str
    steps: list[RunbookStep]
    order: list[RunbookStep] = field(default_factory=list)
    cycle: list[RunbookStep] = field(default_factory=list)
    critical: dag.CriticalPath | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return Runbook(self.runbook).label

    @property
    def critical_keys(self) -> set[str]:
        return {s.key for s in self.critical.steps} if self.critical else set()

    @property
    def minutes(self) -> int | None:
        return self.critical.minutes if self.critical else None

    @property
    def minutes_text(self) -> str:
        return minutes_text(self.minutes)

    @property
    def sum_minutes(self) -> int:
        return sum(s.expected_minutes for s in self.steps)


@dataclass
class WaveFit:
    wave: Wave
    minutes: int | None
    window_minutes: int | None

    @property
    def fits(self) -> bool:
        return self.minutes is not None and self.window_minutes is not None and self.minutes <= self.window_minutes

    @property
    def text(self) -> str:
        return f"{minutes_text(self.minutes)} of the {minutes_text(self.window_minutes)} window"


@dataclass
class WaveView:
    wave: Wave
    local: list[LocalTime]
    fit: WaveFit | None


@dataclass
class Analysis:
    plan: Plan | None
    recommendation: object
    waves: list[WaveView] = field(default_factory=list)
    triggers: list[RollbackTrigger] = field(default_factory=list)
    forward: RunbookView | None = None
    backout: RunbookView | None = None
    violations: list = field(default_factory=list)
    integrations: list[Integration] = field(default_factory=list)
    fallbacks: dict = field(default_factory=dict)  # integration id -> fallback
    affected: list[System] = field(default_factory=list)
    window_minutes: int | None = None

    @property
    def missing_fallbacks(self) -> list[Integration]:
        return [i for i in self.integrations if i.pk not in self.fallbacks]

    @property
    def window_minutes_text(self) -> str:
        return minutes_text(self.window_minutes)

    @property
    def rollback_triggers(self) -> list[RollbackTrigger]:
        return [t for t in self.triggers if t.action == TriggerAction.ROLL_BACK]


def _window_minutes(wave: Wave) -> int | None:
    if wave.window_start and wave.window_end:
        return int((wave.window_end - wave.window_start).total_seconds() // 60)
    return None


def _runbook_view(runbook: str, steps: list[RunbookStep]) -> RunbookView:
    view = RunbookView(runbook=runbook, steps=steps)
    ids = {s.pk for s in steps}
    for s in steps:
        for d in s.depends_on.all():
            if d.pk not in ids:
                view.problems.append(f"Step “{s.key}” waits for “{d.key}”, which is not a step of the "
                                     f"{view.label.lower()}.")
    view.cycle = dag.find_cycle(steps)
    if view.cycle:
        view.problems.append(f"The {view.label.lower()} has a cycle: "
                             + " → ".join(s.key for s in view.cycle) + ".")
        view.order = sorted(steps, key=lambda s: (s.position, s.pk))
        return view
    view.order = dag.topological_order(steps)
    view.critical = dag.critical_path(steps)
    on_path = {s.pk for s in view.critical.steps}
    for s in steps:
        s.earliest_text = minutes_text(view.critical.earliest_start.get(s.pk, 0)) if view.critical.steps else "—"
        s.on_critical_path = s.pk in on_path
    return view


def plan_analysis(request, plan: Plan | None = None) -> Analysis:
    from .recommend import recommend

    if plan is None:
        plan = plan_get(request)
    affected = list(System.objects.filter(pk__in=request.items.values("system_id")).order_by("name"))
    analysis = Analysis(plan=plan, recommendation=recommend(request), affected=affected)
    analysis.integrations = list(Integration.objects.filter(system__in=affected).select_related("system")
                                 .order_by("system__name", "name"))
    if plan is None:
        return analysis
    waves = list(plan.waves.select_related("environment").prefetch_related(
        "systems", Prefetch("tiers", queryset=WaveTier.objects.prefetch_related("systems").order_by("position"))))
    steps = list(plan.steps.select_related("component__system", "component__environment", "wave")
                 .prefetch_related(Prefetch("depends_on", queryset=RunbookStep.objects.only("id", "key", "runbook"))))
    analysis.triggers = list(plan.triggers.select_related("system", "endpoint"))
    for trigger in analysis.triggers:
        trigger.threshold_words = threshold_text(trigger)
    analysis.fallbacks = {f.integration_id: f for f in plan.fallbacks.select_related("integration__system")}
    forward = [s for s in steps if s.runbook == Runbook.FORWARD]
    backout = [s for s in steps if s.runbook == Runbook.BACKOUT]
    analysis.forward = _runbook_view(Runbook.FORWARD, forward)
    analysis.backout = _runbook_view(Runbook.BACKOUT, backout)
    if not analysis.forward.cycle:
        components = [s.component for s in forward if s.component_id]
        if components:
            deps = list(Dependency.objects.filter(
                Q(source_component__in=components)
                | Q(source_component__isnull=True, source_system__in={c.system_id for c in components}))
                .select_related("source_system", "target_system", "source_component", "target_component"))
            analysis.violations = dag.start_order_violations(forward, deps)
    first = waves[0] if waves else None
    total = 0
    for wave in waves:
        mine = [s for s in forward if s.wave_id == wave.pk or (s.wave_id is None and wave is first)]
        fit = None
        if mine and not analysis.forward.cycle:
            fit = WaveFit(wave=wave, minutes=dag.critical_path(mine).minutes, window_minutes=_window_minutes(wave))
        total += _window_minutes(wave) or 0
        shown = list(wave.systems.all()) or affected
        local = local_times(wave.window_start, wave.window_end, shown) if wave.window_start else []
        analysis.waves.append(WaveView(wave=wave, local=local, fit=fit))
    analysis.window_minutes = total or None
    return analysis


def gate_reasons(analysis: Analysis) -> list[str]:
    """Exactly what still keeps the plan from the CAB, one sentence per missing piece."""
    rec = analysis.recommendation
    plan = analysis.plan
    reasons: list[str] = []
    if plan is None or not plan.strategy:
        reasons.append(f"Choose a rollout strategy (Tollgate recommends {rec.label}).")
    elif plan.strategy != rec.strategy and not plan.strategy_justification.strip():
        reasons.append(f"Justify choosing {Strategy(plan.strategy).label} over the recommended {rec.label}.")
    waves = [v.wave for v in analysis.waves]
    if not waves:
        reasons.append("Add at least one wave with its maintenance window.")
    elif plan.strategy == Strategy.PHASED and len(waves) < 2:
        reasons.append("A phased rollout needs at least two waves.")
    for wave in waves:
        if wave.window_start is None or wave.window_end is None:
            reasons.append(f"Wave {wave.position} “{wave.name}” has no maintenance window.")
    if not analysis.triggers:
        reasons.append("Define at least one rollback trigger.")
    forward, backout = analysis.forward, analysis.backout
    if forward is None or not forward.steps:
        reasons.append("Write the upgrade runbook (at least one step).")
    else:
        reasons.extend(forward.problems)
    if backout is None or not backout.steps:
        reasons.append("Write the backout runbook (at least one step).")
    else:
        reasons.extend(backout.problems)
        if analysis.triggers and not analysis.rollback_triggers:
            reasons.append("No rollback trigger starts the backout runbook: give at least one trigger the "
                           "action “Start the backout runbook”.")
    for view in analysis.waves:
        if view.fit is not None and view.fit.window_minutes is not None and not view.fit.fits:
            reasons.append(f"The upgrade runbook of wave {view.wave.position} takes {minutes_text(view.fit.minutes)} "
                           f"(critical path) but its window is {minutes_text(view.fit.window_minutes)}.")
    reasons.extend(str(v) for v in analysis.violations)
    for integration in analysis.missing_fallbacks:
        reasons.append(f"Document a fallback for the integration “{integration.name}” of "
                       f"{integration.system.name} with {integration.partner}.")
    if plan is None or not plan.data_migration_scope:
        reasons.append("Give the data migration scope (or say there is no data migration).")
    elif plan.data_migration_scope != DataMigrationScope.NONE:
        for field_name, words in (("data_migration_volume", "volume"), ("data_migration_method", "method"),
                                  ("data_migration_verification", "verification")):
            if not getattr(plan, field_name).strip():
                reasons.append(f"Data migration: give the {words}.")
    return reasons


# --- the CAB's summary ---------------------------------------------------------------------------------------


def plan_summary(request) -> dict:
    analysis = plan_analysis(request)
    plan = analysis.plan
    rec = analysis.recommendation
    forward, backout = analysis.forward, analysis.backout
    return {
        "strategy": Strategy(plan.strategy).label if plan and plan.strategy else "",
        "recommended": rec.label,
        "recommendation_reasons": list(rec.reasons),
        "strategy_justification": plan.strategy_justification if plan else "",
        "waves": [
            {"name": v.wave.name, "environment": v.wave.environment.name if v.wave.environment_id else "",
             "systems": [s.name for s in v.wave.systems.all()], "window_start": v.wave.window_start,
             "window_end": v.wave.window_end}
            for v in analysis.waves
        ],
        "total_minutes": forward.minutes if forward and forward.critical else 0,
        "forward_steps": len(forward.steps) if forward else 0,
        "backout_steps": len(backout.steps) if backout else 0,
        "backout": [s.title for s in backout.order] if backout else [],
        "triggers": [
            {"name": t.name, "kind": t.get_kind_display(), "threshold": t.threshold,
             "action": t.get_action_display()}
            for t in analysis.triggers
        ],
        "data_migration": {
            "scope": plan.get_data_migration_scope_display() if plan and plan.data_migration_scope else "",
            "volume": plan.data_migration_volume if plan else "",
            "method": plan.data_migration_method if plan else "",
            "verification": plan.data_migration_verification if plan else "",
        },
        "fallbacks": [
            {"integration": str(i), "procedure": analysis.fallbacks[i.pk].procedure if i.pk in analysis.fallbacks
             else "", "contact": analysis.fallbacks[i.pk].contact if i.pk in analysis.fallbacks else ""}
            for i in analysis.integrations
        ],
    }


def threshold_text(trigger: RollbackTrigger) -> str:
    """The threshold in words of its kind, e.g. “3 consecutive failures” or “above 250 ms”."""
    t = trigger.threshold
    if t is None:
        return "a person decides"
    value = f"{t.normalize():f}"
    return {
        TriggerKind.HEALTH_FAILURES: f"{value} consecutive failures",
        TriggerKind.ERROR_RATE: f"error rate above {value} %",
        TriggerKind.ERROR_RATE_OVER_BASELINE: f"error rate above baseline + {value} points",
        TriggerKind.LATENCY_P95: f"p95 above {value} ms",
        TriggerKind.LATENCY_P95_OVER_BASELINE: f"p95 above {value} × baseline",
        TriggerKind.SLA_BREACH: f"availability below {value} %",
    }.get(trigger.kind, value)


def max_position(qs) -> int:
    return qs.aggregate(m=Max("position"))["m"] or 0
