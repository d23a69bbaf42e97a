"""The iCalendar feed: token-protected, hash stored only, revocable, audited; parsed back it equals the windows."""

import hashlib

import icalendar
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.rollouts.calendar import services
from apps.rollouts.calendar.services import CalendarRefused
from apps.rollouts.models import CalendarFeed, Plan, Wave

from .conftest import at

pytestmark = pytest.mark.django_db


def _parse(body: bytes) -> dict:
    cal = icalendar.Calendar.from_ical(body)
    return {str(e["uid"]): (e.decoded("dtstart"), e.decoded("dtend"), str(e["summary"]))
            for e in cal.walk("VEVENT")}


def test_feed_parsed_back_equals_the_windows_and_freezes(client, upgrade, drive, another, component_b, system_a,
                                                         requester, make_freeze, frozen_now):
    upgrade = drive(upgrade, "planning")
    other = another(component_b, window_start=at(2026, 12, 12, 22), window_end=at(2026, 12, 13, 4))
    plan = Plan.objects.create(request=other, created_at=frozen_now, updated_at=frozen_now)
    w1 = Wave.objects.create(plan=plan, position=1, name="Pilot", window_start=at(2026, 12, 19, 22),
                             window_end=at(2026, 12, 20, 2))
    w2 = Wave.objects.create(plan=plan, position=2, name="Everyone", window_start=at(2027, 1, 9, 22),
                             window_end=at(2027, 1, 10, 3))
    freeze = make_freeze(name="Year-end freeze", start=at(2026, 12, 21, 0), end=at(2027, 1, 5, 0))
    feed, token = services.calendar_feed_create(user=requester, name="My changes", filters={}, by=requester)
    response = client.get(reverse("calendar:feed", args=[token]))  # no session: the token is the credential
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    events = _parse(response.content)
    assert events == {
        f"window-{upgrade.pk}-0@tollgate": (at(2026, 12, 6, 1), at(2026, 12, 6, 5),
                                            f"{upgrade.reference}: {upgrade.title}"),
        # the plan's waves replace the requested window of the other change
        f"window-{other.pk}-{w1.pk}@tollgate": (at(2026, 12, 19, 22), at(2026, 12, 20, 2),
                                                f"{other.reference} Pilot: {other.title}"),
        f"window-{other.pk}-{w2.pk}@tollgate": (at(2027, 1, 9, 22), at(2027, 1, 10, 3),
                                                f"{other.reference} Everyone: {other.title}"),
        f"freeze-{freeze.pk}@tollgate": (at(2026, 12, 21, 0), at(2027, 1, 5, 0), "Freeze: Year-end freeze"),
    }
    feed.refresh_from_db()
    assert feed.last_used_at == frozen_now


def test_feed_shows_only_what_its_owner_may_see_and_honours_filters(client, upgrade, drive, outsider, requester,
                                                                     system_b, frozen_now):
    drive(upgrade, "planning")
    _, token = services.calendar_feed_create(user=outsider, name="Mine", filters={}, by=outsider)
    assert _parse(client.get(reverse("calendar:feed", args=[token])).content) == {}
    _, token = services.calendar_feed_create(user=requester, name="Retail only",
                                             filters={"system": str(system_b.pk)}, by=requester)
    assert _parse(client.get(reverse("calendar:feed", args=[token])).content) == {}


def test_only_the_tokens_hash_is_stored_and_create_is_audited(requester):
    feed, token = services.calendar_feed_create(user=requester, name="Mine", filters={"risk": "normal"}, by=requester)
    assert feed.token_digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(CalendarFeed.objects.filter(pk=feed.pk).values().get())
    event = AuditEvent.objects.filter(action="calendar_feed.create").get()
    assert token not in str(event.after) and event.after["token_prefix"] == token[:8]


def test_bad_and_revoked_tokens_answer_404(client, requester):
    feed, token = services.calendar_feed_create(user=requester, name="Mine", filters={}, by=requester)
    assert client.get(reverse("calendar:feed", args=[token])).status_code == 200
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get(reverse("calendar:feed", args=[wrong])).status_code == 404
    assert client.get(reverse("calendar:feed", args=["short"])).status_code == 404
    services.calendar_feed_revoke(feed=feed, by=requester)
    assert client.get(reverse("calendar:feed", args=[token])).status_code == 404
    assert AuditEvent.objects.filter(action="calendar_feed.revoke").count() == 1
    requester.is_active = True
    requester.save()
    _, live = services.calendar_feed_create(user=requester, name="Second", filters={}, by=requester)
    requester.is_active = False  # a deactivated owner's feeds stop too
    requester.save()
    assert client.get(reverse("calendar:feed", args=[live])).status_code == 404


def test_feeds_belong_to_their_owner_and_bad_input_writes_nothing(requester, outsider):
    with pytest.raises(CalendarRefused):
        services.calendar_feed_create(user=requester, name="Spy", filters={}, by=outsider)
    with pytest.raises(ValidationError) as bad:
        services.calendar_feed_create(user=requester, name="", filters={"risk": "huge", "system": "x"}, by=requester)
    assert set(bad.value.message_dict) == {"name", "risk", "system"}
    assert CalendarFeed.objects.count() == 0
    feed, _ = services.calendar_feed_create(user=requester, name="Mine", filters={}, by=requester)
    with pytest.raises(CalendarRefused):
        services.calendar_feed_revoke(feed=feed, by=outsider)
