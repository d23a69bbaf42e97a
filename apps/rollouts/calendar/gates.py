"""The calendar's gates and effects on upgrade transitions.

Freezes are enforced on submit_to_cab (a window overlaps a freeze), schedule and start (now inside a freeze,
or a window overlaps one); the refusal names the freeze. Conflicts are checked live at the gate (so a change
booked since the last refresh still counts) and stored by an effect on every transition.
"""

from apps.core import clock

from ..models import ConflictKind, ConflictStatus
from . import conflicts as detection
from . import selectors

OWNER = "rollouts"


def _window_freezes(request) -> list[str]:
    reasons, seen = [], set()
    for w in selectors.request_windows(request):
        for freeze in selectors.freezes_blocking(request, w.start, w.end, systems=w.systems):
            if freeze.pk not in seen:
                seen.add(freeze.pk)
                reasons.append(f"{w.label}: " + selectors.freeze_refusal(freeze))
    return reasons


def no_freeze_overlap(request) -> list[str]:
    return _window_freezes(request)


def not_now_in_freeze(request) -> list[str]:
    now = clock.now()
    return [f"It is now inside the freeze “{f.name}” (until {f.ends_at:%Y-%m-%d %H:%M} UTC): {f.reason} "
            f"Wait for it to end, or request a freeze exception from the CAB."
            for f in selectors.freezes_blocking(request, now, now)]


def no_open_conflict(request) -> list[str]:
    """Conflicts found now that nobody accepted (freezes have their own gate)."""
    from ..models import Conflict

    accepted = set(Conflict.objects.filter(request=request, status=ConflictStatus.ACCEPTED).values_list(
        "key", flat=True))
    return [f"Conflict: {c['detail']} Move the window, or accept the conflict with a justification on the "
            f"request's schedule checks page."
            for c in detection.detect(request)
            if c["kind"] != ConflictKind.FREEZE and c["key"] not in accepted]


def refresh_effect(*, request, by, transition, reason) -> None:
    from .services import conflicts_refresh

    conflicts_refresh(request=request, by=by)


def window_moved_effect(*, request, by) -> None:
    """The requested window moved (an edit, no transition): the stored conflicts follow at once."""
    from .services import conflicts_refresh

    conflicts_refresh(request=request, by=by)


def register_gates() -> None:
    from apps.upgrades import effects, gates
    from apps.upgrades.workflow import TRANSITIONS

    gates.register("submit_to_cab", "calendar_no_freeze_overlap", OWNER, no_freeze_overlap)
    gates.register("submit_to_cab", "calendar_no_open_conflict", OWNER, no_open_conflict)
    gates.register("schedule", "calendar_no_freeze_overlap", OWNER, no_freeze_overlap)
    gates.register("schedule", "calendar_no_open_conflict", OWNER, no_open_conflict)
    gates.register("start", "calendar_not_now_in_freeze", OWNER, not_now_in_freeze)
    gates.register("start", "calendar_no_freeze_overlap", OWNER, no_freeze_overlap)
    gates.register("start", "calendar_no_open_conflict", OWNER, no_open_conflict)
    for name in TRANSITIONS:
        effects.register(name, "calendar_conflicts_refresh", OWNER, refresh_effect)
    effects.register_window_moved(window_moved_effect)

    from apps.core import inbox

    inbox.register("rollouts.calendar.conflicts", selectors.inbox_conflicts)
