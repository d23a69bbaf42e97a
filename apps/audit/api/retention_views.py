"""Retention policies and legal holds over the API: the same services as the pages."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apps.audit import retention
from apps.audit.access import HasRole
from apps.audit.models import LegalHold, RetentionPolicy
from apps.audit.selectors import AUDIT_ROLES

from .serializers import (
    LegalHoldInputSerializer,
    LegalHoldLiftSerializer,
    LegalHoldSerializer,
    RetentionPolicyInputSerializer,
    RetentionPolicySerializer,
)

DENIED = {403: OpenApiResponse(description="not allowed for your role (the refusal is audited)")}
BAD = {400: OpenApiResponse(description="invalid input, by field; nothing is written")}


@extend_schema_view(
    list=extend_schema(summary="Retention policies", tags=["audit"],
                       responses={200: RetentionPolicySerializer(many=True), **DENIED}),
    create=extend_schema(summary="Set a retention policy (administrators)", tags=["audit"],
                         description="Creates the policy of (kind, region), or changes its days when it "
                                     "exists.",
                         request=RetentionPolicyInputSerializer,
                         responses={201: RetentionPolicySerializer, **BAD, **DENIED}),
    destroy=extend_schema(summary="Remove a retention policy (administrators)", tags=["audit"],
                          responses={204: None, **DENIED,
                                     404: OpenApiResponse(description="no such policy")}),
)
class RetentionPolicyViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
                             viewsets.GenericViewSet):
    serializer_class = RetentionPolicySerializer
    permission_classes = (IsAuthenticated, HasRole.of(*AUDIT_ROLES))
    queryset = RetentionPolicy.objects.select_related("updated_by").order_by("kind", "region")
    filterset_class = None
    filter_backends = ()

    def create(self, request, *args, **kwargs):
        data = RetentionPolicyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        policy = retention.retention_policy_set(by=request.user, **data.validated_data)
        return Response(RetentionPolicySerializer(policy).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        policy = self.get_object()
        retention.retention_policy_delete(policy_id=policy.pk, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="Legal holds, newest first", tags=["audit"],
                       responses={200: LegalHoldSerializer(many=True), **DENIED}),
    retrieve=extend_schema(summary="One legal hold", tags=["audit"],
                           responses={200: LegalHoldSerializer, **DENIED,
                                      404: OpenApiResponse(description="no such hold")}),
    create=extend_schema(summary="Set a legal hold", tags=["audit"], request=LegalHoldInputSerializer,
                         description="On a request (target_type=request, target=its reference: "
                                     "everything of it is kept) or on one artifact (target_type=its kind, "
                                     "target=its id).",
                         responses={201: LegalHoldSerializer, **BAD, **DENIED}),
)
class LegalHoldViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                       viewsets.GenericViewSet):
    serializer_class = LegalHoldSerializer
    permission_classes = (IsAuthenticated, HasRole.of(*retention.HOLD_ROLES))
    queryset = LegalHold.objects.select_related("set_by", "lifted_by").order_by("-set_at", "-pk")
    filterset_class = None
    filter_backends = ()

    def create(self, request, *args, **kwargs):
        data = LegalHoldInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        hold = retention.legal_hold_set(by=request.user, **data.validated_data)
        return Response(LegalHoldSerializer(hold).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Lift a legal hold", tags=["audit"], request=LegalHoldLiftSerializer,
                   responses={200: LegalHoldSerializer, **BAD, **DENIED,
                              404: OpenApiResponse(description="no such hold")})
    @action(detail=True, methods=["post"])
    def lift(self, request, pk=None):
        hold = self.get_object()
        data = LegalHoldLiftSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        retention.legal_hold_lift(hold_id=hold.pk, reason=data.validated_data["lift_reason"], by=request.user)
        return Response(LegalHoldSerializer(self.get_queryset().get(pk=hold.pk)).data)
