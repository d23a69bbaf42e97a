"""CycloneDX SBOM import: the real SBOMs (dropwizard 1.2, laravel 1.3, juice-shop 1.4) import completely in one
transaction; bad files are refused with a clear message and nothing written; pages and API by persona."""

import json
import time
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.inventory import sbom
from apps.inventory.models import ImportJob, Sbom, SbomEdge, SbomPackage
from tests.factories import ComponentFactory

DATA = Path(__file__).resolve().parent.parent / "data" / "sbom"
# (file, spec, packages = components + the BOM's subject, distinct dependency edges)
REAL = [
    ("dropwizard-1.3.15.cdx.json", "1.2", 168, 170),
    ("laravel-7.12.0.cdx.json", "1.3", 63, 113),
    ("juice-shop-11.1.2-npm.cdx-1.4.json", "1.4", 1116, 1775),
]
PERSONAS = ["requester", "assessor", "approver", "implementer", "validator", "executive", "auditor", "admin",
            "outsider", "anonymous"]


def _doc(**overrides):
    doc = {
        "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
        "metadata": {"component": {"bom-ref": "app", "type": "application", "name": "app", "version": "1.0"}},
        "components": [
            {"bom-ref": "a", "type": "library", "name": "alpha", "version": "1.2.3", "purl": "pkg:pypi/alpha@1.2.3"},
            {"bom-ref": "b", "type": "library", "name": "beta", "group": "org.example", "version": "2.0"},
        ],
        "dependencies": [{"ref": "app", "dependsOn": ["a"]}, {"ref": "a", "dependsOn": ["b"]}],
    }
    doc.update(overrides)
    return json.dumps(doc).encode()


def _nothing_written():
    assert not Sbom.objects.exists() and not SbomPackage.objects.exists() and not SbomEdge.objects.exists()
    assert not AuditEvent.objects.filter(action="sbom.import").exists()


@pytest.mark.parametrize("filename,spec,packages,edges", REAL)
def test_real_sboms_import_every_package_and_edge(component_a, admin_user, filename, spec, packages, edges):
    raw = (DATA / filename).read_bytes()
    doc = json.loads(raw)
    started = time.perf_counter()
    result = sbom.sbom_import(component=component_a, filename=filename, raw=raw, by=admin_user)
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"{filename} took {elapsed:.1f}s"
    assert (result.spec_version, result.package_count, result.edge_count) == (spec, packages, edges)
    assert packages == len(doc["components"]) + 1
    assert SbomPackage.objects.filter(sbom=result).count() == packages
    assert SbomEdge.objects.filter(sbom=result).count() == edges
    first = doc["components"][0]
    stored = SbomPackage.objects.get(sbom=result, bom_ref=first["bom-ref"])
    assert (stored.name, stored.version, stored.purl) == (first["name"], first["version"], first.get("purl", ""))
    source = doc["dependencies"][0]
    assert set(SbomEdge.objects.filter(sbom=result, source__bom_ref=source["ref"])
               .values_list("target__bom_ref", flat=True)) == set(source.get("dependsOn", []))
    event = AuditEvent.objects.get(action="sbom.import")
    assert event.data["packages"] == packages and event.data["edges"] == edges


def test_juice_shop_imports_in_one_transaction_with_few_queries(component_a, admin_user):
    raw = (DATA / "juice-shop-11.1.2-npm.cdx-1.4.json").read_bytes()
    with CaptureQueriesContext(connection) as ctx:
        sbom.sbom_import(component=component_a, filename="juice.json", raw=raw, by=admin_user)
    # bulk inserts: the number of statements does not follow the 1,116 packages and 1,775 edges
    assert len(ctx.captured_queries) < 40


BAD = [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe\x00", "not UTF-8"),
    (b"", "empty"),
    (json.dumps({"bomFormat": "SPDX", "specVersion": "1.4"}).encode(), "not a CycloneDX SBOM"),
    (_doc(specVersion="1.1"), "specVersion “1.1” is not supported"),
    (_doc(specVersion="1.6"), "specVersion “1.6” is not supported"),
    (_doc(components=[{"bom-ref": "a", "type": "library", "name": "left-pad"}]), "“left-pad” (components[0]) has no version"),
    (_doc(components=[{"bom-ref": "a", "name": "x", "version": "1"}, {"bom-ref": "a", "name": "y", "version": "2"}]),
     "bom-ref “a” is used twice"),
    (_doc(dependencies=[{"ref": "a", "dependsOn": ["ghost"]}]), "names “ghost”, which is not a component"),
    (_doc(components=[{"bom-ref": "a", "name": "x\x00", "version": "1"}]), "NUL"),
    (_doc(components=[{"bom-ref": "a", "name": "x" * 301, "version": "1"}]), "longer than 300"),
    (_doc(components=[{"bom-ref": "a", "name": "x", "version": 3}]), "must be a string"),
    (_doc(components={"a": 1}), "must be a list"),
]


@pytest.mark.parametrize("raw,message", BAD)
def test_bad_sboms_are_refused_and_nothing_is_written(component_a, admin_user, raw, message):
    with pytest.raises(ValidationError) as exc:
        sbom.sbom_import(component=component_a, filename="bad.json", raw=raw, by=admin_user)
    assert message in " ".join(exc.value.message_dict["file"])
    _nothing_written()


def test_a_50_mb_file_is_refused_before_parsing(api, component_a, admin_user, tmp_path, settings):
    big = tmp_path / "big.cdx.json"
    filler = json.dumps([{"name": "x" * 80, "version": "1"}] * 10)
    with big.open("w") as fh:
        fh.write('{"bomFormat": "CycloneDX", "specVersion": "1.4", "components": [')
        while fh.tell() < 50 * 1024 * 1024:
            fh.write(filler[1:-1] + ",")
        fh.write('{"name": "last", "version": "1"}]}')
    raw = big.read_bytes()
    assert len(raw) >= 50 * 1024 * 1024
    with pytest.raises(ValidationError) as exc:
        sbom.sbom_import(component=component_a, filename=big.name, raw=raw, by=admin_user)
    assert "larger than 20.0\xa0MB" in exc.value.message_dict["file"][0]
    _nothing_written()
    with big.open("rb") as fh:
        from django.core.files.uploadedfile import SimpleUploadedFile

        response = api(admin_user).post(f"/api/v1/components/{component_a.pk}/sbom/",
                                        {"file": SimpleUploadedFile(big.name, fh.read())}, format="multipart")
    assert response.status_code == 400 and "larger than 20.0" in response.json()["file"][0]
    _nothing_written()
    settings.SBOM_MAX_BYTES = 1024
    with pytest.raises(ValidationError, match="larger than 1.0"):
        sbom.sbom_import(component=component_a, filename="small.json", raw=_doc() + b" " * 1024, by=admin_user)


def test_only_admins_import(component_a, requester):
    with pytest.raises(PermissionDenied):
        sbom.sbom_import(component=component_a, filename="ok.json", raw=_doc(), by=requester)
    _nothing_written()


def test_components_without_bom_ref_are_named_by_purl(component_a, admin_user):
    raw = _doc(specVersion="1.2", metadata={}, dependencies=[], components=[
        {"type": "library", "name": "alpha", "version": "1", "purl": "pkg:npm/alpha@1"},
        {"type": "library", "name": "beta", "version": "2", "components": [{"name": "inner", "version": "3"}]}])
    result = sbom.sbom_import(component=component_a, filename="ok.json", raw=raw, by=admin_user)
    assert sorted(result.packages.values_list("bom_ref", flat=True)) == ["beta@2", "inner@3", "pkg:npm/alpha@1"]


# --- pages -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_sbom_page_by_persona(client, personas, component_a, persona):
    user = personas[persona]
    if user is not None:
        client.force_login(user)
    url = reverse("inventory:component-sbom", args=[component_a.pk])
    get = client.get(url)
    post = client.post(url, {"file": _upload()})
    if persona == "anonymous":
        assert get.status_code == 302 and post.status_code == 302 and "/login" in get["Location"]
        assert not Sbom.objects.exists()
    elif persona == "admin":
        assert get.status_code == 200 and b"Import SBOM" in get.content
        assert post.status_code == 302 and Sbom.objects.count() == 1
    else:
        assert get.status_code == 200 and b"Import SBOM" not in get.content
        assert post.status_code == 403 and not Sbom.objects.exists()


def _upload(raw=None, name="app.cdx.json"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, raw if raw is not None else _doc(), content_type="application/json")


def test_page_shows_the_error_on_the_file_field(client, admin_user, component_a):
    client.force_login(admin_user)
    response = client.post(reverse("inventory:component-sbom", args=[component_a.pk]),
                           {"file": _upload(_doc(specVersion="9.9"))})
    assert response.status_code == 400
    assert "specVersion “9.9” is not supported" in response.content.decode()
    _nothing_written()


def _sbom_with(component, admin_user, n):
    comps = [{"bom-ref": f"p{i}", "name": f"pkg{i:03}", "version": "1.0"} for i in range(n)]
    return sbom.sbom_import(component=component, filename="n.json", by=admin_user,
                            raw=_doc(components=comps, metadata={}, dependencies=[]))


def test_package_list_queries_do_not_grow(client, admin_user, system_a, production):
    small = ComponentFactory(system=system_a, environment=production, name="small", product="x", version="1")
    large = ComponentFactory(system=system_a, environment=production, name="large", product="x", version="1")
    _sbom_with(small, admin_user, 3)
    _sbom_with(large, admin_user, 30)
    client.force_login(admin_user)
    counts = []
    for component in (small, large):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("inventory:component-sbom", args=[component.pk]))
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
    assert b"pkg024" in response.content and b"pkg025" not in response.content  # 25 a page


def test_large_file_runs_on_the_worker_with_progress(celery_worker, transactional_db, client, settings):
    """Above SBOM_SYNC_BYTES the page queues an ImportJob; a real worker imports it and the bar reaches 100%."""
    from tests.factories import EnvironmentFactory, SystemFactory, TeamFactory, UserFactory

    settings.SBOM_SYNC_BYTES = 100
    admin_user = UserFactory(username="admin", roles=["admin"])
    system = SystemFactory(name="Shop", slug="shop", owner_team=TeamFactory(name="Web", slug="web"))
    component = ComponentFactory(system=system, environment=EnvironmentFactory(slug="production"),
                                 name="shop-app", product="juice-shop", version="11.1.2")
    client.force_login(admin_user)
    raw = (DATA / "juice-shop-11.1.2-npm.cdx-1.4.json").read_bytes()
    response = client.post(reverse("inventory:component-sbom", args=[component.pk]),
                           {"file": _upload(raw, "juice.json")})
    job = ImportJob.objects.get(kind="sbom")
    assert response.status_code == 302 and response["Location"] == reverse("inventory:sbom-job", args=[job.pk])
    assert job.total == 1116
    for _ in range(300):  # at most 30 s
        job.refresh_from_db()
        if job.status in ("done", "failed"):
            break
        time.sleep(0.1)
    assert (job.status, job.percent, job.created) == ("done", 100, 1116), job.error
    assert Sbom.objects.get(component=component).edge_count == 1775
    page = client.get(reverse("inventory:sbom-job-progress", args=[job.pk]))
    assert b"1116 packages imported" in page.content and b"hx-get" not in page.content
    assert client.get(reverse("inventory:sbom-job", args=[job.pk])).status_code == 200


# --- API -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_sbom_api_by_persona(api, personas, component_a, persona):
    client = api(personas[persona])
    url = f"/api/v1/components/{component_a.pk}/sbom/"
    get = client.get(url)
    post = client.post(url, {"file": _upload()}, format="multipart")
    if persona == "anonymous":
        assert get.status_code in (401, 403) and post.status_code in (401, 403)
        assert not Sbom.objects.exists()
    elif persona == "admin":
        assert get.status_code == 200 and post.status_code == 201
        assert post.json()["package_count"] == 3 and post.json()["edge_count"] == 2
        assert [p["name"] for p in client.get(url).json()["results"]] == ["alpha", "app", "beta"]
    else:
        assert get.status_code == 200 and post.status_code == 403 and not Sbom.objects.exists()


def test_api_bad_file_is_400_on_the_file_field(api, admin_user, component_a):
    response = api(admin_user).post(f"/api/v1/components/{component_a.pk}/sbom/",
                                    {"file": _upload(b"[1, 2")}, format="multipart")
    assert response.status_code == 400 and "not valid JSON" in response.json()["file"][0]
    missing = api(admin_user).post(f"/api/v1/components/{component_a.pk}/sbom/", {}, format="multipart")
    assert missing.status_code == 400 and "file" in missing.json()
    assert api(admin_user).get("/api/v1/components/999999/sbom/").status_code == 404
    _nothing_written()


@pytest.mark.parametrize("persona", PERSONAS)
def test_sbom_job_pages_by_persona(client, personas, component_a, settings, persona):
    settings.SBOM_SYNC_BYTES = 10
    job = sbom.sbom_submit(component=component_a, filename="app.json", raw=_doc(), by=personas["admin"])
    assert isinstance(job, ImportJob) and job.status == "queued" and not Sbom.objects.exists()
    user = personas[persona]
    if user is not None:
        client.force_login(user)
    pages = [reverse("inventory:sbom-job", args=[job.pk]), reverse("inventory:sbom-job-progress", args=[job.pk])]
    expected = {"anonymous": 302, "admin": 200}.get(persona, 403)
    assert [client.get(url).status_code for url in pages] == [expected, expected]
    if persona == "admin":
        assert b'hx-trigger="every 1s"' in client.get(pages[1]).content
