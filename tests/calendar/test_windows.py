"""Recurring approved windows: RRULE occurrences in the window's zone, across daylight-saving changes."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from apps.rollouts.calendar import services, windows
from apps.rollouts.calendar.services import CalendarRefused
from apps.rollouts.models import ApprovedWindow

from .conftest import at

pytestmark = pytest.mark.django_db


def _window(system, by, **extra):
    data = dict(system=system, label="Sunday early morning", rrule="FREQ=WEEKLY;BYDAY=SU", start_time=dt.time(1, 0),
                duration_minutes=240, timezone="Europe/Berlin", valid_from=dt.date(2026, 1, 1), valid_until=None)
    data.update(extra)
    return services.approved_window_create(by=by, **data)


def test_occurrences_keep_local_time_across_the_autumn_dst_change(system_a, admin_user):
    window = _window(system_a, admin_user)
    got = windows.occurrences(window, at(2026, 10, 17), at(2026, 11, 2))
    # 01:00 Berlin is 23:00 UTC the evening before in summer time (UTC+2) and 00:00 UTC in winter time (UTC+1);
    # on 25 Oct the clocks go back at 03:00, so 01:00–05:00 local lasts five real hours that night
    assert got == [
        (at(2026, 10, 17, 23), at(2026, 10, 18, 3)),
        (at(2026, 10, 24, 23), at(2026, 10, 25, 4)),
        (at(2026, 11, 1, 0), at(2026, 11, 1, 4)),
    ]


def test_occurrences_across_the_spring_dst_change_and_a_window_crossing_midnight(system_a, admin_user):
    window = _window(system_a, admin_user, rrule="FREQ=WEEKLY;BYDAY=SA", start_time=dt.time(22, 0),
                     duration_minutes=480)
    got = windows.occurrences(window, at(2026, 3, 21), at(2026, 4, 5))
    # Saturday 22:00 → Sunday 06:00 local; summer time starts on 29 March at 02:00 (one real hour shorter)
    assert got == [
        (at(2026, 3, 21, 21), at(2026, 3, 22, 5)),
        (at(2026, 3, 28, 21), at(2026, 3, 29, 4)),
        (at(2026, 4, 4, 20), at(2026, 4, 5, 4)),
    ]
    assert windows.covers([window], at(2026, 3, 28, 23), at(2026, 3, 29, 3, 30))
    assert not windows.covers([window], at(2026, 3, 29, 3), at(2026, 3, 29, 5))


def test_valid_from_and_until_bound_the_occurrences(system_a, admin_user):
    window = _window(system_a, admin_user, valid_from=dt.date(2026, 11, 8), valid_until=dt.date(2026, 11, 22))
    got = windows.occurrences(window, at(2026, 10, 1), at(2026, 12, 31))
    assert [s.date() for s, _ in got] == [dt.date(2026, 11, 8), dt.date(2026, 11, 15), dt.date(2026, 11, 22)]


def test_describe_reads_like_a_sentence(system_a, admin_user):
    assert windows.describe(_window(system_a, admin_user)) == \
        "Every week on Sunday, from 01:00 for 4 h (Europe/Berlin)"


@pytest.mark.parametrize("bad, field", [
    ({"rrule": "FREQ=SECONDLY"}, "rrule"),
    ({"rrule": "FREQ=WEEKLY;BYDAY=XX"}, "rrule"),
    ({"rrule": "DTSTART:20260101T000000\nRRULE:FREQ=DAILY"}, "rrule"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"duration_minutes": 0}, "duration_minutes"),
    ({"valid_until": dt.date(2025, 1, 1)}, "valid_until"),
    ({"label": "\x00"}, "label"),
    ({"valid_from": dt.date(1, 1, 1)}, "valid_from"),
])
def test_bad_approved_window_input_writes_nothing(system_a, admin_user, bad, field):
    with pytest.raises(ValidationError) as refused:
        _window(system_a, admin_user, **bad)
    assert field in refused.value.message_dict
    assert ApprovedWindow.objects.count() == 0


def test_only_admins_and_change_managers_manage_approved_windows(system_a, personas):
    for who in ("implementer", "approver", "auditor", "executive", "validator"):
        with pytest.raises(CalendarRefused):
            _window(system_a, personas[who])
    assert ApprovedWindow.objects.count() == 0
    window = _window(system_a, personas["requester"])
    with pytest.raises(CalendarRefused):
        services.approved_window_delete(window=window, by=personas["implementer"])
    services.approved_window_delete(window=window, by=personas["admin"])
    assert ApprovedWindow.objects.count() == 0
