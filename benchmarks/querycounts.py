"""Queries of every list page and API list at 10 and at 1,000 rows: equal counts mean no per-row query.

The routes and how their rows grow are the table in `benchmarks/_rows.py` (the test
`tests/ops/test_query_counts_everywhere.py` checks the same at 3 and 30 rows and fails on a list route
missing from the table). Each route is measured in a transaction rolled back afterwards, on the throwaway
database, signed in as an administrator or, where visibility applies, as a change manager.
"""

SIZES = (10, 1000)


def run() -> list[dict]:
    from benchmarks import django_db

    django_db()
    import logging

    from django.db import transaction

    from benchmarks import _rows

    _rows.test_environment()
    logging.disable(logging.WARNING)  # a refused GET is reported in the row, not as a log
    rows = []
    for route in _rows.ROUTES:
        row = {"name": "querycounts", "route": route.key, "kind": route.kind, "user": route.user}
        try:
            with transaction.atomic():
                counts = _rows.measure(route, SIZES)
                transaction.set_rollback(True)
        except Exception as exc:  # one broken route must not hide the others' figures
            row.update({f"queries@{SIZES[0]}": "-", f"queries@{SIZES[1]}": "-", "equal": "error",
                        "note": f"{type(exc).__name__}: {exc}"[:120]})
        else:
            (small, _), (large, _) = counts
            row.update({f"queries@{SIZES[0]}": small, f"queries@{SIZES[1]}": large,
                        "equal": "yes" if small == large else "NO"})
        rows.append(row)
    logging.disable(logging.NOTSET)
    return rows
