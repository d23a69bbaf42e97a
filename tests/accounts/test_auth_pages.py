"""Signing in and out, changing and resetting a password."""

import re

import pytest
from django.contrib.auth import authenticate
from django.core import mail
from django.urls import reverse

from apps.audit.models import AuditEvent

from ..factories import PASSWORD, UserFactory
from .conftest import PERSONAS, everyone

NEW_PASSWORD = "violet-lantern-orbit-42"


def test_login_page_has_title_and_lists_no_demo_logins(client, personas):
    response = client.get(reverse("login"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<h1" in body and "Sign in to Tollgate" in body
    assert "<title>Sign in · Tollgate</title>" in body
    assert '<label for="id_username"' in body and '<label for="id_password"' in body
    for name in ("requester", "admin", "auditor"):
        assert name not in body
    assert PASSWORD not in body


def test_login_page_matrix(page_matrix):
    page_matrix(reverse("login"), everyone(200, anonymous=200))


def test_sign_in_lands_on_my_work_and_is_audited(client, requester):
    response = client.post(reverse("login"), {"username": "requester", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("core:my-work")
    event = AuditEvent.objects.get(action="auth.login")
    assert event.actor_id == requester.pk and event.object_id == str(requester.pk)


def test_failed_sign_in_shows_an_error_and_is_audited(client, requester):
    response = client.post(reverse("login"), {"username": "requester", "password": "wrong-password"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.data == {"username": "requester"}
    assert not AuditEvent.objects.filter(action="auth.login").exists()


def test_sign_out_is_a_post_and_is_audited(client, requester):
    client.post(reverse("login"), {"username": "requester", "password": PASSWORD})
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert AuditEvent.objects.filter(action="auth.logout", actor_id=requester.pk).count() == 1
    assert client.get(reverse("accounts:profile")).status_code == 302


def test_password_change_page_matrix(page_matrix):
    page_matrix(reverse("accounts:password-change"), everyone(200))


def test_stock_password_change_page_posts_to_the_audited_view(login, requester):
    body = login(requester).get(reverse("password_change")).content.decode()
    assert f'action="{reverse("accounts:password-change")}"' in body


def test_password_change_sets_the_password_keeps_the_session_and_is_audited(login, requester):
    client = login(requester)
    response = client.post(reverse("accounts:password-change"), {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD,
    })
    assert response.status_code == 302 and response["Location"] == reverse("password_change_done")
    assert authenticate(username="requester", password=NEW_PASSWORD) is not None
    assert authenticate(username="requester", password=PASSWORD) is None
    assert client.get(reverse("accounts:profile")).status_code == 200  # still signed in
    event = AuditEvent.objects.get(action="user.password_change")
    assert event.actor_id == requester.pk and event.object_id == str(requester.pk)
    assert NEW_PASSWORD not in str(event.before) + str(event.after) + str(event.data)


@pytest.mark.parametrize("old, new1, new2, field", [
    ("wrong-password", NEW_PASSWORD, NEW_PASSWORD, "old_password"),
    (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "new_password2"),
    (PASSWORD, "short", "short", "new_password2"),
    (PASSWORD, "a\x00" + NEW_PASSWORD, "a\x00" + NEW_PASSWORD, "new_password1"),
])
def test_bad_password_change_shows_the_field_and_changes_nothing(login, requester, old, new1, new2, field):
    response = login(requester).post(reverse("accounts:password-change"),
                                     {"old_password": old, "new_password1": new1, "new_password2": new2})
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert authenticate(username="requester", password=PASSWORD) is not None
    assert not AuditEvent.objects.filter(action="user.password_change").exists()


def test_password_reset_by_email_sets_a_new_password(client, db):
    UserFactory(username="forgetful", email="forgetful@example.test")
    response = client.post(reverse("password_reset"), {"email": "forgetful@example.test"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["forgetful@example.test"] and "Reset your password" in message.subject
    link = re.search(r"https?://testserver(/accounts/reset/\S+/)", message.body).group(1)

    response = client.get(link, follow=True)
    assert response.status_code == 200 and response.context["validlink"]
    set_url = response.redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_complete")
    assert authenticate(username="forgetful", password=NEW_PASSWORD) is not None

    # the link works once
    assert client.get(link, follow=True).context["validlink"] is False


def test_password_reset_for_an_unknown_address_sends_nothing_and_looks_the_same(client, db):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.test"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_password_reset_pages_are_public(page_matrix):
    for name in ("password_reset", "password_reset_done", "password_reset_complete"):
        page_matrix(reverse(name), everyone(200, anonymous=200))


def test_personas_constant_matches_fixture(personas):
    assert sorted(personas) == sorted(PERSONAS)
