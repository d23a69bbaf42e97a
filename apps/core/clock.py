"""A controllable clock.

Services ask `clock.now()` instead of `timezone.now()` so the demo seed can
build twelve months of genuine history through the same services, and tests can
pin the date.
"""

import contextlib
import contextvars
import datetime as dt

from django.utils import timezone

_frozen: contextvars.ContextVar[dt.datetime | None] = contextvars.ContextVar("tollgate_clock", default=None)


def now() -> dt.datetime:
    value = _frozen.get()
    return value if value is not None else timezone.now()


@contextlib.contextmanager
def frozen(moment: dt.datetime):
    if timezone.is_naive(moment):
        raise ValueError("the clock takes aware datetimes only")
    token = _frozen.set(moment)
    try:
        yield
    finally:
        _frozen.reset(token)


def set_to(moment: dt.datetime) -> None:
    """Move a frozen clock forward inside a `frozen` block."""
    if _frozen.get() is None:
        raise RuntimeError("set_to() works only inside clock.frozen()")
    _frozen.set(moment)
