"""Sign-in throttling (django-axes): five wrong passwords lock that username from that address for the
cool-off, even with the right password; the page says so, the trail records it, an admin can lift it.
Signatures re-check the password without signing in and are not counted; the step-up API has its own limit."""

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse

from apps.audit.models import AuditEvent

from ..factories import PASSWORD

LIMIT = 5


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    cache.clear()
    yield
    cache.clear()


def _fail(client, username="requester", times=LIMIT):
    return [client.post(reverse("login"), {"username": username, "password": "wrong-password"}).status_code
            for _ in range(times)]


def test_sixth_attempt_is_locked_even_with_the_right_password(client, requester):
    assert _fail(client, times=LIMIT - 1) == [200] * (LIMIT - 1)  # the form error, not yet locked
    assert _fail(client, times=1) == [429]  # the fifth failure locks
    response = client.post(reverse("login"), {"username": "requester", "password": PASSWORD})
    body = response.content.decode()
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert 'id="locked-out"' in body and "locked for 15 minutes" in body and "administrator" in body
    assert "<form" in body  # still the sign-in page, not a bare error
    assert not AuditEvent.objects.filter(action="auth.login").exists()


def test_lockout_is_audited_once_with_the_username_and_address(client, requester):
    _fail(client)
    events = AuditEvent.objects.filter(action="auth.locked_out")
    assert events.count() >= 1
    event = events.first()
    assert event.data["username"] == "requester" and event.data["cool_off_minutes"] == 15
    assert event.ip == "127.0.0.1"


def test_other_usernames_are_not_locked_by_someone_elses_failures(client, requester, assessor):
    _fail(client, username="requester")
    response = client.post(reverse("login"), {"username": "assessor", "password": PASSWORD})
    assert response.status_code == 302


def test_admin_reset_lifts_the_lock(client, requester):
    _fail(client)
    assert client.post(reverse("login"), {"username": "requester", "password": PASSWORD}).status_code == 429
    call_command("axes_reset_username", "requester")
    response = client.post(reverse("login"), {"username": "requester", "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(requester.pk)


def test_success_before_the_limit_clears_the_count(client, requester):
    _fail(client, times=LIMIT - 1)
    assert client.post(reverse("login"), {"username": "requester", "password": PASSWORD}).status_code == 302
    client.post(reverse("logout"))
    assert _fail(client, times=LIMIT - 1) == [200] * (LIMIT - 1)


def test_wrong_signing_passwords_do_not_lock_the_sign_in(client, requester):
    from apps.accounts.stepup import signature_verify

    for _ in range(LIMIT + 2):
        with pytest.raises(Exception):
            signature_verify(user=requester, password="wrong-password")
    response = client.post(reverse("login"), {"username": "requester", "password": PASSWORD})
    assert response.status_code == 302


def test_step_up_is_throttled_per_account(client, approver):
    client.force_login(approver)
    url = reverse("auth-step-up")
    codes = [client.post(url, {"password": "wrong-password"}, content_type="application/json").status_code
             for _ in range(10)]
    assert codes == [400] * 10
    response = client.post(url, {"password": PASSWORD}, content_type="application/json")
    assert response.status_code == 429  # even the right password waits for the next minute
    assert "throttled" in response.json()["detail"].lower() or "request" in response.json()["detail"].lower()
