"""SBOM API: GET a component's packages (everyone signed in), POST a CycloneDX file (administrators)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.pagination import PageNumberPagination

from .. import sbom as sbom_service
from ..models import Component, ImportJob, Sbom, SbomPackage
from .views import ReadOrAdmin


class SbomPackageSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="kind", read_only=True)

    class Meta:
        model = SbomPackage
        fields = ["id", "bom_ref", "name", "group", "version", "purl", "type"]


class SbomPackagePageSerializer(serializers.Serializer):
    """A page of packages as PageNumberPagination answers it (the view is no generic list view)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SbomPackageSerializer(many=True)


class SbomSerializer(serializers.ModelSerializer):
    imported_by = serializers.CharField(source="imported_by.username", read_only=True)

    class Meta:
        model = Sbom
        fields = ["id", "component", "spec_version", "serial_number", "filename", "sha256", "package_count",
                  "edge_count", "imported_by", "imported_at"]


class SbomJobSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text="queued, running, done or failed")
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = ImportJob
        fields = ["id", "filename", "status", "total", "processed", "percent", "error"]


class SbomUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A CycloneDX JSON SBOM, spec 1.2 to 1.5.")


class ComponentSbomView(APIView):
    """Packages of the component's latest SBOM (paginated); POST imports a new SBOM for it."""

    permission_classes = [IsAuthenticated, ReadOrAdmin]
    parser_classes = [MultiPartParser]

    @extend_schema(responses=SbomPackagePageSerializer,
                   parameters=[OpenApiParameter("page", OpenApiTypes.INT, description="Page, from 1.")])
    def get(self, request, pk):
        component = get_object_or_404(Component, pk=pk)
        packages, _ = sbom_service.package_queryset(component=component)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(packages, request, view=self)
        return paginator.get_paginated_response(SbomPackageSerializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": SbomUploadSerializer},
        responses={
            201: SbomSerializer,
            202: OpenApiResponse(SbomJobSerializer, description="Large file: checked and queued on a worker."),
            400: OpenApiResponse(description="The file is not a valid CycloneDX SBOM; nothing was imported."),
        },
    )
    def post(self, request, pk):
        component = get_object_or_404(Component, pk=pk)
        upload = SbomUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        file = upload.validated_data["file"]
        raw = file.read(sbom_service.max_bytes() + 1)
        result = sbom_service.sbom_submit(component=component, filename=file.name or "sbom.json", raw=raw,
                                          by=request.user)
        if isinstance(result, ImportJob):
            return Response(SbomJobSerializer(result).data, status=status.HTTP_202_ACCEPTED)
        return Response(SbomSerializer(result).data, status=status.HTTP_201_CREATED)
