"""The KPIs of a period: one computation behind the dashboard, its drill-down lists, the API, the CSVs
and the PDF.

Every figure is counted over the requests the reader may see (`upgrade_visible`), narrowed by the
filters, with a fixed number of queries whatever the number of rows: the rows are read once with
`values()` and classified here, so a figure and the list it links to come from the same rows.
"""

import dataclasses
import datetime as dt
import hashlib
import json
import math
from collections import Counter, defaultdict
from functools import cached_property

from django.conf import settings
from django.db.models import CharField, Count, Exists, Max, OuterRef, Q, QuerySet
from django.db.models.functions import Cast

from apps.upgrades.choices import RiskClass
from apps.upgrades.models import UpgradeItem, UpgradeRequest
from apps.upgrades.selectors import upgrade_visible

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


class Data:
    """The rows of one period, read with a fixed number of queries, classified in memory."""

    def __init__(self, user, period: Period):
        self.user, self.period = user, period
        self.days = incident_window_days()
        base = scoped(user, period)
        ended_qs = base.filter(_in(period, "finished_at"), outcome__in=OUTCOMES)
        ended_ids = ended_qs.values("pk")
        self.ended = list(ended_qs.order_by("finished_at", "pk").values(
            "id", "reference", "title", "risk_class", "state", "outcome", "created_at", "submitted_at",
            "decided_at", "started_at", "finished_at", "window_start", "window_end"))
        self.decided = list(base.filter(_in(period, "decided_at"), submitted_at__isnull=False)
                            .order_by("decided_at", "pk")
                            .values("id", "reference", "title", "risk_class", "state", "submitted_at",
                                    "decided_at"))
        from apps.execution.models import Incident, StepEvent, TriggerFiring
        from apps.rollouts.models import TriggerAction, Wave

        hotfixes = defaultdict(list)
        for h in (UpgradeRequest.objects.filter(fix_of__in=ended_ids, risk_class=RiskClass.EMERGENCY)
                  .order_by("created_at").values("id", "reference", "fix_of_id", "created_at")):
            hotfixes[h["fix_of_id"]].append(h)
        linked = defaultdict(list)
        for i in (Incident.objects.filter(request__in=ended_ids).order_by("started_at", "pk")
                  .values("id", "request_id", "severity", "started_at", "impact_minutes")):
            linked[i["request_id"]].append(i)
        self.incidents = list(
            Incident.objects.filter(_in(period, "started_at"), request__in=base.values("pk"))
            .order_by("started_at", "pk")
            .values("id", "title", "severity", "started_at", "ended_at", "impact_minutes", "request_id",
                    "request__reference", "request__title"))
        outage = defaultdict(dict)  # request → (run, step) → {started, finished}
        for e in (StepEvent.objects.filter(run__request__in=ended_ids, step__is_outage=True)
                  .order_by("at", "pk").values("run__request_id", "run_id", "step_id", "kind", "at")):
            slot = outage[e["run__request_id"]].setdefault((e["run_id"], e["step_id"]), {})
            if e["kind"] == "started":
                slot.setdefault("started", e["at"])
            else:
                slot["finished"] = e["at"]
        retried = set(
            StepEvent.objects.filter(run__request__in=ended_ids).values("run__request_id", "step_id")
            .annotate(starts=Count("pk", filter=Q(kind="started")),
                      fails=Count("pk", filter=Q(kind="finished", outcome="failed")))
            .filter(starts__gte=2, fails__gte=1).values_list("run__request_id", flat=True))
        windows = defaultdict(list)
        for w in Wave.objects.filter(plan__request__in=ended_ids, window_start__isnull=False,
                                     window_end__isnull=False).values("plan__request_id", "window_start",
                                                                      "window_end"):
            windows[w["plan__request_id"]].append((w["window_start"], w["window_end"]))
        teams = defaultdict(set)
        self.team_slugs: dict[str, str] = {}
        for rid, name, slug in (UpgradeItem.objects.filter(request__in=ended_ids).order_by()
                                .values_list("request_id", "system__owner_team__name",
                                             "system__owner_team__slug")
                                .distinct()):
            teams[rid].add(name)
            self.team_slugs[name] = slug
        visible_ids = base.annotate(sid=Cast("pk", CharField())).values("sid")
        self.refusals = [
            r for r in AuditEventQuery.refusals(period, visible_ids) if "freeze" in str(r["data"]).lower()
        ]
        self.firings = list(
            TriggerFiring.objects.filter(_in(period, "at"), action=TriggerAction.ROLL_BACK,
                                         run__request__in=base.values("pk"))
            .order_by("at", "pk")
            .values("id", "at", "trigger__name", "run__request_id", "run__request__reference",
                    "run__request__title"))
        window = dt.timedelta(days=self.days)
        for row in self.ended:
            rid, end = row["id"], row["finished_at"]
            row["incidents"] = [i for i in linked[rid] if i["started_at"] < end + window]
            row["hotfixes"] = [h for h in hotfixes[rid] if h["created_at"] < end + window]
            row["retried"] = rid in retried
            severities = {i["severity"] for i in row["incidents"]}
            if row["outcome"] != "completed":
                row["category"] = "unsuccessful"
            elif row["incidents"] or row["retried"]:
                row["category"] = "with_issues"
            else:
                row["category"] = "successful"
            row["severities"] = sorted(severities)
            row["failure"] = (row["category"] == "unsuccessful" or bool(row["incidents"])
                              or bool(row["hotfixes"]))
            row["planned_minutes"] = round(sum(
                (s["finished"] - s["started"]).total_seconds() / 60
                for s in outage[rid].values()
                if "started" in s and "finished" in s and s["finished"] > s["started"]))
            row["unplanned_minutes"] = sum(i["impact_minutes"] for i in row["incidents"])
            requested = [(row["window_start"], row["window_end"])] if row["window_start"] else []
            spans = windows[rid] or requested
            row["on_time"] = any(a <= end <= b for a, b in spans if a and b)
            row["lead_hours"] = _hours(end - row["created_at"]) if row["outcome"] == "completed" else None
            row["teams"] = sorted(teams[rid])
            row["outcome_label"] = OUTCOME_LABELS[row["outcome"]]
            row["score"] = WEIGHTS[row["category"]] + sum(INCIDENT_WEIGHTS[i["severity"]]
                                                          for i in row["incidents"])
        for row in self.decided:
            row["cab_hours"] = _hours(row["decided_at"] - row["submitted_at"])

    # --- the figures ---------------------------------------------------------------------------------

    def rows(self, kpi: str) -> list[dict]:
        """The rows a KPI counts: what its drill-down list shows."""
        return KPIS[kpi].rows(self)

    @cached_property
    def figures(self) -> dict:
        e = self.ended
        n = len(e)
        cat = Counter(r["category"] for r in e)
        completed = [r for r in e if r["outcome"] == "completed"]
        lead = [r["lead_hours"] for r in completed]
        cab = [r["cab_hours"] for r in self.decided]
        planned = sum(r["planned_minutes"] for r in e)
        unplanned = sum(r["unplanned_minutes"] for r in e)
        severity = Counter(i["severity"] for i in self.incidents)
        failures = sum(1 for r in e if r["failure"])
        rolled = sum(1 for r in e if r["outcome"] == "rolled_back")
        on_time = sum(1 for r in e if r["on_time"])
        emergency = sum(1 for r in e if r["risk_class"] == RiskClass.EMERGENCY)
        return {
            "ended": n,
            "completed": len(completed),
            "successful": cat["successful"],
            "with_issues": cat["with_issues"],
            "unsuccessful": cat["unsuccessful"],
            "success_rate": _ratio(cat["successful"], n),
            "change_failures": failures,
            "change_failure_rate": _ratio(failures, n),
            "rollbacks": rolled,
            "rollback_rate": _ratio(rolled, n),
            "hotfixed": sum(1 for r in e if r["hotfixes"]),
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
            "score": sum(r["score"] for r in e),
        }

    def teams(self) -> list[dict]:
        """Per owner team: outcomes, incidents and the change success score (a request of two teams counts
        for both)."""
        table: dict[str, dict] = {}
        for r in self.ended:
            for team in r["teams"] or ["(no team)"]:
                t = table.setdefault(team, {"team": team, "slug": self.team_slugs.get(team, ""), "ended": 0,
                                            "successful": 0, "with_issues": 0, "unsuccessful": 0, "P1": 0,
                                            "P2": 0, "P3": 0, "P4": 0, "failures": 0, "score": 0})
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
        out = []
        for risk in RiskClass:
            rows = [r for r in self.ended if r["risk_class"] == risk.value]
            failures = sum(1 for r in rows if r["failure"])
            out.append({"risk_class": risk.label, "ended": len(rows), "failures": failures,
                        "change_failure_rate": _ratio(failures, len(rows))})
        return out

    def monthly(self) -> list[dict]:
        """Per calendar month of the period: outcomes and change failure rate."""
        months: dict[str, dict] = {}
        day = self.period.start.replace(day=1)
        while day <= self.period.end:
            key = f"{day:%Y-%m}"
            months[key] = {"month": key, "label": f"{day:%b %y}", "ended": 0, "successful": 0,
                           "with_issues": 0, "unsuccessful": 0, "failures": 0, "downtime_minutes": 0}
            day = (day + dt.timedelta(days=32)).replace(day=1)
        for r in self.ended:
            m = months[f"{r['finished_at']:%Y-%m}"]
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
        rows.sort(key=lambda r: (r["score"], r["finished_at"]))
        return rows[:limit]


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

        return list(
            AuditEvent.objects.filter(_in(period, "created_at"), action="upgrade.transition_refused",
                                      object_type="upgrades.upgraderequest", object_id__in=visible_ids)
            .order_by("seq").values("seq", "created_at", "object_id", "object_repr", "data"))


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
    parts = [
        base.aggregate(n=Count("pk"), last=Max("updated_at")),
        Incident.objects.filter(request__in=ids).aggregate(n=Count("pk"), last=Max("pk")),
        StepEvent.objects.filter(run__request__in=ids).aggregate(n=Count("pk"), last=Max("pk")),
        TriggerFiring.objects.filter(run__request__in=ids).aggregate(n=Count("pk"), last=Max("pk")),
        AuditEvent.objects.filter(action="upgrade.transition_refused").aggregate(n=Count("pk"),
                                                                                 last=Max("seq")),
        {"window": incident_window_days()},
    ]
    return hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()
