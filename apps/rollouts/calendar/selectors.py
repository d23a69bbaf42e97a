"""Reads of the change calendar shared by pages, API, feeds and gates.

A request books time through its plan's wave windows, or, while the plan has none, through its requested
window. `windows_of_requests` reads those for many requests in a fixed number of queries, so the calendar's
query count does not grow with the number of windows.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet

from apps.core import clock
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


def _items_prefetch():
    return Prefetch("items", queryset=UpgradeItem.objects.select_related("system__owner_team"))


def windows_of_requests(requests: QuerySet, start: dt.datetime | None = None,
                        end: dt.datetime | None = None) -> list[Window]:
    """The booked windows of `requests` (optionally only those overlapping [start, end)), in time order."""
    requests = requests.select_related("requester").prefetch_related(_items_prefetch())
    waves = Wave.objects.filter(plan__request__in=requests.values("pk"), window_start__isnull=False,
                                window_end__isnull=False)
    if start is not None:
        waves = waves.filter(window_start__lt=end, window_end__gt=start)
    # requests with any wave window are booked by their waves only
    waved = Wave.objects.filter(plan__request__in=requests.values("pk"), window_start__isnull=False).values(
        "plan__request_id")
    plain = requests.filter(window_start__isnull=False, window_end__isnull=False).exclude(pk__in=waved)
    if start is not None:
        plain = plain.filter(window_start__lt=end, window_end__gt=start)
    result = []
    for request in plain:
        result.append(Window(request, request.window_start, request.window_end, None,
                             _distinct(i.system for i in request.items.all())))
    wave_list = list(waves.prefetch_related("systems__owner_team").select_related("plan"))
    owners = {r.pk: r for r in requests.filter(pk__in={w.plan.request_id for w in wave_list})}
    for wave in wave_list:
        request = owners[wave.plan.request_id]
        systems = list(wave.systems.all()) or _distinct(i.system for i in request.items.all())
        result.append(Window(request, wave.window_start, wave.window_end, wave, systems))
    result.sort(key=lambda w: (w.start, w.request.reference, w.wave.position if w.wave else 0))
    return result


def window_keys(requests: QuerySet, start: dt.datetime, end: dt.datetime) -> list[tuple]:
    """(start, end, reference, request id, wave id or None, wave position) of every window that
    windows_of_requests would give for [start, end), from two narrow queries and no model instances: the month
    grid counts thousands of windows per month but draws only a few per day."""
    ids = requests.values("pk")
    waves = Wave.objects.filter(plan__request__in=ids, window_start__isnull=False, window_end__isnull=False,
                                window_start__lt=end, window_end__gt=start)
    waved = Wave.objects.filter(plan__request__in=ids, window_start__isnull=False).values("plan__request_id")
    plain = requests.filter(window_start__isnull=False, window_end__isnull=False, window_start__lt=end,
                            window_end__gt=start).exclude(pk__in=waved)
    rows = [(a, b, ref, pk, None, 0) for a, b, ref, pk in plain.values_list("window_start", "window_end",
                                                                             "reference", "pk")]
    rows += list(waves.values_list("window_start", "window_end", "plan__request__reference", "plan__request_id",
                                   "pk", "position"))
    rows.sort(key=lambda r: (r[0], r[2], r[5]))
    return rows


def _distinct(systems) -> list[System]:
    seen = {}
    for s in systems:
        seen.setdefault(s.pk, s)
    return list(seen.values())


def request_windows(request: UpgradeRequest) -> list[Window]:
    return windows_of_requests(UpgradeRequest.objects.filter(pk=request.pk))


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
    qs = upgrade_visible(user).exclude(state__in=HIDDEN_FROM_CALENDAR)
    if filters.get("system"):
        qs = qs.filter(Q(items__system_id=filters["system"]) | Q(plan__waves__systems__id=filters["system"]))
    if filters.get("team"):
        qs = qs.filter(items__system__owner_team_id=filters["team"])
    if filters.get("region"):
        qs = qs.filter(items__system__region=filters["region"])
    if filters.get("risk"):
        qs = qs.filter(risk_class=filters["risk"])
    return UpgradeRequest.objects.filter(pk__in=qs.values("pk"))


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

    `only`, a set of (request id, wave id or None), keeps just those windows (the month grid's few per day)."""
    from django.urls import reverse

    filters = filters or {}
    entries = []
    detail = reverse("upgrades:detail", args=["0"])[:-2]  # once, not per window: references are URL-safe
    requests = _filtered_requests(user, filters)
    if only is not None:
        requests = requests.filter(pk__in={pk for pk, _ in only})
    for w in windows_of_requests(requests, start, end):
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
    entries.sort(key=lambda e: (e.start, e.kind != "freeze", e.title))
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
