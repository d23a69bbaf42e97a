"""The KPIs of a period: one computation behind the dashboard, its drill-down lists, the API, the CSVs
and the PDF.

Every figure is counted over the requests the reader may see (`upgrade_visible`), narrowed by the
filters, with a fixed number of queries whatever the number of rows: the rows are read once with
`values()` and classified here, so a figure and the list it links to come from the same rows.
"""

import contextlib
import dataclasses
import datetime as dt
import gc
import hashlib
import heapq
import json
import logging
import math
import operator
from collections import Counter, defaultdict
from functools import cached_property

from django.conf import settings
from django.db import DatabaseError
from django.db.models import (
    CharField,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.expressions import Func
from django.db.models.functions import Cast

from apps.upgrades.choices import RiskClass
from apps.upgrades.models import UpgradeItem, UpgradeRequest
from apps.upgrades.selectors import upgrade_visible

log = logging.getLogger(__name__)

OUTCOMES = ("completed", "rolled_back", "failed")
SEVERITIES = ("P1", "P2", "P3", "P4")
OUTCOME_LABELS = {"completed": "Completed", "rolled_back": "Rolled back", "failed": "Failed"}
# ServiceNow's change success score weights
WEIGHTS = {"successful": 3, "with_issues": -2, "unsuccessful": -5}
INCIDENT_WEIGHTS = {"P1": -10, "P2": -5, "P3": -2, "P4": 0}
CATEGORY_LABELS = {"successful": "Successful", "with_issues": "Successful with issues",
                   "unsuccessful": "Unsuccessful"}


def incident_window_days() -> int:
    """Days after an upgrade ends during which a linked incident or hotfix still counts against it."""
    return int(getattr(settings, "REPORTING_INCIDENT_WINDOW_DAYS", 7))


@dataclasses.dataclass(frozen=True)
class Period:
    """A period of whole days (UTC), `end` included, and the filters."""

    start: dt.date
    end: dt.date
    team: str = ""
    system: str = ""
    environment: str = ""
    region: str = ""
    risk_class: str = ""

    FILTERS = ("team", "system", "environment", "region", "risk_class")

    @property
    def start_dt(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time.min, tzinfo=dt.UTC)

    @property
    def end_dt(self) -> dt.datetime:
        """Exclusive end: midnight after the last day."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        end = self.start - dt.timedelta(days=1)
        return dataclasses.replace(self, start=end - dt.timedelta(days=self.days - 1), end=end)

    def filters(self) -> dict:
        return {k: getattr(self, k) for k in self.FILTERS if getattr(self, k)}

    def as_params(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), **self.filters()}

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.as_params(), sort_keys=True).encode()).hexdigest()

    @classmethod
    def from_params(cls, params: dict) -> "Period":
        return cls(start=dt.date.fromisoformat(params["start"]), end=dt.date.fromisoformat(params["end"]),
                   **{k: params.get(k, "") for k in cls.FILTERS})

    def describe(self) -> str:
        """The filters in words, e.g. team “core-banking”, risk class “emergency”."""
        return ", ".join(f"{k.replace('_', ' ')} “{v}”" for k, v in self.filters().items())

    def label(self) -> str:
        return f"{self.start:%-d %b %Y} – {self.end:%-d %b %Y}"


def scoped(user, period: Period) -> QuerySet:
    """Requests the user may see that match the period's filters (not yet the dates)."""
    qs = upgrade_visible(user)
    item = Q()
    if period.team:
        item &= Q(system__owner_team__slug=period.team)
    if period.system:
        item &= Q(system__slug=period.system)
    if period.environment:
        item &= Q(component__environment__slug=period.environment)
    if period.region:
        item &= Q(system__region=period.region)
    if item:
        qs = qs.filter(Exists(UpgradeItem.objects.filter(item, request=OuterRef("pk"))))
    if period.risk_class:
        qs = qs.filter(risk_class=period.risk_class)
    return qs


def _in(period: Period, field: str) -> Q:
    return Q(**{f"{field}__gte": period.start_dt, f"{field}__lt": period.end_dt})


# up to this many request ids are sent as a list rather than as the subquery that selects them
INLINE_IDS = 5000


@contextlib.contextmanager
def fast_timestamps():
    """Every query inside reads PostgreSQL timestamps without Django's loader, which parses in Python (~3 µs a
    value): the ended rows of a year hold ~190,000 of them. The same values, the one fast path of the KPIs:

    - with psycopg's C implementation in a UTC session (as Django's loader is), psycopg's own C loader, set on
      each cursor opened inside (Django checks the connection's loader by an attribute the C class cannot
      have, so the connection keeps Django's): no Python call per value;
    - otherwise Django's loader with `datetime.fromisoformat` (C) for the "…+00" values, set on the
      connection for the block; anything else still goes to Django's own parsing.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        yield
        return
    import psycopg
    from psycopg.pq import Format

    connection.ensure_connection()
    raw = connection.connection
    oid = raw.adapters.types["timestamptz"].oid
    original = raw.adapters.get_loader(oid, Format.TEXT)
    if not hasattr(original, "timezone"):  # not Django's loader: leave it alone
        yield
        return
    native = psycopg.adapters.get_loader(oid, Format.TEXT)
    if psycopg.pq.__impl__ in ("c", "binary") and native is not None and original.timezone is dt.UTC \
            and raw.info.parameter_status("TimeZone") == "UTC":
        patched = connection.__dict__.get("create_cursor")
        create_cursor = connection.create_cursor

        def fast_cursor(name=None):
            cursor = create_cursor(name)
            cursor.adapters.register_loader(oid, native)
            return cursor

        connection.create_cursor = fast_cursor
        try:
            yield
        finally:
            if patched is None:
                del connection.create_cursor
            else:
                connection.create_cursor = patched
        return
    utc = original.timezone is dt.UTC

    class FastTzLoader(original):
        def load(self, data):
            text = bytes(data).decode()
            if text.endswith("+00"):
                try:  # "…+00" reads as UTC: the loader's own zone when it is UTC
                    if utc:
                        return dt.datetime.fromisoformat(text)
                    return dt.datetime.fromisoformat(text[:-3]).replace(tzinfo=original.timezone)
                except ValueError:
                    pass
            return super().load(data)

    adapters = raw.adapters
    adapters.register_loader("timestamptz", FastTzLoader)
    try:
        yield
    finally:
        adapters.register_loader("timestamptz", original)


@contextlib.contextmanager
def gc_paused():
    """The cyclic garbage collector off while a period's rows are built: ~27,000 dicts of lists a year hold
    no cycles, but every collection on the way walks all of them again (it was ~40 % of the KPIs' CPU).
    Reference counting still frees everything; the collector runs again afterwards."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def outage_spans(request_ids) -> QuerySet:
    """(request, span) per outage step run: its first start to its last finish, grouped in the database
    (one row per step instead of every event). `span` is None when the step never started or finished."""
    from apps.execution.models import StepEvent

    return (StepEvent.objects.filter(run__request__in=request_ids, step__is_outage=True)
            .values("run__request_id", "run_id", "step_id")
            .annotate(first=Min("at"),
                      span=ExpressionWrapper(Max("at", filter=Q(kind="finished"))
                                             - Min("at", filter=Q(kind="started")),
                                             output_field=DurationField()))
            .order_by("first", "run_id", "step_id").values_list("run__request_id", "span"))


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0–100): the value at rank ceil(p/100 · n) of the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def _hours(delta: dt.timedelta) -> float:
    return delta.total_seconds() / 3600


def _ratio(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


ENDED_FIELDS = ("id", "reference", "title", "risk_class", "state", "outcome", "created_at", "submitted_at",
                "decided_at", "started_at", "finished_at", "window_start", "window_end")


# the per-upgrade CSV's timestamps (services.UPGRADE_COLUMNS), in its order
CSV_TIMES = ("created_at", "submitted_at", "decided_at", "started_at", "finished_at")


class UtcMinutes(Func):
    """A timestamp as the CSV writes it, "YYYY-MM-DD HH:MM" in UTC ("" for none), made by PostgreSQL:
    formatting ~135,000 of them a year in Python was half the CSV's time."""

    template = "coalesce(to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), '')"
    output_field = CharField()


class Data:
    """The rows of one period, read with a fixed number of queries, classified in memory."""

    def __init__(self, user, period: Period, *, csv: bool = True, teams: bool = True, parallel: bool = False):
        """`csv=False` when the per-upgrade CSV will not be written (the dashboard): its timestamps are then
        not formatted by the database. `teams=False` when only the figures are read (the previous period the
        dashboard compares with): the owner teams are not read, the rows' "teams" are empty and `teams()`
        refuses. `parallel=True` (the report task): the row sets beside the upgrades themselves are read in two
        halves on two more connections in this one's snapshot (`apps.core.snapshot`) while this one reads the
        upgrades and the CAB decisions."""
        from apps.core.snapshot import one_snapshot

        with gc_paused(), fast_timestamps():
            if not parallel:
                self._read(user, period, csv, teams, None)
                return
            with one_snapshot() as beside:
                self._read(user, period, csv, teams, beside)

    def of_period(self, period: Period) -> "Data":
        """The same reader's rows of another period (the trend charts' months), figures only."""
        return Data(self.user, period, csv=False)

    def _read(self, user, period: Period, csv: bool, with_teams: bool, beside) -> None:
        from django.db import connection

        self.user, self.period, self.with_teams = user, period, with_teams
        self.days = incident_window_days()
        base = scoped(user, period)
        ended_qs = base.filter(_in(period, "finished_at"), outcome__in=OUTCOMES)
        sides = ()
        if beside is not None:  # started first: PostgreSQL computes them while the rows below are read here
            ids = ended_qs.values("pk")
            sides = [beside(lambda part=part: self._side(base, period, ids, with_teams, part, fast=True))
                     for part in ("a", "b")]
        ended_qs_rows = ended_qs.order_by("finished_at", "pk")
        texts = ()
        if csv and connection.vendor == "postgresql":  # the CSV's timestamps, written by the database
            texts = tuple(f"{f}_csv" for f in CSV_TIMES)
            ended_qs_rows = ended_qs_rows.annotate(**{f"{f}_csv": UtcMinutes(f) for f in CSV_TIMES})
        ended = list(ended_qs_rows.values_list(*ENDED_FIELDS, *texts))
        decided_qs = (base.filter(_in(period, "decided_at"), submitted_at__isnull=False)
                      .order_by("decided_at", "pk")
                      .values_list("id", "reference", "title", "risk_class", "state", "submitted_at",
                                   "decided_at"))
        self.decided = [
            {"id": pk, "reference": ref, "title": title, "risk_class": risk, "state": state,
             "submitted_at": submitted, "decided_at": decided, "cab_hours": _hours(decided - submitted)}
            for pk, ref, title, risk, state, submitted, decided in decided_qs]
        if not sides:
            ended_ids = ended_qs.values("pk")
            if len(ended) <= INLINE_IDS:  # the visibility rule is evaluated once, not in every query below
                ended_ids = [r[0] for r in ended]
            found = self._side(base, period, ended_ids, with_teams)
        else:
            found = {}
            for part, side in zip(("a", "b"), sides, strict=True):
                try:
                    found.update(side.result())
                except DatabaseError:  # no second connection (max_connections reached, …): read it here, in
                    log.warning("KPI rows read on one connection: %s", side.error_text())  # the same snapshot
                    found.update(self._side(base, period, ended_qs.values("pk"), with_teams, part))
        self.incidents, self.refusals, self.firings = found["incidents"], found["refusals"], found["firings"]
        self.team_slugs: dict[str, str] = found["team_slugs"]
        self.ended = self._classify(ended, found["linked"], found["hotfixes"], found["retried"],
                                    found["outage"], found["windows"], found["teams"])

    @staticmethod
    def _side(base, period: Period, ended_ids, with_teams: bool, part: str = "", fast: bool = False) -> dict:
        """Everything read besides the ended upgrades and the CAB decisions: what is linked to the ended ones
        (`ended_ids`: their ids, or the query that selects them) and the period's incidents, refusals and
        firings. `part` "a" or "b": half of it (about half the time each, on connections of their own), ""
        all. `fast`: on a connection of its own, which reads timestamps as `fast_timestamps` does."""
        from apps.execution.models import Incident, StepEvent, TriggerFiring
        from apps.rollouts.models import TriggerAction, Wave

        found = {}
        with fast_timestamps() if fast else contextlib.nullcontext():
            if part in ("", "a"):
                hotfixes = found["hotfixes"] = defaultdict(list)
                for h in (UpgradeRequest.objects.filter(fix_of__in=ended_ids, risk_class=RiskClass.EMERGENCY)
                          .order_by("created_at", "pk").values("id", "reference", "fix_of_id", "created_at")):
                    hotfixes[h["fix_of_id"]].append(h)
                linked = found["linked"] = defaultdict(list)
                for i in (Incident.objects.filter(request__in=ended_ids).order_by("started_at", "pk")
                          .values("id", "request_id", "severity", "started_at", "impact_minutes")):
                    linked[i["request_id"]].append(i)
                found["incidents"] = list(
                    Incident.objects.filter(_in(period, "started_at"), request__in=base.values("pk"))
                    .order_by("started_at", "pk")
                    .values("id", "title", "severity", "started_at", "ended_at", "impact_minutes",
                            "request_id", "request__reference", "request__title"))
                # request → the spans of its outage steps (first start to last finish), added up exactly
                outage = found["outage"] = defaultdict(dt.timedelta)
                for rid, span in outage_spans(ended_ids):
                    if span is not None and span > dt.timedelta(0):
                        outage[rid] += span
                windows = found["windows"] = defaultdict(list)
                for w in Wave.objects.filter(plan__request__in=ended_ids, window_start__isnull=False,
                                             window_end__isnull=False).values("plan__request_id",
                                                                              "window_start", "window_end"):
                    windows[w["plan__request_id"]].append((w["window_start"], w["window_end"]))
            if part in ("", "b"):
                found["retried"] = set(
                    StepEvent.objects.filter(run__request__in=ended_ids).values("run__request_id", "step_id")
                    .annotate(starts=Count("pk", filter=Q(kind="started")),
                              fails=Count("pk", filter=Q(kind="finished", outcome="failed")))
                    .filter(starts__gte=2, fails__gte=1).values_list("run__request_id", flat=True))
                teams = found["teams"] = defaultdict(set)
                team_slugs = found["team_slugs"] = {}
                for rid, name, slug in (UpgradeItem.objects.filter(request__in=ended_ids).order_by()
                                        .values_list("request_id", "system__owner_team__name",
                                                     "system__owner_team__slug")
                                        .distinct() if with_teams else ()):
                    teams[rid].add(name)
                    team_slugs[name] = slug
                visible_ids = base.annotate(sid=Cast("pk", CharField())).values("sid")
                found["refusals"] = [r for r in AuditEventQuery.refusals(period, visible_ids)
                                     if "freeze" in str(r["data"]).lower()]
                found["firings"] = list(
                    TriggerFiring.objects.filter(_in(period, "at"), action=TriggerAction.ROLL_BACK,
                                                 run__request__in=base.values("pk"))
                    .order_by("at", "pk")
                    .values("id", "at", "trigger__name", "run__request_id", "run__request__reference",
                            "run__request__title"))
        return found

    def _classify(self, ended, linked, hotfixes, retried, outage, windows, teams) -> list[dict]:
        """One dict per ended row with what the KPIs make of it. ~27,000 rows a year: one dict literal per
        row from a tuple, `.get` bound once and nothing computed where a request has nothing (this loop was
        most of the report's own time)."""
        window = dt.timedelta(days=self.days)
        linked, hotfixes, outage = linked.get, hotfixes.get, outage.get
        windows, teams = windows.get, teams.get
        out = []
        append = out.append
        self.csv_times = times = [] if ended and len(ended[0]) > len(ENDED_FIELDS) else None
        for rid, ref, title, risk, state, outcome, created, submitted, decided, started, end, ws, we, *text \
                in ended:
            if text:
                times.append(text)
            found = linked(rid)
            if found:
                limit = end + window
                incidents = [i for i in found if i["started_at"] < limit]
            else:
                incidents = []
            found = hotfixes(rid)
            if found:
                limit = end + window
                fixes = [h for h in found if h["created_at"] < limit]
            else:
                fixes = []
            was_retried = rid in retried
            if outcome != "completed":
                category = "unsuccessful"
            elif incidents or was_retried:
                category = "with_issues"
            else:
                category = "successful"
            minutes = outage(rid)
            spans = windows(rid)  # wave windows (both ends set), else the requested window
            if spans:
                on_time = any(a <= end <= b for a, b in spans)
            else:
                on_time = ws is not None and we is not None and ws <= end <= we
            names = teams(rid)
            append({
                "id": rid, "reference": ref, "title": title, "risk_class": risk, "state": state,
                "outcome": outcome, "created_at": created, "submitted_at": submitted, "decided_at": decided,
                "started_at": started, "finished_at": end, "window_start": ws, "window_end": we,
                "incidents": incidents, "hotfixes": fixes, "retried": was_retried, "category": category,
                "severities": sorted({i["severity"] for i in incidents}) if incidents else [],
                "failure": category == "unsuccessful" or bool(incidents) or bool(fixes),
                "planned_minutes": round(minutes.total_seconds() / 60) if minutes else 0,
                "unplanned_minutes": sum(i["impact_minutes"] for i in incidents) if incidents else 0,
                "on_time": on_time,
                "lead_hours": (end - created).total_seconds() / 3600 if outcome == "completed" else None,
                "teams": sorted(names) if names else [],
                "outcome_label": OUTCOME_LABELS[outcome],
                "score": WEIGHTS[category] + (sum(INCIDENT_WEIGHTS[i["severity"]] for i in incidents)
                                              if incidents else 0),
            })
        return out

    # --- the figures ---------------------------------------------------------------------------------

    def rows(self, kpi: str) -> list[dict]:
        """The rows a KPI counts: what its drill-down list shows."""
        return KPIS[kpi].rows(self)

    @cached_property
    def figures(self) -> dict:
        e = self.ended
        n = len(e)
        cat = Counter()
        lead = []
        planned = unplanned = failures = rolled = on_time = emergency = hotfixed = score = 0
        self._with_downtime = {"planned": 0, "unplanned": 0}
        for r in e:  # one pass: the same counts as the KPI lists' predicates
            cat[r["category"]] += 1
            if r["outcome"] == "completed":
                lead.append(r["lead_hours"])
            planned += r["planned_minutes"]
            unplanned += r["unplanned_minutes"]
            self._with_downtime["planned"] += r["planned_minutes"] > 0
            self._with_downtime["unplanned"] += r["unplanned_minutes"] > 0
            failures += r["failure"]
            rolled += r["outcome"] == "rolled_back"
            on_time += r["on_time"]
            emergency += r["risk_class"] == RiskClass.EMERGENCY
            hotfixed += bool(r["hotfixes"])
            score += r["score"]
        cab = [r["cab_hours"] for r in self.decided]
        severity = Counter(i["severity"] for i in self.incidents)
        return {
            "ended": n,
            "completed": len(lead),
            "successful": cat["successful"],
            "with_issues": cat["with_issues"],
            "unsuccessful": cat["unsuccessful"],
            "success_rate": _ratio(cat["successful"], n),
            "change_failures": failures,
            "change_failure_rate": _ratio(failures, n),
            "rollbacks": rolled,
            "rollback_rate": _ratio(rolled, n),
            "hotfixed": hotfixed,
            "downtime_minutes": planned + unplanned,
            "downtime_per_upgrade": round((planned + unplanned) / n, 1) if n else None,
            "planned_downtime_minutes": planned,
            "unplanned_downtime_minutes": unplanned,
            "incidents": len(self.incidents),
            "incidents_by_severity": {s: severity[s] for s in SEVERITIES},
            "lead_time_median_hours": _round(percentile(lead, 50)),
            "lead_time_p90_hours": _round(percentile(lead, 90)),
            "cab_decisions": len(cab),
            "cab_cycle_median_hours": _round(percentile(cab, 50)),
            "cab_cycle_p90_hours": _round(percentile(cab, 90)),
            "on_time": on_time,
            "on_time_rate": _ratio(on_time, n),
            "emergency": emergency,
            "emergency_share": _ratio(emergency, n),
            "freeze_violations_prevented": len(self.refusals),
            "automatic_rollbacks": len(self.firings),
            "score": score,
        }

    def count(self, kpi: str) -> int:
        """How many rows `rows(kpi)` holds, from the one pass of `figures` (the dashboard's card counts)."""
        f = self.figures
        if kpi in COUNTED_AS:
            return f[COUNTED_AS[kpi]]
        if kpi.endswith("_downtime"):
            return self._with_downtime[kpi.split("_")[0]]
        return len(self.rows(kpi))

    def teams(self) -> list[dict]:
        """Per owner team: outcomes, incidents and the change success score (a request of two teams counts
        for both)."""
        if not self.with_teams:
            raise RuntimeError("These rows were read without their owner teams (Data(..., teams=False)).")
        table: dict[str, dict] = {}
        for r in self.ended:
            for team in r["teams"] or ["(no team)"]:
                t = table.get(team)
                if t is None:
                    t = table[team] = {"team": team, "slug": self.team_slugs.get(team, ""), "ended": 0,
                                       "successful": 0, "with_issues": 0, "unsuccessful": 0, "P1": 0, "P2": 0,
                                       "P3": 0, "P4": 0, "failures": 0, "score": 0}
                t["ended"] += 1
                t[r["category"]] += 1
                t["failures"] += r["failure"]
                t["score"] += r["score"]
                for i in r["incidents"]:
                    t[i["severity"]] += 1
        for t in table.values():
            t["change_failure_rate"] = _ratio(t["failures"], t["ended"])
        return sorted(table.values(), key=lambda t: (-t["score"], t["team"]))

    def by_risk(self) -> list[dict]:
        ended, failures = Counter(), Counter()
        for r in self.ended:
            ended[r["risk_class"]] += 1
            failures[r["risk_class"]] += r["failure"]
        return [{"risk_class": risk.label, "ended": ended[risk.value], "failures": failures[risk.value],
                 "change_failure_rate": _ratio(failures[risk.value], ended[risk.value])}
                for risk in RiskClass]

    def monthly(self) -> list[dict]:
        """Per calendar month of the period: outcomes and change failure rate."""
        months: dict[str, dict] = {}
        by_month = {}  # (year, month) → the row: no date formatting per upgrade
        day = self.period.start.replace(day=1)
        while day <= self.period.end:
            key = f"{day:%Y-%m}"
            months[key] = by_month[day.year, day.month] = {
                "month": key, "label": f"{day:%b %y}", "ended": 0, "successful": 0, "with_issues": 0,
                "unsuccessful": 0, "failures": 0, "downtime_minutes": 0}
            day = (day + dt.timedelta(days=32)).replace(day=1)
        for r in self.ended:
            end = r["finished_at"]
            m = by_month[end.year, end.month]
            m["ended"] += 1
            m[r["category"]] += 1
            m["failures"] += r["failure"]
            m["downtime_minutes"] += r["planned_minutes"] + r["unplanned_minutes"]
        for m in months.values():
            m["change_failure_rate"] = _ratio(m["failures"], m["ended"])
        return list(months.values())

    def notable(self, limit: int = 40) -> list[dict]:
        """Failed, rolled back, emergency and hotfixed upgrades, and those with incidents: worst first."""
        rows = [r for r in self.ended
                if r["category"] != "successful" or r["risk_class"] == RiskClass.EMERGENCY or r["hotfixes"]]
        # the rows are in the order they ended (then by id): the `limit` lowest scores, ties in that order —
        # what sorting all of them by (score, end) gives, without a tuple and a Python call per row
        return heapq.nsmallest(limit, rows, key=operator.itemgetter("score"))


def trend_period(period: Period) -> Period:
    """The months the trend charts show: the period's own, or at least the six months up to its end."""
    if period.days >= 150:
        return period
    start = period.end.replace(day=1)
    for _ in range(5):
        start = (start - dt.timedelta(days=1)).replace(day=1)
    return dataclasses.replace(period, start=min(start, period.start))


def _round(value):
    return None if value is None else round(value, 1)


class AuditEventQuery:
    @staticmethod
    def refusals(period: Period, visible_ids) -> list[dict]:
        from apps.audit.models import AuditEvent

        """The refused transitions of the period on the requests `visible_ids` selects (None: any)."""
        found = AuditEvent.objects.filter(_in(period, "created_at"), action="upgrade.transition_refused",
                                          object_type="upgrades.upgraderequest")
        if visible_ids is not None:
            found = found.filter(object_id__in=visible_ids)
        return list(found.order_by("seq").values("seq", "created_at", "object_id", "object_repr", "data"))


# --- the catalogue: one entry per figure with a list ----------------------------------------------------


@dataclasses.dataclass(frozen=True)
class KPI:
    key: str
    label: str
    kind: str  # "upgrades", "decisions", "incidents", "refusals", "firings"
    select: object  # Data -> list[dict]
    definition: str
    better: str = ""  # "up", "down" or "" (neither)
    unit: str = ""

    def rows(self, data: Data) -> list[dict]:
        return self.select(data)


def _ended(pred):
    return lambda d: [r for r in d.ended if pred(r)]


KPI_LIST = [
    KPI("completed", "Upgrades completed", "upgrades", _ended(lambda r: r["outcome"] == "completed"),
        "Upgrades whose execution ended as completed in the period (ended = completed, rolled back or "
        "failed).",
        "up"),
    KPI("successful", "Successful", "upgrades", _ended(lambda r: r["category"] == "successful"),
        "Completed with no linked incident within {days} days of the end, and no step that failed and was "
        "retried. Success rate = successful ÷ upgrades ended in the period.", "up"),
    KPI("with_issues", "Successful with issues", "upgrades", _ended(lambda r: r["category"] == "with_issues"),
        "Completed, but with a linked incident within {days} days (P3/P4 — a P1/P2 incident also costs "
        "its penalty in the score and counts as a change failure) or a step that failed and was retried.",
        "down"),
    KPI("unsuccessful", "Unsuccessful", "upgrades", _ended(lambda r: r["category"] == "unsuccessful"),
        "Rolled back or failed.", "down"),
    KPI("change_failures", "Change failures", "upgrades", _ended(lambda r: r["failure"]),
        "DORA change failure rate: upgrades ended in the period that were rolled back or failed, needed a "
        "hotfix within {days} days, or caused a linked incident within {days} days, ÷ upgrades ended in the "
        "period. Bands: up to 15 % high performing, 16–45 % medium, above 45 % low.", "down"),
    KPI("rollbacks", "Rollbacks", "upgrades", _ended(lambda r: r["outcome"] == "rolled_back"),
        "Upgrades rolled back in the period; rollback frequency = rollbacks ÷ upgrades ended.", "down"),
    KPI("hotfixed", "Needed a hotfix", "upgrades", _ended(lambda r: bool(r["hotfixes"])),
        "Upgrades ended in the period for which an emergency request was linked as a fix within {days} days.",
        "down"),
    KPI("planned_downtime", "Planned downtime", "upgrades", _ended(lambda r: r["planned_minutes"] > 0),
        "Minutes the service was down during outage steps of the runbook, from each outage step's start to "
        "its finish in the execution log.", "down", "min"),
    KPI("unplanned_downtime", "Unplanned downtime", "upgrades", _ended(lambda r: r["unplanned_minutes"] > 0),
        "Impact minutes of the incidents linked to the upgrade within {days} days of its end.", "down",
        "min"),
    KPI("incidents", "Incidents", "incidents", lambda d: d.incidents,
        "Incidents linked to an upgrade that started in the period, by severity.", "down"),
    KPI("lead_time", "Lead time", "upgrades", _ended(lambda r: r["outcome"] == "completed"),
        "From the request's creation to the end of its execution, over completed upgrades: median and 90th "
        "percentile (nearest rank). DORA bands on the median: under a day elite, under a week high, under a "
        "month medium, longer low.", "down", "h"),
    KPI("cab_cycle", "CAB cycle time", "decisions", lambda d: d.decided,
        "From the last submission to the CAB to its decision, over decisions taken in the period: median and "
        "90th percentile.", "down", "h"),
    KPI("on_time", "On time", "upgrades", _ended(lambda r: r["on_time"]),
        "Upgrades whose execution ended inside an approved window of their plan (or, without wave windows, "
        "inside the requested window) ÷ upgrades ended.", "up"),
    KPI("emergency", "Emergency changes", "upgrades",
        _ended(lambda r: r["risk_class"] == RiskClass.EMERGENCY),
        "Emergency upgrades ÷ upgrades ended in the period.", "down"),
    KPI("freeze_prevented", "Freeze violations prevented", "refusals", lambda d: d.refusals,
        "Transitions refused in the period, and audited, because of a change freeze.", ""),
    KPI("automatic_rollbacks", "Rollbacks triggered automatically", "firings", lambda d: d.firings,
        "Rollback triggers that fired with the action “start the backout runbook” in the period: incidents "
        "the monitoring prevented.", ""),
]
KPIS = {k.key: k for k in KPI_LIST}
# the KPI lists whose length is a figure (tests/reporting check each count against its list)
COUNTED_AS = {"completed": "completed", "successful": "successful", "with_issues": "with_issues",
              "unsuccessful": "unsuccessful", "change_failures": "change_failures", "rollbacks": "rollbacks",
              "hotfixed": "hotfixed", "incidents": "incidents", "lead_time": "completed",
              "cab_cycle": "cab_decisions", "on_time": "on_time", "emergency": "emergency",
              "freeze_prevented": "freeze_violations_prevented", "automatic_rollbacks": "automatic_rollbacks"}

SCORE_FORMULA = ("Score = 3 × successful − 2 × successful with issues − 5 × unsuccessful "
                 "− 10 × P1 − 5 × P2 − 2 × P3 incidents caused (within {days} days)")


def definitions() -> list[tuple[str, str]]:
    days = incident_window_days()
    out = [(k.label, k.definition.format(days=days)) for k in KPI_LIST]
    out.append(("Team change success score", SCORE_FORMULA.format(days=days)
                + " — the weights ServiceNow uses. A request touching systems of two teams counts for both."))
    out.append(("Visibility", "Every figure counts only the requests the reader of the report may see."))
    return out


def band_cfr(rate: float | None) -> tuple[str, str]:
    if rate is None:
        return "", ""
    if rate <= 15:
        return "High performing (≤ 15 %)", "ok"
    if rate <= 45:
        return "Medium (16–45 %)", "warn"
    return "Low (> 45 %)", "bad"


def band_lead(hours: float | None) -> tuple[str, str]:
    if hours is None:
        return "", ""
    if hours < 24:
        return "Elite (< 1 day)", "ok"
    if hours < 24 * 7:
        return "High (< 1 week)", "ok"
    if hours < 24 * 30:
        return "Medium (< 1 month)", "warn"
    return "Low (> 1 month)", "bad"


def fingerprint(user, period: Period) -> str:
    """What "the same data" means for a report: size and last change of every row set it counts."""
    from apps.audit.models import AuditEvent
    from apps.execution.models import Incident, StepEvent, TriggerFiring

    base = scoped(user, period)
    ids = base.values("pk")
    counted = base.aggregate(n=Count("pk"), last=Max("updated_at"))
    if counted["n"] <= INLINE_IDS:  # the visibility rule is evaluated once, not in every query below
        ids = list(base.values_list("pk", flat=True))
    parts = [
        counted,
        Incident.objects.filter(request__in=ids).aggregate(n=Count("pk"), last=Max("pk")),
        StepEvent.objects.filter(run__request__in=ids).aggregate(n=Count("pk"), last=Max("pk")),
        TriggerFiring.objects.filter(run__request__in=ids).aggregate(n=Count("pk"), last=Max("pk")),
        AuditEvent.objects.filter(action="upgrade.transition_refused").aggregate(n=Count("pk"),
                                                                                 last=Max("seq")),
        {"window": incident_window_days()},
    ]
    return hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()
