"""The inventory API: read, filter and search for everyone signed in; validated, audited writes for admins."""

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.inventory.models import Component, Dependency, Endpoint, Environment, System


def _results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_systems_list_with_owner_team_and_component_count(inventory, requester, api):
    rows = {r["slug"]: r for r in _results(api(requester).get(reverse("inventory-system-list")))}
    assert rows["core-ledger"]["owner_team"] == "core-banking"
    assert rows["core-ledger"]["owner_team_name"] == "Core Banking"
    assert rows["core-ledger"]["criticality"] == "critical"
    assert rows["core-ledger"]["component_count"] == 2
    assert rows["retail-portal"]["component_count"] == 1


def test_systems_and_environments_are_looked_up_by_slug(inventory, requester, api):
    client = api(requester)
    assert (
        client.get(reverse("inventory-system-detail", args=["core-ledger"])).json()["name"] == "Core Ledger"
    )
    assert client.get(reverse("inventory-environment-detail", args=["staging"])).json()["kind"] == "staging"
    assert client.get(reverse("inventory-system-detail", args=["no-such-system"])).status_code == 404


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"system": "core-ledger", "environment": "production", "product": "postgresql"}, ["13.14"]),
        ({"system": "core-ledger"}, ["13.14", "16.4"]),
        ({"environment": "staging"}, ["16.4"]),
        ({"product": "Django"}, ["4.2.16"]),
        ({"q": "portal"}, ["4.2.16"]),
        ({"q": "ledger 16.4"}, ["16.4"]),
    ],
)
def test_component_filters_and_search(inventory, auditor, api, params, expected):
    rows = _results(api(auditor).get(reverse("inventory-component-list"), params))
    assert sorted(r["version"] for r in rows) == expected


def test_system_filters(inventory, auditor, api):
    client = api(auditor)
    url = reverse("inventory-system-list")
    assert [r["slug"] for r in _results(client.get(url, {"criticality": "critical"}))] == ["core-ledger"]
    assert [r["slug"] for r in _results(client.get(url, {"team": "retail-web"}))] == ["retail-portal"]
    assert [r["slug"] for r in _results(client.get(url, {"q": "retail"}))] == ["retail-portal"]
    assert len(_results(client.get(url, {"region": "EU-CENTRAL"}))) == 2


def test_a_nul_byte_in_a_search_is_a_400_naming_the_filter(inventory, auditor, api, requester, login):
    response = api(auditor).get(reverse("inventory-system-list"), {"q": "led\x00ger"})
    assert response.status_code == 400 and "q" in response.json()
    page = login(requester).get(reverse("inventory:systems"), {"q": "led\x00ger"})
    assert page.status_code == 200 and "Null characters are not allowed." in page.content.decode()


def test_an_unknown_filter_value_is_a_400_naming_the_filter(inventory, auditor, api):
    response = api(auditor).get(reverse("inventory-component-list"), {"environment": "moon"})
    assert response.status_code == 400
    assert "environment" in response.json()


def test_dependency_shows_constraint_and_whether_the_target_meets_it(inventory, executive, api):
    client = api(executive)
    rows = _results(client.get(reverse("inventory-dependency-list"), {"system": "core-ledger"}))
    assert len(rows) == 1
    row = rows[0]
    assert row["source_system"] == "retail-portal" and row["target_system"] == "core-ledger"
    assert row["constraint"] == ">=13 <17" and row["target_version"] == "13.14" and row["satisfied"] is True
    assert (
        _results(client.get(reverse("inventory-dependency-list"), {"target_system": "retail-portal"})) == []
    )


def test_endpoints_filter_by_system_and_kind(inventory, validator, api):
    client = api(validator)
    assert [
        r["name"] for r in _results(client.get(reverse("inventory-endpoint-list"), {"system": "core-ledger"}))
    ] == ["ledger-health"]
    assert _results(client.get(reverse("inventory-endpoint-list"), {"kind": "sql"})) == []


# --- writes -------------------------------------------------------------------------------------------


def test_admin_creates_a_system_through_the_service(team_a, admin_user, api):
    response = api(admin_user).post(
        reverse("inventory-system-list"),
        {
            "name": "Billing",
            "slug": "billing",
            "owner_team": "core-banking",
            "criticality": "high",
            "region": "eu-west",
            "business_workflows": "Invoicing\nDunning",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["component_count"] == 0
    assert System.objects.get(slug="billing").workflow_list == ["Invoicing", "Dunning"]
    event = AuditEvent.objects.get(action="system.create")
    assert event.actor_id == admin_user.pk and event.after["slug"] == "billing"


def test_admin_patches_a_system_and_the_diff_is_audited(inventory, admin_user, api):
    response = api(admin_user).patch(
        reverse("inventory-system-detail", args=["core-ledger"]), {"criticality": "high"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert System.objects.get(slug="core-ledger").criticality == "high"
    event = AuditEvent.objects.get(action="system.update")
    assert event.before == {"criticality": "critical"} and event.after == {"criticality": "high"}


def test_admin_creates_component_dependency_and_endpoint(inventory, admin_user, api):
    client = api(admin_user)
    component = client.post(
        reverse("inventory-component-list"),
        {
            "system": "retail-portal",
            "environment": "staging",
            "name": "portal-app",
            "product": "django",
            "version": "5.2.1",
        },
        format="json",
    )
    assert component.status_code == 201, component.content
    dependency = client.post(
        reverse("inventory-dependency-list"),
        {
            "source_system": "core-ledger",
            "target_system": "retail-portal",
            "target_component": component.json()["id"],
            "constraint": ">=4.2,<6",
            "constraint_kind": "pep440",
        },
        format="json",
    )
    assert dependency.status_code == 201, dependency.content
    assert dependency.json()["satisfied"] is True
    endpoint = client.post(
        reverse("inventory-endpoint-list"),
        {
            "system": "retail-portal",
            "environment": "staging",
            "name": "portal-db",
            "kind": "sql",
            "target": "db.example.test",
        },
        format="json",
    )
    assert endpoint.status_code == 201, endpoint.content
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"component.create", "dependency.create", "endpoint.create"} <= actions


@pytest.mark.parametrize(
    ("basename", "body", "field"),
    [
        (
            "inventory-system",
            {"name": "Bad\x00name", "slug": "bad", "owner_team": "core-banking", "region": "eu"},
            "name",
        ),
        (
            "inventory-system",
            {"name": "x" * 121, "slug": "bad", "owner_team": "core-banking", "region": "eu"},
            "name",
        ),
        (
            "inventory-system",
            {"name": "Bad", "slug": "bad", "owner_team": "no-such-team", "region": "eu"},
            "owner_team",
        ),
        (
            "inventory-system",
            {"name": "Bad", "slug": "bad", "owner_team": "core-banking", "region": "eu", "criticality": 5},
            "criticality",
        ),
        (
            "inventory-system",
            {"name": "Bad", "slug": "core-ledger", "owner_team": "core-banking", "region": "eu"},
            "slug",
        ),
        ("inventory-environment", {"name": "DR", "slug": "dr", "kind": "dr", "order": "third"}, "order"),
        ("inventory-environment", {"name": "DR", "slug": "dr", "kind": "dr", "order": ["1"]}, "order"),
        (
            "inventory-component",
            {
                "system": "no-such-system",
                "environment": "production",
                "name": "c",
                "product": "p",
                "version": "1",
            },
            "system",
        ),
        (
            "inventory-component",
            {
                "system": "core-ledger",
                "environment": "production",
                "name": "ledger-db",
                "product": "postgresql",
                "version": "16",
            },
            "non_field_errors",
        ),
        (
            "inventory-dependency",
            {"source_system": "core-ledger", "target_system": "retail-portal", "constraint": ">=abc"},
            "constraint",
        ),
        (
            "inventory-dependency",
            {"source_system": "core-ledger", "target_system": "retail-portal", "target_component": 999999},
            "target_component",
        ),
        (
            "inventory-dependency",
            {"source_system": "core-ledger", "target_system": "retail-portal", "target_component": "one"},
            "target_component",
        ),
        (
            "inventory-endpoint",
            {"system": "core-ledger", "environment": "production", "name": "e", "kind": "ftp", "target": "x"},
            "kind",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(
    inventory, admin_user, api, basename, body, field
):
    counts = [m.objects.count() for m in (System, Environment, Component, Dependency, Endpoint)]
    events = AuditEvent.objects.count()
    response = api(admin_user).post(reverse(f"{basename}-list"), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert [m.objects.count() for m in (System, Environment, Component, Dependency, Endpoint)] == counts
    assert AuditEvent.objects.count() == events


def test_an_invalid_constraint_gives_the_constraint_error_text(inventory, admin_user, api):
    response = api(admin_user).post(
        reverse("inventory-dependency-list"),
        {"source_system": "core-ledger", "target_system": "retail-portal", "constraint": ">=abc"},
        format="json",
    )
    assert response.json() == {"constraint": ["“>=abc” is not a version range (try “>=13 <17” or “^1.4”)."]}


def test_patching_a_component_to_another_system_keeps_the_invariants(inventory, admin_user, api):
    # the ledger's staging database moved next to production's: same name, same system, same environment
    response = api(admin_user).patch(
        reverse("inventory-component-detail", args=[inventory["ledger_staging"].pk]),
        {"environment": "production"},
        format="json",
    )
    assert response.status_code == 400
    assert Component.objects.get(pk=inventory["ledger_staging"].pk).environment.slug == "staging"


def test_deleting_an_environment_in_use_is_refused_with_the_reason(inventory, admin_user, api):
    response = api(admin_user).delete(reverse("inventory-environment-detail", args=["production"]))
    assert response.status_code == 400
    assert "still in use" in response.json()["detail"][0]
    assert Environment.objects.filter(slug="production").exists()


def test_deleting_a_component_is_audited(inventory, admin_user, api):
    component = inventory["component_b"]
    assert (
        api(admin_user).delete(reverse("inventory-component-detail", args=[component.pk])).status_code == 204
    )
    assert not Component.objects.filter(pk=component.pk).exists()
    assert not Dependency.objects.exists()  # the dependency from this component went with it
    assert AuditEvent.objects.filter(action="component.delete", object_id=str(component.pk)).exists()


def test_the_openapi_schema_generates(db, auditor, api):
    response = api(auditor).get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/systems/",
        "/api/v1/systems/{slug}/",
        "/api/v1/components/",
        "/api/v1/dependencies/",
        "/api/v1/endpoints/",
        "/api/v1/environments/{slug}/",
        "/api/v1/imports/",
        "/api/v1/imports/{id}/",
        "/api/v1/imports/{id}/confirm/",
    ):
        assert path in paths, path
    parameters = {p["name"] for p in paths["/api/v1/components/"]["get"]["parameters"]}
    assert {"q", "system", "environment", "product"} <= parameters
