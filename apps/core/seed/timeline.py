"""When each step of each demo request happens: a pure computation, no database.

People act in office hours of their own time zone; upgrades run in weekend-night
windows (emergencies: the next night); every step lies in the past of the run,
and the requested window is known when the request is raised.
"""

import datetime as dt
import random
import zoneinfo
from dataclasses import dataclass

from .data import CAB, MANAGERS, USERS
from .requests import DEFAULT_REASONS, Spec

TZ = {u[0]: zoneinfo.ZoneInfo(u[5]) for u in USERS}
EXECUTION = {"start", "hand_to_validation", "complete", "roll_back", "fail"}
# hours between a step and the one before it (min, max)
GAPS = {
    "start_assessment": (20, 72),
    "finish_assessment": (48, 140),
    "submit_to_cab": (24, 96),
    "return_to_planning": (48, 120),
    "approve": (48, 120),
    "reject": (48, 120),
    "schedule": (12, 48),
    "replan": (24, 72),
    "cancel": (24, 120),
    "close": (120, 290),
}
SPEED = {"emergency": 0.2, "standard": 0.7, "normal": 1.0}
# minutes after the step before, inside the window
EXECUTION_GAPS = {"start": (10, 30), "hand_to_validation": (90, 180), "complete": (60, 120),
                  "roll_back": (60, 110), "fail": (60, 120)}
WINDOW_HOURS = {"emergency": 4, "standard": 5, "normal": 6}


class TimelineError(ValueError):
    pass


@dataclass(frozen=True)
class Step:
    at: dt.datetime
    kind: str  # create | revise | update | assign | transition | comment | inventory
    actor: str
    transition: str = ""
    duty: str = ""
    user: str = ""
    text: str = ""


@dataclass
class Plan:
    spec: Spec
    window: tuple[dt.datetime, dt.datetime] | None
    steps: list[Step]

    @property
    def created(self) -> dt.datetime:
        return self.steps[0].at


def office_hours(moment: dt.datetime, username: str, rng: random.Random) -> dt.datetime:
    """The first moment at or after `moment` that falls in the person's working day (09:00-18:00, Mon-Fri)."""
    local = moment.astimezone(TZ[username])
    if local.weekday() < 5 and 9 <= local.hour < 18:
        return moment
    day = local.date() if local.hour < 9 else local.date() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    start = dt.datetime.combine(day, dt.time(9, 0), tzinfo=TZ[username])
    return (start + dt.timedelta(minutes=rng.randint(0, 150))).astimezone(dt.UTC)


def _night_after(moment: dt.datetime, username: str, *, weekend: bool) -> dt.datetime:
    """The next 22:00 on a Saturday (or 23:00 any night, for emergencies) after `moment`, in UTC."""
    local = moment.astimezone(TZ[username])
    day = local.date()
    hour = 22 if weekend else 23
    while True:
        candidate = dt.datetime.combine(day, dt.time(hour, 0), tzinfo=TZ[username])
        if candidate > moment and (not weekend or day.weekday() == 5):
            return candidate.astimezone(dt.UTC)
        day += dt.timedelta(days=1)


Window = tuple[dt.datetime, dt.datetime]


def requested_window(spec: Spec, anchor: dt.datetime, now: dt.datetime) -> Window | None:
    hours = dt.timedelta(hours=WINDOW_HOURS[spec.risk])
    kind, _, arg = spec.window.partition(":")
    if kind == "none":
        return None
    if kind == "now":
        start = (now - dt.timedelta(hours=2)).replace(second=0, microsecond=0)
        start -= dt.timedelta(minutes=start.minute % 15)
        return start, start + hours
    if kind == "last_weekend":
        start = _night_after(now - dt.timedelta(days=8), spec.requester, weekend=True)
        while _night_after(start, spec.requester, weekend=True) + hours < now - dt.timedelta(hours=1):
            start = _night_after(start, spec.requester, weekend=True)
        return start, start + hours
    if kind == "ahead":
        start = _night_after(now + dt.timedelta(days=2), spec.requester, weekend=True)
        return start + dt.timedelta(weeks=int(arg) - 1), start + dt.timedelta(weeks=int(arg) - 1) + hours
    if spec.risk == "emergency":
        start = _night_after(anchor + dt.timedelta(hours=4), spec.requester, weekend=False)
    else:
        start = _night_after(anchor + dt.timedelta(days=2), spec.requester, weekend=True)
    return start, start + hours


def _actor(spec: Spec, transition: str, index: int, counts: dict) -> str:
    other_manager = MANAGERS[1] if spec.requester == MANAGERS[0] else MANAGERS[0]
    if transition == "finish_assessment":
        return other_manager
    if transition in ("approve", "reject", "return_to_planning"):
        counts[transition] = counts.get(transition, 0) + 1
        shift = 1 if transition == "return_to_planning" else 0
        return CAB[(index + shift + counts[transition]) % len(CAB)]
    if transition in ("start", "hand_to_validation", "roll_back"):
        return "implementer"
    if transition == "schedule":
        return "implementer" if index % 2 else spec.requester
    if transition == "complete":
        return "validator"
    if transition == "fail":
        return "validator" if counts.get("validating") else "implementer"
    return spec.requester


def plan_request(spec: Spec, index: int, created: dt.datetime, now: dt.datetime) -> Plan:
    """Every step of one request from `created` on; raises TimelineError if it does not fit before `now`."""
    rng = random.Random(spec.key)
    speed = SPEED[spec.risk]
    assessor = MANAGERS[1] if spec.requester == MANAGERS[0] else MANAGERS[0]
    steps: list[Step] = []
    comments = list(spec.comments)

    def add(step: Step) -> None:
        steps.append(step)
        for item in [c for c in comments if c[0] == (step.transition or step.kind)]:
            comments.remove(item)
            at = step.at + dt.timedelta(minutes=rng.randint(15, 45))
            steps.append(Step(at, "comment", item[1], text=item[2]))

    t = created
    if spec.revises:
        add(Step(t, "revise", spec.requester))
        t += dt.timedelta(minutes=20)
        steps.append(Step(t, "update", spec.requester, text=spec.justification))
    else:
        add(Step(t, "create", spec.requester))
    t += dt.timedelta(minutes=7)
    steps.append(Step(t, "assign", spec.requester, duty="assessor", user=assessor))

    window = None if spec.window == "auto" else requested_window(spec, t, now)
    counts: dict = {}
    people_assigned = False
    for transition in spec.path:
        actor = _actor(spec, transition, index, counts)
        if transition in EXECUTION:
            if window is None:
                window = requested_window(spec, t, now)
            low, high = EXECUTION_GAPS[transition]
            base = window[0] if transition == "start" else t
            # shorter windows, quicker hands: the whole run fits inside the window
            at = base + dt.timedelta(minutes=rng.randint(low, high) * WINDOW_HOURS[spec.risk] / 6)
        else:
            low, high = GAPS[transition]
            at = office_hours(t + dt.timedelta(hours=rng.uniform(low, high) * speed), actor, rng)
        assigns_people = transition == "submit_to_cab" and not people_assigned
        if at - dt.timedelta(minutes=25 if assigns_people else 0) <= t:
            raise TimelineError(f"{spec.key}: {transition} would come before the step it follows")
        if assigns_people:
            people_assigned = True
            for offset, duty in ((25, "implementer"), (24, "validator")):
                when = at - dt.timedelta(minutes=offset)
                steps.append(Step(when, "assign", spec.requester, duty=duty, user=duty))
        if transition == "hand_to_validation":
            counts["validating"] = 1
        reason = spec.reasons.get(transition, DEFAULT_REASONS.get(transition, ""))
        add(Step(at, "transition", actor, transition=transition, text=reason))
        if transition == "complete":
            steps.append(Step(at + dt.timedelta(minutes=35), "inventory", "admin"))
        t = max(s.at for s in steps)
    if window is None:
        # a request that has not run asks for a window some way off; one still open, in the coming weeks
        anchor = t + dt.timedelta(days=9)
        if not spec.path or spec.path[-1] not in ("cancel", "reject"):
            anchor = max(anchor, now + dt.timedelta(days=7))
        window = requested_window(spec, anchor, now)
    if comments:
        raise TimelineError(f"{spec.key}: comments after steps it never takes: {comments}")
    _check(spec, steps, window, now)
    return Plan(spec=spec, window=window, steps=steps)


def _check(spec: Spec, steps: list[Step], window, now: dt.datetime) -> None:
    if max(s.at for s in steps) >= now - dt.timedelta(minutes=5):
        raise TimelineError(f"{spec.key}: its history would reach into the future")
    starts = [s for s in steps if s.transition == "start"]
    if starts and window is not None:
        before = [s.at for s in steps if s.at < starts[0].at]
        if max(before) > window[0] - dt.timedelta(hours=4):
            raise TimelineError(f"{spec.key}: scheduled too close to its window")


def plan_all(specs: list[Spec], now: dt.datetime) -> list[Plan]:
    plans: dict[str, Plan] = {}
    for index, spec in enumerate(specs):
        if spec.revises:
            original = plans[spec.revises]
            created = original.steps[-1].at + dt.timedelta(days=2)
            created = office_hours(created, spec.requester, random.Random(spec.key))
            plans[spec.key] = plan_request(spec, index, created, now)
            continue
        rng = random.Random(spec.key)
        created = now - dt.timedelta(days=spec.days_ago, minutes=rng.randint(-300, 300))
        created = office_hours(created, spec.requester, rng)
        for _ in range(40):
            try:
                plans[spec.key] = plan_request(spec, index, created, now)
                break
            except TimelineError:
                created -= dt.timedelta(weeks=1)
        else:
            plans[spec.key] = plan_request(spec, index, created, now)  # raises with the reason
    return list(plans.values())
