"""The month grid of a busy organisation: a few windows per day, "+N more" to the week, every count right."""

import re

import pytest

from apps.rollouts.calendar.views import MONTH_DAY_LIMIT

from .conftest import at

pytestmark = pytest.mark.django_db


def _cell(page: str, day: int) -> str:
    """The month cell of `day` (December 2026: the 1st is a Tuesday, the grid starts Monday 30 November)."""
    cells = page.split('<span class="cal-day">')[1:]
    return cells[day]  # cells[0] is 30 November


def test_a_busy_day_shows_a_few_windows_and_links_to_the_rest(bulk_windows, requester, login, make_freeze):
    make_freeze(start=at(2026, 12, 1, 0), end=at(2026, 12, 2, 0))
    bulk_windows(12, first=at(2026, 12, 1, 0))
    # 12 requests from 00:00 hourly on 1 December; every second one booked by two waves: 6 + 12 = 18 windows
    page = login(requester).get("/calendar/?month=2026-12").content.decode()
    assert "18 windows and 1 freeze in this view." in page
    cell = _cell(page, 1)
    assert cell.count('<li class="window') == MONTH_DAY_LIMIT
    assert cell.count('<li class="freeze"') == 1  # a freeze is always shown
    more = 18 - MONTH_DAY_LIMIT
    assert re.search(rf'href="/calendar/day/\?date=2026-12-01">\+{more} more', cell)
    # the first windows of the day by start time: 00:00 (request 0's pilot wave and request 1's window)
    assert "00:00–" in cell and "UPG-2099-" in cell
    # the day lists them all
    day = login(requester).get("/calendar/day/?date=2026-12-01").content.decode()
    assert day.count('<li class="window') == 18


def test_a_quiet_day_has_no_more_link(bulk_windows, requester, login):
    bulk_windows(2, first=at(2026, 12, 3, 8))
    page = login(requester).get("/calendar/?month=2026-12").content.decode()
    cell = _cell(page, 3)
    assert cell.count('<li class="window') == 3 and "more" not in cell


def test_the_filter_takes_a_typed_system(bulk_windows, requester, login, system_a, system_b):
    bulk_windows(2, first=at(2026, 12, 3, 8))
    client = login(requester)
    assert client.get("/calendar/?month=2026-12&system=core-ledger").content.decode().count(
        '<li class="window') == 3
    assert client.get(f"/calendar/?month=2026-12&system={system_a.pk}").content.decode().count(
        '<li class="window') == 3
    assert '<li class="window' not in client.get("/calendar/?month=2026-12&system=retail-portal").content.decode()
    response = client.get("/calendar/?month=2026-12&system=no-such-system")
    assert response.status_code == 400 and "Choose a system from the list." in response.content.decode()
    assert '<select name="system"' not in response.content.decode()
