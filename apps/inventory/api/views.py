"""Inventory API: everyone signed in reads; administrators write (through the services) and import."""

from django.conf import settings
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response

from apps.accounts.choices import Role

from .. import filters, selectors, services
from . import serializers


class ReadOrAdmin(BasePermission):
    message = "Only administrators change the inventory."

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or request.user.has_role(Role.ADMIN)


class AdminOnly(BasePermission):
    message = "Only administrators import the inventory."

    def has_permission(self, request, view):
        return request.user.has_role(Role.ADMIN)


class _InventoryViewSet(viewsets.ModelViewSet):
    permission_classes = [IsAuthenticated, ReadOrAdmin]
    filter_backends = [DjangoFilterBackend]

    def perform_destroy(self, instance):
        services.inventory_object_delete(obj=instance, by=self.request.user)


_DELETE_REFUSED = OpenApiResponse(
    description="Still in use (e.g. an environment with components): not deleted."
)


@extend_schema_view(destroy=extend_schema(responses={204: None, 400: _DELETE_REFUSED}))
class SystemViewSet(_InventoryViewSet):
    """Systems, looked up by slug. Filters: q, criticality, region, team (slug)."""

    serializer_class = serializers.SystemSerializer
    filterset_class = filters.SystemFilter
    lookup_field = "slug"

    def get_queryset(self):
        return selectors.system_queryset(self.request.user)


@extend_schema_view(destroy=extend_schema(responses={204: None, 400: _DELETE_REFUSED}))
class EnvironmentViewSet(_InventoryViewSet):
    """Environments, looked up by slug."""

    serializer_class = serializers.EnvironmentSerializer
    filterset_class = filters.EnvironmentFilter
    lookup_field = "slug"

    def get_queryset(self):
        return selectors.environment_queryset()


class ComponentViewSet(_InventoryViewSet):
    """A product at a version on a system in an environment. Filters: q, system, environment, product."""

    serializer_class = serializers.ComponentSerializer
    filterset_class = filters.ComponentFilter

    def get_queryset(self):
        return selectors.component_queryset()


class DependencyViewSet(_InventoryViewSet):
    """Dependencies with version constraints. Filters: q, system (either end), source/target_system."""

    serializer_class = serializers.DependencySerializer
    filterset_class = filters.DependencyFilter

    def get_queryset(self):
        return selectors.dependency_queryset()


class EndpointViewSet(_InventoryViewSet):
    """Health endpoints. Filters: q, system, environment, kind."""

    serializer_class = serializers.EndpointSerializer
    filterset_class = filters.EndpointFilter

    def get_queryset(self):
        return selectors.endpoint_queryset()


class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """CSV imports (administrators): upload for a preview, confirm, then poll the job until it is done."""

    permission_classes = [IsAuthenticated, AdminOnly]
    serializer_class = serializers.ImportJobSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = filters.ImportJobFilter
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        return selectors.import_job_queryset()

    @extend_schema(
        request={"multipart/form-data": serializers.ImportUploadSerializer},
        responses={
            201: serializers.ImportJobSerializer,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="The file is unreadable (field errors on `file` or `kind`), or some "
                "rows are invalid: the preview job with its `error_report`.",
            ),
        },
    )
    def create(self, request):
        upload = serializers.ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        file = upload.validated_data["file"]
        raw = file.read(settings.IMPORT_MAX_BYTES + 1)
        job = services.import_preview(
            kind=upload.validated_data["kind"], filename=file.name or "upload.csv", raw=raw, by=request.user
        )
        body = self.get_serializer(job).data
        return Response(body, status=status.HTTP_400_BAD_REQUEST if job.errors else status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={
            202: serializers.ImportJobSerializer,
            400: OpenApiResponse(description="Already started, or the file has rows with errors."),
        },
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        job = services.import_confirm(job=self.get_object(), by=request.user)
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)
