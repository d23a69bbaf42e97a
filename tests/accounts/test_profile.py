"""The profile page: name, e-mail, time zone and notification preferences."""

import pytest
from django.urls import reverse

from apps.accounts.models import User
from apps.audit.models import AuditEvent

from .conftest import everyone

GOOD = {
    "first_name": "Rita", "last_name": "Quester", "email": "rita@example.test", "timezone": "Europe/Berlin",
    "notify_channel": "app_only", "notify_on_assignment": "on",
}


def test_profile_matrix(page_matrix):
    page_matrix(reverse("accounts:profile"), everyone(200))


def test_profile_post_matrix(page_matrix):
    page_matrix(reverse("accounts:profile"), everyone(302), method="post", data=GOOD)


def test_profile_shows_roles_teams_and_labelled_fields(login, requester):
    body = login(requester).get(reverse("accounts:profile")).content.decode()
    assert "<title>Your profile · Tollgate</title>" in body
    assert "Change manager" in body and "Core Banking" in body
    for field in ("first_name", "last_name", "email", "timezone", "notify_channel", "notify_on_assignment",
                  "notify_on_decision"):
        assert f'<label for="id_{field}"' in body, field
    assert '<option value="Europe/Berlin">Europe/Berlin</option>' in body


def test_time_zones_are_offered_sorted(login, requester):
    choices = [value for value, _ in login(requester).get(reverse("accounts:profile")).context["form"]
               .fields["timezone"].choices]
    assert choices == sorted(choices) and "Asia/Tokyo" in choices and len(choices) > 300


def test_profile_update_saves_and_is_audited_with_a_diff(login, requester):
    client = login(requester)
    response = client.post(reverse("accounts:profile"), GOOD)
    assert response.status_code == 302
    requester.refresh_from_db()
    assert (requester.first_name, requester.last_name, requester.email, requester.timezone) == (
        "Rita", "Quester", "rita@example.test", "Europe/Berlin")
    assert requester.notify_channel == "app_only"
    assert requester.notify_on_assignment is True and requester.notify_on_decision is False
    event = AuditEvent.objects.get(action="user.profile_update")
    assert event.after["timezone"] == "Europe/Berlin" and event.before["timezone"] == "UTC"
    assert event.actor_id == requester.pk
    # the page now greets in the new time zone
    assert "times shown in Europe/Berlin" in client.get(reverse("accounts:profile")).content.decode()


def test_saving_an_unchanged_profile_adds_no_audit_event(login, requester):
    client = login(requester)
    client.post(reverse("accounts:profile"), GOOD)
    client.post(reverse("accounts:profile"), GOOD)
    assert AuditEvent.objects.filter(action="user.profile_update").count() == 1


@pytest.mark.parametrize("field, value, message", [
    ("timezone", "Mars/Olympus_Mons", "Choose a time zone from the list"),
    ("first_name", "Ri\x00ta", "Null characters are not allowed"),
    ("last_name", "x" * 10_000, "at most 150 characters"),
    ("email", "not-an-address", "valid email address"),
    ("notify_channel", "carrier_pigeon", "Select a valid choice"),
])
def test_bad_profile_input_shows_the_field_error_and_writes_nothing(login, requester, field, value, message):
    before = User.objects.filter(pk=requester.pk).values().get()
    response = login(requester).post(reverse("accounts:profile"), {**GOOD, field: value})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert message in response.content.decode().replace("&#x27;", "'")
    after = User.objects.filter(pk=requester.pk).values().get()
    assert {k: v for k, v in after.items() if k != "last_login"} == {
        k: v for k, v in before.items() if k != "last_login"}
    assert not AuditEvent.objects.filter(action="user.profile_update").exists()
