"""Drill: hostile input, long run. Schemathesis with every check against every API operation as every persona
(many examples per operation, positive and negative), in-process on a throw-away test database.

The short run of the same harness is tests/hostile/test_schemathesis.py (`make test`). A row per persona:
operations, examples sent, server errors, schema violations, other failures; each finding is printed.
HOSTILE_EXAMPLES overrides the examples per operation and mode (default 50); HOSTILE_PERSONAS (comma-separated)
and HOSTILE_ONLY (a regular expression on the operation, e.g. "POST /api/v1/plans") narrow the run to re-check
a finding.
"""

import os
import sys
import tempfile

LONG_EXAMPLES = 50
SHORT_EXAMPLES = 5


def run(long: bool = True, personas: tuple[str, ...] | None = None) -> list[dict]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import transaction
    from django.test.utils import (override_settings, setup_databases, setup_test_environment,
                                   teardown_databases)

    from tests.hostile.harness import PERSONAS, fuzz, seed_world, tokens_for

    examples = int(os.environ.get("HOSTILE_EXAMPLES", LONG_EXAMPLES if long else SHORT_EXAMPLES))
    only = os.environ.get("HOSTILE_ONLY", "")
    if personas is None and os.environ.get("HOSTILE_PERSONAS"):
        personas = tuple(p.strip() for p in os.environ["HOSTILE_PERSONAS"].split(",") if p.strip())
    setup_test_environment(debug=False)
    old = setup_databases(verbosity=0, interactive=False)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as media, override_settings(
            MEDIA_ROOT=media, PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        ):
            for persona in personas or PERSONAS:
                with transaction.atomic():  # each persona fuzzes a fresh world, rolled back afterwards
                    world = seed_world()
                    token = tokens_for({persona: world["users"][persona]})[persona]
                    row = fuzz(persona, token=token, world=world, max_examples=examples, only=only)
                    transaction.set_rollback(True)
                # findings go to stderr: stdout's last line is the drills runner's JSON
                print(f"hostile: {persona}: {row['operations']} operations, {row['examples']} examples",
                      file=sys.stderr)
                for line in row["details"] + row["errors"]:
                    print(f"  {persona}: {line}", file=sys.stderr)
                rows.append({k: row[k] for k in ("persona", "operations", "examples", "server errors",
                                                 "schema violations", "other failures")}
                            | {"ok": not (row["server errors"] or row["schema violations"]
                                          or row["other failures"] or row["errors"])})
    finally:
        teardown_databases(old, verbosity=0)
    return rows


if __name__ == "__main__":
    table = run(long="--short" not in sys.argv)
    keys = list(table[0]) if table else []
    print(" | ".join(keys))
    for r in table:
        print(" | ".join(str(r[k]) for k in keys))
    sys.exit(0 if all(r["ok"] for r in table) else 1)
