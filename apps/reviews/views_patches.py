"""Pages of patch schedules and vendor advisories. Every write calls a service."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.choices import Role
from apps.audit.access import role_required

from . import advisories, patches
from .forms_patches import ImportForm, OpenRequestForm, RecordForm, ScheduleForm
from .models import AdvisoryMatch

READERS = (Role.CHANGE_MANAGER, Role.CAB_MEMBER, Role.AUDITOR, Role.ADMIN)
WRITERS = (Role.CHANGE_MANAGER, Role.ADMIN)


def _errors_into(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errs in exc.error_dict.items():
            for e in errs:
                for m in e.messages:
                    form.add_error(field if field in form.fields else None, m)
    else:
        for m in exc.messages:
            form.add_error(None, m)


def _local(when, zone_name: str) -> str:
    return f"{when:%a %d %b %Y, %H:%M} {zone_name}"


# --- patch schedules ------------------------------------------------------------------------------------

@role_required(*READERS)
def schedule_list(request):
    rows = []
    for s in patches.schedule_list():
        nxt = patches.upcoming(s, count=1)
        rows.append({"schedule": s, "next": nxt[0] if nxt else None,
                     "next_local": _local(nxt[0]["local"], s.time_zone) if nxt else ""})
    return render(request, "reviews/patches/schedules.html", {
        "rows": rows, "can_create": patches.can_manage(request.user)})


@role_required(*WRITERS)
def schedule_create(request):
    initial = {k: request.GET[k] for k in ("system", "template", "target_version") if request.GET.get(k)}
    form = ScheduleForm(request.POST or None, initial=initial)  # prefilled from a completed upgrade's page
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                schedule = patches.schedule_create(by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                messages.success(request, "Patch schedule saved. Requests are raised ahead of each window.")
                return redirect("patches:schedule", pk=schedule.pk)
        status = 400
    return render(request, "reviews/patches/schedule_form.html", {"form": form}, status=status)


@role_required(*READERS)
def schedule_detail(request, pk):
    schedule = patches.schedule_get(pk)
    if schedule is None:
        raise Http404("No such patch schedule.")
    generated = {o.starts_at: o for o in schedule.occurrences.select_related("request")}
    ahead = [{**o, "local_text": _local(o["local"], schedule.time_zone), "row": generated.get(o["starts_at"])}
             for o in patches.upcoming(schedule)]
    past = sorted(generated.values(), key=lambda o: o.starts_at, reverse=True)
    from apps.cab.services import template_valid

    lapsed = [o for o in ahead if not template_valid(schedule.template, o["local"].date())]
    return render(request, "reviews/patches/schedule_detail.html", {
        "schedule": schedule, "ahead": ahead, "generated": past, "can_manage": patches.can_manage(request.user),
        "lapsed": lapsed[0] if lapsed else None})


@role_required(*WRITERS)
@require_POST
def schedule_active(request, pk):
    schedule = patches.schedule_get(pk)
    if schedule is None:
        raise Http404("No such patch schedule.")
    active = request.POST.get("active") == "1"
    patches.schedule_set_active(schedule=schedule, active=active, by=request.user)
    messages.success(request, "Schedule resumed." if active else "Schedule paused: no requests are raised.")
    return redirect("patches:schedule", pk=schedule.pk)


# --- advisories ---------------------------------------------------------------------------------------------

@role_required(*READERS)
def advisory_list(request):
    return render(request, "reviews/patches/advisories.html", {
        "advisories": list(advisories.advisory_list()), "can_import": advisories.can_import(request.user)})


@role_required(*WRITERS)
def advisory_import(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    record = RecordForm(prefix="record")
    status = 200
    if request.method == "POST":
        if form.is_valid():
            raw = form.cleaned_data["file"].read()
            try:
                if form.cleaned_data["kind"] == "csaf":
                    imported = [advisories.advisory_import_csaf(raw=raw, by=request.user)]
                else:
                    imported = advisories.advisory_import_csv(raw=raw, by=request.user)
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                messages.success(request, f"Imported {len(imported)} advisor{'y' if len(imported) == 1 else 'ies'}.")
                if len(imported) == 1:
                    return redirect("patches:advisory", pk=imported[0].pk)
                return redirect("patches:advisories")
        status = 400
    return render(request, "reviews/patches/advisory_import.html", {"form": form, "record": record}, status=status)


@role_required(*WRITERS)
@require_POST
def advisory_record(request):
    record = RecordForm(request.POST, prefix="record")
    if record.is_valid():
        try:
            advisory = advisories.advisory_record(by=request.user, **record.cleaned_data)
        except ValidationError as exc:
            _errors_into(record, exc)
        else:
            messages.success(request, "Advisory recorded.")
            return redirect("patches:advisory", pk=advisory.pk)
    return render(request, "reviews/patches/advisory_import.html", {"form": ImportForm(), "record": record},
                  status=400)


def _advisory_page(request, advisory, *, forms=None, status=200):
    matches = list(advisories.advisory_matches(advisory))
    forms = forms or {}
    can_open = request.user.has_role(Role.CHANGE_MANAGER)
    rows = [{"match": m, "form": forms.get(m.pk) or OpenRequestForm(prefix=f"m{m.pk}")} for m in matches]
    return render(request, "reviews/patches/advisory_detail.html", {
        "advisory": advisory, "products": list(advisory.products.all()[:500]),
        "product_count": advisory.products.count(), "rows": rows, "can_open": can_open}, status=status)


@role_required(*READERS)
def advisory_detail(request, pk):
    advisory = advisories.advisory_get(pk)
    if advisory is None:
        raise Http404("No such advisory.")
    return _advisory_page(request, advisory)


@role_required(Role.CHANGE_MANAGER)
@require_POST
def advisory_open_request(request, pk):
    match = AdvisoryMatch.objects.select_related("advisory").filter(pk=pk).first()
    if match is None:
        raise Http404("No such affected component.")
    form = OpenRequestForm(request.POST, prefix=f"m{match.pk}")
    if form.is_valid():
        try:
            upgrade = advisories.advisory_open_request(match=match, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _errors_into(form, exc)
        except PermissionDenied:
            raise
        else:
            messages.success(request, f"Upgrade request {upgrade.reference} opened as a draft; complete it there.")
            return redirect(upgrade.get_absolute_url())
    return _advisory_page(request, match.advisory, forms={match.pk: form}, status=400)
