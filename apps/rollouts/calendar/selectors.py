"""Reads of the change calendar shared by pages, API, feeds and gates.

A request books time through its plan's wave windows, or, while the plan has none, through its requested
window. `windows_of_requests` reads those for many requests in a fixed number of queries, so the calendar's
query count does not grow with the number of windows.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import BigIntegerField, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Cast, Extract, Floor

from apps.core import clock
from apps.core.memo import per_page
from apps.inventory.models import System
from apps.upgrades.choices import State
from apps.upgrades.models import UpgradeItem, UpgradeRequest
from apps.upgrades.selectors import upgrade_visible

from ..models import (
    ApprovedWindow,
    CalendarFeed,
    Conflict,
    ConflictStatus,
    ExceptionStatus,
    Freeze,
    FreezeException,
    FreezeScope,
    Wave,
)

# requests whose windows book systems and people (a draft has not asked for anything yet)
BOOKING_STATES = [State.ASSESSING, State.PLANNING, State.CAB_REVIEW, State.APPROVED, State.SCHEDULED,
                  State.IN_PROGRESS, State.VALIDATING]
HIDDEN_FROM_CALENDAR = [State.CANCELLED, State.REJECTED]
FILTER_KEYS = ("system", "team", "region", "risk")


@dataclass
class Window:
    """One booked window of a request: a wave's window or the request's requested window."""

    request: UpgradeRequest
    start: dt.datetime
    end: dt.datetime
    wave: Wave | None
    systems: list[System] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.request.reference} {self.wave.name}" if self.wave else self.request.reference

    def overlaps(self, other: "Window") -> bool:
        return self.start < other.end and other.start < self.end


def _unwaved(requests: QuerySet) -> QuerySet:
    """Requests with no wave window: they book their requested window (a request with any wave window is
    booked by its waves only). A correlated NOT EXISTS: PostgreSQL probes the plan's waves of each candidate
    instead of hashing every waved request of the organisation."""
    return requests.filter(~Exists(Wave.objects.filter(plan__request=OuterRef("pk"), window_start__isnull=False)))


# what windows, their readers (pages, API, feed, conflicts, gates) and the freeze checks use of a request and of
# a system: a month of a large organisation is thousands of requests, and their long texts are not needed here
REQUEST_FIELDS = ("pk", "reference", "title", "risk_class", "state", "window_start", "window_end")
SYSTEM_FIELDS = ("pk", "name", "slug", "region", "owner_team_id", "criticality", "timezone")


@dataclass(frozen=True, slots=True)
class SystemRef:
    """What the calendar's readers show of a system (a page's names, the API's slugs): thousands of them for a
    month of a large organisation cost less as these than as model instances."""

    pk: int
    name: str
    slug: str
    region: str
    owner_team_id: int | None


def _systems_of(request_ids, wave_ids, light: bool = False) -> tuple[dict, dict]:
    """{request id: [systems of its items, in item order]} and {wave id: [its systems, by name]}, each system
    loaded once however many requests and waves share it: prefetching items with their systems
    built a related manager and a system per item, the most of the API's time for a month of a large
    organisation."""
    # sorted here, not by the database: ORDER BY id made PostgreSQL walk the whole items index
    items = sorted(UpgradeItem.objects.filter(request_id__in=request_ids).order_by().values_list(
        "id", "request_id", "system_id")) if request_ids else []
    items = [(request_id, system_id) for _, request_id, system_id in items]
    through = Wave.systems.through
    wave_rows = list(through.objects.filter(wave_id__in=wave_ids).values_list("wave_id", "system_id")) \
        if wave_ids else []
    ids = {sid for _, sid in items} | {sid for _, sid in wave_rows}
    if not ids:
        systems = {}
    elif light:
        systems = {row[0]: SystemRef(*row) for row in System.objects.filter(pk__in=ids).order_by().values_list(
            "pk", "name", "slug", "region", "owner_team_id")}
    else:
        systems = System.objects.only(*SYSTEM_FIELDS).in_bulk(ids)
    of_request: dict[int, list[System]] = {}
    for request_id, system_id in items:
        of_request.setdefault(request_id, []).append(systems[system_id])
    of_wave: dict[int, list[System]] = {}
    for wave_id, system_id in wave_rows:
        of_wave.setdefault(wave_id, []).append(systems[system_id])
    for listed in of_wave.values():
        listed.sort(key=lambda x: (x.name, x.pk))
    return of_request, of_wave


def windows_of_requests(requests: QuerySet, start: dt.datetime | None = None,
                        end: dt.datetime | None = None, light: bool = False) -> list[Window]:
    """The booked windows of `requests` (optionally only those overlapping [start, end)), in time order.
    `light`: their systems as SystemRef, for readers that only show them (not the conflict checks)."""
    requests = requests.order_by().only(*REQUEST_FIELDS)
    waves = Wave.objects.filter(plan__request__in=requests.values("pk"), window_start__isnull=False,
                                window_end__isnull=False)
    if start is not None:
        waves = waves.filter(window_start__lt=end, window_end__gt=start)
    plain = _unwaved(requests.filter(window_start__isnull=False, window_end__isnull=False))
    if start is not None:
        plain = plain.filter(window_start__lt=end, window_end__gt=start)
    plain = list(plain)
    wave_list = list(waves.order_by().select_related("plan"))
    owners = {r.pk: r for r in requests.filter(pk__in={w.plan.request_id for w in wave_list})} if wave_list else {}
    of_request, of_wave = _systems_of({r.pk for r in plain} | set(owners), {w.pk for w in wave_list}, light)
    result = [Window(r, r.window_start, r.window_end, None, _distinct(of_request.get(r.pk, []))) for r in plain]
    for wave in wave_list:
        request = owners[wave.plan.request_id]
        systems = of_wave.get(wave.pk) or _distinct(of_request.get(request.pk, []))
        result.append(Window(request, wave.window_start, wave.window_end, wave, systems))
    result.sort(key=lambda w: (w.start, w.request.reference, w.wave.position if w.wave else 0))
    return result


def window_keys(requests: QuerySet, start: dt.datetime, end: dt.datetime) -> list[tuple]:
    """(start, end, reference, request id, wave id or None, wave position) of every window that
    windows_of_requests would give for [start, end), start and end as whole Unix seconds, from two narrow queries
    and no model instances: the month grid counts thousands of windows per month but draws only a few per day
    (PostgreSQL gives the seconds: reading 5,000 timestamps with their time zone cost more than the query)."""
    requests = requests.order_by()
    waves = Wave.objects.filter(plan__request__in=requests.values("pk"), window_start__isnull=False,
                                window_end__isnull=False, window_start__lt=end, window_end__gt=start).order_by()
    plain = _unwaved(requests.filter(window_start__isnull=False, window_end__isnull=False, window_start__lt=end,
                                     window_end__gt=start))
    if connection.vendor == "postgresql":
        def seconds(name):
            return Cast(Floor(Extract(name, "epoch", tzinfo=dt.UTC)), BigIntegerField())
    else:
        def seconds(name):
            return F(name)
    rows = [(a, b, ref, pk, None, 0) for a, b, ref, pk in plain.values_list(
        seconds("window_start"), seconds("window_end"), "reference", "pk")]
    rows += list(waves.values_list(seconds("window_start"), seconds("window_end"), "plan__request__reference",
                                   "plan__request_id", "pk", "position"))
    if connection.vendor != "postgresql":
        rows = [(int(r[0].timestamp()), int(r[1].timestamp()), *r[2:]) for r in rows]
    rows.sort(key=lambda r: (r[0], r[2], r[5]))
    return rows


def _distinct(systems) -> list[System]:
    seen = {}
    for s in systems:
        seen.setdefault(s.pk, s)
    return list(seen.values())


@per_page
def request_windows(request: UpgradeRequest) -> list[Window]:
    return windows_of_requests(UpgradeRequest.objects.filter(pk=request.pk))


@per_page
def request_systems(request: UpgradeRequest) -> list[System]:
    """Every system the request touches: its items and its waves."""
    ids = set(request.items.values_list("system_id", flat=True))
    ids |= set(Wave.systems.through.objects.filter(wave__plan__request=request).values_list("system_id", flat=True))
    return list(System.objects.filter(pk__in=ids))


# --- freezes ------------------------------------------------------------------------------------------


def freezes_overlapping(start: dt.datetime, end: dt.datetime) -> QuerySet:
    return Freeze.objects.filter(lifted_at__isnull=True, starts_at__lt=end, ends_at__gt=start).prefetch_related(
        "systems")


def freeze_applies(freeze: Freeze, systems: list[System]) -> bool:
    if freeze.scope == FreezeScope.ORGANISATION:
        return True
    if freeze.scope == FreezeScope.REGION:
        return any(s.region == freeze.region for s in systems)
    frozen = {s.pk for s in freeze.systems.all()}
    return any(s.pk in frozen for s in systems)


def exempted_freeze_ids(request: UpgradeRequest) -> set[int]:
    """Freezes this request may act inside: an approved exception that has not expired."""
    now = clock.now()
    return set(
        FreezeException.objects.filter(request=request, status=ExceptionStatus.APPROVED)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .values_list("freeze_id", flat=True)
    )


def freezes_blocking(request: UpgradeRequest, start: dt.datetime, end: dt.datetime,
                     systems: list[System] | None = None) -> list[Freeze]:
    """Freezes overlapping [start, end) that apply to the request's systems and that no approved, unexpired
    freeze exception of the request covers."""
    if end <= start:
        end = start + dt.timedelta(seconds=1)  # "now" as an instant
    systems = request_systems(request) if systems is None else systems
    candidates = [f for f in freezes_overlapping(start, end) if freeze_applies(f, systems)]
    if not candidates:
        return []
    exempt = exempted_freeze_ids(request)
    return [f for f in candidates if f.pk not in exempt]


def freeze_list(*, include_past: bool = False) -> QuerySet:
    qs = Freeze.objects.prefetch_related("systems").select_related("created_by")
    if not include_past:
        qs = qs.filter(ends_at__gt=clock.now(), lifted_at__isnull=True)
    return qs.order_by("starts_at")


def freeze_refusal(freeze: Freeze) -> str:
    """The words a refused transition uses: they name the freeze."""
    return (f"The window overlaps the freeze “{freeze.name}” ({freeze.starts_at:%Y-%m-%d %H:%M} – "
            f"{freeze.ends_at:%Y-%m-%d %H:%M} UTC): {freeze.reason} Move the window, or request a freeze "
            f"exception from the CAB on the request's schedule checks page.")


def freeze_exceptions_of(request: UpgradeRequest) -> QuerySet:
    return FreezeException.objects.filter(request=request).select_related("request", "freeze", "requested_by",
                                                                          "decided_by")


def freeze_exceptions_pending() -> QuerySet:
    """Exceptions waiting for the CAB's decision (the CAB board lists them)."""
    return FreezeException.objects.filter(status=ExceptionStatus.REQUESTED).select_related(
        "freeze", "request", "requested_by")


# --- approved windows ---------------------------------------------------------------------------------


def approved_windows_of(systems: list[System]) -> dict[int, list[ApprovedWindow]]:
    today = clock.now().date()
    by_system: dict[int, list[ApprovedWindow]] = {s.pk: [] for s in systems}
    qs = ApprovedWindow.objects.filter(system__in=[s.pk for s in systems]).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=today - dt.timedelta(days=366)))
    for window in qs:
        by_system[window.system_id].append(window)
    return by_system


def approved_window_list(*, system: System | None = None) -> QuerySet:
    qs = ApprovedWindow.objects.select_related("system", "created_by")
    if system is not None:
        qs = qs.filter(system=system)
    return qs


# --- conflicts ----------------------------------------------------------------------------------------


def conflicts_of(request: UpgradeRequest, *, include_resolved: bool = False) -> QuerySet:
    qs = Conflict.objects.filter(request=request).select_related(
        "other_request", "freeze", "system", "user", "wave", "decided_by")
    if not include_resolved:
        qs = qs.exclude(status=ConflictStatus.RESOLVED)
    return qs


def open_conflicts(request: UpgradeRequest) -> list[Conflict]:
    return list(conflicts_of(request).filter(status=ConflictStatus.OPEN))


# --- the calendar -------------------------------------------------------------------------------------


@dataclass
class Entry:
    """One thing on the calendar: a booked window or a freeze."""

    kind: str  # "window" or "freeze"
    uid: str
    title: str
    start: dt.datetime
    end: dt.datetime
    description: str
    url: str
    request: UpgradeRequest | None = None
    wave: Wave | None = None
    freeze: Freeze | None = None
    systems: list[System] = field(default_factory=list)
    span: str = ""  # "HH:MM–HH:MM" in the reader's zone, set by the pages (cheaper than two date filters)
    when: str = ""  # "Tue 1 Dec 10:00 – Tue 1 Dec 14:00 CET", likewise


def calendar_filters(data) -> tuple[dict, dict]:
    """(filters, errors) from query parameters: system (an id or, as typed on the pages, a slug) and team are
    ids, region a name, risk a risk class."""
    from apps.upgrades.choices import RiskClass

    filters, errors = {}, {}
    for key in ("system", "team"):
        value = str(data.get(key) or "").strip()
        if value:
            if value.isdigit() and len(value) < 10:
                filters[key] = int(value)
            elif key == "system" and len(value) <= 100 and "\x00" not in value and (
                    pk := System.objects.filter(slug=value).values_list("pk", flat=True).first()):
                filters[key] = pk
            else:
                errors[key] = f"Choose a {key} from the list."
    region = str(data.get("region") or "").strip()
    if region:
        if len(region) > 40 or "\x00" in region:
            errors["region"] = "Choose a region from the list."
        else:
            filters["region"] = region
    risk = str(data.get("risk") or "").strip()
    if risk:
        if risk not in RiskClass.values:
            errors["risk"] = f"Choose one of: {', '.join(RiskClass.values)}."
        else:
            filters["risk"] = risk
    return filters, errors


def _filtered_requests(user, filters: dict) -> QuerySet:
    """The visible, not cancelled or rejected requests matching the filters: each filter is an EXISTS (no join,
    so no duplicate rows and no outer `pk IN (...)`): PostgreSQL then narrows by the window's time range first
    and checks visibility and filters only for the requests in range."""
    qs = upgrade_visible(user).exclude(state__in=HIDDEN_FROM_CALENDAR)
    items = UpgradeItem.objects.filter(request=OuterRef("pk"))
    if filters.get("system"):
        qs = qs.filter(Exists(items.filter(system_id=filters["system"]))
                       | Exists(Wave.systems.through.objects.filter(wave__plan__request=OuterRef("pk"),
                                                                    system_id=filters["system"])))
    if filters.get("team"):
        qs = qs.filter(Exists(items.filter(system__owner_team_id=filters["team"])))
    if filters.get("region"):
        qs = qs.filter(Exists(items.filter(system__region=filters["region"])))
    if filters.get("risk"):
        qs = qs.filter(risk_class=filters["risk"])
    return qs.order_by()


def _freeze_matches(freeze: Freeze, filters: dict, systems_by_id: dict) -> bool:
    if freeze.scope == FreezeScope.ORGANISATION:
        return True
    frozen = list(freeze.systems.all())
    if filters.get("system"):
        system = systems_by_id.get(filters["system"])
        if system is None:
            return False
        return freeze_applies(freeze, [system])
    if filters.get("team"):
        return any(s.owner_team_id == filters["team"] for s in frozen) or (
            freeze.scope == FreezeScope.REGION
            and any(s.region == freeze.region for s in systems_by_id.values() if s.owner_team_id == filters["team"]))
    if filters.get("region"):
        if freeze.scope == FreezeScope.REGION:
            return freeze.region == filters["region"]
        return any(s.region == filters["region"] for s in frozen)
    return True


def calendar_window_keys(*, user, start: dt.datetime, end: dt.datetime, filters: dict | None = None) -> list[tuple]:
    """window_keys of the requests `user` may see, filtered like calendar_entries."""
    return window_keys(_filtered_requests(user, filters or {}), start, end)


def calendar_entries(*, user, start: dt.datetime, end: dt.datetime, filters: dict | None = None,
                     only: set | None = None) -> list[Entry]:
    """Windows of the requests `user` may see and the freezes, overlapping [start, end), filtered.

    `only`, a set of (request id, wave id or None) from calendar_window_keys for the same user and filters (so
    already visible and filtered: not checked again, which cost more than the rest), keeps just those windows
    (the week's first few per day, a page of the day)."""
    from django.urls import reverse

    filters = filters or {}
    entries = []
    detail = reverse("upgrades:detail", args=["0"])[:-2]  # once, not per window: references are URL-safe
    if only is not None:
        requests = UpgradeRequest.objects.filter(pk__in={pk for pk, _ in only})
    else:
        requests = _filtered_requests(user, filters)
    for w in windows_of_requests(requests, start, end, light=True):
        if only is not None and (w.request.pk, w.wave.pk if w.wave else None) not in only:
            continue
        names = ", ".join(s.name for s in w.systems)
        title = f"{w.request.reference} {w.wave.name}" if w.wave else w.request.reference
        entries.append(Entry(
            kind="window",
            uid=f"window-{w.request.pk}-{w.wave.pk if w.wave else 0}",
            title=f"{title}: {w.request.title}",
            start=w.start, end=w.end,
            description=(f"{w.request.get_risk_class_display()} change, {w.request.get_state_display().lower()}. "
                         f"Systems: {names or 'none named'}."),
            url=f"{detail}{w.request.reference}/", request=w.request, wave=w.wave, systems=w.systems,
        ))
    entries += calendar_freezes(start=start, end=end, filters=filters)
    entries.sort(key=lambda e: (e.start, e.kind != "freeze", e.title))
    return entries


def calendar_freezes(*, start: dt.datetime, end: dt.datetime, filters: dict | None = None) -> list[Entry]:
    """The freezes overlapping [start, end) that the filters keep (whoever may see the calendar sees them)."""
    filters = filters or {}
    entries = []
    systems_by_id = {}
    if filters.get("system") or filters.get("team"):
        qs = System.objects.all()
        qs = qs.filter(pk=filters["system"]) if filters.get("system") else qs.filter(owner_team_id=filters["team"])
        systems_by_id = {s.pk: s for s in qs}
    scope_filters = {k: v for k, v in filters.items() if k != "risk"}  # a freeze applies to every risk class
    for freeze in freezes_overlapping(start, end):
        if not _freeze_matches(freeze, scope_filters, systems_by_id):
            continue
        scope = freeze.get_scope_display().lower()
        if freeze.scope == FreezeScope.REGION:
            scope = f"region {freeze.region}"
        elif freeze.scope == FreezeScope.SYSTEMS:
            scope = ", ".join(s.name for s in freeze.systems.all())
        entries.append(Entry(
            kind="freeze", uid=f"freeze-{freeze.pk}", title=f"Freeze: {freeze.name}",
            start=freeze.starts_at, end=freeze.ends_at,
            description=f"No changes ({scope}): {freeze.reason}", url="", freeze=freeze,
            systems=list(freeze.systems.all()),
        ))
    return entries


def window_entries(keys: list[tuple]) -> list[Entry]:
    """Light entries of the given window_keys rows (which come from requests the reader may see): reference,
    title, risk class and state of the request and the wave's name, no systems and no description. The month
    grid draws no more, and loading full requests, items and systems for it cost more than drawing it."""
    from django.urls import reverse

    if not keys:
        return []
    detail = reverse("upgrades:detail", args=["0"])[:-2]
    requests = UpgradeRequest.objects.only("pk", "reference", "title", "risk_class", "state").in_bulk(
        {k[3] for k in keys})
    wave_ids = {k[4] for k in keys if k[4] is not None}
    waves = Wave.objects.only("pk", "name", "position").in_bulk(wave_ids) if wave_ids else {}
    entries = []
    for start, end, ref, request_id, wave_id, _pos in keys:
        start, end = dt.datetime.fromtimestamp(start, dt.UTC), dt.datetime.fromtimestamp(end, dt.UTC)
        request, wave = requests.get(request_id), waves.get(wave_id)
        if request is None or (wave_id is not None and wave is None):
            continue  # deleted between the two reads
        title = f"{ref} {wave.name}" if wave else ref
        entries.append(Entry(kind="window", uid=f"window-{request_id}-{wave_id or 0}",
                             title=f"{title}: {request.title}", start=start, end=end, description="",
                             url=f"{detail}{ref}/", request=request, wave=wave))
    return entries


def feeds_of(user) -> QuerySet:
    return CalendarFeed.objects.filter(user=user, revoked_at__isnull=True)


def inbox_conflicts(user) -> list:
    """My work: the requester's changes with open conflicts (one line per change)."""
    from django.db.models import Count
    from django.urls import reverse

    from apps.core.inbox import InboxItem
    from apps.upgrades.models import UpgradeRequestUserObjectPermission

    mine = UpgradeRequestUserObjectPermission.objects.filter(
        user=user, permission__codename="duty_requester").values("content_object_id")
    rows = (UpgradeRequest.objects.filter(pk__in=mine, conflicts__status=ConflictStatus.OPEN)
            .exclude(state__in=HIDDEN_FROM_CALENDAR).annotate(open_conflicts=Count("conflicts"))
            .order_by("window_start"))
    return [InboxItem(kind="Schedule conflict to resolve", title=f"{r.reference} {r.title}",
                      url=reverse("calendar:request", args=[r.reference]),
                      detail=f"{r.open_conflicts} open conflict{'s' if r.open_conflicts != 1 else ''}: move the "
                             f"window, accept it with a justification, or request a freeze exception.",
                      due=r.window_start)
            for r in rows]
