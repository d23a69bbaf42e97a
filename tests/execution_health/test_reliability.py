"""Worker faults with a real Redis and a real worker process, both started by the test.

A worker killed with SIGKILL in the middle of a run: after it restarts every result exists exactly once
and the ones written before the kill are not probed again. Redis down when a run is requested: the run
stays queued (the page says so) and is sent when Redis is back, by the periodic dispatcher or by the
next request.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from apps.execution import health
from apps.execution.models import CheckResult, CheckRun
from benchmarks.drills.harness import REDIS_PORTS, Ports, Redis, wait_for

from ..conftest import _missing

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("transactional_db")]


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own (the drills' harness: a free port of the drills' range, claimed with a
    lock file so parallel test processes and drill sessions never share one); the shared Redis is never touched."""
    if not shutil.which("redis-server"):
        _missing("needs the redis-server program to start a Redis of its own")
    ports = Ports()
    redis = Redis(ports.take(REDIS_PORTS), tmp_path / "redis")
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()
        ports.release()


@pytest.fixture
def own_broker(own_redis):
    """Point this process's Celery app at our Redis."""
    from config.celery import app

    saved = app.conf.broker_url, app.conf.broker_write_url
    app.conf.broker_url = app.conf.broker_write_url = own_redis.url
    app._pool = None
    app.amqp._producer_pool = None
    yield own_redis
    app.conf.broker_url, app.conf.broker_write_url = saved
    app._pool = None
    app.amqp._producer_pool = None


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Workers:
    def __init__(self, redis_url: str):
        self.redis_url = redis_url
        self.procs = []

    def start(self):
        env = {**os.environ, "REDIS_URL": self.redis_url, "DATABASE_URL": _database_url(), "TOLLGATE_VAR_DIR": str(settings.VAR_DIR),
               "CELERY_TASK_ALWAYS_EAGER": "false", "DJANGO_SETTINGS_MODULE": "config.settings"}
        proc = subprocess.Popen([sys.executable, "-m", "tests.execution_health.worker"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()  # our own idle test workers (their Redis goes away with them)
                proc.wait(10)


@pytest.fixture
def workers(own_broker):
    w = Workers(own_broker.url)
    yield w
    w.stop_all()


def test_sigkill_mid_run_leaves_every_result_exactly_once(own_broker, workers, http_server, allow_local, make_check,
                                                          implementer):
    count = 24
    checks = [make_check("http", http_server.url(f"/slow/{200 + 150 * i}"), timeout_seconds=6) for i in range(count)]  # 0.2 s … 3.65 s
    first = workers.start()
    run = health.checkrun_request(checks=checks, purpose="adhoc", by=implementer)
    assert CheckRun.objects.get(pk=run.pk).dispatched_at is not None

    written = wait_for(lambda: (n := CheckResult.objects.filter(run=run).count()) >= 4 and n, 40,
                       "the first results of the run")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    connections_at_kill = http_server.connections
    before = {r.health_check_id: (r.pk, r.checked_at, r.latency_ms) for r in CheckResult.objects.filter(run=run)}
    assert written <= len(before) < count, "kill the worker in the middle of the run"
    assert CheckRun.objects.get(pk=run.pk).status == "running"

    workers.start()  # the message was never acknowledged: Redis gives it to the restarted worker
    wait_for(lambda: CheckRun.objects.get(pk=run.pk).status in ("done", "failed"), 60, "the redelivered run to finish")

    run.refresh_from_db()
    results = list(CheckResult.objects.filter(run=run))
    assert len(results) == count and len({r.health_check_id for r in results}) == count
    assert (run.status, run.passed, run.failed, run.attempts) == ("done", count, 0, 2)
    after = {r.health_check_id: (r.pk, r.checked_at, r.latency_ms) for r in results}
    assert all(after[pk] == values for pk, values in before.items())  # untouched by the second delivery
    # only the checks without a result were probed again
    assert http_server.connections - connections_at_kill == count - len(before)


def test_redis_down_at_request_stays_queued_and_is_sent_when_it_returns(own_broker, workers, http_server, allow_local,
                                                                       make_check, implementer, login):
    check = make_check("http", http_server.url("/ok"))
    own_broker.stop()
    started = time.monotonic()
    early = health.checkrun_request(checks=[check], purpose="adhoc", by=implementer)
    waiting = health.checkrun_request(checks=[check], purpose="adhoc", by=implementer)
    assert time.monotonic() - started < 5  # the request does not hang on the missing broker
    for run in (early, waiting):
        run.refresh_from_db()
        assert run.status == "queued" and run.dispatched_at is None
    page = login(implementer).get(f"/health/runs/{early.pk}/").content.decode()
    assert "Queued" in page and "message queue is unreachable" in page

    own_broker.start()
    workers.start()
    # the beat's periodic dispatcher sends what was left behind
    from apps.execution.tasks_health import checkruns_dispatch_pending_task

    assert checkruns_dispatch_pending_task() == 2
    wait_for(lambda: all(CheckRun.objects.get(pk=r.pk).status == "done" for r in (early, waiting)), 30,
             "both runs to be done")

    # and the next request sends one left behind as well
    own_broker.stop()
    left = health.checkrun_request(checks=[check], purpose="adhoc", by=implementer)
    own_broker.start()
    nxt = health.checkrun_request(checks=[check], purpose="adhoc", by=implementer)
    wait_for(lambda: all(CheckRun.objects.get(pk=r.pk).status == "done" for r in (left, nxt)), 40,
             "the left-behind run and the next one to be done")
    assert CheckResult.objects.filter(run__in=[early, waiting, left, nxt]).count() == 4
