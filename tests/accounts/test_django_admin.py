"""The Django admin knows users (with Tollgate's fields), teams and SoD rules, and audits its changes."""

import pytest
from django.urls import reverse

from apps.accounts.models import SodRule, Team
from apps.audit.models import AuditEvent

from ..factories import UserFactory


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.mark.parametrize("model", ["user", "team", "sodrule"])
def test_changelists_and_add_forms_load(client, superuser, model):
    client.force_login(superuser)
    assert client.get(reverse(f"admin:accounts_{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:accounts_{model}_add")).status_code == 200


def test_user_change_form_has_tollgate_fields(client, superuser, requester):
    client.force_login(superuser)
    body = client.get(reverse("admin:accounts_user_change", args=[requester.pk])).content.decode()
    for field in ("teams", "timezone", "notify_channel", "is_service_account", "service_owner"):
        assert f'name="{field}"' in body, field


def test_admin_changes_are_audited(client, superuser):
    client.force_login(superuser)
    response = client.post(reverse("admin:accounts_team_add"), {"name": "Payments", "slug": "payments",
                                                                "email": ""})
    assert response.status_code == 302
    team = Team.objects.get(slug="payments")
    response = client.post(reverse("admin:accounts_sodrule_add"), {
        "risk_class": "emergency", "duty_a": "requester", "duty_b": "implementer", "allowed": "on"})
    assert response.status_code == 302
    rule = SodRule.objects.get()
    client.post(reverse("admin:accounts_sodrule_delete", args=[rule.pk]), {"post": "yes"})
    assert not SodRule.objects.exists()
    actions = list(AuditEvent.objects.filter(action__startswith="admin.").order_by("seq")
                   .values_list("action", "object_type", "actor_id"))
    assert actions == [
        ("admin.add", "accounts.team", superuser.pk),
        ("admin.add", "accounts.sodrule", superuser.pk),
        ("admin.delete", "accounts.sodrule", superuser.pk),
    ]
    assert AuditEvent.objects.filter(object_id=str(team.pk), object_type="accounts.team").exists()


def test_non_staff_cannot_open_the_admin(client, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("admin:accounts_user_changelist"))
    assert response.status_code == 302 and "/django-admin/login/" in response["Location"]
