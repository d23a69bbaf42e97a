from django.urls import reverse
from rest_framework import serializers

from ..models import Report


class ReportSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    pdf_url = serializers.SerializerMethodField()
    csv_url = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = ["id", "params", "status", "progress", "stage", "requested_by", "created_at", "started_at",
                  "finished_at", "pdf_sha256", "csv_sha256", "error", "pdf_url", "csv_url"]
        read_only_fields = fields

    def get_pdf_url(self, obj) -> str | None:
        return reverse("api-report-download", args=[obj.pk, "pdf"]) if obj.status == "done" else None

    def get_csv_url(self, obj) -> str | None:
        return reverse("api-report-download", args=[obj.pk, "csv"]) if obj.status == "done" else None


class PeriodSerializer(serializers.Serializer):
    """Period and filters (the same as the dashboard's query parameters); empty dates = the last 12 months."""

    start = serializers.DateField(required=False, allow_null=True)
    end = serializers.DateField(required=False, allow_null=True)
    team = serializers.CharField(required=False, allow_blank=True)
    system = serializers.CharField(required=False, allow_blank=True)
    environment = serializers.CharField(required=False, allow_blank=True)
    region = serializers.CharField(required=False, allow_blank=True)
    risk_class = serializers.CharField(required=False, allow_blank=True)
