"""Run every benchmark in this package and print one table: `python -m benchmarks.run [name ...]`."""

import importlib
import pkgutil
import sys
from pathlib import Path

SKIP = {"run"}


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


def main(argv: list[str]) -> int:
    modules = discover(argv or None)
    if not modules:
        print(f"No benchmark named {' '.join(argv)}; known: {', '.join(discover())}", file=sys.stderr)
        return 2
    rows = []
    for name in modules:
        module = importlib.import_module(f"benchmarks.{name}")
        if not callable(getattr(module, "run", None)):
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows += module.run()
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
