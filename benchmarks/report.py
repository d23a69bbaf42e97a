"""The 12-month KPI report of a large organisation: about 33,000 requests a year over three years (the
issue's 100,000), so the 12 months before the report's period — which the report compares with — are as full
as the period itself.

The organisation is bulk-generated (bulk_create, not the services): 30 teams, 600 systems, 99,000 requests
(about 85 % ended: completed, rolled back or failed), their items, plans with outage steps and wave windows,
execution runs with their step log, incidents, hotfixes, rollback trigger firings and freeze refusals in
proportion; then the facts of every ended upgrade are counted once (apps.reporting.facts: what the migration
does on an existing database). Then the whole report task (counting, charts, WeasyPrint, CSV, storing with
SHA-256) is timed for an executive (sees everything) and for a change manager of one team (the visibility rule
applies), after 1 % of the upgrades changed, and counted from the rows as before the facts, and WeasyPrint
alone on the same HTML, with the ratio; and the KPI dashboard's server time in-process for a
superuser, the executive and the change manager, counted (nothing cached) and cached. REPORT_BENCH_SYNCDB=1
creates the tables from models.py instead of the migrations.
"""

import datetime as dt
import gc
import hashlib
import os
import random
import resource
import statistics
import time

YEARS, PER_YEAR, TEAMS, SYSTEMS = 3, 33_000, 30, 600
REQUESTS = YEARS * PER_YEAR


def _rss_reset() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux), so the next peak is the task's own."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _rss_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _rss_peak_mb(reset_ok: bool) -> float:
    if reset_ok:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


OUTCOMES = (["completed", "rolled_back", "failed"], [88, 7, 5])
OPEN_STATES = ["draft", "assessing", "planning", "cab_review", "approved", "scheduled"]
RISKS = (["standard", "normal", "emergency"], [30, 62, 8])
SEVERITIES = (["P1", "P2", "P3", "P4"], [5, 15, 40, 40])
HOUR = dt.timedelta(hours=1)


def _request(rng, i, manager, start, now):
    from apps.upgrades.models import UpgradeRequest

    created = start + dt.timedelta(seconds=rng.randrange(int((now - start).total_seconds()) - 86400))
    ended = rng.random() < 0.85
    finished = created + rng.randrange(6, 24 * 40) * HOUR if ended else None
    if finished and finished >= now:
        finished, ended = None, False
    outcome = rng.choices(*OUTCOMES)[0] if ended else ""
    submitted = created + rng.randrange(1, 48) * HOUR if ended or rng.random() < .5 else None
    decided = submitted + rng.randrange(1, 96) * HOUR if submitted and ended else None
    window_start = window_end = None
    if finished and rng.random() < .9:  # most end inside their window, some an hour after it
        window_start = finished - 2 * HOUR
        window_end = max(finished + rng.choice([-1, 1, 1, 2]) * HOUR, window_start + HOUR / 2)
    return UpgradeRequest(
        reference=f"UPG-B-{i:06d}", title=f"Benchmark upgrade {i}", requester=manager,
        risk_class=rng.choices(*RISKS)[0], state=outcome or rng.choice(OPEN_STATES),
        created_at=created, updated_at=finished or created, state_changed_at=finished or created,
        submitted_at=submitted, decided_at=decided, started_at=finished - HOUR if finished else None,
        finished_at=finished, outcome=outcome, window_start=window_start, window_end=window_end)


def _hotfix(n, r, manager, now):
    from apps.upgrades.models import UpgradeRequest

    fixed = min(r.finished_at + dt.timedelta(days=3), now - dt.timedelta(minutes=1))
    return UpgradeRequest(
        reference=f"UPG-H-{n:06d}", title=f"Hotfix of {r.reference}", requester=manager,
        risk_class="emergency", state="completed", outcome="completed",
        created_at=r.finished_at + dt.timedelta(days=2), updated_at=fixed, state_changed_at=fixed,
        finished_at=fixed, fix_of=r)


def _events(rng, runs, ended, steps, manager):
    from apps.execution.models import StepEvent

    events = []
    for n, (run, r) in enumerate(zip(runs, ended, strict=True)):
        t = r.started_at
        for step in steps[2 * n:2 * n + 2]:
            retry = rng.random() < .03  # the step fails once and is run again
            events.append(StepEvent(run=run, step=step, kind="started", operator=manager, at=t))
            t += dt.timedelta(minutes=rng.randrange(5, 25))
            events.append(StepEvent(run=run, step=step, kind="finished", operator=manager, at=t,
                                    outcome="failed" if retry else "done"))
            if retry:
                events.append(StepEvent(run=run, step=step, kind="started", operator=manager, at=t))
                t += dt.timedelta(minutes=5)
                events.append(StepEvent(run=run, step=step, kind="finished", outcome="done",
                                        operator=manager, at=t))
    return events


def _refusals(rng, requests, manager):
    from apps.audit.models import AuditEvent

    refusals = []
    for n, r in enumerate(rng.sample(requests, 400 * YEARS)):
        seq = 10**12 + n  # far beyond the chain head, which audit_append keeps using for its own events
        reason = "Change freeze “Quarter close” covers the window." if n % 2 else "The plan has no backout."
        refusals.append(AuditEvent(
            seq=seq, created_at=r.created_at + 3 * HOUR, actor=manager, actor_username=manager.username,
            action="upgrade.transition_refused", object_type="upgrades.upgraderequest", object_id=str(r.pk),
            object_repr=r.reference, data={"transition": "start", "reasons": [reason]},
            prev_hash="0" * 64, hash=hashlib.sha256(f"bench-{seq}".encode()).hexdigest()))
    return refusals


def _change_some(period, percent: int, seed: int = 0) -> int:
    """An incident linked to `percent` % of the upgrades that ended in `period` (their facts go stale)."""
    from apps.execution.models import Incident
    from apps.upgrades.models import UpgradeRequest

    ended = list(UpgradeRequest.objects.filter(finished_at__gte=period.start_dt,
                                               finished_at__lt=period.end_dt,
                                               outcome__in=["completed", "rolled_back", "failed"])
                 .order_by("pk").values_list("pk", "finished_at", "requester_id"))
    rng = random.Random(seed)
    chosen = rng.sample(ended, len(ended) * percent // 100)
    Incident.objects.bulk_create(
        Incident(request_id=pk, title="Found later", severity="P3", started_at=end + HOUR, impact_minutes=10,
                 opened_by_id=by, opened_at=end + HOUR) for pk, end, by in chosen)
    return len(chosen)


def build(now: dt.datetime):
    from django.contrib.auth.models import Group
    from django.db import transaction

    from apps.accounts.models import Team, User
    from apps.audit.models import AuditEvent
    from apps.execution.models import ExecutionRun, Incident, StepEvent, TriggerFiring
    from apps.inventory.models import Component, Environment, System
    from apps.rollouts.models import Plan, RollbackTrigger, RunbookStep, Wave
    from apps.upgrades.models import UpgradeItem, UpgradeRequest

    rng = random.Random(7)
    start = now - dt.timedelta(days=365 * YEARS)
    batch = 5000
    with transaction.atomic():
        teams = Team.objects.bulk_create(Team(name=f"Bench team {i:02d}", slug=f"bench-team-{i:02d}")
                                         for i in range(TEAMS))
        env = Environment.objects.create(name="Bench production", slug="bench-production", kind="production")
        systems = System.objects.bulk_create(
            System(name=f"Bench system {i:03d}", slug=f"bench-system-{i:03d}", owner_team=teams[i % TEAMS],
                   criticality=rng.choice(["low", "medium", "high", "critical"]),
                   region=rng.choice(["eu-central", "eu-west", "us-east"])) for i in range(SYSTEMS))
        components = Component.objects.bulk_create(
            Component(system=s, environment=env, name="db", product="postgresql", version="13.14")
            for s in systems)
        executive = User.objects.create(username="bench-exec", email="bench-exec@example.test")
        executive.groups.add(Group.objects.get(name="executive"))
        manager = User.objects.create(username="bench-manager", email="bench-manager@example.test")
        manager.groups.add(Group.objects.get(name="change_manager"))
        manager.teams.add(teams[0])  # sees the requests touching team 0's systems
        User.objects.create(username="bench-admin", email="bench-admin@example.test", is_superuser=True,
                            is_staff=True)

        requests = UpgradeRequest.objects.bulk_create(
            (_request(rng, i, manager, start, now) for i in range(REQUESTS)), batch_size=2000)
        ended = [r for r in requests if r.finished_at]
        requests += UpgradeRequest.objects.bulk_create(
            _hotfix(n, r, manager, now) for n, r in enumerate(rng.sample(ended, len(ended) // 100)))
        items = [UpgradeItem(request=r, system_id=c.system_id, component=c, product="postgresql",
                             current_version="13.14", target_version="16.4")
                 for r in requests for c in rng.sample(components, 2 if rng.random() < .3 else 1)]
        UpgradeItem.objects.bulk_create(items, batch_size=batch)
        plans = Plan.objects.bulk_create((Plan(request=r, created_at=r.created_at, updated_at=r.created_at)
                                          for r in ended), batch_size=batch)
        Wave.objects.bulk_create(
            (Wave(plan=p, position=0, name="Production", window_start=r.window_start, window_end=r.window_end)
             for p, r in zip(plans, ended, strict=True) if r.window_start and rng.random() < .3),
            batch_size=batch)
        steps = RunbookStep.objects.bulk_create(
            (RunbookStep(plan=p, key=key, position=n, title=key, expected_minutes=15, instructions="run",
                         is_outage=key == "switch")
             for p in plans for n, key in enumerate(("prepare", "switch"))), batch_size=batch)
        runs = ExecutionRun.objects.bulk_create(
            (ExecutionRun(request=r, started_by=manager, started_at=r.started_at, finished_at=r.finished_at,
                          state="done") for r in ended), batch_size=batch)
        events = _events(rng, runs, ended, steps, manager)
        StepEvent.objects.bulk_create(events, batch_size=batch)
        Incident.objects.bulk_create(
            (Incident(request=r, title="Degradation", severity=rng.choices(*SEVERITIES)[0],
                      started_at=r.finished_at + rng.randrange(0, 24 * 10) * HOUR,
                      impact_minutes=rng.randrange(0, 120), opened_by=manager, opened_at=r.finished_at)
             for r in rng.sample(ended, len(ended) * 6 // 100)), batch_size=batch)
        fired = rng.sample(list(zip(plans, runs, strict=True)), len(runs) // 50)
        triggers = RollbackTrigger.objects.bulk_create(
            RollbackTrigger(plan=p, name="Error rate", kind="error_rate", action="roll_back")
            for p, _ in fired)
        TriggerFiring.objects.bulk_create(
            TriggerFiring(run=run, trigger=t, numbers={"error_rate": 0.1}, action="roll_back",
                          at=run.started_at) for (_, run), t in zip(fired, triggers, strict=True))
        AuditEvent.objects.bulk_create(_refusals(rng, requests, manager))
    return executive, manager, len(requests), len(items), len(events)


def _models_without_migrations() -> None:
    """REPORT_BENCH_SYNCDB=1: create the tables from models.py (as the tests' --no-migrations does), for a
    checkout whose migrations lag behind its models."""
    import atexit
    import os
    import shutil
    import tempfile

    if os.environ.get("REPORT_BENCH_SYNCDB") != "1":
        return
    var_dir = tempfile.mkdtemp(prefix="tollgate-bench-")
    atexit.register(shutil.rmtree, var_dir, True)
    os.environ["TOLLGATE_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.apps import apps
    from django.conf import settings

    settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}


FRESH_WORKER = """
import datetime as dt, json, os, resource, statistics, sys, time
import django
django.setup()
from apps.accounts.models import User
from apps.core.pdf import render_pdf
from apps.reporting import facts
from apps.reporting.kpis import Period
from apps.reporting.models import Report
from apps.reporting.services import report_generate, report_html, report_request
render_pdf("<p>warm-up</p>")  # as a worker that has drawn one document before
user = User.objects.get(pk=int(sys.argv[1]))
period = Period(start=dt.date.fromisoformat(sys.argv[2]), end=dt.date.fromisoformat(sys.argv[3]))
def status(key):  # this process's own figures (ru_maxrss would carry the benchmark's across the exec)
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) / 1024 for line in fh if line.startswith(key))
before = status("VmRSS:")
runs = []
for n in range(int(sys.argv[4])):  # each task, then WeasyPrint alone on the same HTML right after it
    Report.objects.filter(requested_by=user).delete()
    queued, _ = report_request(by=user, period=period, dispatch=False)
    start = time.perf_counter()
    report = report_generate(queued.pk)
    took = time.perf_counter() - start
    assert report.status == "done", report.error
    if n == 0:
        peak = status("VmHWM:")
    html, data, _ = report_html(user=user, period=period, facts=facts.usable())
    del data
    start = time.perf_counter()
    render_pdf(html)
    runs.append((took, time.perf_counter() - start))
ratios = sorted(t / w for t, w in runs)
print(json.dumps({"s": statistics.median(t for t, _ in runs), "alone": statistics.median(w for _, w in runs),
                  "ratio": statistics.median(ratios), "low": ratios[0], "high": ratios[-1],
                  "before": before, "peak": peak,
                  "children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def _fresh_worker_row(label: str, user, period, n_requests) -> dict:
    """The report generated by a new process, as a worker would (Django set up, one document drawn before),
    REPEATS times, each next to WeasyPrint alone on the same HTML: the process holds what a worker holds, not
    the ~400 MB building the organisation left in this one (whose pages a forked child shares, and the
    worker then copies as it writes to them while WeasyPrint draws)."""
    import json
    import os
    import subprocess
    import sys

    from django.db import connection

    db = connection.settings_dict
    env = dict(os.environ)
    if connection.vendor == "postgresql":  # this process's test database, not the one in the environment
        env["DATABASE_URL"] = (f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
                               f"{db['PORT'] or 5432}/{db['NAME']}")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", FRESH_WORKER, str(user.pk), period.start.isoformat(),
                          period.end.isoformat(), str(REPEATS)], env=env, capture_output=True, text=True,
                         timeout=900, cwd=root)
    if out.returncode:
        raise RuntimeError(f"the fresh worker failed:\n{out.stderr[-3000:]}")
    found = json.loads(out.stdout.strip().splitlines()[-1])
    return {"name": f"12-month KPI report, {label}, in a fresh worker process",
            "n": f"{n_requests} requests over {YEARS} years",
            f"task s (median of {REPEATS})": round(found["s"], 2),
            f"WeasyPrint alone s (median of {REPEATS})": round(found["alone"], 2),
            "task ÷ WeasyPrint (median)": round(found["ratio"], 2),
            "range": f"{found['low']:.2f}–{found['high']:.2f}",
            "RSS before MB": round(found["before"]), "peak RSS MB": round(found["peak"]),
            # a forked child's peak counts the worker's pages it shares too (all of them at the fork)
            "largest child peak RSS MB": round(found["children"])}


def _dashboard_rows(users: list[tuple[str, object]], n_requests: int, runs: int = 10) -> list[dict]:
    """Server time of the KPI dashboard in-process (Django test client): the first view after the data
    changed (nothing cached: every figure counted) and the median of `runs` views after it."""
    import statistics

    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection as conn
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    rows, medians = [], {}
    for label, user in users:
        client = Client()
        client.force_login(user)
        cold = []
        for _ in range(3):
            cache.clear()
            start = time.perf_counter()
            response = client.get("/reports/", secure=True)
            cold.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.status_code
        warm = []
        for _ in range(runs):
            start = time.perf_counter()
            client.get("/reports/", secure=True)
            warm.append((time.perf_counter() - start) * 1000)
        with CaptureQueriesContext(conn) as queries:
            client.get("/reports/", secure=True)
        medians[label] = (statistics.median(cold), statistics.median(warm))
        rows.append({"name": f"KPI dashboard /reports/, {label}",
                     "n": f"{n_requests} requests over {YEARS} years, 12 months shown",
                     "counted ms (median of 3)": round(statistics.median(cold)),
                     f"cached ms (median of {runs})": round(statistics.median(warm)),
                     "cached p95 ms": round(sorted(warm)[max(0, int(len(warm) * .95) - 1)]),
                     "queries cached": len(queries), "database": conn.vendor})
    base = medians[users[0][0]]
    for row, (label, _) in zip(rows, users, strict=True):
        row["÷ superuser counted"] = round(medians[label][0] / base[0], 2)
        row["÷ superuser cached"] = round(medians[label][1] / base[1], 2)
    return rows


REPEATS = int(os.environ.get("REPORT_BENCH_REPEATS", "5"))


def _median(runs: list[dict], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 2)


def _one_report(user, period, conn, label: str) -> dict:
    """One report task (the web request apart), then its HTML, CSV and WeasyPrint alone, timed."""
    import sys

    from django.test.utils import CaptureQueriesContext

    from apps.core.pdf import render_pdf
    from apps.reporting import facts
    from apps.reporting.services import report_generate, report_html, report_request, upgrades_csv

    gc.collect()
    start = time.perf_counter()
    queued, _ = report_request(by=user, period=period, dispatch=False)  # in the web: the fingerprint
    request_s = time.perf_counter() - start
    rss_before = _rss_mb()
    reset = _rss_reset()
    start, cpu = time.perf_counter(), time.process_time()
    report = report_generate(queued.pk)  # the worker's task
    task_s, task_cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = _rss_peak_mb(reset)
    assert report.status == "done", report.error
    from_facts = facts.usable()
    start = time.perf_counter()
    with CaptureQueriesContext(conn) as queries:
        html, data, figures = report_html(user=user, period=period, facts=from_facts)
    html_s = time.perf_counter() - start
    start = time.perf_counter()
    upgrades_csv(data) if not from_facts else facts.upgrades_csv(user, period)
    csv_s = time.perf_counter() - start
    # WeasyPrint alone in a clean process state: with the rows alive, the collector would walk them again
    # and again while it lays out the pages (the task freezes them): "alone" would be slower
    del data
    gc.collect()
    slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:2]
    for q in slowest:
        print(f"  {label}: {float(q['time']):.2f} s  {q['sql'][:200]}", file=sys.stderr, flush=True)
    start, cpu = time.perf_counter(), time.process_time()
    pdf = render_pdf(html)
    render_s, render_cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"request s": request_s, "task s": task_s, "task cpu": task_cpu, "rss before": rss_before,
            "peak": peak, "html s": html_s, "csv s": csv_s, "render s": render_s, "render cpu": render_cpu,
            "queries": len(queries), "pdf": len(pdf), "figures": figures}


def run() -> list[dict]:
    import sys

    from benchmarks import django_db

    _models_without_migrations()
    connection = django_db()
    from django.db import connection as conn

    from apps.core import clock
    from apps.core.pdf import render_pdf
    from apps.reporting.kpis import Period

    now = clock.now()
    t0 = time.perf_counter()
    executive, manager, n_requests, n_items, n_events = build(now)
    build_s = time.perf_counter() - t0
    print(f"  built {n_requests} requests in {build_s:.0f} s", file=sys.stderr, flush=True)
    if connection.vendor == "postgresql":
        with conn.cursor() as cursor:  # what autovacuum does to a table after a bulk load: planner statistics
            cursor.execute("ANALYZE")
    from apps.reporting import facts

    start = time.perf_counter()
    counted = facts.refresh()  # the bulk load wrote no facts: what the migration does on an existing database
    facts_s = time.perf_counter() - start
    print(f"  facts of {counted} requests counted in {facts_s:.1f} s", file=sys.stderr, flush=True)
    if connection.vendor == "postgresql":
        with conn.cursor() as cursor:
            cursor.execute("ANALYZE reporting_upgradefacts")
    period = Period(start=(now - dt.timedelta(days=364)).date(), end=now.date())
    # WeasyPrint's one-time start in a process (fonts, its default style sheets: ~0.3 s CPU) is paid by the
    # worker's first document, not by every report: warm it up so that the task and WeasyPrint alone compare
    # the same work
    render_pdf("<p>warm-up</p>")
    from django.test import override_settings

    from apps.reporting.models import Report

    rows = [{"name": "facts of every request counted at once (the migration on an existing database)",
             "n": f"{counted} requests", "task s": round(facts_s, 2), "database": connection.vendor}]
    rows_off = override_settings(TOLLGATE_KPI_FACTS=False)
    one_core = override_settings(TOLLGATE_KPI_FACTS=False, TOLLGATE_FORK_WORK=False,
                                 TOLLGATE_PARALLEL_READS=False)
    for label, user, settings, changes in (
            ("executive (sees all)", executive, None, 0),
            ("change manager of one team", manager, None, 0),
            # the facts of 1 % of the period's upgrades changed since the last report (an incident each):
            # counted again by the report task
            ("executive, 1 % of the upgrades changed since the last report", executive, None, 1),
            # the same report counted from the rows every time (kpis.Data), on three connections and with the
            # previous period in a child process: the previous round's code
            ("executive, counted from the rows (TOLLGATE_KPI_FACTS off)", executive, rows_off, 0),
            # and without the child processes and the connections beside: the round before
            ("executive, from the rows, one process and one connection", executive, one_core, 0)):
        if settings is not None:
            settings.enable()
        runs = []
        for n in range(REPEATS):  # each task timed next to WeasyPrint alone right after it: a noisy host's
            Report.objects.filter(requested_by=user).delete()  # pace changes from minute to minute
            if changes:
                _change_some(period, changes, seed=n)
            runs.append(_one_report(user, period, conn, label))
        if settings is not None:
            settings.disable()
        last = runs[-1]
        ratios = sorted(r["task s"] / r["render s"] for r in runs)
        rows.append({
            "name": f"12-month KPI report, {label}",
            "n": f"{n_requests} requests over {YEARS} years / {n_items} items / {n_events} step events "
                 f"(built in {build_s:.0f} s)",
            "ended counted": last["figures"]["ended"],
            "request s (web)": _median(runs, "request s"),
            f"task s (median of {REPEATS})": _median(runs, "task s"),
            f"WeasyPrint alone s (median of {REPEATS})": _median(runs, "render s"),
            # each task over the WeasyPrint run right after it; the median and the range of those ratios
            "task ÷ WeasyPrint (median)": round(statistics.median(ratios), 2),
            "range": f"{ratios[0]:.2f}–{ratios[-1]:.2f}",
            # the process held this before the task (what the build left: a worker starts far lower)
            "RSS before MB": round(last["rss before"]),
            "peak RSS MB": round(max(r["peak"] for r in runs)),
            # this process's CPU only (not PostgreSQL's): steadier than wall time on a busy machine
            "task CPU s": _median(runs, "task cpu"),
            "WeasyPrint CPU s": _median(runs, "render cpu"),
            "KPIs + HTML s": _median(runs, "html s"),
            "CSV s": _median(runs, "csv s"),
            "queries": last["queries"],
            "PDF KB": round(last["pdf"] / 1024),
            "database": connection.vendor,
        })
    rows.append(_fresh_worker_row("executive (sees all)", executive, period, n_requests))
    rows.append(_fresh_worker_row("change manager of one team", manager, period, n_requests))
    from apps.accounts.models import User

    admin = User.objects.get(username="bench-admin")
    rows += _dashboard_rows([("superuser", admin), ("executive (sees all)", executive),
                             ("change manager of one team", manager)], n_requests)
    return rows
