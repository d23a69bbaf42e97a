"""Reads spread over several PostgreSQL connections that all see one snapshot of the database.

A KPI report reads a dozen row sets; one after the other on one connection, the worker waits for each while
PostgreSQL computes it. Inside `one_snapshot()` this connection opens a read-only REPEATABLE READ transaction
and exports its snapshot (`pg_export_snapshot()`); `beside(fn)` runs `fn` in a thread on a connection of its
own that imports the same snapshot, so PostgreSQL computes those row sets on the other core while this
thread reads and classifies its own — and every row set, here or beside, is of the same moment (read one
after the other in autocommit, each would see the database as it was when that query began).

Where that cannot be done — not PostgreSQL, or already inside a transaction (a test's, a view's), where
other connections would not see uncommitted rows, or TOLLGATE_PARALLEL_READS is off — `one_snapshot()` yields
None and the caller reads everything here, one after the other.
"""

import contextlib
import re
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction

SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$")
READ_ONLY = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"


def import_snapshot(snapshot: str) -> None:
    """Make this connection's transaction (just begun, inside `transaction.atomic()`) read in `snapshot`."""
    if not SNAPSHOT_ID.match(snapshot):
        raise ValueError(f"unexpected snapshot id {snapshot!r}")
    with connection.cursor() as cursor:
        cursor.execute(READ_ONLY)
        cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")


class _Beside(threading.Thread):
    def __init__(self, fn: Callable, snapshot: str):
        super().__init__(daemon=True, name="tollgate-snapshot-read")
        self._fn, self._snapshot = fn, snapshot
        self._value = self._error = None

    def run(self):
        try:
            with transaction.atomic():
                import_snapshot(self._snapshot)
                self._value = self._fn()
        except BaseException as exc:  # handed to the thread that waits for the result
            self._error = exc
        finally:
            connection.close()  # this thread's own connection: never left open

    def result(self):
        self.join()
        if self._error is not None:
            raise self._error
        return self._value

    def error_text(self) -> str:
        return f"{type(self._error).__name__}: {self._error}"[:300]


def _possible() -> bool:
    return (connection.vendor == "postgresql" and not connection.in_atomic_block
            and getattr(settings, "TOLLGATE_PARALLEL_READS", True))


@contextlib.contextmanager
def one_snapshot():
    """Yield `beside(fn)`, which starts `fn` on another connection in this connection's snapshot and returns
    a thread whose `result()` is fn's value (or raises its error); None when that cannot be done. Every
    `result()` is taken inside the block: the snapshot lives as long as this connection's transaction.
    `beside.snapshot` is the snapshot's id, for `import_snapshot` elsewhere."""
    if not _possible():
        yield None
        return
    started: list[_Beside] = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(READ_ONLY)
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        if not SNAPSHOT_ID.match(snapshot):
            raise RuntimeError(f"unexpected snapshot id {snapshot!r}")

        def beside(fn: Callable):
            thread = _Beside(fn, snapshot)
            started.append(thread)
            thread.start()
            return thread

        beside.snapshot = snapshot  # for a child process that reads in it too (apps.core.forked.InChild)
        try:
            yield beside
        finally:
            for thread in started:  # none outlives the snapshot it imported
                thread.join()
