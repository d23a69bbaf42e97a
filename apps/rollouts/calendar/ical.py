"""The iCalendar feed: windows and freezes as VEVENTs that Outlook and Google Calendar can subscribe to."""

import datetime as dt

import icalendar

from apps.core import clock

PRODID = "-//Tollgate//Change calendar//EN"


def build_feed(entries, *, name: str, base_url: str = "") -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"Tollgate: {name}")
    cal.add("x-wr-timezone", "UTC")
    stamp = clock.now().astimezone(dt.UTC)
    for entry in entries:
        event = icalendar.Event()
        event.add("uid", f"{entry.uid}@tollgate")
        event.add("dtstamp", stamp)
        event.add("dtstart", entry.start.astimezone(dt.UTC))
        event.add("dtend", entry.end.astimezone(dt.UTC))
        event.add("summary", entry.title)
        event.add("description", entry.description)
        event.add("categories", ["Freeze" if entry.kind == "freeze" else "Maintenance window"])
        event.add("transp", "OPAQUE")
        if entry.url and base_url:
            event.add("url", base_url.rstrip("/") + entry.url)
        cal.add_component(event)
    return cal.to_ical()
