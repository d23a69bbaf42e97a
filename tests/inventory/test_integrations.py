"""Third-party integration pages and API: who sees and changes what, bad input writing nothing, query counts,
the audited create/edit/delete, and the links that lead to them."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.models import Team
from apps.audit.models import AuditEvent
from apps.inventory.models import Endpoint, Integration, System
from tests.factories import EndpointFactory

READERS = (
    "requester",
    "assessor",
    "approver",
    "implementer",
    "validator",
    "executive",
    "auditor",
    "admin",
    "outsider",
)


@pytest.fixture
def swift(system_a, production):
    endpoint = EndpointFactory(system=system_a, environment=production, name="health")
    return Integration.objects.create(
        system=system_a,
        name="Nostro statements",
        partner="SWIFT",
        protocol="SWIFT FIN",
        endpoint=endpoint,
        notes="Statements arrive at 06:00.",
    )


def _valid(system, **override):
    fields = {"system": system.pk, "name": "Card authorisations", "partner": "Visa", "protocol": "ISO 8583"}
    return fields | override


# --- pages ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", [*READERS, "anonymous"])
def test_page_persona_matrix(swift, system_a, personas, login, who):
    client = login(personas[who])
    read_urls = (
        reverse("inventory:integrations"),
        reverse("inventory:system-integrations", args=["core-ledger"]),
    )
    for url in read_urls:
        response = client.get(url)
        if who == "anonymous":
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
            continue
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "Nostro statements" in html and "SWIFT FIN" in html
        assert ("Add an integration" in html) == (who == "admin")
        assert (reverse("inventory:integration-edit", args=[swift.pk]) in html) == (who == "admin")
    admin_urls = [
        reverse("inventory:integration-create") + "?system=core-ledger",
        reverse("inventory:integration-edit", args=[swift.pk]),
        reverse("inventory:integration-delete", args=[swift.pk]),
    ]
    expected = {"admin": 200, "anonymous": 302}.get(who, 403)
    for url in admin_urls:
        assert client.get(url).status_code == expected, url
    # writes: only the admin's change anything
    for n, url in enumerate(admin_urls[:2]):
        status = client.post(url, _valid(system_a, name=f"Posted by {who} {n}")).status_code
        assert status == {"admin": 302}.get(who, expected), url
    if who != "admin":
        assert client.post(admin_urls[2]).status_code == expected
        assert Integration.objects.get() == swift and swift.name == "Nostro statements"
        assert not AuditEvent.objects.filter(action__startswith="integration.").exists()


@pytest.mark.django_db
def test_unknown_system_page_is_404(admin_user, login):
    url = reverse("inventory:system-integrations", args=["no-such"])
    assert login(admin_user).get(url).status_code == 404


@pytest.mark.django_db
def test_system_page_and_subnav_link_to_integrations(swift, personas, login):
    url = reverse("inventory:system-detail", args=["core-ledger"])
    html = login(personas["admin"]).get(url).content.decode()
    assert reverse("inventory:system-integrations", args=["core-ledger"]) in html
    assert reverse("inventory:integration-create") + "?system=core-ledger" in html
    assert "Nostro statements" in html and "SWIFT" in html
    html = login(personas["auditor"]).get(reverse("inventory:workflows")).content.decode()
    assert reverse("inventory:integrations") in html
    assert "Add an integration" not in html


@pytest.mark.django_db
def test_an_admin_creates_edits_and_deletes_an_integration_audited(admin_user, login, system_a, production):
    client = login(admin_user)
    endpoint = EndpointFactory(system=system_a, environment=production, name="health")
    form = client.get(reverse("inventory:integration-create") + "?system=core-ledger").content.decode()
    assert f'<option value="{system_a.pk}" selected>' in form
    response = client.post(reverse("inventory:integration-create"), _valid(system_a, endpoint=endpoint.pk))
    assert response.status_code == 302
    assert response["Location"] == reverse("inventory:system-integrations", args=["core-ledger"])
    integration = Integration.objects.get()
    assert (integration.partner, integration.endpoint) == ("Visa", endpoint)
    created = AuditEvent.objects.get(action="integration.create")
    assert created.actor == admin_user and created.after["name"] == "Card authorisations"

    url = reverse("inventory:integration-edit", args=[integration.pk])
    assert client.post(url, _valid(system_a, partner="Mastercard")).status_code == 302
    integration.refresh_from_db()
    assert integration.partner == "Mastercard" and integration.endpoint is None
    updated = AuditEvent.objects.get(action="integration.update")
    assert updated.before["partner"] == "Visa" and updated.after["partner"] == "Mastercard"

    response = client.post(reverse("inventory:integration-delete", args=[integration.pk]))
    assert response.status_code == 302
    assert not Integration.objects.exists()
    deleted = AuditEvent.objects.get(action="integration.delete")
    assert deleted.actor == admin_user and "Mastercard" in deleted.object_repr


BAD_PAGE_INPUT = [
    ({"system": "999999"}, "system", "Select a valid choice"),
    ({"name": "Nostro statements"}, "name", "already has an integration named"),
    ({"name": "NOSTRO statements "}, "name", "already has an integration named"),
    ({"name": "Card\x00 auth"}, "name", "Null characters are not allowed"),
    ({"name": "x" * 10000}, "name", "at most 120 characters"),
    ({"partner": ""}, "partner", "This field is required"),
    ({"notes": "n" * 10001}, "notes", "at most 10000 characters"),
    ({"endpoint": "other-system"}, "endpoint", "Choose a health endpoint of Core Ledger"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("override,field,message", BAD_PAGE_INPUT)
def test_bad_input_on_the_page_is_a_field_error_and_writes_nothing(
    admin_user, login, swift, system_b, production, override, field, message
):
    if override.get("endpoint") == "other-system":
        override = {"endpoint": EndpointFactory(system=system_b, environment=production).pk}
    client = login(admin_user)
    events = AuditEvent.objects.count()
    response = client.post(reverse("inventory:integration-create"), _valid(swift.system) | override)
    assert response.status_code == 400
    errors = response.context["form"].errors.get(field)
    assert errors and any(message in e for e in errors), response.context["form"].errors
    assert "Nothing was saved" in response.content.decode()
    assert Integration.objects.count() == 1 and AuditEvent.objects.count() == events
    # the same name on another system is fine
    assert client.post(reverse("inventory:integration-create"),
                       _valid(system_b, name="Nostro statements")).status_code == 302


@pytest.mark.django_db
def test_editing_keeps_its_own_name_but_cannot_take_a_siblings(admin_user, login, swift, system_a):
    other = Integration.objects.create(system=system_a, name="Card authorisations", partner="Visa")
    client = login(admin_user)
    url = reverse("inventory:integration-edit", args=[other.pk])
    response = client.post(url, _valid(system_a, name="Nostro statements"))
    assert response.status_code == 400 and "already has an integration" in response.content.decode()
    assert client.post(url, _valid(system_a, protocol="ISO 20022")).status_code == 302
    other.refresh_from_db()
    assert other.protocol == "ISO 20022"


# --- API --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", [*READERS, "anonymous"])
def test_api_persona_matrix(swift, personas, api, who):
    client = api(personas[who])
    signed_in = personas[who] is not None
    denied = 403 if signed_in else 401
    list_url = reverse("inventory-integration-list")
    detail_url = reverse("inventory-integration-detail", args=[swift.pk])
    response = client.get(list_url)
    if signed_in:
        assert response.status_code == 200
        body = response.json()
        rows = body["results"] if isinstance(body, dict) else body
        assert rows[0]["system"] == "core-ledger" and rows[0]["endpoint"] == swift.endpoint_id
        assert client.get(detail_url).json()["partner"] == "SWIFT"
    else:
        assert response.status_code in (401, 403)
    payload = {"system": "core-ledger", "name": "Card authorisations", "partner": "Visa", 
               "protocol": "ISO 8583"}
    create = client.post(list_url, payload, format="json").status_code
    patch = client.patch(detail_url, {"notes": "changed"}, format="json").status_code
    if who == "admin":
        assert (create, patch) == (201, 200)
        assert Integration.objects.count() == 2
        assert AuditEvent.objects.filter(action="integration.create", actor__username="admin").exists()
        assert client.delete(detail_url).status_code == 204
        assert AuditEvent.objects.filter(action="integration.delete").count() == 1
        assert list(Integration.objects.values_list("name", flat=True)) == ["Card authorisations"]
    else:
        assert create in (denied, 403) and patch in (denied, 403)
        assert client.delete(detail_url).status_code in (denied, 403)
        swift.refresh_from_db()
        assert Integration.objects.count() == 1 and swift.notes == "Statements arrive at 06:00."


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload,field",
    [
        ({"system": "no-such-system"}, "system"),
        ({"name": "Nostro statements"}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": "x" * 10000}, "name"),
        ({"partner": ""}, "partner"),
        ({"endpoint": 999999}, "endpoint"),
        ({"notes": "n" * 10001}, "notes"),
    ],
)
def test_api_bad_input_is_400_with_the_field_and_writes_nothing(admin_user, api, swift, payload, field):
    events = AuditEvent.objects.count()
    base = {"system": "core-ledger", "name": "Card authorisations", "partner": "Visa"}
    response = api(admin_user).post(reverse("inventory-integration-list"), base | payload, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert Integration.objects.count() == 1 and AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_api_refuses_an_endpoint_of_another_system(admin_user, api, swift, system_b, production):
    other = EndpointFactory(system=system_b, environment=production)
    payload = {"system": "core-ledger", "name": "Card authorisations", "partner": "Visa",
               "endpoint": other.pk}
    response = api(admin_user).post(reverse("inventory-integration-list"), payload, format="json")
    assert response.status_code == 400 and "endpoint" in response.json()
    assert Integration.objects.count() == 1


# --- query counts -------------------------------------------------------------------------------------------


def _grow(n: int, production) -> None:
    have = Integration.objects.count()
    teams = Team.objects.bulk_create(Team(name=f"QC Team {i}", slug=f"qc-team-{i}") for i in range(have, n))
    systems = System.objects.bulk_create(
        System(name=f"QC System {i:03d}", slug=f"qc-system-{i:03d}", owner_team=t, criticality="high",
               region="eu-central")
        for i, t in zip(range(have, n), teams, strict=True)
    )
    endpoints = Endpoint.objects.bulk_create(
        Endpoint(system=s, environment=production, name="health", kind="http", target="https://127.0.0.1/h")
        for s in systems
    )
    Integration.objects.bulk_create(
        Integration(system=s, name=f"Link {s.slug}", partner="SWIFT", protocol="SWIFT FIN", endpoint=e)
        for s, e in zip(systems, endpoints, strict=True)
    )
    assert Integration.objects.count() == n


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_list_page_and_endpoint_cost_the_same_queries_for_10_and_200_rows(admin_user, login, api, production):
    urls = [reverse("inventory:integrations"), reverse("inventory-integration-list")]
    client, api_client = login(admin_user), api(admin_user)
    _grow(10, production)
    small = [_count(client, urls[0]), _count(api_client, urls[1])]
    _grow(200, production)
    large = [_count(client, urls[0]), _count(api_client, urls[1])]
    assert small == large
