"""Windows are entered in the planner's zone, stored in UTC, shown in each reader's zone and in the zones
of the affected systems — across clock changes and midnight."""

import datetime as dt

import pytest

from apps.rollouts import selectors, services
from apps.rollouts.models import Plan, Wave

from ..factories import UserFactory
from .conftest import UTC, counts


def to_utc(value, zone):
    errors = {}
    result = services.to_utc(value, tzname=zone, field="window_start", errors=errors)
    return result, errors.get("window_start")


def test_wall_times_convert_to_utc_with_summer_and_winter_offsets():
    assert to_utc(dt.datetime(2026, 12, 6, 2, 0), "Europe/Berlin") == (dt.datetime(2026, 12, 6, 1, 0, tzinfo=UTC), None)
    assert to_utc(dt.datetime(2026, 7, 5, 2, 0), "Europe/Berlin") == (dt.datetime(2026, 7, 5, 0, 0, tzinfo=UTC), None)
    assert to_utc("2026-07-05T02:00", "America/New_York") == (dt.datetime(2026, 7, 5, 6, 0, tzinfo=UTC), None)
    assert to_utc("2026-07-05T02:00+05:30", "Europe/Berlin") == (dt.datetime(2026, 7, 4, 20, 30, tzinfo=UTC), None)


def test_a_skipped_or_repeated_wall_time_is_refused_with_words():
    value, error = to_utc(dt.datetime(2026, 3, 29, 2, 30), "Europe/Berlin")  # clocks jump 02:00 → 03:00
    assert value is None and error.startswith("2026-03-29 02:30 does not exist in Europe/Berlin")
    value, error = to_utc(dt.datetime(2026, 10, 25, 2, 30), "Europe/Berlin")  # 02:00–03:00 happens twice
    assert value is None and error.startswith("2026-10-25 02:30 happens twice in Europe/Berlin")
    value, error = to_utc("2026-11-01T01:30", "America/New_York")
    assert value is None and "happens twice" in error
    assert to_utc("tomorrow", "UTC")[1] == "Enter a date and time such as 2026-12-06T01:00."


@pytest.fixture
def berlin_planner(requester):
    requester.timezone = "Europe/Berlin"
    requester.save(update_fields=["timezone"])
    return requester


@pytest.mark.django_db
def test_the_planner_enters_berlin_time_and_a_new_york_reader_sees_new_york_time(
        planning, berlin_planner, admin_user, login, component_a):
    component_a.system.timezone = "Asia/Tokyo"
    component_a.system.save(update_fields=["timezone"])
    response = login(berlin_planner).post(f"/upgrades/{planning.reference}/plan/waves/", {
        "wave-name": "Production", "wave-window_start": "2026-12-06T02:00", "wave-window_end": "2026-12-06T06:00"})
    assert response.status_code == 302
    wave = Wave.objects.get(plan__request=planning)
    assert (wave.window_start, wave.window_end) == (dt.datetime(2026, 12, 6, 1, tzinfo=UTC),
                                                   dt.datetime(2026, 12, 6, 5, tzinfo=UTC))
    assert Plan.objects.get(request=planning).planner_timezone == "Europe/Berlin"
    assert list(wave.systems.all()) == [component_a.system]  # the request's one system

    page = login(berlin_planner).get(f"/upgrades/{planning.reference}/plan/").content.decode()
    assert "Sun 6 Dec 2026, 02:00 – Sun 6 Dec 2026, 06:00 CET" in page
    reader = UserFactory(username="ny", roles=["executive"], timezone="America/New_York")
    page = login(reader).get(f"/upgrades/{planning.reference}/plan/").content.decode()
    assert "Sat 5 Dec 2026, 20:00 – Sun 6 Dec 2026, 00:00 EST" in page
    # and in the zone of the system's region, for the team on site
    assert "Asia/Tokyo" in page and "Sun 06 Dec 2026 10:00 JST" in page and "Sun 06 Dec 2026 14:00 JST" in page


@pytest.mark.django_db
def test_a_window_across_midnight_and_one_across_the_clock_change(planning, requester, component_a, system_b):
    system_b.timezone = "America/New_York"
    rows = selectors.local_times(dt.datetime(2026, 12, 5, 21, 0, tzinfo=UTC), dt.datetime(2026, 12, 6, 1, 0, tzinfo=UTC),
                                 [_sys("Core Ledger", "Europe/Berlin"), _sys("Retail Portal", "America/New_York")])
    berlin, new_york = rows[1], rows[0]
    assert (berlin.start_text, berlin.end_text) == ("Sat 05 Dec 2026 22:00 CET", "Sun 06 Dec 2026 02:00 CET")
    assert berlin.crosses_midnight and berlin.days_later == 1 and not berlin.offset_changes
    assert (new_york.start_text, new_york.end_text) == ("Sat 05 Dec 2026 16:00 EST", "Sat 05 Dec 2026 20:00 EST")
    assert not new_york.crosses_midnight

    # summer time ends in Berlin at 01:00 UTC on 25 October 2026: a 3-hour window shows 2 hours of wall clock
    start, end = dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), dt.datetime(2026, 10, 25, 3, 30, tzinfo=UTC)
    (row,) = selectors.local_times(start, end, [_sys("Core Ledger", "Europe/Berlin")])
    assert (row.start_text, row.end_text) == ("Sun 25 Oct 2026 02:30 CEST", "Sun 25 Oct 2026 04:30 CET")
    assert row.offset_changes and not row.crosses_midnight

    component_a.system.timezone = "Europe/Berlin"
    component_a.system.save(update_fields=["timezone"])
    services.wave_add(request=planning, by=requester, name="Night", window_start=start, window_end=end)
    services.step_add(request=planning, by=requester, key="all", title="All of it", instructions="Go.",
                      expected_minutes=170)
    analysis = selectors.plan_analysis(planning)
    assert analysis.waves[0].fit.window_minutes == 180 and analysis.waves[0].fit.fits  # real minutes, not wall


def _sys(name, zone):
    from types import SimpleNamespace

    return SimpleNamespace(name=name, timezone=zone)


@pytest.mark.django_db
def test_the_page_says_the_clocks_change_and_the_window_ends_next_day(planning, requester, login, component_a):
    component_a.system.timezone = "Europe/Berlin"
    component_a.system.save(update_fields=["timezone"])
    services.wave_add(request=planning, by=requester, name="DST", window_start=dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
                      window_end=dt.datetime(2026, 10, 25, 3, 30, tzinfo=UTC))
    services.wave_add(request=planning, by=requester, name="Midnight",
                      window_start=dt.datetime(2026, 12, 5, 21, 0, tzinfo=UTC),
                      window_end=dt.datetime(2026, 12, 6, 1, 0, tzinfo=UTC))
    page = login(requester).get(f"/upgrades/{planning.reference}/plan/").content.decode()
    assert "the clocks change during the window" in page and "ends the next day" in page


@pytest.mark.django_db
def test_skipped_hour_and_bad_windows_are_refused_and_nothing_is_written(planning, berlin_planner, login, api):
    client = login(berlin_planner)
    before = counts()
    for start, end, message in (
        ("2026-03-29T02:30", "2026-03-29T05:00", "does not exist in Europe/Berlin"),
        ("2026-12-06T06:00", "2026-12-06T02:00", "The window must end after it starts."),
        ("2026-12-06T06:00", "", "Give both the start and the end of the window."),
        ("2026-12-06T06:00", "2027-01-06T02:00", "at most 14 days"),
        ("not a time", "2026-12-06T02:00", "Enter a date and time"),
    ):
        response = client.post(f"/upgrades/{planning.reference}/plan/waves/", {
            "wave-name": "W", "wave-window_start": start, "wave-window_end": end})
        assert response.status_code == 400, start
        assert message in response.content.decode(), message
    response = api(berlin_planner).post(f"/api/v1/plans/{planning.reference}/waves/", {
        "name": "W", "window_start": "2026-11-01T01:30", "window_end": "2026-11-01T04:00",
        "timezone": "America/New_York"}, format="json")
    assert response.status_code == 400 and "happens twice" in response.json()["window_start"][0]
    response = api(berlin_planner).post(f"/api/v1/plans/{planning.reference}/waves/", {
        "name": "W", "window_start": "2026-11-01T01:30", "window_end": "2026-11-01T04:00",
        "timezone": "Mars/Olympus"}, format="json")
    assert response.status_code == 400 and "timezone" in response.json()
    assert counts() == before
