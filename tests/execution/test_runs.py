"""Execution runs: the start gate, the step log and its DAG order, duties, backout, validation, downtime."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from apps.accounts.duties import DutyRefused
from apps.audit.models import AuditEvent
from apps.core import clock
from apps.execution import runs, selectors
from apps.execution.models import CheckPurpose, CheckRun, ExecutionRun, Incident, StepEvent
from apps.upgrades.services import TransitionRefused, upgrade_transition

from .conftest import IN_WINDOW, WINDOW_START, tick, write_results

pytestmark = pytest.mark.django_db


def _finish(run, step, by, outcome="done", **kw):
    runs.step_start(run=run, step=step, by=by)
    return runs.step_finish(run=run, step=step, by=by, outcome=outcome, **kw)


# --- the start gate ---------------------------------------------------------------------------------------


def _unacknowledged_condition(upgrade):
    """A condition on the CAB's vote (when the CAB part is installed), to see the gate list it."""
    from apps.cab.models import Condition, Vote

    vote = Vote.objects.filter(review__request=upgrade).order_by("-pk").first()
    if vote is None:
        return None
    return Condition.objects.create(vote=vote, text="Keep the DBA on call during the window")


def test_the_start_gate_lists_each_missing_piece(scheduled, implementer):
    checks = list(selectors.checks_of(scheduled))
    assert checks, "the affected system has health checks"
    condition = _unacknowledged_condition(scheduled)
    before_window = WINDOW_START - dt.timedelta(days=2)
    with clock.frozen(before_window):
        reasons = selectors.start_reasons(scheduled)
        assert any("Run the pre-upgrade checks" in r for r in reasons)
        assert any("Start only inside the approved window" in r and "2026-12-06 01:00" in r for r in reasons)
        if condition is not None and selectors.conditions_reasons(scheduled):
            assert any("Keep the DBA on call" in r for r in reasons)
        with pytest.raises(TransitionRefused) as refused:
            upgrade_transition(request=scheduled, by=implementer, transition="start")
        assert any("pre-upgrade checks" in r for r in refused.value.reasons)
        assert any("approved window" in r for r in refused.value.reasons)
    assert not ExecutionRun.objects.filter(request=scheduled).exists()
    assert AuditEvent.objects.filter(action="upgrade.transition_refused", actor=implementer).exists()

    with clock.frozen(IN_WINDOW):
        # a red pre-check run blocks, naming how many failed
        write_results(checks, ["fail"], purpose=CheckPurpose.PRE_CHECK, request=scheduled,
                      start=IN_WINDOW - dt.timedelta(minutes=10))
        assert any("not green" in r and f"{len(checks)} of {len(checks)} checks failed" in r
                   for r in selectors.precheck_reasons(scheduled))
        # a green run older than 30 minutes does not count
        CheckRun.objects.filter(request=scheduled, purpose="pre_check").delete()
        write_results(checks, ["ok"], purpose=CheckPurpose.PRE_CHECK, request=scheduled,
                      start=IN_WINDOW - dt.timedelta(minutes=31))
        assert "in the last 30 minutes" in selectors.precheck_reasons(scheduled)[0]
        # a fresh green run does
        write_results(checks, ["ok"], purpose=CheckPurpose.PRE_CHECK, request=scheduled,
                      start=IN_WINDOW - dt.timedelta(minutes=2))
        assert selectors.precheck_reasons(scheduled) == []
        assert selectors.window_reasons(scheduled) == []


def test_no_health_checks_do_not_block_but_the_window_does(scheduled):
    from apps.execution.models import HealthCheck

    HealthCheck.objects.filter(endpoint__system__in=selectors.systems_of(scheduled)).update(enabled=False)
    with clock.frozen(IN_WINDOW):
        assert selectors.precheck_reasons(scheduled) == []
    with clock.frozen(WINDOW_START + dt.timedelta(hours=5)):
        assert selectors.window_reasons(scheduled) == [
            "Every approved window has passed: replan the request for a new window."]


# --- the step log -------------------------------------------------------------------------------------------


def test_the_dag_order_is_enforced(running, implementer):
    run, s = running.run, running.steps
    with pytest.raises(runs.RunRefused) as refused:
        runs.step_start(run=run, step=s["stop"], by=implementer)
    assert "Back up the ledger database" in refused.value.reasons[0]
    assert not StepEvent.objects.filter(step=s["stop"]).exists()
    assert AuditEvent.objects.filter(action="execution.step_refused").exists()
    # done: a successor may start; failed: it may not
    runs.step_start(run=run, step=s["backup"], by=implementer)
    with pytest.raises(runs.RunRefused):
        runs.step_start(run=run, step=s["stop"], by=implementer)  # still in progress
    runs.step_finish(run=run, step=s["backup"], by=implementer, outcome="failed", output="disk full")
    with pytest.raises(runs.RunRefused):
        runs.step_start(run=run, step=s["stop"], by=implementer)
    _finish(run, s["backup"], implementer, output="retried on the other volume")  # a failed step is retried
    runs.step_start(run=run, step=s["stop"], by=implementer)
    # a skip needs a reason, and counts as finished for the successors
    with pytest.raises(ValidationError) as bad:
        runs.step_finish(run=run, step=s["stop"], by=implementer, outcome="skipped")
    assert "reason" in bad.value.message_dict
    runs.step_finish(run=run, step=s["stop"], by=implementer, outcome="skipped", reason="Already stopped.")
    runs.step_start(run=run, step=s["upgrade"], by=implementer)
    # bad input: a clear error, nothing written
    before = (StepEvent.objects.count(), AuditEvent.objects.count())
    for kwargs in ({"outcome": "done", "output": "nul\x00"}, {"outcome": "maybe"},
                   {"outcome": "done", "output": "x" * 20001}, {"outcome": "skipped", "reason": "  "}):
        with pytest.raises(ValidationError):
            runs.step_finish(run=run, step=s["upgrade"], by=implementer, **kwargs)
    assert (StepEvent.objects.count(), AuditEvent.objects.count()) == before
    # backout steps wait for the backout
    with pytest.raises(runs.RunRefused) as refused:
        runs.step_start(run=run, step=s["restore"], by=implementer)
    assert "backout" in refused.value.reasons[0].lower()


def test_the_log_is_append_only_and_says_who_did_what(running, implementer):
    run, s = running.run, running.steps
    # starting the request opened the run
    assert run.state == "running" and run.started_by == implementer and run.started_at == IN_WINDOW
    assert AuditEvent.objects.filter(action="execution.run_opened", object_id=str(run.pk)).exists()
    from apps.core.inbox import items_for

    assert any(running.reference in item.title and item.kind == "Execution running" for item in items_for(implementer))
    runs.step_start(run=run, step=s["backup"], by=implementer)
    first = StepEvent.objects.get()
    snapshot = (first.pk, first.kind, first.outcome, first.at)
    tick(3)
    runs.step_finish(run=run, step=s["backup"], by=implementer, outcome="done", output="backup id 42")
    first.refresh_from_db()
    assert (first.pk, first.kind, first.outcome, first.at) == snapshot  # never updated
    rows = list(StepEvent.objects.order_by("at", "id").values_list("kind", "outcome", "output", "operator__username"))
    assert rows == [("started", "", "", "implementer"), ("finished", "done", "backup id 42", "implementer")]
    state = selectors.step_states(run, [s["backup"]])[0]
    assert state.status == "done" and state.finished_at - state.started_at == dt.timedelta(minutes=3)


def test_validation_steps_need_the_validator(running, implementer, validator):
    run, s = running.run, running.steps
    for key in ("backup", "stop", "upgrade", "start"):
        _finish(run, s[key], implementer)
    with pytest.raises(DutyRefused):
        runs.step_start(run=run, step=s["verify"], by=implementer)
    assert AuditEvent.objects.filter(action="duty.denied", actor=implementer).exists()
    with pytest.raises(DutyRefused):
        runs.step_start(run=run, step=s["backup"], by=validator)  # and implementer steps are not the validator's
    _finish(run, s["verify"], validator, output="Balances match.")
    assert StepEvent.objects.filter(step=s["verify"], operator=validator).count() == 2


# --- hand-over, validation, completion ----------------------------------------------------------------------


def _integration_check(upgrade, port):
    from apps.execution.models import HealthCheck
    from apps.inventory.models import Endpoint, Environment, Integration

    from ..factories import SystemFactory

    system = upgrade.items.first().system
    partner = SystemFactory(name="Card Network Gateway", slug="card-network-gw")
    endpoint = Endpoint.objects.create(system=partner, environment=Environment.objects.get(slug="production"),
                                       name="card-network", kind="http",
                                       target=f"http://127.0.0.1:{port}/card-network")
    Integration.objects.create(system=system, name="Card authorisations", partner="Card network",
                               endpoint=endpoint)
    return HealthCheck.objects.create(endpoint=endpoint, name="Card network answers", expect_status=200,
                                      created_at=clock.now())


def test_hand_over_validation_and_signature(running, implementer, validator, ok_server):
    from tests.factories import PASSWORD

    run, s = running.run, running.steps
    reasons = runs.gate_steps_done(running)
    assert "5 runbook steps not done or skipped" in reasons[0]
    for key in ("backup", "stop", "upgrade", "start"):
        _finish(run, s[key], implementer)
    assert "Verify balances" in runs.gate_steps_done(running)[0]
    _finish(run, s["verify"], validator)
    assert runs.gate_steps_done(running) == []
    # an integration of the system, checked on its partner's endpoint, is smoke-tested too
    partner_check = _integration_check(running, ok_server.port)
    upgrade = upgrade_transition(request=running, by=implementer, transition="hand_to_validation")
    run.refresh_from_db()
    assert run.state == "done" and upgrade.state == "validating"
    smoke = CheckRun.objects.get(request=upgrade, purpose="post_check")
    assert smoke.status == "queued" and smoke.execution_run_id == run.pk  # the smoke tests run automatically
    assert set(smoke.checks.all()) == {*running.checks, partner_check}
    assert "still running" in " ".join(runs.gate_smoke_green(upgrade))
    from apps.execution.health import checkrun_execute

    checkrun_execute(smoke.pk)
    assert runs.gate_smoke_green(upgrade) == []
    assert runs.gate_signed(upgrade)

    # refused without the password: nothing signed, the request stays in validation, the failure audited
    before = StepEvent.objects.count()
    for password in ("", "wrong-password"):
        with pytest.raises(ValidationError) as refused:
            runs.validation_sign(run=run, by=validator, password=password)
        assert "password" in refused.value.message_dict
    run.refresh_from_db()
    upgrade.refresh_from_db()
    assert run.validation_signature == {} and upgrade.state == "validating"
    assert StepEvent.objects.count() == before
    assert AuditEvent.objects.filter(action="signature.failed", actor=validator).exists()
    with pytest.raises(DutyRefused):
        runs.validation_sign(run=run, by=implementer, password=PASSWORD)

    runs.validation_sign(run=run, by=validator, password=PASSWORD)
    upgrade.refresh_from_db()
    run.refresh_from_db()
    assert upgrade.state == "completed"
    signed = AuditEvent.objects.get(action="execution.validation_signed")
    digest = signed.after["signature"]["evidence_sha256"]
    assert len(digest) == 64 and digest == runs.evidence_digest(run)
    assert signed.after["signature"]["method"] == "password" and signed.actor == validator


def test_red_smoke_tests_block_the_signature(running, implementer, validator):
    from tests.factories import PASSWORD

    run, s = running.run, running.steps
    for key in ("backup", "stop", "upgrade", "start"):
        _finish(run, s[key], implementer)
    _finish(run, s["verify"], validator)
    upgrade = upgrade_transition(request=running, by=implementer, transition="hand_to_validation")
    smoke = CheckRun.objects.get(request=upgrade, purpose="post_check")
    CheckRun.objects.filter(pk=smoke.pk).delete()
    write_results(running.checks, ["fail"], purpose=CheckPurpose.POST_CHECK, request=upgrade, run=run)
    with pytest.raises(runs.RunRefused) as refused:
        runs.validation_sign(run=run, by=validator, password=PASSWORD)
    assert "smoke tests are not green" in refused.value.reasons[0]
    upgrade.refresh_from_db()
    assert upgrade.state == "validating"


# --- backout and roll back ------------------------------------------------------------------------------------


def test_manual_backout_and_the_roll_back_path(running, implementer):
    run, s = running.run, running.steps
    _finish(run, s["backup"], implementer)
    runs.step_start(run=run, step=s["stop"], by=implementer)
    assert runs.gate_backout_executed(running)
    runs.backout_invoke(run=run, by=implementer, reason="")  # one button, no reason needed
    run.refresh_from_db()
    assert run.state == "backing_out" and run.backout_started_by == implementer
    with pytest.raises(runs.RunRefused):
        runs.step_start(run=run, step=s["upgrade"], by=implementer)  # forward steps are over
    runs.step_finish(run=run, step=s["stop"], by=implementer, outcome="done")  # what was running may finish
    with pytest.raises(runs.RunRefused):
        runs.step_start(run=run, step=s["restart"], by=implementer)  # DAG inside the backout runbook too
    _finish(run, s["restore"], implementer)
    assert "1 backout step still to do" in runs.gate_backout_executed(running)[0]
    _finish(run, s["restart"], implementer)  # the last backout step takes the request to rolled_back
    running.refresh_from_db()
    run.refresh_from_db()
    assert running.state == "rolled_back" and run.state == "rolled_back"
    assert AuditEvent.objects.filter(action="upgrade.transition", data__transition="roll_back").exists()
    assert AuditEvent.objects.filter(action="execution.backout_invoked", data={}).exists() or \
        AuditEvent.objects.filter(action="execution.backout_invoked").exists()


def test_downtime_is_measured_from_the_log(running, implementer, validator):
    from apps.execution.incidents import incident_open

    run, s = running.run, running.steps
    _finish(run, s["backup"], implementer)  # not an outage step
    tick(20)
    runs.step_start(run=run, step=s["stop"], by=implementer)
    tick(4)
    runs.step_finish(run=run, step=s["stop"], by=implementer, outcome="done")
    runs.step_start(run=run, step=s["upgrade"], by=implementer)
    tick(25)
    runs.step_finish(run=run, step=s["upgrade"], by=implementer, outcome="done")
    runs.step_start(run=run, step=s["start"], by=implementer)
    tick(6)
    assert selectors.downtime_minutes(run)["outage_minutes"] == 35  # a running outage step counts until now
    runs.step_finish(run=run, step=s["start"], by=implementer, outcome="done")
    tick(60)
    assert selectors.downtime_minutes(run) == {"outage_minutes": 35, "incident_minutes": 0, "total_minutes": 35}
    incident_open(request=running, by=implementer, title="Card payments declined", severity="P2",
                  started_at=clock.now(), impact_minutes=12, escalation_path="On-call DBA → head of payments")
    assert selectors.downtime_minutes(run) == {"outage_minutes": 35, "incident_minutes": 12, "total_minutes": 47}
    assert Incident.objects.count() == 1


# --- drive() reaches every state through these hooks (the plan as the rollout part makes it) ------------------


@pytest.mark.parametrize("state", ["completed", "rolled_back"])
def test_drive_reaches_the_execution_states(upgrade, drive, state):
    upgrade = drive(upgrade, state)
    run = selectors.run_current(upgrade)
    assert run is not None
    if state == "completed":
        assert run.validation_signature["evidence_sha256"]
    if state == "rolled_back":
        assert run.state == "rolled_back"
        # the hook records why they backed out, as the demo shows it: an incident with its downtime
        incident = upgrade.incidents.get()
        assert incident.severity == "P2" and incident.impact_minutes == 25
        assert selectors.downtime_minutes(run)["incident_minutes"] == 25
