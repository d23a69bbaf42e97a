"""SBOM pages: a component's packages (everyone signed in reads), the upload (administrators), job progress."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from .. import sbom as sbom_service
from ..models import Component, ImportJob
from .common import PAGE_SIZE, admin_required, is_admin


class SbomUploadForm(forms.Form):
    file = forms.FileField(label="CycloneDX JSON file", help_text="CycloneDX 1.2 to 1.5, JSON.")


def _component(pk):
    return get_object_or_404(Component.objects.select_related("system", "environment"), pk=pk)


@login_required
def sbom_detail(request, pk):
    component = _component(pk)
    form = SbomUploadForm()
    if request.method == "POST":
        if not is_admin(request.user):
            raise PermissionDenied("Only administrators import SBOMs.")
        form = SbomUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            raw = upload.read(sbom_service.max_bytes() + 1)
            try:
                result = sbom_service.sbom_submit(component=component, filename=upload.name or "sbom.json",
                                                  raw=raw, by=request.user)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                if isinstance(result, ImportJob):
                    return redirect("inventory:sbom-job", pk=result.pk)
                messages.success(request, f"Imported {result.package_count} packages and {result.edge_count} "
                                          f"dependency edges from {result.filename}.")
                return redirect("inventory:component-sbom", pk=component.pk)
    packages, sbom = sbom_service.package_queryset(component=component)
    page = Paginator(packages, PAGE_SIZE).get_page(request.GET.get("page"))
    status = 400 if form.errors else 200
    return render(request, "inventory/sbom_detail.html", {
        "component": component, "sbom": sbom, "page": page, "form": form, "can_edit": is_admin(request.user),
        "max_bytes": sbom_service.max_bytes()}, status=status)


def _job(pk):
    job = get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk, kind=sbom_service.JOB_KIND)
    component = Component.objects.select_related("system").filter(
        pk=sbom_service.job_component_id(job)).first()
    return job, component


@admin_required
def sbom_job(request, pk):
    job, component = _job(pk)
    return render(request, "inventory/sbom_job.html", {
        "job": job, "component": component, "polling": job.status in ("queued", "running")})


@admin_required
@require_GET
def sbom_job_progress(request, pk):
    job, component = _job(pk)
    return render(request, "inventory/sbom_progress.html", {
        "job": job, "component": component, "polling": job.status in ("queued", "running")})
