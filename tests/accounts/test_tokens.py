"""API tokens on the profile page: created with the secret shown once, kept hashed, revoked, expiring."""

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from apps.accounts import services
from apps.accounts.models import ApiTokenInfo
from apps.audit.models import AuditEvent

from .conftest import count_queries, everyone


def _create_on_page(client, name="deploy pipeline", days="90") -> str:
    response = client.post(reverse("accounts:token-create"), {"name": name, "expires_in_days": days})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:token-created")
    page = client.get(reverse("accounts:token-created"))
    assert page.status_code == 200
    return page.context["shown"]["secret"]


def _me_with(secret: str):
    return APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {secret}")


def test_token_pages_matrix(page_matrix, personas):
    page_matrix(reverse("accounts:token-create"), everyone(200))
    page_matrix(reverse("accounts:token-create"), everyone(302), method="post",
                data={"name": "matrix", "expires_in_days": "30"})
    # nothing waiting to be shown: back to the profile
    page_matrix(reverse("accounts:token-created"), everyone(302))


def test_revoke_matrix_own_token_only(page_matrix, personas):
    victim_token, _ = services.token_create(user=personas["outsider"], by=personas["outsider"], name="mine",
                                            expires_in_days=30)
    url = reverse("accounts:token-revoke", args=[victim_token.token_key])
    expected = everyone(404)
    expected["outsider"] = 302
    page_matrix(url, expected, method="post")
    assert not AuthToken.objects.filter(pk=victim_token.pk).exists()


def test_secret_is_shown_once_and_only_its_hash_is_kept(login, requester):
    client = login(requester)
    secret = _create_on_page(client)
    assert secret.startswith("tg_") and len(secret) > 40
    page = client.get(reverse("accounts:token-created"), follow=True)
    assert secret not in page.content.decode()
    assert "shown only once" in page.content.decode()
    assert secret not in client.get(reverse("accounts:profile")).content.decode()

    token = AuthToken.objects.get(user=requester)
    assert secret not in repr(list(AuthToken.objects.values_list()))
    assert secret not in repr(list(ApiTokenInfo.objects.values_list()))
    assert secret not in repr([s.get_decoded() for s in Session.objects.all()])
    assert secret not in repr(list(AuditEvent.objects.values_list()))
    assert secret.startswith(token.token_key) and token.digest != secret


def test_new_token_authenticates_until_revoked(login, requester):
    client = login(requester)
    secret = _create_on_page(client)
    response = _me_with(secret)
    assert response.status_code == 200 and response.json()["username"] == "requester"

    key = AuthToken.objects.get(user=requester).token_key
    response = client.post(reverse("accounts:token-revoke", args=[key]))
    assert response.status_code == 302
    assert _me_with(secret).status_code == 401
    assert not ApiTokenInfo.objects.exists()


def test_expired_token_is_refused_and_marked_on_the_profile(login, requester):
    client = login(requester)
    secret = _create_on_page(client, days="30")
    AuthToken.objects.filter(user=requester).update(expiry=timezone.now() - dt.timedelta(minutes=1))
    body = client.get(reverse("accounts:profile")).content.decode()
    assert ">expired</span>" in body
    assert _me_with(secret).status_code == 401


def test_token_with_no_expiry_lists_never(login, requester):
    client = login(requester)
    _create_on_page(client, name="forever", days="none")
    assert AuthToken.objects.get(user=requester).expiry is None
    body = client.get(reverse("accounts:profile")).content.decode()
    assert "forever" in body and "never" in body and ">expired</span>" not in body


def test_profile_lists_name_prefix_and_expiry(login, requester):
    client = login(requester)
    _create_on_page(client, name="nightly report", days="365")
    token = AuthToken.objects.get(user=requester)
    body = client.get(reverse("accounts:profile")).content.decode()
    assert "nightly report" in body and f"{token.token_key}…" in body
    assert token.expiry - token.created > dt.timedelta(days=364)


def test_creation_and_revocation_are_audited(login, requester):
    client = login(requester)
    _create_on_page(client, name="audited")
    key = AuthToken.objects.get(user=requester).token_key
    client.post(reverse("accounts:token-revoke", args=[key]))
    created = AuditEvent.objects.get(action="token.create")
    revoked = AuditEvent.objects.get(action="token.revoke")
    assert created.actor_id == revoked.actor_id == requester.pk
    assert created.after["name"] == "audited" and created.after["token_key"] == key
    assert revoked.before == {"name": "audited", "token_key": key}


@pytest.mark.parametrize("name, days, field", [
    ("nul\x00byte", "30", "name"),
    ("x" * 10_000, "30", "name"),
    ("", "30", "name"),
    ("ok", "-1", "expires_in_days"),
    ("ok", "1000", "expires_in_days"),
    ("ok", "thirty", "expires_in_days"),
])
def test_bad_token_input_is_a_form_error_and_writes_nothing(login, requester, name, days, field):
    client = login(requester)
    response = client.post(reverse("accounts:token-create"), {"name": name, "expires_in_days": days})
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert 'class="errorlist' in response.content.decode()
    assert not AuthToken.objects.exists() and not ApiTokenInfo.objects.exists()
    assert not AuditEvent.objects.filter(action="token.create").exists()
    assert "accounts.new_token" not in client.session


def test_profile_query_count_does_not_grow_with_tokens(login, requester):
    client = login(requester)
    url = reverse("accounts:profile")
    for i in range(3):
        services.token_create(user=requester, by=requester, name=f"t{i}", expires_in_days=30)
    client.get(url)
    small = count_queries(lambda: client.get(url))
    for i in range(27):
        services.token_create(user=requester, by=requester, name=f"u{i}", expires_in_days=None)
    large = count_queries(lambda: client.get(url))
    assert small == large
