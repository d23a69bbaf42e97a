"""Environment, component, dependency and endpoint pages: lists for everyone, changes for admins."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from .. import selectors
from ..filters import ComponentFilter, DependencyFilter, EndpointFilter, EnvironmentFilter
from ..models import Component, Endpoint
from .common import admin_required, delete_page, edit_page, filtered_page, is_admin, system_initial

# --- environments -------------------------------------------------------------------------------


@login_required
def environment_list(request):
    filterset, page = filtered_page(request, EnvironmentFilter, selectors.environment_queryset())
    return render(
        request,
        "inventory/environment_list.html",
        {"filter": filterset, "page": page, "can_edit": is_admin(request.user)},
    )


@admin_required
def environment_create(request):
    url = reverse("inventory:environments")
    return edit_page(
        request, kind="environment", heading="Add an environment", cancel_url=url, success=lambda obj: url
    )


@admin_required
def environment_edit(request, slug):
    environment = selectors.environment_get(slug=slug)
    url = reverse("inventory:environments")
    return edit_page(
        request,
        kind="environment",
        instance=environment,
        heading=f"Edit {environment.name}",
        cancel_url=url,
        success=lambda obj: url,
    )


@admin_required
def environment_delete(request, slug):
    environment = selectors.environment_get(slug=slug)
    url = reverse("inventory:environments")
    return delete_page(
        request,
        obj=environment,
        cancel_url=url,
        success_url=url,
        consequences="An environment that still has components or endpoints cannot be deleted.",
    )


# --- components ---------------------------------------------------------------------------------------


@login_required
def component_list(request):
    filterset, page = filtered_page(
        request, ComponentFilter, selectors.component_queryset(), datalists={"product": "products"}
    )
    return render(
        request,
        "inventory/component_list.html",
        {
            "filter": filterset,
            "page": page,
            "products": selectors.component_products(),
            "can_edit": is_admin(request.user),
        },
    )


@admin_required
def component_create(request):
    return edit_page(
        request,
        kind="component",
        initial=system_initial(request),
        heading="Add a component",
        cancel_url=reverse("inventory:components"),
        success=lambda obj: obj.system.get_absolute_url(),
    )


@admin_required
def component_edit(request, pk):
    component = get_object_or_404(Component.objects.select_related("system", "environment"), pk=pk)
    return edit_page(
        request,
        kind="component",
        instance=component,
        heading=f"Edit component {component.name}",
        cancel_url=component.system.get_absolute_url(),
        success=lambda obj: obj.system.get_absolute_url(),
    )


@admin_required
def component_delete(request, pk):
    component = get_object_or_404(Component.objects.select_related("system", "environment"), pk=pk)
    return delete_page(
        request,
        obj=component,
        cancel_url=component.system.get_absolute_url(),
        success_url=component.system.get_absolute_url(),
        consequences="Dependencies on this component are deleted with it.",
    )


# --- dependencies ---------------------------------------------------------------------------------------


@login_required
def dependency_list(request):
    filterset, page = filtered_page(request, DependencyFilter, selectors.dependency_queryset())
    page.object_list = selectors.dependency_statuses(page.object_list)
    return render(
        request,
        "inventory/dependency_list.html",
        {"filter": filterset, "page": page, "can_edit": is_admin(request.user)},
    )


def _dependency(pk):
    return get_object_or_404(selectors.dependency_queryset(), pk=pk)


@admin_required
def dependency_create(request):
    return edit_page(
        request,
        kind="dependency",
        initial=system_initial(request),
        heading="Add a dependency",
        cancel_url=reverse("inventory:dependencies"),
        success=lambda obj: obj.source_system.get_absolute_url(),
    )


@admin_required
def dependency_edit(request, pk):
    dependency = _dependency(pk)
    return edit_page(
        request,
        kind="dependency",
        instance=dependency,
        heading="Edit dependency",
        cancel_url=dependency.source_system.get_absolute_url(),
        success=lambda obj: obj.source_system.get_absolute_url(),
    )


@admin_required
def dependency_delete(request, pk):
    dependency = _dependency(pk)
    url = dependency.source_system.get_absolute_url()
    return delete_page(request, obj=dependency, cancel_url=url, success_url=url)


# --- endpoints ---------------------------------------------------------------------------------------------


@login_required
def endpoint_list(request):
    filterset, page = filtered_page(request, EndpointFilter, selectors.endpoint_queryset())
    return render(
        request,
        "inventory/endpoint_list.html",
        {"filter": filterset, "page": page, "can_edit": is_admin(request.user)},
    )


def _endpoint(pk):
    return get_object_or_404(Endpoint.objects.select_related("system", "environment"), pk=pk)


@admin_required
def endpoint_create(request):
    return edit_page(
        request,
        kind="endpoint",
        initial=system_initial(request),
        heading="Add a health endpoint",
        cancel_url=reverse("inventory:endpoints"),
        success=lambda obj: obj.system.get_absolute_url(),
    )


@admin_required
def endpoint_edit(request, pk):
    endpoint = _endpoint(pk)
    return edit_page(
        request,
        kind="endpoint",
        instance=endpoint,
        heading=f"Edit endpoint {endpoint.name}",
        cancel_url=endpoint.system.get_absolute_url(),
        success=lambda obj: obj.system.get_absolute_url(),
    )


@admin_required
def endpoint_delete(request, pk):
    endpoint = _endpoint(pk)
    url = endpoint.system.get_absolute_url()
    return delete_page(request, obj=endpoint, cancel_url=url, success_url=url)
