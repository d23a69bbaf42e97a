"""API for third-party integrations of systems.

Everyone signed in reads; administrators write. Writes validate through the page's ModelForm and save through
`services.inventory_object_save` (audited), like the rest of the inventory API.
"""

from rest_framework import serializers

from .. import selectors
from ..models import Endpoint, Integration
from ..views import integrations as pages
from .serializers import _ServiceWrite, _system_slug
from .views import _InventoryViewSet


class IntegrationSerializer(_ServiceWrite):
    form_class = pages.IntegrationForm
    system = _system_slug(help_text="Slug of the system.")
    endpoint = serializers.PrimaryKeyRelatedField(
        queryset=Endpoint.objects.all(),
        required=False,
        allow_null=True,
        help_text="Id of a health endpoint of the same system that shows the link is up; null: none.",
    )
    notes = serializers.CharField(required=False, allow_blank=True, max_length=pages.NOTES_MAX)

    class Meta:
        model = Integration
        fields = ["id", "system", "name", "partner", "protocol", "endpoint", "notes"]
        # the form checks (system, name) and names the field; DRF's own check would only say non_field_errors
        validators: list = []


class IntegrationViewSet(_InventoryViewSet):
    """Third-party integrations of systems; a rollout plan needs a fallback procedure for each one."""

    serializer_class = IntegrationSerializer

    def get_queryset(self):
        return selectors.of_visible_systems(pages.integration_queryset(), self.request.user)
