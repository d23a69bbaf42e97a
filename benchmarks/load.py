"""Mixed load: locust users working a day on Tollgate (benchmarks/locustfile.py) against gunicorn + Celery.

Scenarios, each with its own locust process (headless) against one server:
- 20 users, 1 s think time, 60 s, right after the servers start (cold caches): shown, no target;
- 20 users, 1 s think time, 60 s, on the same servers: the target is p95 <= 300 ms with no error;
- 20 users, 0 s think time, 60 s: the most the server does with 20 users hammering it;
- a step series at 0 s think time (5, 10, 20, 40 users, 20 s each): the saturation point is the first step
  whose throughput grew less than 10 % over the previous one while its p95 went up.
The measured window starts once every user has signed in (the locustfile resets the statistics then), so
sign-in is not in the figures. Rows: scenario, users, think, requests, req/s, p50, p95, p99, errors, target
met. The slowest endpoints of each scenario are printed on stderr (locust's per-endpoint statistics).

Database: BENCH_LOAD_DATABASE_URL, else the large organisation (benchmarks.bigorg.ensure(BENCH_SCALE,
default 1.0)). Users: BENCH_USERS (comma separated; default the large organisation's bench-* people).
Durations: BENCH_LOAD_SECONDS (60), BENCH_LOAD_STEP_SECONDS (20), BENCH_LOAD_STEPS ("5,10,20,40").
Server: BENCH_LOAD_PORT (8201), BENCH_REDIS_URL (else REDIS_URL, else db 0 of the local Redis),
BENCH_WEB_WORKERS / BENCH_WEB_THREADS (gunicorn; defaults in config/gunicorn.py). The web processes share
their cache on Redis as docs/operations.md recommends for several of them (BENCH_CACHE_URL, else the
database after the broker's), emptied before each server starts: every run starts cold.

    python -m benchmarks.load                    # the table
    python -m benchmarks.load --compare-workers  # also sync 2 x cores + 1 against gthread, to choose
"""

import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.server import ROOT, serving

BENCH_PEOPLE = "bench-manager,bench-cab,bench-exec,bench-auditor,bench-impl,bench-validator,bench-admin"
P95_TARGET_MS = 300


def _database_url() -> str:
    if os.environ.get("BENCH_LOAD_DATABASE_URL"):
        return os.environ["BENCH_LOAD_DATABASE_URL"]
    from benchmarks import bigorg

    return bigorg.ensure(float(os.environ.get("BENCH_SCALE", "1.0")))


def _redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def locust(base_url: str, *, users: int, think: float, seconds: int, out: Path, people: str) -> dict:
    """One headless locust run; its aggregated row and its endpoints (from locust's CSV)."""
    prefix = out / f"u{users}-t{think:g}-s{seconds}"
    env = {**os.environ, "BENCH_USERS": people, "BENCH_THINK": str(think), "BENCH_MEASURE_SECONDS": str(seconds)}
    args = [sys.executable, "-m", "locust", "-f", str(ROOT / "benchmarks" / "locustfile.py"), "--host", base_url,
            "--headless", "-u", str(users), "-r", str(users),
            # a cap only: the locustfile stops the run `seconds` after the last user signed in
            "-t", f"{seconds + 180}s", "--csv", str(prefix), "--only-summary", "--stop-timeout", "10",
            "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    run = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    if run.returncode != 0 or not Path(f"{prefix}_stats.csv").exists():
        raise RuntimeError(f"locust failed ({run.returncode}):\n{run.stderr[-3000:]}")
    with open(f"{prefix}_stats.csv", newline="") as f:
        stats = list(csv.DictReader(f))
    total = next(r for r in stats if r["Name"] == "Aggregated")
    endpoints = [r for r in stats if r["Name"] != "Aggregated"]
    failures = []
    if Path(f"{prefix}_failures.csv").exists():
        with open(f"{prefix}_failures.csv", newline="") as f:
            failures = list(csv.DictReader(f))
    return {"total": total, "endpoints": endpoints, "failures": failures}


def _n(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _row(scenario: str, users: int, think: float, result: dict, server: str, seconds: int) -> dict:
    t = result["total"]
    errors = int(_n(t["Failure Count"]))
    p95 = _n(t["95%"])
    row = {"name": "mixed load (locust)", "scenario": scenario, "server": server, "users": users,
           "think s": f"{think:g}", "requests": int(_n(t["Request Count"])),
           # over the measured window (locust's own figure also counts the time in-flight requests take to end)
           "req/s": round(_n(t["Request Count"]) / seconds, 1),
           "p50 ms": int(_n(t["50%"])), "p95 ms": int(p95), "p99 ms": int(_n(t["99%"])), "errors": errors}
    row["target met"] = ("yes" if p95 <= P95_TARGET_MS and errors == 0 else "NO") if think >= 1 else "-"
    return row


def _report_endpoints(scenario: str, result: dict) -> None:
    rows = sorted(result["endpoints"], key=lambda r: -_n(r["95%"]))
    print(f"\n  {scenario}: endpoints by p95 (requests, failures, median, p95, p99 ms)", file=sys.stderr)
    for r in rows:
        print(f"    {r['Name'][:52]:52} {int(_n(r['Request Count'])):6} {int(_n(r['Failure Count'])):4} "
              f"{int(_n(r['50%'])):6} {int(_n(r['95%'])):6} {int(_n(r['99%'])):6}", file=sys.stderr)
    for f in result["failures"][:10]:
        print(f"    failure: {f.get('Method')} {f.get('Name')}: {f.get('Error')} x{f.get('Occurrences')}",
              file=sys.stderr)
    sys.stderr.flush()


def _saturation(rows: list[dict]) -> None:
    """Mark the first step whose throughput grew < 10 % over the previous step's while p95 went up."""
    for before, after in zip(rows, rows[1:]):
        if after["req/s"] < before["req/s"] * 1.10 and after["p95 ms"] > before["p95 ms"]:
            after["scenario"] += " <- saturated"
            return


def scenarios(base_url: str, server: str, people: str, out: Path, *, steps: bool = True) -> list[dict]:
    seconds = int(os.environ.get("BENCH_LOAD_SECONDS", "60"))
    step_seconds = int(os.environ.get("BENCH_LOAD_STEP_SECONDS", "20"))
    rows = []
    # the first minute after the servers start is measured on its own: every process fills its caches then
    # (each reader's visible ids and My-work counts, the dashboard's first count per scope: about a second
    # each). The target is for the working day that follows, on the same servers, as users meet them.
    for scenario, users, think, duration, target in (
            ("cold start: working day, 1 s think", 20, 1.0, seconds, False),
            ("working day, 1 s think", 20, 1.0, seconds, True),
            ("flat out, 0 s think", 20, 0.0, seconds, False)):
        print(f"  load: {server}: {scenario}, {users} users, {duration} s", file=sys.stderr, flush=True)
        result = locust(base_url, users=users, think=think, seconds=duration, out=out, people=people)
        _report_endpoints(f"{server}, {scenario}", result)
        row = _row(f"{scenario}, {duration} s", users, think, result, server, duration)
        if not target:
            row["target met"] = "-"
        rows.append(row)
    if steps:
        step_rows = []
        for users in [int(u) for u in os.environ.get("BENCH_LOAD_STEPS", "5,10,20,40").split(",")]:
            print(f"  load: {server}: step {users} users, 0 s think, {step_seconds} s", file=sys.stderr, flush=True)
            result = locust(base_url, users=users, think=0.0, seconds=step_seconds, out=out, people=people)
            step_rows.append(_row(f"step {users} users, 0 s think, {step_seconds} s", users, 0.0, result, server,
                                  step_seconds))
        _saturation(step_rows)
        rows += step_rows
    return rows


def _cache_url() -> str:
    """The shared cache of the web processes, as docs/operations.md says to run several: a Redis database of
    its own (BENCH_CACHE_URL, else the one after the broker's), emptied first so every run starts cold."""
    if os.environ.get("BENCH_CACHE_URL"):
        return os.environ["BENCH_CACHE_URL"]
    broker = _redis_url()
    base, _, db = broker.rpartition("/")
    return f"{base}/{(int(db) + 1) % 16 if db.isdigit() else 1}"


def _empty_cache(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def _server_label(workers: int | None, threads: int | None) -> str:
    import multiprocessing

    threads = 4 if threads is None else threads
    workers = workers or multiprocessing.cpu_count() + 1
    return f"gunicorn gthread {workers}x{threads}" if threads > 1 else f"gunicorn sync {workers}"


def run(compare_workers: bool = False) -> list[dict]:
    database_url = _database_url()
    people = os.environ.get("BENCH_USERS", BENCH_PEOPLE)
    port = int(os.environ.get("BENCH_LOAD_PORT", "8201"))
    workers = int(os.environ["BENCH_WEB_WORKERS"]) if os.environ.get("BENCH_WEB_WORKERS") else None
    threads = int(os.environ["BENCH_WEB_THREADS"]) if os.environ.get("BENCH_WEB_THREADS") else None
    configs = [(workers, threads)]
    if compare_workers:
        import multiprocessing

        configs.append((2 * multiprocessing.cpu_count() + 1, 1))  # the classic sync recommendation
    rows = []
    cache_url = _cache_url()
    os.environ["CACHE_URL"] = cache_url  # the servers' environment is this process's (benchmarks.server)
    with tempfile.TemporaryDirectory(prefix="tollgate-load-") as tmp:
        for workers, threads in configs:
            label = _server_label(workers, threads)
            _empty_cache(cache_url)
            with serving(database_url=database_url, redis_url=_redis_url(), port=port, web_workers=workers,
                         threads=threads, var_dir=str(Path(tmp) / "var")) as base_url:
                rows += scenarios(base_url, label, people, Path(tmp), steps=not compare_workers)
    return rows


if __name__ == "__main__":
    from benchmarks.run import table

    print(table(run(compare_workers="--compare-workers" in sys.argv)))
