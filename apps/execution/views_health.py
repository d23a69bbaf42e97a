"""Health-check pages: checks, runs (with live progress and a latency chart), the allow-list, the demo estate.

Every write calls a service in apps.execution.health (or estate); reads go through its selectors.
"""

import html

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from apps.audit.access import role_required

from . import estate, health
from .forms_health import AllowedTargetForm, EstateForm, HealthCheckForm, RunForm
from .models import AllowedTarget, CheckPurpose, CheckResult, HealthCheck, RunStatus

PAGE_SIZE = 50
CHART_ROWS = 40
STATUS_FILL = {"ok": "#2e7d32", "fail": "#b3261e", "error": "#a86400", "refused": "#5b6575"}


def _errors_into(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = field if field in form.fields else None
            for e in errors:
                form.add_error(target, e.messages[0] if hasattr(e, "messages") else str(e))
    else:
        for message in exc.messages:
            form.add_error(None, message)


def latency_svg(rows: list[dict], *, total: int | None = None) -> str:
    """Horizontal bars, one per result (the slowest first), coloured by status; a self-contained SVG string."""
    rows = sorted(rows, key=lambda r: -(r["latency_ms"] or 0))[:CHART_ROWS]
    if not rows:
        return ""
    label_w, bar_w, row_h, top = 260, 380, 20, 26
    top_ms = max((r["latency_ms"] or 0) for r in rows) or 1
    height = top + row_h * len(rows) + 24
    shown = f"the {len(rows)} slowest of {total}" if total and total > len(rows) else f"{len(rows)} results"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {label_w + bar_w + 90} {height}" '
           f'width="100%" role="img" aria-label="Latency per check, {html.escape(shown)}">',
           f'<text x="0" y="16" font-size="13" font-weight="bold" fill="#1d2430">Latency per check ({html.escape(shown)})'
           f'</text>']
    for i, r in enumerate(rows):
        y = top + i * row_h
        latency = r["latency_ms"]
        width = 0 if latency is None else max(2, round(latency / top_ms * bar_w))
        fill = STATUS_FILL.get(r["status"], "#5b6575")
        label = r["label"] if len(r["label"]) <= 38 else r["label"][:37] + "…"
        figure = "no answer" if latency is None else f"{latency:,.0f} ms"
        out.append(f'<g><title>{html.escape(r["label"])}: {figure}, {html.escape(r["status_label"])}</title>'
                   f'<text x="{label_w - 6}" y="{y + 14}" font-size="11" text-anchor="end" fill="#1d2430">'
                   f'{html.escape(label)}</text>'
                   f'<rect x="{label_w}" y="{y + 3}" width="{width}" height="{row_h - 6}" fill="{fill}"/>'
                   f'<text x="{label_w + width + 6}" y="{y + 14}" font-size="11" fill="#1d2430">{figure} · '
                   f'{html.escape(r["status_label"])}</text></g>')
    out.append(f'<text x="{label_w}" y="{height - 6}" font-size="10" fill="#5b6575">0 ms</text>'
               f'<text x="{label_w + bar_w}" y="{height - 6}" font-size="10" text-anchor="end" fill="#5b6575">'
               f'{top_ms:,.0f} ms</text></svg>')
    return "".join(out)


def _chart(results) -> str:
    rows = [{"label": f"{r.health_check.endpoint.system.name} · {r.health_check.name}", "latency_ms": r.latency_ms,
             "status": r.status, "status_label": r.get_status_display()} for r in results]
    return mark_safe(latency_svg(rows, total=len(rows)))  # noqa: S308 — every text inside is escaped


def _can(user, roles) -> bool:
    return user.has_role(*roles)


# --- checks -------------------------------------------------------------------------------------------------


@role_required(*health.VIEW_ROLES)
def checks(request):
    latest = CheckResult.objects.filter(health_check=OuterRef("pk")).order_by("-checked_at", "-pk")
    qs = health.checks_list().annotate(last_status=Subquery(latest.values("status")[:1]),
                                       last_latency=Subquery(latest.values("latency_ms")[:1]),
                                       last_at=Subquery(latest.values("checked_at")[:1]))
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    labels = dict(CheckResult._meta.get_field("status").choices)
    for c in page.object_list:
        c.last_status_label = labels.get(c.last_status, "")
    return render(request, "execution/health/checks.html", {
        "page": page, "can_define": _can(request.user, health.DEFINE_ROLES),
        "can_run": _can(request.user, health.RUN_ROLES), "is_admin": _can(request.user, ("admin",)),
    })


def _check_form_page(request, *, check=None):
    form = HealthCheckForm(request.POST or None, check=check)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        password = data.pop("sql_password") or None
        try:
            check = health.healthcheck_save(by=request.user, check=check, sql_password=password, **data)
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, f"Health check “{check.name}” saved.")
            return redirect("health:check", pk=check.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "execution/health/check_form.html", {
        "form": form, "check": check,
        "heading": f"Edit health check “{check.name}”" if check else "New health check",
        "cancel_url": reverse("health:check", args=[check.pk]) if check else reverse("health:checks"),
    }, status=status)


@role_required(*health.DEFINE_ROLES)
def check_create(request):
    return _check_form_page(request)


@role_required(*health.DEFINE_ROLES)
def check_edit(request, pk):
    return _check_form_page(request, check=get_object_or_404(HealthCheck, pk=pk))


@role_required(*health.VIEW_ROLES)
def check_detail(request, pk):
    check = get_object_or_404(HealthCheck.objects.select_related("endpoint__system", "endpoint__environment"), pk=pk)
    recent = list(CheckResult.objects.filter(health_check=check).select_related("run", "health_check__endpoint__system")
                  .order_by("-checked_at", "-pk")[:20])
    return render(request, "execution/health/check_detail.html", {
        "check": check, "recent": recent, "password_set": bool(check.sql_password_encrypted),
        "can_define": _can(request.user, health.DEFINE_ROLES), "can_run": _can(request.user, health.RUN_ROLES),
    })


# --- runs -----------------------------------------------------------------------------------------------------


@require_POST
@role_required(*health.RUN_ROLES)
def run_create(request):
    form = RunForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, f"Nothing was run: {e}")
        return redirect(request.POST.get("back") if request.POST.get("back", "").startswith("/health/")
                        else "health:checks")
    try:
        run = health.checkrun_request(checks=form.cleaned_data["checks"], purpose=CheckPurpose.ADHOC,
                                      by=request.user)
    except ValidationError as exc:
        messages.error(request, "Nothing was run: " + " ".join(m for ms in exc.message_dict.values() for m in ms))
        return redirect("health:checks")
    messages.success(request, f"Run #{run.pk} of {run.total} check{'s' if run.total != 1 else ''} requested.")
    return redirect("health:run", pk=run.pk)


@role_required(*health.VIEW_ROLES)
def runs(request):
    page = Paginator(health.runs_visible(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "execution/health/runs.html", {"page": page})


def _run(request, pk):
    run = health.runs_visible(request.user).filter(pk=pk).first()
    if run is None:
        raise Http404("No such run.")
    return run


def _run_context(run) -> dict:
    results = list(health.results_of(run))
    active = run.status in (RunStatus.QUEUED, RunStatus.RUNNING)
    done = len(results)
    context = {"run": run, "results": results, "active": active, "done": done,
               "percent": round(done / run.total * 100) if run.total else 100,
               "chart": _chart(results) if results else "", "green": health.run_is_green(run),
               "undispatched": run.status == RunStatus.QUEUED and run.dispatched_at is None}
    if run.request_id and not active:
        if run.purpose == CheckPurpose.BASELINE:
            context["baselines"] = list(health.baselines_current(run.request).values())
        elif health.baselines_current(run.request):
            context["comparison"] = health.baseline_compare(request=run.request, run=run)
    return context


@role_required(*health.VIEW_ROLES)
def run_detail(request, pk):
    run = _run(request, pk)
    return render(request, "execution/health/run_detail.html", _run_context(run))


@role_required(*health.VIEW_ROLES)
def run_progress(request, pk):
    run = _run(request, pk)
    return render(request, "execution/health/partials/run_body.html", _run_context(run))


# --- allow-list -------------------------------------------------------------------------------------------------


@role_required(*health.ALLOWLIST_ROLES)
def allowlist(request):
    form = AllowedTargetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            target = health.allowlist_add(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, f"{target.value} added to the allow-list.")
            return redirect("health:allowlist")
    targets = AllowedTarget.objects.select_related("created_by").order_by("value", "pk")
    return render(request, "execution/health/allowlist.html", {"form": form, "targets": targets},
                  status=400 if request.method == "POST" else 200)


@require_POST
@role_required(*health.ALLOWLIST_ROLES)
def allowlist_remove(request, pk):
    target = get_object_or_404(AllowedTarget, pk=pk)
    health.allowlist_remove(target=target, by=request.user)
    messages.success(request, f"{target.value} removed from the allow-list: probes no longer reach it.")
    return redirect("health:allowlist")


# --- the demo estate --------------------------------------------------------------------------------------------


@role_required("admin")
def estate_page(request):
    status = 200
    if request.method == "POST":
        form = EstateForm(request.POST)
        if form.is_valid():
            try:
                estate.estate_set(by=request.user, **form.cleaned_data)
            except (ValidationError, PermissionDenied) as exc:
                messages.error(request, f"Nothing changed: {exc}")
                status = 400
            else:
                label = estate.MODES[form.cleaned_data["mode"]].lower()
                messages.success(request, f"{form.cleaned_data['name']} is now {label}.")
                return redirect("health:estate")
        else:
            messages.error(request, "Nothing changed: choose a service and how it should behave.")
            status = 400
    services = estate.services_status()
    running = estate.listening(estate.HTTP_PORT)
    return render(request, "execution/health/estate.html", {
        "services": services, "modes": list(estate.MODES.items()), "running": running,
        "http_port": estate.HTTP_PORT}, status=status)
