"""API for measured capacity, release requirements and business workflows.

Everyone signed in reads; administrators write. Writes validate through the pages' ModelForms and save through
`services.inventory_object_save` (audited), like the rest of the inventory API.
"""

from django.contrib.auth import get_user_model
from rest_framework import serializers

from apps.accounts.models import Team

from .. import selectors
from ..models import BusinessWorkflow, CapacityRecord, ReleaseRequirement
from ..views import capacity as pages
from .serializers import _environment_slug, _ServiceWrite, _system_slug
from .views import _InventoryViewSet


def _amount(**kwargs):
    return serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False, **kwargs)


class CapacityRecordSerializer(_ServiceWrite):
    form_class = pages.CapacityRecordForm
    system = _system_slug(help_text="Slug of the system.")
    environment = _environment_slug(help_text="Slug of the environment.")
    cpu_cores = _amount(help_text="CPU capacity in cores.")
    memory_gb = _amount(help_text="Memory capacity in GB.")
    storage_gb = _amount(help_text="Storage capacity in GB.")
    cpu_used_cores = _amount(required=False)
    memory_used_gb = _amount(required=False)
    storage_used_gb = _amount(required=False)

    class Meta:
        model = CapacityRecord
        fields = [
            "id",
            "system",
            "environment",
            "cpu_cores",
            "cpu_used_cores",
            "memory_gb",
            "memory_used_gb",
            "storage_gb",
            "storage_used_gb",
            "measured_at",
        ]


class ReleaseRequirementSerializer(_ServiceWrite):
    form_class = pages.ReleaseRequirementForm
    environment = _environment_slug(
        required=False, allow_null=True, help_text="Slug of the environment; null: every environment."
    )
    cpu_cores = _amount(required=False, help_text="Extra CPU cores the release needs.")
    memory_gb = _amount(required=False, help_text="Extra memory in GB.")
    storage_gb = _amount(required=False, help_text="Extra storage in GB.")

    class Meta:
        model = ReleaseRequirement
        fields = [
            "id",
            "product",
            "version_spec",
            "environment",
            "cpu_cores",
            "memory_gb",
            "storage_gb",
            "note",
        ]


class BusinessWorkflowSerializer(_ServiceWrite):
    form_class = pages.BusinessWorkflowForm
    system = _system_slug(help_text="Slug of the system.")
    owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.all(),
        required=False,
        allow_null=True,
        help_text="Username of the owner.",
    )
    owner_team = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        help_text="Slug of the owner team.",
    )
    stakeholder_notes = serializers.CharField(required=False, allow_blank=True, max_length=10000)

    class Meta:
        model = BusinessWorkflow
        fields = ["id", "system", "name", "owner", "owner_team", "stakeholder_notes", "interviewed_at"]


class CapacityRecordViewSet(_InventoryViewSet):
    """Measured capacity of a system in an environment; the latest measurement counts in assessments."""

    serializer_class = CapacityRecordSerializer

    def get_queryset(self):
        return selectors.of_visible_systems(pages.capacity_queryset(), self.request.user)


class ReleaseRequirementViewSet(_InventoryViewSet):
    """What a target release needs (product, version range, optional environment, CPU/memory/storage)."""

    serializer_class = ReleaseRequirementSerializer

    def get_queryset(self):
        return pages.requirement_queryset()


class BusinessWorkflowViewSet(_InventoryViewSet):
    """Business-critical workflows of systems, with their owners and stakeholder notes."""

    serializer_class = BusinessWorkflowSerializer

    def get_queryset(self):
        return selectors.of_visible_systems(pages.workflow_queryset(), self.request.user)
