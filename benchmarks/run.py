"""Run every benchmark in this package and print one table: `python -m benchmarks.run [name ...]`.

Each module runs in a process of its own (`python -m benchmarks.run --one <name>` prints its rows as JSON),
so every benchmark sets Django up on the database it needs and its peak memory is its own.
"""

import importlib
import json
import os
import pkgutil
import subprocess
import sys
import time
from pathlib import Path

SKIP = {"run", "settings", "urls", "server", "locustfile"}


def discover(names: list[str] | None = None) -> list[str]:
    found = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                   if not m.ispkg and m.name not in SKIP and not m.name.startswith("_"))
    return [n for n in found if not names or n in names]


def table(rows: list[dict]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def line(values):
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    out = [line(columns), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells]
    return "\n".join(out)


def run_one(name: str) -> int:
    """In this process: run one module and print its rows as JSON on the last line of standard output."""
    module = importlib.import_module(f"benchmarks.{name}")
    if not callable(getattr(module, "run", None)):
        print("[]")
        return 0
    rows = module.run()
    print(json.dumps(rows, default=str))
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        return run_one(argv[1])
    modules = discover(argv or None)
    if not modules:
        print(f"No benchmark named {' '.join(argv)}; known: {', '.join(discover())}", file=sys.stderr)
        return 2
    failed = []
    for name in modules:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "benchmarks.run", "--one", name], stdout=subprocess.PIPE,
                              text=True, env=os.environ.copy(), check=False)
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            failed.append(name)
            print(f"{name} failed (exit {proc.returncode})", file=sys.stderr)
            continue
        rows = json.loads(lines[-1])
        for extra in lines[:-1]:
            print(extra, file=sys.stderr)
        print(f"{name}: {time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)
        # one table per module: their columns differ
        if rows:
            print(f"\n## {name}\n\n{table(rows)}", flush=True)
    if failed:
        print(f"\nFailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
