"""The execution page of a request: start checklist, live run, step log, backout, validation, incidents.

Every write calls a service; the live panel is polled with htmx.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts import duties
from apps.accounts.choices import Duty
from apps.core import memo
from apps.upgrades.choices import State
from apps.upgrades.selectors import upgrade_get
from apps.upgrades.services import TransitionRefused, transition_blockers, upgrade_transition

from . import incidents, runs, selectors
from .forms import IncidentCloseForm, IncidentForm, ReasonForm, SignForm, StepFinishForm
from .models import Incident, RunState


def _here(upgrade) -> str:
    return reverse("execution:page", args=[upgrade.reference])


def _live_context(request, upgrade, run) -> dict:
    forward = selectors.steps_of(upgrade, "forward")
    backout = selectors.steps_of(upgrade, "backout")
    events = list(selectors.events_of(run)) if run else []
    forward_states = selectors.step_states(run, forward, events)
    backout_states = selectors.step_states(run, backout, events)
    active = backout_states if run and run.state in (RunState.BACKING_OUT, RunState.ROLLED_BACK) else forward_states
    return {
        "upgrade": upgrade,
        "run": run,
        "forward": forward_states,
        "backout": backout_states,
        "events": events,
        "progress": selectors.progress(active),
        "backing_out": bool(run and run.state in (RunState.BACKING_OUT, RunState.ROLLED_BACK)),
        "elapsed": selectors.elapsed(run, upgrade) if run else None,
        "health": selectors.health_latest(upgrade),
        "firings": selectors.firings_of(run),
        "downtime": selectors.downtime_minutes(run, upgrade),
        "polling": bool(run and run.state in selectors.LIVE_STATES),
    }


def _page(request, upgrade, *, forms=None, status=200):
    # the start gates and the page ask for the same systems, checks, duties and windows: read once
    with memo.reading():
        context = _page_context(request, upgrade, forms)
    return render(request, "execution/run.html", context, status=status)


def _page_context(request, upgrade, forms) -> dict:
    run = selectors.run_current(upgrade)
    held = duties.duties_of(request.user, upgrade)
    implementer, validator = Duty.IMPLEMENTER in held, Duty.VALIDATOR in held
    context = _live_context(request, upgrade, run)
    scheduled = upgrade.state == State.SCHEDULED
    checks = list(selectors.checks_of(upgrade)) if scheduled else []
    smoke = None
    if upgrade.state in (State.VALIDATING, State.COMPLETED, State.FAILED, State.ROLLED_BACK, State.CLOSED):
        smoke = _smoke(upgrade)
    live = bool(run and run.state in selectors.LIVE_STATES)
    for state in context["forward"] + context["backout"]:
        owner = Duty.VALIDATOR if state.step.owner_duty == Duty.VALIDATOR else Duty.IMPLEMENTER
        mine = owner in held
        runbook_active = (state.step.runbook == "backout") == context["backing_out"]
        state.can_start = (mine and live and run.state != RunState.PAUSED and runbook_active
                           and state.status not in ("in_progress", "done", "skipped") and not state.waiting_for)
        state.can_finish = mine and live and state.status == "in_progress"
        state.can_skip = state.can_start  # a step is skipped (with a reason) when it could start
    forms = forms or {}
    context.update({
        "is_implementer": implementer,
        "is_validator": validator,
        "start_checklist": (transition_blockers(upgrade, request.user, "start", check_reason=False)
                            if scheduled else []),
        "precheck_reasons": selectors.precheck_reasons(upgrade) if scheduled else [],
        "precheck_last": selectors.precheck_last(upgrade) if scheduled else None,
        "checks": checks,
        "precheck_max_age_minutes": int(selectors.precheck_max_age().total_seconds() // 60),
        "can_precheck": implementer and scheduled and bool(checks),
        "can_start_run": implementer and scheduled,
        "can_resume": implementer and run is not None and run.state == RunState.PAUSED,
        "can_backout": implementer and run is not None and upgrade.state in (State.IN_PROGRESS, State.VALIDATING)
                       and run.state not in (RunState.BACKING_OUT, RunState.ROLLED_BACK),
        "can_hand_over": implementer and upgrade.state == State.IN_PROGRESS and run is not None
                         and run.state == RunState.RUNNING,
        "hand_over_blockers": (transition_blockers(upgrade, request.user, "hand_to_validation", check_reason=False)
                               if upgrade.state == State.IN_PROGRESS else []),
        "roll_back_blockers": (transition_blockers(upgrade, request.user, "roll_back", check_reason=False)
                               if run is not None and run.state == RunState.BACKING_OUT
                               and upgrade.state in (State.IN_PROGRESS, State.VALIDATING) else None),
        "can_sign": validator and upgrade.state == State.VALIDATING,
        "can_fail": (implementer or validator) and upgrade.state in (State.IN_PROGRESS, State.VALIDATING),
        "smoke": smoke,
        "incidents": list(selectors.incidents_of(upgrade)),
        "can_incident": bool(held & {Duty.IMPLEMENTER, Duty.VALIDATOR, Duty.REQUESTER})
                        or request.user.has_role("admin"),
        "finish_form": forms.get("finish") or StepFinishForm(),
        "finish_step": forms.get("finish_step"),
        "sign_form": forms.get("sign") or SignForm(),
        "reason_form": forms.get("reason") or ReasonForm(),
        "incident_form": forms.get("incident") or IncidentForm(),
        "close_form": IncidentCloseForm(),
    })
    return context


def _smoke(upgrade) -> dict:
    last = selectors.post_check_last(upgrade)
    comparison = []
    if last is not None and last.status == "done":
        try:
            from .health import baseline_compare

            comparison = baseline_compare(request=upgrade, run=last)
        except (ImportError, AttributeError):
            comparison = []
    results = list(last.results.select_related("health_check__endpoint__system")) if last else []
    return {"run": last, "results": results, "comparison": comparison,
            "reasons": selectors.smoke_reasons(upgrade)}


@login_required
def execution_page(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    return _page(request, upgrade)


@login_required
def execution_live(request, reference):
    """The polled panel: state, progress, elapsed time against the window, health, trigger firings."""
    upgrade = upgrade_get(user=request.user, reference=reference)
    run = selectors.run_current(upgrade)
    return render(request, "execution/partials/live.html", _live_context(request, upgrade, run))


def _refusal(request, exc) -> None:
    messages.error(request, " ".join(getattr(exc, "reasons", None) or [str(exc)]))


def _validation(request, exc: ValidationError) -> None:
    messages.error(request, " ".join(f"{k}: {' '.join(v)}" if k != "__all__" else " ".join(v)
                                     for k, v in exc.message_dict.items()))


def _step(upgrade, pk):
    from apps.rollouts.models import RunbookStep

    plan = selectors.plan_of(upgrade)
    step = RunbookStep.objects.filter(pk=pk, plan=plan).first() if plan else None
    if step is None:
        raise Http404("No such step in this request's runbook.")
    return step


def _run(upgrade):
    run = selectors.run_current(upgrade)
    if run is None:
        raise Http404("Execution has not started.")
    return run


@login_required
@require_POST
def precheck_view(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    try:
        check_run = runs.precheck_request(request=upgrade, by=request.user)
    except runs.RunRefused as exc:
        _refusal(request, exc)
    else:
        messages.success(request, f"Pre-upgrade checks queued ({check_run.total or 'all'} checks); "
                                  "this page shows the result when they finish.")
    return redirect(_here(upgrade))


def _transition(request, upgrade, name, reason="", success=""):
    try:
        upgrade_transition(request=upgrade, by=request.user, transition=name, reason=reason)
    except TransitionRefused as exc:
        _refusal(request, exc)
    else:
        messages.success(request, success)
    return redirect(_here(upgrade))


@login_required
@require_POST
def start_view(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    return _transition(request, upgrade, "start", success="Execution started: follow the runbook below.")


@login_required
@require_POST
def step_start_view(request, reference, pk):
    upgrade = upgrade_get(user=request.user, reference=reference)
    step, run = _step(upgrade, pk), _run(upgrade)
    try:
        runs.step_start(run=run, step=step, by=request.user)
    except runs.RunRefused as exc:
        _refusal(request, exc)
    except ValidationError as exc:
        _validation(request, exc)
    else:
        messages.success(request, f"Started “{step.title}”.")
    return redirect(_here(upgrade) + f"#step-{step.pk}")


@login_required
@require_POST
def step_finish_view(request, reference, pk):
    upgrade = upgrade_get(user=request.user, reference=reference)
    step, run = _step(upgrade, pk), _run(upgrade)
    form = StepFinishForm(request.POST)
    if form.is_valid():
        try:
            runs.step_finish(run=run, step=step, by=request.user, **form.cleaned_data)
        except runs.RunRefused as exc:
            form.add_error(None, " ".join(exc.reasons))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"“{step.title}”: {form.cleaned_data['outcome']}.")
            return redirect(_here(upgrade) + f"#step-{step.pk}")
    return _page(request, upgrade, forms={"finish": form, "finish_step": step.pk}, status=400)


@login_required
@require_POST
def resume_view(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    run = _run(upgrade)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            runs.run_resume(run=run, by=request.user, reason=form.cleaned_data["reason"])
        except runs.RunRefused as exc:
            _refusal(request, exc)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return _page(request, upgrade, forms={"reason": form}, status=400)
        else:
            messages.success(request, "The run is resumed.")
        return redirect(_here(upgrade))
    return _page(request, upgrade, forms={"reason": form}, status=400)


@login_required
@require_POST
def backout_view(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    run = _run(upgrade)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _page(request, upgrade, forms={"reason": form}, status=400)
    try:
        runs.backout_invoke(run=run, by=request.user, reason=form.cleaned_data["reason"])
    except runs.RunRefused as exc:
        _refusal(request, exc)
    except ValidationError as exc:
        _validation(request, exc)
        return _page(request, upgrade, status=400)
    else:
        messages.success(request, "Backout started: run the backout steps below.")
    return redirect(_here(upgrade))


@login_required
@require_POST
def hand_over_view(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    return _transition(request, upgrade, "hand_to_validation",
                       success="Handed to validation: the smoke tests are running.")


@login_required
@require_POST
def roll_back_view(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    run = _run(upgrade)
    return _transition(request, upgrade, "roll_back", reason=f"Backout runbook executed. {run.backout_reason}"[:5000],
                       success="The request is rolled back.")


@login_required
@require_POST
def sign_view(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    run = _run(upgrade)
    form = SignForm(request.POST)
    if form.is_valid():
        try:
            runs.validation_sign(run=run, by=request.user, password=form.cleaned_data["password"])
        except (runs.RunRefused, TransitionRefused) as exc:
            form.add_error(None, " ".join(exc.reasons))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Validation signed: the request is completed.")
            return redirect(_here(upgrade))
    return _page(request, upgrade, forms={"sign": form}, status=400)


@login_required
@require_POST
def fail_view(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    form = ReasonForm(request.POST)
    if not form.is_valid() or not form.cleaned_data["reason"].strip():
        form.add_error("reason", "Say why the upgrade failed.")
        return _page(request, upgrade, forms={"reason": form}, status=400)
    return _transition(request, upgrade, "fail", reason=form.cleaned_data["reason"], success="Marked failed.")


@login_required
@require_POST
def incident_add_view(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    incidents.incident_may(request.user, upgrade)  # a refusal is a 403 whatever the form holds
    form = IncidentForm(request.POST)
    if form.is_valid():
        try:
            incidents.incident_open(request=upgrade, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Incident recorded.")
            return redirect(_here(upgrade) + "#incidents")
    return _page(request, upgrade, forms={"incident": form}, status=400)


@login_required
@require_POST
def incident_close_view(request, reference, pk):
    upgrade = upgrade_get(user=request.user, reference=reference)
    incident = Incident.objects.filter(pk=pk, request=upgrade).first()
    if incident is None:
        raise Http404("No such incident on this request.")
    incidents.incident_may(request.user, upgrade)
    form = IncidentCloseForm(request.POST)
    if form.is_valid():
        try:
            incidents.incident_update(incident=incident, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _validation(request, exc)
            return _page(request, upgrade, status=400)
        messages.success(request, "Incident closed.")
        return redirect(_here(upgrade) + "#incidents")
    messages.error(request, " ".join(" ".join(v) for v in form.errors.values()))
    return _page(request, upgrade, status=400)
