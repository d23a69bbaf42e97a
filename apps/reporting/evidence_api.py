"""API of the evidence packs: request one for an upgrade request, follow its status, download it (audited)."""

from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from . import evidence
from .models import EvidencePack


class EvidencePackSerializer(serializers.ModelSerializer):
    request = serializers.CharField(source="request.reference", read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    status = serializers.CharField(
        read_only=True, help_text="queued (waiting for a worker), running, done (ready) or failed.")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = EvidencePack
        fields = ["id", "request", "status", "progress", "stage", "requested_by", "created_at", "started_at",
                  "finished_at", "sha256", "size", "checkpoint", "error", "download_url"]
        read_only_fields = fields

    def get_download_url(self, obj) -> str | None:
        if obj.status != "done":
            return None
        return reverse("api-evidence-pack-download", args=[obj.request.reference, obj.pk])


class EvidencePackListView(APIView):
    permission_classes = [IsAuthenticated]
    serializer_class = EvidencePackSerializer

    @extend_schema(operation_id="evidence_packs_list",
                   responses={200: EvidencePackSerializer(many=True), 404: OpenApiTypes.OBJECT},
                   description="The evidence packs of an upgrade request, newest first (the last 20). "
                               "Auditors, administrators, change managers and the request's own people.")
    def get(self, request, reference):
        upgrade = evidence.evidence_request_get(user=request.user, reference=reference)
        return Response(EvidencePackSerializer(evidence.evidence_packs_of(upgrade), many=True).data)

    @extend_schema(operation_id="evidence_packs_request", request=None,
                   responses={201: EvidencePackSerializer, 200: EvidencePackSerializer,
                              404: OpenApiTypes.OBJECT},
                   description="Request an evidence pack (built by a worker). 201 when a new one is "
                               "queued, 200 with the pack already waiting or being built.")
    def post(self, request, reference):
        upgrade = evidence.evidence_request_get(user=request.user, reference=reference)
        pack, created = evidence.evidence_pack_request(request=upgrade, by=request.user)
        return Response(EvidencePackSerializer(pack).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class EvidencePackDetailView(APIView):
    permission_classes = [IsAuthenticated]
    serializer_class = EvidencePackSerializer

    @extend_schema(operation_id="evidence_packs_retrieve",
                   responses={200: EvidencePackSerializer, 404: OpenApiTypes.OBJECT},
                   description="An evidence pack's status and progress.")
    def get(self, request, reference, pk):
        upgrade = evidence.evidence_request_get(user=request.user, reference=reference)
        return Response(EvidencePackSerializer(evidence.evidence_pack_get(request=upgrade, pk=pk)).data)


class EvidencePackDownloadView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="evidence_packs_download",
                   responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY),
                              404: OpenApiTypes.OBJECT},
                   description="Download a ready evidence pack (zip with MANIFEST.sha256); each download is "
                               "audited.")
    def get(self, request, reference, pk):
        upgrade = evidence.evidence_request_get(user=request.user, reference=reference)
        pack = evidence.evidence_pack_get(request=upgrade, pk=pk)
        try:
            handle = evidence.evidence_pack_download(pack=pack, by=request.user)
        except ValidationError:
            raise NotFound("The evidence pack is not ready yet.") from None
        return FileResponse(handle, as_attachment=True, filename=pack.file.name.rsplit("/", 1)[-1],
                            content_type="application/zip")
