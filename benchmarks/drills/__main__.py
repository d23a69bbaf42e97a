"""`python -m benchmarks.drills [name ...] [--json FILE]`: run the drills, print one table, exit 1 on a
failure."""

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

from benchmarks.run import table

from . import DRILLS, SESSION_DRILLS

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = """
import json, sys
from benchmarks.drills.hostile import run
json.dump(run(long=True), sys.stdout, default=str)
"""


def hostile_rows(env: dict) -> list[dict]:
    """H7's schemathesis long run, in a process of its own (it sets Django up its own way)."""
    if not (Path(__file__).parent / "hostile.py").exists():
        return [{"drill": "hostile input (schemathesis)", "did": "-", "found": "benchmarks/drills/hostile.py "
                 "is not there yet", "ok": False}]
    done = subprocess.run([sys.executable, "-c", HOSTILE], cwd=ROOT, env=env, capture_output=True, text=True)
    sys.stderr.write(done.stderr[-4000:])
    try:
        rows = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return [{"drill": "hostile input (schemathesis)", "did": "long run", "ok": False,
                 "found": f"exit {done.returncode}: {(done.stderr or done.stdout)[-300:]}"}]
    out = []
    for row in rows:
        bad = sum(int(row.get(k) or 0) for k in ("server errors", "schema violations", "other failures"))
        out.append({"drill": f"hostile input: {row.get('persona', '?')}",
                    "did": f"{row.get('operations', '?')} operations, {row.get('examples', '?')} examples",
                    "found": f"server errors {row.get('server errors')}, schema violations "
                             f"{row.get('schema violations')}, other failures {row.get('other failures')}",
                    "ok": bad == 0 and done.returncode == 0})
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.drills", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"drills to run (default all): {', '.join(DRILLS)}")
    parser.add_argument("--json", help="also write the rows to this file, by drill name")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in DRILLS]
    if unknown:
        print(f"No drill named {', '.join(unknown)}; known: {', '.join(DRILLS)}", file=sys.stderr)
        return 2
    names = args.names or DRILLS
    original_env = dict(os.environ)
    rows: list[dict] = []
    by_name: dict[str, list[dict]] = {}
    started = time.monotonic()
    session_names = [n for n in SESSION_DRILLS if n in names]
    if session_names:
        from .harness import Session

        print("drills: starting own PostgreSQL, Redis and a slow HTTP server; migrating ...", flush=True)
        session = Session()
        try:
            session.open()
            print(f"drills: ready ({', '.join(f'{k} {v:.0f} s' for k, v in session.timings.items())})",
                  flush=True)
            for name in session_names:
                print(f"drill {name}:", flush=True)
                began = time.monotonic()
                try:
                    got = importlib.import_module(f"benchmarks.drills.{name}").run(session)
                except Exception as exc:  # noqa: BLE001 — a drill that breaks is a failed drill, reported
                    traceback.print_exc()
                    broke = f"the drill broke: {type(exc).__name__}: {exc}"[:400]
                    got = [{"drill": name, "did": "-", "found": broke, "ok": False}]
                finally:
                    session.stop_workers()
                for row in got:
                    row["seconds"] = round(time.monotonic() - began)
                by_name[name] = got
                rows += got
        finally:
            session.close()
    if "hostile" in names:
        print("drill hostile:", flush=True)
        began = time.monotonic()
        got = hostile_rows(original_env)
        for row in got:
            row["seconds"] = round(time.monotonic() - began)
        by_name["hostile"] = got
        rows += got
    for row in rows:
        row["ok"] = "yes" if row["ok"] is True else "NO"
    print(table(rows))
    passed = sum(r["ok"] == "yes" for r in rows)
    print(f"drills: {passed}/{len(rows)} passed in {time.monotonic() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(by_name, indent=2, default=str))
    return 0 if rows and all(r["ok"] == "yes" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
