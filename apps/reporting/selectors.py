"""Reads of the reporting app: the dashboard (also the PDF's and the API's numbers) and the reports one
may open."""

import datetime as dt
import hashlib
import pickle
import threading

from django.core.cache import cache
from django.db.models import Count, Max, QuerySet
from django.http import Http404
from django.template.loader import render_to_string
from django.utils.http import urlencode

from apps.accounts.choices import Role
from apps.core import clock
from apps.core.forked import InChild

from . import svg
from .kpis import (KPI_LIST, KPIS, SCORE_FORMULA, Data, Period, band_cfr, band_lead, incident_window_days,
                   trend_period)
from .models import Report, Subscription

DASHBOARD_ROLES = (Role.EXECUTIVE, Role.CHANGE_MANAGER, Role.CAB_MEMBER, Role.AUDITOR, Role.ADMIN)
SEES_ALL_REPORTS = (Role.AUDITOR, Role.ADMIN)
DASHBOARD_CACHE_SECONDS = 300

# the headline cards: (kpi whose list the card links to, figure, what the figure is, unit)
CARDS = [
    ("completed", "completed", "Upgrades completed", ""),
    ("successful", "success_rate", "Success rate", "%"),
    ("change_failures", "change_failure_rate", "Change failure rate", "%"),
    ("rollbacks", "rollback_rate", "Rollback frequency", "%"),
    ("hotfixed", "hotfixed", "Needed a hotfix", ""),
    ("on_time", "on_time_rate", "On time", "%"),
    ("emergency", "emergency_share", "Emergency changes", "%"),
    ("lead_time", "lead_time_median_hours", "Lead time (median)", "h"),
    ("cab_cycle", "cab_cycle_median_hours", "CAB cycle time (median)", "h"),
    ("planned_downtime", "planned_downtime_minutes", "Planned downtime", "min"),
    ("unplanned_downtime", "unplanned_downtime_minutes", "Unplanned downtime", "min"),
    ("incidents", "incidents", "Incidents", ""),
    ("freeze_prevented", "freeze_violations_prevented", "Freeze violations prevented", ""),
    ("automatic_rollbacks", "automatic_rollbacks", "Rollbacks triggered automatically", ""),
]


def default_period(today: dt.date | None = None) -> Period:
    """The last twelve whole months up to today."""
    today = today or clock.now().date()
    return Period(start=today - dt.timedelta(days=364), end=today)


def _trend(now, before, better: str) -> dict:
    if now is None or before is None:
        return {"text": "no comparison", "tone": ""}
    delta = round(now - before, 1)
    if delta == 0:
        return {"text": "unchanged", "tone": ""}
    good = (delta > 0) == (better == "up") if better else None
    arrow = "▲" if delta > 0 else "▼"
    return {"text": f"{arrow} {abs(delta):g} vs previous period", "tone": "" if good is None else
            ("ok" if good else "bad")}


def monthly(user, period: Period, data: Data) -> list[dict]:
    """The trend charts' rows: the period's months, or the six months up to its end for a short period."""
    trend = trend_period(period)
    return (data if trend == period else data.of_period(trend)).monthly()


def kpi_figures(user, period: Period) -> dict:
    """The numbers of the API: the same `Data.figures` the dashboard shows, with the previous period's."""
    previous = previous_figures(user, period.previous())
    data = Data(user, period, csv=False)
    return {"period": period.as_params(), "figures": data.figures, "previous": previous,
            "teams": data.teams(), "monthly": monthly(user, period, data), "by_risk_class": data.by_risk()}


def _scope(user) -> str:
    """Whose figures a cached dashboard holds: everyone who sees every request in the same regions shares
    them; anyone else has their own, keyed also on what their visibility depends on (roles, teams, duties)."""
    from apps.upgrades.models import UpgradeRequestUserObjectPermission
    from apps.upgrades.selectors import SEES_EVERYTHING, user_regions

    regions = ",".join(sorted(user_regions(user)))
    if user.has_role(*SEES_EVERYTHING):
        return f"all|{regions}"
    teams = ",".join(str(pk) for pk in user.teams.order_by("pk").values_list("pk", flat=True))
    duties = UpgradeRequestUserObjectPermission.objects.filter(user=user).aggregate(n=Count("pk"),
                                                                                     last=Max("pk"))
    roles = ",".join(sorted(user.role_names))
    return f"user|{user.pk}|{roles}|{regions}|{teams}|{duties['n']}-{duties['last']}"


# audited actions that change a figure without leaving a row the stamp reads: a refusal because of a freeze
# (a figure of its own) and a deleted draft (which may have been counted as the hotfix of an ended upgrade)
STAMP_ACTIONS = ("upgrade.transition_refused", "upgrade.delete")


def _data_stamp() -> str:
    """Changes whenever a row the KPIs count is added or a request changes, in one query of index lookups
    (the newest `updated_at` has its own index, see migration 0004): a cached dashboard is recounted after any
    such change, not only when it expires. A comment, an attachment or a notification changes no figure and
    does not recount it."""
    from django.db import connection

    from apps.audit.models import AuditEvent
    from apps.execution.models import Incident, StepEvent, TriggerFiring
    from apps.rollouts.models import Wave
    from apps.upgrades.models import UpgradeItem, UpgradeRequest

    q = connection.ops.quote_name

    def newest(model, field: str = "id") -> str:
        return f"(SELECT MAX({q(field)}) FROM {q(model._meta.db_table)})"

    audit = q(AuditEvent._meta.db_table)
    parts = [newest(UpgradeRequest, "updated_at"), newest(UpgradeRequest),
             *(newest(m) for m in (Incident, StepEvent, TriggerFiring, Wave, UpgradeItem)),
             *(f"(SELECT {agg} FROM {audit} WHERE {q('action')} IN (%s, %s))"
               for agg in (f"COUNT({q('id')})", f"MAX({q('seq')})"))]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), [*STAMP_ACTIONS, *STAMP_ACTIONS])
        row = cursor.fetchone()
    return hashlib.sha256(repr(tuple(str(v) for v in row)).encode()).hexdigest()


_recounting: dict[str, threading.Lock] = {}  # per cache key, in this process: one recount at a time
_recounting_guard = threading.Lock()
RECOUNT_SECONDS = 120  # how long a recount may say "in progress" to the other processes sharing the cache
FIRST_COUNT_WAIT_SECONDS = 30  # how long a process waits for another's first count before counting itself


def _counted_elsewhere(key: str, marker: str) -> dict | None:
    """The figures another process sharing the cache is counting for the first time, once it has stored them
    (None if it stops counting without storing them, or takes longer than FIRST_COUNT_WAIT_SECONDS)."""
    import time

    deadline = time.monotonic() + FIRST_COUNT_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)
        cached = cache.get(key)
        if cached is not None:
            return cached
        if cache.get(marker) is None:
            return None
    return None


def _recount_lock(key: str) -> threading.Lock:
    with _recounting_guard:
        if len(_recounting) > 256:  # periods and scopes come and go: at worst one recount twice
            _recounting.clear()
        return _recounting.setdefault(key, threading.Lock())


def dashboard_cache_key(user, period: Period) -> str:
    return "reporting:dashboard:" + hashlib.sha256(
        f"{_scope(user)}|{period.key()}|{incident_window_days()}".encode()).hexdigest()


def _recount(key: str, user, period: Period, stamp: str) -> dict:
    context = dashboard(user, period)
    html = render_to_string("reporting/partials/dashboard_figures.html",
                            {**context, "query": urlencode(period.as_params())})
    # the rows stay out of the cache: the page shows only the figures (a SafeString, pickled as one)
    cached = {"stamp": stamp, "figures_html": html, "computed_at": context["computed_at"]}
    cache.set(key, cached, DASHBOARD_CACHE_SECONDS)
    return cached


def dashboard_cached(user, period: Period) -> dict:
    """The dashboard's figures per visibility scope and period, counted again when the data they count changes
    (`_data_stamp`: not for a comment) and at the latest every DASHBOARD_CACHE_SECONDS; `computed_at` says
    when they were counted.

    What is cached is the figures' HTML (`figures_html`, templates/reporting/partials/dashboard_figures.html),
    rendered once: rendering the cards, charts and the table of every team on each view cost more than the
    rest of the page. A recount (a second or so for everything of a large organisation) is done by one
    request at a time: while it runs, the others (in this process, or in any process sharing the cache) are
    shown the previous figures, with the time they were counted, instead of recounting too; with no previous
    figures, the others wait for the first count, in this process or in another sharing the cache (several web
    processes starting cold would otherwise each count the same figures at once)."""
    key = dashboard_cache_key(user, period)
    stamp = _data_stamp()
    cached = cache.get(key)
    if cached is None or cached["stamp"] != stamp:
        lock, marker = _recount_lock(key), key + ":recounting"
        if cached is None:  # nothing to show meanwhile: wait for the first count, here or in another process
            lock.acquire()
            counting = True
            if not cache.add(marker, True, RECOUNT_SECONDS):
                cached = _counted_elsewhere(key, marker)
                if cached is not None:
                    lock.release()
                    counting = False
        else:  # the previous figures meanwhile if a recount is running, here or elsewhere
            counting = lock.acquire(blocking=False)
            if counting and not cache.add(marker, True, RECOUNT_SECONDS):
                lock.release()
                counting = False
        if counting:
            try:
                cached = cache.get(key)  # counted by another request while this one waited?
                if cached is None or cached["stamp"] != stamp:
                    cached = _recount(key, user, period, stamp)
            finally:
                cache.delete(marker)
                lock.release()
    return {"period": period, "previous_period": period.previous(),
            "cache_minutes": DASHBOARD_CACHE_SECONDS // 60, "figures_html": cached["figures_html"],
            "computed_at": cached["computed_at"]}


def previous_figures(user, period: Period) -> dict:
    """The figures of the period a dashboard compares with (its rows are not kept: only figures are shown)."""
    return Data(user, period, csv=False, teams=False).figures


def dashboard(user, period: Period, *, parallel: bool = False, facts: bool = False, beside=None) -> dict:
    """The dashboard's figures, cards, tables and charts. `facts` (the report task, on PostgreSQL): both
    periods added up from the stored facts of each upgrade (`facts.FactData`; raises `FactsIncomplete` where
    one is missing), the previous one on another connection in the same snapshot where `beside` is given
    (`apps.core.snapshot.one_snapshot`). `parallel`: the previous period is counted in a child process
    (`apps.core.forked`) and this period's row sets are read on three connections (`Data(parallel=True)`)."""
    before = period.previous()
    if facts:
        from .facts import FactData

        if beside is not None:
            earlier = beside(lambda: FactData(user, before, teams=False).figures)
            data = FactData(user, period, beside=beside)
            p = earlier.result()
        else:
            p = FactData(user, before, teams=False).figures
            data = FactData(user, period)
    elif parallel:  # counted in a child process on the other core while this period is counted here
        with InChild(lambda: pickle.dumps(previous_figures(user, before)), database=True) as job:
            data = Data(user, period, csv=False, parallel=True)
            p = pickle.loads(job.result())
    else:  # counted first: its rows are freed before this period's are read
        p = previous_figures(user, before)
        data = Data(user, period, csv=False)
    f = data.figures
    cards = []
    for kpi, figure, label, unit in CARDS:
        k = KPIS[kpi]
        cards.append({
            "kpi": kpi, "label": label, "value": f[figure], "unit": unit, "count": data.count(kpi),
            "count_noun": {"incidents": "incident", "refusals": "refusal", "firings": "firing",
                           "decisions": "decision"}.get(k.kind, "upgrade"),
            "trend": _trend(f[figure], p[figure], k.better), "previous": p[figure],
        })
    months = monthly(user, period, data)
    teams = data.teams()
    cfr_band = band_cfr(f["change_failure_rate"])
    lead_band = band_lead(f["lead_time_median_hours"])
    charts = {
        "outcomes": svg.stacked_bars(months, [("successful", "Successful"), ("with_issues", "With issues"),
                                               ("unsuccessful", "Unsuccessful")], "Upgrades ended per month"),
        "cfr": svg.line(months, "change_failure_rate", "Change failure rate per month", "%", top=100),
        "downtime": svg.stacked_bars(
            [{**m, "downtime": m["downtime_minutes"]} for m in months], [("downtime", "Downtime minutes")],
            "Downtime per month (planned and unplanned, minutes)"),
        "teams": svg.hbars([(t["team"], t["score"]) for t in teams], "Change success score per team"),
        "severity": svg.hbars(list(f["incidents_by_severity"].items()), "Incidents by severity"),
    }
    return {
        "period": period, "previous_period": period.previous(), "data": data, "figures": f, "previous": p,
        "cards": cards, "monthly": months, "teams": teams, "by_risk": data.by_risk(), "charts": charts,
        "cfr_band": cfr_band, "lead_band": lead_band, "days": incident_window_days(),
        "score_formula": SCORE_FORMULA.format(days=incident_window_days()),
        "severities": list(f["incidents_by_severity"].items()), "computed_at": clock.now(),
        "cache_minutes": DASHBOARD_CACHE_SECONDS // 60,
    }


def upcoming(user, *, days: int = 30) -> dict:
    """High-risk upgrades in the next `days` days (emergency, or on a critical system), freezes ahead."""
    from django.db.models import Exists, OuterRef, Q

    from apps.rollouts.models import Freeze
    from apps.upgrades.choices import State
    from apps.upgrades.models import UpgradeItem, UpgradeRequest
    from apps.upgrades.selectors import upgrade_visible

    from .kpis import INLINE_IDS

    now = clock.now()
    soon = now + dt.timedelta(days=days)
    critical = Exists(UpgradeItem.objects.filter(request=OuterRef("pk"), system__criticality="critical"))
    ahead = (UpgradeRequest.objects.filter(window_start__gte=now, window_start__lt=soon)
             .exclude(state__in=[State.CANCELLED, State.REJECTED, State.CLOSED, State.DRAFT]))
    ids = list(ahead.values_list("pk", flat=True)[:INLINE_IDS + 1])
    # the few requests ahead first, then the visibility rule on them only (not on every request)
    visible = upgrade_visible(user).filter(pk__in=ids if len(ids) <= INLINE_IDS else ahead.values("pk"))
    requests = list(
        visible.filter(Q(risk_class="emergency") | critical).order_by("window_start")
        .values("reference", "title", "risk_class", "state", "window_start")[:15])
    freezes = list(Freeze.objects.filter(ends_at__gte=now, starts_at__lt=now + dt.timedelta(days=90),
                                         lifted_at__isnull=True).order_by("starts_at")
                   .values("name", "starts_at", "ends_at", "reason")[:10])
    return {"requests": requests, "freezes": freezes, "days": days}


def kpi_rows(user, period: Period, kpi: str, severity: str = "") -> tuple[object, list[dict]]:
    """What one figure counts; the incidents may be narrowed to one severity (the breakdown's figures)."""
    if kpi not in KPIS:
        raise Http404("No such figure.")
    rows = KPIS[kpi].rows(Data(user, period))
    if kpi == "incidents" and severity:
        rows = [r for r in rows if r["severity"] == severity]
    return KPIS[kpi], rows


def report_visible(user) -> QuerySet:
    """A report belongs to its requester; auditors and administrators see every report."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Report.objects.none()
    qs = Report.objects.select_related("requested_by")
    return qs if user.has_role(*SEES_ALL_REPORTS) else qs.filter(requested_by=user)


def report_get(*, user, pk) -> Report:
    try:
        return report_visible(user).get(pk=int(pk))
    except (Report.DoesNotExist, ValueError, TypeError):
        raise Http404("No report with that number.") from None


def report_list(user, *, limit: int = 50) -> list[Report]:
    return list(report_visible(user).filter(requested_by=user)[:limit]) if user.is_authenticated else []


def subscriptions_of(user) -> QuerySet:
    return Subscription.objects.filter(user=user)


__all__ = ["KPI_LIST", "KPIS", "Period", "dashboard", "kpi_figures", "kpi_rows", "report_get", "upcoming"]
