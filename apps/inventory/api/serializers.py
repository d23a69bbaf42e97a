"""Inventory API serializers.

Writes keep one path: the serializer checks the shape of the input, then the page's ModelForm checks the
model's invariants (constraint syntax, component belongs to its system, uniqueness) and
`services.inventory_object_save` saves and audits — the same code the pages run.
"""

from django.db import models
from django.forms.models import model_to_dict
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.models import Team

from .. import forms as inventory_forms
from .. import selectors, services
from ..choices import ImportKind
from ..models import Component, Dependency, Endpoint, Environment, ImportJob, System


def form_errors(form) -> dict:
    return {
        ("non_field_errors" if k == "__all__" else k): [str(m) for m in v] for k, v in form.errors.items()
    }


class _ServiceWrite(serializers.ModelSerializer):
    """Validates through the ModelForm and saves through the service."""

    form_class: type = None  # type: ignore[assignment]

    def _form(self, attrs):
        instance = self.instance
        names = self.form_class._meta.fields
        # start from the stored object (or the model's defaults): PATCH and omitted optional fields keep them
        data = model_to_dict(
            instance if instance is not None else self.form_class._meta.model(), fields=names
        )
        for key, value in attrs.items():
            if key in names:
                data[key] = value.pk if isinstance(value, models.Model) else value
        data = {k: ("" if v is None else v) for k, v in data.items()}
        return self.form_class(data=data, instance=instance)

    def validate(self, attrs):
        form = self._form(attrs)
        if not form.is_valid():
            raise serializers.ValidationError(form_errors(form))
        self._validated_form = form
        return attrs

    def create(self, validated_data):
        return services.inventory_object_save(form=self._validated_form, by=self.context["request"].user)

    def update(self, instance, validated_data):
        return services.inventory_object_save(form=self._validated_form, by=self.context["request"].user)


def _system_slug(**kwargs):
    return serializers.SlugRelatedField(slug_field="slug", queryset=System.objects.all(), **kwargs)


def _environment_slug(**kwargs):
    return serializers.SlugRelatedField(slug_field="slug", queryset=Environment.objects.all(), **kwargs)


class SystemSerializer(_ServiceWrite):
    form_class = inventory_forms.SystemForm
    owner_team = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), help_text="Slug of the owner team."
    )
    owner_team_name = serializers.CharField(source="owner_team.name", read_only=True)
    component_count = serializers.SerializerMethodField()
    business_workflows = serializers.CharField(
        required=False, allow_blank=True, max_length=10000, help_text="One workflow per line."
    )

    class Meta:
        model = System
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "owner_team",
            "owner_team_name",
            "criticality",
            "region",
            "business_workflows",
            "component_count",
        ]

    def get_component_count(self, obj) -> int:
        count = getattr(obj, "component_count", None)
        return obj.components.count() if count is None else count


class EnvironmentSerializer(_ServiceWrite):
    form_class = inventory_forms.EnvironmentForm
    component_count = serializers.SerializerMethodField()

    class Meta:
        model = Environment
        fields = ["id", "name", "slug", "kind", "order", "component_count"]

    def get_component_count(self, obj) -> int:
        count = getattr(obj, "component_count", None)
        return obj.components.count() if count is None else count


class ComponentSerializer(_ServiceWrite):
    form_class = inventory_forms.ComponentForm
    system = _system_slug(help_text="Slug of the system.")
    environment = _environment_slug(help_text="Slug of the environment.")

    class Meta:
        model = Component
        fields = ["id", "system", "environment", "name", "product", "version"]


class DependencySerializer(_ServiceWrite):
    form_class = inventory_forms.DependencyForm
    source_system = _system_slug(help_text="Slug of the system that depends on the target.")
    target_system = _system_slug(help_text="Slug of the system depended on.")
    source_component = serializers.PrimaryKeyRelatedField(
        queryset=Component.objects.all(), required=False, allow_null=True
    )
    target_component = serializers.PrimaryKeyRelatedField(
        queryset=Component.objects.all(), required=False, allow_null=True
    )
    target_version = serializers.SerializerMethodField()
    satisfied = serializers.SerializerMethodField()

    class Meta:
        model = Dependency
        fields = [
            "id",
            "source_system",
            "source_component",
            "target_system",
            "target_component",
            "constraint",
            "constraint_kind",
            "description",
            "target_version",
            "satisfied",
        ]

    def get_target_version(self, obj) -> str | None:
        return obj.target_component.version if obj.target_component_id else None

    def get_satisfied(self, obj) -> bool | None:
        """Whether the target component's current version meets the constraint (null: nothing to check)."""
        if not hasattr(obj, "satisfied"):
            selectors.dependency_statuses([obj])
        return obj.satisfied


class EndpointSerializer(_ServiceWrite):
    form_class = inventory_forms.EndpointForm
    system = _system_slug(help_text="Slug of the system.")
    environment = _environment_slug(help_text="Slug of the environment.")

    class Meta:
        model = Endpoint
        fields = ["id", "system", "environment", "name", "kind", "target", "expected"]


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Row number, 1 being the first row under the header.")
    field = serializers.CharField(help_text="Column name; empty when the whole row is meant.")
    message = serializers.CharField()


class ImportJobSerializer(serializers.ModelSerializer):
    # plain text here: the same choice set as ImportUploadSerializer.kind would give the schema two enum names
    kind = serializers.CharField(
        read_only=True, help_text="systems, environments, components, dependencies or endpoints"
    )
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    percent = serializers.IntegerField(read_only=True)
    error_report = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "kind",
            "filename",
            "status",
            "total",
            "processed",
            "percent",
            "created",
            "updated",
            "error_report",
            "error",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(ImportErrorSerializer(many=True))
    def get_error_report(self, obj):
        return ImportErrorSerializer(selectors.import_error_report(obj), many=True).data


class ImportUploadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ImportKind.choices, help_text="What the file contains.")
    file = serializers.FileField(help_text="A UTF-8 CSV file with a header row.")
