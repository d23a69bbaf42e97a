"""Probes against real servers on 127.0.0.1: HTTP, TCP, TLS, SQL; the allow-list; concurrency."""

import time

import pytest
from django.db import connection

from apps.execution import health
from apps.execution.models import CheckResult

from .conftest import run_now


def results(run):
    return {r.health_check_id: r for r in CheckResult.objects.filter(run=run)}


@pytest.mark.django_db
def test_http_status_body_json_and_latency(http_server, allow_local, make_check, implementer):
    ok = make_check("http", http_server.url("/ok"), expect_status=200, body_contains='"ok"')
    failing = make_check("http", http_server.url("/status/503"))
    json_ok = make_check("http", http_server.url("/json"), json_path="version", json_expected="16.4")
    json_bad = make_check("http", http_server.url("/json"), json_path="checks.db.state", json_expected="up")
    slow = make_check("http", http_server.url("/slow/300"), max_latency_ms=100)
    body_bad = make_check("http", http_server.url("/ok"), body_contains="healthy")
    run = run_now([ok, failing, json_ok, json_bad, slow, body_bad], implementer)
    got = results(run)
    assert got[ok.pk].status == "ok" and got[ok.pk].detail == "HTTP 200" and got[ok.pk].latency_ms > 0
    assert got[failing.pk].status == "fail" and "HTTP 503" in got[failing.pk].detail
    assert got[json_ok.pk].status == "ok"
    assert got[json_bad.pk].status == "fail" and "checks.db.state is “degraded”, expected “up”" in got[json_bad.pk].detail
    assert got[slow.pk].status == "fail" and "over the limit of 100 ms" in got[slow.pk].detail
    assert got[slow.pk].latency_ms >= 300
    assert got[body_bad.pk].status == "fail" and "does not contain “healthy”" in got[body_bad.pk].detail
    assert (run.status, run.total, run.passed, run.failed) == ("done", 6, 2, 4)
    assert all(r.checked_at is not None for r in got.values())


@pytest.mark.django_db
def test_timeout_and_unreachable_are_errors(http_server, allow_local, make_check, implementer):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    too_slow = make_check("http", http_server.url("/slow/3000"), timeout_seconds=0.3)
    closed = make_check("tcp", f"127.0.0.1:{closed_port}")
    got = results(run_now([too_slow, closed], implementer))
    assert got[too_slow.pk].status == "error" and "no answer within 0.3 s" in got[too_slow.pk].detail
    assert got[closed.pk].status == "error" and "could not reach it" in got[closed.pk].detail


@pytest.mark.django_db
def test_tcp_connect(tcp_listener, allow_local, make_check, implementer):
    check = make_check("tcp", f"127.0.0.1:{tcp_listener.port}")
    got = results(run_now([check], implementer))
    assert got[check.pk].status == "ok" and tcp_listener.accepted == 1


@pytest.mark.django_db
def test_tls_certificate_expiry(tls_server, allow_local, make_check, implementer):
    fresh = make_check("tls", f"127.0.0.1:{tls_server(90)}", tls_min_days=14)
    expiring = make_check("tls", f"127.0.0.1:{tls_server(3)}", tls_min_days=14)
    got = results(run_now([fresh, expiring], implementer))
    assert got[fresh.pk].status == "ok" and "valid until" in got[fresh.pk].detail
    assert got[expiring.pk].status == "fail"
    assert "in 2 days (minimum 14)" in got[expiring.pk].detail or "in 3 days (minimum 14)" in got[expiring.pk].detail


@pytest.mark.django_db
def test_off_the_allow_list_is_refused_and_never_connected_to(tcp_listener, http_server, admin_user, make_check,
                                                             implementer):
    # only a port range that excludes the servers, and only the IPv4 loopback
    health.allowlist_add(value="127.0.0.0/8", ports="1-10", by=admin_user)
    tcp = make_check("tcp", f"127.0.0.1:{tcp_listener.port}")
    http = make_check("http", http_server.url("/ok"))
    got = results(run_now([tcp, http], implementer))
    assert got[tcp.pk].status == "refused" and "not on the allow-list" in got[tcp.pk].detail
    assert got[http.pk].status == "refused"
    assert tcp_listener.accepted == 0 and http_server.connections == 0


@pytest.mark.django_db
def test_every_resolved_address_must_be_allowed(tcp_listener, admin_user, make_check, implementer):
    # "localhost" resolves to 127.0.0.1 and (usually) ::1: with only 127.0.0.1 listed it is refused when
    # any address it resolves to is off the list; a host-name entry allows exactly that name
    import socket

    addresses = {info[4][0] for info in socket.getaddrinfo("localhost", tcp_listener.port, type=socket.SOCK_STREAM)}
    health.allowlist_add(value="127.0.0.1", by=admin_user)
    check = make_check("tcp", f"localhost:{tcp_listener.port}")
    got = results(run_now([check], implementer))
    if addresses - {"127.0.0.1"}:
        assert got[check.pk].status == "refused" and "::1" in got[check.pk].detail
        assert tcp_listener.accepted == 0
    else:
        assert got[check.pk].status == "ok"


@pytest.mark.django_db
def test_empty_allow_list_refuses_everything(tcp_listener, make_check, implementer):
    check = make_check("tcp", f"127.0.0.1:{tcp_listener.port}")
    got = results(run_now([check], implementer))
    assert got[check.pk].status == "refused" and "allow-list is empty" in got[check.pk].detail
    assert tcp_listener.accepted == 0


@pytest.mark.django_db
def test_many_slow_endpoints_finish_near_the_slowest(http_server, allow_local, make_check, implementer):
    checks = [make_check("http", http_server.url("/slow/500")) for _ in range(40)]
    started = time.perf_counter()
    run = run_now(checks, implementer)
    elapsed = time.perf_counter() - started
    assert run.passed == 40
    assert elapsed < 0.4 * 40 * 0.5, f"{elapsed:.1f} s for 40 probes of 0.5 s: not concurrent"


@pytest.mark.postgres
@pytest.mark.django_db
def test_sql_probe_runs_read_only_with_encrypted_credentials(admin_user, make_check, implementer):
    params = connection.get_connection_params()
    host, port = params.get("host") or "127.0.0.1", params.get("port") or 5432
    dbname = connection.settings_dict["NAME"]
    health.allowlist_add(value=host, by=admin_user)
    target = f"{host}:{port}/{dbname}"
    user, password = connection.settings_dict["USER"], connection.settings_dict["PASSWORD"]
    good = make_check("sql", target, sql_query="SELECT 41 + 1", sql_username=user, sql_password=password)
    write = make_check("sql", target, sql_query="SELECT 1", sql_username=user, sql_password=password)
    # the form refuses a writing statement; a function that writes is stopped by the read-only transaction
    write.sql_query = "SELECT setval(pg_get_serial_sequence('execution_healthcheck', 'id'), 1)"
    write.save()
    slow = make_check("sql", target, sql_query="SELECT pg_sleep(3)", sql_username=user, sql_password=password,
                      timeout_seconds=0.5)
    wrong = make_check("sql", target, sql_query="SELECT 1", sql_username="no_such_role", sql_password="x")
    assert password not in good.sql_password_encrypted and good.sql_password_encrypted
    got = results(run_now([good, write, slow, wrong], implementer))
    assert got[good.pk].status == "ok" and got[good.pk].detail == "answered 42"
    assert got[write.pk].status == "error" and "read-only transaction" in got[write.pk].detail
    assert got[slow.pk].status == "error"
    assert got[wrong.pk].status == "error" and "could not reach it" in got[wrong.pk].detail
