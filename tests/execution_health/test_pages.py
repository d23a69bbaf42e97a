"""Health-check pages: who sees what, the forms (bad input writes nothing), the run page, query counts."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.execution import estate, health
from apps.execution.models import AllowedTarget, CheckRun, HealthCheck

from ..factories import EndpointFactory
from .conftest import run_now

VIEW = {"requester": 200, "assessor": 200, "approver": 403, "implementer": 200, "validator": 200, "executive": 403,
        "auditor": 200, "admin": 200, "outsider": 200}
DEFINE = {**{k: 403 for k in VIEW}, "requester": 200, "assessor": 200, "outsider": 200, "admin": 200}
ADMIN_ONLY = {**{k: 403 for k in VIEW}, "admin": 200}


@pytest.fixture
def estate_file(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path / "estate.json"


@pytest.fixture
def one_run(http_server, allow_local, make_check, admin_user):
    check = make_check("http", http_server.url("/ok"))
    return check, run_now([check], admin_user)


def matrix(personas, login, url, expected):
    for name, user in personas.items():
        response = login(user).get(url)
        if user is None:
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], (name, url)
        else:
            assert response.status_code == expected[name], (name, url, response.status_code)


@pytest.mark.django_db
def test_persona_matrix_of_every_page(personas, login, one_run, estate_file):
    check, run = one_run
    for url, expected in [("/health/", VIEW), (f"/health/{check.pk}/", VIEW), ("/health/runs/", VIEW),
                          (f"/health/runs/{run.pk}/", VIEW), (f"/health/runs/{run.pk}/progress/", VIEW),
                          ("/health/new/", DEFINE), (f"/health/{check.pk}/edit/", DEFINE),
                          ("/health/allow-list/", ADMIN_ONLY), ("/health/estate/", ADMIN_ONLY)]:
        matrix(personas, login, url, expected)


@pytest.mark.django_db
def test_a_run_of_a_request_is_hidden_from_those_who_may_not_see_the_request(personas, login, upgrade, http_server,
                                                                              allow_local, make_check, implementer):
    check = make_check("http", http_server.url("/ok"))
    run = run_now([check], implementer, purpose="pre_check", request=upgrade)
    expected = {**VIEW, "outsider": 404}
    matrix(personas, login, f"/health/runs/{run.pk}/", expected)
    assert f"#{run.pk}" not in login(personas["outsider"]).get("/health/runs/").content.decode()
    assert f"#{run.pk}" in login(implementer).get("/health/runs/").content.decode()


@pytest.mark.django_db
def test_posting_is_refused_to_the_wrong_roles(personas, login, one_run, estate_file):
    check, _ = one_run
    runs, checks, targets = CheckRun.objects.count(), HealthCheck.objects.count(), AllowedTarget.objects.count()
    for name in ("approver", "executive", "auditor"):
        assert login(personas[name]).post("/health/runs/new/", {"checks": [check.pk]}).status_code == 403
    assert login(personas["implementer"]).post("/health/new/", {"name": "x"}).status_code == 403
    assert login(personas["requester"]).post("/health/allow-list/", {"value": "10.0.0.1"}).status_code == 403
    assert login(personas["implementer"]).post("/health/estate/", {"name": "core-ledger", "mode": "failing"}
                                               ).status_code == 403
    assert (CheckRun.objects.count(), HealthCheck.objects.count(), AllowedTarget.objects.count()) == (
        runs, checks, targets)
    assert not estate_file.exists()


@pytest.mark.django_db
def test_define_a_check_and_the_password_is_never_shown_back(login, requester, production, system_a):
    endpoint = EndpointFactory(system=system_a, environment=production, kind="sql", target="db.bank.example:5432/ledger")
    client = login(requester)
    page = client.get("/health/new/").content.decode()
    assert "SQL query" in page and "Certificate must stay valid for (days)" in page
    response = client.post("/health/new/", {"endpoint": endpoint.pk, "name": "Ledger DB answers",
                                            "timeout_seconds": "2", "tls_min_days": 14, "enabled": "on",
                                            "sql_query": "SELECT 1", "sql_username": "probe",
                                            "sql_password": "s3cret-Pa55word"})
    check = HealthCheck.objects.get(name="Ledger DB answers")
    assert response.status_code == 302 and response["Location"] == f"/health/{check.pk}/"
    assert check.sql_password_encrypted and "s3cret-Pa55word" not in check.sql_password_encrypted
    edit = client.get(f"/health/{check.pk}/edit/").content.decode()
    detail = client.get(f"/health/{check.pk}/").content.decode()
    for page in (edit, detail):
        assert "s3cret-Pa55word" not in page and check.sql_password_encrypted not in page
    assert "Set — enter a new one to replace it" in edit
    assert "set (stored encrypted, never shown)" in detail
    events = AuditEvent.objects.filter(action__startswith="healthcheck.")
    assert all("s3cret" not in json.dumps([e.before, e.after, e.data]) for e in events)
    # saving without a password keeps the stored one
    stored = check.sql_password_encrypted
    client.post(f"/health/{check.pk}/edit/", {"endpoint": endpoint.pk, "name": "Ledger DB answers (renamed)",
                                              "timeout_seconds": "2", "tls_min_days": 14, "enabled": "on",
                                              "sql_query": "SELECT 1", "sql_username": "probe", "sql_password": ""})
    check.refresh_from_db()
    assert check.name == "Ledger DB answers (renamed)" and check.sql_password_encrypted == stored
    from apps.execution import crypto

    assert crypto.decrypt(check.sql_password_encrypted) == "s3cret-Pa55word"


@pytest.mark.django_db
def test_bad_check_input_is_explained_and_nothing_is_written(login, requester, production, system_a):
    sql = EndpointFactory(system=system_a, environment=production, kind="sql", target="db:5432/x")
    http = EndpointFactory(system=system_a, environment=production, kind="http", target="http://127.0.0.1/")
    client = login(requester)
    before = (HealthCheck.objects.count(), AuditEvent.objects.count())
    cases = [
        ({"endpoint": sql.pk, "name": "q", "timeout_seconds": "2", "tls_min_days": 14, "sql_query": ""},
         "A SQL probe needs a read-only query"),
        ({"endpoint": sql.pk, "name": "q", "timeout_seconds": "2", "tls_min_days": 14,
          "sql_query": "DELETE FROM accounts"}, "Give one read-only query"),
        ({"endpoint": sql.pk, "name": "q", "timeout_seconds": "2", "tls_min_days": 14,
          "sql_query": "SELECT 1; DROP TABLE x"}, "Give one read-only query"),
        ({"endpoint": http.pk, "name": "", "timeout_seconds": "2", "tls_min_days": 14}, "This field is required"),
        ({"endpoint": http.pk, "name": "n\x00", "timeout_seconds": "2", "tls_min_days": 14}, "Null characters"),
        ({"endpoint": http.pk, "name": "n", "timeout_seconds": "500", "tls_min_days": 14}, "less than or equal to 60"),
        ({"endpoint": http.pk, "name": "n", "timeout_seconds": "2", "tls_min_days": 14, "json_expected": "ok"},
         "Name the JSON field"),
    ]
    for data, message in cases:
        response = client.post("/health/new/", data)
        assert response.status_code == 400, data
        assert message in response.content.decode(), (message, data)
        assert "Nothing was saved" in response.content.decode()
    assert (HealthCheck.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.django_db
def test_run_from_the_page_then_results_table_and_chart(login, implementer, http_server, allow_local, make_check):
    good = make_check("http", http_server.url("/ok"))
    bad = make_check("http", http_server.url("/status/500"))
    client = login(implementer)
    page = client.get("/health/").content.decode()
    assert f'value="{good.pk}"' in page and "Run the selected checks" in page and "New health check" not in page
    response = client.post("/health/runs/new/", {"checks": [good.pk, bad.pk]})
    run = CheckRun.objects.get()
    assert response["Location"] == f"/health/runs/{run.pk}/"
    queued = client.get(f"/health/runs/{run.pk}/").content.decode()
    assert "Status: Queued" in queued and 'hx-trigger="every 1s"' in queued  # the page polls while queued
    health.checkrun_execute(run.pk)
    done = client.get(f"/health/runs/{run.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' not in done
    assert "1 of 2 checks did not pass" in done and "answered HTTP 500" in done and "HTTP 200" in done
    assert "<svg" in done and "Latency per check" in done
    assert client.get("/health/").content.decode().count("✓ OK") == 1
    # nothing chosen: a clear message, no run
    response = client.post("/health/runs/new/", {}, follow=True)
    assert "Choose at least one health check to run." in response.content.decode()
    assert CheckRun.objects.count() == 1


@pytest.mark.django_db
def test_allow_list_page(login, admin_user):
    client = login(admin_user)
    page = client.get("/health/allow-list/").content.decode()
    assert "The list is empty: every probe is refused." in page
    before = (AllowedTarget.objects.count(), AuditEvent.objects.count())
    for data, message in [({"value": "not a host!"}, "Enter a host name"),
                          ({"value": "10.0.0.0/8", "ports": "99999"}, "ports run from 1 to 65535"),
                          ({"value": "10.0.0.0/8", "ports": "http"}, "is not a port or a range")]:
        response = client.post("/health/allow-list/", data)
        assert response.status_code == 400 and message in response.content.decode()
    assert (AllowedTarget.objects.count(), AuditEvent.objects.count()) == before
    client.post("/health/allow-list/", {"value": "10.20.0.0/16", "ports": "443, 8000-8100", "note": "payments"})
    target = AllowedTarget.objects.get()
    assert (target.value, target.ports) == ("10.20.0.0/16", "443,8000-8100")
    assert AuditEvent.objects.filter(action="allowlist.add").exists()
    client.post(f"/health/allow-list/{target.pk}/remove/")
    assert not AllowedTarget.objects.exists() and AuditEvent.objects.filter(action="allowlist.remove").exists()


@pytest.mark.django_db
def test_estate_page_changes_the_shared_state(login, admin_user, estate_file, monkeypatch, tcp_listener):
    client = login(admin_user)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        monkeypatch.setattr(estate, "HTTP_PORT", s.getsockname()[1])  # a port nothing listens on
    page = client.get("/health/estate/").content.decode()
    assert "Core Ledger health" in page and "estate set payments-hub failing" in page
    assert "Nothing answers on port" in page and "manage.py estate serve" in page
    monkeypatch.setattr(estate, "HTTP_PORT", tcp_listener.port)  # something answers
    assert "The estate answers on port" in client.get("/health/estate/").content.decode()
    response = client.post("/health/estate/", {"name": "payments-hub", "mode": "failing"})
    assert response.status_code == 302
    assert json.loads(estate_file.read_text()) == {"payments-hub": "failing"}
    assert AuditEvent.objects.filter(action="estate.set", object_id="payments-hub").exists()
    response = client.post("/health/estate/", {"name": "payments-hub", "mode": "exploding"})
    assert response.status_code == 400 and json.loads(estate_file.read_text()) == {"payments-hub": "failing"}


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


@pytest.mark.django_db
def test_list_pages_query_counts_do_not_grow(login, implementer, http_server, allow_local, make_check, upgrade):
    client = login(implementer)

    def grow(n):
        checks = [make_check("http", http_server.url("/ok")) for _ in range(n)]
        run = run_now(checks, implementer, purpose="pre_check", request=upgrade)
        for _ in range(n // 5):
            run_now(checks[:1], implementer)
        return run

    small = grow(5)
    counts_small = [_count(client, u) for u in ("/health/", "/health/runs/", f"/health/runs/{small.pk}/",
                                                 f"/health/runs/{small.pk}/progress/")]
    large = grow(45)
    counts_large = [_count(client, u) for u in ("/health/", "/health/runs/", f"/health/runs/{large.pk}/",
                                                 f"/health/runs/{large.pk}/progress/")]
    assert counts_small == counts_large
