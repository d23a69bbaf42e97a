"""Recurring approved windows: RFC 5545 recurrence rules evaluated in the window's own time zone.

An approved window says "Sundays 01:00–05:00 Europe/Berlin": the wall-clock time stays 01:00 across the
daylight-saving change, so the UTC start moves by an hour. Occurrences are therefore computed as naive
local times with dateutil's rrule and only then placed in the zone and converted to UTC.
"""

import datetime as dt
import zoneinfo

from dateutil.rrule import rrulestr

MAX_OCCURRENCES = 2000
ALLOWED_FREQ = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}


def zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"“{name}” is not a time zone (use a name such as Europe/Berlin).") from None


def rrule_check(text: str) -> str:
    """The rule normalised (upper case, no RRULE: prefix); ValueError with a readable message if invalid."""
    text = (text or "").strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    text = text.upper()
    if not text:
        raise ValueError("Give a recurrence rule, e.g. FREQ=WEEKLY;BYDAY=SU.")
    if "\n" in text or "DTSTART" in text or "UNTIL" in text or "COUNT" in text:
        raise ValueError("Give only the rule (e.g. FREQ=WEEKLY;BYDAY=SU); the window's dates set start and end.")
    parts = dict(p.split("=", 1) for p in text.split(";") if "=" in p)
    if parts.get("FREQ") not in ALLOWED_FREQ:
        raise ValueError("The rule must repeat daily, weekly, monthly or yearly (FREQ=DAILY, WEEKLY, ...).")
    try:
        rrulestr(text, dtstart=dt.datetime(2026, 1, 1))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"This is not a valid recurrence rule: {exc}.") from None
    return text


def occurrences(window, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The window's occurrences (UTC start, UTC end) that overlap [start, end)."""
    tz = zone(window.timezone)
    duration = dt.timedelta(minutes=window.duration_minutes)
    first = dt.datetime.combine(window.valid_from, window.start_time)
    rule = rrulestr(window.rrule, dtstart=first)
    # local search range, widened by a day either side for zone offsets and the duration
    lo = start.astimezone(tz).replace(tzinfo=None) - duration - dt.timedelta(days=1)
    hi = end.astimezone(tz).replace(tzinfo=None) + dt.timedelta(days=1)
    if window.valid_until:
        hi = min(hi, dt.datetime.combine(window.valid_until, dt.time.max))
    result = []
    for local in rule.between(max(lo, first - dt.timedelta(seconds=1)), hi, inc=True):
        begins = local.replace(tzinfo=tz).astimezone(dt.UTC)
        ends = (local + duration).replace(tzinfo=tz).astimezone(dt.UTC)
        if begins < end and ends > start:
            result.append((begins, ends))
        if len(result) >= MAX_OCCURRENCES:
            break
    return result


def covers(windows, start: dt.datetime, end: dt.datetime) -> bool:
    """Whether [start, end) lies inside one occurrence of one of `windows`."""
    for window in windows:
        for begins, ends in occurrences(window, start, end):
            if begins <= start and ends >= end:
                return True
    return False


def describe(window) -> str:
    """“Weekly on Sunday, 01:00 for 4 h (Europe/Berlin)” — what the page shows next to the raw rule."""
    parts = dict(p.split("=", 1) for p in window.rrule.split(";") if "=" in p)
    days = {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday", "FR": "Friday",
            "SA": "Saturday", "SU": "Sunday"}
    freq = parts.get("FREQ", "").lower()
    text = {"daily": "Every day", "weekly": "Every week", "monthly": "Every month", "yearly": "Every year"}.get(
        freq, "Repeats")
    if parts.get("BYDAY"):
        names = [days.get(d[-2:], d) for d in parts["BYDAY"].split(",")]
        text += " on " + ", ".join(names)
    hours, minutes = divmod(window.duration_minutes, 60)
    length = f"{hours} h" + (f" {minutes} min" if minutes else "") if hours else f"{minutes} min"
    return f"{text}, from {window.start_time:%H:%M} for {length} ({window.timezone})"
