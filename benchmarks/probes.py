"""Health-check fan-out: one run of 500 HTTP probes against 127.0.0.1, 50 of them slow (2 s).

One asyncio HTTP server (the demo estate's) answers every path, the `slow-*` ones after 2 s. The run goes
through the same service a worker calls (`apps.execution.health.checkrun_execute`): claim, probe all
concurrently, write each result once. Reported: the wall time of the run, the slowest probe, their ratio
(close to 1 means the run takes as long as its slowest probe, not the sum), and the serial sum.
"""

import asyncio
import resource
import threading
import time

from benchmarks import django_db

PROBES = 500
SLOW = 50
SLOW_SECONDS = 2.0


def _serve():
    from apps.execution.estate import Estate

    estate = Estate(http_port=0, tcp_port=None, mode_of=lambda name: "slow" if name.startswith("slow") else "ok",
                    slow_seconds=SLOW_SECONDS)
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    asyncio.run_coroutine_threadsafe(estate.start(), loop).result(10)
    return estate


def measure_fanout() -> list[dict]:
    from django.contrib.auth.models import Group
    from django.db import connection

    from apps.accounts.models import Team, User
    from apps.core import clock
    from apps.execution import health
    from apps.execution.models import CheckResult, HealthCheck
    from apps.inventory.models import Endpoint, Environment, System

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:  # 500 client and 500 server sockets in one process
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    server = _serve()
    admin = User.objects.create(username="bench-probes-admin")
    admin.groups.add(Group.objects.get_or_create(name="admin")[0])
    team = Team.objects.create(name="Bench probes team", slug="bench-probes-team")
    env = Environment.objects.get_or_create(slug="bench-probes-env", defaults={"name": "Bench", "kind": "production"})[0]
    system = System.objects.create(name="Bench probes system", slug="bench-probes", owner_team=team, region="eu")
    health.allowlist_add(value="127.0.0.1", ports=str(server.http_port), by=admin)
    now = clock.now()
    endpoints = Endpoint.objects.bulk_create([
        Endpoint(system=system, environment=env, name=f"ep-{i}", kind="http",
                 target=f"http://127.0.0.1:{server.http_port}/{'slow' if i < SLOW else 'ep'}-{i}/healthz")
        for i in range(PROBES)])
    checks = HealthCheck.objects.bulk_create([
        HealthCheck(endpoint=e, name=e.name, expect_status=200, timeout_seconds=10, created_at=now)
        for e in endpoints])
    run = health.checkrun_request(checks=checks, purpose="adhoc", by=admin)
    started = time.perf_counter()
    run = health.checkrun_execute(run.pk)
    wall = time.perf_counter() - started
    latencies = list(CheckResult.objects.filter(run=run).values_list("latency_ms", flat=True))
    slowest = max(latencies) / 1000
    return [{
        "name": "health-check run, HTTP probes on 127.0.0.1",
        "n": f"{PROBES} probes, {SLOW} slow ({SLOW_SECONDS:g} s)",
        "median ms": round(wall * 1000),
        "wall s": round(wall, 2),
        "slowest probe s": round(slowest, 2),
        "wall / slowest": round(wall / slowest, 2),
        "serial sum s": round(sum(latencies) / 1000, 1),
        "results": f"{len(latencies)} ({run.passed} passed)",
        "database": connection.vendor,
    }]


def run() -> list[dict]:
    django_db()
    return measure_fanout()
