"""The reporting API: the dashboard's numbers, report requests, status and downloads."""

import re

import pytest

from apps.reporting.models import Report
from apps.reporting.services import report_generate

QUERY = "start=2026-10-01&end=2026-10-31"
STATUS = {"requester": 200, "assessor": 200, "approver": 200, "implementer": 403, "validator": 403,
          "executive": 200, "auditor": 200, "admin": 200, "outsider": 200}

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", [f"/api/v1/reports/kpis/?{QUERY}",
                                  f"/api/v1/reports/kpis/completed/?{QUERY}",
                                  "/api/v1/reports/"])
def test_persona_matrix(path, personas, api, frozen_now):
    for name, user in personas.items():
        response = api(user).get(path)
        if user is None:
            assert response.status_code in (401, 403), path
        else:
            assert response.status_code == STATUS[name], (name, path)


def test_kpis_are_the_dashboards_numbers(october, executive, api, login):
    body = api(executive).get(f"/api/v1/reports/kpis/?{QUERY}").json()
    f = body["figures"]
    assert body["period"] == {"start": "2026-10-01", "end": "2026-10-31"}
    assert (f["completed"], f["success_rate"], f["change_failure_rate"], f["score"]) == (5, 42.9, 57.1, -17)
    assert f["incidents_by_severity"] == {"P1": 1, "P2": 0, "P3": 1, "P4": 1}
    assert body["previous"]["completed"] == 1
    assert {t["team"]: t["score"] for t in body["teams"]} == {"Core Banking": 0, "Retail Web": -17}
    page = login(executive).get(f"/reports/?{QUERY}").content.decode()
    for kpi, count in re.findall(r'href="/reports/kpi/([a-z_]+)/\?[^"]+" data-count="(\d+)"', page):
        rows = api(executive).get(f"/api/v1/reports/kpis/{kpi}/?{QUERY}").json()
        assert rows["count"] == int(count) == len(rows["rows"]), kpi


def test_kpis_count_only_what_the_caller_may_see(october, requester, api):
    assert api(requester).get(f"/api/v1/reports/kpis/?{QUERY}").json()["figures"]["ended"] == 5


@pytest.mark.parametrize("query, field", [("start=2026-10-31&end=2026-10-01", "end"),
                                          ("start=yesterday", "start"),
                                          ("risk_class=reckless", "risk_class")])
def test_bad_period_is_a_400_naming_the_field(query, field, executive, api, frozen_now):
    response = api(executive).get(f"/api/v1/reports/kpis/?{query}")
    assert response.status_code == 400 and field in response.json()


def test_request_status_and_download(october, executive, outsider, api):
    client = api(executive)
    response = client.post("/api/v1/reports/", {"start": "2026-10-01", "end": "2026-10-31"}, format="json")
    assert response.status_code == 201
    report_id = response.json()["id"]
    assert response.json()["status"] == "queued" and response.json()["pdf_url"] is None
    assert client.get(f"/api/v1/reports/{report_id}/pdf/").status_code == 404  # not ready
    report_generate(report_id)  # what the worker does (the real worker is shown in test_reports.py)
    status = client.get(f"/api/v1/reports/{report_id}/").json()
    assert status["status"] == "done" and status["progress"] == 100 and len(status["pdf_sha256"]) == 64
    pdf = client.get(status["pdf_url"])
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF-")
    again = client.post("/api/v1/reports/", {"start": "2026-10-01", "end": "2026-10-31"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == report_id
    assert [r["id"] for r in client.get("/api/v1/reports/").json()] == [report_id]
    assert api(outsider).get(f"/api/v1/reports/{report_id}/").status_code == 404
    assert api(outsider).get("/api/v1/reports/").json() == []


@pytest.mark.parametrize("payload, field", [({"start": "2026-10-31", "end": "2026-10-01"}, "end"),
                                            ({"start": 20261001}, "start"), ({"team": ["a"]}, "team")])
def test_bad_report_request_writes_nothing(payload, field, executive, api, frozen_now):
    response = api(executive).post("/api/v1/reports/", payload, format="json")
    assert response.status_code == 400 and field in response.json()
    assert Report.objects.count() == 0
