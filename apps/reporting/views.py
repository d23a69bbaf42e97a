"""The KPI dashboard, its drill-down lists and CSVs, the reports and the subscriptions."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from apps.audit.access import role_required

from . import selectors, services
from .choices import ReportStatus
from .forms import PeriodForm, SubscriptionForm
from .kpis import KPI_LIST, KPIS, SEVERITIES, Data, Period, definitions, incident_window_days
from .models import Subscription
from .selectors import DASHBOARD_ROLES

PAGE_SIZE = 100


def _period(request, data=None) -> tuple[PeriodForm, Period, bool]:
    form = PeriodForm(data if data is not None else request.GET or None)
    if form.is_bound and form.is_valid():
        return form, form.period(), True
    return form, selectors.default_period(), not form.is_bound


def _query(period: Period) -> str:
    return urlencode(period.as_params())


def _csv(name: str, content: bytes) -> HttpResponse:
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@role_required(*DASHBOARD_ROLES)
def dashboard(request):
    form, period, valid = _period(request)
    context = selectors.dashboard_cached(request.user, period)
    context.update(form=form, query=_query(period), reports=selectors.report_list(request.user, limit=5),
                   definitions=definitions(), valid=valid)
    return render(request, "reporting/dashboard.html", context, status=200 if valid else 400)


@role_required(*DASHBOARD_ROLES)
def kpi_list(request, kpi):
    if kpi not in KPIS:
        raise Http404("No such figure.")
    form, period, valid = _period(request)
    if not valid:
        return render(request, "reporting/kpi_list.html", {"form": form, "kpi": KPIS[kpi], "valid": False},
                      status=400)
    severity = request.GET.get("severity", "")
    if severity not in ("", *SEVERITIES):
        return HttpResponse("severity: choose P1, P2, P3 or P4.", status=400,
                            content_type="text/plain; charset=utf-8")
    k, rows = selectors.kpi_rows(request.user, period, kpi, severity)
    if request.GET.get("format") == "csv":
        header, body = kpi_table(k, rows)
        return _csv(f"tollgate-{kpi}-{period.start}-{period.end}.csv", services.csv_bytes(header, body))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = _query(period) + (f"&severity={severity}" if severity else "")
    context = {"kpi": k, "rows": page.object_list, "page": page, "count": len(rows), "period": period,
               "query": query, "severity": severity, "form": form, "valid": True,
               "total_minutes": _minutes(kpi, rows),
               "definition": k.definition.format(days=incident_window_days())}
    return render(request, "reporting/kpi_list.html", context)


def _minutes(kpi: str, rows: list[dict]) -> int | None:
    """The total a downtime list adds up to: the figure on the dashboard."""
    if not kpi.endswith("downtime"):
        return None
    key = "planned_minutes" if kpi == "planned_downtime" else "unplanned_minutes"
    return sum(r[key] for r in rows)


def kpi_table(k, rows) -> tuple[list[str], list[list]]:
    """The columns of a drill-down list, for its CSV."""
    if k.kind == "incidents":
        return (["Request", "Request title", "Incident", "Severity", "Started (UTC)", "Impact (min)"],
                [[r["request__reference"], r["request__title"], r["title"], r["severity"],
                  services._cell("", r["started_at"]), r["impact_minutes"]] for r in rows])
    if k.kind == "refusals":
        return (["Request", "Refused at (UTC)", "Transition", "Reasons"],
                [[r["object_repr"], services._cell("", r["created_at"]), r["data"].get("transition", ""),
                  " / ".join(r["data"].get("reasons", []))] for r in rows])
    if k.kind == "firings":
        return (["Request", "Request title", "Trigger", "Fired at (UTC)"],
                [[r["run__request__reference"], r["run__request__title"], r["trigger__name"],
                  services._cell("", r["at"])] for r in rows])
    if k.kind == "decisions":
        return (["Request", "Title", "Risk class", "Submitted (UTC)", "Decided (UTC)", "CAB cycle (h)"],
                [[r["reference"], r["title"], r["risk_class"], services._cell("", r["submitted_at"]),
                  services._cell("", r["decided_at"]), f"{r['cab_hours']:.1f}"] for r in rows])
    return ([label for _, label in services.UPGRADE_COLUMNS],
            [[services._cell(key, r.get(key)) for key, _ in services.UPGRADE_COLUMNS] for r in rows])


EXPORTS = {
    "figures": "Headline figures",
    "teams": "Per-team table",
    "monthly": "Monthly trend (chart data)",
    "risk-classes": "Change failures by risk class (chart data)",
    "severity": "Incidents by severity (chart data)",
    "upgrades": "Every upgrade that ended in the period",
}


def export_table(data: Data, previous: dict | None, table: str) -> tuple[list[str], list[list]]:
    """The rows of one exported table (not the upgrades: `services.upgrades_csv`); `previous` is the previous
    period's figures, for the figures table only."""
    f, p = data.figures, previous
    if table == "figures":
        rows = [[k, f[k], p[k]] for k in f if k != "incidents_by_severity"]
        rows += [[f"incidents_{s}", f["incidents_by_severity"][s], p["incidents_by_severity"][s]]
                 for s in f["incidents_by_severity"]]
        return ["Figure", "This period", "Previous period"], rows
    if table == "teams":
        cols = ["team", "ended", "successful", "with_issues", "unsuccessful", "P1", "P2", "P3", "P4",
                "failures", "change_failure_rate", "score"]
        return cols, [[t[c] for c in cols] for t in data.teams()]
    if table == "monthly":
        cols = ["month", "ended", "successful", "with_issues", "unsuccessful", "failures",
                "change_failure_rate", "downtime_minutes"]
        return cols, [[m[c] for c in cols] for m in selectors.monthly(data.user, data.period, data)]
    if table == "risk-classes":
        cols = ["risk_class", "ended", "failures", "change_failure_rate"]
        return cols, [[r[c] for c in cols] for r in data.by_risk()]
    return ["severity", "incidents"], [[s, n] for s, n in f["incidents_by_severity"].items()]


@role_required(*DASHBOARD_ROLES)
def export(request, table):
    if table not in EXPORTS:
        raise Http404("No such table.")
    form, period, valid = _period(request)
    if not valid:
        return HttpResponse("; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()), status=400,
                            content_type="text/plain; charset=utf-8")
    name = f"tollgate-{table}-{period.start}-{period.end}.csv"
    if table == "upgrades":  # the same CSV as the report's
        return _csv(name, services.upgrades_csv(Data(request.user, period)))
    previous = selectors.previous_figures(request.user, period.previous()) if table == "figures" else None
    header, rows = export_table(Data(request.user, period, csv=False), previous, table)
    return _csv(name, services.csv_bytes(header, rows))


# --- reports ---------------------------------------------------------------------------------------------


@role_required(*DASHBOARD_ROLES)
def report_list(request):
    form, period, _ = _period(request)
    return render(request, "reporting/reports.html", {
        "reports": selectors.report_list(request.user), "form": form, "query": _query(period)})


@require_POST
@role_required(*DASHBOARD_ROLES)
def report_request(request):
    form, period, valid = _period(request, request.POST)
    if not valid:
        return render(request, "reporting/reports.html", {
            "reports": selectors.report_list(request.user), "form": form, "query": ""}, status=400)
    try:
        report, created = services.report_request(by=request.user, period=period)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return render(request, "reporting/reports.html", {
            "reports": selectors.report_list(request.user), "form": form, "query": ""}, status=400)
    if created:
        messages.success(request, "Your report is being generated. This page shows its progress.")
    else:
        messages.info(request, "A report with the same period and filters on the same data already exists: "
                               "here it is, nothing was generated again.")
    return redirect("reporting:report", report.pk)


@role_required(*DASHBOARD_ROLES)
def report_detail(request, pk):
    report = selectors.report_get(user=request.user, pk=pk)
    period = Period.from_params(report.params)
    return render(request, "reporting/report.html", {"report": report, "period": period,
                                                     "query": _query(period)})


@role_required(*DASHBOARD_ROLES)
def report_status(request, pk):
    report = selectors.report_get(user=request.user, pk=pk)
    response = render(request, "reporting/partials/report_status.html", {"report": report})
    if report.status in (ReportStatus.DONE, ReportStatus.FAILED):
        response["HX-Trigger"] = "report-finished"
    return response


@role_required(*DASHBOARD_ROLES)
def report_download(request, pk, kind):
    report = selectors.report_get(user=request.user, pk=pk)
    try:
        handle = services.report_download(report=report, by=request.user, kind=kind)
    except ValidationError:
        raise Http404("The report is not ready.") from None
    name = (report.pdf if kind == "pdf" else report.csv).name.rsplit("/", 1)[-1]
    return FileResponse(handle, as_attachment=True, filename=name,
                        content_type="application/pdf" if kind == "pdf" else "text/csv")


# --- subscriptions -----------------------------------------------------------------------------------------


@role_required(*DASHBOARD_ROLES)
def subscriptions(request):
    form = SubscriptionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.subscription_save(user=request.user, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, "Subscribed: the report will be e-mailed to you.")
                return redirect("reporting:subscriptions")
        status = 400
    return render(request, "reporting/subscriptions.html", {
        "form": form, "subscriptions": list(selectors.subscriptions_of(request.user))}, status=status)


@require_POST
@role_required(*DASHBOARD_ROLES)
def subscription_cancel(request, pk):
    try:
        sub = selectors.subscriptions_of(request.user).get(pk=pk)
    except (Subscription.DoesNotExist, ValueError):
        raise Http404("No such subscription.") from None
    services.subscription_cancel(subscription=sub, by=request.user)
    messages.success(request, "Unsubscribed: no more e-mails for this report.")
    return redirect(reverse("reporting:subscriptions"))


__all__ = ["KPI_LIST"]
