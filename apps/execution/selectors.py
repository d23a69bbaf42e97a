"""Reads of execution runs that the pages, the API, the gates and the KPIs share.

The step log is append-only: the state of a step is what its latest event says.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet, Sum

from apps.core import clock
from apps.core.memo import per_page

from .models import CheckPurpose, CheckRun, ExecutionRun, Incident, ResultStatus, RunState, StepEvent, StepOutcome

PENDING, IN_PROGRESS = "pending", "in_progress"
STATUS_LABELS = {PENDING: "Not started", IN_PROGRESS: "In progress", StepOutcome.DONE: "Done",
                 StepOutcome.FAILED: "Failed", StepOutcome.SKIPPED: "Skipped"}
FINISHED_OK = (StepOutcome.DONE, StepOutcome.SKIPPED)
LIVE_STATES = (RunState.RUNNING, RunState.PAUSED, RunState.BACKING_OUT)


def precheck_max_age() -> dt.timedelta:
    return dt.timedelta(minutes=int(getattr(settings, "EXECUTION_PRECHECK_MAX_AGE_MINUTES", 30)))


# --- what the request touches -----------------------------------------------------------------------


@per_page
def systems_of(request) -> list:
    return [item.system for item in request.items.select_related("system")]


def checks_of(request):
    """The enabled health checks of the request's systems (production), E1's one definition."""
    from .health import checks_for

    return checks_for(systems_of(request))


def _contract(module: str, name: str):
    """Another part's contract function, or None while that part is not installed."""
    import importlib

    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def plan_of(request):
    plan_get = _contract("apps.rollouts.selectors", "plan_get")
    if plan_get is not None:
        return plan_get(request)
    from apps.rollouts.models import Plan

    return Plan.objects.filter(request=request).first()


def windows_of(request) -> list[tuple]:
    plan_windows = _contract("apps.rollouts.selectors", "plan_windows")
    if plan_windows is not None:
        return plan_windows(request)
    return [(request.window_start, request.window_end, None)] if request.window_start else []


def predecessors(step) -> list:
    from apps.rollouts.dag import predecessors as dag_predecessors

    return dag_predecessors(step)


# --- the start gate ---------------------------------------------------------------------------------


def precheck_last(request) -> CheckRun | None:
    return (CheckRun.objects.filter(request=request, purpose=CheckPurpose.PRE_CHECK)
            .order_by("-requested_at", "-pk").first())


def _run_green(run: CheckRun, checks) -> list[str]:
    """Why a finished check run is not green for these checks (empty: green)."""
    results = {r.health_check_id: r.status for r in run.results.all()}
    wanted = {c.pk for c in checks}
    missing = wanted - set(results)
    failed = [pk for pk in wanted & set(results) if results[pk] != ResultStatus.OK]
    reasons = []
    if failed:
        reasons.append(f"{len(failed)} of {len(wanted)} checks failed")
    if missing:
        reasons.append(f"{len(missing)} of {len(wanted)} checks were not part of it")
    return reasons


def precheck_reasons(request, *, now: dt.datetime | None = None) -> list[str]:
    """What the start gate says about pre-checks: a green pre-check run of the affected systems'
    health checks, no more than N minutes old. No enabled checks: nothing to run, nothing blocks."""
    now = now or clock.now()
    checks = list(checks_of(request))
    if not checks:
        return []
    max_age = precheck_max_age()
    minutes = int(max_age.total_seconds() // 60)
    runs = (CheckRun.objects.filter(request=request, purpose=CheckPurpose.PRE_CHECK, status="done",
                                    finished_at__gte=now - max_age, finished_at__lte=now)
            .prefetch_related("results").order_by("-finished_at", "-pk"))
    latest = next(iter(runs), None)
    if latest is None:
        pending = CheckRun.objects.filter(request=request, purpose=CheckPurpose.PRE_CHECK,
                                          status__in=("queued", "running")).exists()
        if pending:
            return ["The pre-upgrade checks are still running; start when they are green."]
        return [f"Run the pre-upgrade checks: no green pre-check run of the {len(checks)} health checks "
                f"in the last {minutes} minutes."]
    problems = _run_green(latest, checks)
    if problems:
        return [f"The latest pre-upgrade check run is not green ({'; '.join(problems)}): fix and run them again."]
    return []


def conditions_reasons(request) -> list[str]:
    conditions_unacknowledged = _contract("apps.cab.selectors", "conditions_unacknowledged")
    if conditions_unacknowledged is None:
        return []
    return [f"Acknowledge the CAB's condition: “{getattr(c, 'text', c)}”." for c in conditions_unacknowledged(request)]


def window_reasons(request, *, now: dt.datetime | None = None) -> list[str]:
    now = now or clock.now()
    windows = [w for w in windows_of(request) if w[0] and w[1]]
    if not windows:
        return ["No approved window: the plan and the request give none."]
    if any(start <= now < end for start, end, _ in windows):
        return []
    upcoming = sorted(w for w in ((s, e) for s, e, _ in windows) if w[0] > now)
    if upcoming:
        start, end = upcoming[0]
        return [f"Start only inside the approved window: the next one opens "
                f"{start:%Y-%m-%d %H:%M} UTC and closes {end:%Y-%m-%d %H:%M} UTC."]
    return ["Every approved window has passed: replan the request for a new window."]


def start_reasons(request, *, now: dt.datetime | None = None) -> list[str]:
    """The execution app's part of the start checklist (freezes are the calendar's gate)."""
    now = now or clock.now()
    return precheck_reasons(request, now=now) + conditions_reasons(request) + window_reasons(request, now=now)


def window_now(request, *, at: dt.datetime | None = None) -> tuple | None:
    """The approved window containing `at` (default now), else the next one, else the last one."""
    at = at or clock.now()
    windows = sorted((s, e) for s, e, _ in windows_of(request) if s and e)
    for start, end in windows:
        if start <= at < end:
            return start, end
    later = [w for w in windows if w[0] > at]
    return later[0] if later else (windows[-1] if windows else None)


# --- runs and their step log -------------------------------------------------------------------------


def run_current(request) -> ExecutionRun | None:
    return (ExecutionRun.objects.filter(request=request).select_related("started_by", "backout_started_by",
                                                                       "plan_version")
            .order_by("-started_at", "-pk").first())


def run_live_for_update(run: ExecutionRun) -> ExecutionRun:
    return ExecutionRun.objects.select_for_update().get(pk=run.pk)


def steps_of(request, runbook: str) -> list:
    """The runbook's steps in an order that respects the DAG (position breaks ties)."""
    from apps.rollouts.models import RunbookStep

    plan = plan_of(request)
    if plan is None:
        return []
    steps = list(RunbookStep.objects.filter(plan=plan, runbook=runbook)
                 .prefetch_related("depends_on").order_by("position", "id"))
    try:
        from apps.rollouts.dag import topological_order

        return list(topological_order(steps))
    except (ImportError, ValueError):
        return steps


@dataclass
class StepState:
    step: object
    status: str = PENDING
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    operator: object = None
    output: str = ""
    reason: str = ""
    automated: bool = False
    waiting_for: list = field(default_factory=list)

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def finished_ok(self) -> bool:
        return self.status in FINISHED_OK


def step_states(run: ExecutionRun | None, steps: list, events: list | None = None) -> list[StepState]:
    """Each step's state from the log (one query for the events when not given)."""
    if events is None:
        events = list(run.events.select_related("operator").order_by("at", "id")) if run else []
    by_step: dict[int, StepState] = {s.pk: StepState(step=s) for s in steps}
    for event in events:
        state = by_step.get(event.step_id)
        if state is None:
            continue
        state.operator = event.operator
        state.automated = event.automated
        if event.kind == "started":
            state.status, state.started_at, state.finished_at = IN_PROGRESS, event.at, None
            state.output, state.reason = "", ""
        else:
            state.status, state.finished_at = event.outcome, event.at
            state.output, state.reason = event.output, event.reason
    for state in by_step.values():
        state.waiting_for = [p for p in state.step.depends_on.all()
                             if p.pk in by_step and not by_step[p.pk].finished_ok]
    return [by_step[s.pk] for s in steps]


def step_status(run: ExecutionRun, step) -> str:
    last = StepEvent.objects.filter(run=run, step=step).order_by("-at", "-id").first()
    if last is None:
        return PENDING
    return IN_PROGRESS if last.kind == "started" else last.outcome


def statuses(run: ExecutionRun, steps) -> dict[int, str]:
    return {s.step.pk: s.status for s in step_states(run, list(steps))}


def progress(states: list[StepState]) -> dict:
    total = len(states)
    finished = sum(1 for s in states if s.finished_ok)
    return {"total": total, "finished": finished, "percent": round(100 * finished / total) if total else 100,
            "failed": sum(1 for s in states if s.status == StepOutcome.FAILED),
            "in_progress": sum(1 for s in states if s.status == IN_PROGRESS)}


def elapsed(run: ExecutionRun, request, *, now: dt.datetime | None = None) -> dict:
    now = now or clock.now()
    end = run.finished_at or now
    window = window_now(request, at=run.started_at)
    result = {"elapsed_minutes": max(0, int((end - run.started_at).total_seconds() // 60)),
              "window_start": window[0] if window else None, "window_end": window[1] if window else None,
              "window_minutes": None, "remaining_minutes": None, "over": False}
    if window:
        result["window_minutes"] = int((window[1] - window[0]).total_seconds() // 60)
        result["remaining_minutes"] = int((window[1] - now).total_seconds() // 60)
        result["over"] = run.finished_at is None and now > window[1]
    return result


def health_latest(request) -> list[dict]:
    """The latest result of each health check of the affected systems."""
    from .models import CheckResult

    checks = list(checks_of(request).select_related("endpoint__system"))
    latest: dict[int, object] = {}
    if checks:
        last_ids = (CheckResult.objects.filter(health_check__in=checks).values("health_check_id")
                    .annotate(last=Max("id")).values_list("last", flat=True))
        latest = {r.health_check_id: r for r in CheckResult.objects.filter(pk__in=list(last_ids))}
    return [{"check": c, "system": c.endpoint.system, "result": latest.get(c.pk)} for c in checks]


def downtime_minutes(run: ExecutionRun | None, request=None) -> dict:
    """Downtime from the log: the time steps flagged as outage ran (start to finish), plus incident impact."""
    outage = 0.0
    if run is not None:
        open_at: dict[int, dt.datetime] = {}
        for event in run.events.select_related("step").filter(step__is_outage=True).order_by("at", "id"):
            if event.kind == "started":
                open_at[event.step_id] = event.at
            elif event.step_id in open_at:
                outage += (event.at - open_at.pop(event.step_id)).total_seconds() / 60
        now = clock.now() if run.finished_at is None else run.finished_at
        for started in open_at.values():  # an outage step still running counts until now
            outage += max(0.0, (now - started).total_seconds() / 60)
    request = request or (run.request if run else None)
    incidents = sum(Incident.objects.filter(request=request).values_list("impact_minutes", flat=True)) \
        if request is not None else 0
    return {"outage_minutes": round(outage), "incident_minutes": incidents, "total_minutes": round(outage) + incidents}


def firings_of(run: ExecutionRun | None) -> list:
    if run is None:
        return []
    return list(run.firings.select_related("trigger").order_by("-at", "-id"))


def post_check_last(request) -> CheckRun | None:
    return (CheckRun.objects.filter(request=request, purpose=CheckPurpose.POST_CHECK)
            .order_by("-requested_at", "-pk").first())


def smoke_reasons(request) -> list[str]:
    """The complete gate's smoke-test part: the latest post-upgrade run finished with every check ok."""
    checks = list(post_check_checks(request))
    if not checks:
        return []
    run = post_check_last(request)
    if run is None:
        return ["The post-upgrade smoke tests have not run: hand the request to validation to run them."]
    if run.status in ("queued", "running"):
        return ["The post-upgrade smoke tests are still running."]
    problems = _run_green(run, checks)
    if run.status != "done" or problems:
        return [f"The post-upgrade smoke tests are not green ({'; '.join(problems) or run.get_status_display()}): "
                "fix, run them again, or fail or roll back the request."]
    return []


def post_check_checks(request):
    """Smoke tests: the systems' checks and the checks of their integrations' endpoints."""
    from apps.inventory.models import Integration

    from .models import HealthCheck

    own = checks_of(request)
    endpoints = Integration.objects.filter(system__in=systems_of(request), endpoint__isnull=False) \
        .values_list("endpoint_id", flat=True)
    return (HealthCheck.objects.filter(Q(pk__in=own.values("pk")) | Q(endpoint_id__in=endpoints, enabled=True))
            .distinct().order_by("pk"))


def evidence(run: ExecutionRun) -> dict:
    """What a validator signs: the run's log and the results of its request's check runs."""
    from .models import CheckResult

    return {
        "request": run.request.reference,
        "run": run.pk,
        "started_at": run.started_at,
        "log": [{"step": e.step.key, "runbook": e.step.runbook, "kind": e.kind, "outcome": e.outcome,
                 "reason": e.reason, "output": e.output, "operator": e.operator.get_username(),
                 "automated": e.automated, "at": e.at}
                for e in run.events.select_related("step", "operator").order_by("at", "id")],
        "results": [{"run": r.run_id, "purpose": r.run.purpose, "check": r.health_check_id, "status": r.status,
                     "latency_ms": r.latency_ms, "at": r.checked_at}
                    for r in CheckResult.objects.filter(run__request=run.request).select_related("run")
                    .order_by("run_id", "health_check_id")],
        "firings": [{"trigger": f.trigger_id, "numbers": f.numbers, "action": f.action, "at": f.at}
                    for f in run.firings.order_by("at", "id")],
    }


# --- incidents -----------------------------------------------------------------------------------------


def incidents_of(request) -> QuerySet:
    return Incident.objects.filter(request=request).select_related("opened_by").order_by("-started_at", "-pk")


def incident_list(*, user, filters: dict | None = None) -> QuerySet:
    """Incidents of the requests the user may see: the one scope the KPIs count."""
    from apps.upgrades.selectors import upgrade_visible

    qs = Incident.objects.filter(request__in=upgrade_visible(user).values("pk"))
    filters = filters or {}
    if filters.get("severity"):
        qs = qs.filter(severity=filters["severity"])
    if filters.get("since"):
        qs = qs.filter(started_at__gte=filters["since"])
    if filters.get("until"):
        qs = qs.filter(started_at__lt=filters["until"])
    if filters.get("open"):
        qs = qs.filter(ended_at__isnull=True)
    return qs.select_related("request", "opened_by").order_by("-started_at", "-pk")


def incident_counts(*, user, since=None, until=None) -> dict:
    """{severity: count} plus total and impact minutes over the visible incidents (for the KPIs)."""
    qs = incident_list(user=user, filters={"since": since, "until": until})
    rows = dict(qs.order_by().values_list("severity").annotate(n=Count("id")).values_list("severity", "n"))
    impact = qs.order_by().aggregate(m=Sum("impact_minutes"))["m"] or 0
    return {"total": sum(rows.values()), "by_severity": {s: rows.get(s, 0) for s in ("P1", "P2", "P3", "P4")},
            "impact_minutes": impact}


def run_list(*, user, state: str | None = None) -> QuerySet:
    from apps.upgrades.selectors import upgrade_visible

    qs = ExecutionRun.objects.filter(request__in=upgrade_visible(user).values("pk"))
    if state:
        qs = qs.filter(state=state)
    return qs.select_related("request", "started_by").annotate(
        n_events=Count("events", distinct=True)).order_by("-started_at", "-pk")


def events_of(run: ExecutionRun) -> QuerySet:
    return run.events.select_related("step", "operator").order_by("at", "id")


def live_runs() -> QuerySet:
    return ExecutionRun.objects.filter(state=RunState.RUNNING).select_related("request")

