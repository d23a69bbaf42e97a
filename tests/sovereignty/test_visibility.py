"""Region isolation: a user limited to regions sees only requests all of whose systems are in them."""

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.inventory.selectors import system_get, system_queryset
from apps.upgrades.selectors import request_regions, upgrade_list, upgrade_visible
from tests.conftest import make_request

from .conftest import limit

API = "/api/v1/upgrades/"


def api_refs(client, **params):
    response = client.get(API, params)
    assert response.status_code == 200, response.content
    return {r["reference"] for r in response.json()["results"]}


def test_a_request_carries_the_regions_of_its_systems(eu_request, us_request, mixed_request):
    assert request_regions(eu_request) == {"eu-central"}
    assert request_regions(us_request) == {"us-east"}
    assert request_regions(mixed_request) == {"eu-central", "us-east"}


@pytest.mark.parametrize("persona", ["auditor", "requester", "admin"])
def test_a_limited_user_sees_only_requests_of_their_regions(persona, personas, eu_request, us_request,
                                                            mixed_request):
    user = personas[persona]
    assert set(upgrade_visible(user)) == {eu_request, us_request, mixed_request}  # unlimited: unchanged
    limit(user, "eu-central")
    assert set(upgrade_visible(user)) == {eu_request}
    limit(user, "eu-central,us-east")
    assert set(upgrade_visible(user)) == {eu_request, us_request, mixed_request}


def test_the_list_page_and_search_show_only_the_users_regions(auditor, eu_request, us_request, mixed_request,
                                                               login):
    limit(auditor, "eu-central")
    client = login(auditor)
    html = client.get(reverse("upgrades:list")).content.decode()
    assert eu_request.reference in html
    assert us_request.reference not in html and mixed_request.reference not in html
    html = client.get(reverse("upgrades:list"), {"q": "ledger"}).content.decode()
    assert eu_request.reference in html and us_request.reference not in html
    assert {r.reference for r in upgrade_list(user=auditor, filters={"q": "Upgrade"})} == {eu_request.reference}


def test_the_detail_page_of_another_region_is_a_404_and_audited(auditor, eu_request, us_request, login):
    limit(auditor, "eu-central")
    client = login(auditor)
    assert client.get(eu_request.get_absolute_url()).status_code == 200
    before = AuditEvent.objects.filter(action="upgrade.denied").count()
    response = client.get(us_request.get_absolute_url())
    assert response.status_code == 404
    assert us_request.title not in response.content.decode()
    denied = AuditEvent.objects.filter(action="upgrade.denied").order_by("-seq")
    assert denied.count() == before + 1 and denied[0].object_id == str(us_request.pk)


def test_the_api_list_search_and_detail_show_only_the_users_regions(auditor, eu_request, us_request,
                                                                    mixed_request, api):
    client = api(limit(auditor, "eu-central"))
    assert api_refs(client) == {eu_request.reference}
    assert api_refs(client, q="ledger") == {eu_request.reference}
    assert client.get(f"{API}{eu_request.reference}/").status_code == 200
    assert client.get(f"{API}{us_request.reference}/").status_code == 404
    assert client.get(f"{API}{mixed_request.reference}/").status_code == 404


def test_unlimited_users_are_unchanged(auditor, requester, outsider, eu_request, us_request, mixed_request, api):
    everything = {eu_request.reference, us_request.reference, mixed_request.reference}
    assert api_refs(api(auditor)) == everything
    assert api_refs(api(requester)) == everything  # their team owns both systems
    assert api_refs(api(outsider)) == set()  # team B sees none, as before


def _count(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = fn()
        assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_query_counts_do_not_grow_for_a_limited_user(auditor, requester, eu_component, us_component,
                                                          login, api):
    limit(auditor, "eu-central")
    client, api_client = login(auditor), api(auditor)

    def grow(n):
        from apps.upgrades.models import UpgradeRequest

        while UpgradeRequest.objects.count() < n:
            i = UpgradeRequest.objects.count()
            make_request(requester, eu_component if i % 2 else us_component, title=f"Request {i}")

    grow(10)
    api_client.get(API)  # the forced user object caches its roles on the first call
    page_small = _count(lambda: client.get(reverse("upgrades:list")))
    api_small = _count(lambda: api_client.get(API))
    grow(80)
    assert api_client.get(API).json()["count"] == 40
    assert _count(lambda: client.get(reverse("upgrades:list"))) == page_small
    assert _count(lambda: api_client.get(API)) == api_small


def test_inventory_systems_of_other_regions_are_hidden(auditor, eu_component, us_component):
    assert {s.slug for s in system_queryset(auditor)} == {"eu-ledger", "us-ledger"}
    limit(auditor, "eu-central")
    assert {s.slug for s in system_queryset(auditor)} == {"eu-ledger"}
    assert system_get(slug="eu-ledger", user=auditor).region == "eu-central"
    with pytest.raises(Http404):
        system_get(slug="us-ledger", user=auditor)
    assert {s.slug for s in system_queryset()} == {"eu-ledger", "us-ledger"}  # no user: everything


def test_the_inbox_lists_only_requests_of_the_users_regions(requester, eu_request, us_request):
    from apps.upgrades.selectors import inbox_duties

    titles = {item.title for item in inbox_duties(requester)}  # the requester's drafts to finish
    assert {str(eu_request), str(us_request)} <= titles
    limit(requester, "eu-central")
    titles = {item.title for item in inbox_duties(requester)}
    assert str(eu_request) in titles and str(us_request) not in titles


def test_inventory_pages_and_api_show_a_limited_user_only_their_regions(auditor, eu_component, us_component, login,
                                                                         api):
    limit(auditor, "eu-central")
    client = login(auditor)
    listing = client.get("/inventory/systems/").content.decode()
    assert "/inventory/systems/eu-ledger/" in listing and "/inventory/systems/us-ledger/" not in listing
    assert client.get("/inventory/systems/eu-ledger/").status_code == 200
    assert client.get("/inventory/systems/us-ledger/").status_code == 404
    body = api(auditor).get("/api/v1/systems/").json()
    assert {s["slug"] for s in body["results"]} == {"eu-ledger"}
    assert api(auditor).get("/api/v1/systems/us-ledger/").status_code == 404


def test_per_system_inventory_lists_keep_to_the_users_regions(auditor, eu_component, us_component, login, api):
    """Integrations and business workflows belong to a system: a limited user sees only their regions' ones."""
    from apps.inventory.models import BusinessWorkflow, Integration

    for component in (eu_component, us_component):
        Integration.objects.create(system=component.system, name=f"{component.system.slug} link", partner="SWIFT")
        BusinessWorkflow.objects.create(system=component.system, name=f"{component.system.slug} posting")
    limit(auditor, "eu-central")
    client = login(auditor)
    for page in ("/inventory/integrations/", "/inventory/workflows/"):
        body = client.get(page).content.decode()
        assert "eu-ledger" in body and "us-ledger" not in body, page
    for endpoint in ("/api/v1/integrations/", "/api/v1/workflows/"):
        response = api(auditor).get(endpoint)
        assert response.status_code == 200, endpoint
        names = {row["name"] for row in response.json()["results"]}
        assert names and all(name.startswith("eu-ledger") for name in names), endpoint
