"""The demo estate: fake services whose behaviour an admin changes; the seed hook; the outbox and idempotency."""

import asyncio
import datetime as dt
import json
import threading

import pytest
from django.core.management import CommandError, call_command

from apps.audit.models import AuditEvent
from apps.execution import estate, health
from apps.execution.models import AllowedTarget, CheckResult, CheckRun, HealthCheck
from apps.inventory.models import Endpoint

from .conftest import run_now


@pytest.fixture
def own_estate(tmp_path, settings):
    """An estate on free ports with its state file in a temporary var folder."""
    settings.VAR_DIR = tmp_path
    server = estate.Estate(http_port=0, tcp_port=0, path=tmp_path / "estate.json", slow_seconds=0.4)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(5)
    yield server
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


@pytest.mark.django_db
def test_an_admin_makes_services_slow_or_failing_and_checks_see_it(own_estate, allow_local, make_check, admin_user,
                                                                   implementer, tmp_path):
    http = make_check("http", f"http://127.0.0.1:{own_estate.http_port}/payments-hub/healthz", expect_status=200,
                      json_path="status", json_expected="ok", max_latency_ms=300)
    tcp = make_check("tcp", f"127.0.0.1:{own_estate.tcp_port}")
    path = tmp_path / "estate.json"

    def statuses():
        run = run_now([http, tcp], implementer)
        return {r.health_check_id: r.status for r in CheckResult.objects.filter(run=run)}

    assert statuses() == {http.pk: "ok", tcp.pk: "ok"}
    estate.estate_set(name="payments-hub", mode="failing", by=admin_user, path=path)
    estate.estate_set(name=estate.TCP_SERVICE, mode="failing", by=admin_user, path=path)
    import time

    time.sleep(0.8)  # the listener follows its state within a few tenths of a second
    assert statuses() == {http.pk: "fail", tcp.pk: "error"}
    estate.estate_set(name="payments-hub", mode="slow", by=admin_user, path=path)
    estate.estate_set(name=estate.TCP_SERVICE, mode="ok", by=admin_user, path=path)
    time.sleep(0.8)
    assert statuses() == {http.pk: "fail", tcp.pk: "ok"}  # slow: over its 300 ms latency limit
    assert json.loads(path.read_text()) == {"ledger-db": "ok", "payments-hub": "slow"}
    assert AuditEvent.objects.filter(action="estate.set").count() == 4


@pytest.mark.django_db
def test_the_estate_command(settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    call_command("estate", "set", "card-switch", "failing")
    assert json.loads((tmp_path / "estate.json").read_text()) == {"card-switch": "failing"}
    call_command("estate", "status")
    out = capsys.readouterr().out
    assert "card-switch      failing" in out and "payments-hub     ok" in out
    with pytest.raises(CommandError):
        call_command("estate", "set", "card-switch", "exploding")
    with pytest.raises(CommandError):
        call_command("estate", "set", "bad name!", "ok")
    assert json.loads((tmp_path / "estate.json").read_text()) == {"card-switch": "failing"}


@pytest.mark.django_db
def test_seed_hook_gives_the_request_checks_on_the_estate(upgrade, requester, personas, system_a):
    from apps.core.seed.build import _before

    assert estate.seed_before_schedule in _before["schedule"]
    estate.seed_before_schedule(request=upgrade, by=requester, users=personas)
    estate.seed_before_schedule(request=upgrade, by=requester, users=personas)  # idempotent
    endpoints = Endpoint.objects.filter(system=system_a, target__contains="127.0.0.1:")
    # every system answers on the HTTP estate; the ledger also has its database port (TCP)
    assert sorted(endpoints.values_list("kind", flat=True)) == ["http", "tcp"]
    checks = health.checks_for([system_a])
    assert sorted(c.endpoint_id for c in checks) == sorted(e.pk for e in endpoints)
    assert AllowedTarget.objects.filter(value="127.0.0.1").count() == 1
    assert estate.listening(estate.HTTP_PORT)  # the hook made sure something answers
    # before the start: a baseline of those checks (5 probes each), once
    assert health.seed_before_start in _before["start"]
    health.seed_before_start(request=upgrade, by=requester, users=personas)
    health.seed_before_start(request=upgrade, by=requester, users=personas)
    from apps.execution.models import Baseline

    baselines = Baseline.objects.filter(request=upgrade)
    assert sorted(b.health_check_id for b in baselines) == sorted(c.pk for c in checks)
    assert all(b.samples == health.BASELINE_SAMPLES for b in baselines)


@pytest.mark.django_db
def test_execute_is_idempotent_and_resumes_only_missing_results(http_server, allow_local, make_check, implementer):
    checks = [make_check("http", http_server.url("/ok")) for _ in range(4)]
    run = health.checkrun_request(checks=checks, purpose="adhoc", by=implementer)
    # a worker took it up, wrote two results, and died
    assert CheckRun.objects.filter(pk=run.pk, status="queued").update(status="running", attempts=1) == 1
    CheckResult.objects.bulk_create([CheckResult(run=run, health_check=c, status="ok", latency_ms=1.0, detail="first",
                                                 checked_at=run.requested_at) for c in checks[:2]])
    run = health.checkrun_execute(run.pk)  # the redelivered message
    assert (run.status, run.passed, run.attempts) == ("done", 4, 2)
    assert http_server.connections == 2  # only the two missing checks were probed
    assert CheckResult.objects.filter(run=run, detail="first").count() == 2
    again = health.checkrun_execute(run.pk)  # one more redelivery: nothing happens
    assert again.status == "done" and CheckResult.objects.filter(run=run).count() == 4
    assert http_server.connections == 2


@pytest.mark.django_db
def test_request_refusals(make_check, http_server, allow_local, personas):
    check = make_check("http", http_server.url("/ok"))
    from django.core.exceptions import PermissionDenied, ValidationError

    for name in ("approver", "executive", "auditor"):
        with pytest.raises(PermissionDenied):
            health.checkrun_request(checks=[check], purpose="adhoc", by=personas[name])
    assert AuditEvent.objects.filter(action="health.denied").count() == 3
    with pytest.raises(ValidationError):
        health.checkrun_request(checks=[], purpose="adhoc", by=personas["implementer"])
    with pytest.raises(ValidationError):
        health.checkrun_request(checks=[check], purpose="nonsense", by=personas["implementer"])
    assert not CheckRun.objects.exists() and HealthCheck.objects.count() == 1


@pytest.mark.django_db
def test_the_run_is_dispatched_only_after_commit(django_capture_on_commit_callbacks, make_check, http_server,
                                                 allow_local, implementer):
    check = make_check("http", http_server.url("/ok"))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = health.checkrun_request(checks=[check], purpose="adhoc", by=implementer)
    run.refresh_from_db()
    assert len(callbacks) == 1 and run.dispatched_at is None and run.status == "queued"  # not before the commit
    callbacks[0]()  # the commit: handed to the (embedded or Redis) broker
    run.refresh_from_db()
    assert run.dispatched_at is not None


@pytest.mark.django_db
def test_a_run_sent_long_ago_and_still_queued_is_sent_again(make_check, http_server, allow_local, implementer):
    """A broker that restarted without persistence lost the message: the dispatcher sends the run again
    (the worker's claim makes a duplicate harmless); a run sent a minute ago is left alone."""
    from apps.core import clock

    check = make_check("http", http_server.url("/ok"))
    lost = health.checkrun_request(checks=[check], purpose="adhoc", by=implementer)
    recent = health.checkrun_request(checks=[check], purpose="adhoc", by=implementer)
    long_ago = clock.now() - health.RESEND_AFTER - dt.timedelta(minutes=1)
    CheckRun.objects.filter(pk=lost.pk).update(dispatched_at=long_ago, status="queued")
    CheckRun.objects.filter(pk=recent.pk).update(dispatched_at=clock.now() - dt.timedelta(minutes=1),
                                                 status="queued")
    assert health.checkruns_dispatch_pending() == 1
    lost.refresh_from_db()
    assert lost.dispatched_at > long_ago
    assert health.checkruns_dispatch_pending() == 0  # sent again now: not every minute
