"""Filters of the inventory lists: one FilterSet per list, used by the pages and the API alike."""

import django_filters
from django import forms
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from apps.accounts.models import Team

from . import selectors
from .choices import ConstraintKind, Criticality, EndpointKind, EnvironmentKind, ImportKind, ImportStatus
from .models import Component, Dependency, Endpoint, Environment, ImportJob, System


class _Search(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label="Search",
        max_length=selectors.SEARCH_MAX,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    search_function = None

    def search(self, queryset, name, value):
        return type(self).search_function(queryset, value)


def _system_by_slug(**kwargs):
    return django_filters.ModelChoiceFilter(
        queryset=System.objects.all(),
        to_field_name="slug",
        label=kwargs.pop("label", "System"),
        empty_label="Any",
        **kwargs,
    )


def _environment_by_slug(**kwargs):
    return django_filters.ModelChoiceFilter(
        queryset=Environment.objects.all(),
        to_field_name="slug",
        label="Environment",
        empty_label="Any",
        **kwargs,
    )


class SystemFilter(_Search):
    search_function = staticmethod(selectors.system_search)
    criticality = django_filters.ChoiceFilter(
        choices=Criticality.choices, label="Criticality", empty_label="Any"
    )
    region = django_filters.CharFilter(
        field_name="region", lookup_expr="iexact", label="Region", max_length=40
    )
    team = django_filters.ModelChoiceFilter(
        field_name="owner_team",
        queryset=Team.objects.all(),
        to_field_name="slug",
        label="Owner team",
        empty_label="Any",
    )

    class Meta:
        model = System
        fields = ["q", "criticality", "region", "team"]


class EnvironmentFilter(_Search):
    search_function = staticmethod(selectors.environment_search)
    kind = django_filters.ChoiceFilter(choices=EnvironmentKind.choices, label="Kind", empty_label="Any")

    class Meta:
        model = Environment
        fields = ["q", "kind"]


class ComponentFilter(_Search):
    search_function = staticmethod(selectors.component_search)
    system = _system_by_slug()
    environment = _environment_by_slug()
    product = django_filters.CharFilter(
        field_name="product", lookup_expr="iexact", label="Product", max_length=80
    )

    class Meta:
        model = Component
        fields = ["q", "system", "environment", "product"]


@extend_schema_field(OpenApiTypes.STR)
class _EitherSideFilter(django_filters.ModelChoiceFilter):
    """A system slug matched against both ends of a dependency."""

    def filter(self, qs, value):
        return qs.filter(Q(source_system=value) | Q(target_system=value)) if value else qs


class DependencyFilter(_Search):
    search_function = staticmethod(selectors.dependency_search)
    system = _EitherSideFilter(
        queryset=System.objects.all(), to_field_name="slug", label="System (either side)", empty_label="Any"
    )
    source_system = _system_by_slug(label="Source system")
    target_system = _system_by_slug(label="Target system")
    constraint_kind = django_filters.ChoiceFilter(
        choices=ConstraintKind.choices, label="Constraint kind", empty_label="Any"
    )

    class Meta:
        model = Dependency
        fields = ["q", "system", "source_system", "target_system", "constraint_kind"]


class EndpointFilter(_Search):
    search_function = staticmethod(selectors.endpoint_search)
    system = _system_by_slug()
    environment = _environment_by_slug()
    kind = django_filters.ChoiceFilter(choices=EndpointKind.choices, label="Kind", empty_label="Any")

    class Meta:
        model = Endpoint
        fields = ["q", "system", "environment", "kind"]


class ImportJobFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ImportKind.choices)
    status = django_filters.ChoiceFilter(choices=ImportStatus.choices)

    class Meta:
        model = ImportJob
        fields = ["kind", "status"]
