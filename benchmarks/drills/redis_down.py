"""Drill: stop Redis for a minute while signed-in users keep requesting health-check runs over HTTP.

Four implementers use gunicorn in a loop (request a run, open its page, open the run list, think 1 s).
Redis is stopped for DRILL_REDIS_DOWN_SECONDS (default 60) and started again; the Celery worker (with the
beat's periodic outbox dispatcher) carries on. Found: the web kept answering (no 5xx, no hanging page),
every run requested during the outage was recorded as queued, and after Redis returned every one was
sent and finished with its one result; none lost.
"""

import os
import re
import threading
import time

from .harness import wait_for
from .web import Browser, timed

NAME = "Redis stopped while users request runs"
USERS = 4
THINK = 1.0


def down_seconds() -> int:
    return int(os.environ.get("DRILL_REDIS_DOWN_SECONDS", "60"))


def run(session) -> list[dict]:
    from apps.execution import health
    from apps.execution.models import CheckResult, CheckRun
    from apps.inventory.models import Endpoint

    from . import data

    w = data.world()
    endpoint = Endpoint.objects.create(system=w["system"], environment=w["environment"], name="drill-redis",
                                       kind="http", target=session.fake.url("/slow/20?redis"))
    check = health.healthcheck_save(by=w["people"]["admin"], endpoint=endpoint, name="redis drill check",
                                    timeout_seconds=5)
    names = [data.user(f"drill-impl{n}", ["implementer"]).username for n in range(1, USERS + 1)]
    base = session.start_web()
    session.start_worker("redis", "--beat")
    browsers = [Browser(base, name).login() for name in names]
    seconds = down_seconds()
    lock = threading.Lock()
    stats = {"pages": 0, "5xx": 0, "other": 0, "errors": [], "slowest": 0.0, "runs": [], "not_queued": 0,
             "statuses": {}}

    def act(browser: Browser, stop_at: float, during: bool):
        while time.monotonic() < stop_at:
            response, took = timed(browser.post, "/health/runs/new/", {"checks": str(check.pk)})
            steps = [(response, took)]
            if not isinstance(response, Exception) and response.status_code == 302:
                match = re.fullmatch(r"/health/runs/(\d+)/", response.headers["Location"])
                if match:
                    page, took = timed(browser.get, match.group(0))
                    steps.append((page, took))
                    with lock:
                        stats["runs"].append(int(match.group(1)))
                        if during and not (not isinstance(page, Exception) and "Queued" in page.text):
                            stats["not_queued"] += 1
            steps.append(timed(browser.get, "/health/runs/"))
            with lock:
                for result, took in steps:
                    stats["pages"] += 1
                    stats["slowest"] = max(stats["slowest"], took)
                    if isinstance(result, Exception):
                        stats["errors"].append(f"{type(result).__name__}: {result}"[:120])
                        continue
                    stats["statuses"][result.status_code] = stats["statuses"].get(result.status_code, 0) + 1
                    if result.status_code >= 500:
                        stats["5xx"] += 1
                    elif result.status_code not in (200, 302):
                        stats["other"] += 1
            time.sleep(THINK)

    def phase(duration: float, during: bool):
        stop_at = time.monotonic() + duration
        threads = [threading.Thread(target=act, args=(b, stop_at, during)) for b in browsers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    phase(5, False)
    before = len(stats["runs"])
    session.redis.stop()
    print(f"  Redis stopped; {USERS} users keep requesting runs for {seconds} s")
    down_from = len(stats["runs"])
    phase(seconds, True)
    during = stats["runs"][down_from:]
    undispatched = CheckRun.objects.filter(pk__in=during, dispatched_at__isnull=True, status="queued").count()
    session.redis.start()
    back_at = time.monotonic()
    print(f"  Redis started again; {len(during)} runs were requested while it was down "
          f"({undispatched} waiting in the outbox)")
    phase(3, False)  # the next requests also send what was left behind
    all_runs = stats["runs"]

    def finished():
        ended = CheckRun.objects.filter(pk__in=all_runs, status__in=("done", "failed"))
        return ended.count() == len(all_runs)

    try:
        wait_for(finished, 180, "every run to finish", interval=0.5)
    except TimeoutError:
        pass
    drained = time.monotonic() - back_at
    for b in browsers:
        b.close()
    session.stop_workers()

    runs = CheckRun.objects.filter(pk__in=all_runs)
    done = runs.filter(status="done").count()
    lost = len(all_runs) - runs.filter(status__in=("done", "failed")).count()
    results = CheckResult.objects.filter(run__in=all_runs).count()
    ok = (stats["5xx"] == 0 and not stats["errors"] and stats["other"] == 0 and len(during) > 0
          and stats["not_queued"] == 0 and undispatched == len(during) and lost == 0 and done == len(all_runs)
          and results == len(all_runs) and stats["slowest"] < 15)  # no page hangs on the missing broker
    codes = ", ".join(f"{k}: {v}" for k, v in sorted(stats["statuses"].items()))
    found = (f"{stats['pages']} pages ({codes}), 5xx {stats['5xx']}, connection errors "
             f"{len(stats['errors'])}, slowest {stats['slowest']:.1f} s; {len(during)} runs requested while "
             f"Redis was down, all shown 'Queued': {'yes' if not stats['not_queued'] else 'NO'}; after it "
             f"returned {done}/{len(all_runs)} "
             f"runs done in {drained:.0f} s, lost {lost}, results {results} (one per run)")
    if stats["errors"]:
        found += f"; first error: {stats['errors'][0]}"
    print(f"  found: {found}")
    return [{"drill": NAME, "did": f"{USERS} users over HTTP, Redis down {seconds} s ({before} runs before)",
             "found": found, "ok": ok}]
