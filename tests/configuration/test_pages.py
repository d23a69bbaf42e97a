"""The pages: who sees them, what they show, their forms, bad input, and query counts at two sizes."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.configuration import services
from apps.configuration.models import ConfigException, RegressionReport, Snapshot
from apps.core import clock

from .conftest import PROD, STAGING, as_json, audit_count, counts
from .test_junit import JEST

pytestmark = pytest.mark.django_db

REQUEST_PAGE = {"requester": 200, "assessor": 200, "approver": 404, "implementer": 200, "validator": 200,
                "executive": 200, "auditor": 200, "admin": 200, "outsider": 404}


def req_url(upgrade, suffix=""):
    return f"/configuration/requests/{upgrade.reference}/{suffix}"


def test_persona_matrix_of_every_page(planning, personas, login, system_a, production, requester):
    snapshot = services.snapshot_take(system=system_a, environment=production, by=requester, tag="t",
                                      values={"a": 1})
    pages = {
        req_url(planning): REQUEST_PAGE,
        f"/configuration/systems/{system_a.slug}/": {name: 200 for name in REQUEST_PAGE},
        f"/configuration/snapshots/{snapshot.pk}/": {name: 200 for name in REQUEST_PAGE},
        "/configuration/exceptions/": {name: 200 for name in REQUEST_PAGE},
    }
    for url, expected in pages.items():
        for name, user in personas.items():
            response = login(user).get(url)
            if user is None:
                assert response.status_code == 302 and "/accounts/login/" in response["Location"], (url, name)
            else:
                assert response.status_code == expected[name], (url, name, response.status_code)
    assert login(personas["requester"]).get("/configuration/requests/UPG-1999-0001/").status_code == 404
    assert login(personas["requester"]).get("/configuration/snapshots/99999/").status_code == 404


def test_the_request_page_shows_drift_evidence_and_what_blocks(planning, requester, executive, login, system_a,
                                                              production, staging):
    client = login(requester)
    page = client.get(req_url(planning)).content.decode()
    for text in ("What still blocks", "Staging evidence does not block", "No production snapshot yet",
                 "Upload a snapshot", "Import a JUnit XML report", "Staging parity", "Performance in staging",
                 "Patching order", "UAT sign-off", "no UAT sign-off is needed"):
        assert text in page, text
    for env, data in (("production", PROD), ("staging", STAGING)):
        response = client.post(req_url(planning, "snapshots/"), {
            "system": system_a.pk, "environment": (production if env == "production" else staging).pk,
            "tag": f"{env}-now", "purpose": "staging", "file": _upload(f"{env}.json", as_json(data))})
        assert response.status_code == 302, response.content.decode()[:2000]
    page = client.get(req_url(planning)).content.decode()
    assert "4 changed</strong>" in page and "service.workers" in page and "S3cret" not in page
    assert "secret, masked" in page
    client.post(req_url(planning, "junit/"), {"file": _upload("junit.xml", JEST)})
    page = client.get(req_url(planning)).content.decode()
    assert "1 failing regression test not accepted" in page and "Accept failure" in page
    case = RegressionReport.objects.get().cases.get()
    response = client.post(req_url(planning, f"junit/cases/{case.pk}/accept/"), {"justification": ""})
    assert response.status_code == 400 and "give a justification" in response.content.decode()
    client.post(req_url(planning, f"junit/cases/{case.pk}/accept/"), {"justification": "Fixed in next build."})
    page = client.get(req_url(planning)).content.decode()
    assert "Staging evidence does not block" in page and "Fixed in next build." in page
    # performance and parity forms
    client.post(req_url(planning, "performance/"), {"metric": "p95 latency", "unit": "ms", "before": "120",
                                                    "after": "180", "tolerance_percent": "10"})
    client.post(req_url(planning, "topology/"), {"system": system_a.pk, "environment": staging.pk,
                                                 "kind": "load_balancer", "name": "public LB", "value": "HAProxy 2.6"})
    client.post(req_url(planning, "topology/"), {"system": system_a.pk, "environment": production.pk,
                                                 "kind": "load_balancer", "name": "public LB", "value": "HAProxy 2.8"})
    page = client.get(req_url(planning)).content.decode()
    assert "Regression</strong>" in page and "50.0 %" in page
    assert "1 mismatch" in page and "HAProxy 2.6" in page and "HAProxy 2.8" in page
    # an executive reads it but gets no forms
    page = login(executive).get(req_url(planning)).content.decode()
    assert "service.workers" in page and "Upload a snapshot" not in page and "Accept failure" not in page


def _upload(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def test_bad_uploads_show_the_error_and_write_nothing(planning, requester, login, system_a, production):
    client = login(requester)
    before, audit = counts(), audit_count()
    response = client.post(req_url(planning, "snapshots/"), {
        "system": system_a.pk, "environment": production.pk, "tag": "x", "purpose": "staging",
        "file": _upload("broken.json", b"{oops")})
    assert response.status_code == 400 and "This is not valid JSON" in response.content.decode()
    response = client.post(req_url(planning, "junit/"), {"file": _upload("r.xml", b"<testsuite><oops")})
    assert response.status_code == 400 and "not well-formed XML" in response.content.decode()
    response = client.post(req_url(planning, "performance/"), {"metric": "", "before": "x", "after": "1"})
    assert response.status_code == 400
    assert counts() == before and audit_count() == audit


def test_the_backout_snapshot_is_shown_at_rollback_time(upgrade, drive, requester, login):
    upgrade = drive(upgrade, "in_progress")
    page = login(requester).get(req_url(upgrade)).content.decode()
    assert "Configuration a backout restores" in page and f"before-{upgrade.reference}" in page


def test_system_and_snapshot_pages_compare_and_approve_a_baseline(system_a, production, staging, requester, login):
    a = services.snapshot_take(system=system_a, environment=production, by=requester, tag="prod",
                               raw=as_json(PROD), filename="p.json")
    b = services.snapshot_take(system=system_a, environment=staging, by=requester, tag="stage",
                               raw=as_json(STAGING), filename="s.json")
    client = login(requester)
    page = client.get(f"/configuration/systems/{system_a.slug}/").content.decode()
    assert "prod" in page and "stage" in page and "no baseline approved" in page
    page = client.get(f"/configuration/snapshots/{b.pk}/?compare={a.pk}").content.decode()
    assert "features.legacy_export" in page and "removed" in page and "pr0d-S3cret" not in page
    response = client.post(f"/configuration/snapshots/{a.pk}/baseline/", {"note": "ok"})
    assert response.status_code == 302
    page = client.get(f"/configuration/systems/{system_a.slug}/").content.decode()
    assert "approved by" in page
    # a routine snapshot from the system page
    response = client.post(f"/configuration/systems/{system_a.slug}/snapshots/", {
        "environment": production.pk, "tag": "routine", "format": "env", "text": "A=1\nB=2\n"})
    assert response.status_code == 302 and Snapshot.objects.filter(tag="routine").exists()


def test_exceptions_page_request_and_decide(system_a, requester, approver, login):
    client = login(requester)
    expires = (clock.now() + dt.timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/configuration/exceptions/new/", {
        "system": system_a.pk, "key_pattern": "database.pool.*", "reason_kind": "regional_compliance",
        "reason": "Data residency in the EU.", "expires_at": expires})
    assert response.status_code == 302
    response = client.post("/configuration/exceptions/new/", {
        "system": system_a.pk, "key_pattern": "", "reason_kind": "x", "reason": "", "expires_at": "soon"})
    assert response.status_code == 400 and ConfigException.objects.count() == 1
    exception = ConfigException.objects.get()
    page = login(approver).get("/configuration/exceptions/").content.decode()
    assert "database.pool.*" in page and "Approve" in page
    login(approver).post(f"/configuration/exceptions/{exception.pk}/decide/", {"decision": "approve"})
    exception.refresh_from_db()
    assert exception.status == "approved"
    page = login(requester).get("/configuration/exceptions/?status=in_force").content.decode()
    assert "database.pool.*" in page


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("kind", ["request", "system", "exceptions"])
def test_query_counts_do_not_grow_with_rows(kind, planning, requester, approver, login, system_a, production,
                                            staging):
    client = login(requester if kind != "exceptions" else approver)

    def grow(n):
        for i in range(n):
            if kind == "exceptions":
                services.exception_request(system=system_a, by=requester, key_pattern=f"k{i}", reason_kind="other",
                                           reason="r", expires_at=clock.now() + dt.timedelta(days=3))
            else:
                env = production if i % 2 else staging
                services.snapshot_take(system=system_a, environment=env, by=requester, tag=f"t{i}",
                                       values={"n": i}, request=planning if kind == "request" else None)
                if kind == "request" and i % 3 == 0:
                    services.junit_import(request=planning, by=requester, raw=JEST, filename=f"{i}.xml")

    url = {"request": req_url(planning), "system": f"/configuration/systems/{system_a.slug}/",
           "exceptions": "/configuration/exceptions/"}[kind]
    grow(4)
    small = _queries(client, url)
    grow(40)
    assert _queries(client, url) == small


def test_the_workflow_owner_signs_off_on_the_page_with_the_password(planning, system_a, team_b, login):
    from apps.configuration.models import UatSignoff
    from apps.inventory.models import BusinessWorkflow

    from ..factories import PASSWORD, UserFactory

    # the owner sits in another team: owning the workflow is what lets them open the page
    owner = UserFactory(username="olga", first_name="Olga", last_name="Owner", teams=[team_b])
    workflow = BusinessWorkflow.objects.create(system=system_a, name="Salary payments", owner=owner)
    client = login(owner)
    page = client.get(req_url(planning)).content.decode()
    assert "UAT sign-off missing for “Salary payments”" in page and "Sign off “Salary payments”" in page
    response = client.post(req_url(planning, f"signoffs/{workflow.pk}/"), {"password": "wrong"})
    assert response.status_code == 400 and "The password is not correct" in response.content.decode()
    assert not UatSignoff.objects.exists()
    response = client.post(req_url(planning, f"signoffs/{workflow.pk}/"), {"password": PASSWORD,
                                                                          "comment": "UAT done."})
    assert response.status_code == 302
    page = client.get(req_url(planning)).content.decode()
    assert "Signed</span>" in page and "Staging evidence does not block" in page
    assert UatSignoff.objects.get().method == "password"
