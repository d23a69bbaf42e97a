"""The inventory pages as people use them: browse, search, filter, and (admins) change through forms."""

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.inventory.models import Component, Dependency, Environment, System
from tests.factories import SystemFactory, TeamFactory


def _text(response) -> str:
    return response.content.decode()


def test_system_list_shows_the_columns_and_counts_components(inventory, requester, login):
    page = _text(login(requester).get(reverse("inventory:systems")))
    for text in ("Core Ledger", "Core Banking", "Critical", "eu-central", "Retail Portal", "Retail Web"):
        assert text in page
    row = page[page.index("Core Ledger") : page.index("Retail Portal")]
    assert "<td>2</td>" in row  # ledger-db in production and in staging


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ({"q": "ledger"}, "Core Ledger", "Retail Portal"),
        ({"q": "retail-web"}, "Retail Portal", "Core Ledger"),  # owner team slug
        ({"q": "ap-south"}, "Mumbai Payments", "Core Ledger"),  # region
        ({"q": "settlement"}, "Mumbai Payments", "Core Ledger"),  # description
        ({"criticality": "critical"}, "Core Ledger", "Retail Portal"),
        ({"region": "AP-SOUTH"}, "Mumbai Payments", "Retail Portal"),
        ({"team": "retail-web"}, "Retail Portal", "Core Ledger"),
    ],
)
def test_system_list_search_and_filters(inventory, requester, login, query, shown, hidden):
    SystemFactory(
        name="Mumbai Payments",
        slug="mumbai-payments",
        region="ap-south",
        criticality="low",
        description="Card settlement for India",
        owner_team=TeamFactory(slug="payments-in", name="Pay IN"),
    )
    page = _text(login(requester).get(reverse("inventory:systems"), query))
    assert shown in page
    assert hidden not in page


def test_an_unknown_filter_value_is_explained_and_ignored(inventory, requester, login):
    response = login(requester).get(reverse("inventory:systems"), {"criticality": "apocalyptic"})
    assert response.status_code == 200
    assert "Select a valid choice" in _text(response)
    assert "Core Ledger" in _text(response) and "Retail Portal" in _text(response)


def test_system_list_is_paginated(db, requester, login):
    team = TeamFactory()
    for n in range(30):
        SystemFactory(name=f"System {n:02d}", slug=f"sys-{n:02d}", owner_team=team)
    client = login(requester)
    first = _text(client.get(reverse("inventory:systems")))
    second = _text(client.get(reverse("inventory:systems"), {"page": 2}))
    assert "System 00" in first and "System 24" in first and "System 25" not in first
    assert "System 25" in second and "System 29" in second and "System 00" not in second
    assert "30 results" in first and "page 1 of 2" in first


def test_system_page_shows_facts_workflows_components_dependencies_and_endpoints(inventory, requester, login):
    system = inventory["system_a"]
    system.business_workflows = "Month-end close\nPayments posting"
    system.save()
    page = _text(login(requester).get(reverse("inventory:system-detail", args=[system.slug])))
    for text in (
        "Core Banking",
        "Critical",
        "eu-central",
        "Month-end close",
        "Payments posting",
        "Production",
        "Staging",
        "13.14",
        "16.4",
        "ledger-health",
        "https://ledger.example.test/health",
    ):
        assert text in page, text
    dependents = page[page.index('id="dependents"') : page.index('id="endpoints"')]
    assert "Retail Portal" in dependents and "&gt;=13 &lt;17" in dependents and "meets it" in dependents
    assert "depends on no other system" in page
    # the portal's page shows the same dependency from the other side
    other = _text(login(requester).get(reverse("inventory:system-detail", args=["retail-portal"])))
    depends_on = other[other.index('id="depends-on"') : other.index('id="dependents"')]
    assert "Core Ledger" in depends_on and "&gt;=13 &lt;17" in depends_on


def test_a_dependency_whose_target_is_too_new_is_flagged(inventory, requester, login):
    component = inventory["component_a"]
    Component.objects.filter(pk=component.pk).update(version="17.2")
    page = _text(login(requester).get(reverse("inventory:dependencies")))
    assert "does not meet it" in page


def test_unknown_system_is_404(inventory, requester, login):
    assert login(requester).get(reverse("inventory:system-detail", args=["nope"])).status_code == 404


def test_readers_see_no_change_links_admins_do(inventory, requester, admin_user, login):
    url = reverse("inventory:system-detail", args=["core-ledger"])
    assert "Edit system" not in _text(login(requester).get(url))
    assert "Edit system" in _text(login(admin_user).get(url))


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ({"q": "postgresql"}, "ledger-db", "portal-app"),
        ({"q": "4.2.16"}, "portal-app", "ledger-db"),
        ({"q": "retail"}, "portal-app", "ledger-db"),
        ({"product": "DJANGO"}, "portal-app", "ledger-db"),
        ({"system": "core-ledger"}, "ledger-db", "portal-app"),
    ],
)
def test_component_list_search_and_filters(inventory, auditor, login, query, shown, hidden):
    page = _text(login(auditor).get(reverse("inventory:components"), query))
    assert shown in page
    assert hidden not in page


def test_component_list_filters_by_environment(inventory, auditor, login):
    page = _text(login(auditor).get(reverse("inventory:components"), {"environment": "staging"}))
    assert "16.4" in page and "13.14" not in page and "portal-app" not in page


def test_environment_dependency_and_endpoint_lists(inventory, executive, login):
    client = login(executive)
    environments = _text(client.get(reverse("inventory:environments")))
    assert "Production" in environments and "Staging" in environments
    dependencies = _text(client.get(reverse("inventory:dependencies"), {"system": "core-ledger"}))
    assert "Reads balances" in dependencies
    assert "Reads balances" not in _text(
        client.get(reverse("inventory:dependencies"), {"q": "nothing-like-it"})
    )
    endpoints = _text(client.get(reverse("inventory:endpoints"), {"kind": "http"}))
    assert "ledger-health" in endpoints
    assert "ledger-health" not in _text(client.get(reverse("inventory:endpoints"), {"kind": "tcp"}))


# --- admin forms -------------------------------------------------------------------------------------


def _system_data(team, **overrides):
    data = {
        "name": "Billing",
        "slug": "billing",
        "description": "",
        "owner_team": team.pk,
        "criticality": "high",
        "region": "eu-west",
        "business_workflows": "Invoicing",
    }
    data.update(overrides)
    return data


def test_admin_adds_a_system_and_it_is_audited(team_a, admin_user, login):
    response = login(admin_user).post(reverse("inventory:system-create"), _system_data(team_a))
    assert response.status_code == 302
    system = System.objects.get(slug="billing")
    assert response["Location"] == system.get_absolute_url()
    event = AuditEvent.objects.get(action="system.create")
    assert event.actor_id == admin_user.pk and event.after["name"] == "Billing"


def test_admin_edits_a_system_and_the_diff_is_audited(inventory, admin_user, login):
    system = inventory["system_a"]
    data = _system_data(system.owner_team, name=system.name, slug=system.slug, criticality="medium")
    assert (
        login(admin_user).post(reverse("inventory:system-edit", args=[system.slug]), data).status_code == 302
    )
    system.refresh_from_db()
    assert system.criticality == "medium"
    event = AuditEvent.objects.get(action="system.update")
    assert event.before["criticality"] == "critical" and event.after["criticality"] == "medium"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": "Bill\x00ing"}, "name", "Null characters are not allowed."),
        ({"name": "x" * 121}, "name", "at most 120 characters"),
        ({"slug": "core-ledger"}, "slug", "already exists"),
        ({"slug": "new"}, "slug", "reserved"),
        ({"slug": "not a slug"}, "slug", "Enter a valid “slug”"),
        ({"criticality": "extreme"}, "criticality", "Select a valid choice"),
        ({"owner_team": 999999}, "owner_team", "Select a valid choice"),
        ({"region": ""}, "region", "This field is required."),
    ],
)
def test_bad_system_input_shows_field_errors_and_saves_nothing(
    inventory, admin_user, login, overrides, field, message
):
    response = login(admin_user).post(
        reverse("inventory:system-create"), _system_data(inventory["system_a"].owner_team, **overrides)
    )
    assert response.status_code == 200
    assert any(message in e for e in response.context["form"].errors[field])
    assert "Nothing was saved" in _text(response)
    assert System.objects.count() == 2
    assert not AuditEvent.objects.filter(action="system.create").exists()


def test_an_invalid_constraint_is_shown_on_the_constraint_field(inventory, admin_user, login):
    data = {
        "source_system": inventory["system_a"].pk,
        "target_system": inventory["system_b"].pk,
        "constraint": ">=abc",
        "constraint_kind": "semver",
    }
    response = login(admin_user).post(reverse("inventory:dependency-create"), data)
    assert response.status_code == 200
    assert response.context["form"].errors["constraint"] == [
        "“>=abc” is not a version range (try “>=13 <17” or “^1.4”)."
    ]
    assert Dependency.objects.count() == 1


def test_a_component_of_another_system_is_refused_on_a_dependency(inventory, admin_user, login):
    data = {
        "source_system": inventory["system_a"].pk,
        "target_system": inventory["system_b"].pk,
        "target_component": inventory["component_a"].pk,
        "constraint": "^4",
        "constraint_kind": "semver",
    }
    response = login(admin_user).post(reverse("inventory:dependency-create"), data)
    assert "does not belong to the target system" in response.context["form"].errors["target_component"][0]
    assert Dependency.objects.count() == 1


def test_admin_adds_a_dependency_with_a_pep440_constraint(inventory, admin_user, login):
    data = {
        "source_system": inventory["system_a"].pk,
        "target_system": inventory["system_b"].pk,
        "target_component": inventory["component_b"].pk,
        "constraint": ">=4.2,<6",
        "constraint_kind": "pep440",
    }
    response = login(admin_user).post(reverse("inventory:dependency-create"), data)
    assert response.status_code == 302
    assert Dependency.objects.filter(constraint=">=4.2,<6", source_system=inventory["system_a"]).exists()
    assert AuditEvent.objects.filter(action="dependency.create").count() == 1


def test_add_component_page_preselects_the_system(inventory, admin_user, login):
    response = login(admin_user).get(reverse("inventory:component-create"), {"system": "retail-portal"})
    assert response.context["form"].initial["system"] == inventory["system_b"].pk


def test_admin_adds_edits_and_deletes_a_component_and_an_endpoint(inventory, admin_user, login):
    client = login(admin_user)
    a, production = inventory["system_a"], inventory["production"]
    client.post(
        reverse("inventory:component-create"),
        {
            "system": a.pk,
            "environment": production.pk,
            "name": "ledger-cache",
            "product": "redis",
            "version": "7.2",
        },
    )
    cache = Component.objects.get(name="ledger-cache")
    client.post(
        reverse("inventory:component-edit", args=[cache.pk]),
        {
            "system": a.pk,
            "environment": production.pk,
            "name": "ledger-cache",
            "product": "redis",
            "version": "7.4",
        },
    )
    cache.refresh_from_db()
    assert cache.version == "7.4"
    client.post(
        reverse("inventory:endpoint-create"),
        {
            "system": a.pk,
            "environment": production.pk,
            "name": "cache-port",
            "kind": "tcp",
            "target": "cache.example.test:6379",
        },
    )
    endpoint = a.endpoints.get(name="cache-port")
    assert client.post(reverse("inventory:endpoint-delete", args=[endpoint.pk])).status_code == 302
    assert client.post(reverse("inventory:component-delete", args=[cache.pk])).status_code == 302
    assert not Component.objects.filter(name="ledger-cache").exists()
    actions = list(
        AuditEvent.objects.filter(action__startswith=("component.")).values_list("action", flat=True)
    )
    assert sorted(actions) == ["component.create", "component.delete", "component.update"]
    assert AuditEvent.objects.filter(action="endpoint.delete", object_repr__contains="cache-port").exists()


def test_an_environment_in_use_cannot_be_deleted(inventory, admin_user, login):
    client = login(admin_user)
    response = client.post(reverse("inventory:environment-delete", args=["staging"]), follow=True)
    assert "still in use" in _text(response)
    assert Environment.objects.filter(slug="staging").exists()
    assert not AuditEvent.objects.filter(action="environment.delete").exists()


def test_deleting_a_system_deletes_its_components_and_dependencies(inventory, admin_user, login):
    response = login(admin_user).post(reverse("inventory:system-delete", args=["core-ledger"]))
    assert response.status_code == 302 and response["Location"] == reverse("inventory:systems")
    assert not System.objects.filter(slug="core-ledger").exists()
    assert Component.objects.filter(system__slug="core-ledger").count() == 0
    assert Dependency.objects.count() == 0
    assert AuditEvent.objects.get(action="system.delete").object_repr == "Core Ledger"


def test_admin_adds_an_environment(db, admin_user, login):
    response = login(admin_user).post(
        reverse("inventory:environment-create"),
        {"name": "Disaster recovery", "slug": "dr", "kind": "dr", "order": 3},
    )
    assert response.status_code == 302
    assert Environment.objects.get(slug="dr").order == 3
    response = login(admin_user).post(
        reverse("inventory:environment-create"),
        {"name": "Other", "slug": "other", "kind": "dr", "order": "third"},
    )
    assert "Enter a whole number." in response.context["form"].errors["order"]
