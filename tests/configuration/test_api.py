"""The configuration API: persona matrix, uploads, diff, exceptions, evidence; bad input; query counts."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.configuration import services
from apps.configuration.models import ConfigException, Snapshot
from apps.core import clock

from .conftest import PROD, STAGING, YAML_PROD, as_json, audit_count, counts
from .test_junit import SUREFIRE

pytestmark = pytest.mark.django_db
BASE = "/api/v1/configuration"
READ_ALL = {"requester": 200, "assessor": 200, "approver": 200, "implementer": 200, "validator": 200,
            "executive": 200, "auditor": 200, "admin": 200, "outsider": 200, "anonymous": 401}
REQUEST_READ = {**READ_ALL, "approver": 404, "outsider": 404}


def test_persona_matrix_of_the_read_endpoints(planning, personas, api, system_a, production, requester):
    a = services.snapshot_take(system=system_a, environment=production, by=requester, tag="a", values={"x": 1})
    b = services.snapshot_take(system=system_a, environment=production, by=requester, tag="b", values={"x": 2})
    endpoints = {
        f"{BASE}/snapshots/": READ_ALL,
        f"{BASE}/snapshots/{a.pk}/": READ_ALL,
        f"{BASE}/snapshots/diff/?from={a.pk}&to={b.pk}": READ_ALL,
        f"{BASE}/baselines/": READ_ALL,
        f"{BASE}/exceptions/": READ_ALL,
        f"{BASE}/requests/{planning.reference}/": REQUEST_READ,
    }
    for url, expected in endpoints.items():
        for name, user in personas.items():
            status = api(user).get(url).status_code
            assert status == expected[name], (url, name, status)


def test_persona_matrix_of_the_write_endpoints(planning, personas, api, system_a, production):
    """Who may write what: 201 for the people on the request (and admins), 403 for others, 404 for the blind."""
    expected_snapshot = {"requester": 201, "assessor": 201, "approver": 404, "implementer": 201, "validator": 201,
                         "executive": 403, "auditor": 403, "admin": 201, "outsider": 404, "anonymous": 401}
    for name, user in personas.items():
        response = api(user).post(f"{BASE}/snapshots/", {
            "system": system_a.slug, "environment": production.slug, "tag": f"by-{name}", "purpose": "staging",
            "request": planning.reference, "values": {"who": name}}, format="json")
        assert response.status_code == expected_snapshot[name], (name, response.status_code, response.content)
    masking = {"requester": 201, "assessor": 201, "approver": 404, "implementer": 201, "validator": 201,
               "executive": 403, "auditor": 403, "admin": 201, "outsider": 404, "anonymous": 401}
    for name, user in personas.items():
        response = api(user).post(f"{BASE}/requests/{planning.reference}/masking/", {
            "system": system_a.slug, "masked": True, "method": "substitution", "masked_by": "pipeline",
            "masked_on": "2026-11-27"}, format="json")
        assert response.status_code == masking[name], (name, response.status_code, response.content)


def test_upload_files_and_diff_through_the_api(api, requester, system_a, production, staging):
    client = api(requester)
    response = client.post(f"{BASE}/snapshots/", {
        "system": system_a.slug, "environment": production.slug, "tag": "prod",
        "file": SimpleUploadedFile("prod.json", as_json(PROD))}, format="multipart")
    assert response.status_code == 201, response.content
    prod = response.json()
    assert prod["format"] == "json" and prod["content"]["database"]["password"].startswith("•")
    response = client.post(f"{BASE}/snapshots/", {
        "system": system_a.slug, "environment": staging.slug, "tag": "stage", "format": "json",
        "content": as_json(STAGING).decode()}, format="json")
    assert response.status_code == 201
    stage = response.json()
    diff = client.get(f"{BASE}/snapshots/diff/?from={prod['id']}&to={stage['id']}").json()
    assert diff["summary"] == {"added": 1, "removed": 2, "changed": 4}
    paths = {c["path"]: c for c in diff["changes"]}
    assert paths["database.password"]["secret"] and "S3cret" not in str(diff)
    response = client.post(f"{BASE}/snapshots/", {
        "system": system_a.slug, "environment": staging.slug, "tag": "yaml",
        "file": SimpleUploadedFile("app.yaml", YAML_PROD.encode())}, format="multipart")
    assert response.status_code == 201 and response.json()["masked_count"] == 1
    listed = client.get(f"{BASE}/snapshots/?system={system_a.slug}&environment=staging").json()
    assert [s["tag"] for s in listed["results"]] == ["yaml", "stage"]
    response = client.post(f"{BASE}/snapshots/{prod['id']}/baseline/", {"note": "approved"}, format="json")
    assert response.status_code == 201
    assert client.get(f"{BASE}/baselines/").json()["results"][0]["tag"] == "prod"


def test_bad_input_answers_400_with_the_field_and_writes_nothing(api, requester, system_a, production, planning):
    client = api(requester)
    before, audit = counts(), audit_count()
    cases = [
        ({"system": "nope", "environment": production.slug, "tag": "x", "values": {"a": 1}}, "system"),
        ({"system": system_a.slug, "environment": "nope", "tag": "x", "values": {"a": 1}}, "environment"),
        ({"system": system_a.slug, "environment": production.slug, "tag": "x"}, "values"),
        ({"system": system_a.slug, "environment": production.slug, "tag": "x", "values": [1]}, "values"),
        ({"system": system_a.slug, "environment": production.slug, "tag": "x", "content": "{"}, "format"),
        ({"system": system_a.slug, "environment": production.slug, "tag": "x", "content": "{", "format": "json"},
         "file"),
        ({"system": system_a.slug, "environment": production.slug, "tag": 5, "values": {"a": 1}}, "tag"),
    ]
    for body, field in cases:
        response = client.post(f"{BASE}/snapshots/", body, format="json")
        assert response.status_code == 400 and field in response.json(), (body, response.content)
    response = client.post(f"{BASE}/requests/{planning.reference}/junit/",
                           {"file": SimpleUploadedFile("r.xml", b"<!DOCTYPE x><testsuite/>")}, format="multipart")
    assert response.status_code == 400 and "DTD" in str(response.json()["file"])
    response = client.post(f"{BASE}/requests/{planning.reference}/performance/",
                           {"figures": [{"metric": "p95", "before": "x", "after": 1}]}, format="json")
    assert response.status_code == 400
    response = client.post(f"{BASE}/exceptions/", {"system": system_a.slug, "key_pattern": "a", "reason_kind": "x",
                                                   "reason": "r", "expires_at": "2030-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 400 and "reason_kind" in response.json()
    response = client.get(f"{BASE}/snapshots/diff/?from=a&to=b")
    assert response.status_code == 400
    assert counts() == before and audit_count() == audit


def test_evidence_endpoints(api, planning, requester, validator, system_a, staging, production):
    client = api(requester)
    response = client.post(f"{BASE}/requests/{planning.reference}/junit/",
                           {"file": SimpleUploadedFile("TEST-x.xml", SUREFIRE)}, format="multipart")
    assert response.status_code == 201
    report = response.json()
    assert (report["tests"], report["errors"], report["skipped"], report["passed"]) == (4, 1, 1, 2)
    summary = client.get(f"{BASE}/requests/{planning.reference}/").json()
    assert "1 failing regression test" in summary["submit_reasons"][0]
    case = report["cases"][0]["id"]
    response = api(validator).post(f"{BASE}/requests/{planning.reference}/junit/cases/{case}/accept/",
                                   {"justification": "Database was down during the run."}, format="json")
    assert response.status_code == 200 and response.json()["accepted_by"] == "validator"
    response = client.post(f"{BASE}/requests/{planning.reference}/performance/", {"figures": [
        {"metric": "throughput", "unit": "req/s", "before": "1000", "after": "700", "higher_is_better": True},
        {"metric": "p95", "unit": "ms", "before": "100", "after": "104"}]}, format="json")
    assert response.status_code == 201
    assert [f["regressed"] for f in response.json()] == [True, False]
    for env, value in ((staging, "3 nodes"), (production, "5 nodes")):
        response = client.post(f"{BASE}/requests/{planning.reference}/topology/", {
            "system": system_a.slug, "environment": env.slug, "kind": "cluster", "name": "app cluster",
            "value": value}, format="json")
        assert response.status_code == 201
    summary = client.get(f"{BASE}/requests/{planning.reference}/").json()
    assert summary["submit_reasons"] == []
    assert summary["parity"][0]["mismatches"] == 1
    assert summary["start_reasons"] == ["Take the pre-upgrade configuration snapshot of Core Ledger in Production."]


def test_exceptions_through_the_api_with_segregation(api, requester, approver, system_a):
    response = api(requester).post(f"{BASE}/exceptions/", {
        "system": system_a.slug, "key_pattern": "tls.*", "reason_kind": "vendor_requirement",
        "reason": "Vendor needs TLS 1.2 until March.", "expires_at": "2027-03-01T00:00:00Z"}, format="json")
    assert response.status_code == 201
    pk = response.json()["id"]
    response = api(requester).post(f"{BASE}/exceptions/{pk}/decide/", {"approve": True}, format="json")
    assert response.status_code == 403
    response = api(approver).post(f"{BASE}/exceptions/{pk}/decide/", {"approve": True}, format="json")
    assert response.status_code == 200 and response.json()["in_force"] is True
    with clock.frozen(dt.datetime(2027, 3, 2, tzinfo=dt.UTC)):
        listed = api(requester).get(f"{BASE}/exceptions/?status=expired").json()["results"]
    assert [e["id"] for e in listed] == [pk] and listed[0]["in_force"] is False


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_endpoints_query_counts_do_not_grow(api, planning, requester, system_a, production):
    client = api(requester)

    def grow(n):
        for i in range(n):
            snap = services.snapshot_take(system=system_a, environment=production, by=requester, tag=f"t{i}",
                                          values={"n": i}, request=planning)
            services.baseline_approve(snapshot=snap, by=requester)
            services.exception_request(system=system_a, by=requester, key_pattern=f"k{i}", reason_kind="other",
                                       reason="r", expires_at=clock.now() + dt.timedelta(days=3))

    urls = [f"{BASE}/snapshots/", f"{BASE}/baselines/?system={system_a.slug}", f"{BASE}/exceptions/",
            f"{BASE}/requests/{planning.reference}/"]
    grow(3)
    small = [_queries(client, u) for u in urls]
    grow(30)
    assert [_queries(client, u) for u in urls] == small
    assert Snapshot.objects.count() == 33 and ConfigException.objects.count() == 33
