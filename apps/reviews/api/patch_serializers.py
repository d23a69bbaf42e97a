from rest_framework import serializers

from apps.cab.models import StandardTemplate
from apps.inventory.models import System

from ..models import Advisory, AdvisoryMatch, AdvisoryProduct, PatchOccurrence, PatchSchedule


class PatchScheduleSerializer(serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="slug", queryset=System.objects.all())
    template = serializers.PrimaryKeyRelatedField(queryset=StandardTemplate.objects.all(),
                                                  help_text="An approved standard change template.")
    rrule = serializers.CharField(max_length=500, help_text="RFC 5545 rule, e.g. FREQ=MONTHLY;BYDAY=2TU.")
    time_zone = serializers.CharField(max_length=64, help_text="IANA zone, e.g. Europe/Berlin.")
    generated = serializers.IntegerField(read_only=True, help_text="Requests raised so far.")

    class Meta:
        model = PatchSchedule
        fields = ["id", "name", "system", "template", "target_version", "rrule", "first_date", "start_time",
                  "time_zone", "duration_minutes", "lead_days", "active", "generated", "created_at"]
        read_only_fields = ["active", "created_at"]


class OccurrenceAheadSerializer(serializers.Serializer):
    local = serializers.DateTimeField(help_text="Start in the schedule's own time zone.")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    raise_at = serializers.DateTimeField(help_text="When the request is raised.")
    request = serializers.CharField(allow_null=True, help_text="Reference of the request raised, if any.")


class OccurrenceSerializer(serializers.ModelSerializer):
    request = serializers.CharField(source="request.reference", default=None, allow_null=True)

    class Meta:
        model = PatchOccurrence
        fields = ["starts_at", "ends_at", "request", "generated_at"]


class PatchScheduleDetailSerializer(PatchScheduleSerializer):
    ahead = serializers.SerializerMethodField()
    raised = serializers.SerializerMethodField()

    class Meta(PatchScheduleSerializer.Meta):
        fields = [*PatchScheduleSerializer.Meta.fields, "ahead", "raised"]

    def get_ahead(self, obj) -> list[dict]:  # filled in by the view
        return OccurrenceAheadSerializer(self.context.get("ahead", []), many=True).data

    def get_raised(self, obj) -> list[dict]:
        return OccurrenceSerializer(self.context.get("raised", []), many=True).data


class ActiveSerializer(serializers.Serializer):
    active = serializers.BooleanField()


class AdvisorySerializer(serializers.ModelSerializer):
    imported_by = serializers.CharField(source="imported_by.username", read_only=True)
    affected = serializers.IntegerField(read_only=True, help_text="Inventory components it affects.")
    cves = serializers.ListField(child=serializers.CharField(), read_only=True)
    severity = serializers.CharField(read_only=True, help_text="low, medium, high or critical.")
    source = serializers.CharField(read_only=True, help_text="csaf, csv or manual.")

    class Meta:
        model = Advisory
        fields = ["id", "identifier", "title", "publisher", "severity", "url", "source", "cves", "affected",
                  "imported_by", "imported_at"]
        read_only_fields = fields


class AdvisoryProductSerializer(serializers.ModelSerializer):
    status = serializers.CharField(help_text="affected, or fixed (versions below it are affected).")
    class Meta:
        model = AdvisoryProduct
        fields = ["product", "version", "version_range", "status"]


class AdvisoryMatchSerializer(serializers.ModelSerializer):
    system = serializers.CharField(source="component.system.slug")
    component_name = serializers.CharField(source="component.name")
    product = serializers.CharField(source="component.product")
    finding = serializers.IntegerField(source="finding_id", allow_null=True)
    finding_resolution = serializers.CharField(source="finding.resolution", default=None, allow_null=True)
    request = serializers.CharField(source="request.reference", default=None, allow_null=True)

    class Meta:
        model = AdvisoryMatch
        fields = ["id", "system", "component", "component_name", "product", "version", "finding",
                  "finding_resolution", "request"]


class AdvisoryDetailSerializer(AdvisorySerializer):
    products = AdvisoryProductSerializer(many=True, read_only=True)
    matches = serializers.SerializerMethodField()

    class Meta(AdvisorySerializer.Meta):
        fields = [*AdvisorySerializer.Meta.fields, "products", "matches"]
        read_only_fields = fields

    def get_matches(self, obj) -> list[dict]:
        return AdvisoryMatchSerializer(self.context.get("matches", []), many=True).data


class AdvisoryRecordSerializer(serializers.Serializer):
    identifier = serializers.CharField(max_length=120)
    title = serializers.CharField(max_length=300)
    severity = serializers.CharField(max_length=20, help_text="low, medium, high or critical.")
    product = serializers.CharField(max_length=200)
    affected_versions = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    url = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class AdvisoryImportSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[("csaf", "CSAF 2.0 JSON"), ("csv", "CSV")])
    file = serializers.FileField(help_text="The CSAF document or the CSV file (product, affected_versions, "
                                           "severity, title, id, url).")


class OpenRequestSerializer(serializers.Serializer):
    target_version = serializers.CharField(max_length=40)


class OpenedRequestSerializer(serializers.Serializer):
    reference = serializers.CharField()
    url = serializers.CharField()
