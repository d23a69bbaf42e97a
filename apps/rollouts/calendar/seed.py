"""What the change calendar adds to the demo, and the hooks that let the demo's history (and tests' drive())
pass the calendar's gates.

The demo gets a year-end freeze for the whole bank, a regional quarter-end freeze and approved windows for a
few systems. The freezes are placed after every window of the demo's history (which reaches at most about
six weeks past the moment the demo is built), so no historical request needs a freeze exception; the
conflicts the history does create (two changes on one system on the same weekend night, a change outside a
system's approved window) are accepted by the requester with a written justification, through the service.
"""

import datetime as dt

from django.utils import timezone

from apps.accounts.choices import Role
from apps.core.seed import register_before

from ..models import ApprovedWindow, ConflictKind, Freeze, FreezeScope
from . import selectors, services

YEAR_END = "Year-end freeze"
QUARTER_END = "EU-central quarter-end closing freeze"
CLEAR_OF_HISTORY = dt.timedelta(weeks=10)
JUSTIFICATION = ("Accepted: the changes were coordinated in the weekly change meeting; the teams run them "
                 "one after another inside the window and share one bridge call.")
APPROVED = [
    # system slug, label, rule, local start, minutes, zone
    ("core-ledger", "Saturday night maintenance", "FREQ=WEEKLY;BYDAY=SA", dt.time(22, 0), 480, "Europe/Berlin"),
    ("payments-hub", "Saturday night maintenance", "FREQ=WEEKLY;BYDAY=SA", dt.time(22, 0), 480, "Europe/Berlin"),
    ("data-warehouse", "Sunday early morning", "FREQ=WEEKLY;BYDAY=SU", dt.time(1, 0), 240, "Europe/Berlin"),
]


def _is_demo(users: dict) -> bool:
    from apps.core.seed import data

    return set(data.USERNAMES) <= set(users)


def _admin(users: dict):
    return next(u for u in users.values() if u is not None and u.has_role(Role.ADMIN))


def _seed_material(users: dict) -> None:
    """Freezes and approved windows, created once, the first time the demo's history needs the calendar."""
    if Freeze.objects.filter(name=YEAR_END).exists():
        return
    from apps.inventory.models import System

    admin = _admin(users)
    # the demo is built "now" (the wall clock); its history's windows end within about six weeks of it
    clear = timezone.now() + CLEAR_OF_HISTORY
    year = clear.year if dt.datetime(clear.year, 12, 15, tzinfo=dt.UTC) > clear else clear.year + 1
    services.freeze_create(
        by=admin, name=YEAR_END, scope=FreezeScope.ORGANISATION,
        reason="Year-end closing and peak card traffic: no production changes across the bank.",
        starts_at=dt.datetime(year, 12, 15, 0, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(year + 1, 1, 6, 0, 0, tzinfo=dt.UTC))
    quarter = dt.datetime(clear.year, 3, 27, tzinfo=dt.UTC)
    while quarter <= clear:
        quarter = dt.datetime(quarter.year + 1, 3, 27, tzinfo=dt.UTC)
    if System.objects.filter(region="eu-central").exists():
        services.freeze_create(
            by=admin, name=QUARTER_END, scope=FreezeScope.REGION, region="eu-central",
            reason="Quarter-end closing of the ledger and regulatory reporting for the EU-central entities.",
            starts_at=quarter, ends_at=quarter + dt.timedelta(days=7))
    systems = {s.slug: s for s in System.objects.filter(slug__in=[a[0] for a in APPROVED])}
    for slug, label, rule, start, minutes, tz in APPROVED:
        if slug in systems and not ApprovedWindow.objects.filter(system=systems[slug], label=label).exists():
            services.approved_window_create(
                by=admin, system=systems[slug], label=label, rrule=rule, start_time=start, duration_minutes=minutes,
                timezone=tz, valid_from=dt.date(2025, 1, 1), valid_until=None)


def accept_history_conflicts(*, request, by, users) -> None:
    """Before submit_to_cab, schedule and start: store the request's conflicts and have its requester accept
    the ones that may be accepted (the demo's history and tests' plain requests coordinate them)."""
    if _is_demo(users):
        _seed_material(users)
    if not selectors.request_windows(request):
        return
    services.conflicts_refresh(request=request, by=by)
    for conflict in selectors.open_conflicts(request):
        if conflict.kind != ConflictKind.FREEZE:
            services.conflict_accept(conflict=conflict, justification=JUSTIFICATION, by=request.requester)


def register() -> None:
    for transition in ("submit_to_cab", "schedule", "start"):
        register_before(transition, accept_history_conflicts)
