"""The execution page: who sees it, who may act on it, what it shows, bad input, query counts."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.execution import runs, triggers
from apps.execution.models import Incident, StepEvent
from apps.rollouts.models import RunbookStep

from .conftest import add_trigger, own_checks, tick, write_results

pytestmark = pytest.mark.django_db

VISIBLE = {"requester": 200, "assessor": 200, "approver": 200, "implementer": 200, "validator": 200,
           "executive": 200, "auditor": 200, "admin": 200, "outsider": 404}


def url(upgrade, suffix=""):
    return f"/upgrades/{upgrade.reference}/execution/{suffix}"


def test_persona_matrix_of_the_page_the_live_panel_and_the_writes(running, personas, login):
    for suffix in ("", "live/"):
        for name, user in personas.items():
            response = login(user).get(url(running, suffix))
            if user is None:
                assert response.status_code == 302 and "/accounts/login/" in response["Location"], name
            else:
                assert response.status_code == VISIBLE[name], (suffix, name)
                if VISIBLE[name] == 404:
                    assert running.title not in response.content.decode()
    # only the implementer records (implementer) steps and backs out: 403 for the others, 404 for outsiders
    step = running.steps["backup"]
    for name, user in personas.items():
        if name in ("implementer", "anonymous"):
            continue
        before = (StepEvent.objects.count(), running.run.state)
        for suffix in (f"steps/{step.pk}/start/", "backout/"):
            response = login(user).post(url(running, suffix), {"reason": "I think so"})
            assert response.status_code == (404 if name == "outsider" else 403), (name, suffix)
        running.run.refresh_from_db()
        assert (StepEvent.objects.count(), running.run.state) == before, name
    assert login(None).post(url(running, f"steps/{step.pk}/start/")).status_code == 302
    response = login(personas["implementer"]).post(url(running, f"steps/{step.pk}/start/"))
    assert response.status_code == 302 and StepEvent.objects.filter(step=step, kind="started").count() == 1


def test_the_implementer_works_the_runbook_from_the_page(running, implementer, validator, login):
    client = login(implementer)
    s = running.steps
    page = client.get(url(running)).content.decode()
    for text in ("Upgrade runbook", "Backout runbook", "Back out now", "Start step", "Run status",
                 "Health of the affected systems", "Waits for: Back up the ledger database", "Incidents",
                 "of a 240-minute window"):
        assert text in page, text
    assert 'hx-trigger="every 5s"' in page
    # refused out of order: the reason is shown, nothing written
    page = client.post(url(running, f"steps/{s['stop'].pk}/start/"), follow=True).content.decode()
    assert "can start only when “Back up the ledger database”" in page
    assert not StepEvent.objects.filter(step=s["stop"]).exists()
    client.post(url(running, f"steps/{s['backup'].pk}/start/"))
    tick(2)
    response = client.post(url(running, f"steps/{s['backup'].pk}/finish/"), {"outcome": "done", "output": "ok 42"})
    assert response.status_code == 302
    # skipping without a reason: a form error, nothing written
    before = (StepEvent.objects.count(), AuditEvent.objects.count())
    response = client.post(url(running, f"steps/{s['stop'].pk}/finish/"), {"outcome": "skipped", "reason": ""})
    assert response.status_code == 400 and "Say why the step is skipped." in response.content.decode()
    for data in ({"outcome": "done", "output": "a\x00b"}, {"outcome": "bogus"}):
        assert client.post(url(running, f"steps/{s['backup'].pk}/finish/"), data).status_code == 400
    assert (StepEvent.objects.count(), AuditEvent.objects.count()) == before
    assert client.post(url(running, "steps/999999/start/")).status_code == 404
    page = client.get(url(running)).content.decode()
    assert "ok 42" in page and "1 of 5 steps done or skipped" in page
    # the validator sees the validation step's button, not the implementer's
    page = login(validator).get(url(running)).content.decode()
    assert "Back out now" not in page


def test_the_page_shows_the_pause_and_the_backout(running, implementer, login):
    client = login(implementer)
    add_trigger(running, "health_failures", 2, name="Ledger down twice")
    tick(10)
    write_results(running.checks, ["fail", "fail"], request=running, run=running.run)
    tick(1)
    triggers.triggers_evaluate(run=running.run)
    live = client.get(url(running, "live/")).content.decode()
    assert "Paused by a rollback trigger" in live and "Ledger down twice" in live and "2 consecutive failures" in live
    page = client.get(url(running)).content.decode()
    assert "Resume the run" in page and "Start step" not in page
    response = client.post(url(running, "resume/"), {"reason": ""})
    assert response.status_code == 400
    client.post(url(running, "backout/"), {"reason": "Ledger is not coming back."})
    running.run.refresh_from_db()
    assert running.run.state == "backing_out"
    live = client.get(url(running, "live/")).content.decode()
    assert "Backing out." in live and "Ledger is not coming back." in live


def test_the_scheduled_page_says_what_blocks_the_start(scheduled, implementer, executive, login):
    with clock.frozen(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)):
        page = login(implementer).get(url(scheduled)).content.decode()
        assert "Before you start" in page and "Run pre-checks" in page and "Start execution" in page
        assert "Start only inside the approved window" in page and "Run the pre-upgrade checks" in page
        page = login(executive).get(url(scheduled)).content.decode()
        assert "Run pre-checks" not in page and "The implementer of the request starts the execution." in page
        response = login(implementer).post(url(scheduled, "start/"), follow=True)
        assert "Start only inside the approved window" in response.content.decode()


def test_incidents_from_the_page(running, implementer, executive, login):
    client = login(implementer)
    before = (Incident.objects.count(), AuditEvent.objects.count())
    for data in ({"title": "", "severity": "P1", "started_at": "2026-12-06 02:00", "impact_minutes": 0},
                 {"title": "x", "severity": "P9", "started_at": "2026-12-06 02:00", "impact_minutes": 0},
                 {"title": "x", "severity": "P1", "started_at": "2026-12-06 02:00", "impact_minutes": -1},
                 {"title": "x", "severity": "P1", "started_at": "not a date", "impact_minutes": 0},
                 {"title": "a\x00", "severity": "P1", "started_at": "2026-12-06 02:00", "impact_minutes": 0}):
        response = client.post(url(running, "incidents/"), data)
        assert response.status_code == 400 and 'class="errorlist"' in response.content.decode(), data
    assert (Incident.objects.count(), AuditEvent.objects.count()) == before
    response = client.post(url(running, "incidents/"), {
        "title": "Card payments declined", "severity": "P2", "started_at": "2026-12-06 02:00",
        "impact_minutes": 9, "escalation_path": "On-call DBA, then the head of payments",
        "contacts": "dba-oncall@example.test", "runbook_url": "https://wiki.example.test/runbooks/ledger"})
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert AuditEvent.objects.filter(action="incident.open").exists()
    assert login(executive).post(url(running, "incidents/"), {"title": "x"}).status_code == 403
    page = login(executive).get(url(running)).content.decode()
    assert "Card payments declined" in page and "P2 — high" in page and "9 min" in page
    assert "Record an incident" not in page
    response = login(implementer).post(url(running, f"incidents/{incident.pk}/close/"),
                           {"ended_at": "2026-12-06 02:20", "impact_minutes": 15})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.ended_at is not None and incident.impact_minutes == 15


def _pad(upgrade, implementer, n):
    """n more forward steps, each started and finished (two log lines each)."""
    plan = triggers.selectors.plan_of(upgrade)
    run = upgrade.run
    for i in range(n):
        step = RunbookStep.objects.create(plan=plan, runbook="forward", key=f"pad-{n}-{i}", title=f"Pad {i}",
                                          position=100 + i, expected_minutes=1, instructions="x")
        runs.step_start(run=run, step=step, by=implementer)
        runs.step_finish(run=run, step=step, by=implementer, outcome="done")
        Incident.objects.create(request=upgrade, title=f"I{i}", severity="P4", started_at=clock.now(),
                                opened_by=implementer, opened_at=clock.now())


def test_query_counts_do_not_grow_with_steps_events_and_incidents(running, implementer, login):
    client = login(implementer)
    counts = []
    for n in (5, 30):
        _pad(running, implementer, n - (5 if n == 30 else 0))
        for path in (url(running), url(running, "live/")):
            client.get(path)
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(path).status_code == 200
            counts.append(len(ctx))
    assert counts[0] == counts[2] and counts[1] == counts[3], counts


def test_the_validator_signs_on_the_page_with_the_password(upgrade, drive, validator, implementer, login,
                                                           admin_user, ok_server):
    from apps.execution.health import checkrun_execute

    from ..factories import PASSWORD

    upgrade = drive(upgrade, "scheduled")
    own_checks(upgrade, admin_user, ok_server.port)
    upgrade = drive(upgrade, "validating")
    smoke = triggers.selectors.post_check_last(upgrade)
    page = login(validator).get(url(upgrade)).content.decode()
    assert "Post-upgrade smoke tests" in page and "Sign and complete" in page
    if smoke is not None:
        assert "still running" in page
        checkrun_execute(smoke.pk)
        page = login(validator).get(url(upgrade)).content.decode()
        assert "Compared with the baseline" in page or "passed" in page
    assert "Sign and complete" not in login(implementer).get(url(upgrade)).content.decode()
    before = AuditEvent.objects.filter(action="execution.validation_signed").count()
    for data in ({}, {"password": "wrong"}):
        response = login(validator).post(url(upgrade, "sign/"), data)
        assert response.status_code == 400 and 'class="errorlist"' in response.content.decode(), data
    upgrade.refresh_from_db()
    assert upgrade.state == "validating"
    assert AuditEvent.objects.filter(action="execution.validation_signed").count() == before
    response = login(validator).post(url(upgrade, "sign/"), {"password": PASSWORD})
    assert response.status_code == 302
    upgrade.refresh_from_db()
    assert upgrade.state == "completed"
    page = login(validator).get(url(upgrade)).content.decode()
    assert "Signed by validator (password)" in page


@pytest.mark.parametrize("page", ["", "execution/"])
def test_the_request_pages_ask_each_gate_question_once(scheduled, implementer, login, monkeypatch, page):
    """The start gates ask for the request's windows, systems, duties and CAB review several times: the request's
    page and its execution page read each once (apps/core/memo.py) and show what they show when every gate
    reads afresh."""
    import contextlib

    from apps.core import memo

    client = login(implementer)
    address = f"/upgrades/{scheduled.reference}/{page}"
    with clock.frozen(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)):
        client.get(address)
        with CaptureQueriesContext(connection) as remembered:
            shown = client.get(address).content.decode()
        monkeypatch.setattr(memo, "reading", contextlib.nullcontext)
        with CaptureQueriesContext(connection) as afresh:
            shown_afresh = client.get(address).content.decode()
    assert "Start only inside the approved window" in shown
    strip = re.compile(r'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]*"')
    assert strip.sub("", shown) == strip.sub("", shown_afresh)
    assert len(remembered.captured_queries) < len(afresh.captured_queries)
