"""Every inventory list costs the same number of queries with 3 rows as with 30."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.inventory import services
from tests.factories import (
    ComponentFactory,
    DependencyFactory,
    EndpointFactory,
    EnvironmentFactory,
    SystemFactory,
    TeamFactory,
)

SYSTEMS_CSV = b"name,slug,owner_team,criticality,region\nBilling,billing,qc-team-0,high,eu-west\n"


def _grow_to(n: int, made: list) -> None:
    """Each row with its own team and environment, each dependency pointing at a component: N+1 would show."""
    while len(made) < n:
        i = len(made)
        environment = EnvironmentFactory(name=f"QC Env {i}", slug=f"qc-env-{i}", order=i)
        system = SystemFactory(
            name=f"QC System {i:02d}",
            slug=f"qc-system-{i:02d}",
            owner_team=TeamFactory(name=f"QC Team {i}", slug=f"qc-team-{i}"),
        )
        component = ComponentFactory(
            system=system, environment=environment, name=f"db-{i}", version=f"{13 + i}.1"
        )
        EndpointFactory(system=system, environment=environment, name=f"health-{i}")
        if made:
            previous_system, previous_component = made[-1]
            DependencyFactory(
                source_system=system,
                source_component=component,
                target_system=previous_system,
                target_component=previous_component,
                constraint=">=13",
            )
        made.append((system, component))


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries)


def _imports(admin_user, n: int) -> None:
    from apps.inventory.models import ImportJob

    while ImportJob.objects.count() < n:
        services.import_preview(kind="systems", filename="s.csv", raw=SYSTEMS_CSV, by=admin_user)


PAGES = [
    "inventory:systems",
    "inventory:environments",
    "inventory:components",
    "inventory:dependencies",
    "inventory:endpoints",
    "inventory:import",
]


@pytest.mark.parametrize("name", PAGES)
def test_list_pages_cost_the_same_at_3_and_30_rows(db, admin_user, login, name):
    client = login(admin_user)
    url = reverse(name)
    made: list = []
    _grow_to(3, made)
    _imports(admin_user, 3)
    client.get(url)  # warm caches (content types, session)
    small = _count(client, url)
    _grow_to(30, made)
    _imports(admin_user, 30)
    large = _count(client, url)
    assert small == large


def test_system_page_costs_the_same_with_3_and_30_neighbours(db, requester, login):
    made: list = []
    _grow_to(3, made)
    hub = made[0][0]
    client = login(requester)
    url = reverse("inventory:system-detail", args=[hub.slug])

    linked: set = set()

    def depend_on_hub(k):
        for system, component in made[1:k]:
            if system.pk in linked:
                continue
            linked.add(system.pk)
            DependencyFactory(
                source_system=system,
                source_component=component,
                target_system=hub,
                target_component=made[0][1],
                constraint="^13",
            )
            ComponentFactory(system=hub, environment=component.environment, name=f"extra-{component.pk}")

    depend_on_hub(3)
    client.get(url)
    small = _count(client, url)
    _grow_to(30, made)
    depend_on_hub(30)
    large = _count(client, url)
    assert small == large


ENDPOINTS = [
    "inventory-system-list",
    "inventory-environment-list",
    "inventory-component-list",
    "inventory-dependency-list",
    "inventory-endpoint-list",
    "inventory-import-list",
]


@pytest.mark.parametrize("basename", ENDPOINTS)
def test_list_endpoints_cost_the_same_at_3_and_30_rows(db, admin_user, api, basename):
    client = api(admin_user)
    url = reverse(basename)
    made: list = []
    _grow_to(3, made)
    _imports(admin_user, 3)
    client.get(url)
    small = _count(client, url)
    _grow_to(30, made)
    _imports(admin_user, 30)
    large = _count(client, url)
    assert small == large
