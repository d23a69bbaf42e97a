"""Sign-ins, failed sign-ins, sign-outs and refusals go on the trail with the client's address."""

from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.audit.services import audit_verify

from ..factories import PASSWORD

IP = "203.0.113.9"


def test_login_failed_login_and_logout_through_the_login_page(client, auditor):
    response = client.post(reverse("login"), {"username": "auditor", "password": "wrong password"},
                           REMOTE_ADDR=IP)
    assert response.status_code == 200  # the form again, with an error
    failed = AuditEvent.objects.get(action="auth.login_failed")
    assert failed.ip == IP and failed.actor_id is None
    assert failed.data == {"username": "auditor"}
    assert PASSWORD not in str(failed.data) and "wrong password" not in str(failed.data)

    response = client.post(reverse("login"), {"username": "auditor", "password": PASSWORD}, REMOTE_ADDR=IP)
    assert response.status_code == 302
    login = AuditEvent.objects.get(action="auth.login")
    assert (login.actor_id, login.actor_username, login.ip) == (auditor.pk, "auditor", IP)

    response = client.post(reverse("logout"), REMOTE_ADDR=IP)
    assert response.status_code == 302
    logout = AuditEvent.objects.get(action="auth.logout")
    assert (logout.actor_username, logout.ip) == ("auditor", IP)

    assert [e.action for e in AuditEvent.objects.order_by("seq")] == [
        "auth.login_failed", "auth.login", "auth.logout"]
    assert audit_verify().ok


def test_the_first_forwarded_address_is_recorded_behind_the_load_balancer(client, auditor):
    client.post(reverse("login"), {"username": "auditor", "password": PASSWORD},
                HTTP_X_FORWARDED_FOR="198.51.100.23, 10.0.0.2", REMOTE_ADDR="10.0.0.2")
    assert AuditEvent.objects.get(action="auth.login").ip == "198.51.100.23"


def test_failed_login_for_an_unknown_user_is_audited_too(client, db):
    client.post(reverse("login"), {"username": "nobody-here", "password": "guess"}, REMOTE_ADDR=IP)
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.object_repr == "nobody-here" and event.ip == IP


def test_an_authorization_denial_is_audited_with_the_path(client, requester):
    client.force_login(requester)
    response = client.get(reverse("audit:detail", args=[1]), REMOTE_ADDR=IP)
    assert response.status_code == 403
    event = AuditEvent.objects.get(action="access.denied")
    assert (event.actor_username, event.ip) == ("requester", IP)
    assert event.data["path"] == reverse("audit:detail", args=[1])
