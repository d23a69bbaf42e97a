"""Lifecycle API: list the imported release cycles (everyone signed in); import files (administrators)."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from .. import lifecycle as lifecycle_service
from ..models import ProductRelease
from .views import ReadOrAdmin


class ProductReleaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProductRelease
        fields = ["id", "product", "cycle", "release_date", "end_of_active_support", "end_of_life",
                  "end_of_extended_support", "supported_indefinitely", "lts", "latest", "latest_release_date",
                  "source", "imported_at"]


class LifecycleUploadSerializer(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(), allow_empty=False, help_text=(
        "endoflife.date product files, API v1 product responses or release data."))
    product = serializers.CharField(required=False, allow_blank=True, max_length=80)


@extend_schema_view(list=extend_schema(parameters=[OpenApiParameter("product", str, description="e.g. postgresql")]))
class ProductReleaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Vendor lifecycle of release cycles. Filter: product."""

    permission_classes = [IsAuthenticated, ReadOrAdmin]
    serializer_class = ProductReleaseSerializer
    filter_backends = []

    def get_queryset(self):
        product = self.request.query_params.get("product", "").strip().lower()[:80]
        return lifecycle_service.release_list(product=product)

    @extend_schema(
        request={"multipart/form-data": LifecycleUploadSerializer},
        responses={201: OpenApiResponse(description="Counts per product: created, updated, versions."),
                   400: OpenApiResponse(description="A file is malformed (named in `file`); nothing was written.")},
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser])
    def import_files(self, request):
        upload = LifecycleUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        files = [(f.name or "upload", f.read(lifecycle_service.MAX_BYTES + 1))
                 for f in upload.validated_data["files"]]
        summary = lifecycle_service.lifecycle_import(
            files=files, product=upload.validated_data.get("product", ""), by=request.user)
        return Response({"products": summary}, status=status.HTTP_201_CREATED)
