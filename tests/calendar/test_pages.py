"""The calendar pages: persona matrix, what they show, their forms, and their query counts."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.rollouts.calendar import selectors, services
from apps.rollouts.models import ApprovedWindow, CalendarFeed, Conflict, Freeze, FreezeException

from .conftest import at

pytestmark = pytest.mark.django_db

EVERYONE = {"requester": 200, "assessor": 200, "approver": 200, "implementer": 200, "validator": 200,
            "executive": 200, "auditor": 200, "admin": 200, "outsider": 200}
MANAGERS_ONLY = {**{k: 403 for k in EVERYONE}, "requester": 200, "assessor": 200, "admin": 200, "outsider": 200}
# the request page follows the request's visibility: 404 for those who may not see it
REQUEST_PAGE = {**EVERYONE, "approver": 404, "outsider": 404}


@pytest.fixture
def planned(upgrade, drive, another, component_a, make_freeze, frozen_now):
    upgrade = drive(upgrade, "planning")
    another(component_a)
    make_freeze(name="Year-end freeze", start=at(2026, 12, 20), end=at(2027, 1, 5))
    services.conflicts_refresh(request=upgrade)
    return upgrade


def _check(personas, login, url, expected):
    for name, user in personas.items():
        response = login(user).get(url)
        if user is None:
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], name
        else:
            assert response.status_code == expected[name], (name, url, response.status_code)


def test_persona_matrix_of_every_page(planned, personas, login):
    freeze = Freeze.objects.get()
    for url in ("/calendar/?month=2026-12", "/calendar/week/?date=2026-12-06", "/calendar/freezes/",
                "/calendar/approved-windows/", "/calendar/feeds/"):
        _check(personas, login, url, EVERYONE)
    _check(personas, login, f"/calendar/requests/{planned.reference}/", REQUEST_PAGE)
    _check(personas, login, f"/calendar/freezes/{freeze.pk}/", MANAGERS_ONLY)


def test_persona_matrix_of_the_manager_forms(personas, login, system_a, make_freeze):
    freeze = make_freeze()
    post = {"name": "Closing", "reason": "Books.", "scope": "organisation", "starts_at": "2026-12-20T00:00",
            "ends_at": "2026-12-21T00:00"}
    window = {"system": system_a.pk, "label": "Sundays", "repeats": "weekly", "days": ["SU"], "start_time": "01:00",
              "duration_minutes": 240, "timezone": "Europe/Berlin", "valid_from": "2026-01-01"}
    for name, user in personas.items():
        client = login(user)
        expected = 302 if name in ("requester", "assessor", "admin", "outsider") else 403
        if user is None:
            expected = 302
        assert client.post("/calendar/freezes/new/", {**post, "name": f"Closing {name}"}).status_code == expected, name
        assert client.post("/calendar/approved-windows/new/", {**window, "label": name}).status_code == expected
        assert client.post(f"/calendar/freezes/{freeze.pk}/", {**post, "name": "Renamed"}).status_code == expected
    assert Freeze.objects.count() == 5 and ApprovedWindow.objects.count() == 4
    freeze.refresh_from_db()
    assert freeze.name == "Renamed"


def test_month_view_shows_windows_and_freezes_in_the_users_zone(planned, requester, login):
    requester.timezone = "Asia/Tokyo"
    requester.save()
    page = login(requester).get("/calendar/?month=2026-12").content.decode()
    assert "Change calendar: December 2026" in page
    assert "your time zone, Asia/Tokyo" in page
    assert planned.reference in page and "Year-end freeze" in page
    # 01:00–05:00 UTC is 10:00–14:00 in Tokyo
    assert "10:00–14:00" in page


def test_week_view_lists_each_day(planned, requester, login):
    page = login(requester).get("/calendar/week/?date=2026-12-06").content.decode()
    assert "Week of Monday 30 November 2026" in page
    assert planned.reference in page and "Sun 6 Dec 01:00" in page


def test_filters_narrow_the_calendar_and_bad_filters_say_so(planned, requester, login, system_b):
    client = login(requester)
    page = client.get(f"/calendar/?month=2026-12&system={system_b.pk}").content.decode()
    assert planned.reference not in page and "Year-end freeze" in page  # an organisation-wide freeze applies
    page = client.get("/calendar/?month=2026-12&risk=emergency").content.decode()
    assert planned.reference not in page
    response = client.get("/calendar/?month=2026-12&risk=huge")
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()


def test_the_outsider_does_not_see_other_teams_windows(planned, outsider, login):
    page = login(outsider).get("/calendar/?month=2026-12").content.decode()
    assert planned.reference not in page and "Year-end freeze" in page


def test_request_page_lists_conflicts_with_the_other_change_and_accepts(planned, requester, login):
    client = login(requester)
    page = client.get(f"/calendar/requests/{planned.reference}/").content.decode()
    other = Conflict.objects.filter(request=planned).first().other_request
    assert "Same system in another change" in page and other.reference in page and "Accept conflict" in page
    conflict = Conflict.objects.get(request=planned, kind="same_system")
    before = AuditEvent.objects.count()
    response = client.post(f"/calendar/requests/{planned.reference}/conflicts/{conflict.pk}/accept/",
                           {"justification": ""})
    assert response.status_code == 400 and AuditEvent.objects.count() == before
    response = client.post(f"/calendar/requests/{planned.reference}/conflicts/{conflict.pk}/accept/",
                           {"justification": "Same team, one bridge."})
    assert response.status_code == 302
    conflict.refresh_from_db()
    assert conflict.status == "accepted"
    page = client.get(f"/calendar/requests/{planned.reference}/").content.decode()
    assert "Same team, one bridge." in page


def test_others_cannot_accept(planned, implementer, executive, login):
    conflict = Conflict.objects.get(request=planned, kind="same_system")
    response = login(implementer).post(f"/calendar/requests/{planned.reference}/conflicts/{conflict.pk}/accept/",
                                       {"justification": "Sure."})
    assert response.status_code == 400 and "Only the requester" in response.content.decode()
    conflict.refresh_from_db()
    assert conflict.status == "open"
    page = login(executive).get(f"/calendar/requests/{planned.reference}/").content.decode()
    assert "Accept conflict" not in page


def test_freeze_conflict_offers_an_exception_request(upgrade, drive, requester, login, make_freeze, frozen_now):
    upgrade = drive(upgrade, "planning")
    freeze = make_freeze(name="Regulator freeze")
    client = login(requester)
    page = client.get(f"/calendar/requests/{upgrade.reference}/").content.decode()
    assert "Inside a freeze" in page and "Request exception" in page
    response = client.post(f"/calendar/requests/{upgrade.reference}/freeze-exceptions/",
                           {"freeze": freeze.pk, "reason": ""})
    assert response.status_code == 400 and FreezeException.objects.count() == 0
    response = client.post(f"/calendar/requests/{upgrade.reference}/freeze-exceptions/",
                           {"freeze": freeze.pk, "reason": "Security fix that cannot wait."})
    assert response.status_code == 302 and FreezeException.objects.get().status == "requested"


def test_feed_page_shows_the_address_once(requester, login):
    client = login(requester)
    response = client.post("/calendar/feeds/new/", {"name": "Mine", "risk": "normal"})
    assert response.status_code == 201
    page = response.content.decode()
    assert "/calendar/feed/" in page and "shown only once" in page
    feed = CalendarFeed.objects.get()
    page = client.get("/calendar/feeds/").content.decode()
    assert feed.token_prefix in page and "shown only once" not in page
    assert client.post("/calendar/feeds/new/", {"name": ""}).status_code == 400
    assert CalendarFeed.objects.count() == 1
    assert client.post(f"/calendar/feeds/{feed.pk}/revoke/").status_code == 302
    assert not selectors.feeds_of(requester).exists()


def test_someone_elses_feed_cannot_be_revoked(requester, outsider, login):
    feed, _ = services.calendar_feed_create(user=requester, name="Mine", filters={}, by=requester)
    assert login(outsider).post(f"/calendar/feeds/{feed.pk}/revoke/").status_code == 404


def test_approved_windows_page_shows_next_occurrences_in_both_zones(system_a, admin_user, login, frozen_now):
    services.approved_window_create(by=admin_user, system=system_a, label="Sunday early", rrule="FREQ=WEEKLY;BYDAY=SU",
                                    start_time=dt.time(1, 0), duration_minutes=240, timezone="Europe/Berlin",
                                    valid_from=dt.date(2026, 1, 1), valid_until=None)
    page = login(admin_user).get("/calendar/approved-windows/").content.decode()
    assert "Every week on Sunday, from 01:00 for 4 h (Europe/Berlin)" in page
    assert "Sun 29 Nov 01:00–05:00 CET" in page and "you: Sun 29 Nov 00:00–04:00" in page


def test_bad_window_form_input_is_shown_and_nothing_written(admin_user, login, system_a):
    response = login(admin_user).post("/calendar/approved-windows/new/", {
        "system": system_a.pk, "label": "x", "repeats": "weekly", "start_time": "01:00", "duration_minutes": 60,
        "timezone": "Nowhere/Land", "valid_from": "2026-01-01"})
    page = response.content.decode()
    assert response.status_code == 400 and "Tick at least one day." in page
    assert ApprovedWindow.objects.count() == 0


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", ["/calendar/?month=2026-12", "/calendar/week/?date=2026-12-02",
                                 "/calendar/day/?date=2026-12-01"])
def test_calendar_query_count_does_not_grow_with_windows(bulk_windows, requester, login, make_freeze, url):
    make_freeze(start=at(2026, 12, 2), end=at(2026, 12, 3))
    client = login(requester)
    bulk_windows(10)
    small = _count(client, url)
    bulk_windows(490)
    page = client.get(url).content.decode()
    assert page.count("Bulk change") >= 0 and page.count("UPG-2099-") > 10
    assert _count(client, url) == small


def test_persona_matrix_of_the_request_actions(planned, personas, login, make_freeze):
    """Check again: people with a duty and admins; the rest who see the request are refused, others get 404."""
    expected = {"requester": 302, "assessor": 302, "approver": 404, "implementer": 302, "validator": 302,
                "executive": 403, "auditor": 403, "admin": 302, "outsider": 404}
    for name, user in personas.items():
        response = login(user).post(f"/calendar/requests/{planned.reference}/refresh/")
        if user is None:
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        else:
            assert response.status_code == expected[name], name
    freeze = make_freeze(name="Regulator freeze")  # over the request's window: a freeze conflict to except
    for name, user in personas.items():
        if user is None:
            continue
        response = login(user).post(f"/calendar/requests/{planned.reference}/freeze-exceptions/",
                                    {"freeze": freeze.pk, "reason": f"Asked by {name}."})
        want = {"requester": 302, "approver": 404, "outsider": 404}.get(name, 400)
        assert response.status_code == want, name
    assert FreezeException.objects.get().requested_by == personas["requester"]


def test_lifting_from_the_page(make_freeze, personas, login):
    freeze = make_freeze()
    assert login(personas["implementer"]).post(f"/calendar/freezes/{freeze.pk}/lift/",
                                               {"reason": "Done."}).status_code == 403
    assert login(personas["admin"]).post(f"/calendar/freezes/{freeze.pk}/lift/", {"reason": ""}).status_code == 400
    freeze.refresh_from_db()
    assert freeze.lifted_at is None
    assert login(personas["admin"]).post(f"/calendar/freezes/{freeze.pk}/lift/",
                                         {"reason": "Closing done early."}).status_code == 302
    freeze.refresh_from_db()
    assert freeze.lifted_reason == "Closing done early."


def test_freeze_times_are_entered_and_shown_in_the_users_zone(requester, login):
    requester.timezone = "Europe/Berlin"
    requester.save()
    client = login(requester)
    response = client.post("/calendar/freezes/new/", {
        "name": "Year-end freeze", "reason": "Closing.", "scope": "organisation",
        "starts_at": "2026-12-20T00:00", "ends_at": "2027-01-04T06:00"})
    assert response.status_code == 302
    freeze = Freeze.objects.get()
    assert (freeze.starts_at, freeze.ends_at) == (at(2026, 12, 19, 23), at(2027, 1, 4, 5))
    page = client.get("/calendar/freezes/").content.decode()
    assert "Sun 20 Dec 2026 00:00" in page and "Times in <strong>Europe/Berlin</strong>" in page


def test_my_work_lists_changes_with_open_conflicts(planned, requester, implementer):
    from apps.core.inbox import items_for

    mine = [i for i in items_for(requester) if i.kind == "Schedule conflict to resolve"]
    other = Conflict.objects.filter(request=planned).first().other_request
    assert {i.title for i in mine} == {f"{planned.reference} {planned.title}", f"{other.reference} {other.title}"}
    assert all("open conflict" in i.detail for i in mine)
    assert not [i for i in items_for(implementer) if i.kind == "Schedule conflict to resolve"]
    for c in Conflict.objects.filter(request=planned, status="open"):
        services.conflict_accept(conflict=c, justification="Coordinated.", by=requester)
    assert planned.reference not in " ".join(i.title for i in items_for(requester)
                                              if i.kind == "Schedule conflict to resolve")


@pytest.mark.parametrize("url", ["/calendar/?month=0001-01", "/calendar/?month=9999-12", "/calendar/?month=2026-13",
                                 "/calendar/?month=x", "/calendar/week/?date=0001-01-01",
                                 "/calendar/week/?date=9999-12-31", "/calendar/week/?date=%00"])
def test_odd_dates_fall_back_to_today(requester, login, url, frozen_now):
    response = login(requester).get(url)
    assert response.status_code == 200 and "2026" in response.content.decode()
