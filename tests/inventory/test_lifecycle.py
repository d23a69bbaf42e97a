"""Vendor lifecycle import from endoflife.date's formats (real files in tests/data/endoflife), upserted by
(product, cycle); malformed files write nothing; pages, API and command by persona."""

import datetime as dt
import json
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.inventory import lifecycle
from apps.inventory.models import ProductRelease

DATA = Path(__file__).resolve().parent.parent / "data" / "endoflife"
TODAY = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
PERSONAS = ["requester", "assessor", "approver", "implementer", "validator", "executive", "auditor", "admin",
            "outsider", "anonymous"]


def _file(*parts):
    path = DATA.joinpath(*parts)
    return (path.name, path.read_bytes())


def _import(admin, *files, **kwargs):
    with clock.frozen(TODAY):
        return lifecycle.lifecycle_import(files=list(files), by=admin, **kwargs)


def _get(product, cycle):
    return ProductRelease.objects.get(product=product, cycle=cycle)


def test_product_file_imports_every_cycle_with_its_dates(admin_user):
    summary = _import(admin_user, _file("products", "postgresql.md"))
    assert summary == {"postgresql": {"created": 29, "updated": 0, "versions": 0}}
    pg13 = _get("postgresql", "13")
    assert (pg13.release_date, pg13.end_of_life, pg13.latest, pg13.latest_release_date) == (
        dt.date(2020, 9, 24), dt.date(2025, 11, 13), "13.23", dt.date(2025, 11, 10))
    assert pg13.source == "endoflife.date product file postgresql.md" and pg13.imported_at == TODAY
    ubuntu = _import(admin_user, _file("products", "ubuntu.md"))["ubuntu"]["created"]
    focal = _get("ubuntu", "20.04")
    assert ubuntu == 44 and focal.lts
    assert (focal.end_of_active_support, focal.end_of_life, focal.end_of_extended_support) == (
        dt.date(2022, 10, 1), dt.date(2025, 5, 31), dt.date(2030, 4, 2))
    assert AuditEvent.objects.filter(action="lifecycle.import").count() == 2


def test_true_and_false_dates(admin_user):
    _import(admin_user, _file("products", "nodejs.md"), _file("products", "redis.md"))
    iojs = _get("nodejs", "3")  # eol: true — over, date unknown: stored as the day of the import
    assert (iojs.end_of_life, iojs.end_of_active_support, iojs.supported_indefinitely) == (
        TODAY.date(), TODAY.date(), False)
    newest_redis = ProductRelease.objects.filter(product="redis").order_by("-release_date").first()
    assert newest_redis.end_of_life is None and newest_redis.supported_indefinitely  # eol: false
    node22 = _get("nodejs", "22")  # lts: <date> means an LTS cycle; eoes: false means none announced
    assert node22.lts and node22.end_of_extended_support is None and not node22.supported_indefinitely


def test_api_v1_response_matches_the_product_file(admin_user):
    summary = _import(admin_user, _file("api-v1", "postgresql.json"), _file("api-v1", "ubuntu.json"))
    assert summary["postgresql"]["created"] == 8 and summary["ubuntu"]["created"] == 14
    from_api = {r.cycle: (r.release_date, r.end_of_life, r.latest, r.latest_release_date, r.lts)
                for r in ProductRelease.objects.filter(product="postgresql")}
    focal = _get("ubuntu", "20.04")
    assert (focal.end_of_active_support, focal.end_of_life, focal.end_of_extended_support, focal.lts) == (
        dt.date(2022, 10, 1), dt.date(2025, 5, 31), dt.date(2030, 4, 2), True)
    assert focal.source == "endoflife.date API v1"
    # the same cycles from the product file: updated in place, the values agree
    again = _import(admin_user, _file("products", "postgresql.md"))["postgresql"]
    assert (again["created"], again["updated"]) == (21, 8)
    for cycle, values in from_api.items():
        r = _get("postgresql", cycle)
        assert (r.release_date, r.end_of_life, r.latest, r.latest_release_date, r.lts) == values


def test_api_v1_is_eol_without_a_date(admin_user):
    doc = {"schema_version": "1.2.0", "result": {"name": "acme", "releases": [
        {"name": "1", "releaseDate": "2019-01-01", "isLts": False, "isEol": True, "eolFrom": None, "latest": None},
        {"name": "2", "releaseDate": "2024-01-01", "isLts": True, "isEol": False, "eolFrom": None,
         "latest": {"name": "2.7", "date": "2026-01-02", "link": None}}]}}
    _import(admin_user, ("acme.json", json.dumps(doc).encode()))
    assert _get("acme", "1").end_of_life == TODAY.date()
    two = _get("acme", "2")
    assert (two.end_of_life, two.supported_indefinitely, two.latest, two.lts) == (None, True, "2.7", True)


def test_release_data_fills_latest_versions(admin_user):
    _import(admin_user, _file("release-data", "django.json"), _file("products", "django.md"))
    lts = _get("django", "4.2")
    assert (lts.latest, lts.latest_release_date) == ("4.2.30", dt.date(2026, 4, 7))
    # a cycle whose file gives no latest takes it from the release data
    ProductRelease.objects.filter(product="django", cycle="4.2").update(latest="", release_date=None)
    summary = _import(admin_user, _file("release-data", "django.json"))
    assert summary["django"]["versions"] == 389 - sum(
        1 for v in json.loads((DATA / "release-data" / "django.json").read_text())["versions"]
        if lifecycle.cycle_of(v, set(ProductRelease.objects.filter(product="django")
                                     .values_list("cycle", flat=True))) is None)
    lts.refresh_from_db()
    assert (lts.latest, lts.latest_release_date, lts.release_date) == (
        "4.2.30", dt.date(2026, 4, 7), dt.date(2023, 4, 3))


@pytest.mark.parametrize("name,raw,message", [
    ("x.md", b"---\nreleases: [\n---\n", "not valid YAML"),
    ("x.md", b"---\ntitle: X\n---\n", "no “releases” list"),
    ("x.md", b"no front matter", "expected an endoflife.date product file"),
    ("x.md", b"---\nreleases:\n  - releaseCycle: '1'\n    eol: 2025-13-45\n---\n", "impossible date"),
    ("x.md", b"---\nreleases:\n  - releaseCycle: '1'\n    eol: soon\n---\n", "1: eol must be a date"),
    ("x.md", b"---\nreleases:\n  - eol: 2025-01-01\n---\n", "releaseCycle is missing"),
    ("x.md", b"---\nreleases:\n  - releaseCycle: '1'\n  - releaseCycle: '1'\n---\n", "cycle 1 is listed twice"),
    ("x.md", b"---\nreleases:\n  - releaseCycle: '" + b"9" * 41 + b"'\n---\n", "longer than 40"),
    ("x.json", b'{"result": {"name": "x", "releases": [{"name": "1"}]}}', "isEol must be true or false"),
    ("x.json", b'{"result": {"name": "Not A Product!", "releases": []}}', "is not a product name"),
    ("x.json", b'{"result": 1', "not valid JSON"),
    ("x.json", b'{"other": 1}', "neither an endoflife.date API product response nor release data"),
    ("x.json", b'{"versions": {"1.0": {"name": "1.0", "date": "yesterday"}}}', "must be a date"),
    ("x.md", b"---\x00", "NUL"),
    ("x.md", b"\xff\xfe", "not UTF-8"),
])
def test_malformed_files_are_rejected_and_nothing_is_written(admin_user, name, raw, message):
    with pytest.raises(ValidationError) as exc:
        # a good file in the same batch is not written either
        _import(admin_user, _file("products", "postgresql.md"), (name, raw))
    assert message in exc.value.message_dict["file"][0] and name in exc.value.message_dict["file"][0]
    assert not ProductRelease.objects.exists()
    assert not AuditEvent.objects.filter(action="lifecycle.import").exists()


def test_only_admins_import(requester):
    with pytest.raises(PermissionDenied):
        _import(requester, _file("products", "postgresql.md"))
    assert not ProductRelease.objects.exists()


def test_shipped_data_covers_the_demo_products(admin_user):
    summary = lifecycle.load_shipped(by=admin_user)
    assert {"postgresql", "rhel", "tomcat", "ubuntu", "redis", "oracle-database", "openssl", "django", "python",
            "nodejs", "nginx"} <= set(summary)
    assert (Path(lifecycle.SHIPPED_DIR) / "LICENSE").read_text().startswith("MIT License")
    assert _get("postgresql", "13").latest == "13.23"


def test_command_imports_files_and_refuses_bad_ones(admin_user, tmp_path, capsys):
    call_command("import_lifecycle", str(DATA / "products" / "postgresql.md"), "--as", "admin")
    assert "postgresql: 29 created" in capsys.readouterr().out
    bad = tmp_path / "bad.md"
    bad.write_text("---\nreleases: 3\n---\n")
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_lifecycle", str(DATA / "products" / "ubuntu.md"), str(bad), "--as", "admin")
    assert not ProductRelease.objects.filter(product="ubuntu").exists()


# --- page and API ----------------------------------------------------------------------------------------


def _upload(name="postgresql.md"):
    return SimpleUploadedFile(name, (DATA / "products" / name).read_bytes())


@pytest.mark.parametrize("persona", PERSONAS)
def test_lifecycle_page_by_persona(client, personas, persona):
    user = personas[persona]
    if user is not None:
        client.force_login(user)
    url = reverse("inventory:lifecycle")
    get = client.get(url)
    post = client.post(url, {"files": [_upload(), _upload("ubuntu.md")]})
    if persona == "anonymous":
        assert get.status_code == 302 and post.status_code == 302 and not ProductRelease.objects.exists()
    elif persona == "admin":
        assert get.status_code == 200 and b"Import lifecycle data" in get.content
        assert post.status_code == 302 and ProductRelease.objects.count() == 29 + 44
    else:
        assert get.status_code == 200 and b"Import lifecycle data" not in get.content
        assert post.status_code == 403 and not ProductRelease.objects.exists()


def test_page_shows_a_malformed_file_on_the_field(client, admin_user):
    client.force_login(admin_user)
    bad = SimpleUploadedFile("broken.md", b"---\nreleases: [\n---\n")
    response = client.post(reverse("inventory:lifecycle"), {"files": [_upload(), bad]})
    assert response.status_code == 400 and "broken.md: the front matter is not valid YAML" in response.content.decode()
    assert not ProductRelease.objects.exists()


def test_lifecycle_list_queries_do_not_grow(client, admin_user):
    client.force_login(admin_user)
    counts = []
    for n in (3, 30):
        ProductRelease.objects.all().delete()
        ProductRelease.objects.bulk_create(
            [ProductRelease(product="acme", cycle=str(i), release_date=dt.date(2020, 1, 1)) for i in range(n)])
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("inventory:lifecycle"), {"product": "acme"}).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("persona", PERSONAS)
def test_lifecycle_api_by_persona(api, personas, persona):
    client = api(personas[persona])
    post = client.post("/api/v1/product-releases/import/", {"files": [_upload()]}, format="multipart")
    get = client.get("/api/v1/product-releases/", {"product": "postgresql"})
    if persona == "anonymous":
        assert get.status_code in (401, 403) and post.status_code in (401, 403)
    elif persona == "admin":
        assert post.status_code == 201 and post.json()["products"]["postgresql"]["created"] == 29
        assert get.status_code == 200 and get.json()["count"] == 29
        assert get.json()["results"][0]["cycle"] == "18"
    else:
        assert post.status_code == 403 and get.status_code == 200 and get.json()["count"] == 0
        assert not ProductRelease.objects.exists()


def test_api_bad_file_is_400_naming_the_field(api, admin_user):
    bad = SimpleUploadedFile("bad.json", b'{"result": {"name": "x", "releases": "no"}}')
    response = api(admin_user).post("/api/v1/product-releases/import/", {"files": [bad]}, format="multipart")
    assert response.status_code == 400 and "bad.json" in response.json()["file"][0]
    empty = api(admin_user).post("/api/v1/product-releases/import/", {}, format="multipart")
    assert empty.status_code == 400 and "files" in empty.json()
    assert not ProductRelease.objects.exists()
