"""Vendor lifecycle pages: the imported release cycles (everyone signed in reads) and the upload (admins)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from .. import lifecycle as lifecycle_service
from .common import PAGE_SIZE, is_admin


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)]


class LifecycleUploadForm(forms.Form):
    files = MultipleFileField(label="Lifecycle files", help_text=(
        "endoflife.date product files (.md with YAML front matter), API v1 product responses (.json) or "
        "release data (.json, named after the product)."))
    product = forms.CharField(label="Product", required=False, max_length=80, help_text=(
        "Optional: the product the files describe, e.g. postgresql. Release data takes its name from the "
        "file otherwise."))


@login_required
def lifecycle_list(request):
    form = LifecycleUploadForm()
    if request.method == "POST":
        if not is_admin(request.user):
            raise PermissionDenied("Only administrators import lifecycle data.")
        form = LifecycleUploadForm(request.POST, request.FILES)
        if form.is_valid():
            files = [(f.name or "upload", f.read(lifecycle_service.MAX_BYTES + 1))
                     for f in form.cleaned_data["files"]]
            try:
                summary = lifecycle_service.lifecycle_import(
                    files=files, product=form.cleaned_data["product"], by=request.user)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error("files" if field == "file" else (field if field in form.fields else None),
                                   errors)
            else:
                parts = [f"{p}: {c['created']} new, {c['updated']} updated cycles, {c['versions']} versions"
                         for p, c in sorted(summary.items())]
                messages.success(request, "Imported " + "; ".join(parts) + ".")
                return redirect("inventory:lifecycle")
    product = request.GET.get("product", "").strip().lower()[:80]
    page = Paginator(lifecycle_service.release_list(product=product), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "inventory/lifecycle_list.html", {
        "page": page, "form": form, "product": product, "can_edit": is_admin(request.user),
        "products": lifecycle_service.product_names()}, status=400 if form.errors else 200)
