"""Speed measurements, reported as tables (never timed assertions in the test suite).

Every module `benchmarks/<name>.py` that exposes `run() -> list[dict]` is picked up by
`python -m benchmarks.run`. A benchmark that needs the database calls `django_db()`
first: it sets Django up on a throwaway database (Django's test-database machinery, in
a temporary var dir), migrated once and destroyed when the process ends.
"""

import atexit
import os
import shutil
import statistics
import tempfile
import time

_state: dict = {}


def django_db():
    """Set up Django on a fresh, migrated throwaway database (once per process); return the connection."""
    if "connection" in _state:
        return _state["connection"]
    var_dir = tempfile.mkdtemp(prefix="tollgate-bench-")
    os.environ["TOLLGATE_VAR_DIR"] = var_dir  # SQLite test database and media land here, never in var/
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)

    def _teardown():
        connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(var_dir, ignore_errors=True)

    atexit.register(_teardown)
    _state["connection"] = connection
    return connection


def measure(fn, runs: int) -> tuple[float, int]:
    """Median wall time of `fn()` in milliseconds over `runs` runs, and the queries of the last run."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    with CaptureQueriesContext(connection) as ctx:  # counted apart: recording queries costs time
        fn()
    return statistics.median(times), len(ctx.captured_queries)
