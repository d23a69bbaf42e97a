"""The assessment API: the same selectors, services and duty checks as the page."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.upgrades.selectors import upgrade_get

from .. import selectors, services
from . import serializers as s

REFUSED = {409: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT}


def _refused(exc) -> Response:
    return Response({"detail": "Refused.", "reasons": exc.reasons}, status=status.HTTP_409_CONFLICT)


def _assessment(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    assessment = selectors.assessment_for(upgrade)
    if assessment is None:
        raise NotFound("No assessment has been started for this request.")
    return upgrade, assessment


def _body(upgrade, assessment) -> dict:
    data = s.AssessmentSerializer(assessment).data
    findings = list(selectors.findings_of(assessment)) + list(selectors.system_findings(upgrade))
    data["findings"] = s.FindingSerializer(findings, many=True).data
    run = selectors.last_run(assessment)
    data["last_run"] = s.RunSerializer(run).data if run else None
    return data


class AssessmentView(APIView):
    @extend_schema(responses={200: s.AssessmentSerializer, 404: OpenApiTypes.OBJECT},
                   description="The assessment of a request: verdict, explained risk score, findings, "
                               "last run.")
    def get(self, request, reference):
        upgrade, assessment = _assessment(request, reference)
        return Response(_body(upgrade, assessment))

    @extend_schema(request=None, responses={201: s.AssessmentSerializer, **REFUSED},
                   description="Start the assessment (the assessor, while the request is being assessed).")
    def post(self, request, reference):
        upgrade = upgrade_get(user=request.user, reference=reference)
        try:
            assessment = services.assessment_start(request=upgrade, by=request.user)
        except services.AssessmentRefused as exc:
            return _refused(exc)
        return Response(_body(upgrade, assessment), status=status.HTTP_201_CREATED)


class AssessmentRunView(APIView):
    @extend_schema(request=None, responses={200: s.RunSerializer, **REFUSED},
                   description="Re-run every check; answers what changed since the last run.")
    def post(self, request, reference):
        _, assessment = _assessment(request, reference)
        try:
            run = services.assessment_run(assessment=assessment, by=request.user)
        except services.AssessmentRefused as exc:
            return _refused(exc)
        return Response(s.RunSerializer(run).data)


class AssessmentCompleteView(APIView):
    @extend_schema(request=None, responses={200: s.AssessmentSerializer, **REFUSED},
                   description="Complete the assessment; 409 with the open blocking findings listed.")
    def post(self, request, reference):
        upgrade, assessment = _assessment(request, reference)
        try:
            assessment = services.assessment_complete(assessment=assessment, by=request.user)
        except services.AssessmentRefused as exc:
            return _refused(exc)
        return Response(_body(upgrade, assessment))


class FindingListView(APIView):
    @extend_schema(responses={200: s.FindingSerializer(many=True)},
                   description="The findings of the assessment and the open system-level findings.")
    def get(self, request, reference):
        upgrade, assessment = _assessment(request, reference)
        findings = list(selectors.findings_of(assessment)) + list(selectors.system_findings(upgrade))
        return Response(s.FindingSerializer(findings, many=True).data)

    @extend_schema(request=s.FindingInputSerializer, responses={201: s.FindingSerializer, **REFUSED})
    def post(self, request, reference):
        _, assessment = _assessment(request, reference)
        data = s.FindingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            finding = services.finding_add(assessment=assessment, by=request.user, **data.validated_data)
        except services.AssessmentRefused as exc:
            return _refused(exc)
        return Response(s.FindingSerializer(finding).data, status=status.HTTP_201_CREATED)


class FindingResolveView(APIView):
    @extend_schema(request=s.ResolveInputSerializer, responses={200: s.FindingSerializer, **REFUSED},
                   description="Mitigate, resolve, or accept (assessor only, with a justification) "
                               "a finding.")
    def post(self, request, pk):
        finding = selectors.finding_visible_get(user=request.user, pk=pk)
        data = s.ResolveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        context = None
        if finding.assessment_id is None:
            context = selectors.visible_request_for_system_finding(user=request.user, finding=finding)
        try:
            finding = services.finding_resolve(finding=finding, by=request.user, request=context,
                                               **data.validated_data)
        except services.AssessmentRefused as exc:
            return _refused(exc)
        return Response(s.FindingSerializer(finding).data)
