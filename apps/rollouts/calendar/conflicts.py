"""Conflict detection for one request's windows against everything else booked.

Each conflict has a stable key (its fingerprint), so the same conflict found again keeps its row — and with
it an acceptance and its justification — while a moved window that no longer collides resolves it.
"""

import datetime as dt

from django.db.models import Q

from apps.inventory.models import Dependency
from apps.upgrades.choices import FINAL_STATES
from apps.upgrades.models import UpgradeRequest, UpgradeRequestUserObjectPermission

from ..models import ConflictKind
from . import selectors, windows as recurring


def _fmt(moment: dt.datetime) -> str:
    return f"{moment.astimezone(dt.UTC):%a %d %b %Y %H:%M} UTC"


def _span(w) -> str:
    return f"{_fmt(w.start)} – {_fmt(w.end)}"


def _implementers(request_ids) -> dict[int, set]:
    rows = UpgradeRequestUserObjectPermission.objects.filter(
        content_object_id__in=request_ids, permission__codename="duty_implementer"
    ).select_related("user")
    result: dict[int, set] = {}
    for row in rows:
        result.setdefault(row.content_object_id, set()).add(row.user)
    return result


def detect(request: UpgradeRequest) -> list[dict]:
    """Every conflict of `request` as it stands now: dicts with key, kind, wave, other_request, freeze,
    system, user, detail. A request in a final state conflicts with nothing."""
    if request.state in FINAL_STATES:
        return []
    mine = selectors.request_windows(request)
    if not mine:
        return []
    found: dict[str, dict] = {}

    def add(key, kind, detail, **refs):
        found.setdefault(key, {"key": key, "kind": kind, "detail": detail, "wave": None, "other_request": None,
                               "freeze": None, "system": None, "user": None, **refs})

    lo, hi = min(w.start for w in mine), max(w.end for w in mine)
    others = selectors.windows_of_requests(
        UpgradeRequest.objects.filter(state__in=selectors.BOOKING_STATES).exclude(pk=request.pk), lo, hi)
    my_systems = {s.pk: s for w in mine for s in w.systems}
    deps = list(Dependency.objects.filter(
        Q(source_system_id__in=my_systems) | Q(target_system_id__in=my_systems)).select_related(
        "source_system", "target_system"))
    implementers = _implementers([request.pk] + [o.request.pk for o in others])
    my_implementers = implementers.get(request.pk, set())

    for w in mine:
        ids = {s.pk for s in w.systems}
        mine_label = f"{w.wave.name}: " if w.wave else ""
        for o in others:
            if not w.overlaps(o):
                continue
            other_ids = {s.pk: s for s in o.systems}
            for system in w.systems:
                if system.pk in other_ids:
                    add(f"same_system:{o.request.pk}:{system.pk}", ConflictKind.SAME_SYSTEM,
                        f"{mine_label}{system.name} is also changed by {o.request.reference} ({o.request.title}) in "
                        f"{o.label}, {_span(o)}.", wave=w.wave, other_request=o.request, system=system)
            for dep in deps:
                for mine_id, theirs_id, verb in ((dep.source_system_id, dep.target_system_id, "depends on"),
                                                 (dep.target_system_id, dep.source_system_id, "is needed by")):
                    if mine_id in ids and theirs_id in other_ids and mine_id != theirs_id:
                        theirs = other_ids[theirs_id]
                        add(f"dependency:{o.request.pk}:{mine_id}:{theirs_id}", ConflictKind.DEPENDENCY,
                            f"{mine_label}{my_systems[mine_id].name} {verb} {theirs.name}, which "
                            f"{o.request.reference} "
                            f"({o.request.title}) changes in {o.label}, {_span(o)}.",
                            wave=w.wave, other_request=o.request, system=theirs)
            for person in my_implementers & implementers.get(o.request.pk, set()):
                add(f"implementer:{person.pk}:{o.request.pk}", ConflictKind.IMPLEMENTER_BOOKED,
                    f"{mine_label}{person.display_name} implements both this change and {o.request.reference} "
                    f"({o.request.title}) in overlapping windows ({o.label}, {_span(o)}).",
                    wave=w.wave, other_request=o.request, user=person)

    approved = selectors.approved_windows_of(list(my_systems.values()))
    for w in mine:
        own = w.wave.name if w.wave else "The requested window"
        for system in w.systems:
            rules = approved.get(system.pk) or []
            if rules and not recurring.covers(rules, w.start, w.end):
                listed = "; ".join(recurring.describe(r) for r in rules)
                add(f"outside:{system.pk}:{w.wave.pk if w.wave else 0}", ConflictKind.OUTSIDE_APPROVED_WINDOW,
                    f"{own} ({_span(w)}) is outside the approved windows of {system.name}: {listed}.",
                    wave=w.wave, system=system)
        for freeze in selectors.freezes_blocking(request, w.start, w.end, systems=w.systems):
            add(f"freeze:{freeze.pk}", ConflictKind.FREEZE,
                f"{own} ({_span(w)}) is inside the freeze “{freeze.name}”: {freeze.reason}",
                wave=w.wave, freeze=freeze)
    return list(found.values())
