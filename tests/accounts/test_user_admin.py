"""Admins manage users: list, detail with open duties, deactivate/reactivate, service accounts and tokens."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.test import APIClient

from apps.accounts import services
from apps.accounts.models import ApiTokenInfo, User
from apps.audit.models import AuditEvent

from ..factories import TeamFactory, UserFactory
from .conftest import admin_only, count_queries


@pytest.fixture
def robot(admin_user, team_a):
    return services.service_account_create(username="ci-robot", team=team_a, roles=["change_manager"],
                                           by=admin_user)


def test_user_pages_matrix(page_matrix, robot):
    page_matrix(reverse("accounts:user-list"), admin_only(200))
    page_matrix(reverse("accounts:user-detail", args=["requester"]), admin_only(200))
    page_matrix(reverse("accounts:user-detail", args=["ci-robot"]), admin_only(200))
    page_matrix(reverse("accounts:service-account-create"), admin_only(200))


def test_user_writes_matrix(page_matrix, robot, db):
    UserFactory(username="leaver")
    page_matrix(reverse("accounts:user-deactivate", args=["leaver"]), admin_only(302), method="post",
                data={"reason": "left"})
    page_matrix(reverse("accounts:user-reactivate", args=["leaver"]), admin_only(302), method="post")
    page_matrix(lambda name: reverse("accounts:user-token-create", args=["ci-robot"]), admin_only(302),
                method="post", data={"name": "matrix", "expires_in_days": "30"})
    page_matrix(lambda name: reverse("accounts:service-account-create"), admin_only(302), method="post",
                data={"username": "bot-matrix", "roles": ["implementer"]})
    token, _ = services.token_create(user=robot, by=robot.service_owner, name="to revoke", expires_in_days=30)
    page_matrix(reverse("accounts:user-token-revoke", args=["ci-robot", token.token_key]), admin_only(302),
                method="post")


def test_refusals_are_audited(login, requester):
    assert login(requester).get(reverse("accounts:user-list")).status_code == 403
    event = AuditEvent.objects.get(action="page.denied")
    assert event.actor_id == requester.pk and event.data["path"] == reverse("accounts:user-list")


def test_user_list_shows_roles_teams_status_and_service_flag(login, admin_user, personas, robot):
    services.user_deactivate(user=personas["validator"], by=admin_user, reason="left")
    body = login(admin_user).get(reverse("accounts:user-list")).content.decode()
    assert "<title>Users · Tollgate</title>" in body
    row = body[body.index(">requester</a>"):]
    row = row[:row.index("</tr>")]
    assert "change_manager" in row and "Core Banking" in row and "active" in row
    validator_row = body[body.index(">validator</a>"):]
    assert "deactivated" in validator_row[:validator_row.index("</tr>")]
    robot_row = body[body.index(">ci-robot</a>"):]
    assert "service account" in robot_row[:robot_row.index("</tr>")]


def test_user_list_search_by_name(login, admin_user, db):
    UserFactory(username="jdoe", first_name="Jane", last_name="Doe")
    UserFactory(username="rroe", first_name="Richard", last_name="Roe")
    response = login(admin_user).get(reverse("accounts:user-list"), {"q": "jane"})
    assert [u.username for u in response.context["page"]] == ["jdoe"]
    response = login(admin_user).get(reverse("accounts:user-list"), {"q": "Roe"})
    assert [u.username for u in response.context["page"]] == ["rroe"]
    response = login(admin_user).get(reverse("accounts:user-list"), {"q": "\x00" + "z" * 5000})
    assert response.status_code == 200 and list(response.context["page"]) == []


def _crowd(n, offset):
    team = TeamFactory()
    group = Group.objects.get(name="implementer")
    for i in range(n):
        user = UserFactory(username=f"crowd{offset + i}", password=None)
        user.groups.add(group)
        user.teams.add(team)


def test_user_list_query_count_does_not_grow(login, admin_user):
    client = login(admin_user)
    url = reverse("accounts:user-list")
    _crowd(3, 0)
    client.get(url)
    small = count_queries(lambda: client.get(url))
    _crowd(27, 100)
    large = count_queries(lambda: client.get(url))
    assert small == large


def test_deactivation_needs_a_reason_and_changes_nothing_without_one(login, admin_user, requester):
    url = reverse("accounts:user-deactivate", args=["requester"])
    for reason in ("", "   ", "x" * 10_000, "left\x00"):
        response = login(admin_user).post(url, {"reason": reason})
        assert response.status_code == 200
        assert response.context["deactivate_form"].errors["reason"]
    requester.refresh_from_db()
    assert requester.is_active
    assert not AuditEvent.objects.filter(action="user.deactivate").exists()


def test_deactivation_lists_duties_to_reassign_and_revokes_tokens(login, admin_user, upgrade, assessor):
    _token, secret = services.token_create(user=assessor, by=assessor, name="laptop", expires_in_days=30)
    client = login(admin_user)
    detail = client.get(reverse("accounts:user-detail", args=["assessor"])).content.decode()
    assert "Open duties" in detail and upgrade.reference in detail

    response = client.post(reverse("accounts:user-deactivate", args=["assessor"]),
                           {"reason": "left the company"}, follow=True)
    body = response.content.decode()
    assert "1 open duty needs a new holder" in body
    assert "Duties to reassign" in body
    assert f'href="{upgrade.get_absolute_url()}"' in body and "as assessor" in body
    assert "Reactivate assessor" in body
    assessor.refresh_from_db()
    assert not assessor.is_active
    assert not AuthToken.objects.filter(user=assessor).exists()
    assert APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {secret}").status_code == 401
    event = AuditEvent.objects.get(action="user.deactivate")
    assert event.data["reason"] == "left the company" and event.actor_id == admin_user.pk
    assert len(event.data["duties_to_reassign"]) == 1


def test_admin_cannot_deactivate_self(login, admin_user):
    response = login(admin_user).post(reverse("accounts:user-deactivate", args=["admin"]), {"reason": "oops"})
    assert response.status_code == 200
    assert "You cannot deactivate yourself." in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_reactivate(login, admin_user, requester):
    services.user_deactivate(user=requester, by=admin_user, reason="long leave")
    response = login(admin_user).post(reverse("accounts:user-reactivate", args=["requester"]), follow=True)
    assert "requester is active again." in response.content.decode()
    requester.refresh_from_db()
    assert requester.is_active
    assert AuditEvent.objects.filter(action="user.reactivate", object_id=str(requester.pk)).count() == 1


def test_unknown_user_is_404(login, admin_user):
    assert login(admin_user).get(reverse("accounts:user-detail", args=["nobody"])).status_code == 404


def test_service_account_create(login, admin_user, team_a):
    data = {"username": "deploy-bot", "team": team_a.pk, "roles": ["change_manager"]}
    response = login(admin_user).post(reverse("accounts:service-account-create"), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:user-detail", args=["deploy-bot"])
    bot = User.objects.get(username="deploy-bot")
    assert bot.is_service_account and bot.service_owner == admin_user and not bot.has_usable_password()
    assert list(bot.teams.all()) == [team_a] and bot.has_role("change_manager")
    assert AuditEvent.objects.filter(action="user.service_account_create", object_id=str(bot.pk)).exists()


@pytest.mark.parametrize("data, field", [
    ({"username": "requester"}, "username"),
    ({"username": "bad name!"}, "username"),
    ({"username": "bot\x00"}, "username"),
    ({"username": "b" * 10_000}, "username"),
    ({"username": "bot", "roles": ["overlord"]}, "roles"),
    ({"username": "bot", "team": "999999"}, "team"),
])
def test_bad_service_account_input(login, admin_user, requester, data, field):
    before = User.objects.count()
    response = login(admin_user).post(reverse("accounts:service-account-create"), data)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert User.objects.count() == before
    assert not AuditEvent.objects.filter(action="user.service_account_create").exists()


def test_admin_creates_and_revokes_service_account_tokens(login, admin_user, robot):
    client = login(admin_user)
    response = client.post(reverse("accounts:user-token-create", args=["ci-robot"]),
                           {"name": "pipeline", "expires_in_days": "90"})
    assert response["Location"] == reverse("accounts:token-created")
    shown = client.get(reverse("accounts:token-created"))
    secret = shown.context["shown"]["secret"]
    assert secret in shown.content.decode() and "ci-robot" in shown.content.decode()
    assert secret not in client.get(reverse("accounts:token-created"), follow=True).content.decode()
    assert secret not in repr(list(AuthToken.objects.values_list()))
    assert secret not in repr(list(ApiTokenInfo.objects.values_list()))

    me = APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {secret}")
    assert me.status_code == 200 and me.json()["username"] == "ci-robot" and me.json()["is_service_account"]
    token = AuthToken.objects.get(user=robot)
    assert token.info.created_by == admin_user
    detail = client.get(reverse("accounts:user-detail", args=["ci-robot"])).content.decode()
    assert "pipeline" in detail and f"{token.token_key}…" in detail

    client.post(reverse("accounts:user-token-revoke", args=["ci-robot", token.token_key]))
    assert APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {secret}").status_code == 401
    create, revoke = (AuditEvent.objects.get(action=a) for a in ("token.create", "token.revoke"))
    assert create.actor_id == revoke.actor_id == admin_user.pk
    assert create.object_id == revoke.object_id == str(robot.pk)


def test_person_tokens_are_not_managed_on_their_admin_page(login, admin_user, requester):
    response = login(admin_user).post(reverse("accounts:user-token-create", args=["requester"]),
                                      {"name": "sneaky", "expires_in_days": "30"})
    assert response.status_code == 404
    assert not AuthToken.objects.exists()


def test_bad_service_account_token_input(login, admin_user, robot):
    response = login(admin_user).post(reverse("accounts:user-token-create", args=["ci-robot"]),
                                      {"name": "x" * 10_000, "expires_in_days": "-1"})
    assert response.status_code == 200
    assert set(response.context["token_form"].errors) == {"name", "expires_in_days"}
    assert not AuthToken.objects.exists()
