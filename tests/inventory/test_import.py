"""CSV import: preview with a per-row error report, all-or-nothing, run in the background with progress."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.inventory import services
from apps.inventory.models import Component, Dependency, Endpoint, Environment, ImportJob, System

SYSTEMS = (
    b"name,slug,description,owner_team,criticality,region,business_workflows\n"
    b"Billing,billing,Invoices,core-banking,high,eu-west,Invoicing;Dunning\n"
    b"Core Ledger,core-ledger,General ledger,core-banking,critical,eu-central,Month-end close\n"
    b"Card Switch,card-switch,,retail-web,medium,eu-west,\n"
)

BAD_ROW = (
    b"name,slug,owner_team,criticality,region\n"
    b"Billing,billing,core-banking,high,eu-west\n"
    b"Card Switch,card-switch,retail-web,medium,eu-west\n"
    b"Fraud Engine,fraud-engine,core-banking,catastrophic,eu-west\n"
    b"Payments Hub,payments-hub,retail-web,low,eu-west\n"
)


def _upload(content, name="inventory.csv"):
    return SimpleUploadedFile(name, content, content_type="text/csv")


def _preview(admin_user, content=SYSTEMS, kind="systems"):
    return services.import_preview(kind=kind, filename="inventory.csv", raw=content, by=admin_user)


# --- preview and error report ----------------------------------------------------------------------------


def test_a_good_file_previews_without_errors(inventory, admin_user, login):
    job = _preview(admin_user)
    assert job.status == "previewed" and job.total == 3 and job.errors == []
    page = login(admin_user).get(reverse("inventory:import-detail", args=[job.pk])).content.decode()
    assert "Import 3 rows" in page
    assert "Card Switch" in page and "Invoicing;Dunning" in page
    assert System.objects.count() == 2  # nothing written by a preview
    assert AuditEvent.objects.filter(action="import.preview", object_id=str(job.pk)).exists()


def test_one_bad_row_is_reported_by_number_and_field_and_nothing_can_be_imported(
    inventory, admin_user, login
):
    job = _preview(admin_user, BAD_ROW)
    assert job.errors == [
        {
            "row": 3,
            "errors": {
                "criticality": ["Select a valid choice. catastrophic is not one of the available choices."]
            },
        }
    ]
    client = login(admin_user)
    url = reverse("inventory:import-detail", args=[job.pk])
    page = client.get(url).content.decode()
    assert '<td>3</td><td class="mono">criticality</td>' in page
    assert "Import 4 rows" not in page
    # confirming anyway is refused, by the page and by the service
    response = client.post(url, follow=True)
    assert "Fix the rows with errors" in response.content.decode()
    with pytest.raises(ValidationError):
        services.import_confirm(job=job, by=admin_user)
    job.refresh_from_db()
    assert job.status == "previewed"
    assert not System.objects.filter(slug__in=["billing", "card-switch", "payments-hub"]).exists()
    assert not AuditEvent.objects.filter(action="import.confirm").exists()


def test_rows_that_clash_inside_the_file_are_reported(inventory, admin_user):
    content = (
        b"name,slug,owner_team,criticality,region\nBilling,billing,core-banking,low,eu\n"
        b"Billing,billing-2,core-banking,low,eu\nOther,billing,core-banking,low,eu\n"
    )
    job = _preview(admin_user, content)
    assert job.errors == [
        {"row": 2, "errors": {"name": ["Row 1 has the same name; it must be unique."]}},
        {"row": 3, "errors": {"__all__": ["Same key as row 1."]}},
    ]


def test_preview_shows_only_the_first_20_rows(inventory, admin_user, login):
    rows = "".join(f"System {n:02d},system-{n:02d},core-banking,low,eu\n" for n in range(1, 26))
    job = _preview(admin_user, ("name,slug,owner_team,criticality,region\n" + rows).encode())
    page = login(admin_user).get(reverse("inventory:import-detail", args=[job.pk])).content.decode()
    assert "System 20" in page and "System 21" not in page
    assert "Import 25 rows" in page


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,slug,owner_team,region\nBill\x00ing,billing,core-banking,eu\n", "NUL bytes"),
        ("name,slug,owner_team,region\nBéla,bela,core-banking,eu\n".encode("latin-1"), "not UTF-8"),
        (
            b"title,slug,team\nBilling,billing,core-banking\n",
            "missing columns: criticality, name, owner_team, region",
        ),
        (b"name,slug,owner_team,region,colour\nB,b,core-banking,eu,red\n", "unknown columns: colour"),
        (b"", "empty"),
        (b"name,slug,owner_team,region\n", "no rows"),
        (b"name,slug,owner_team,region\nB,b,core-banking,eu,extra\n", "more values than the header"),
    ],
)
def test_bad_files_are_refused_with_a_clear_error_and_no_job(
    inventory, admin_user, login, api, content, message
):
    response = login(admin_user).post(
        reverse("inventory:import"), {"kind": "systems", "file": _upload(content)}
    )
    assert response.status_code == 200
    assert any(message in e for e in response.context["form"].errors["file"])
    api_response = api(admin_user).post(
        reverse("inventory-import-list"), {"kind": "systems", "file": _upload(content)}, format="multipart"
    )
    assert api_response.status_code == 400
    assert any(message in e for e in api_response.json()["file"])
    assert ImportJob.objects.count() == 0
    assert System.objects.count() == 2


def test_an_oversize_file_is_refused(inventory, admin_user, login, api, settings):
    settings.IMPORT_MAX_BYTES = 100
    content = SYSTEMS  # about 250 bytes
    response = login(admin_user).post(
        reverse("inventory:import"), {"kind": "systems", "file": _upload(content)}
    )
    assert "at most 100\xa0bytes" in response.context["form"].errors["file"][0]
    api_response = api(admin_user).post(
        reverse("inventory-import-list"), {"kind": "systems", "file": _upload(content)}, format="multipart"
    )
    assert api_response.status_code == 400
    assert "larger than 100\xa0bytes" in api_response.json()["file"][0]
    with pytest.raises(ValidationError, match="larger than"):
        services.import_preview(kind="systems", filename="x.csv", raw=content, by=admin_user)
    assert ImportJob.objects.count() == 0


def test_control_characters_are_dropped_from_the_file_name(inventory, admin_user):
    job = services.import_preview(kind="systems", filename="sys\x00tems\n.csv", raw=SYSTEMS, by=admin_user)
    assert job.filename == "systems.csv"


def test_an_unknown_kind_is_refused(inventory, admin_user, api):
    response = api(admin_user).post(
        reverse("inventory-import-list"), {"kind": "users", "file": _upload(SYSTEMS)}, format="multipart"
    )
    assert response.status_code == 400 and "kind" in response.json()
    assert ImportJob.objects.count() == 0


def test_the_import_page_explains_the_columns_with_samples(db, admin_user, login):
    page = login(admin_user).get(reverse("inventory:import")).content.decode()
    for text in (
        "source_system,source_component,target_system",
        "owner_team",
        "slug of an existing team",
        "semver (default) or pep440",
        "Recent imports",
    ):
        assert text in page, text


# --- confirm, run, progress ---------------------------------------------------------------------------------


def test_page_flow_confirm_enqueues_then_progress_polls_until_done(
    inventory, admin_user, login, django_capture_on_commit_callbacks
):
    client = login(admin_user)
    response = client.post(reverse("inventory:import"), {"kind": "systems", "file": _upload(SYSTEMS)})
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("inventory:import-detail", args=[job.pk])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(reverse("inventory:import-detail", args=[job.pk]))
    assert len(callbacks) == 1  # the Celery task is sent once the confirmation is committed
    job.refresh_from_db()
    assert job.status == "queued"
    detail = client.get(reverse("inventory:import-detail", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in detail and "Import 3 rows" not in detail
    progress_url = reverse("inventory:import-progress", args=[job.pk])
    assert 'hx-trigger="every 1s"' in client.get(progress_url).content.decode()
    services.import_run(job.pk)  # what the worker does (the real worker runs it in test_worker_runs_...)
    done = client.get(progress_url).content.decode()
    assert "hx-trigger" not in done  # polling stops
    assert "2 created, 1 updated" in done
    assert System.objects.get(slug="billing").workflow_list == ["Invoicing", "Dunning"]
    assert System.objects.get(slug="core-ledger").description == "General ledger"


def test_api_flow_upload_confirm_status(inventory, admin_user, api, django_capture_on_commit_callbacks):
    client = api(admin_user)
    bad = client.post(
        reverse("inventory-import-list"), {"kind": "systems", "file": _upload(BAD_ROW)}, format="multipart"
    )
    assert bad.status_code == 400
    assert bad.json()["error_report"] == [
        {
            "row": 3,
            "field": "criticality",
            "message": "Select a valid choice. catastrophic is not one of the available choices.",
        }
    ]
    refused = client.post(reverse("inventory-import-confirm", args=[bad.json()["id"]]))
    assert refused.status_code == 400
    good = client.post(
        reverse("inventory-import-list"), {"kind": "systems", "file": _upload(SYSTEMS)}, format="multipart"
    )
    assert good.status_code == 201 and good.json()["status"] == "previewed" and good.json()["total"] == 3
    with django_capture_on_commit_callbacks(execute=False):
        confirmed = client.post(reverse("inventory-import-confirm", args=[good.json()["id"]]))
    assert confirmed.status_code == 202 and confirmed.json()["status"] == "queued"
    again = client.post(reverse("inventory-import-confirm", args=[good.json()["id"]]))
    assert again.status_code == 400 and "already been started" in again.json()["detail"][0]
    services.import_run(good.json()["id"])
    status = client.get(reverse("inventory-import-detail", args=[good.json()["id"]])).json()
    assert status["status"] == "done" and status["percent"] == 100
    assert (status["created"], status["updated"]) == (2, 1)


def test_a_file_that_became_invalid_since_the_preview_imports_nothing(inventory, admin_user):
    content = (
        b"system,environment,name,product,version\n"
        b"core-ledger,production,ledger-cache,redis,7.2\n"
        b"retail-portal,production,portal-cache,redis,7.2\n"
    )
    job = _preview(admin_user, content, kind="components")
    assert job.errors == []
    services.import_confirm(job=job, by=admin_user)
    services.inventory_object_delete(obj=System.objects.get(slug="retail-portal"), by=admin_user)
    services.import_run(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "changed since the preview" in job.error
    assert job.errors[0]["row"] == 2 and "system" in job.errors[0]["errors"]
    assert not Component.objects.filter(name="ledger-cache").exists()
    assert AuditEvent.objects.filter(action="import.failed", object_id=str(job.pk)).exists()
    # a second delivery of the same message does nothing
    services.import_run(job.pk)
    assert AuditEvent.objects.filter(action="import.failed").count() == 1


@pytest.mark.parametrize(
    ("kind", "content", "model", "count"),
    [
        ("environments", b"name,slug,kind,order\nDR,dr,dr,5\nTest,test,test,6\n", Environment, 4),
        (
            "components",
            b"system,environment,name,product,version\ncore-ledger,staging,ledger-cache,redis,7.2\n",
            Component,
            4,
        ),
        (
            "dependencies",
            (
                b"source_system,source_component,target_system,target_component,environment,constraint,"
                b"constraint_kind,description\n"
                b'core-ledger,ledger-db,retail-portal,portal-app,production,">=4.2,<6",pep440,Callbacks\n'
            ),
            Dependency,
            2,
        ),
        (
            "endpoints",
            (
                b"system,environment,name,kind,target,expected\n"
                b"retail-portal,production,portal-health,http,https://portal.example.test/health,200\n"
            ),
            Endpoint,
            2,
        ),
    ],
)
def test_every_kind_imports(inventory, admin_user, kind, content, model, count):
    job = _preview(admin_user, content, kind=kind)
    assert job.errors == []
    services.import_confirm(job=job, by=admin_user)
    services.import_run(job.pk)
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert model.objects.count() == count


def test_an_invalid_constraint_in_a_dependency_file_is_reported(inventory, admin_user):
    content = (
        b"source_system,target_system,target_component,constraint\n"
        b"core-ledger,retail-portal,portal-app,>=abc\n"
    )
    job = _preview(admin_user, content, kind="dependencies")
    assert job.errors == [
        {"row": 1, "errors": {"constraint": ["“>=abc” is not a version range (try “>=13 <17” or “^1.4”)."]}}
    ]


def test_worker_runs_a_confirmed_import(celery_worker, transactional_db, settings):
    """A real Celery worker takes the job from the broker; the job row shows progress and the result."""
    import time

    from tests.factories import TeamFactory, UserFactory

    core_banking = TeamFactory(name="Core Banking", slug="core-banking")
    TeamFactory(name="Retail Web", slug="retail-web")
    admin_user = UserFactory(username="admin", roles=["admin"])
    System.objects.create(
        name="Core Ledger", slug="core-ledger", owner_team=core_banking, region="eu-central"
    )
    job = _preview(admin_user)
    assert job.errors == []
    services.import_confirm(job=job, by=admin_user)
    for _ in range(300):  # at most 30 s
        job.refresh_from_db()
        if job.status in ("done", "failed"):
            break
        time.sleep(0.1)
    assert job.status == "done", (job.status, job.error)
    assert (job.created, job.updated, job.percent) == (2, 1, 100)
    assert set(System.objects.values_list("slug", flat=True)) == {"billing", "core-ledger", "card-switch"}
    event = AuditEvent.objects.get(action="import.done")
    assert event.object_id == str(job.pk) and event.data == {"kind": "systems", "created": 2, "updated": 1}


@pytest.mark.parametrize("kind", ["systems", "environments", "components", "dependencies", "endpoints"])
def test_the_samples_on_the_import_page_are_valid_files(inventory, admin_user, kind):
    from apps.inventory.views.imports import SAMPLES
    from tests.factories import SystemFactory

    SystemFactory(name="Billing", slug="billing", owner_team=inventory["system_a"].owner_team)
    job = _preview(admin_user, SAMPLES[kind].encode(), kind=kind)
    assert job.errors == []
