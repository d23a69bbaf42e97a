"""Rollback triggers: each kind fires on its numbers (and not below them), with the numbers audited;
the same window fires once; a roll_back trigger starts the backout; the beat's minute drives it."""

import datetime as dt

import pytest

from apps.accounts.models import Notification
from apps.audit.models import AuditEvent
from apps.core import clock
from apps.execution import runs, triggers
from apps.execution.models import Baseline, CheckRun, TriggerFiring
from apps.execution.tasks_runs import execution_monitor_runs

from .conftest import add_trigger, tick, write_results

pytestmark = pytest.mark.django_db

# kind, threshold, statuses per probe round, latencies per round, baseline (error_rate, p95), firing?, observed
CASES = [
    ("health_failures", 3, ["ok", "fail", "fail", "fail"], None, None, True, 3),
    ("health_failures", 3, ["fail", "fail", "ok"], None, None, False, 0),
    ("error_rate", 20, ["ok", "ok", "fail", "ok"], None, None, True, 25.0),
    ("error_rate", 20, ["ok"] * 9 + ["fail"], None, None, False, 10.0),
    ("sla_breach", 99, ["ok"] * 9 + ["fail"], None, None, True, 90.0),
    ("sla_breach", 99, ["ok"] * 4, None, None, False, 100.0),
    ("latency_p95", 500, ["ok"] * 3, [100.0, 100.0, 900.0], None, True, None),
    ("latency_p95", 500, ["ok"] * 3, [100.0, 120.0, 110.0], None, False, None),
    ("error_rate_over_baseline", 10, ["ok", "fail"], None, (0.05, 100.0), True, None),
    ("error_rate_over_baseline", 10, ["ok", "fail"], None, (0.5, 100.0), False, None),
    ("latency_p95_over_baseline", 2, ["ok", "ok"], [300.0, 300.0], (0.0, 100.0), True, None),
    ("latency_p95_over_baseline", 2, ["ok", "ok"], [300.0, 300.0], (0.0, 200.0), False, None),
]


@pytest.fixture
def quiet(running):
    """Ten minutes on: the pre-check results of the start are outside every evaluation window."""
    tick(10)
    return running


def test_each_trigger_kind_fires_on_its_numbers_and_not_below(quiet, implementer):
    """All kinds on one run (one drive): each case in its own ten minutes, the run reset between them."""
    run, checks = quiet.run, quiet.checks
    for kind, threshold, statuses, latencies, baseline, fires, observed in CASES:
        case = f"{kind} {'fires' if fires else 'stays quiet'}"
        tick(10)
        TriggerFiring.objects.all().delete()
        type(run).objects.filter(pk=run.pk).update(state="running", paused_reason="")
        run.refresh_from_db()
        Baseline.objects.all().delete()
        triggers.selectors.plan_of(quiet).triggers.all().delete()
        mark = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
        trigger = add_trigger(quiet, kind, threshold)
        if baseline:
            for check in checks:
                Baseline.objects.create(request=quiet, health_check=check, samples=20, p50_ms=baseline[1] / 2,
                                        p95_ms=baseline[1], p99_ms=baseline[1], error_rate=baseline[0],
                                        captured_at=clock.now())
        write_results(checks, statuses, request=quiet, run=run, latencies=latencies,
                      start=clock.now() - dt.timedelta(seconds=20 * len(statuses)))
        numbers = triggers.measure(trigger, quiet, now=clock.now())
        assert numbers["fires"] is fires, (case, numbers)
        if observed is not None:
            assert numbers["observed"] == observed, case
        fired = triggers.triggers_evaluate(run=run)
        run.refresh_from_db()
        audited = AuditEvent.objects.filter(action="execution.trigger_fired", seq__gt=mark)
        if not fires:
            assert fired == [] and run.state == "running" and not audited.exists(), case
            continue
        assert len(fired) == 1 and run.state == "paused", case
        assert trigger.name in run.paused_reason
        numbers = audited.get().data["numbers"]
        assert numbers["threshold"] == float(threshold) and numbers["samples"] == len(statuses) * len(checks)
        assert numbers == fired[0].numbers, case
        if kind == "latency_p95":
            assert numbers["observed"] > 500
        if kind in triggers.KINDS_WITH_BASELINE:
            assert numbers["per_check"], case  # the baseline and the limit of each check
        assert Notification.objects.filter(user=implementer, message__contains=trigger.name).exists(), case


def test_the_same_window_fires_once_and_new_failures_fire_again(quiet, implementer):
    run, checks = quiet.run, quiet.checks
    add_trigger(quiet, "health_failures", 2)
    write_results(checks, ["fail", "fail"], request=quiet, run=run)
    tick(1)
    assert len(triggers.triggers_evaluate(run=run)) == 1
    run.refresh_from_db()
    runs.run_resume(run=run, by=implementer, reason="The DBA restarted the pool; carry on.")
    run.refresh_from_db()
    assert triggers.triggers_evaluate(run=run) == []  # the same results: evaluated again, fires once
    assert triggers.trigger_fire(run=run, trigger=TriggerFiring.objects.get().trigger,
                                 numbers=TriggerFiring.objects.get().numbers) is None
    assert TriggerFiring.objects.count() == 1
    write_results(checks, ["fail"], request=quiet, run=run)  # a new failure: a new window
    tick(1)
    assert len(triggers.triggers_evaluate(run=run)) == 1
    assert TriggerFiring.objects.count() == 2
    assert AuditEvent.objects.filter(action="execution.run_resumed").count() == 1


def test_a_roll_back_trigger_starts_the_backout(quiet, implementer):
    run, checks, s = quiet.run, quiet.checks, quiet.steps
    add_trigger(quiet, "error_rate", 50, action="roll_back", name="Ledger errors over 50 %")
    write_results(checks, ["fail", "fail", "fail"], request=quiet, run=run)
    tick(1)
    triggers.triggers_evaluate(run=run)
    run.refresh_from_db()
    assert run.state == "backing_out" and "Ledger errors over 50 %" in run.backout_reason
    # the backout runbook's steps are the steps to do now
    with pytest.raises(runs.RunRefused):
        runs.step_start(run=run, step=s["backup"], by=implementer)
    runs.step_start(run=run, step=s["restore"], by=implementer)
    event = AuditEvent.objects.get(action="execution.trigger_fired")
    assert event.after == {"state": "backing_out"} and event.data["numbers"]["observed"] == 100.0


def test_manual_triggers_never_fire_and_nothing_fires_while_paused(quiet):
    run, checks = quiet.run, quiet.checks
    add_trigger(quiet, "manual", None)
    write_results(checks, ["fail"] * 5, request=quiet, run=run)
    assert triggers.triggers_evaluate(run=run) == []
    add_trigger(quiet, "health_failures", 1)
    type(run).objects.filter(pk=run.pk).update(state="paused")
    run.refresh_from_db()
    assert triggers.triggers_evaluate(run=run) == []


def test_the_beat_minute_requests_monitoring_and_evaluates(quiet):
    run, checks = quiet.run, quiet.checks
    add_trigger(quiet, "health_failures", 2)
    assert execution_monitor_runs() == 1
    monitoring = CheckRun.objects.get(purpose="monitoring")
    assert monitoring.execution_run_id == run.pk and monitoring.status == "queued"
    write_results(checks, ["fail", "fail"], request=quiet, run=run)
    tick(1)
    assert execution_monitor_runs() == 0  # it fired: the run is paused and needs no more monitoring runs
    run.refresh_from_db()
    assert run.state == "paused" and TriggerFiring.objects.count() == 1
