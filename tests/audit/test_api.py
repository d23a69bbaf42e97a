"""GET /api/v1/audit-events/ (list, one event, verify): auditors and administrators only."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from apps.audit.services import audit_append

from .conftest import raw, triggers_disabled

LIST = "/api/v1/audit-events/"


def test_persona_matrix(api, personas, chain):
    urls = [LIST, f"{LIST}3/", f"{LIST}verify/"]
    for name, user in personas.items():
        client = api(user)
        for url in urls:
            status = client.get(url).status_code
            if name == "anonymous":
                assert status in (401, 403), (name, url, status)
            else:
                assert status == (200 if name in ("auditor", "admin") else 403), (name, url, status)


def test_a_refused_api_call_is_audited(api, executive, chain):
    assert api(executive).get(LIST).status_code == 403
    event = AuditEvent.objects.get(action="api.denied")
    assert event.actor_username == "executive" and event.data["path"] == LIST


def test_the_api_is_read_only(api, auditor, chain):
    client = api(auditor)
    assert client.post(LIST, {"action": "x"}, format="json").status_code == 405
    assert client.put(f"{LIST}3/", {"action": "x"}, format="json").status_code == 405
    assert client.patch(f"{LIST}3/", {"action": "x"}, format="json").status_code == 405
    assert client.delete(f"{LIST}3/").status_code == 405
    assert AuditEvent.objects.get(seq=3).action == "test.event"


def test_list_is_newest_first_and_paginated(api, auditor):
    for n in range(55):
        audit_append(action="test.event", data={"n": n})
    body = api(auditor).get(LIST).json()
    assert body["count"] == 55
    assert [e["seq"] for e in body["results"]][:3] == [55, 54, 53]
    assert len(body["results"]) == 50 and body["next"]
    second = api(auditor).get(LIST + "?page=2").json()
    assert [e["seq"] for e in second["results"]] == [5, 4, 3, 2, 1]


def test_an_event_carries_who_what_where_diff_and_hashes(api, auditor, requester):
    event = audit_append(action="upgrade.update", actor=requester, object_type="upgrades.upgraderequest",
                         object_id="42", object_repr="UPG-2026-0042", before={"title": "Old"},
                         after={"title": "New"}, ip="198.51.100.7")
    body = api(auditor).get(f"{LIST}{event.seq}/").json()
    assert body == {
        "seq": event.seq, "created_at": body["created_at"], "actor": requester.pk,
        "actor_username": "requester",
        "action": "upgrade.update", "object_type": "upgrades.upgraderequest", "object_id": "42",
        "object_repr": "UPG-2026-0042", "ip": "198.51.100.7", "before": {"title": "Old"},
        "after": {"title": "New"}, "data": {}, "prev_hash": event.prev_hash, "hash": event.hash,
    }
    assert body["created_at"].endswith("Z") or body["created_at"].endswith("+00:00")


@pytest.mark.parametrize("seq", ["999", str(2**63)])
def test_an_unknown_event_is_404(api, auditor, chain, seq):
    assert api(auditor).get(f"{LIST}{seq}/").status_code == 404


@pytest.mark.parametrize("query,expected", [
    ("action=test.other", [7, 6]),
    ("actor=Requester", [7]),
    ("object_type=tests.thing&object_id=2", [2]),
    ("object_id=2", [2]),
])
def test_filters(api, auditor, requester, chain, query, expected):
    audit_append(action="test.other")
    audit_append(action="test.other", actor=requester)
    body = api(auditor).get(f"{LIST}?{query}").json()
    assert [e["seq"] for e in body["results"]] == expected


@pytest.mark.parametrize("query,field", [
    ("actor=bad%00name", "actor"),
    ("action=" + "x" * 81, "action"),
    ("object_id=" + "9" * 65, "object_id"),
])
def test_bad_filters_answer_400_naming_the_field(api, auditor, chain, query, field):
    response = api(auditor).get(f"{LIST}?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_verify_reports_ok(api, auditor, chain):
    assert api(auditor).get(f"{LIST}verify/").json() == {
        "ok": True, "checked": 5, "head_seq": 5, "broken_seq": None, "reason": ""}


def test_verify_reports_the_first_broken_link(api, auditor, chain):
    with triggers_disabled():
        raw("DELETE FROM audit_auditevent WHERE seq = 3")
    assert api(auditor).get(f"{LIST}verify/").json() == {
        "ok": False, "checked": 2, "head_seq": 5, "broken_seq": 3, "reason": "event #3 is missing"}


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_queries_do_not_grow_with_events(api, auditor, requester):
    def fresh_client():  # a new user object each time, as on a real request (roles are cached per object)
        return api(User.objects.get(pk=auditor.pk))

    for n in range(10):
        audit_append(action="test.event", actor=requester, after={"n": n})
    small = _count(fresh_client(), LIST)
    for n in range(50):
        audit_append(action="test.event", actor=requester, after={"n": n})
    large = _count(fresh_client(), LIST)
    assert AuditEvent.objects.count() == 60
    assert small == large


def test_the_schema_documents_the_endpoints(api, admin_user):
    schema = api(admin_user).get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert {LIST, LIST + "{seq}/", LIST + "verify/"} <= set(paths)
    names = {p["name"] for p in paths["/api/v1/audit-events/"]["get"]["parameters"]}
    assert {"action", "actor", "object_type", "object_id", "page"} <= names
    verify = paths["/api/v1/audit-events/verify/"]["get"]
    assert not [p for p in verify.get("parameters", []) if p["name"] in ("action", "page")]
