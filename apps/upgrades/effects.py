"""What other apps do when a request takes a transition, inside the same transaction.

`register(transition, name, owner, effect)`; the effect is called as
`effect(request=, by=, transition=, reason=)` after the new state is saved and
before the transition's audit event, in the transaction that holds the
request's row lock: submitting to CAB freezes the plan version and opens the
review, a replan marks old votes stale, starting execution opens the run. An
effect that raises rolls the whole transition back. Effects run in the order of
INSTALLED_APPS (rollouts before cab before execution), then registration order.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Effect:
    transition: str
    name: str
    owner: str
    run: Callable


_effects: dict[str, list[Effect]] = defaultdict(list)


def register(transition: str, name: str, owner: str, effect: Callable) -> None:
    from .workflow import TRANSITIONS

    if transition not in TRANSITIONS:
        raise ValueError(f"unknown transition {transition}")
    if any(e.name == name for e in _effects[transition]):
        return
    _effects[transition].append(Effect(transition, name, owner, effect))


def unregister(transition: str, name: str) -> None:
    _effects[transition] = [e for e in _effects.get(transition, []) if e.name != name]


def effects_for(transition: str) -> list[Effect]:
    return list(_effects.get(transition, []))


def run_effects(*, request, by, transition: str, reason: str) -> None:
    for effect in effects_for(transition):
        effect.run(request=request, by=by, transition=transition, reason=reason)


# --- when the requested window moves (no transition: an edit) ---------------------------------------------

_window_moved: list[Callable] = []


def register_window_moved(effect: Callable) -> None:
    """`effect(request=, by=)`, called inside upgrade_update's transaction after the window changed."""
    if effect not in _window_moved:
        _window_moved.append(effect)


def run_window_moved(*, request, by) -> None:
    for effect in list(_window_moved):
        effect(request=request, by=by)
