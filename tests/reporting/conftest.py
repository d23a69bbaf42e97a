"""A hand-built organisation where every KPI of October 2026 is known (read-side rows written directly).

Ended in October (all visible to the executive), see test_kpis.py for every figure:
  R1 completed, team A, on time, outage step 30 min                              → successful
  R2 completed, team A, P3 incident 2 days later (20 min impact), CAB 24 h         → with issues, failure
  R3 completed, team B, a step failed and was retried, ended inside a wave window
     (after the requested one), P4 incident 15 days later (outside the 7 days), CAB 48 h → with issues
  R4 rolled back, emergency, team B, P1 incident (90 min), outage 15 min, automatic
     rollback trigger fired, CAB 2 h                                               → unsuccessful, failure
  R5 failed, team A, no window                                                    → unsuccessful, failure
  R6 completed, standard, team A, hotfixed by H1 two days later                    → successful, failure
  H1 completed, emergency, team A (the hotfix of R6), no window                     → successful
and R8 completed in September (the previous period), team A.
"""

import datetime as dt
import itertools
import random

import pytest

from apps.core import clock

OCTOBER = {"start": "2026-10-01", "end": "2026-10-31"}
_seq = itertools.count(1)


def at(day, hour=0, minute=0, month=10):
    return dt.datetime(2026, month, day, hour, minute, tzinfo=dt.UTC)


def make_upgrade(requester, component, *, ref, outcome="completed", risk="normal", created, finished=None,
                 submitted=None, decided=None, window=None, fix_of=None, title=None):
    from apps.upgrades.models import UpgradeItem, UpgradeRequest

    state = {"completed": "completed", "rolled_back": "rolled_back", "failed": "failed"}.get(outcome, "draft")
    req = UpgradeRequest.objects.create(
        reference=ref, title=title or f"Upgrade {ref}", requester=requester, risk_class=risk, state=state,
        created_at=created, updated_at=finished or created, state_changed_at=finished or created,
        submitted_at=submitted, decided_at=decided,
        started_at=(finished - dt.timedelta(hours=1)) if finished else None, finished_at=finished,
        outcome=outcome if finished else "", fix_of=fix_of,
        window_start=window[0] if window else None, window_end=window[1] if window else None)
    UpgradeItem.objects.create(request=req, system=component.system, component=component,
                               product=component.product, current_version=component.version,
                               target_version="99")
    return req


def make_plan(req):
    from apps.rollouts.models import Plan

    return Plan.objects.get_or_create(request=req, defaults={"created_at": req.created_at,
                                                             "updated_at": req.created_at})[0]


def make_step(req, *, outage=False, key=None):
    from apps.rollouts.models import RunbookStep

    return RunbookStep.objects.create(plan=make_plan(req), key=key or f"s{next(_seq)}", title="Switch over",
                                      expected_minutes=10, instructions="do it", is_outage=outage)


def make_run(req, by):
    from apps.execution.models import ExecutionRun

    return ExecutionRun.objects.create(request=req, started_by=by,
                                       started_at=req.started_at or req.created_at)


def event(run, step, kind, when, by, outcome=""):
    from apps.execution.models import StepEvent

    return StepEvent.objects.create(run=run, step=step, kind=kind, outcome=outcome, operator=by, at=when)


def incident(req, severity, when, by, impact=0):
    from apps.execution.models import Incident

    return Incident.objects.create(request=req, title=f"{severity} after {req.reference}", severity=severity,
                                   started_at=when, impact_minutes=impact, opened_by=by, opened_at=when)


@pytest.fixture
def october(requester, implementer, component_a, component_b, frozen_now):
    """The data set of the module docstring; returns the requests by name."""
    from apps.audit.services import audit_append
    from apps.execution.models import TriggerFiring
    from apps.rollouts.models import RollbackTrigger, Wave

    by = implementer
    r = {}
    r["R1"] = make_upgrade(requester, component_a, ref="UPG-2026-0901", created=at(1, month=9),
                           submitted=at(10, month=9), decided=at(12, month=9), finished=at(5, 2),
                           window=(at(5, 1), at(5, 5)))
    run = make_run(r["R1"], by)
    step = make_step(r["R1"], outage=True)
    event(run, step, "started", at(5, 1, 10), by)
    event(run, step, "finished", at(5, 1, 40), by, "done")

    r["R2"] = make_upgrade(requester, component_a, ref="UPG-2026-0902", created=at(1), submitted=at(2),
                           decided=at(3), finished=at(10, 3), window=(at(10, 1), at(10, 5)))
    incident(r["R2"], "P3", at(12), by, impact=20)

    r["R3"] = make_upgrade(requester, component_b, ref="UPG-2026-0903", created=at(1), submitted=at(4),
                           decided=at(6), finished=at(15, 6), window=(at(15, 1), at(15, 5)))
    Wave.objects.create(plan=make_plan(r["R3"]), position=0, name="Production", window_start=at(15, 5),
                        window_end=at(15, 7))
    run = make_run(r["R3"], by)
    step = make_step(r["R3"])
    event(run, step, "started", at(15, 5, 0), by)
    event(run, step, "finished", at(15, 5, 10), by, "failed")
    event(run, step, "started", at(15, 5, 20), by)
    event(run, step, "finished", at(15, 5, 30), by, "done")
    incident(r["R3"], "P4", at(30), by, impact=5)

    r["R4"] = make_upgrade(requester, component_b, ref="UPG-2026-0904", outcome="rolled_back",
                           risk="emergency",
                           created=at(18), submitted=at(18, 6), decided=at(18, 8), finished=at(20, 2),
                           window=(at(20, 1), at(20, 5)))
    run = make_run(r["R4"], by)
    step = make_step(r["R4"], outage=True)
    event(run, step, "started", at(20, 1, 15), by)
    event(run, step, "finished", at(20, 1, 30), by, "done")
    incident(r["R4"], "P1", at(20, 3), by, impact=90)
    trigger = RollbackTrigger.objects.create(plan=make_plan(r["R4"]), name="Error rate above 5 %",
                                             kind="error_rate", action="roll_back")
    TriggerFiring.objects.create(run=run, trigger=trigger, numbers={"error_rate": 0.09}, action="roll_back",
                                 at=at(20, 1, 30))
    pause = RollbackTrigger.objects.create(plan=make_plan(r["R4"]), name="Latency", kind="latency_p95",
                                           action="pause")
    TriggerFiring.objects.create(run=run, trigger=pause, numbers={}, action="pause", at=at(20, 1, 20))

    r["R5"] = make_upgrade(requester, component_a, ref="UPG-2026-0905", outcome="failed", created=at(20),
                           finished=at(22, 4))
    r["R6"] = make_upgrade(requester, component_a, ref="UPG-2026-0906", risk="standard", created=at(22),
                           finished=at(25, 2), window=(at(25, 1), at(25, 5)))
    r["H1"] = make_upgrade(requester, component_a, ref="UPG-2026-0907", risk="emergency", created=at(27),
                           finished=at(28, 2), fix_of=r["R6"])
    r["R8"] = make_upgrade(requester, component_a, ref="UPG-2026-0908", created=at(1, month=9),
                           finished=at(10, 2, month=9))
    with clock.frozen(at(8)):
        audit_append(action="upgrade.transition_refused", actor=requester, obj=r["R2"],
                     data={"transition": "start", "reasons": ["Change freeze “Year-end” covers the window."]})
        audit_append(action="upgrade.transition_refused", actor=requester, obj=r["R2"],
                     data={"transition": "start", "reasons": ["The plan has no backout runbook."]})
    with clock.frozen(at(2, month=11)):
        audit_append(action="upgrade.transition_refused", actor=requester, obj=r["R5"],
                     data={"transition": "start", "reasons": ["FREEZE: quarter close."]})
    return r


@pytest.fixture
def generated(october, requester, implementer, component_a, component_b):
    """Twenty more October upgrades with random step logs: outage and other steps, retries, a step that
    never finished, one whose finish is logged before its start, and seconds that do not round evenly."""
    rng = random.Random(10)
    made = []
    for n in range(20):
        finished = at(rng.randrange(2, 28), rng.randrange(0, 20))
        req = make_upgrade(requester, rng.choice([component_a, component_b]), ref=f"UPG-2026-1{n:03d}",
                           outcome=rng.choice(["completed", "completed", "rolled_back", "failed"]),
                           created=at(1), finished=finished)
        run = make_run(req, implementer)
        for _ in range(rng.randrange(0, 4)):
            step = make_step(req, outage=rng.random() < .7)
            t = finished - dt.timedelta(minutes=rng.randrange(30, 300), seconds=rng.randrange(60))
            for _ in range(rng.randrange(1, 3)):
                event(run, step, "started", t, implementer)
                t += dt.timedelta(minutes=rng.randrange(-5, 40), seconds=rng.randrange(60))
                if rng.random() < .85:
                    event(run, step, "finished", t, implementer, rng.choice(["done", "failed"]))
        made.append(req)
    return made


@pytest.fixture(autouse=True)
def _fresh_dashboard_cache():
    """The dashboard caches its figures per visibility scope: every test starts with none cached."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
