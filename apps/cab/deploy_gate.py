"""The deployment gate: may a pipeline deploy this request to this environment now?

Each check gives a line a person reads in the pipeline's log. A failed check is either
*pending* (it may clear in the normal course: votes, the window opening, a condition to
acknowledge, pre-checks to run) or *prevented* (it will not clear by waiting: rejected,
cancelled, the window is over, a freeze without an exception). The answer is "allowed"
when every check passes, else "prevented" when any check prevents, else "pending".

Other apps' reads (R1's plan windows, R2's freezes, E2's pre-checks) are imported inside
the functions: they are contracts of the same release. While one of them is not
installed the check says so and is skipped.
"""

from dataclasses import dataclass

from apps.core import clock
from apps.upgrades.choices import State

ALLOWED, PENDING, PREVENTED = "allowed", "pending", "prevented"
DEPLOYABLE = {State.APPROVED, State.SCHEDULED, State.IN_PROGRESS}
NOT_YET = {State.DRAFT, State.ASSESSING, State.PLANNING, State.CAB_REVIEW}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str
    outcome: str = ""  # for a failed check: pending or prevented

    def as_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "message": self.message,
                "outcome": None if self.ok else self.outcome}


def _fmt(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _windows(request, environment) -> list[tuple]:
    try:
        from apps.rollouts.selectors import plan_windows
    except ImportError:
        windows = ([(request.window_start, request.window_end, None)]
                   if request.window_start and request.window_end else [])
    else:
        windows = list(plan_windows(request))
    if environment is not None:
        windows = [w for w in windows
                   if w[2] is None or getattr(w[2], "environment_id", None) in (None, environment.pk)]
    return [w for w in windows if w[0] is not None and w[1] is not None]


def _state_check(request) -> Check:
    label = request.get_state_display().lower()
    if request.state in DEPLOYABLE:
        return Check("approved", True, f"Approved by the CAB ({label}).")
    if request.state in NOT_YET:
        return Check("approved", False, f"Not approved by the CAB yet: the request is {label}.", PENDING)
    return Check("approved", False, f"The request is {label}; nothing may be deployed under it.", PREVENTED)


def _conditions_check(request) -> Check:
    from .selectors import conditions_unacknowledged

    open_conditions = conditions_unacknowledged(request) if request.state in DEPLOYABLE else []
    if open_conditions:
        texts = "; ".join(c.text[:120] for c in open_conditions)
        return Check("conditions", False,
                     f"{len(open_conditions)} approval condition{'s' if len(open_conditions) != 1 else ''} "
                     f"not acknowledged by the implementer: {texts}", PENDING)
    return Check("conditions", True, "Every approval condition is acknowledged (or there are none).")


def _window_check(request, environment, now) -> tuple[Check, tuple | None]:
    windows = sorted(_windows(request, environment), key=lambda w: w[0])
    where = f" for {environment.name}" if environment is not None else ""
    if not windows:
        return Check("window", False, f"No approved window{where} in the plan.", PENDING), None
    for start, end, _ in windows:
        if start <= now < end:
            return Check("window", True, f"Inside the approved window{where}: {_fmt(start)} – {_fmt(end)}."), \
                (start, end)
    upcoming = [w for w in windows if w[0] > now]
    if upcoming:
        start, end, _ = upcoming[0]
        return Check("window", False, f"Outside the approved window{where}: it opens {_fmt(start)} "
                                      f"(until {_fmt(end)}).", PENDING), None
    return Check("window", False, f"The approved window{where} ended {_fmt(windows[-1][1])}; replan for a new "
                                  "window.", PREVENTED), None


def _freeze_check(request, now, window) -> Check:
    import datetime as dt

    try:
        from apps.rollouts.calendar.selectors import freezes_blocking
    except ImportError:
        return Check("freeze", True, "Freeze calendar not installed: no freeze to check.")
    end = window[1] if window else now + dt.timedelta(minutes=1)
    blocking = list(freezes_blocking(request, now, max(end, now + dt.timedelta(minutes=1))))
    if blocking:
        names = "; ".join(f"{f.name} ({_fmt(f.starts_at)} – {_fmt(f.ends_at)})" for f in blocking)
        return Check("freeze", False, f"Inside a change freeze without an approved exception: {names}.", PREVENTED)
    return Check("freeze", True, "Outside every change freeze (or covered by an approved freeze exception).")


def _precheck_check(request, now) -> Check:
    try:
        from apps.execution.selectors import precheck_reasons
    except ImportError:
        return Check("prechecks", True, "Execution tracking not installed: no pre-checks to wait for.")
    reasons = list(precheck_reasons(request, now=now))
    if reasons:
        return Check("prechecks", False, "Pre-checks not green: " + " ".join(reasons), PENDING)
    return Check("prechecks", True, "Pre-checks are green.")


def gate_evaluate(*, request, environment=None, now=None) -> dict:
    """{"decision": allowed|pending|prevented, "reasons": [...], "checks": [...]} for deploying now."""
    now = now or clock.now()
    checks = [_state_check(request)]
    if request.state in DEPLOYABLE:
        checks.append(_conditions_check(request))
    window_check, window = _window_check(request, environment, now)
    checks.append(window_check)
    checks.append(_freeze_check(request, now, window))
    if request.state in DEPLOYABLE:
        checks.append(_precheck_check(request, now))
    failed = [c for c in checks if not c.ok]
    if not failed:
        decision = ALLOWED
    elif any(c.outcome == PREVENTED for c in failed):
        decision = PREVENTED
    else:
        decision = PENDING
    reasons = [c.message for c in (failed or checks)]
    return {"request": request.reference, "environment": environment.slug if environment is not None else None,
            "decision": decision, "allowed": decision == ALLOWED, "reasons": reasons,
            "checks": [c.as_dict() for c in checks], "checked_at": now.isoformat()}
