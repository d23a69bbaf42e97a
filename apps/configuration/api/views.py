"""The configuration API: the same selectors, services and checks as the pages."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.duties import DutyRefused
from apps.core import clock
from apps.inventory.models import Environment, System
from apps.upgrades.selectors import upgrade_get

from .. import selectors, services
from ..models import Baseline, ConfigException, Snapshot, TestCaseResult
from . import serializers as s

REFUSED = {400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT}


def _refused(exc) -> Response:
    code = status.HTTP_403_FORBIDDEN if isinstance(exc, DutyRefused) or getattr(exc, "permission", False) \
        else status.HTTP_409_CONFLICT
    return Response({"detail": "Refused.", "reasons": exc.reasons}, status=code)


REFUSALS = (services.ConfigurationRefused, DutyRefused)


def _system(slug) -> System:
    system = System.objects.filter(slug=slug).first()
    if system is None:
        from django.core.exceptions import ValidationError

        raise ValidationError({"system": f"No system “{slug}”."})
    return system


def _environment(slug, field="environment") -> Environment:
    env = Environment.objects.filter(slug=slug).first()
    if env is None:
        from django.core.exceptions import ValidationError

        raise ValidationError({field: f"No environment “{slug}”."})
    return env


class SnapshotListView(generics.GenericAPIView):
    queryset = Snapshot.objects.none()
    serializer_class = s.ConfigSnapshotSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(parameters=[OpenApiParameter("system", str, description="System slug"),
                               OpenApiParameter("environment", str, description="Environment slug"),
                               OpenApiParameter("request", str, description="Upgrade request reference")],
                   responses={200: s.ConfigSnapshotSerializer(many=True)},
                   description="Configuration snapshots, newest first (content not included; GET one for it).")
    def get(self, request):
        system = env = upgrade = None
        if request.query_params.get("system"):
            system = _system(request.query_params["system"])
        if request.query_params.get("environment"):
            env = _environment(request.query_params["environment"])
        if request.query_params.get("request"):
            upgrade = upgrade_get(user=request.user, reference=request.query_params["request"])
        page = self.paginate_queryset(selectors.snapshot_list(system=system, environment=env, request=upgrade))
        context = {"visible_refs": selectors.visible_references(request.user, page)}
        return self.get_paginated_response(s.ConfigSnapshotSerializer(page, many=True, context=context).data)

    @extend_schema(request={"application/json": s.ConfigSnapshotInputSerializer,
                            "multipart/form-data": s.ConfigSnapshotInputSerializer},
                   responses={201: s.ConfigSnapshotDetailSerializer, **REFUSED},
                   description="Record an immutable snapshot: upload a file (JSON, YAML, INI, .env), post its text "
                               "with a format, or post a key/value document as `values`. Secrets are masked by "
                               "key name before anything is stored; 409 while the system is frozen.")
    def post(self, request):
        data = s.ConfigSnapshotInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        upgrade = upgrade_get(user=request.user, reference=v["request"]) if v.get("request") else None
        kwargs = {}
        if v.get("values") is not None:
            kwargs["values"] = v["values"]
        elif v.get("file") is not None:
            kwargs["raw"], kwargs["filename"] = v["file"].read(), v["file"].name
        else:
            kwargs["raw"] = v["content"].encode()
        try:
            snapshot = services.snapshot_take(system=_system(v["system"]), environment=_environment(v["environment"]),
                                              by=request.user, tag=v["tag"], fmt=v.get("format") or "",
                                              request=upgrade, purpose=v["purpose"], **kwargs)
        except REFUSALS as exc:
            return _refused(exc)
        return Response(s.ConfigSnapshotDetailSerializer(snapshot).data, status=status.HTTP_201_CREATED)


class SnapshotDetailView(APIView):
    @extend_schema(responses={200: s.ConfigSnapshotDetailSerializer, 404: OpenApiTypes.OBJECT},
                   description="One snapshot with its (masked) content.")
    def get(self, request, pk):
        snapshot = selectors.snapshot_get(pk)
        context = {"visible_refs": selectors.visible_references(request.user, [snapshot])}
        return Response(s.ConfigSnapshotDetailSerializer(snapshot, context=context).data)


class SnapshotDiffView(APIView):
    @extend_schema(parameters=[OpenApiParameter("from", int, required=True), OpenApiParameter("to", int, required=True)],
                   responses={200: s.ConfigDiffSerializer, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
                   description="Structured diff between two snapshots (environment vs environment, before vs "
                               "after): keys added, removed, changed; secrets masked.")
    def get(self, request):
        a, b = request.query_params.get("from", ""), request.query_params.get("to", "")
        if not a.isdigit() or not b.isdigit():
            return Response({"from": ["Give the ids of two snapshots as from= and to=."]}, status=400)
        result = selectors.compare(selectors.snapshot_get(int(a)), selectors.snapshot_get(int(b)))
        return Response({
            "from_snapshot": s.ConfigSnapshotSerializer(result["from"], context={"visible_refs": set()}).data,
            "to_snapshot": s.ConfigSnapshotSerializer(result["to"], context={"visible_refs": set()}).data,
            "summary": result["summary"], "changes": [c.as_dict() for c in result["changes"]]})


class SnapshotBaselineView(APIView):
    @extend_schema(request=s.ConfigBaselineInputSerializer, responses={201: s.ConfigBaselineSerializer, **REFUSED},
                   description="Approve the snapshot as the baseline of its system in its environment.")
    def post(self, request, pk):
        snapshot = selectors.snapshot_get(pk)
        data = s.ConfigBaselineInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            baseline = services.baseline_approve(snapshot=snapshot, by=request.user,
                                                 note=data.validated_data.get("note", ""))
        except REFUSALS as exc:
            return _refused(exc)
        return Response(s.ConfigBaselineSerializer(baseline).data, status=status.HTTP_201_CREATED)


class BaselineListView(generics.GenericAPIView):
    queryset = Baseline.objects.none()
    serializer_class = s.ConfigBaselineSerializer

    @extend_schema(parameters=[OpenApiParameter("system", str, description="System slug")],
                   responses={200: s.ConfigBaselineSerializer(many=True)},
                   description="Approved baselines in force, with what the last validation found.")
    def get(self, request):
        system = _system(request.query_params["system"]) if request.query_params.get("system") else None
        page = self.paginate_queryset(selectors.baseline_list(system=system))
        return self.get_paginated_response(s.ConfigBaselineSerializer(page, many=True).data)


class ExceptionListView(generics.GenericAPIView):
    queryset = ConfigException.objects.none()
    serializer_class = s.ConfigExceptionSerializer

    @extend_schema(parameters=[OpenApiParameter("status", str, description="requested, approved, refused, "
                                                                           "in_force or expired")],
                   responses={200: s.ConfigExceptionSerializer(many=True)}, description="Configuration exceptions.")
    def get(self, request):
        page = self.paginate_queryset(selectors.exception_list(status=request.query_params.get("status", "")))
        return self.get_paginated_response(s.ConfigExceptionSerializer(page, many=True, context={"now": clock.now()}).data)

    @extend_schema(request=s.ConfigExceptionInputSerializer, responses={201: s.ConfigExceptionSerializer, **REFUSED},
                   description="Request a configuration exception (decided by a CAB member or an admin who did "
                               "not request it).")
    def post(self, request):
        data = s.ConfigExceptionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        env = _environment(v["environment"]) if v.get("environment") else None
        try:
            exception = services.exception_request(system=_system(v["system"]), environment=env, by=request.user,
                                                   key_pattern=v["key_pattern"], reason_kind=v["reason_kind"],
                                                   reason=v["reason"], expires_at=v["expires_at"])
        except REFUSALS as exc:
            return _refused(exc)
        return Response(s.ConfigExceptionSerializer(exception, context={"now": clock.now()}).data,
                        status=status.HTTP_201_CREATED)


class ExceptionDecideView(APIView):
    @extend_schema(request=s.ConfigExceptionDecisionSerializer, responses={200: s.ConfigExceptionSerializer, **REFUSED},
                   description="Approve or refuse (a reason is needed to refuse); the requester may not decide.")
    def post(self, request, pk):
        exception = get_object_or_404(ConfigException, pk=pk)
        data = s.ConfigExceptionDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            exception = services.exception_decide(exception=exception, by=request.user,
                                                  approve=data.validated_data["approve"],
                                                  reason=data.validated_data.get("reason", ""))
        except REFUSALS as exc:
            return _refused(exc)
        return Response(s.ConfigExceptionSerializer(exception, context={"now": clock.now()}).data)


# --- a request's staging evidence ---------------------------------------------------------------------------


def _request(request, reference):
    return selectors.request_for(user=request.user, reference=reference)


def _summary_body(upgrade) -> dict:
    summary = selectors.request_summary(upgrade)
    visible = {"visible_refs": {upgrade.pk}}
    return {
        "reference": upgrade.reference,
        "submit_reasons": summary["submit_reasons"],
        "start_reasons": summary["start_reasons"],
        "snapshots": s.ConfigSnapshotSerializer(summary["snapshots"], many=True, context=visible).data,
        "backout": s.ConfigSnapshotSerializer(summary["backout"], many=True, context=visible).data,
        "drift": [{"system": d["system"].slug,
                   "production": d["production"].pk if d["production"] else None,
                   "staging": d["staging"].pk if d["staging"] else None,
                   "summary": d["comparison"]["summary"] if d["comparison"] else None,
                   "changes": [c.as_dict() for c in d["comparison"]["changes"]] if d["comparison"] else []}
                  for d in summary["drift"]],
        "parity": [{"system": p["system"].slug, "mismatches": p["mismatches"],
                    "rows": [{k: r[k] for k in ("kind", "name", "staging", "production", "mismatch")}
                             for r in p["rows"]]} for p in summary["parity"]],
        "masking": s.MaskingRecordSerializer([m["record"] for m in summary["masking"] if m["record"]], many=True).data,
        "reports": s.RegressionReportSerializer(summary["reports"], many=True).data,
        "performance": s.PerformanceFigureSerializer(summary["performance"], many=True).data,
        "signoffs": [{"workflow": r["workflow"].pk, "name": r["workflow"].name, "system": r["workflow"].system.slug,
                      "signed_by": r["signoff"].signed_by.username if r["signoff"] else None,
                      "signed_at": r["signoff"].signed_at.isoformat() if r["signoff"] else None,
                      "current": r["current"]} for r in summary["signoffs"]],
        "patching_order": [{k: p[k] for k in ("wave", "dependent", "dependency", "message", "detail")}
                           for p in summary["patching_order"]],
    }


class RequestConfigurationView(APIView):
    @extend_schema(responses={200: s.RequestConfigurationSerializer, 404: OpenApiTypes.OBJECT},
                   description="A request's configuration and staging evidence, and what still blocks it.")
    def get(self, request, reference):
        return Response(_summary_body(_request(request, reference)))


class JunitImportView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": s.JunitImportInputSerializer},
                   responses={201: s.RegressionReportSerializer, **REFUSED},
                   description="Import a JUnit XML report (pytest, Maven Surefire, Jest …) as staging evidence. "
                               "Malformed XML, DTDs and entities are refused with 400.")
    def post(self, request, reference):
        upgrade = _request(request, reference)
        data = s.JunitImportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        wave = None
        if v.get("wave") is not None:
            from apps.rollouts.models import Wave

            wave = Wave.objects.filter(pk=v["wave"], plan__request=upgrade).select_related("plan").first()
            if wave is None:
                return Response({"wave": ["That wave is not part of this request's rollout plan."]}, status=400)
        try:
            report = services.junit_import(request=upgrade, by=request.user, raw=v["file"].read(),
                                           filename=v["file"].name, wave=wave, name=v.get("name", ""))
        except REFUSALS as exc:
            return _refused(exc)
        return Response(s.RegressionReportSerializer(report).data, status=status.HTTP_201_CREATED)


class FailureAcceptView(APIView):
    @extend_schema(request=s.FailureAcceptInputSerializer, responses={200: s.TestCaseResultSerializer, **REFUSED},
                   description="Accept a failing test with a justification (the requester or the validator).")
    def post(self, request, reference, pk):
        upgrade = _request(request, reference)
        case = TestCaseResult.objects.filter(pk=pk, report__request=upgrade).select_related("report").first()
        if case is None:
            raise NotFound("No such failing test in this request's reports.")
        data = s.FailureAcceptInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            case = services.failure_accept(case=case, by=request.user,
                                           justification=data.validated_data["justification"])
        except REFUSALS as exc:
            return _refused(exc)
        return Response(s.TestCaseResultSerializer(case).data)


class TopologyView(APIView):
    @extend_schema(request=s.TopologyItemInputSerializer, responses={201: OpenApiTypes.OBJECT, **REFUSED},
                   description="Record one topology element of an affected system in staging or production.")
    def post(self, request, reference):
        upgrade = _request(request, reference)
        data = s.TopologyItemInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        try:
            item = services.topology_record(request=upgrade, system=_system(v["system"]),
                                            environment=_environment(v["environment"]), by=request.user,
                                            kind=v["kind"], name=v["name"], value=v["value"])
        except REFUSALS as exc:
            return _refused(exc)
        return Response({"id": item.pk, "system": v["system"], "environment": v["environment"], "kind": item.kind,
                         "name": item.name, "value": item.value}, status=status.HTTP_201_CREATED)


class MaskingView(APIView):
    @extend_schema(request=s.MaskingRecordInputSerializer, responses={201: s.MaskingRecordSerializer, **REFUSED},
                   description="Record how staging data was prepared; an unmasked copy blocks the submission.")
    def post(self, request, reference):
        upgrade = _request(request, reference)
        data = s.MaskingRecordInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        try:
            record = services.masking_record(request=upgrade, system=_system(v["system"]), by=request.user,
                                             masked=v["masked"], method=v["method"], masked_by=v["masked_by"],
                                             masked_on=v["masked_on"], notes=v.get("notes", ""))
        except REFUSALS as exc:
            return _refused(exc)
        return Response(s.MaskingRecordSerializer(record).data, status=status.HTTP_201_CREATED)


class PerformanceView(APIView):
    @extend_schema(request=s.PerformanceImportSerializer, responses={201: s.PerformanceFigureSerializer(many=True), **REFUSED},
                   description="Record or import before/after figures of the simulated upgrade in staging.")
    def post(self, request, reference):
        upgrade = _request(request, reference)
        data = s.PerformanceImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            rows = services.performance_record(request=upgrade, by=request.user,
                                               figures=[dict(f) for f in data.validated_data["figures"]])
        except REFUSALS as exc:
            return _refused(exc)
        return Response(s.PerformanceFigureSerializer(rows, many=True).data, status=status.HTTP_201_CREATED)


class SignoffView(APIView):
    @extend_schema(request=s.UatSignoffInputSerializer, responses={201: s.UatSignoffSerializer, **REFUSED},
                   description="A business workflow owner signs off the staging evidence, with a step-up token "
                               "(POST /api/v1/auth/step-up/) or the password.")
    def post(self, request, reference):
        upgrade = _request(request, reference)
        data = s.UatSignoffInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        workflow = next((w for w in selectors.workflows_of(upgrade) if w.pk == v["workflow"]), None)
        if workflow is None:
            return Response({"workflow": ["Not a business workflow of the systems this request changes."]},
                            status=400)
        try:
            signoff = services.signoff_record(request=upgrade, workflow=workflow, by=request.user,
                                              password=v.get("password", ""), token=v.get("token", ""),
                                              comment=v.get("comment", ""))
        except REFUSALS as exc:
            return _refused(exc)
        return Response(s.UatSignoffSerializer(signoff).data, status=status.HTTP_201_CREATED)
