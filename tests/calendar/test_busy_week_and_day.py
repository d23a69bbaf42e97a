"""A busy week: each day shows its first windows and links to the day's page, which lists them all (paged);
the feed form takes a typed system instead of a <select> of every system."""

import pytest

from apps.rollouts.calendar import views
from apps.rollouts.models import CalendarFeed

from .conftest import at

pytestmark = pytest.mark.django_db


def _day_section(page: str, label: str) -> str:
    start = page.index(f'aria-label="{label}"')
    end = page.find("</section>", start)
    return page[start:end]


def test_a_busy_day_of_the_week_shows_the_first_windows_and_links_to_the_day(bulk_windows, requester, login,
                                                                             make_freeze):
    make_freeze(start=at(2026, 12, 1, 0), end=at(2026, 12, 2, 0))
    bulk_windows(20, first=at(2026, 12, 1, 0))  # 10 plain windows and 10 plans of two waves: 30 windows
    page = login(requester).get("/calendar/week/?date=2026-12-01").content.decode()
    assert "30 windows this week." in page
    day = _day_section(page, "Tuesday 1 December")
    assert day.count('<li class="window') == views.WEEK_DAY_LIMIT
    assert day.count('<li class="freeze"') == 1  # a freeze is always shown
    more = 30 - views.WEEK_DAY_LIMIT
    assert f'href="/calendar/day/?date=2026-12-01">+{more} more windows on Tuesday 1 December</a>' in day
    quiet = _day_section(page, "Wednesday 2 December")
    assert "more" not in quiet and "No windows and no freeze." in quiet


def test_the_day_lists_every_window_of_the_day(bulk_windows, requester, login):
    bulk_windows(20, first=at(2026, 12, 1, 0))
    page = login(requester).get("/calendar/day/?date=2026-12-01").content.decode()
    assert page.count('<li class="window') == 30 and "30 windows on this day." in page
    assert "UPG-2099-" in page and "Pilot" in page
    assert '<li class="window' not in login(requester).get("/calendar/day/?date=2026-12-03").content.decode()


def test_a_very_busy_day_is_paged(bulk_windows, requester, login, monkeypatch):
    monkeypatch.setattr(views, "DAY_PAGE", 20)
    bulk_windows(20, first=at(2026, 12, 1, 0))
    client = login(requester)
    first = client.get("/calendar/day/?date=2026-12-01").content.decode()
    assert first.count('<li class="window') == 20 and "windows 1–20 by start time are shown" in first
    assert "page=2" in first and "Later windows" in first
    second = client.get("/calendar/day/?date=2026-12-01&page=2").content.decode()
    assert second.count('<li class="window') == 10 and "windows 21–30 by start time are shown" in second
    assert client.get("/calendar/day/?date=2026-12-01&page=zz").status_code == 200


def test_the_day_keeps_the_visibility_rule_and_the_filters(bulk_windows, requester, outsider, login):
    bulk_windows(3, first=at(2026, 12, 1, 8))
    assert '<li class="window' not in login(outsider).get("/calendar/day/?date=2026-12-01").content.decode()
    client = login(requester)
    assert client.get("/calendar/day/?date=2026-12-01&system=retail-portal").content.decode().count(
        '<li class="window') == 0
    assert client.get("/calendar/day/?date=2026-12-01&system=core-ledger").content.decode().count(
        '<li class="window') == 5
    assert client.get("/calendar/day/?date=2026-12-01&system=nope").status_code == 400


def test_the_feed_form_takes_a_typed_system(requester, login, system_a):
    client = login(requester)
    page = client.get("/calendar/feeds/").content.decode()
    assert '<select name="system"' not in page and 'list="system-options"' in page
    assert client.post("/calendar/feeds/new/", {"name": "Ledger", "system": system_a.slug}).status_code == 201
    filters = CalendarFeed.objects.get(user=requester, name="Ledger").filters
    assert list(filters) == ["system"] and str(filters["system"]) == str(system_a.pk)
    response = client.post("/calendar/feeds/new/", {"name": "Nothing", "system": "no-such-system"})
    assert response.status_code == 400 and "Choose a system from the suggestions." in response.content.decode()
    assert not CalendarFeed.objects.filter(name="Nothing").exists()
