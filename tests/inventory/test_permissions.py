"""Who may do what in the inventory: every page and endpoint, asked by every persona.

Everyone signed in reads; only administrators change anything (others get 403 and nothing changes);
anonymous visitors are sent to the login page (pages) or get 401 (API).
"""

import pytest
from django.conf import settings
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.inventory import services
from apps.inventory.models import Component, Dependency, Endpoint, Environment, ImportJob, System

PERSONAS = [
    "requester",
    "assessor",
    "approver",
    "implementer",
    "validator",
    "executive",
    "auditor",
    "admin",
    "outsider",
    "anonymous",
]

GOOD_SYSTEMS_CSV = b"name,slug,owner_team,criticality,region\nBilling,billing,core-banking,high,eu-west\n"


@pytest.fixture
def job(inventory, admin_user):
    return services.import_preview(
        kind="systems", filename="systems.csv", raw=GOOD_SYSTEMS_CSV, by=admin_user
    )


def _kwargs(spec, inv, job=None):
    return {k: (v(inv, job) if callable(v) else v) for k, v in spec.items()}


READ_PAGES = [
    ("inventory:systems", {}),
    ("inventory:system-detail", {"slug": "core-ledger"}),
    ("inventory:environments", {}),
    ("inventory:components", {}),
    ("inventory:dependencies", {}),
    ("inventory:endpoints", {}),
]

ADMIN_PAGES = [
    ("inventory:system-create", {}),
    ("inventory:system-edit", {"slug": "core-ledger"}),
    ("inventory:system-delete", {"slug": "core-ledger"}),
    ("inventory:environment-create", {}),
    ("inventory:environment-edit", {"slug": "staging"}),
    ("inventory:environment-delete", {"slug": "staging"}),
    ("inventory:component-create", {}),
    ("inventory:component-edit", {"pk": lambda inv, job: inv["component_a"].pk}),
    ("inventory:component-delete", {"pk": lambda inv, job: inv["component_a"].pk}),
    ("inventory:dependency-create", {}),
    ("inventory:dependency-edit", {"pk": lambda inv, job: inv["dependency"].pk}),
    ("inventory:dependency-delete", {"pk": lambda inv, job: inv["dependency"].pk}),
    ("inventory:endpoint-create", {}),
    ("inventory:endpoint-edit", {"pk": lambda inv, job: inv["endpoint"].pk}),
    ("inventory:endpoint-delete", {"pk": lambda inv, job: inv["endpoint"].pk}),
    ("inventory:import", {}),
    ("inventory:import-detail", {"pk": lambda inv, job: job.pk}),
    ("inventory:import-progress", {"pk": lambda inv, job: job.pk}),
]


@pytest.mark.parametrize(("name", "spec"), READ_PAGES, ids=[n for n, _ in READ_PAGES])
def test_read_pages_open_for_everyone_signed_in(inventory, personas, login, name, spec):
    url = reverse(name, kwargs=_kwargs(spec, inventory))
    answers = {}
    for persona in PERSONAS:
        response = login(personas[persona]).get(url)
        answers[persona] = response.status_code
        if persona == "anonymous":
            assert response["Location"].startswith(reverse(settings.LOGIN_URL))
    assert answers == {p: (302 if p == "anonymous" else 200) for p in PERSONAS}


@pytest.mark.parametrize(("name", "spec"), ADMIN_PAGES, ids=[n for n, _ in ADMIN_PAGES])
def test_change_pages_open_for_admins_only(inventory, job, personas, login, name, spec):
    url = reverse(name, kwargs=_kwargs(spec, inventory, job))
    answers = {}
    for persona in PERSONAS:
        response = login(personas[persona]).get(url)
        answers[persona] = response.status_code
        if persona == "anonymous":
            assert response["Location"].startswith(reverse(settings.LOGIN_URL))
    assert answers == {p: (302 if p == "anonymous" else 200 if p == "admin" else 403) for p in PERSONAS}


def _counts():
    return (
        System.objects.count(),
        Environment.objects.count(),
        Component.objects.count(),
        Dependency.objects.count(),
        Endpoint.objects.count(),
        ImportJob.objects.count(),
    )


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "admin"])
def test_nobody_but_an_admin_changes_anything_through_the_pages(inventory, job, personas, login, persona):
    before = _counts()
    client = login(personas[persona])
    posts = {
        reverse("inventory:system-create"): {
            "name": "X",
            "slug": "x",
            "owner_team": inventory["system_a"].owner_team_id,
            "criticality": "low",
            "region": "eu",
        },
        reverse("inventory:system-delete", args=["core-ledger"]): {},
        reverse("inventory:environment-delete", args=["staging"]): {},
        reverse("inventory:component-delete", args=[inventory["component_a"].pk]): {},
        reverse("inventory:dependency-delete", args=[inventory["dependency"].pk]): {},
        reverse("inventory:endpoint-delete", args=[inventory["endpoint"].pk]): {},
        reverse("inventory:import-detail", args=[job.pk]): {},
    }
    for url, data in posts.items():
        response = client.post(url, data)
        assert response.status_code == (302 if persona == "anonymous" else 403), url
    assert _counts() == before
    job.refresh_from_db()
    assert job.status == "previewed"
    if persona != "anonymous":
        denied = AuditEvent.objects.filter(action="access.denied", actor_id=personas[persona].pk)
        assert denied.count() == len(posts)
        assert "Only administrators change the inventory." in denied.first().data["reason"]


API_RESOURCES = [
    ("inventory-system", lambda inv: inv["system_a"].slug),
    ("inventory-environment", lambda inv: inv["staging"].slug),
    ("inventory-component", lambda inv: inv["component_a"].pk),
    ("inventory-dependency", lambda inv: inv["dependency"].pk),
    ("inventory-endpoint", lambda inv: inv["endpoint"].pk),
]


@pytest.mark.parametrize(("basename", "key"), API_RESOURCES, ids=[b for b, _ in API_RESOURCES])
def test_api_reads_for_everyone_signed_in(inventory, personas, api, basename, key):
    list_url = reverse(f"{basename}-list")
    detail_url = reverse(f"{basename}-detail", args=[key(inventory)])
    for url in (list_url, detail_url):
        answers = {p: api(personas[p]).get(url).status_code for p in PERSONAS}
        assert answers == {p: (401 if p == "anonymous" else 200) for p in PERSONAS}, url


@pytest.mark.parametrize(("basename", "key"), API_RESOURCES, ids=[b for b, _ in API_RESOURCES])
def test_api_writes_for_admins_only(inventory, personas, api, basename, key):
    list_url = reverse(f"{basename}-list")
    detail_url = reverse(f"{basename}-detail", args=[key(inventory)])
    before = _counts()
    for persona in PERSONAS:
        client = api(personas[persona])
        expected = 401 if persona == "anonymous" else 403
        if persona == "admin":
            continue
        assert client.post(list_url, {}, format="json").status_code == expected, persona
        assert client.patch(detail_url, {"name": "renamed"}, format="json").status_code == expected, persona
        assert client.put(detail_url, {}, format="json").status_code == expected, persona
        assert client.delete(detail_url).status_code == expected, persona
    assert _counts() == before
    assert AuditEvent.objects.filter(action="api.denied").count() == 4 * (len(PERSONAS) - 2)
    # the admin may delete (a system, a component, ...) — except an environment still in use
    response = api(personas["admin"]).delete(detail_url)
    assert response.status_code == (400 if basename == "inventory-environment" else 204)


def test_api_imports_for_admins_only(inventory, job, personas, api):
    urls = [reverse("inventory-import-list"), reverse("inventory-import-detail", args=[job.pk])]
    for url in urls:
        answers = {p: api(personas[p]).get(url).status_code for p in PERSONAS}
        assert answers == {p: (401 if p == "anonymous" else 200 if p == "admin" else 403) for p in PERSONAS}
    confirm = reverse("inventory-import-confirm", args=[job.pk])
    for persona in PERSONAS:
        if persona == "admin":
            continue
        client = api(personas[persona])
        expected = 401 if persona == "anonymous" else 403
        assert client.post(confirm).status_code == expected
        upload = client.post(
            reverse("inventory-import-list"), {"kind": "systems", "file": _file()}, format="multipart"
        )
        assert upload.status_code == expected
    job.refresh_from_db()
    assert job.status == "previewed"
    assert ImportJob.objects.count() == 1


def _file(content=GOOD_SYSTEMS_CSV, name="systems.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="text/csv")
