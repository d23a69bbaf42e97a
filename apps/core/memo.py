"""Answers remembered for the length of one page's reads.

A request's page checks every transition open from its state, and the gates of those transitions ask the same
questions again and again: the request's windows (for the freeze gate, the conflict gate and the conflict
detection), the systems it touches, who holds which duty on it, its current CAB review. Inside a `reading()`
block a function decorated with `@per_page` answers each question once; outside one (every service, every
write, every gate checked before a transition) it reads afresh, so nothing a write changed is ever answered
from memory.

    with memo.reading():
        checklist = services.next_transitions_split(upgrade, user)
"""

import contextvars
import copy
import functools
from contextlib import contextmanager

_answers: contextvars.ContextVar[dict | None] = contextvars.ContextVar("tollgate_page_memo", default=None)


@contextmanager
def reading():
    """Remember the answers of @per_page functions until the block ends (nested blocks share the outer one)."""
    if _answers.get() is not None:
        yield
        return
    token = _answers.set({})
    try:
        yield
    finally:
        _answers.reset(token)


def _key_part(value):
    pk = getattr(value, "pk", None)
    return (type(value).__name__, pk) if pk is not None else value


def per_page(func):
    """Remember `func(*args)` inside reading(), keyed by its arguments (model instances by class and pk). Each
    caller gets its own shallow copy of a list, set or dict, so one caller sorting or adding to it changes
    nothing for the next."""
    @functools.wraps(func)
    def wrapper(*args):
        answers = _answers.get()
        if answers is None:
            return func(*args)
        key = (func.__module__, func.__qualname__, *(_key_part(a) for a in args))
        try:
            hash(key)
        except TypeError:  # an unsaved model instance, a list: nothing to tell it by, so it is read afresh
            return func(*args)
        if key not in answers:
            answers[key] = func(*args)
        value = answers[key]
        return copy.copy(value) if isinstance(value, (list, set, dict)) else value
    return wrapper
