"""Execution runs: opening the run on `start`, the append-only step log, the backout, the hand-over to
validation, the validator's signature, and the gates and seed hooks of the execution transitions.

Every write locks the run row, re-reads its state after the lock and appends its audit event in the same
transaction; refusals are audited after the rolled-back transaction.
"""

import datetime as dt
import hashlib
import json

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from apps.accounts import duties
from apps.accounts.choices import Duty
from apps.accounts.notifications import notify
from apps.audit.services import audit_append
from apps.core import clock
from apps.core.validation import clean_text
from apps.upgrades.choices import State

from . import selectors
from .models import CheckPurpose, ExecutionRun, RunState, StepEvent, StepOutcome

MAX_OUTPUT = 20000
MAX_REASON = 5000


class RunRefused(Exception):
    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("; ".join(reasons))


def _refused_audit(exc: Exception, *, action: str, by, run: ExecutionRun | None, request=None, **data) -> None:
    reasons = getattr(exc, "reasons", None) or [str(exc)]
    obj = run if run is not None else request
    audit_append(action=action, actor=by if by is not None and by.is_authenticated else None, obj=obj,
                 data={"reasons": reasons, **data})


def _lock(run: ExecutionRun) -> ExecutionRun:
    return ExecutionRun.objects.select_for_update().select_related("request").get(pk=run.pk)


def _implementers(request) -> list:
    return duties.duty_holders(request)[Duty.IMPLEMENTER]


# --- opening the run (effect on `start`) ------------------------------------------------------------------


def run_open(*, request, by, transition: str = "start", reason: str = "") -> ExecutionRun:
    """Effect of `start`: runs inside upgrade_transition's transaction, with the request locked."""
    current_version = selectors._contract("apps.rollouts.selectors", "current_version")
    now = clock.now()
    version = current_version(request) if current_version else None
    run = ExecutionRun.objects.create(request=request, plan_version=version, state=RunState.RUNNING,
                                      started_by=by, started_at=now)
    audit_append(action="execution.run_opened", actor=by, obj=run,
                 after={"request": request.reference, "state": run.state,
                        "plan_version": run.plan_version.number if run.plan_version else None})
    return run


# --- pre-checks ----------------------------------------------------------------------------------------------


def precheck_request(*, request, by):
    """The implementer asks for a pre-upgrade check run of the affected systems (queued, run on a worker)."""
    from .health import checkrun_request

    duties.duty_required(by, request, Duty.IMPLEMENTER)
    if request.state != State.SCHEDULED:
        exc = RunRefused([f"Pre-upgrade checks run while the request is scheduled; it is "
                          f"{request.get_state_display().lower()}."])
        _refused_audit(exc, action="execution.precheck_refused", by=by, run=None, request=request)
        raise exc
    checks = list(selectors.checks_of(request))
    if not checks:
        raise RunRefused(["The affected systems have no enabled health checks: there is nothing to run, "
                          "and nothing blocks the start."])
    return checkrun_request(checks=checks, purpose=CheckPurpose.PRE_CHECK, by=by, request=request)


# --- the step log ---------------------------------------------------------------------------------------------


def _step_duty(step) -> str:
    return Duty.VALIDATOR if step.owner_duty == Duty.VALIDATOR else Duty.IMPLEMENTER


def _runbook_now(run: ExecutionRun) -> str:
    return "backout" if run.state in (RunState.BACKING_OUT, RunState.ROLLED_BACK) else "forward"


def _check_step(run: ExecutionRun, step) -> None:
    plan = selectors.plan_of(run.request)
    if plan is None or step.plan_id != plan.pk:
        raise ValidationError({"step": "That step is not part of this request's plan."})


def step_start(*, run: ExecutionRun, step, by, automated: bool = False) -> StepEvent:
    """Record that a step started: only when the run lets this runbook run and the step's DAG
    predecessors are done or skipped; the step's owner duty (validation steps: the validator)."""
    _check_step(run, step)
    duty = _step_duty(step)
    duties.duty_required(by, run.request, duty)  # audits the refusal
    try:
        with transaction.atomic():
            run = _lock(run)
            reasons = duties.duty_check(by, run.request, duty)
            if reasons:
                raise RunRefused(reasons)
            reasons = _start_blockers(run, step)
            if reasons:
                raise RunRefused(reasons)
            event = StepEvent.objects.create(run=run, step=step, kind="started", operator=by, automated=automated,
                                             at=clock.now())
            audit_append(action="execution.step_started", actor=by, obj=run,
                         after={"step": step.key, "runbook": step.runbook, "title": step.title,
                                "automated": automated})
    except RunRefused as exc:
        _refused_audit(exc, action="execution.step_refused", by=by, run=run, step=step.key, what="start")
        raise
    return event


def _start_blockers(run: ExecutionRun, step) -> list[str]:
    runbook = _runbook_now(run)
    if run.state == RunState.PAUSED:
        return [f"The run is paused ({run.paused_reason or 'by a trigger'}): resume it or start the backout."]
    if run.state in (RunState.DONE, RunState.ROLLED_BACK):
        return [f"The run is {run.get_state_display().lower()}: no step can start."]
    if step.runbook != runbook:
        if runbook == "backout":
            return ["The backout is under way: only backout steps can start now."]
        return ["Backout steps start only once the backout has been invoked."]
    status = selectors.step_status(run, step)
    if status == selectors.IN_PROGRESS:
        return [f"“{step.title}” has already started."]
    if status in selectors.FINISHED_OK:
        return [f"“{step.title}” is already {status}."]
    waiting = [p for p in selectors.predecessors(step)
               if selectors.step_status(run, p) not in selectors.FINISHED_OK]
    if waiting:
        names = ", ".join(f"“{p.title}”" for p in waiting)
        return [f"“{step.title}” can start only when {names} "
                f"{'is' if len(waiting) == 1 else 'are'} done or skipped."]
    return []


def step_finish(*, run: ExecutionRun, step, by, outcome: str, output: str = "", reason: str = "",
                automated: bool = False) -> StepEvent:
    """Record a step's outcome: done or failed (after it started), or skipped with a reason.
    The last backout step done takes the request to rolled_back."""
    _check_step(run, step)
    errors: dict = {}
    if outcome not in StepOutcome.values:
        errors["outcome"] = f"Choose one of: {', '.join(StepOutcome.values)}."
    output = clean_text(errors, "output", output, required=False, max_length=MAX_OUTPUT)
    reason = clean_text(errors, "reason", reason, required=outcome == StepOutcome.SKIPPED, max_length=MAX_REASON)
    if outcome == StepOutcome.SKIPPED and errors.get("reason") == "This field is required.":
        errors["reason"] = "Say why the step is skipped."
    if errors:
        raise ValidationError(errors)
    duty = _step_duty(step)
    duties.duty_required(by, run.request, duty)
    try:
        with transaction.atomic():
            run = _lock(run)
            reasons = duties.duty_check(by, run.request, duty)
            if reasons:
                raise RunRefused(reasons)
            status = selectors.step_status(run, step)
            if outcome == StepOutcome.SKIPPED:
                reasons = []
                if status in selectors.FINISHED_OK:
                    reasons = [f"“{step.title}” is already {status}."]
                elif status != selectors.IN_PROGRESS:
                    reasons = _start_blockers(run, step)
            elif status != selectors.IN_PROGRESS:
                reasons = [f"Start “{step.title}” before recording that it is {outcome}."]
            if step.runbook == "forward" and run.state == RunState.BACKING_OUT and status != selectors.IN_PROGRESS:
                reasons = reasons or ["The backout is under way: forward steps are no longer done."]
            if reasons:
                raise RunRefused(reasons)
            event = StepEvent.objects.create(run=run, step=step, kind="finished", outcome=outcome, output=output,
                                             reason=reason, operator=by, automated=automated, at=clock.now())
            audit_append(action="execution.step_finished", actor=by, obj=run,
                         after={"step": step.key, "runbook": step.runbook, "outcome": outcome, "reason": reason,
                                "output": output[:500], "automated": automated})
            if run.state == RunState.BACKING_OUT and step.runbook == "backout":
                _roll_back_when_backed_out(run, by)
    except RunRefused as exc:
        _refused_audit(exc, action="execution.step_refused", by=by, run=run, step=step.key, what=outcome)
        raise
    return event


def backout_complete(run: ExecutionRun) -> bool:
    states = selectors.step_states(run, selectors.steps_of(run.request, "backout"))
    return all(s.finished_ok for s in states)


def _roll_back_when_backed_out(run: ExecutionRun, by) -> None:
    """The last backout step is done: this service takes the `roll_back` transition (when `by` may)."""
    from apps.upgrades.services import transition_blockers, upgrade_transition

    if not backout_complete(run):
        return
    request = run.request
    reason = f"Backout runbook executed. {run.backout_reason}".strip()
    if transition_blockers(request, by, "roll_back", reason):
        return  # the implementer takes it from the page (a validator finished the last step, say)
    upgrade_transition(request=request, by=by, transition="roll_back", reason=reason[:5000])


# --- pause, resume, backout --------------------------------------------------------------------------------


def run_pause(*, run: ExecutionRun, reason: str, by=None) -> ExecutionRun:
    """Pause a running run (a firing trigger, inside its own transaction)."""
    run.state = RunState.PAUSED
    run.paused_reason = reason[:2000]
    run.save(update_fields=["state", "paused_reason"])
    return run


def run_resume(*, run: ExecutionRun, by, reason: str) -> ExecutionRun:
    errors: dict = {}
    reason = clean_text(errors, "reason", reason, required=True, max_length=MAX_REASON)
    if errors:
        raise ValidationError(errors)
    duties.duty_required(by, run.request, Duty.IMPLEMENTER)
    try:
        with transaction.atomic():
            run = _lock(run)
            if run.state != RunState.PAUSED:
                raise RunRefused([f"The run is {run.get_state_display().lower()}, not paused."])
            before = run.paused_reason
            run.state, run.paused_reason = RunState.RUNNING, ""
            run.save(update_fields=["state", "paused_reason"])
            audit_append(action="execution.run_resumed", actor=by, obj=run,
                         before={"state": "paused", "paused_reason": before},
                         after={"state": run.state, "reason": reason})
    except RunRefused as exc:
        _refused_audit(exc, action="execution.resume_refused", by=by, run=run)
        raise
    return run


def _start_backout(run: ExecutionRun, *, by, reason: str, now) -> None:
    before = run.state
    run.state = RunState.BACKING_OUT
    run.backout_started_at = now
    run.backout_started_by = by
    run.backout_reason = reason[:5000]
    run.finished_at = None
    run.save(update_fields=["state", "backout_started_at", "backout_started_by", "backout_reason", "finished_at"])
    return before


def backout_invoke(*, run: ExecutionRun, by, reason: str = "") -> ExecutionRun:
    """One button, no analysis step: the implementer switches the run to its backout runbook."""
    errors: dict = {}
    reason = clean_text(errors, "reason", reason, required=False, max_length=MAX_REASON)
    if errors:
        raise ValidationError(errors)
    duties.duty_required(by, run.request, Duty.IMPLEMENTER)
    try:
        with transaction.atomic():
            run = _lock(run)
            if run.state in (RunState.BACKING_OUT, RunState.ROLLED_BACK):
                raise RunRefused([f"The run is already {run.get_state_display().lower()}."])
            if run.request.state not in (State.IN_PROGRESS, State.VALIDATING):
                raise RunRefused([f"{run.request.reference} is {run.request.get_state_display().lower()}: "
                                  "there is nothing to back out."])
            reason = reason or "Backout invoked by the implementer."
            before = _start_backout(run, by=by, reason=reason, now=clock.now())
            audit_append(action="execution.backout_invoked", actor=by, obj=run,
                         before={"state": before}, after={"state": run.state, "reason": reason, "manual": True})
            _notify_implementers(run, f"Backout started on {run.request.reference}: {reason}", exclude=by)
            _roll_back_when_backed_out(run, by)  # a plan without backout steps is backed out at once
    except RunRefused as exc:
        _refused_audit(exc, action="execution.backout_refused", by=by, run=run)
        raise
    return run


def _notify_implementers(run: ExecutionRun, message: str, *, exclude=None) -> None:
    url = f"/upgrades/{run.request.reference}/execution/"
    for user in _implementers(run.request):
        if exclude is None or user.pk != exclude.pk:
            notify(user=user, verb="trigger", message=message, url=url)


# --- effects of the later transitions -------------------------------------------------------------------------


def on_hand_to_validation(*, request, by, transition, reason) -> None:
    """The forward runbook is done: the run is done and the smoke tests are requested (after commit)."""
    run = selectors.run_current(request)
    if run is None:
        return
    run = _lock(run)
    run.state, run.finished_at = RunState.DONE, clock.now()
    run.save(update_fields=["state", "finished_at"])
    checks = list(selectors.post_check_checks(request))
    check_run = None
    if checks:
        from .health import checkrun_request

        check_run = checkrun_request(checks=checks, purpose=CheckPurpose.POST_CHECK, by=None, request=request,
                                     execution_run=run)
    audit_append(action="execution.run_done", actor=by, obj=run,
                 after={"state": run.state, "smoke_run": check_run.pk if check_run else None,
                        "smoke_checks": len(checks)})


def on_roll_back(*, request, by, transition, reason) -> None:
    run = selectors.run_current(request)
    if run is None:
        return
    run = _lock(run)
    run.state, run.finished_at = RunState.ROLLED_BACK, clock.now()
    run.save(update_fields=["state", "finished_at"])
    audit_append(action="execution.run_rolled_back", actor=by, obj=run,
                 after={"state": run.state, "downtime": selectors.downtime_minutes(run, request)})


def on_fail(*, request, by, transition, reason) -> None:
    run = selectors.run_current(request)
    if run is None or run.finished_at is not None:
        return
    run = _lock(run)
    run.finished_at = clock.now()
    run.save(update_fields=["finished_at"])


# --- validation sign-off ----------------------------------------------------------------------------------------


def evidence_digest(run: ExecutionRun) -> str:
    text = json.dumps(selectors.evidence(run), sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(text.encode()).hexdigest()


def validation_sign(*, run: ExecutionRun, by, password: str = "", token: str = ""):
    """The validator signs the evidence (password on the form, step-up token in the API); then the
    request is completed. Refused without a valid re-authentication or with red smoke tests."""
    from apps.accounts.stepup import signature_verify
    from apps.upgrades.services import upgrade_transition

    from apps.upgrades.models import UpgradeRequest

    request = UpgradeRequest.objects.get(pk=run.request_id)  # as it is now, not as the caller saw it
    duties.duty_required(by, request, Duty.VALIDATOR)
    if request.state != State.VALIDATING:
        raise RunRefused([f"{request.reference} is {request.get_state_display().lower()}, not being validated."])
    reasons = selectors.smoke_reasons(request)
    if reasons:
        exc = RunRefused(reasons)
        _refused_audit(exc, action="execution.validation_refused", by=by, run=run)
        raise exc
    method = signature_verify(user=by, password=password or "", token=token or "")  # audits a failure
    with transaction.atomic():
        run = _lock(run)
        digest = evidence_digest(run)
        signature = {"user": by.get_username(), "at": clock.now().isoformat(), "method": method,
                     "evidence_sha256": digest}
        run.validation_signature = signature
        run.save(update_fields=["validation_signature"])
        audit_append(action="execution.validation_signed", actor=by, obj=run, after={"signature": signature})
        upgrade_transition(request=request, by=by, transition="complete")
    return run


# --- gates -----------------------------------------------------------------------------------------------------


def gate_prechecks(request) -> list[str]:
    return selectors.precheck_reasons(request)


def gate_conditions(request) -> list[str]:
    return selectors.conditions_reasons(request)


def gate_window(request) -> list[str]:
    return selectors.window_reasons(request)


def gate_steps_done(request) -> list[str]:
    run = selectors.run_current(request)
    if run is None:
        return ["No execution run: start the execution first."]
    reasons = []
    if run.state == RunState.PAUSED:
        reasons.append("The run is paused by a rollback trigger: resume it or back out.")
    elif run.state == RunState.BACKING_OUT:
        reasons.append("The backout is under way: finish it, the request will be rolled back.")
    states = selectors.step_states(run, selectors.steps_of(request, "forward"))
    open_steps = [s for s in states if not s.finished_ok]
    if open_steps:
        names = ", ".join(f"“{s.step.title}” ({s.label.lower()})" for s in open_steps[:5])
        more = f" and {len(open_steps) - 5} more" if len(open_steps) > 5 else ""
        reasons.append(f"{len(open_steps)} runbook step{'s' if len(open_steps) != 1 else ''} not done or skipped: "
                       f"{names}{more}.")
    return reasons


def gate_smoke_green(request) -> list[str]:
    return selectors.smoke_reasons(request)


def gate_signed(request) -> list[str]:
    run = selectors.run_current(request)
    if run is None or not run.validation_signature:
        return ["The validator signs the validation (with their password) on the execution page."]
    return []


def gate_backout_executed(request) -> list[str]:
    run = selectors.run_current(request)
    if run is None:
        return ["No execution run to back out."]
    if run.state != RunState.BACKING_OUT:
        return ["Invoke the backout on the execution page and run the backout runbook first."]
    states = selectors.step_states(run, selectors.steps_of(request, "backout"))
    left = [s for s in states if not s.finished_ok]
    if left:
        return [f"{len(left)} backout step{'s' if len(left) != 1 else ''} still to do: "
                + ", ".join(f"“{s.step.title}”" for s in left[:5]) + "."]
    return []


# --- seed and test hooks ----------------------------------------------------------------------------------------


def _holder(request, duty: str, fallback=None):
    people = duties.duty_holders(request)[duty]
    return people[0] if people else fallback


def seed_before_start(*, request, by, users) -> None:
    """Acknowledge the CAB's conditions and make the pre-checks green (run them now, synchronously)."""
    implementer = _holder(request, Duty.IMPLEMENTER, by)
    conditions_unacknowledged = selectors._contract("apps.cab.selectors", "conditions_unacknowledged")
    condition_acknowledge = selectors._contract("apps.cab.services", "condition_acknowledge")
    if conditions_unacknowledged is not None and condition_acknowledge is not None:
        for condition in conditions_unacknowledged(request):
            condition_acknowledge(condition=condition, by=implementer)
    if selectors.precheck_reasons(request):
        from .health import checkrun_execute

        run = precheck_request(request=request, by=implementer)
        checkrun_execute(run.pk)


def _finish_all(run: ExecutionRun, runbook: str, *, implementer, validator, note: str) -> None:
    for state in selectors.step_states(run, selectors.steps_of(run.request, runbook)):
        if state.finished_ok:
            continue
        who = validator if state.step.owner_duty == Duty.VALIDATOR and validator else implementer
        if state.status != selectors.IN_PROGRESS:
            step_start(run=run, step=state.step, by=who)
        step_finish(run=run, step=state.step, by=who, outcome=StepOutcome.DONE, output=note)


def seed_before_hand_to_validation(*, request, by, users) -> None:
    run = selectors.run_current(request)
    if run is None:
        return
    if run.state == RunState.PAUSED:
        run_resume(run=run, by=_holder(request, Duty.IMPLEMENTER, by), reason="Checked: carry on.")
        run.refresh_from_db()
    _finish_all(run, "forward", implementer=_holder(request, Duty.IMPLEMENTER, by),
                validator=_holder(request, Duty.VALIDATOR), note="Done as written in the runbook.")


def _signature_passwords() -> list[str]:
    """The demo's published password: the seed (and the tests' driver, whose personas share it) signs with it."""
    from apps.core.seed import data

    return [data.PASSWORD]


def seed_before_complete(*, request, by, users) -> None:
    """Run the smoke tests if they still wait, then the validator signs (which completes the request)."""
    run = selectors.run_current(request)
    if run is None:
        return
    last = selectors.post_check_last(request)
    if last is not None and last.status == "queued":
        from .health import checkrun_execute

        checkrun_execute(last.pk)
    validator = _holder(request, Duty.VALIDATOR, by)
    password = next((p for p in _signature_passwords() if validator.check_password(p)), None)
    if password is None or selectors.smoke_reasons(request):
        return  # the gate says what is missing
    validation_sign(run=run, by=validator, password=password)


def seed_before_roll_back(*, request, by, users) -> None:
    """Invoke the backout and run its steps; the last one takes the request to rolled_back."""
    run = selectors.run_current(request)
    if run is None:
        return
    implementer = _holder(request, Duty.IMPLEMENTER, by)
    if run.state != RunState.BACKING_OUT:
        backout_invoke(run=run, by=implementer, reason="The upgrade did not behave: backing out.")
        run.refresh_from_db()
        # what made them back out: an incident on record, counted by the KPIs as unplanned downtime
        if not request.incidents.exists():
            from .incidents import incident_open

            systems = ", ".join(sorted({i.system.name for i in request.items.select_related("system")}))
            incident_open(request=request, by=implementer, title=f"Errors on {systems} after the upgrade",
                          severity="P2", started_at=clock.now() - dt.timedelta(minutes=25), ended_at=clock.now(),
                          impact_minutes=25,
                          impact="Error rate above the baseline for users of the upgraded service until the "
                                 "backout started.",
                          escalation_path="Implementer → on-call service owner → duty manager",
                          contacts="Service desk, ext. 4400")
    if run.state == RunState.BACKING_OUT:
        _finish_all(run, "backout", implementer=implementer, validator=_holder(request, Duty.VALIDATOR),
                    note="Backout step done.")


def register() -> None:
    """Registers the gates, effects, seed hooks, inbox provider and periodic task of execution runs."""
    from apps.core import inbox
    from apps.core.seed import register_before
    from apps.upgrades import effects, gates

    gates.register("start", "execution_prechecks_green", "execution", gate_prechecks)
    gates.register("start", "execution_conditions_acknowledged", "execution", gate_conditions)
    gates.register("start", "execution_inside_window", "execution", gate_window)
    gates.register("hand_to_validation", "execution_steps_done", "execution", gate_steps_done)
    gates.register("complete", "execution_smoke_green", "execution", gate_smoke_green)
    gates.register("complete", "execution_validation_signed", "execution", gate_signed)
    gates.register("roll_back", "execution_backout_executed", "execution", gate_backout_executed)
    effects.register("start", "execution_run_open", "execution", run_open)
    effects.register("hand_to_validation", "execution_run_done", "execution", on_hand_to_validation)
    effects.register("roll_back", "execution_run_rolled_back", "execution", on_roll_back)
    effects.register("fail", "execution_run_finished", "execution", on_fail)
    register_before("start", seed_before_start)
    register_before("hand_to_validation", seed_before_hand_to_validation)
    register_before("complete", seed_before_complete)
    register_before("roll_back", seed_before_roll_back)
    inbox.register("execution.steps", _inbox)
    from . import tasks_runs

    tasks_runs.schedule()


def _inbox(user):
    from apps.core.inbox import InboxItem

    from .models import ExecutionRun

    if not user.has_role("implementer", "validator"):
        return []
    from guardian.shortcuts import get_objects_for_user

    from apps.upgrades.models import UpgradeRequest

    mine = get_objects_for_user(user, ["upgrades.duty_implementer", "upgrades.duty_validator"], UpgradeRequest,
                                any_perm=True, accept_global_perms=False)
    items = []
    for run in ExecutionRun.objects.filter(request__in=mine, state__in=selectors.LIVE_STATES) \
            .select_related("request"):
        items.append(InboxItem(kind="Execution " + run.get_state_display().lower(),
                               title=f"{run.request.reference} {run.request.title}",
                               url=f"/upgrades/{run.request.reference}/execution/"))
    return items
