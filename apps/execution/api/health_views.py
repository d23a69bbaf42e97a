"""Health-check API: checks, runs, results, baseline comparison, baselines, the allow-list.

The same services and selectors as the pages: roles for reading, the services' own checks for writing.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit.access import HasRole
from apps.upgrades.selectors import upgrade_get

from .. import health
from ..models import AllowedTarget, Baseline, CheckResult, HealthCheck
from . import health_serializers as s

ERRORS = {400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT}
CanView = HasRole.of(*health.VIEW_ROLES)


def _run(request, pk):
    run = health.runs_visible(request.user).filter(pk=pk).first()
    if run is None:
        raise NotFound("No such run.")
    return run


class HealthCheckList(generics.ListAPIView):
    serializer_class = s.HealthCheckSerializer
    permission_classes = [CanView]
    queryset = HealthCheck.objects.none()

    def get_queryset(self):
        return health.checks_list()

    @extend_schema(request=s.HealthCheckInputSerializer, responses={201: s.HealthCheckSerializer, **ERRORS},
                   description="Define a health check on an inventory endpoint (administrators and change managers).")
    def post(self, request):
        data = s.HealthCheckInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        password = fields.pop("sql_password", None) or None
        check = health.healthcheck_save(by=request.user, sql_password=password, **fields)
        return Response(s.HealthCheckSerializer(check).data, status=status.HTTP_201_CREATED)


class HealthCheckDetail(APIView):
    permission_classes = [CanView]

    def _get(self, pk):
        check = health.checks_list().filter(pk=pk).first()
        if check is None:
            raise NotFound("No such health check.")
        return check

    @extend_schema(responses={200: s.HealthCheckSerializer, 404: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        return Response(s.HealthCheckSerializer(self._get(pk)).data)

    @extend_schema(request=s.HealthCheckUpdateSerializer, responses={200: s.HealthCheckSerializer, **ERRORS},
                   description="Change a health check; an empty or absent sql_password keeps the stored one.")
    def patch(self, request, pk):
        check = self._get(pk)
        data = s.HealthCheckUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        password = fields.pop("sql_password", None) or None
        check = health.healthcheck_save(by=request.user, check=check, sql_password=password, **fields)
        return Response(s.HealthCheckSerializer(self._get(check.pk)).data)


class CheckRunList(generics.ListAPIView):
    serializer_class = s.CheckRunSerializer
    permission_classes = [CanView]

    def get_queryset(self):
        return health.runs_visible(self.request.user)

    @extend_schema(request=s.CheckRunInputSerializer, responses={201: s.CheckRunSerializer, **ERRORS},
                   description="Request a run of health checks; it is queued and handed to a worker. Poll the run.")
    def post(self, request):
        data = s.CheckRunInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upgrade = None
        if data.validated_data.get("request"):
            upgrade = upgrade_get(user=request.user, reference=data.validated_data["request"])
        run = health.checkrun_request(checks=data.validated_data["checks"], purpose=data.validated_data["purpose"],
                                      by=request.user, request=upgrade)
        return Response(s.CheckRunSerializer(run).data, status=status.HTTP_201_CREATED)


class CheckRunDetail(APIView):
    permission_classes = [CanView]

    @extend_schema(responses={200: s.CheckRunSerializer, 404: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        return Response(s.CheckRunSerializer(_run(request, pk)).data)


class CheckResultList(generics.ListAPIView):
    serializer_class = s.CheckResultSerializer
    permission_classes = [CanView]
    queryset = CheckResult.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return CheckResult.objects.none()
        return health.results_of(_run(self.request, self.kwargs["pk"]))


class CheckRunComparison(APIView):
    permission_classes = [CanView]

    @extend_schema(responses={200: s.ComparisonSerializer(many=True), 404: OpenApiTypes.OBJECT},
                   description="Each result of the run next to its request's baseline, regressions first.")
    def get(self, request, pk):
        run = _run(request, pk)
        if run.request_id is None:
            raise NotFound("This run belongs to no upgrade request, so there is no baseline to compare with.")
        return Response(s.ComparisonSerializer(health.baseline_compare(request=run.request, run=run), many=True).data)


class BaselineList(APIView):
    permission_classes = [CanView]

    @extend_schema(responses={200: s.BaselineSerializer(many=True), 404: OpenApiTypes.OBJECT},
                   description="The latest baseline of each check of a request.")
    def get(self, request, reference):
        upgrade = upgrade_get(user=request.user, reference=reference)
        return Response(s.BaselineSerializer(list(health.baselines_current(upgrade).values()), many=True).data)

    @extend_schema(request=s.BaselineInputSerializer, responses={201: s.BaselineSerializer(many=True), **ERRORS},
                   description="Capture the baseline from a finished run of the request (idempotent per run).")
    def post(self, request, reference):
        upgrade = upgrade_get(user=request.user, reference=reference)
        data = s.BaselineInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = _run(request, data.validated_data["run"])
        if not request.user.has_role(*health.RUN_ROLES):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied("Only implementers, validators, change managers and administrators take baselines.")
        made = health.baseline_capture(request=upgrade, run=run, by=request.user)
        ids = [b.pk for b in made]
        rows = Baseline.objects.filter(pk__in=ids).select_related("health_check")
        return Response(s.BaselineSerializer(rows, many=True).data, status=status.HTTP_201_CREATED)


class AllowedTargetList(generics.ListAPIView):
    serializer_class = s.AllowedTargetSerializer
    permission_classes = [HasRole.of(*health.ALLOWLIST_ROLES)]

    def get_queryset(self):
        return AllowedTarget.objects.select_related("created_by").order_by("value", "pk")

    @extend_schema(request=s.AllowedTargetSerializer, responses={201: s.AllowedTargetSerializer, **ERRORS})
    def post(self, request):
        data = s.AllowedTargetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        target = health.allowlist_add(by=request.user, **data.validated_data)
        return Response(s.AllowedTargetSerializer(target).data, status=status.HTTP_201_CREATED)


class AllowedTargetDetail(APIView):
    permission_classes = [HasRole.of(*health.ALLOWLIST_ROLES)]

    @extend_schema(request=None, responses={204: None, 404: OpenApiTypes.OBJECT})
    def delete(self, request, pk):
        target = AllowedTarget.objects.filter(pk=pk).first()
        if target is None:
            raise NotFound("No such allow-list entry.")
        health.allowlist_remove(target=target, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
