from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404
from django.utils.functional import cached_property
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from apps.accounts import duties
from apps.accounts.models import User
from apps.core.pagination import PageNumberPagination

from .. import selectors, services
from ..workflow import TRANSITIONS
from . import serializers as s

FILTER_PARAMS = [
    OpenApiParameter(name, OpenApiTypes.STR, description=desc)
    for name, desc in [
        ("q", "full-text search over reference, title, justification, external reference"),
        ("state", "state, e.g. cab_review"),
        ("risk_class", "standard, normal or emergency"),
        ("system", "system slug"),
        ("environment", "environment slug"),
        ("requester", "requester username"),
        ("created_from", "YYYY-MM-DD"),
        ("created_to", "YYYY-MM-DD"),
        ("sort", "reference, title, state, risk, created, window, requester; prefix - for descending"),
    ]
]


class _CountedPaginator(Paginator):
    """Counts `object_list.counted` when the list carries one: the same rows, asked the way that counts
    fastest (see selectors.upgrade_visible's shapes). The count stays exact."""

    @cached_property
    def count(self):
        return getattr(self.object_list, "counted", self.object_list).count()


class UpgradePagination(PageNumberPagination):
    django_paginator_class = _CountedPaginator


class UpgradeRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Upgrade requests the caller may see; writes go through the upgrade services."""

    lookup_field = "reference"
    serializer_class = s.UpgradeRequestSerializer
    filter_backends = []
    pagination_class = UpgradePagination

    def get_queryset(self):
        return selectors.upgrade_list(user=self.request.user, filters=self._filters())

    def _filters(self) -> dict:
        params = self.request.query_params
        filters = {k: params.get(k) for k in ("q", "state", "risk_class", "system", "environment", "requester",
                                              "created_from", "created_to", "sort") if params.get(k)}
        for key, value in filters.items():
            if "\x00" in value or len(value) > 200:
                from rest_framework.exceptions import ValidationError

                raise ValidationError({key: "Use at most 200 printable characters."})
        for key in ("created_from", "created_to"):
            if key in filters:
                from datetime import date

                try:
                    filters[key] = date.fromisoformat(filters[key])
                except ValueError:
                    from rest_framework.exceptions import ValidationError

                    raise ValidationError({key: "Use the date format YYYY-MM-DD."}) from None
        return filters

    def get_object(self):
        return selectors.upgrade_get(user=self.request.user, reference=self.kwargs["reference"])

    @extend_schema(parameters=FILTER_PARAMS)
    def list(self, request, *args, **kwargs):
        # the page's ids first (a walk of the list's index, ids only), then those rows with what the
        # serializer reads; counted exactly, with no filter by looking the reader's visible ids up
        filters = self._filters()
        qs = selectors.upgrade_list(user=request.user, filters=filters)
        ids = qs.select_related(None).prefetch_related(None).values_list("pk", flat=True)
        narrowed = any(v for k, v in filters.items() if k != "sort")
        if not narrowed:
            ids.counted = selectors.upgrade_list(user=request.user, filters=filters, shape="array").values("pk")
        page = self.paginate_queryset(ids)
        if page is None:  # no pagination configured: every row
            return Response(self.get_serializer(qs, many=True).data)
        rows = selectors.upgrade_api_rows(list(page))
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    @extend_schema(request=s.UpgradeRequestWriteSerializer, responses={201: s.UpgradeRequestSerializer})
    def create(self, request):
        data = s.UpgradeRequestWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upgrade = services.upgrade_create(by=request.user, **data.validated_data)
        return Response(s.UpgradeRequestSerializer(upgrade).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.UpgradeRequestWriteSerializer, responses={200: s.UpgradeRequestSerializer})
    def partial_update(self, request, reference=None):
        upgrade = self.get_object()
        data = s.UpgradeRequestWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        items = fields.pop("items", None)
        upgrade = services.upgrade_update(request=upgrade, by=request.user, items=items, **fields)
        return Response(s.UpgradeRequestSerializer(upgrade).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, reference=None):
        services.upgrade_delete_draft(request=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: s.TransitionStateSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def transitions(self, request, reference=None):
        """The next transitions with their blocking reasons (the gate checklist)."""
        upgrade = self.get_object()
        return Response(s.transition_rows(services.next_transitions(upgrade, request.user)))

    @extend_schema(request=s.TransitionInputSerializer, responses={200: s.UpgradeRequestSerializer,
                                                                   409: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path=r"transitions/(?P<name>[a-z_]+)")
    def transition(self, request, reference=None, name=None):
        upgrade = self.get_object()
        if name not in TRANSITIONS:
            raise NotFound("No such transition.")
        data = s.TransitionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upgrade = services.upgrade_transition(request=upgrade, by=request.user, transition=name,
                                              reason=data.validated_data["reason"])
        return Response(s.UpgradeRequestSerializer(upgrade).data)

    @extend_schema(methods=["get"], responses={200: OpenApiTypes.OBJECT})
    @extend_schema(methods=["post"], request=s.DutySerializer, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get", "post"])
    def duties(self, request, reference=None):
        """Who holds which duty; POST assigns (requester or admin), refusing what breaks segregation of duties."""
        upgrade = self.get_object()
        if request.method == "POST":
            data = s.DutySerializer(data=request.data)
            data.is_valid(raise_exception=True)
            user = User.objects.filter(username=data.validated_data["user"]).first()
            if user is None:
                from rest_framework.exceptions import ValidationError

                raise ValidationError({"user": "No such user."})
            services.upgrade_duty_assign(request=upgrade, by=request.user, user=user,
                                         duty=data.validated_data["duty"])
        holders = duties.duty_holders(upgrade)
        return Response({duty: [u.username for u in users] for duty, users in holders.items()})

    @extend_schema(methods=["get"], responses={200: s.CommentSerializer(many=True)})
    @extend_schema(methods=["post"], request=s.CommentSerializer, responses={201: s.CommentSerializer})
    @action(detail=True, methods=["get", "post"])
    def comments(self, request, reference=None):
        upgrade = self.get_object()
        if request.method == "POST":
            data = s.CommentSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            comment = services.comment_add(request=upgrade, by=request.user, body=data.validated_data["body"])
            return Response(s.CommentSerializer(comment).data, status=status.HTTP_201_CREATED)
        return Response(s.CommentSerializer(upgrade.comments.select_related("author"), many=True).data)


__all__ = ["UpgradeRequestViewSet", "get_object_or_404"]
