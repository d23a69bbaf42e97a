"""Audit chain verification over the large organisation's trail (1,000,000 events at scale 1.0).

`audit_verify()` recomputes every link from genesis in one REPEATABLE READ snapshot: wall time, events per
second and the peak RSS of the walk. Also the auditor pages' verification box once the full walk is
remembered (`chain_verification`: the first view walks the latest links, later views only those appended
since). Runs in a child process set up on the
bigorg database, so the caller's Django setup is untouched.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def _measure() -> dict:
    import time

    import django

    django.setup()
    from django.core.cache import cache

    from apps.audit.selectors import chain_verification
    from apps.audit.services import audit_append, audit_verify
    from benchmarks.report import _rss_peak_mb, _rss_reset

    reset = _rss_reset()
    start = time.perf_counter()
    result = audit_verify()
    wall = time.perf_counter() - start
    peak = _rss_peak_mb(reset)
    cache.clear()
    start = time.perf_counter()
    first, verified_from, _ = chain_verification()  # nothing remembered: the latest PAGE_WALK_LIMIT links
    first_ms = (time.perf_counter() - start) * 1000
    audit_append(action="bench.audit_chain", data={"note": "one event appended after the page's walk"})
    start = time.perf_counter()
    incremental, _, _ = chain_verification()
    page_ms = (time.perf_counter() - start) * 1000
    return {"ok": result.ok, "text": str(result), "checked": result.checked, "wall": wall, "peak": peak,
            "page_ok": incremental.ok and first.ok, "page_ms": page_ms, "first_ms": first_ms,
            "first_n": first.checked, "page_new": incremental.checked - first.checked}


def run() -> list[dict]:
    from benchmarks.bigorg import ensure

    url = ensure(float(os.environ.get("BENCH_SCALE", "1.0")))
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.setdefault("TOLLGATE_VAR_DIR", str(Path(tempfile.gettempdir()) / "tollgate-bigorg-var"))
    out = subprocess.run([sys.executable, "-m", "benchmarks.audit_chain", "--child"], env=env, check=True,
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent).stdout
    m = json.loads(out.strip().splitlines()[-1])
    return [
        {"name": "audit_verify: full chain walk", "n": f"{m['checked']} events", "result": m["text"],
         "wall s": round(m["wall"], 1), "events/s": round(m["checked"] / m["wall"]),
         "peak RSS MB": round(m["peak"])},
        {"name": "audit page verification box, first view (latest links)", "n": f"{m['first_n']} links",
         "result": "OK" if m["page_ok"] else "BROKEN", "wall s": round(m["first_ms"] / 1000, 2)},
        {"name": "audit page verification box, next view", "n": f"{m['page_new']} new link(s)",
         "result": "OK" if m["page_ok"] else "BROKEN", "wall s": round(m["page_ms"] / 1000, 3)},
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(_measure()))
    else:
        from benchmarks.run import table

        print(table(run()))
