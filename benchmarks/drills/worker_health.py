"""Drill: SIGKILL the Celery worker in the middle of a health-check run, start another one.

24 checks probe the session's slow HTTP server (0.2 s … 3.65 s each). When the first results are written
the worker is killed with SIGKILL; its message was never acknowledged, so Redis hands it to the restarted
worker. Found: every check has exactly one result, the results written before the kill are untouched and
only the checks without a result were probed again.
"""

import time

from .harness import wait_for

NAME = "SIGKILL worker during a health-check run"
CHECKS = 24


def run(session) -> list[dict]:
    from apps.execution import health
    from apps.execution.models import CheckResult, CheckRun
    from apps.inventory.models import Endpoint

    from . import data

    w = data.world()
    admin, implementer = w["people"]["admin"], w["people"]["implementer"]
    checks = []
    for i in range(CHECKS):
        endpoint = Endpoint.objects.create(system=w["system"], environment=w["environment"],
                                           name=f"drill-kill-{i}", kind="http",
                                           target=session.fake.url(f"/slow/{200 + 150 * i}?c={i}"))
        checks.append(health.healthcheck_save(by=admin, endpoint=endpoint, name=f"kill check {i}",
                                              timeout_seconds=6))
    paths = {c.pk: f"/slow/{200 + 150 * i}?c={i}" for i, c in enumerate(checks)}
    first = session.start_worker("health-a")
    run_ = health.checkrun_request(checks=checks, purpose="adhoc", by=implementer)
    print(f"  requested run #{run_.pk} of {CHECKS} checks (0.2-3.65 s each) on worker pid {first.pid}")
    wait_for(lambda: CheckResult.objects.filter(run=run_).count() >= 4, 90, "the first results of the run")
    session.sigkill(first)
    killed_at = time.monotonic()
    before = {r.health_check_id: (r.pk, r.checked_at, r.latency_ms)
              for r in CheckResult.objects.filter(run=run_)}
    hits_at_kill = {pk: session.fake.hits.get(path, 0) for pk, path in paths.items()}
    status_at_kill = CheckRun.objects.get(pk=run_.pk).status
    print(f"  SIGKILL worker pid {first.pid} with {len(before)}/{CHECKS} results written "
          f"(run {status_at_kill})")

    second = session.start_worker("health-b")
    print(f"  started worker pid {second.pid}")
    wait_for(lambda: CheckRun.objects.get(pk=run_.pk).status in ("done", "failed"), 120,
             "the redelivered run to finish")
    recovered = time.monotonic() - killed_at
    run_.refresh_from_db()
    results = list(CheckResult.objects.filter(run=run_))
    per_check = {}
    for r in results:
        per_check[r.health_check_id] = per_check.get(r.health_check_id, 0) + 1
    after = {r.health_check_id: (r.pk, r.checked_at, r.latency_ms) for r in results}
    untouched = all(after.get(pk) == values for pk, values in before.items())
    reprobed_done = [pk for pk in before if session.fake.hits.get(paths[pk], 0) > hits_at_kill[pk]]
    in_flight = [pk for pk in paths if pk not in before and hits_at_kill[pk] > 0]
    probes_total = sum(session.fake.hits.get(p, 0) for p in paths.values())
    session.stop_workers()

    ok = (len(results) == CHECKS and set(per_check) == set(paths) and max(per_check.values()) == 1
          and run_.status == "done" and run_.passed == CHECKS and untouched and not reprobed_done
          and status_at_kill == "running" and 0 < len(before) < CHECKS)
    found = (f"run {run_.status} after {recovered:.1f} s, attempts {run_.attempts}; {len(results)} results "
             f"for {CHECKS} checks (max {max(per_check.values(), default=0)} per check); {len(before)} "
             f"written before the kill kept as they were: {'yes' if untouched else 'NO'}; checks with a "
             f"result probed again: {len(reprobed_done)}; probes {probes_total} for {CHECKS} checks "
             f"({len(in_flight)} were in flight at the kill and were probed again)")
    print(f"  found: {found}")
    did = f"run of {CHECKS} slow checks, SIGKILL at {len(before)} results, new worker"
    return [{"drill": NAME, "did": did, "found": found, "ok": ok}]
