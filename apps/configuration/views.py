"""Pages of configuration control: a request's "Configuration & staging", a system's snapshots and baseline,
a snapshot and its comparison, and the configuration exceptions. Every write calls a service."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts import duties
from apps.accounts.choices import Role
from apps.inventory.models import Environment, System
from apps.upgrades.choices import FINAL_STATES, State

from . import selectors, services
from .forms import (AcceptForm, BaselineForm, DecideForm, ExceptionForm, JunitForm, MaskingForm, PerformanceForm,
                    SignoffForm, SnapshotForm, SystemSnapshotForm, TopologyForm)
from .models import ConfigException, TestCaseResult

REFUSALS = (services.ConfigurationRefused, duties.DutyRefused)
BACKOUT_STATES = {State.IN_PROGRESS, State.VALIDATING, State.ROLLED_BACK, State.FAILED}


def _refusal(request, exc) -> None:
    messages.error(request, " ".join(getattr(exc, "reasons", None) or [str(exc)]))


def _apply_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


# --- the request page -------------------------------------------------------------------------------------


def _waves(upgrade):
    from apps.rollouts.models import Wave

    return Wave.objects.filter(plan__request=upgrade).order_by("position")


def _flags(user, upgrade) -> dict:
    held = duties.duties_of(user, upgrade)
    admin = user.has_role(Role.ADMIN)
    open_ = upgrade.state not in FINAL_STATES
    record = open_ and (admin or bool(held & set(services.EVIDENCE_DUTIES)))
    return {
        "can_record": record,
        "can_snapshot": record and user.has_role(*services.SNAPSHOT_ROLES),
        "can_accept": open_ and (admin or bool(held & set(services.ACCEPT_DUTIES))),
        "can_check_order": record,
    }


def _request_page(request, upgrade, status=200, **forms):
    summary = selectors.request_summary(upgrade)
    systems = System.objects.filter(pk__in=[s.pk for s in summary["systems"]]).order_by("name")
    envs = Environment.objects.filter(pk__in=[e.pk for e in (summary["staging"], summary["production"]) if e])
    flags = _flags(request.user, upgrade)
    for row in summary["signoffs"]:
        row["may_sign"] = selectors.may_sign(request.user, row["workflow"]) and upgrade.state not in FINAL_STATES
        pk = row["workflow"].pk
        row["form"] = (forms["signoff_form"] if forms.get("signoff_target") == pk
                       else SignoffForm(auto_id=f"sign{pk}_%s"))
    context = {
        "upgrade": upgrade,
        **summary,
        **flags,
        "show_backout": upgrade.state in BACKOUT_STATES,
        "snapshot_form": forms.get("snapshot_form") or SnapshotForm(systems=systems),
        "junit_form": forms.get("junit_form") or JunitForm(waves=_waves(upgrade)),
        "topology_form": forms.get("topology_form") or TopologyForm(systems=systems, environments=envs),
        "masking_form": forms.get("masking_form") or MaskingForm(systems=systems),
        "performance_form": forms.get("performance_form") or PerformanceForm(systems=systems),
        "accept_errors": forms.get("accept_errors") or {},
        "blocking": bool(summary["submit_reasons"]) or bool(summary["start_reasons"] and upgrade.state in (
            State.APPROVED, State.SCHEDULED)),
    }
    return render(request, "configuration/request.html", context, status=status)


@login_required
def request_detail(request, reference):
    upgrade = selectors.request_for(user=request.user, reference=reference)
    return _request_page(request, upgrade)


def _here(upgrade) -> str:
    return reverse("configuration:request", args=[upgrade.reference])


def _systems_of(upgrade):
    return System.objects.filter(pk__in=upgrade.items.values("system_id")).order_by("name")


def _post(request, reference, *, form_name, make_form, act, done: str):
    upgrade = selectors.request_for(user=request.user, reference=reference)
    form = make_form(upgrade)
    if form.is_valid():
        try:
            act(upgrade, form.cleaned_data)
        except REFUSALS as exc:
            _refusal(request, exc)
            return redirect(_here(upgrade))
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect(_here(upgrade))
    messages.error(request, "Nothing was recorded: correct the form below.")
    return _request_page(request, upgrade, status=400, **{form_name: form})


@login_required
@require_POST
def snapshot_upload(request, reference):
    def act(upgrade, data):
        upload = data.get("file")
        raw = upload.read() if upload else data["text"].encode()
        services.snapshot_take(system=data["system"], environment=data["environment"], by=request.user,
                               tag=data["tag"], fmt=data.get("format") or "", raw=raw,
                               filename=upload.name if upload else "", request=upgrade, purpose=data["purpose"])

    return _post(request, reference, form_name="snapshot_form", done="Snapshot recorded.", act=act,
                 make_form=lambda u: SnapshotForm(request.POST, request.FILES, systems=_systems_of(u)))


@login_required
@require_POST
def junit_upload(request, reference):
    def act(upgrade, data):
        upload = data["file"]
        report = services.junit_import(request=upgrade, by=request.user, raw=upload.read(), filename=upload.name,
                                       wave=data.get("wave"), name=data.get("name") or "")
        if report.failures or report.errors:
            messages.warning(request, f"{report.failures + report.errors} failing test(s) block the submission "
                                      "to the CAB until fixed or accepted.")

    return _post(request, reference, form_name="junit_form", done="Regression report imported.", act=act,
                 make_form=lambda u: JunitForm(request.POST, request.FILES, waves=_waves(u)))


@login_required
@require_POST
def topology_add(request, reference):
    def act(upgrade, data):
        services.topology_record(request=upgrade, system=data["system"], environment=data["environment"],
                                 by=request.user, kind=data["kind"], name=data["name"], value=data["value"])

    def make(u):
        envs = Environment.objects.filter(pk__in=[e.pk for e in (selectors.staging_environment(),
                                                                  selectors.production_environment()) if e])
        return TopologyForm(request.POST, systems=_systems_of(u), environments=envs)

    return _post(request, reference, form_name="topology_form", done="Topology recorded.", act=act, make_form=make)


@login_required
@require_POST
def masking_add(request, reference):
    def act(upgrade, data):
        services.masking_record(request=upgrade, system=data["system"], by=request.user, masked=data["masked"],
                                method=data["method"], masked_by=data["masked_by"], masked_on=data["masked_on"],
                                notes=data.get("notes") or "")

    return _post(request, reference, form_name="masking_form", done="Staging data record saved.", act=act,
                 make_form=lambda u: MaskingForm(request.POST, systems=_systems_of(u)))


@login_required
@require_POST
def performance_add(request, reference):
    def act(upgrade, data):
        services.performance_record(request=upgrade, by=request.user, figures=[{
            **{k: data[k] for k in ("metric", "unit", "before", "after", "higher_is_better", "tolerance_percent")},
            "system": data["system"].pk if data.get("system") else None}])

    return _post(request, reference, form_name="performance_form", done="Performance figure recorded.", act=act,
                 make_form=lambda u: PerformanceForm(request.POST, systems=_systems_of(u)))


@login_required
@require_POST
def failure_accept(request, reference, pk):
    upgrade = selectors.request_for(user=request.user, reference=reference)
    case = get_object_or_404(TestCaseResult.objects.select_related("report"), pk=pk, report__request=upgrade)
    form = AcceptForm(request.POST)
    errors = None
    if form.is_valid():
        try:
            services.failure_accept(case=case, by=request.user, justification=form.cleaned_data["justification"])
        except REFUSALS as exc:
            _refusal(request, exc)
            return redirect(_here(upgrade))
        except ValidationError as exc:
            errors = sum(exc.message_dict.values(), [])
        else:
            messages.success(request, f"“{case.name}” accepted; it no longer blocks.")
            return redirect(_here(upgrade))
    else:
        errors = sum(form.errors.values(), [])
    messages.error(request, "Nothing was recorded: give a justification.")
    return _request_page(request, upgrade, status=400, accept_errors={case.pk: errors})


@login_required
@require_POST
def signoff_add(request, reference, workflow_id):
    upgrade = selectors.request_for(user=request.user, reference=reference)
    workflow = next((w for w in selectors.workflows_of(upgrade) if w.pk == workflow_id), None)
    if workflow is None:
        return redirect(_here(upgrade))
    form = SignoffForm(request.POST, auto_id=f"sign{workflow.pk}_%s")
    if form.is_valid():
        try:
            services.signoff_record(request=upgrade, workflow=workflow, by=request.user,
                                    password=form.cleaned_data["password"], comment=form.cleaned_data["comment"])
        except REFUSALS as exc:
            _refusal(request, exc)
            return redirect(_here(upgrade))
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"UAT sign-off of “{workflow.name}” recorded.")
            return redirect(_here(upgrade))
    return _request_page(request, upgrade, status=400, signoff_form=form, signoff_target=workflow.pk)


@login_required
@require_POST
def order_check(request, reference):
    upgrade = selectors.request_for(user=request.user, reference=reference)
    if not _flags(request.user, upgrade)["can_check_order"]:
        messages.error(request, "Only people working on this request check the patching order.")
        return redirect(_here(upgrade))
    problems = services.patching_order_check(request=upgrade, by=request.user)
    if problems:
        messages.warning(request, f"{len(problems)} ordering problem(s) recorded as findings.")
    else:
        messages.success(request, "The planned order applies every dependency first.")
    return redirect(_here(upgrade))


# --- systems and snapshots ----------------------------------------------------------------------------------


def _system(slug) -> System:
    return get_object_or_404(System.objects.select_related("owner_team"), slug=slug)


def _system_page(request, system, status=200, snapshot_form=None):
    page = Paginator(selectors.snapshot_list(system=system), 50).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    context = {
        "system": system,
        **selectors.system_summary(system),
        "page": page,
        "snapshots": rows,
        "visible_refs": selectors.visible_references(request.user, rows),
        "can_snapshot": request.user.has_role(*services.SNAPSHOT_ROLES),
        "can_baseline": request.user.has_role(*services.BASELINE_ROLES),
        "snapshot_form": snapshot_form or SystemSnapshotForm(systems=System.objects.none()),
        "frozen": selectors.freezes_blocking_now(system=system),
    }
    return render(request, "configuration/system.html", context, status=status)


@login_required
def system_detail(request, slug):
    return _system_page(request, _system(slug))


@login_required
@require_POST
def system_snapshot(request, slug):
    system = _system(slug)
    form = SystemSnapshotForm(request.POST, request.FILES, systems=System.objects.none())
    if form.is_valid():
        data = form.cleaned_data
        upload = data.get("file")
        try:
            services.snapshot_take(system=system, environment=data["environment"], by=request.user, tag=data["tag"],
                                   fmt=data.get("format") or "", raw=upload.read() if upload else data["text"].encode(),
                                   filename=upload.name if upload else "")
        except REFUSALS as exc:
            _refusal(request, exc)
            return redirect("configuration:system", slug=system.slug)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, "Snapshot recorded.")
            return redirect("configuration:system", slug=system.slug)
    return _system_page(request, system, status=400, snapshot_form=form)


@login_required
def snapshot_detail(request, pk):
    snapshot = selectors.snapshot_get(pk)
    others = selectors.snapshot_list(system=snapshot.system).exclude(pk=snapshot.pk)[:100]
    other = request.GET.get("compare")
    comparison = None
    if other and str(other).isdigit():
        target = selectors.snapshot_get(int(other))
        if target.system_id == snapshot.system_id or request.GET.get("any"):
            comparison = selectors.compare(target, snapshot)
    from .documents import flatten

    context = {
        "snapshot": snapshot,
        "settings_rows": sorted(flatten(snapshot.content).items()),
        "others": others,
        "comparison": comparison,
        "ref_visible": bool(selectors.visible_references(request.user, [snapshot])),
        "can_baseline": request.user.has_role(*services.BASELINE_ROLES),
        "verified": services.snapshot_verify(snapshot),
        "baseline_form": BaselineForm(),
    }
    return render(request, "configuration/snapshot.html", context)


@login_required
@require_POST
def snapshot_baseline(request, pk):
    snapshot = selectors.snapshot_get(pk)
    form = BaselineForm(request.POST)
    note = form.data.get("note", "")
    try:
        services.baseline_approve(snapshot=snapshot, by=request.user, note=note)
    except REFUSALS as exc:
        _refusal(request, exc)
    except ValidationError as exc:
        messages.error(request, " ".join(sum(exc.message_dict.values(), [])))
    else:
        messages.success(request, f"“{snapshot.tag}” is now the approved baseline of {snapshot.system.name} in "
                                  f"{snapshot.environment.name}.")
    return redirect("configuration:snapshot", pk=snapshot.pk)


# --- configuration exceptions ----------------------------------------------------------------------------------


def _exceptions_page(request, status=200, form=None, decide_errors=None):
    status_filter = request.GET.get("status", "")
    page = Paginator(selectors.exception_list(status=status_filter), 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "exceptions": list(page.object_list),
        "status_filter": status_filter,
        "statuses": [("", "All"), ("requested", "Waiting for approval"), ("in_force", "In force"),
                     ("expired", "Expired"), ("refused", "Refused")],
        "now": timezone.now(),
        "can_request": request.user.has_role(*services.EXCEPTION_REQUEST_ROLES),
        "can_decide": selectors.can_decide_exceptions(request.user),
        "form": form or ExceptionForm(systems=System.objects.order_by("name")),
        "decide_errors": decide_errors or {},
    }
    return render(request, "configuration/exceptions.html", context, status=status)


@login_required
def exception_list(request):
    return _exceptions_page(request)


@login_required
@require_POST
def exception_add(request):
    form = ExceptionForm(request.POST, systems=System.objects.order_by("name"))
    if form.is_valid():
        data = form.cleaned_data
        expires = data["expires_at"]
        if timezone.is_naive(expires):
            expires = timezone.make_aware(expires)
        try:
            services.exception_request(system=data["system"], environment=data.get("environment"), by=request.user,
                                       key_pattern=data["key_pattern"], reason_kind=data["reason_kind"],
                                       reason=data["reason"], expires_at=expires.astimezone(dt.UTC))
        except REFUSALS as exc:
            _refusal(request, exc)
            return redirect("configuration:exceptions")
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, "Exception requested; a CAB member or an admin decides it.")
            return redirect("configuration:exceptions")
    return _exceptions_page(request, status=400, form=form)


@login_required
@require_POST
def exception_decide(request, pk):
    exception = get_object_or_404(ConfigException, pk=pk)
    form = DecideForm(request.POST)
    if not form.is_valid():
        return _exceptions_page(request, status=400, decide_errors={pk: ["Choose approve or refuse."]})
    try:
        services.exception_decide(exception=exception, by=request.user,
                                  approve=form.cleaned_data["decision"] == "approve",
                                  reason=form.cleaned_data.get("reason") or "")
    except REFUSALS as exc:
        _refusal(request, exc)
    except ValidationError as exc:
        return _exceptions_page(request, status=400, decide_errors={pk: sum(exc.message_dict.values(), [])})
    else:
        messages.success(request, "Decision recorded.")
    return redirect("configuration:exceptions")
