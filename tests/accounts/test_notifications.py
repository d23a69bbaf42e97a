"""The notifications page: own notifications, unread first; mark all read."""

import datetime as dt

from django.urls import reverse

from apps.accounts.models import Notification
from apps.accounts.notifications import notify
from apps.accounts.services import notification_mark_all_read
from apps.core import clock

from .conftest import count_queries, everyone

T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


def _note(user, message, minutes):
    with clock.frozen(T0 + dt.timedelta(minutes=minutes)):
        return notify(user=user, verb="info", message=message)


def test_notifications_page_matrix(page_matrix):
    page_matrix(reverse("accounts:notifications"), everyone(200))


def test_mark_all_read_matrix(page_matrix):
    page_matrix(reverse("accounts:notifications"), everyone(302), method="post")


def test_unread_come_first_then_newest(login, requester, outsider):
    _note(requester, "old and read", 0)
    _note(requester, "newest but read", 1)
    notification_mark_all_read(user=requester)
    _note(requester, "unread older", 2)
    _note(requester, "unread newer", 3)
    _note(outsider, "someone else's", 4)
    response = login(requester).get(reverse("accounts:notifications"))
    messages = [n.message for n in response.context["page"]]
    assert messages == ["unread newer", "unread older", "newest but read", "old and read"]
    body = response.content.decode()
    assert "someone else" not in body
    assert body.index("unread newer") < body.index("old and read")
    assert "2 unread" in body


def test_mark_all_read_marks_only_own(login, requester, outsider):
    _note(requester, "a", 0)
    _note(requester, "b", 1)
    _note(outsider, "c", 2)
    response = login(requester).post(reverse("accounts:notifications"), follow=True)
    assert "2 notifications marked read." in response.content.decode()
    assert not Notification.objects.filter(user=requester, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=outsider, read_at__isnull=True).count() == 1
    assert "Mark all read" not in response.content.decode()


def test_notification_links_to_its_object(login, requester):
    notify(user=requester, verb="assigned", message="You are now assessor of UPG-1.", url="/upgrades/UPG-1/")
    body = login(requester).get(reverse("accounts:notifications")).content.decode()
    assert '<a href="/upgrades/UPG-1/">You are now assessor of UPG-1.</a>' in body


def test_query_count_does_not_grow_with_notifications(login, requester):
    client = login(requester)
    url = reverse("accounts:notifications")
    for i in range(3):
        _note(requester, f"n{i}", i)
    client.get(url)
    small = count_queries(lambda: client.get(url))
    for i in range(27):
        _note(requester, f"m{i}", 10 + i)
    large = count_queries(lambda: client.get(url))
    assert small == large
