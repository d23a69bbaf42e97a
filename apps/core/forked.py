"""Work done in a forked child process while this one goes on: a report's CSV is written on the second core
while WeasyPrint draws its PDF on the first.

The child gets a copy-on-write snapshot of this process (the rows are not sent anywhere) and must only compute
bytes from what it was given: it touches no database connection, no cache, no logging, and leaves with
`os._exit`, so nothing of the parent's (atexit handlers, connections, Celery's state) runs in it. The bytes come
back through an unnamed temporary file. When the child cannot be started (no fork on the platform,
TOLLGATE_FORK_WORK=False) or does not finish cleanly, `result()` computes the same bytes here: the caller gets
its answer either way, only sooner when the child did the work.
"""

import gc
import os
import tempfile
from collections.abc import Callable

from django.conf import settings


def _may_fork() -> bool:
    return hasattr(os, "fork") and getattr(settings, "TOLLGATE_FORK_WORK", True)


class InChild:
    """`fn()` (bytes) started in a child process; `result()` waits for them."""

    def __init__(self, fn: Callable[[], bytes]):
        self._fn = fn
        self.pid: int | None = None
        self._file = None
        if not _may_fork():
            return
        self._file = tempfile.TemporaryFile()
        # the objects alive now (the rows fn reads) go to the collector's permanent generation: neither process
        # walks them again, and the child does not copy every page of them by touching their GC headers
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
                self._file.write(fn())
                self._file.flush()
                code = 0
            finally:
                os._exit(code)
        self.pid = pid

    def _wait(self) -> bool:
        """Reap the child; whether it finished cleanly."""
        pid, self.pid = self.pid, None
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:  # reaped by someone else: its exit status is unknown
            return False
        finally:
            gc.unfreeze()
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
