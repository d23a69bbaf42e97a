"""The assessment API: persona matrix, writes through the services, bad input, query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.assessments import services
from apps.assessments.models import AssessmentRun, Finding
from apps.audit.models import AuditEvent
from apps.core import clock
from apps.upgrades.services import upgrade_transition

from ..factories import DependencyFactory, SystemFactory

READ = {"requester": 200, "assessor": 200, "approver": 404, "implementer": 200, "validator": 200,
        "executive": 200, "auditor": 200, "admin": 200, "outsider": 404}
# only the assessor runs; people who may not see the request get 404, others who may see it 403
RUN = {**{k: 403 for k in READ}, "assessor": 200, "approver": 404, "outsider": 404}


@pytest.fixture
def started(upgrade, requester, assessor, component_a):
    DependencyFactory(source_system=SystemFactory(name="Payments Hub", slug="payments-hub"),
                      target_system=component_a.system, target_component=component_a, constraint=">=13 <16")
    upgrade = upgrade_transition(request=upgrade, by=requester, transition="start_assessment")
    services.assessment_start(request=upgrade, by=assessor)
    return upgrade


def blocking():
    return Finding.objects.get(severity="blocking", key__startswith="compat:")


@pytest.mark.django_db
def test_persona_matrix_of_reads_and_writes(started, personas, api):
    ref = started.reference
    for name, user in personas.items():
        client = api(user)
        for path in (f"/api/v1/assessments/{ref}/", f"/api/v1/assessments/{ref}/findings/"):
            status = client.get(path).status_code
            assert status == (READ[name] if user else 403) or (user is None and status == 401), (name, path)
        status = client.post(f"/api/v1/assessments/{ref}/run/", format="json").status_code
        assert status == (RUN[name] if user else 403) or (user is None and status == 401), (name, "run")
        status = client.post(f"/api/v1/findings/{blocking().pk}/resolve/",
                             {"resolution": "accepted", "justification": "Vendor says fine."},
                             format="json").status_code
        expected = {"assessor": 200, "approver": 404, "outsider": 404}.get(name, 403)
        assert status == (expected if user else 403) or (user is None and status == 401), (name, "resolve")
        if name == "assessor":  # reopen the scene for the next persona: a new blocking finding
            Finding.objects.filter(pk=blocking().pk).update(resolution="open", justification="")
    assert AssessmentRun.objects.filter(run_by__username="assessor").count() == 2  # start + one run


@pytest.mark.django_db
def test_detail_explains_the_score_and_lists_findings(started, assessor, api):
    body = api(assessor).get(f"/api/v1/assessments/{started.reference}/").json()
    assert body["verdict"] == "not_ready" and body["status"] == "in_progress"
    assert {"name", "weight", "points", "explanation"} <= set(body["risk_factors"][0])
    titles = [f["title"] for f in body["findings"]]
    assert "payments-hub requires core-ledger postgresql >=13 <16; the target 16.4 is outside it" in titles
    assert body["last_run"]["added"]


@pytest.mark.django_db
def test_add_and_resolve_findings_through_the_api(started, assessor, requester, api):
    ref = started.reference
    response = api(requester).post(f"/api/v1/assessments/{ref}/findings/",
                                   {"category": "capacity", "severity": "high", "title": "Disk at 91%",
                                    "evidence": "df -h on ledger-db-1"}, format="json")
    assert response.status_code == 201 and response.json()["source"] == "entered"
    finding_id = response.json()["id"]
    response = api(requester).post(f"/api/v1/findings/{finding_id}/resolve/",
                                   {"resolution": "mitigated", "justification": "Volume grown to 2 TB."},
                                   format="json")
    assert response.status_code == 200 and response.json()["resolution"] == "mitigated"
    response = api(assessor).post(f"/api/v1/findings/{blocking().pk}/resolve/",
                                  {"resolution": "accepted"}, format="json")
    assert response.status_code == 400 and "justification" in response.json()
    assert AuditEvent.objects.filter(action="assessment.finding_mitigated").count() == 1


@pytest.mark.django_db
def test_bad_input_answers_400_with_the_field_and_writes_nothing(started, assessor, api):
    client = api(assessor)
    ref = started.reference
    before = (Finding.objects.count(), AuditEvent.objects.count())
    for data, field in (({"resolution": "mitigated", "justification": "a\x00b"}, "justification"),
                        ({"resolution": "accepted", "justification": "x" * 10000}, "justification"),
                        ({"resolution": "accepted", "justification": 42}, "justification"),
                        ({"resolution": "shrugged"}, "resolution")):
        response = client.post(f"/api/v1/findings/{blocking().pk}/resolve/", data, format="json")
        assert response.status_code == 400 and field in response.json(), data
    for data, field in (({"category": "other", "severity": "low", "title": "x\x00"}, "title"),
                        ({"category": "other", "severity": "fatal", "title": "ok"}, "severity"),
                        ({"category": "other", "severity": "low", "title": ["a"]}, "title"),
                        ({"category": "other", "severity": "low", "title": "ok", "evidence": "e" * 10000},
                         "evidence")):
        response = client.post(f"/api/v1/assessments/{ref}/findings/", data, format="json")
        assert response.status_code == 400 and field in response.json(), data
    assert client.post("/api/v1/findings/987654/resolve/", {"resolution": "resolved"},
                       format="json").status_code == 404
    assert client.get("/api/v1/assessments/UPG-1999-0001/").status_code == 404
    assert (Finding.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.django_db
def test_findings_list_query_count_is_the_same_for_10_and_500(started, assessor, api):
    client = api(assessor)
    path = f"/api/v1/assessments/{started.reference}/findings/"
    client.get(path)

    def count(n):
        Finding.objects.filter(source="entered").delete()
        now = clock.now()
        Finding.objects.bulk_create(
            Finding(assessment=started.assessment, category="other", severity="low", title=f"F{i}",
                    source="entered", owner=assessor, resolved_by=assessor if i % 2 else None,
                    resolution="resolved" if i % 2 else "open", created_at=now, updated_at=now)
            for i in range(n))
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        assert len(response.json()) >= n
        return len(ctx.captured_queries)

    assert count(10) == count(500)
