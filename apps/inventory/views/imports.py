"""CSV import pages (admins only): upload and preview, the per-row error report, confirm, progress."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from .. import importers, selectors, services
from ..choices import ImportKind, ImportStatus
from ..forms import ImportUploadForm
from .common import admin_required

COLUMN_NOTES = {
    "owner_team": "slug of an existing team",
    "criticality": "low, medium, high or critical",
    "business_workflows": "separated by semicolons",
    "system": "slug of an existing system",
    "environment": "slug of an existing environment",
    "source_system": "slug of an existing system",
    "target_system": "slug of an existing system",
    "source_component": "name of a component of the source system",
    "target_component": "name of a component of the target system",
    "constraint_kind": "semver (default) or pep440",
    "order": "a whole number; production first",
}

SAMPLES = {
    ImportKind.SYSTEMS: (
        "name,slug,description,owner_team,criticality,region,business_workflows\n"
        "Core Ledger,core-ledger,General ledger,core-banking,critical,eu-central,"
        "Month-end close;Payments posting\n"
    ),
    ImportKind.ENVIRONMENTS: (
        "name,slug,kind,order\nProduction,production,production,0\nStaging,staging,staging,1\n"
    ),
    ImportKind.COMPONENTS: (
        "system,environment,name,product,version\n"
        "core-ledger,production,ledger-db,postgresql,13.14\n"
        "core-ledger,staging,ledger-db,postgresql,16.4\n"
    ),
    ImportKind.DEPENDENCIES: (
        "source_system,source_component,target_system,target_component,environment,constraint,constraint_kind,"
        "description\n"
        "retail-portal,portal-app,core-ledger,ledger-db,production,>=13 <17,semver,Reads balances\n"
        'billing,,core-ledger,,,">=4.2,<6",pep440,Posts invoices\n'
    ),
    ImportKind.ENDPOINTS: (
        "system,environment,name,kind,target,expected\n"
        "core-ledger,production,ledger-health,http,https://ledger.example.internal/health,status 200\n"
        "core-ledger,production,ledger-db,tcp,ledger-db.example.internal:5432,\n"
    ),
}


def import_specs() -> list[dict]:
    """What each kind of file must look like: its columns (required or not, with a note) and a sample."""
    specs = []
    for kind, label in ImportKind.choices:
        form_class = importers.SPECS[kind][0]
        columns = []
        for name, field in form_class.base_fields.items():
            note = COLUMN_NOTES.get(name, "")
            choices = getattr(field, "choices", None)
            if not note and choices:
                note = ", ".join(str(value) for value, _ in choices if value)
            columns.append({"name": name, "required": field.required, "note": note})
        specs.append({"kind": kind, "label": label, "columns": columns, "sample": SAMPLES[kind]})
    return specs


@admin_required
def import_start(request):
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        # read one byte more than allowed, so the service sees an oversize file without us holding all of it
        raw = upload.read(settings.IMPORT_MAX_BYTES + 1)
        try:
            job = services.import_preview(
                kind=form.cleaned_data["kind"], filename=upload.name or "upload.csv", raw=raw, by=request.user
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return redirect("inventory:import-detail", pk=job.pk)
    return render(
        request,
        "inventory/import_form.html",
        {
            "form": form,
            "specs": import_specs(),
            "jobs": selectors.import_job_list(limit=20),
            "max_bytes": settings.IMPORT_MAX_BYTES,
        },
    )


@admin_required
def import_detail(request, pk):
    job = selectors.import_job_get(pk=pk)
    if request.method == "POST":
        try:
            services.import_confirm(job=job, by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"The import of {job.total} rows has started.")
        return redirect("inventory:import-detail", pk=job.pk)
    header, rows = selectors.import_preview_rows(job)
    report = selectors.import_error_report(job)
    return render(
        request,
        "inventory/import_detail.html",
        {
            "job": job,
            "header": header,
            "rows": rows,
            "report": report[: selectors.ERROR_ROWS_SHOWN],
            "report_more": max(0, len(report) - selectors.ERROR_ROWS_SHOWN),
            "rows_with_errors": len(job.errors or []),
            "can_confirm": job.status == ImportStatus.PREVIEWED and not job.errors,
            "started": job.status != ImportStatus.PREVIEWED,
            "polling": selectors.import_is_running(job),
            "preview_limit": selectors.PREVIEW_ROWS,
        },
    )


@admin_required
@require_GET
def import_progress(request, pk):
    job = selectors.import_job_get(pk=pk)
    return render(
        request,
        "inventory/partials/import_progress.html",
        {"job": job, "polling": selectors.import_is_running(job)},
    )
