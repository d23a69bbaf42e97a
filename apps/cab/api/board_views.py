"""The CAB board API: queue, meetings (agenda, attendance, decisions, minutes) and freeze exception decisions.

The same selectors and services as the pages; refusals come back through
apps.core.api.exception_handler (400 with the field, 403 with the rule, 404, 409).
"""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.choices import Role
from apps.audit.access import HasRole
from apps.upgrades.choices import RiskClass

from .. import board, exceptions, meetings
from . import board_serializers as s

BOARD = HasRole.of(Role.CAB_MEMBER, Role.ADMIN, Role.AUDITOR)
ERRORS = {400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT}


class QueueView(generics.ListAPIView):
    """Requests in CAB review the caller may see, with risk score, verdict, plan, backout, conflicts, votes."""

    permission_classes = [BOARD]
    serializer_class = s.QueueRowSerializer

    def get_queryset(self):
        risk = self.request.query_params.get("risk_class", "")
        if risk and risk not in RiskClass.values:
            from rest_framework.exceptions import ValidationError

            raise ValidationError({"risk_class": f"Choose one of: {', '.join(RiskClass.values)}."})
        return board.queue_list(user=self.request.user, filters={
            "risk_class": risk, "awaiting": self.request.query_params.get("awaiting") == "1"})

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        waiting = board.awaiting_request_ids(self.request.user) if page else set()
        for row in page or []:
            row.awaiting_you = row.pk in waiting
        return page

    @extend_schema(parameters=[
        OpenApiParameter("risk_class", OpenApiTypes.STR, description="standard, normal or emergency"),
        OpenApiParameter("awaiting", OpenApiTypes.STR, description="1: only requests awaiting the caller's vote"),
    ])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class MeetingListView(generics.ListAPIView):
    permission_classes = [BOARD]
    serializer_class = s.MeetingSerializer

    def get_queryset(self):
        when = self.request.query_params.get("when", "")
        return meetings.meeting_list(user=self.request.user, when=when if when in ("upcoming", "past") else "")

    @extend_schema(parameters=[OpenApiParameter("when", OpenApiTypes.STR, description="upcoming or past")],
                   description="CAB meetings, newest first (or soonest first with when=upcoming).")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.MeetingWriteSerializer, responses={201: s.MeetingDetailSerializer, **ERRORS},
                   description="Schedule a CAB meeting (CAB members and administrators).")
    def post(self, request):
        data = s.MeetingWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        meeting = meetings.meeting_create(by=request.user, **data.validated_data)
        meeting = meetings.meeting_get(pk=meeting.pk, user=request.user)
        return Response(s.MeetingDetailSerializer(meeting).data, status=status.HTTP_201_CREATED)


def _meeting(request, pk):
    return meetings.meeting_get(pk=pk, user=request.user)


class MeetingDetailView(APIView):
    permission_classes = [BOARD]

    @extend_schema(responses={200: s.MeetingDetailSerializer, 404: OpenApiTypes.OBJECT},
                   description="One meeting with its agenda, attendance and minutes.")
    def get(self, request, pk):
        return Response(s.MeetingDetailSerializer(_meeting(request, pk)).data)


class MeetingMinutesView(APIView):
    permission_classes = [BOARD]

    @extend_schema(request=s.MinutesWriteSerializer, responses={200: s.MeetingDetailSerializer, **ERRORS},
                   description="Save the free-text minutes and the meeting's status (held, cancelled).")
    def post(self, request, pk):
        meeting = _meeting(request, pk)
        data = s.MinutesWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        meetings.meeting_minutes_save(meeting=meeting, by=request.user, **data.validated_data)
        return Response(s.MeetingDetailSerializer(_meeting(request, pk)).data)


class MeetingPdfView(APIView):
    permission_classes = [BOARD]

    @extend_schema(responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY),
                              404: OpenApiTypes.OBJECT},
                   description="The minutes as PDF (the download is audited).")
    def get(self, request, pk):
        pdf = meetings.minutes_pdf(meeting=_meeting(request, pk), by=request.user)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="cab-minutes-{int(pk)}.pdf"'
        return response


class AgendaView(APIView):
    permission_classes = [BOARD]

    @extend_schema(responses={200: s.AgendaItemSerializer(many=True), 404: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        return Response(s.AgendaItemSerializer(_meeting(request, pk).items.all(), many=True).data)

    @extend_schema(request=s.AgendaAddSerializer, responses={201: s.AgendaItemSerializer, **ERRORS},
                   description="Put one request in CAB review on the agenda.")
    def post(self, request, pk):
        meeting = _meeting(request, pk)
        data = s.AgendaAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = meetings.agenda_add(meeting=meeting, by=request.user, reference=data.validated_data["request"])
        return Response(s.AgendaItemSerializer(item).data, status=status.HTTP_201_CREATED)


class AgendaFromQueueView(APIView):
    permission_classes = [BOARD]

    @extend_schema(request=None, responses={201: s.AgendaItemSerializer(many=True), **ERRORS},
                   description="Add every request of the CAB queue that is not on the agenda yet.")
    def post(self, request, pk):
        items = meetings.agenda_from_queue(meeting=_meeting(request, pk), by=request.user)
        return Response(s.AgendaItemSerializer(items, many=True).data, status=status.HTTP_201_CREATED)


class AgendaDecisionView(APIView):
    permission_classes = [BOARD]

    @extend_schema(request=s.AgendaDecisionSerializer,
                   responses={200: s.AgendaItemSerializer, 409: OpenApiTypes.OBJECT, **ERRORS},
                   description="Minute the board's decision on an agenda item. This is not a vote: approval "
                               "comes only from signed votes. 'returned' sends the request back to planning "
                               "with the notes as reason.")
    def post(self, request, pk, item_pk):
        meeting = _meeting(request, pk)
        item = meetings.agenda_item_get(meeting=meeting, pk=item_pk)
        data = s.AgendaDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = meetings.agenda_decide(item=item, by=request.user, **data.validated_data)
        return Response(s.AgendaItemSerializer(item).data)


class AttendanceView(APIView):
    permission_classes = [BOARD]

    @extend_schema(responses={200: s.AttendanceSerializer(many=True), 404: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        return Response(s.AttendanceSerializer(_meeting(request, pk).attendance.all(), many=True).data)

    @extend_schema(request=s.AttendanceWriteSerializer, responses={200: s.AttendanceSerializer, **ERRORS},
                   description="Record an attendee (and whom a delegate sits in for); again to update.")
    def post(self, request, pk):
        meeting = _meeting(request, pk)
        data = s.AttendanceWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = meetings.attendance_record(meeting=meeting, by=request.user, **data.validated_data)
        return Response(s.AttendanceSerializer(row).data)


class _BoardOrEmergencyCab(IsAuthenticated):
    message = "Only the CAB and the emergency CAB see freeze exceptions awaiting a decision."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(super().has_permission(request, view)
                    and (user.has_role(Role.CAB_MEMBER, Role.ADMIN, Role.AUDITOR)
                         or exceptions.in_emergency_team(user)))


class FreezeExceptionListView(generics.ListAPIView):
    permission_classes = [_BoardOrEmergencyCab]
    serializer_class = s.FreezeExceptionSerializer

    def get_queryset(self):
        if self.request.query_params.get("mine") == "1":
            return exceptions.awaiting_decision(self.request.user)
        return exceptions.exceptions_list(user=self.request.user)

    @extend_schema(parameters=[OpenApiParameter("mine", OpenApiTypes.STR,
                                                description="1: only those the caller may decide")],
                   description="Freeze exceptions awaiting a CAB decision, of requests the caller may see.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class FreezeExceptionDecisionView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.FreezeExceptionDecisionSerializer,
                   responses={200: s.FreezeExceptionSerializer, 409: OpenApiTypes.OBJECT, **ERRORS},
                   description="Approve or refuse a freeze exception, signed with a step-up token (or the "
                               "password). CAB members decide; for emergency changes the emergency CAB. The "
                               "requester, assessor, implementer and validator of the request may not.")
    def post(self, request, pk):
        found = exceptions.exception_get(user=request.user, pk=pk)
        data = s.FreezeExceptionDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        decided = exceptions.freeze_exception_decide(
            exception=found, by=request.user, approve=v["decision"] == "approve", reason=v["reason"],
            password=v["password"], token=v["step_up_token"])
        found = exceptions.exception_get(user=request.user, pk=decided.pk)
        return Response(s.FreezeExceptionSerializer(found).data)

