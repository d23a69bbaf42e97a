"""Plumbing shared by the inventory pages: the admin door, filtered paginated lists, edit and delete pages."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from apps.accounts.choices import Role

from .. import services
from ..forms import FORMS

PAGE_SIZE = 25


def is_admin(user) -> bool:
    return user.is_authenticated and user.has_role(Role.ADMIN)


def admin_required(view):
    """Signed in (else the login page) and an administrator (else 403; the 403 handler audits it)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_admin(request.user):
            raise PermissionDenied("Only administrators change the inventory.")
        return view(request, *args, **kwargs)

    return wrapper


def filtered_page(request, filterset_class, queryset, *, datalists: dict | None = None):
    """Apply the list's FilterSet to the selector's queryset and return (filterset, page)."""
    filterset = filterset_class(request.GET or None, queryset=queryset)
    for field_name, list_id in (datalists or {}).items():
        filterset.form.fields[field_name].widget.attrs["list"] = list_id
    for field in filterset.form.fields.values():
        field.required = False
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return filterset, page


def edit_page(request, *, kind: str, instance=None, initial=None, heading: str, cancel_url: str, success):
    """Create or edit one inventory object with its ModelForm; the save is the service's."""
    form_class = FORMS[kind]
    if request.method == "POST":
        form = form_class(request.POST, instance=instance)
        if form.is_valid():
            obj = services.inventory_object_save(form=form, by=request.user)
            messages.success(request, f"Saved {obj._meta.verbose_name} “{obj}”.")
            return redirect(success(obj))
    else:
        form = form_class(instance=instance, initial=initial)
    return render(
        request,
        "inventory/object_form.html",
        {
            "form": form,
            "heading": heading,
            "cancel_url": cancel_url,
            "kind": kind,
            "object": instance,
        },
    )


def delete_page(request, *, obj, cancel_url: str, success_url: str, consequences: str = ""):
    """Confirm, then delete through the service; an object still in use is refused with the reason."""
    if request.method == "POST":
        label = str(obj)
        try:
            services.inventory_object_delete(obj=obj, by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(cancel_url)
        messages.success(request, f"Deleted “{label}”.")
        return redirect(success_url)
    return render(
        request,
        "inventory/object_confirm_delete.html",
        {
            "object": obj,
            "verbose_name": obj._meta.verbose_name,
            "cancel_url": cancel_url,
            "consequences": consequences,
        },
    )


def system_initial(request) -> dict:
    """`?system=<slug>` on an add page preselects that system."""
    from ..models import System

    slug = request.GET.get("system", "")
    system = System.objects.filter(slug=slug).only("pk").first() if slug else None
    return {"system": system.pk, "source_system": system.pk} if system else {}
