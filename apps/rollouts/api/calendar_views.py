"""The calendar API: the same selectors, services and role checks as the pages."""

import datetime as dt

from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.choices import Role
from apps.audit.access import HasRole
from apps.core import clock
from apps.core.api import query_flag
from apps.upgrades.selectors import upgrade_get, upgrade_visible

from ..calendar import selectors, services
from ..models import ApprovedWindow, Conflict, Freeze
from . import calendar_serializers as s

MANAGERS = (Role.ADMIN, Role.CHANGE_MANAGER)
REFUSED = {400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT}
MAX_RANGE = dt.timedelta(days=400)


def _refused(exc) -> Response:
    return Response({"detail": "Refused.", "reasons": exc.reasons}, status=status.HTTP_403_FORBIDDEN)


class ManagersWrite(HasRole):
    """Anyone signed in reads; administrators and change managers write."""

    roles = MANAGERS
    message = "Only administrators and change managers manage freezes and approved windows."

    def has_permission(self, request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return bool(request.user and request.user.is_authenticated)
        return super().has_permission(request, view)


class FreezeListView(APIView):
    permission_classes = [ManagersWrite]

    @extend_schema(parameters=[OpenApiParameter("past", bool, description="Include past and lifted freezes.")],
                   responses={200: s.FreezeSerializer(many=True)}, description="Current and coming freezes.")
    def get(self, request):
        past = query_flag(request, "past")
        return Response(s.FreezeSerializer(selectors.freeze_list(include_past=past), many=True).data)

    @extend_schema(request=s.FreezeInputSerializer, responses={201: s.FreezeSerializer, **REFUSED},
                   description="Declare a freeze (administrators and change managers).")
    def post(self, request):
        data = s.FreezeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        freeze = services.freeze_create(by=request.user, **data.validated_data)
        return Response(s.FreezeSerializer(freeze).data, status=status.HTTP_201_CREATED)


class FreezeDetailView(APIView):
    permission_classes = [ManagersWrite]

    @extend_schema(responses={200: s.FreezeSerializer, 404: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        return Response(s.FreezeSerializer(get_object_or_404(Freeze, pk=pk)).data)

    @extend_schema(request=s.FreezeUpdateSerializer, responses={200: s.FreezeSerializer, **REFUSED},
                   description="Change a freeze that is not lifted.")
    def patch(self, request, pk):
        freeze = get_object_or_404(Freeze, pk=pk)
        data = s.FreezeUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        freeze = services.freeze_update(freeze=freeze, by=request.user, **data.validated_data)
        return Response(s.FreezeSerializer(freeze).data)


class FreezeLiftView(APIView):
    permission_classes = [ManagersWrite]

    @extend_schema(request=s.FreezeLiftInputSerializer, responses={200: s.FreezeSerializer, **REFUSED},
                   description="End a freeze early (it stays on record).")
    def post(self, request, pk):
        freeze = get_object_or_404(Freeze, pk=pk)
        data = s.FreezeLiftInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        freeze = services.freeze_lift(freeze=freeze, by=request.user, reason=data.validated_data["reason"])
        return Response(s.FreezeSerializer(freeze).data)


class ApprovedWindowListView(APIView):
    permission_classes = [ManagersWrite]

    @extend_schema(parameters=[OpenApiParameter("system", str, description="System slug.")],
                   responses={200: s.ApprovedWindowSerializer(many=True)},
                   description="Recurring approved windows with their next occurrences (UTC).")
    def get(self, request):
        qs = selectors.approved_window_list()
        if request.query_params.get("system"):
            qs = qs.filter(system__slug=request.query_params["system"][:120])
        return Response(s.ApprovedWindowSerializer(qs, many=True).data)

    @extend_schema(request=s.ApprovedWindowInputSerializer, responses={201: s.ApprovedWindowSerializer, **REFUSED},
                   description="Add an approved window to a system (administrators and change managers).")
    def post(self, request):
        data = s.ApprovedWindowInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        window = services.approved_window_create(by=request.user, **data.validated_data)
        return Response(s.ApprovedWindowSerializer(window).data, status=status.HTTP_201_CREATED)


class ApprovedWindowDetailView(APIView):
    permission_classes = [ManagersWrite]

    @extend_schema(responses={200: s.ApprovedWindowSerializer, 404: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        return Response(s.ApprovedWindowSerializer(get_object_or_404(ApprovedWindow, pk=pk)).data)

    @extend_schema(request=s.ApprovedWindowUpdateSerializer, responses={200: s.ApprovedWindowSerializer, **REFUSED},
                   description="Change an approved window; the changes planned on its system are re-checked.")
    def patch(self, request, pk):
        window = get_object_or_404(ApprovedWindow, pk=pk)
        data = s.ApprovedWindowUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        window = services.approved_window_update(window=window, by=request.user, **data.validated_data)
        return Response(s.ApprovedWindowSerializer(window).data)

    @extend_schema(responses={204: None, **REFUSED})
    def delete(self, request, pk):
        services.approved_window_delete(window=get_object_or_404(ApprovedWindow, pk=pk), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _conflicts_body(request, conflicts) -> list:
    others = {c.other_request_id for c in conflicts if c.other_request_id}
    visible = set()
    if others:
        visible = set(upgrade_visible(request.user).filter(pk__in=others).values_list("pk", flat=True))
    return s.ConflictSerializer(conflicts, many=True, context={"visible": visible}).data


class ConflictListView(APIView):
    @extend_schema(parameters=[OpenApiParameter("resolved", bool, description="Include resolved conflicts.")],
                   responses={200: s.ConflictSerializer(many=True), 404: OpenApiTypes.OBJECT},
                   description="The request's conflicts, each with the other change (when you may see it).")
    def get(self, request, reference):
        upgrade = upgrade_get(user=request.user, reference=reference)
        resolved = query_flag(request, "resolved")
        return Response(_conflicts_body(request, list(selectors.conflicts_of(upgrade, include_resolved=resolved))))


class ConflictAcceptView(APIView):
    @extend_schema(request=s.ConflictAcceptInputSerializer, responses={200: s.ConflictSerializer, **REFUSED},
                   description="Accept a conflict with a justification (the requester or an administrator); "
                               "freeze conflicts need a freeze exception instead.")
    def post(self, request, pk):
        conflict = get_object_or_404(Conflict.objects.filter(request__in=upgrade_visible(request.user)), pk=pk)
        data = s.ConflictAcceptInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            conflict = services.conflict_accept(conflict=conflict, by=request.user, **data.validated_data)
        except services.CalendarRefused as exc:
            return _refused(exc)
        return Response(_conflicts_body(request, [conflict])[0])


class FreezeExceptionListView(APIView):
    @extend_schema(responses={200: s.RequestFreezeExceptionSerializer(many=True), 404: OpenApiTypes.OBJECT},
                   description="The freeze exceptions of a request.")
    def get(self, request, reference):
        upgrade = upgrade_get(user=request.user, reference=reference)
        return Response(s.RequestFreezeExceptionSerializer(selectors.freeze_exceptions_of(upgrade), many=True).data)

    @extend_schema(request=s.RequestFreezeExceptionInputSerializer,
                   responses={201: s.RequestFreezeExceptionSerializer, **REFUSED},
                   description="Ask the CAB for an exception to a freeze (the requester).")
    def post(self, request, reference):
        upgrade = upgrade_get(user=request.user, reference=reference)
        data = s.RequestFreezeExceptionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            exception = services.freeze_exception_request(request=upgrade, by=request.user, **data.validated_data)
        except services.CalendarRefused as exc:
            return _refused(exc)
        return Response(s.RequestFreezeExceptionSerializer(exception).data, status=status.HTTP_201_CREATED)


def _moment(request, key: str, default: dt.datetime) -> dt.datetime:
    raw = request.query_params.get(key)
    if not raw:
        return default
    value = parse_datetime(raw) if len(raw) < 40 and "\x00" not in raw else None
    if value is None:
        try:
            value = dt.datetime.combine(dt.date.fromisoformat(raw[:10]), dt.time(0), tzinfo=dt.UTC)
        except ValueError:
            raise ValidationError({key: "Give an ISO 8601 date or date and time, e.g. 2026-12-01."}) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    if not 1900 <= value.year <= 2999:
        raise ValidationError({key: "Give a date between the years 1900 and 2999."})
    return value


class CalendarView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, description="ISO 8601 (default: the first of this month, UTC)."),
            OpenApiParameter("end", str, description="ISO 8601 (default: a month after start; at most 400 days)."),
            OpenApiParameter("system", int), OpenApiParameter("team", int), OpenApiParameter("region", str),
            OpenApiParameter("risk", str, enum=["standard", "normal", "emergency"]),
        ],
        responses={200: s.CalendarSerializer, 400: OpenApiTypes.OBJECT},
        description="The change calendar: windows of the requests you may see, and freezes, in [start, end).")
    def get(self, request):
        today = clock.now().astimezone(dt.UTC)
        start = _moment(request, "start", dt.datetime(today.year, today.month, 1, tzinfo=dt.UTC))
        end = _moment(request, "end", start + dt.timedelta(days=31))
        if end <= start:
            raise ValidationError({"end": "The end must be after the start."})
        if end - start > MAX_RANGE:
            raise ValidationError({"end": "Ask for at most 400 days at a time."})
        filters, errors = selectors.calendar_filters(request.query_params)
        if errors:
            raise ValidationError(errors)
        entries = selectors.calendar_entries(user=request.user, start=start, end=end, filters=filters)
        return Response(s.CalendarSerializer({"start": start, "end": end, "timezone": request.user.timezone,
                                              "entries": entries}).data)
