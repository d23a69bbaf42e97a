"""The execution API: the step log by people and by automation (token), backout, validation with a
step-up token, incidents; persona answers, bad input, query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.accounts.services import token_create
from apps.accounts.stepup import stepup_token_create
from apps.audit.models import AuditEvent
from apps.core import clock
from apps.execution import selectors
from apps.execution.health import checkrun_execute
from apps.execution.models import CheckRun, ExecutionRun, Incident, StepEvent

from ..factories import PASSWORD
from .conftest import own_checks

pytestmark = pytest.mark.django_db

READ = {"requester": 200, "assessor": 200, "approver": 200, "implementer": 200, "validator": 200,
        "executive": 200, "auditor": 200, "admin": 200, "outsider": 404, "anonymous": 401}


def base(upgrade):
    return f"/api/v1/upgrades/{upgrade.reference}/execution/"


def _token_client(user) -> APIClient:
    _, secret = token_create(user=user, by=user, name="pipeline", expires_in_days=1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def test_step_log_by_a_person_and_by_automation(running, personas, api, implementer):
    s = running.steps
    for name, user in personas.items():
        for path in ("", "events/", "start-check/"):
            assert api(user).get(base(running) + path).status_code == READ[name], (name, path)
        if name not in ("implementer", "anonymous"):
            response = api(user).post(base(running) + f"steps/{s['backup'].pk}/start/")
            assert response.status_code == (404 if name == "outsider" else 403), name
    assert not StepEvent.objects.exists()

    # a person (session) starts the step; automation (an API token) reports its outcome
    response = api(implementer).post(base(running) + f"steps/{s['backup'].pk}/start/")
    assert response.status_code == 201 and response.json()["automated"] is False
    pipeline = _token_client(implementer)
    response = pipeline.post(base(running) + f"steps/{s['backup'].pk}/finish/",
                             {"outcome": "done", "output": "pg_basebackup finished"}, format="json")
    assert response.status_code == 201 and response.json()["automated"] is True
    assert StepEvent.objects.get(kind="finished").automated

    # out of DAG order: 409 with the reason; bad input: 400 with the field, nothing written
    response = pipeline.post(base(running) + f"steps/{s['upgrade'].pk}/start/")
    assert response.status_code == 409 and "Stop the ledger service" in response.json()["reasons"][0]
    before = (StepEvent.objects.count(), AuditEvent.objects.count())
    for body, field in (({"outcome": "nope"}, "outcome"), ({"outcome": "done", "output": 5}, "output"),
                        ({"outcome": "skipped"}, "reason"), ({"outcome": "done", "output": "a\x00"}, "output")):
        response = pipeline.post(base(running) + f"steps/{s['stop'].pk}/finish/", body, format="json")
        assert response.status_code == 400 and field in response.json(), body
    assert pipeline.post(base(running) + "steps/999999/start/").status_code == 404
    assert (StepEvent.objects.count(), AuditEvent.objects.count()) == before

    body = api(implementer).get(base(running)).json()
    assert body["state"] == "running" and body["progress"]["finished"] == 1
    assert [st["status"] for st in body["forward"]][:2] == ["done", "pending"]
    assert body["forward"][1]["waiting_for"] == []

    response = api(implementer).post(base(running) + "backout/", {}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "backing_out"
    assert api(implementer).post(base(running) + "backout/", {}, format="json").status_code == 409


def test_validation_is_signed_with_a_step_up_token(upgrade, drive, validator, api, admin_user, ok_server):
    upgrade = drive(upgrade, "scheduled")
    own_checks(upgrade, admin_user, ok_server.port)
    upgrade = drive(upgrade, "validating")
    smoke = selectors.post_check_last(upgrade)
    if smoke is not None:
        checkrun_execute(smoke.pk)
    client = api(validator)
    before = AuditEvent.objects.filter(action="execution.validation_signed").count()
    for body in ({}, {"token": ""}, {"token": "not-a-token"}, {"password": PASSWORD}):
        response = client.post(base(upgrade) + "sign/", body, format="json")
        assert response.status_code == 400, body
    upgrade.refresh_from_db()
    assert upgrade.state == "validating"
    assert AuditEvent.objects.filter(action="execution.validation_signed").count() == before
    token, _ = stepup_token_create(user=validator, password=PASSWORD)
    response = client.post(base(upgrade) + "sign/", {"token": token}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["validation_signature"]["method"] == "step_up_token"
    upgrade.refresh_from_db()
    assert upgrade.state == "completed"


def test_incidents_api(running, personas, api, implementer, outsider, executive):
    path = f"/api/v1/upgrades/{running.reference}/incidents/"
    before = (Incident.objects.count(), AuditEvent.objects.count())
    for body, field in (({"severity": "P1"}, "title"), ({"title": "x", "severity": "P7"}, "severity"),
                        ({"title": "x", "severity": "P1", "impact_minutes": -3}, "impact_minutes"),
                        ({"title": "x", "severity": "P1", "runbook_url": "javascript:alert(1)"}, "runbook_url"),
                        ({"title": ["x"], "severity": "P1"}, "title")):
        response = api(implementer).post(path, body, format="json")
        assert response.status_code == 400 and field in response.json(), body
    assert (Incident.objects.count(), AuditEvent.objects.count()) == before
    assert api(executive).post(path, {"title": "x", "severity": "P1"}, format="json").status_code == 403
    assert api(outsider).post(path, {"title": "x", "severity": "P1"}, format="json").status_code == 404
    response = api(implementer).post(path, {"title": "Ledger slow", "severity": "P3", "impact_minutes": 4,
                                            "escalation_path": "DBA on call", "contacts": "+49 30 1234"},
                                     format="json")
    assert response.status_code == 201
    pk = response.json()["id"]
    response = api(implementer).patch(f"/api/v1/incidents/{pk}/", {"ended_at": clock.now().isoformat()},
                                      format="json")
    assert response.status_code == 200 and response.json()["ended_at"]
    assert api(outsider).get(f"/api/v1/incidents/{pk}/").status_code == 404
    assert api(outsider).get("/api/v1/incidents/").json()["count"] == 0
    assert api(executive).get("/api/v1/incidents/?severity=P3").json()["count"] == 1
    assert api(executive).get("/api/v1/incidents/?severity=P0").status_code == 400
    assert selectors.incident_counts(user=executive)["by_severity"]["P3"] == 1
    assert selectors.incident_counts(user=outsider)["total"] == 0

    # query counts at two sizes
    counts = []
    for n in (5, 40):
        Incident.objects.bulk_create(
            Incident(request=running, title=f"I{i}", severity="P4", started_at=clock.now(), opened_by=implementer,
                     opened_at=clock.now()) for i in range(n - Incident.objects.count()))
        ExecutionRun.objects.bulk_create(  # earlier runs of the request (list rows, nothing else)
            ExecutionRun(request=running, state="rolled_back", started_by=implementer, started_at=clock.now())
            for _ in range(n - ExecutionRun.objects.count()))
        row = []
        for url in ("/api/v1/incidents/", path, "/api/v1/execution-runs/", base(running) + "events/"):
            client = api(executive)
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            row.append(len(ctx))
        counts.append(row)
    assert counts[0] == counts[1], counts


def test_pre_checks_are_queued_from_the_api(scheduled, implementer, api):
    response = api(implementer).post(base(scheduled) + "pre-checks/")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert CheckRun.objects.filter(purpose="pre_check", request=scheduled, status="queued").exists()
