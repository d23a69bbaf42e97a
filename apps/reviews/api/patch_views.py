"""Patch schedules and vendor advisories over the API: the same services and role checks as the pages."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.choices import Role
from apps.audit.access import HasRole

from .. import advisories, patches
from ..models import AdvisoryMatch
from . import patch_serializers as s

READERS = (Role.CHANGE_MANAGER, Role.CAB_MEMBER, Role.AUDITOR, Role.ADMIN)
WRITERS = (Role.CHANGE_MANAGER, Role.ADMIN)
ERRORS = {400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT}


class _ReadWrite:
    def get_permissions(self):
        return [HasRole.of(*(READERS if self.request.method == "GET" else WRITERS))()]


class PatchScheduleListView(_ReadWrite, generics.ListAPIView):
    serializer_class = s.PatchScheduleSerializer

    def get_queryset(self):
        return patches.schedule_list()

    @extend_schema(request=s.PatchScheduleSerializer, responses={201: s.PatchScheduleSerializer, **ERRORS},
                   description="Set up a recurring patch window of a system (change managers, administrators).")
    def post(self, request):
        data = s.PatchScheduleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        schedule = patches.schedule_create(by=request.user, **data.validated_data)
        schedule.generated = 0
        return Response(s.PatchScheduleSerializer(schedule).data, status=status.HTTP_201_CREATED)


def _schedule(pk):
    schedule = patches.schedule_list().filter(pk=pk).first()
    if schedule is None:
        raise Http404("No such patch schedule.")
    return schedule


def _schedule_data(schedule):
    raised = list(schedule.occurrences.select_related("request").order_by("-starts_at"))
    by_start = {o.starts_at: o for o in raised}
    ahead = [{**o, "request": by_start[o["starts_at"]].request.reference
              if o["starts_at"] in by_start and by_start[o["starts_at"]].request else None}
             for o in patches.upcoming(schedule)]
    return s.PatchScheduleDetailSerializer(schedule, context={"ahead": ahead, "raised": raised}).data


class PatchScheduleDetailView(APIView):
    permission_classes = [HasRole.of(*READERS)]

    @extend_schema(responses={200: s.PatchScheduleDetailSerializer, 404: OpenApiTypes.OBJECT},
                   description="A schedule with its next windows and the requests raised so far.")
    def get(self, request, pk):
        return Response(_schedule_data(_schedule(pk)))


class PatchScheduleActiveView(APIView):
    permission_classes = [HasRole.of(*WRITERS)]

    @extend_schema(request=s.ActiveSerializer, responses={200: s.PatchScheduleDetailSerializer, **ERRORS,
                                                          404: OpenApiTypes.OBJECT},
                   description="Pause (no more requests are raised) or resume a schedule.")
    def post(self, request, pk):
        data = s.ActiveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patches.schedule_set_active(schedule=_schedule(pk), active=data.validated_data["active"], by=request.user)
        return Response(_schedule_data(_schedule(pk)))


class AdvisoryListView(_ReadWrite, generics.ListAPIView):
    serializer_class = s.AdvisorySerializer

    def get_queryset(self):
        return advisories.advisory_list()

    @extend_schema(request=s.AdvisoryRecordSerializer, responses={201: s.AdvisoryDetailSerializer, **ERRORS},
                   description="Record one advisory by hand; components running an affected version get a "
                               "system-level finding.")
    def post(self, request):
        data = s.AdvisoryRecordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        advisory = advisories.advisory_record(by=request.user, **data.validated_data)
        return Response(_advisory_data(advisory.pk), status=status.HTTP_201_CREATED)


class AdvisoryImportView(APIView):
    permission_classes = [HasRole.of(*WRITERS)]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": s.AdvisoryImportSerializer},
                   responses={201: s.AdvisorySerializer(many=True), **ERRORS},
                   description="Import a CSAF 2.0 document (checked against the CSAF schema) or a CSV file. "
                               "Nothing is recorded when any part is refused.")
    def post(self, request):
        data = s.AdvisoryImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        raw = data.validated_data["file"].read()
        if data.validated_data["kind"] == "csaf":
            imported = [advisories.advisory_import_csaf(raw=raw, by=request.user)]
        else:
            imported = advisories.advisory_import_csv(raw=raw, by=request.user)
        rows = advisories.advisory_list().filter(pk__in=[a.pk for a in imported])
        return Response(s.AdvisorySerializer(rows, many=True).data, status=status.HTTP_201_CREATED)


def _advisory_data(pk):
    advisory = advisories.advisory_list().filter(pk=pk).prefetch_related("products").first()
    if advisory is None:
        raise Http404("No such advisory.")
    return s.AdvisoryDetailSerializer(advisory, context={"matches": advisories.advisory_matches(advisory)}).data


class AdvisoryDetailView(APIView):
    permission_classes = [HasRole.of(*READERS)]

    @extend_schema(responses={200: s.AdvisoryDetailSerializer, 404: OpenApiTypes.OBJECT},
                   description="An advisory with the products it names and the inventory components it affects.")
    def get(self, request, pk):
        return Response(_advisory_data(pk))


class AdvisoryOpenRequestView(APIView):
    permission_classes = [HasRole.of(Role.CHANGE_MANAGER)]

    @extend_schema(request=s.OpenRequestSerializer, responses={201: s.OpenedRequestSerializer, **ERRORS,
                                                               404: OpenApiTypes.OBJECT},
                   description="Open an upgrade request (a draft) for an affected component, to the version given.")
    def post(self, request, pk):
        match = AdvisoryMatch.objects.filter(pk=pk).first()
        if match is None:
            raise Http404("No such affected component.")
        data = s.OpenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upgrade = advisories.advisory_open_request(match=match, by=request.user, **data.validated_data)
        return Response({"reference": upgrade.reference, "url": upgrade.get_absolute_url()},
                        status=status.HTTP_201_CREATED)
