"""Work done in a forked child process while this one goes on, on the other core: a report's CSV is written
while WeasyPrint draws its PDF, the previous period's figures are counted while this period's are.

The child gets a copy-on-write snapshot of this process (the rows are not sent anywhere) and leaves with
`os._exit`, so nothing of the parent's (atexit handlers, connections, Celery's state) runs in it. It never
uses or closes the parent's database connection (their socket is shared): with `database=True` it opens its
own (the inherited ones are kept referenced, never finalised, in the child) — only where other connections
see the same rows: not inside a transaction, unless the child is given the transaction's exported snapshot to
read in. Redis connections are safe: redis-py opens new ones in a child. The bytes come back through an
unnamed temporary file. When the child cannot be started (no fork on the platform, TOLLGATE_FORK_WORK=False,
inside a transaction with `database=True` and no snapshot) or does not finish cleanly, `result()` computes the
same bytes here: the caller gets its answer either way, only sooner when the child did the work.
"""

import gc
import os
import tempfile
from collections.abc import Callable

from django.conf import settings

_INHERITED: list = []  # in a child: the parent's database connections, referenced so they are never finalised


def _may_fork(database: bool, snapshot: str | None) -> bool:
    if not hasattr(os, "fork") or not getattr(settings, "TOLLGATE_FORK_WORK", True):
        return False
    if database and snapshot is None:
        from django.db import connections

        # a transaction's rows are not seen by another connection
        return not any(conn.in_atomic_block for conn in connections.all(initialized_only=True))
    return True


def _own_connections() -> None:
    """In a child: set the inherited database connections aside (closing one would end the parent's session:
    psycopg sends the server a terminate message on the shared socket), so the next query connects anew."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if conn.connection is not None:
            _INHERITED.append(conn.connection)
            conn.connection = None
            # a fresh connection, out of whatever transaction the parent's was in (connect() resets that)
            conn.connect()


def _in_snapshot(fn: Callable[[], bytes], snapshot: str) -> bytes:
    """fn() in a read-only transaction of the child's own that reads in the parent's exported snapshot."""
    from django.db import transaction

    from apps.core.snapshot import import_snapshot

    with transaction.atomic():
        import_snapshot(snapshot)
        return fn()


class InChild:
    """`fn()` (bytes) started in a child process; `result()` waits for them. `database=True`: fn reads the
    database (on a connection of the child's own); with `snapshot` (an id from `apps.core.snapshot`, whose
    transaction stays open until `result()`), it reads in that snapshot, also from inside that
    transaction."""

    def __init__(self, fn: Callable[[], bytes], *, database: bool = False, snapshot: str | None = None):
        self._fn = fn
        self.pid: int | None = None
        self._file = None
        if not _may_fork(database, snapshot if database else None):
            return
        self._file = tempfile.TemporaryFile()
        # the objects alive now (the rows fn reads) go to the collector's permanent generation: neither
        # process walks them again, and the child does not copy their pages by touching their GC headers
        gc.freeze()
        try:
            pid = os.fork()
        except OSError:
            gc.unfreeze()
            self._file.close()
            self._file = None
            return
        if pid == 0:  # the child
            code = 1
            try:
                gc.disable()
                if database:
                    _own_connections()
                self._file.write(fn() if not (database and snapshot) else _in_snapshot(fn, snapshot))
                self._file.flush()
                code = 0
                if database:
                    from django.db import connections

                    connections.close_all()  # the child's own: closed, not dropped
            finally:
                os._exit(code)
        self.pid = pid

    def _wait(self) -> bool:
        """Reap the child; whether it finished cleanly. Interrupted (a time limit's exception raised by a
        signal handler), the child is still ours to reap: `__exit__` waits for it again."""
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:  # reaped by someone else: its exit status is unknown
            self.pid = None
            return False
        finally:
            gc.unfreeze()
        self.pid = None
        return os.waitstatus_to_exitcode(status) == 0

    def result(self) -> bytes:
        if self.pid is not None:
            done = self._wait()
            with self._file:
                if done:
                    self._file.seek(0)
                    return self._file.read()
        return self._fn()  # here: no child, or it died (killed, out of memory) before its bytes were whole

    def __enter__(self) -> "InChild":
        return self

    def __exit__(self, *exc) -> None:
        """Leaving without `result()` (the parent's own work failed): the child is still reaped, not left a
        zombie, and the collector walks everything again."""
        if self.pid is not None:
            self._wait()
            self._file.close()
