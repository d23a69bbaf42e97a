"""Capacity, release requirement and business workflow pages and API: who sees and changes what, bad input,
and lists whose query count does not grow with their rows."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.inventory.models import BusinessWorkflow, CapacityRecord, ReleaseRequirement
from tests.factories import EnvironmentFactory, SystemFactory, TeamFactory, UserFactory

MEASURED = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
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


def record(system, environment, **kw):
    fields = {
        "cpu_cores": 16,
        "cpu_used_cores": 4,
        "memory_gb": 64,
        "memory_used_gb": 32,
        "storage_gb": 500,
        "storage_used_gb": 100,
        "measured_at": MEASURED,
    }
    fields.update(kw)
    return CapacityRecord.objects.create(system=system, environment=environment, **fields)


@pytest.fixture
def objects(system_a, production, team_a):
    return {
        "record": record(system_a, production),
        "requirement": ReleaseRequirement.objects.create(
            product="postgresql", version_spec=">=16 <17", memory_gb=8
        ),
        "workflow": BusinessWorkflow.objects.create(
            system=system_a, name="End-of-day settlement", owner_team=team_a
        ),
    }


def read_urls(objects):
    return [
        reverse("inventory:capacity"),
        reverse("inventory:requirements"),
        reverse("inventory:workflows"),
        reverse("inventory:system-workflows", args=["core-ledger"]),
    ]


def admin_urls(objects):
    r, q, w = objects["record"].pk, objects["requirement"].pk, objects["workflow"].pk
    return [
        reverse("inventory:capacity-create"),
        reverse("inventory:capacity-edit", args=[r]),
        reverse("inventory:capacity-delete", args=[r]),
        reverse("inventory:requirement-create"),
        reverse("inventory:requirement-edit", args=[q]),
        reverse("inventory:requirement-delete", args=[q]),
        reverse("inventory:workflow-create") + "?system=core-ledger",
        reverse("inventory:workflow-edit", args=[w]),
        reverse("inventory:workflow-delete", args=[w]),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("who", [*READERS, "anonymous"])
def test_page_persona_matrix(objects, personas, login, who):
    client = login(personas[who])
    for url in read_urls(objects):
        response = client.get(url)
        expected = 302 if who == "anonymous" else 200
        assert response.status_code == expected, url
        if who == "anonymous":
            assert "/accounts/login/" in response["Location"]
        elif url.endswith("/workflows/"):
            assert "End-of-day settlement" in response.content.decode()
    for url in admin_urls(objects):
        expected = {"admin": 200, "anonymous": 302}.get(who, 403)
        assert client.get(url).status_code == expected, url
        assert client.post(url, {}).status_code in ({"admin": (400, 302)}.get(who, (expected,))), url


@pytest.mark.django_db
def test_read_pages_show_edit_links_only_to_admins(objects, personas, login):
    assert (
        "Record measured capacity"
        in login(personas["admin"]).get(reverse("inventory:capacity")).content.decode()
    )
    assert (
        "Record measured capacity"
        not in login(personas["auditor"]).get(reverse("inventory:capacity")).content.decode()
    )
    html = (
        login(personas["admin"])
        .get(reverse("inventory:system-workflows", args=["core-ledger"]))
        .content.decode()
    )
    assert "?system=core-ledger" in html and "Add a workflow" in html


@pytest.mark.django_db
def test_an_admin_records_capacity_through_the_audited_service(admin_user, login, system_a, production):
    data = {
        "system": system_a.pk,
        "environment": production.pk,
        "cpu_cores": "16",
        "cpu_used_cores": "4",
        "memory_gb": "64",
        "memory_used_gb": "40.5",
        "storage_gb": "500",
        "storage_used_gb": "120",
        "measured_at": "2026-11-20 10:00",
    }
    response = login(admin_user).post(reverse("inventory:capacity-create"), data)
    assert response.status_code == 302
    saved = CapacityRecord.objects.get()
    assert saved.memory_used_gb == Decimal("40.5")
    event = AuditEvent.objects.get(action="capacityrecord.create")
    assert event.actor_username == "admin" and event.after["memory_used_gb"] == "40.5"


@pytest.mark.django_db
def test_an_admin_adds_a_workflow_from_the_system_page_link(admin_user, login, system_a, team_a):
    client = login(admin_user)
    form = client.get(reverse("inventory:workflow-create") + "?system=core-ledger").content.decode()
    assert f'<option value="{system_a.pk}" selected>' in form
    response = client.post(
        reverse("inventory:workflow-create"),
        {
            "system": system_a.pk,
            "name": "Card authorisation",
            "owner": admin_user.pk,
            "owner_team": team_a.pk,
            "stakeholder_notes": "Peak at noon.",
            "interviewed_at": "2026-10-01",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("inventory:system-workflows", args=["core-ledger"])
    assert BusinessWorkflow.objects.get().owner == admin_user
    assert AuditEvent.objects.filter(action="businessworkflow.create").exists()


BAD_PAGE_INPUT = [
    ("capacity-create", {"cpu_cores": "-4"}, "cpu_cores", "cannot be negative"),
    ("capacity-create", {"memory_used_gb": "80"}, "memory_used_gb", "More memory is used than the capacity"),
    ("capacity-create", {"measured_at": "2030-01-01 00:00"}, "measured_at", "cannot be in the future"),
    ("capacity-create", {"storage_gb": "12\x00"}, "storage_gb", "Enter a number"),
    ("requirement-create", {"version_spec": ">=16 <<17"}, "version_spec", "is not a version range"),
    ("requirement-create", {"memory_gb": "-1"}, "memory_gb", "cannot be negative"),
    ("requirement-create", {"note": "fast\x00disk"}, "note", "Null characters are not allowed"),
    ("requirement-create", {"cpu_cores": "0", "memory_gb": "0", "storage_gb": "0"}, None, "at least one of"),
    ("workflow-create", {"name": "Payroll\x00"}, "name", "Null characters are not allowed"),
    ("workflow-create", {"name": "x" * 201}, "name", "at most 200 characters"),
    ("workflow-create", {"interviewed_at": "2031-01-01"}, "interviewed_at", "cannot be in the future"),
    ("workflow-create", {"owner": "999999"}, "owner", "Select a valid choice"),
]


def _valid(kind, system, environment, team):
    return {
        "capacity-create": {
            "system": system.pk,
            "environment": environment.pk,
            "cpu_cores": "16",
            "cpu_used_cores": "4",
            "memory_gb": "64",
            "memory_used_gb": "40",
            "storage_gb": "500",
            "storage_used_gb": "120",
            "measured_at": "2026-11-20 10:00",
        },
        "requirement-create": {
            "product": "postgresql",
            "version_spec": ">=16 <17",
            "cpu_cores": "2",
            "memory_gb": "8",
            "storage_gb": "0",
            "note": "",
        },
        "workflow-create": {"system": system.pk, "name": "Payroll", "owner_team": team.pk},
    }[kind]


@pytest.mark.django_db
@pytest.mark.parametrize("name,override,field,message", BAD_PAGE_INPUT)
def test_bad_input_on_pages_is_a_field_error_and_writes_nothing(
    admin_user, login, system_a, production, team_a, name, override, field, message
):
    client = login(admin_user)
    data = _valid(name, system_a, production, team_a) | override
    events = AuditEvent.objects.count()
    response = client.post(reverse(f"inventory:{name}"), data)
    assert response.status_code == 400
    form = response.context["form"]
    errors = form.errors.get(field) if field else form.non_field_errors()
    assert errors and any(message in e for e in errors), form.errors
    assert CapacityRecord.objects.count() == ReleaseRequirement.objects.count() == 0
    assert BusinessWorkflow.objects.count() == 0
    assert AuditEvent.objects.count() == events
    # and the valid version of the same form saves
    assert (
        client.post(reverse(f"inventory:{name}"), _valid(name, system_a, production, team_a)).status_code
        == 302
    )


# --- API ----------------------------------------------------------------------------------------------------

API_LISTS = ("inventory-capacity-list", "inventory-requirement-list", "inventory-workflow-list")


@pytest.mark.django_db
@pytest.mark.parametrize("who", [*READERS, "anonymous"])
def test_api_persona_matrix(objects, personas, api, who):
    client = api(personas[who])
    signed_in = personas[who] is not None
    for name in API_LISTS:
        status = client.get(reverse(name)).status_code
        assert status == 200 if signed_in else status in (401, 403), name
    payload = {"product": "postgresql", "version_spec": "^16", "memory_gb": "4"}
    status = client.post(reverse("inventory-requirement-list"), payload, format="json").status_code
    if who == "admin":
        assert status == 201
    elif signed_in:
        assert status == 403
    else:
        assert status in (401, 403)
    assert ReleaseRequirement.objects.count() == (2 if who == "admin" else 1)


@pytest.mark.django_db
def test_api_writes_go_through_the_form_and_the_audited_service(admin_user, api, system_a, production):
    client = api(admin_user)
    response = client.post(
        reverse("inventory-capacity-list"),
        {
            "system": "core-ledger",
            "environment": "production",
            "cpu_cores": 8,
            "memory_gb": 32,
            "storage_gb": 200,
            "memory_used_gb": 16,
            "measured_at": "2026-11-20T10:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["memory_used_gb"] == 16.0
    assert AuditEvent.objects.filter(action="capacityrecord.create").count() == 1
    response = client.post(
        reverse("inventory-workflow-list"),
        {
            "system": "core-ledger",
            "name": "Card authorisation",
            "owner": "admin",
            "owner_team": "core-banking",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert BusinessWorkflow.objects.get().owner == admin_user


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name,payload,field",
    [
        ("inventory-capacity-list", {"cpu_cores": -1}, "cpu_cores"),
        ("inventory-capacity-list", {"memory_gb": "lots"}, "memory_gb"),
        ("inventory-capacity-list", {"system": "no-such-system"}, "system"),
        ("inventory-requirement-list", {"version_spec": "sixteen"}, "version_spec"),
        ("inventory-requirement-list", {"product": "pg\x00"}, "product"),
        ("inventory-workflow-list", {"name": "a\x00b"}, "name"),
        ("inventory-workflow-list", {"stakeholder_notes": "n" * 10001}, "stakeholder_notes"),
    ],
)
def test_api_bad_input_is_400_with_the_field_and_writes_nothing(
    admin_user, api, system_a, production, name, payload, field
):
    base = {
        "inventory-capacity-list": {
            "system": "core-ledger",
            "environment": "production",
            "cpu_cores": 8,
            "memory_gb": 32,
            "storage_gb": 200,
            "measured_at": "2026-11-20T10:00:00Z",
        },
        "inventory-requirement-list": {"product": "postgresql", "version_spec": ">=16 <17", "memory_gb": 4},
        "inventory-workflow-list": {"system": "core-ledger", "name": "Payroll"},
    }[name]
    events = AuditEvent.objects.count()
    response = api(admin_user).post(reverse(name), base | payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert (
        CapacityRecord.objects.count()
        == ReleaseRequirement.objects.count()
        == BusinessWorkflow.objects.count()
        == 0
    )
    assert AuditEvent.objects.count() == events


# --- query counts -------------------------------------------------------------------------------------------


def _grow(n: int, made: list) -> None:
    while len(made) < n:
        i = len(made)
        team = TeamFactory(name=f"QC Team {i}", slug=f"qc-team-{i}")
        system = SystemFactory(name=f"QC System {i:02d}", slug=f"qc-system-{i:02d}", owner_team=team)
        environment = EnvironmentFactory(name=f"QC Env {i}", slug=f"qc-env-{i}", order=i)
        record(system, environment)
        ReleaseRequirement.objects.create(
            product=f"product-{i}", version_spec=">=1", environment=environment, cpu_cores=1
        )
        BusinessWorkflow.objects.create(
            system=system, name=f"Flow {i}", owner_team=team, owner=UserFactory(username=f"qc-owner-{i}")
        )
        made.append(system)


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_list_pages_and_endpoints_cost_the_same_queries_for_3_and_20_rows(admin_user, login, api):
    urls = [reverse("inventory:capacity"), reverse("inventory:requirements"), reverse("inventory:workflows")]
    made: list = []
    _grow(3, made)
    client, api_client = login(admin_user), api(admin_user)
    small = [_count(client, u) for u in urls] + [_count(api_client, reverse(n)) for n in API_LISTS]
    _grow(20, made)
    large = [_count(client, u) for u in urls] + [_count(api_client, reverse(n)) for n in API_LISTS]
    assert small == large
