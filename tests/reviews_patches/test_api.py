"""The patch schedule and advisory API: persona matrix, writes through the services, bad input, query counts."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import clock
from apps.reviews import advisories
from apps.reviews.models import Advisory, AdvisoryMatch, PatchSchedule
from apps.upgrades.models import UpgradeRequest

from ..factories import ComponentFactory
from .conftest import BEFORE_DST, read
from .test_pages import READ, _grow

pytestmark = pytest.mark.django_db
WRITE = {"requester": 201, "assessor": 201, "admin": 201, "outsider": 201}


def _expect(table, name, user, status):
    return status == (table.get(name, 403) if user else 403) or (user is None and status == 401)


def test_persona_matrix(schedule, template, component_a, personas, api):
    advisory = advisories.advisory_record(by=schedule.created_by, identifier="PG-1", title="t", severity="low",
                                          product="postgresql", affected_versions="13.14")
    with clock.frozen(BEFORE_DST):
        for name, user in personas.items():
            client = api(user)
            for path in ("/api/v1/patch-schedules/", f"/api/v1/patch-schedules/{schedule.pk}/",
                         "/api/v1/advisories/", f"/api/v1/advisories/{advisory.pk}/"):
                assert _expect(READ, name, user, client.get(path).status_code), (name, path)
            status = client.post("/api/v1/patch-schedules/", {
                "name": f"by {name}", "system": component_a.system.slug, "template": template.pk,
                "target_version": "13.16", "rrule": "FREQ=WEEKLY;BYDAY=SU", "first_date": "2026-04-01",
                "start_time": "02:00", "time_zone": "Europe/Berlin"}, format="json").status_code
            assert _expect(WRITE, name, user, status), (name, "create schedule", status)
            status = client.post("/api/v1/advisories/", {"identifier": f"X-{name}", "title": "t", "severity": "low",
                                                         "product": "nothing-here"}, format="json").status_code
            assert _expect(WRITE, name, user, status), (name, "record advisory", status)
            status = client.post(f"/api/v1/patch-schedules/{schedule.pk}/active/", {"active": True},
                                 format="json").status_code
            assert _expect({"requester": 200, "assessor": 200, "admin": 200, "outsider": 200}, name, user, status)
    assert PatchSchedule.objects.count() == 5 and Advisory.objects.count() == 5


def test_schedule_detail_lists_windows_ahead_with_the_dst_shift(schedule, requester, api):
    with clock.frozen(BEFORE_DST):
        from apps.reviews.patches import generate_due

        generate_due()
        body = api(requester).get(f"/api/v1/patch-schedules/{schedule.pk}/").json()
    assert [a["starts_at"] for a in body["ahead"][:2]] == ["2026-03-10T21:00:00Z", "2026-04-14T20:00:00Z"]
    assert body["ahead"][0]["request"] == UpgradeRequest.objects.get().reference
    assert body["ahead"][1]["request"] is None and len(body["raised"]) == 1


def test_bad_schedule_input_is_400_with_the_field(template, component_a, requester, api):
    response = api(requester).post("/api/v1/patch-schedules/", {
        "name": "x", "system": component_a.system.slug, "template": template.pk, "target_version": "13.16",
        "rrule": "FREQ=SECONDLY", "first_date": "2026-04-01", "start_time": "02:00", "time_zone": "Nowhere/City"},
        format="json")
    assert response.status_code == 400
    assert {"rrule", "time_zone"} <= set(response.json())
    assert not PatchSchedule.objects.exists()


def test_import_real_csaf_reject_malformed_and_open_a_request(system_a, production, requester, api):
    component = ComponentFactory(system=system_a, environment=production, name="core-switch", product="IOS",
                                 version="12.2(55)SE")
    client = api(requester)
    response = client.post("/api/v1/advisories/import/", {
        "kind": "csaf", "file": SimpleUploadedFile("x.json", b"not json at all")}, format="multipart")
    assert response.status_code == 400 and "This is not JSON" in str(response.json()["document"])
    assert not Advisory.objects.exists()
    response = client.post("/api/v1/advisories/import/", {
        "kind": "csaf", "file": SimpleUploadedFile("c.json", read("cisco-sa-20180328-smi2.json"))},
        format="multipart")
    assert response.status_code == 201
    [row] = response.json()
    assert row["identifier"] == "cisco-sa-20180328-smi2" and row["affected"] == 1 and row["severity"] == "critical"
    body = client.get(f"/api/v1/advisories/{row['id']}/").json()
    [match] = body["matches"]
    assert match["component"] == component.pk and match["finding_resolution"] == "open"
    response = client.post(f"/api/v1/advisories/affected/{match['id']}/request/", {"target_version": ""},
                           format="json")
    assert response.status_code == 400 and "target_version" in response.json()
    response = client.post(f"/api/v1/advisories/affected/{match['id']}/request/",
                           {"target_version": "15.2(7)E3"}, format="json")
    assert response.status_code == 201
    assert AdvisoryMatch.objects.get().request.reference == response.json()["reference"]


def test_bad_csv_over_the_api(requester, api):
    response = api(requester).post("/api/v1/advisories/import/", {
        "kind": "csv", "file": SimpleUploadedFile("a.csv", b"id,title\nA,b\n")}, format="multipart")
    assert response.status_code == 400 and "missing" in str(response.json()["file"])
    assert not Advisory.objects.exists()


def _count(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_endpoints_query_counts_do_not_grow(template, requester, production, api):
    client = api(requester)
    _grow(10, template, requester, production)
    small = (_count(client, "/api/v1/patch-schedules/"), _count(client, "/api/v1/advisories/"))
    _grow(40, template, requester, production)
    assert (_count(client, "/api/v1/patch-schedules/"), _count(client, "/api/v1/advisories/")) == small
    assert client.get("/api/v1/advisories/").json()["count"] == 50
