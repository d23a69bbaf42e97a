"""Reads of the reporting app: the dashboard (also the PDF's and the API's numbers) and the reports one
may open."""

import datetime as dt
import hashlib

from django.core.cache import cache
from django.db.models import Count, Max, QuerySet
from django.http import Http404

from apps.accounts.choices import Role
from apps.core import clock

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
    return (data if trend == period else Data(user, trend)).monthly()


def kpi_figures(user, period: Period) -> dict:
    """The numbers of the API: the same `Data.figures` the dashboard shows, with the previous period's."""
    data = Data(user, period)
    previous = Data(user, period.previous())
    return {"period": period.as_params(), "figures": data.figures, "previous": previous.figures,
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


def _data_stamp() -> str:
    """Changes whenever a row the KPIs count is added or a request changes (a handful of index lookups):
    a cached dashboard is recounted after any such change, not only when it expires."""
    from apps.audit.models import AuditEvent
    from apps.execution.models import Incident, StepEvent, TriggerFiring
    from apps.rollouts.models import Wave
    from apps.upgrades.models import UpgradeItem, UpgradeRequest

    parts = [UpgradeRequest.objects.aggregate(n=Count("pk"), last=Max("updated_at"))]
    parts += [m.objects.aggregate(last=Max("pk"))["last"]
              for m in (Incident, StepEvent, TriggerFiring, Wave, UpgradeItem)]
    parts.append(AuditEvent.objects.filter(action="upgrade.transition_refused")  # the freeze refusals
                 .aggregate(n=Count("pk"), last=Max("seq")))
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def dashboard_cached(user, period: Period) -> dict:
    """The dashboard's figures, counted at most every DASHBOARD_CACHE_SECONDS per visibility scope and
    recounted as soon as the data changes; `computed_at` says how fresh they are."""
    key = "reporting:dashboard:" + hashlib.sha256(
        f"{_scope(user)}|{period.key()}|{incident_window_days()}|{_data_stamp()}".encode()).hexdigest()
    context = cache.get(key)
    if context is None:
        context = dashboard(user, period)
        context.pop("data")  # the rows stay out of the cache: the page shows only the figures
        cache.set(key, context, DASHBOARD_CACHE_SECONDS)
    return dict(context)


def dashboard(user, period: Period) -> dict:
    data = Data(user, period)
    previous = Data(user, period.previous())
    f, p = data.figures, previous.figures
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
