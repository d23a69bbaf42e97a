"""The calendar API: persona matrix, bad input with nothing written, and the calendar's query count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.rollouts.calendar import services
from apps.rollouts.models import ApprovedWindow, Conflict, Freeze, FreezeException

from .conftest import at

pytestmark = pytest.mark.django_db

READ_ALL = {"requester": 200, "assessor": 200, "approver": 200, "implementer": 200, "validator": 200,
            "executive": 200, "auditor": 200, "admin": 200, "outsider": 200, "anonymous": 401}
MANAGERS = {**{k: 403 for k in READ_ALL}, "requester": 201, "assessor": 201, "admin": 201, "outsider": 201,
            "anonymous": 401}
VISIBLE = {**READ_ALL, "approver": 404, "outsider": 404}


@pytest.fixture
def planned(upgrade, drive, another, component_a, make_freeze, frozen_now):
    upgrade = drive(upgrade, "planning")
    another(component_a)
    make_freeze(name="Year-end freeze")
    services.conflicts_refresh(request=upgrade)
    return upgrade


def _status(api, personas, method, url, body=None):
    got = {}
    for name, user in personas.items():
        client = api(user)
        response = getattr(client, method)(url, body(name) if callable(body) else body, format="json")
        got[name] = response.status_code
    return got


def test_persona_matrix_of_the_read_endpoints(planned, personas, api):
    freeze = Freeze.objects.get()
    for url in ("/api/v1/calendar/?start=2026-12-01&end=2027-01-01", "/api/v1/freezes/",
                f"/api/v1/freezes/{freeze.pk}/", "/api/v1/approved-windows/"):
        assert _status(api, personas, "get", url) == READ_ALL, url
    for url in (f"/api/v1/upgrades/{planned.reference}/conflicts/",
                f"/api/v1/upgrades/{planned.reference}/freeze-exceptions/"):
        assert _status(api, personas, "get", url) == VISIBLE, url


def test_persona_matrix_of_freeze_and_window_writes(personas, api, system_a):
    body = lambda name: {"name": f"Freeze {name}", "reason": "Closing.", "scope": "organisation",  # noqa: E731
                         "starts_at": "2026-12-20T00:00:00+01:00", "ends_at": "2026-12-21T00:00:00Z"}
    assert _status(api, personas, "post", "/api/v1/freezes/", body) == MANAGERS
    window = lambda name: {"system": system_a.slug, "label": name, "rrule": "FREQ=WEEKLY;BYDAY=SU",  # noqa: E731
                           "start_time": "01:00", "duration_minutes": 240, "timezone": "Europe/Berlin",
                           "valid_from": "2026-01-01"}
    assert _status(api, personas, "post", "/api/v1/approved-windows/", window) == MANAGERS
    assert Freeze.objects.count() == 4 and ApprovedWindow.objects.count() == 4
    freeze = Freeze.objects.first()
    assert freeze.starts_at == at(2026, 12, 19, 23)  # stored in UTC
    got = _status(api, personas, "post", f"/api/v1/freezes/{freeze.pk}/lift/", {"reason": "Done early."})
    # the requester (first in the loop) lifts it; the other managers are told it is already lifted
    assert got == {**{k: 403 for k in READ_ALL}, "requester": 200, "assessor": 400, "admin": 400, "outsider": 400,
                   "anonymous": 401}


def test_freeze_api_bad_input_is_400_with_the_field_and_nothing_written(api, admin_user):
    client = api(admin_user)
    before = AuditEvent.objects.count()
    for body, field in [
        ({"name": 5, "reason": "x", "starts_at": "2026-12-20T00:00Z", "ends_at": "2026-12-21T00:00Z"}, "name"),
        ({"name": "x", "reason": "x", "starts_at": "2026-12-22T00:00Z", "ends_at": "2026-12-21T00:00Z"}, "ends_at"),
        ({"name": "x", "reason": "x", "starts_at": "soon", "ends_at": "2026-12-21T00:00Z"}, "starts_at"),
        ({"name": "x", "reason": "x", "scope": "systems", "systems": ["nope"], "starts_at": "2026-12-20T00:00Z",
          "ends_at": "2026-12-21T00:00Z"}, "systems"),
    ]:
        response = client.post("/api/v1/freezes/", body, format="json")
        assert response.status_code == 400 and field in response.json(), (field, response.json())
    bad_rule = {"system": "core-ledger", "label": "x", "rrule": "FREQ=HOURLY", "start_time": "01:00",
                "duration_minutes": 60, "timezone": "Europe/Berlin", "valid_from": "2026-01-01"}
    response = client.post("/api/v1/approved-windows/", bad_rule, format="json")
    assert response.status_code == 400
    assert Freeze.objects.count() == 0 and ApprovedWindow.objects.count() == 0
    assert AuditEvent.objects.count() == before


def test_conflicts_accept_and_freeze_exception_through_the_api(planned, api, requester, implementer, outsider):
    client = api(requester)
    rows = client.get(f"/api/v1/upgrades/{planned.reference}/conflicts/").json()
    kinds = {r["kind"]: r for r in rows}
    assert set(kinds) == {"same_system", "implementer_booked", "freeze"}
    assert kinds["same_system"]["other_request"].startswith("UPG-") and kinds["freeze"]["freeze"] == "Year-end freeze"
    same, freeze = kinds["same_system"]["id"], kinds["freeze"]
    assert api(outsider).post(f"/api/v1/conflicts/{same}/accept/", {"justification": "x"},
                              format="json").status_code == 404
    assert api(implementer).post(f"/api/v1/conflicts/{same}/accept/", {"justification": "x"},
                                 format="json").status_code == 403
    assert client.post(f"/api/v1/conflicts/{same}/accept/", {"justification": ""}, format="json").status_code == 400
    assert client.post(f"/api/v1/conflicts/{freeze['id']}/accept/", {"justification": "Please."},
                       format="json").status_code == 403
    response = client.post(f"/api/v1/conflicts/{same}/accept/", {"justification": "Coordinated."}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    assert Conflict.objects.get(pk=same).justification == "Coordinated."
    url = f"/api/v1/upgrades/{planned.reference}/freeze-exceptions/"
    freeze_id = Freeze.objects.get().pk
    assert client.post(url, {"freeze": freeze_id}, format="json").status_code == 400
    assert api(implementer).post(url, {"freeze": freeze_id, "reason": "Now."}, format="json").status_code == 403
    assert FreezeException.objects.count() == 0
    response = client.post(url, {"freeze": freeze_id, "reason": "Security fix."}, format="json")
    assert response.status_code == 201 and response.json()["status"] == "requested"
    assert client.get(url).json()[0]["freeze"] == "Year-end freeze"


def test_calendar_api_entries_and_bad_parameters(planned, api, requester):
    client = api(requester)
    body = client.get("/api/v1/calendar/?start=2026-12-01&end=2027-01-01").json()
    kinds = [(e["kind"], e["reference"]) for e in body["entries"]]
    assert ("window", planned.reference) in kinds and ("freeze", None) in kinds
    assert body["timezone"] == requester.timezone
    for query, field in [("start=tomorrow", "start"), ("start=2026-12-01&end=2026-11-01", "end"),
                         ("start=2026-01-01&end=2028-01-01", "end"), ("risk=huge", "risk"), ("system=abc", "system"),
                         ("start=9999-12-31", "start")]:
        response = client.get(f"/api/v1/calendar/?{query}")
        assert response.status_code == 400 and field in response.json(), query


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_calendar_api_query_count_is_equal_for_10_and_500_windows(bulk_windows, api, requester, make_freeze):
    make_freeze(start=at(2026, 12, 2), end=at(2026, 12, 3))
    client = api(requester)
    url = "/api/v1/calendar/?start=2026-11-01&end=2027-02-01"
    bulk_windows(10)
    _count(client, url)  # warm: the user's roles are cached on first use
    small = _count(client, url)
    bulk_windows(490)
    assert len(client.get(url).json()["entries"]) == 1 + 500 + 250  # the freeze, 250 plain, 250 with two waves
    assert _count(client, url) == small


def test_feed_query_count_is_equal_for_10_and_500_windows(bulk_windows, client, requester, frozen_now):
    _, token = services.calendar_feed_create(user=requester, name="Mine", filters={}, by=requester)
    bulk_windows(10)
    _count(client, f"/calendar/feed/{token}.ics")  # the first read also stamps last_used_at
    small = _count(client, f"/calendar/feed/{token}.ics")
    bulk_windows(490)
    assert _count(client, f"/calendar/feed/{token}.ics") == small


def test_approved_window_update_and_delete_through_the_api(api, admin_user, implementer, system_a, upgrade, drive,
                                                           frozen_now):
    upgrade = drive(upgrade, "planning")
    client = api(admin_user)
    body = {"system": system_a.slug, "label": "Wednesdays", "rrule": "FREQ=WEEKLY;BYDAY=WE", "start_time": "22:00",
            "duration_minutes": 300, "timezone": "Europe/Berlin", "valid_from": "2026-01-01"}
    created = client.post("/api/v1/approved-windows/", body, format="json").json()
    assert created["next_occurrences"][0]["start"].startswith("2026-12-02T21:00")
    assert Conflict.objects.get(request=upgrade).kind == "outside_approved_window"
    url = f"/api/v1/approved-windows/{created['id']}/"
    assert api(implementer).patch(url, {"rrule": "FREQ=WEEKLY;BYDAY=SA"}, format="json").status_code == 403
    assert client.patch(url, {"rrule": "FREQ=MINUTELY"}, format="json").status_code == 400
    response = client.patch(url, {"rrule": "FREQ=WEEKLY;BYDAY=SA", "duration_minutes": 480}, format="json")
    assert response.status_code == 200 and response.json()["description"].startswith("Every week on Saturday")
    assert Conflict.objects.get(request=upgrade).status == "resolved"  # the change now fits the window
    assert api(implementer).delete(url).status_code == 403
    assert client.delete(url).status_code == 204 and not ApprovedWindow.objects.exists()


def test_freeze_patch_moves_it_and_rechecks_the_changes(api, admin_user, implementer, upgrade, drive, make_freeze,
                                                        frozen_now):
    upgrade = drive(upgrade, "planning")
    freeze = make_freeze(name="Year-end freeze")
    assert Conflict.objects.get(request=upgrade, kind="freeze").status == "open"
    url = f"/api/v1/freezes/{freeze.pk}/"
    assert api(implementer).patch(url, {"starts_at": "2026-12-20T00:00Z"}, format="json").status_code == 403
    response = api(admin_user).patch(url, {"starts_at": "2026-12-07T00:00Z"}, format="json")
    assert response.status_code == 200 and response.json()["starts_at"].startswith("2026-12-07T00:00")
    assert Conflict.objects.get(request=upgrade, kind="freeze").status == "resolved"
    assert api(admin_user).patch(url, {"ends_at": "2026-12-01T00:00Z"}, format="json").status_code == 400


def test_calendar_filters_by_team_and_region_apply_to_windows_and_freezes(api, requester, upgrade, drive,
                                                                          make_freeze, system_a, team_a, team_b,
                                                                          frozen_now):
    system_a.region = "eu-central"
    system_a.save()
    drive(upgrade, "planning")
    make_freeze(name="EU freeze", scope="region", region="eu-central", start=at(2026, 12, 10), end=at(2026, 12, 11))
    client = api(requester)

    def titles(query):
        body = client.get(f"/api/v1/calendar/?start=2026-12-01&end=2027-01-01&{query}").json()
        return sorted(e["reference"] or e["title"] for e in body["entries"])

    assert titles(f"team={team_a.pk}") == ["Freeze: EU freeze", upgrade.reference]
    assert titles(f"team={team_b.pk}") == []
    assert titles("region=eu-central") == ["Freeze: EU freeze", upgrade.reference]
    assert titles("region=us-east") == []
