import django_filters
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apps.audit import selectors
from apps.audit.access import HasRole
from apps.audit.models import AuditEvent
from apps.audit.paging import COUNT_CAP, CappedPaginator
from apps.audit.services import audit_verify
from apps.core.pagination import PageNumberPagination

from .serializers import AuditEventSerializer, AuditVerifySerializer

SEQ_MAX = 2**63 - 1
DENIED = {403: OpenApiResponse(description="not an auditor or administrator (the refusal is audited)")}


class AuditEventPagination(PageNumberPagination):
    """Page numbers as everywhere, but `count` is null when more than COUNT_CAP events match (see paging)."""

    django_paginator_class = CappedPaginator

    def get_page_number(self, request, paginator):
        if request.query_params.get(self.page_query_param) in self.last_page_strings:
            paginator.count_all()
        return super().get_page_number(request, paginator)

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        if self.page.paginator.capped:
            response.data["count"] = None
        return response

    def get_paginated_response_schema(self, schema):
        body = super().get_paginated_response_schema(schema)
        body["properties"]["count"] = {
            "type": "integer", "nullable": True, "example": 123,
            "description": f"the number of matching events, or null when more than {COUNT_CAP:,} match "
                           "(counting stops there: follow `next`, or narrow the filters)"}
        return body


class AuditEventFilter(django_filters.FilterSet):
    """Validates the query parameters; the narrowing itself is the selector's, shared with the page."""

    action = django_filters.CharFilter(max_length=80, help_text="exact action, e.g. auth.login_failed")
    actor = django_filters.CharFilter(max_length=150, help_text="username of the actor (any case)")
    object_type = django_filters.CharFilter(max_length=80, help_text="e.g. upgrades.upgraderequest")
    object_id = django_filters.CharFilter(max_length=64, help_text="primary key of the object")

    class Meta:
        model = AuditEvent
        fields = ("action", "actor", "object_type", "object_id")

    def filter_queryset(self, queryset):
        return selectors.audit_event_list(filters=self.form.cleaned_data)


@extend_schema_view(
    list=extend_schema(summary="Audit events, newest first", tags=["audit"],
                       description="Auditors and administrators only.",
                       responses={200: AuditEventSerializer(many=True), **DENIED}),
    retrieve=extend_schema(summary="One audit event with its hashes", tags=["audit"],
                           parameters=[OpenApiParameter("seq", int, OpenApiParameter.PATH,
                                                        description="the event's number in the chain")],
                           responses={200: AuditEventSerializer, **DENIED,
                                      404: OpenApiResponse(description="no such event")}),
)
class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = AuditEventSerializer
    permission_classes = (IsAuthenticated, HasRole.of(*selectors.AUDIT_ROLES))
    filterset_class = AuditEventFilter
    pagination_class = AuditEventPagination
    lookup_field = "seq"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.audit_event_list()

    def get_object(self):
        seq = int(self.kwargs["seq"])
        if seq > SEQ_MAX:
            raise NotFound("No audit event with this number.")
        try:
            event = selectors.audit_event_get(seq=seq)
        except AuditEvent.DoesNotExist:
            raise NotFound("No audit event with this number.") from None
        self.check_object_permissions(self.request, event)
        return event

    @extend_schema(summary="Verify the whole chain", tags=["audit"], filters=False,
                   responses={200: AuditVerifySerializer, **DENIED},
                   description="Recomputes every link; names the first broken or missing event.")
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def verify(self, request):
        result = audit_verify()
        body = {"ok": result.ok, "checked": result.checked, "head_seq": result.head_seq,
                "broken_seq": result.broken_seq, "reason": result.reason}
        return Response(AuditVerifySerializer(body).data)
