"""System pages: the searchable list, the system page, and the admin's add/edit/delete."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse

from .. import selectors
from ..filters import SystemFilter
from .common import admin_required, delete_page, edit_page, filtered_page, is_admin


@login_required
def system_list(request):
    filterset, page = filtered_page(
        request, SystemFilter, selectors.system_queryset(request.user), datalists={"region": "regions"}
    )
    return render(
        request,
        "inventory/system_list.html",
        {
            "filter": filterset,
            "page": page,
            "regions": selectors.system_regions(),
            "can_edit": is_admin(request.user),
        },
    )


@login_required
def system_detail(request, slug):
    system = selectors.system_get(slug=slug, user=request.user)
    context = {"system": system, "can_edit": is_admin(request.user)}
    context.update(selectors.system_detail(system=system))
    return render(request, "inventory/system_detail.html", context)


@admin_required
def system_create(request):
    return edit_page(
        request,
        kind="system",
        heading="Add a system",
        cancel_url=reverse("inventory:systems"),
        success=lambda obj: obj.get_absolute_url(),
    )


@admin_required
def system_edit(request, slug):
    system = selectors.system_get(slug=slug, user=request.user)
    return edit_page(
        request,
        kind="system",
        instance=system,
        heading=f"Edit {system.name}",
        cancel_url=system.get_absolute_url(),
        success=lambda obj: obj.get_absolute_url(),
    )


@admin_required
def system_delete(request, slug):
    system = selectors.system_get(slug=slug, user=request.user)
    return delete_page(
        request,
        obj=system,
        cancel_url=system.get_absolute_url(),
        success_url=reverse("inventory:systems"),
        consequences="Its components, health endpoints and dependencies (either way) are deleted with it.",
    )
