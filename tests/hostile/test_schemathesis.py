"""Schemathesis against /api/schema/ as every persona: no server error, no response outside the schema.

Every check runs (server errors, status codes, content types, response schemas and headers, negative data
rejected, positive data accepted, ...) with one derandomized example per operation and mode; the long run with
many more is `python -m benchmarks.drills hostile`. Writes run too, against a world with real rows.
"""

import pytest

from .harness import PERSONAS, fuzz, seed_world, tokens_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# one example per operation and mode (positive; negative where one exists) on one real row: every operation is
# called, and the whole file stays within minutes in `make test`
SHORT_EXAMPLES = 1
REAL_ROWS = 1


@pytest.mark.parametrize("persona", PERSONAS)
def test_schemathesis_finds_nothing(persona, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    world = seed_world()
    token = tokens_for({persona: world["users"][persona]})[persona]
    row = fuzz(persona, token=token, world=world, max_examples=SHORT_EXAMPLES, real_rows=REAL_ROWS)
    report = "\n".join(row["details"] + row["errors"])
    print({k: v for k, v in row.items() if k not in ("details", "errors")})
    assert row["operations"] > 50, row
    assert row["errors"] == [], report
    assert (row["server errors"], row["schema violations"], row["other failures"]) == (0, 0, 0), report
