"""The accounts API: /me/, own tokens, and the people one can assign duties to."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from apps.accounts import services
from apps.accounts.models import ApiTokenInfo
from apps.audit.models import AuditEvent

from ..factories import UserFactory
from .conftest import PERSONAS, everyone

ANON = 401


def _token_call(method, path, secret, **kwargs):
    return getattr(APIClient(), method)(path, HTTP_AUTHORIZATION=f"Token {secret}", format="json", **kwargs)


def test_read_endpoints_matrix(api_matrix):
    urls = ("/api/v1/me/", "/api/v1/tokens/", "/api/v1/users/", "/api/v1/users/?q=req&role=change_manager")
    for url in urls:
        api_matrix(url, everyone(200, anonymous=ANON))


def test_token_create_matrix(api_matrix):
    api_matrix("/api/v1/tokens/", everyone(201, anonymous=ANON), method="post",
               data={"name": "matrix", "expires_in_days": 30})


def test_token_revoke_matrix_own_only(api_matrix, personas):
    token, _ = services.token_create(user=personas["auditor"], by=personas["auditor"], name="mine",
                                     expires_in_days=30)
    expected = everyone(404, anonymous=ANON)
    expected["auditor"] = 204
    api_matrix(f"/api/v1/tokens/{token.token_key}/", expected, method="delete")
    assert not AuthToken.objects.filter(pk=token.pk).exists()


def test_me(api, requester):
    requester.first_name, requester.last_name, requester.timezone = "Rita", "Quester", "Europe/Lisbon"
    requester.save()
    body = api(requester).get("/api/v1/me/").json()
    assert body == {
        "username": "requester", "name": "Rita Quester", "email": "requester@example.test",
        "timezone": "Europe/Lisbon", "is_service_account": False, "roles": ["change_manager"],
        "teams": [{"slug": "core-banking", "name": "Core Banking"}],
    }


def test_token_created_by_api_is_returned_once_and_works(api, requester):
    response = api(requester).post("/api/v1/tokens/", {"name": "ci", "expires_in_days": 90}, format="json")
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    secret = body["token"]
    assert body["name"] == "ci" and secret.startswith(body["token_key"]) and body["expired"] is False
    left = dt.datetime.fromisoformat(body["expiry"]) - timezone.now()
    assert dt.timedelta(days=89) < left <= dt.timedelta(days=90)

    listed = api(requester).get("/api/v1/tokens/").json()
    assert listed["count"] == 1 and "token" not in listed["results"][0]
    assert secret not in repr(listed)
    assert secret not in repr(list(AuthToken.objects.values_list()))
    assert secret not in repr(list(ApiTokenInfo.objects.values_list()))

    me = _token_call("get", "/api/v1/me/", secret)
    assert me.status_code == 200 and me.json()["username"] == "requester"
    # a token may revoke itself; afterwards it is refused
    assert _token_call("delete", f"/api/v1/tokens/{body['token_key']}/", secret).status_code == 204
    assert _token_call("get", "/api/v1/me/", secret).status_code == 401
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="token.").order_by("seq")] == [
        "token.create", "token.revoke"]


def test_a_token_cannot_mint_another_token(api, requester):
    created = api(requester).post("/api/v1/tokens/", {"name": "ci", "expires_in_days": 1}, format="json")
    secret = created.json()["token"]
    response = _token_call("post", "/api/v1/tokens/", secret, data={"name": "later", "expires_in_days": None})
    assert response.status_code == 403
    assert AuthToken.objects.filter(user=requester).count() == 1
    assert _token_call("get", "/api/v1/tokens/", secret).status_code == 200


def test_token_without_expiry(api, requester):
    body = api(requester).post("/api/v1/tokens/", {"name": "forever", "expires_in_days": None},
                               format="json").json()
    assert body["expiry"] is None and AuthToken.objects.get(user=requester).expiry is None


def test_expired_token_is_refused_and_listed_as_expired(api, requester):
    secret = api(requester).post("/api/v1/tokens/", {"name": "short", "expires_in_days": 1},
                                 format="json").json()["token"]
    AuthToken.objects.filter(user=requester).update(expiry=timezone.now() - dt.timedelta(seconds=1))
    assert api(requester).get("/api/v1/tokens/").json()["results"][0]["expired"] is True
    assert _token_call("get", "/api/v1/me/", secret).status_code == 401
    assert AuditEvent.objects.filter(action="auth.token_failed").exists()


def test_garbage_token_is_401(db):
    assert _token_call("get", "/api/v1/me/", "tg_not-a-real-token").status_code == 401


@pytest.mark.parametrize("payload, field", [
    ({"name": "nul\x00byte", "expires_in_days": 30}, "name"),
    ({"name": "x" * 10_000, "expires_in_days": 30}, "name"),
    ({"name": "", "expires_in_days": 30}, "name"),
    ({"name": "tab\tname", "expires_in_days": 30}, "name"),
    ({"name": "ok", "expires_in_days": -1}, "expires_in_days"),
    ({"name": "ok", "expires_in_days": 10_000}, "expires_in_days"),
    ({"name": "ok", "expires_in_days": "soon"}, "expires_in_days"),
    ({"name": ["a", "b"], "expires_in_days": 30}, "name"),
    ({"expires_in_days": 30}, "name"),
])
def test_bad_token_input_is_400_with_the_field_and_writes_nothing(api, requester, payload, field):
    response = api(requester).post("/api/v1/tokens/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not AuthToken.objects.exists() and not ApiTokenInfo.objects.exists()
    assert not AuditEvent.objects.filter(action="token.create").exists()


def test_revoke_unknown_token_is_404(api, requester):
    assert api(requester).delete("/api/v1/tokens/tg_nothing/").status_code == 404


def test_users_lists_active_people_with_roles(api, personas, admin_user):
    services.user_deactivate(user=personas["validator"], by=admin_user, reason="left")
    services.service_account_create(username="ci-robot", team=None, roles=["change_manager"], by=admin_user)
    body = api(personas["outsider"]).get("/api/v1/users/").json()
    names = [u["username"] for u in body["results"]]
    assert names == sorted(n for n in PERSONAS if n not in ("anonymous", "validator"))
    first = body["results"][names.index("approver")]
    assert first == {"username": "approver", "display_name": "approver", "roles": ["cab_member"]}


def test_users_search_and_role_filter(api, requester, personas):
    UserFactory(username="jdoe", first_name="Jane", last_name="Doe", roles=["implementer"])
    client = api(requester)
    assert [u["username"] for u in client.get("/api/v1/users/?q=jane").json()["results"]] == ["jdoe"]
    assert [u["username"] for u in client.get("/api/v1/users/?role=implementer").json()["results"]] == [
        "implementer", "jdoe"]
    assert [u["username"] for u in client.get("/api/v1/users/?q=doe&role=cab_member").json()["results"]] == []


@pytest.mark.parametrize("query, field", [("role=overlord", "role"), ("q=%00", "q"), ("q=" + "z" * 300, "q")])
def test_users_bad_query_is_400(api, requester, query, field):
    response = api(requester).get(f"/api/v1/users/?{query}")
    assert response.status_code == 400 and field in response.json()


def _equal_at_two_sizes(client, url, grow_small, grow_large):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    grow_small()
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        first = client.get(url)
    grow_large()
    with CaptureQueriesContext(connection) as large:
        second = client.get(url)
    assert first.status_code == second.status_code == 200
    assert second.json()["count"] > first.json()["count"]
    assert len(small.captured_queries) == len(large.captured_queries)


def test_users_query_count_does_not_grow(api, requester):
    group = Group.objects.get(name="validator")

    def crowd(n, offset):
        for i in range(n):
            UserFactory(username=f"crowd{offset + i}", password=None).groups.add(group)

    _equal_at_two_sizes(api(requester), "/api/v1/users/", lambda: crowd(3, 0), lambda: crowd(27, 100))


def test_token_list_query_count_does_not_grow(api, requester):
    def tokens(n):
        for i in range(n):
            services.token_create(user=requester, by=requester, name=f"t{i}", expires_in_days=30)

    _equal_at_two_sizes(api(requester), "/api/v1/tokens/", lambda: tokens(3), lambda: tokens(27))


def test_schema_has_no_warnings_for_these_views(client, db):
    from drf_spectacular.drainage import GENERATOR_STATS

    GENERATOR_STATS.reset()
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = response.content.decode()
    for path in ("/api/v1/me/", "/api/v1/tokens/", "/api/v1/tokens/{token_key}/", "/api/v1/users/"):
        assert f"{path}:" in schema
    ours = ("MeView", "TokenListCreateView", "TokenRevokeView", "UserListView", "AuditedTokenAuthentication")
    warnings = [w for w in list(GENERATOR_STATS._warn_cache) + list(GENERATOR_STATS._error_cache)
                if any(name in w for name in ours)]
    assert warnings == []
