"""The execution API: runs, the step log (people and automation with an API token), backout, validation
sign-off with a step-up token, and incidents. Same selectors, services and duty checks as the page."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from knox.auth import TokenAuthentication
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import query_flag
from apps.upgrades.selectors import upgrade_get

from .. import incidents, runs, selectors
from ..models import Severity
from . import run_serializers as s

REFUSED = {409: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT,
           400: OpenApiTypes.OBJECT}


def _refused(exc) -> Response:
    return Response({"detail": "Refused.", "reasons": exc.reasons}, status=status.HTTP_409_CONFLICT)


def _run(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    run = selectors.run_current(upgrade)
    if run is None:
        raise NotFound("Execution has not started for this request.")
    return upgrade, run


def _detail(upgrade, run) -> dict:
    events = list(selectors.events_of(run))
    forward = selectors.step_states(run, selectors.steps_of(upgrade, "forward"), events)
    backout = selectors.step_states(run, selectors.steps_of(upgrade, "backout"), events)
    run.forward, run.backout = forward, backout
    backing_out = run.state in ("backing_out", "rolled_back")
    run.progress = selectors.progress(backout if backing_out else forward)
    run.downtime = selectors.downtime_minutes(run, upgrade)
    run.fired = selectors.firings_of(run)
    return s.ExecutionRunDetailSerializer(run).data


def _automated(request) -> bool:
    """A step outcome posted with an API token is automation's; with a session, a person's."""
    return isinstance(getattr(request, "successful_authenticator", None), TokenAuthentication)


def _step(upgrade, step_id):
    from apps.rollouts.models import RunbookStep

    plan = selectors.plan_of(upgrade)
    step = RunbookStep.objects.filter(pk=step_id, plan=plan).first() if plan else None
    if step is None:
        raise NotFound("No such step in this request's runbook.")
    return step


class RunView(APIView):
    @extend_schema(responses={200: s.ExecutionRunDetailSerializer, 404: OpenApiTypes.OBJECT},
                   description="The request's execution run: state, step states from the log, progress, "
                               "downtime, trigger firings.")
    def get(self, request, reference):
        upgrade, run = _run(request, reference)
        return Response(_detail(upgrade, run))


class StartCheckView(APIView):
    @extend_schema(responses={200: s.StartCheckSerializer, 404: OpenApiTypes.OBJECT},
                   description="What the execution app says about starting now: pre-checks, CAB conditions, "
                               "the approved window (the full checklist is the request's transitions).")
    def get(self, request, reference):
        upgrade = upgrade_get(user=request.user, reference=reference)
        return Response({"prechecks": selectors.precheck_reasons(upgrade),
                         "conditions": selectors.conditions_reasons(upgrade),
                         "window": selectors.window_reasons(upgrade)})


class PrecheckView(APIView):
    @extend_schema(request=None, responses={202: OpenApiTypes.OBJECT, **REFUSED},
                   description="Queue a pre-upgrade check run of the affected systems (the implementer).")
    def post(self, request, reference):
        upgrade = upgrade_get(user=request.user, reference=reference)
        try:
            check_run = runs.precheck_request(request=upgrade, by=request.user)
        except runs.RunRefused as exc:
            return _refused(exc)
        return Response({"check_run": check_run.pk, "status": check_run.status}, status=status.HTTP_202_ACCEPTED)


class EventListView(generics.ListAPIView):
    serializer_class = s.StepEventSerializer

    @extend_schema(description="The append-only step log of the run, oldest first.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            from ..models import StepEvent

            return StepEvent.objects.none()
        _, run = _run(self.request, self.kwargs["reference"])
        return selectors.events_of(run)


class StepStartView(APIView):
    @extend_schema(request=None, responses={201: s.StepEventSerializer, **REFUSED},
                   description="Record that a step started (refused until its DAG predecessors are done or "
                               "skipped). Token authentication marks the event as automation's.")
    def post(self, request, reference, step_id):
        upgrade, run = _run(request, reference)
        step = _step(upgrade, step_id)
        try:
            event = runs.step_start(run=run, step=step, by=request.user, automated=_automated(request))
        except runs.RunRefused as exc:
            return _refused(exc)
        return Response(s.StepEventSerializer(event).data, status=status.HTTP_201_CREATED)


class StepFinishView(APIView):
    @extend_schema(request=s.StepFinishInputSerializer, responses={201: s.StepEventSerializer, **REFUSED},
                   description="Record a step's outcome: done or failed after it started, or skipped with a "
                               "reason. The last backout step done rolls the request back.")
    def post(self, request, reference, step_id):
        upgrade, run = _run(request, reference)
        step = _step(upgrade, step_id)
        data = s.StepFinishInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            event = runs.step_finish(run=run, step=step, by=request.user, automated=_automated(request),
                                     **data.validated_data)
        except runs.RunRefused as exc:
            return _refused(exc)
        return Response(s.StepEventSerializer(event).data, status=status.HTTP_201_CREATED)


class BackoutView(APIView):
    @extend_schema(request=s.ReasonInputSerializer, responses={200: s.ExecutionRunDetailSerializer, **REFUSED},
                   description="Invoke the backout at once (the implementer): the run switches to the backout "
                               "runbook.")
    def post(self, request, reference):
        upgrade, run = _run(request, reference)
        data = s.ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            run = runs.backout_invoke(run=run, by=request.user, reason=data.validated_data["reason"])
        except runs.RunRefused as exc:
            return _refused(exc)
        return Response(_detail(upgrade, run))


class ResumeView(APIView):
    @extend_schema(request=s.ReasonInputSerializer, responses={200: s.ExecutionRunDetailSerializer, **REFUSED},
                   description="Resume a run a trigger paused, with a reason (the implementer).")
    def post(self, request, reference):
        upgrade, run = _run(request, reference)
        data = s.ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            run = runs.run_resume(run=run, by=request.user, reason=data.validated_data["reason"])
        except runs.RunRefused as exc:
            return _refused(exc)
        return Response(_detail(upgrade, run))


class SignView(APIView):
    @extend_schema(request=s.SignInputSerializer, responses={200: s.ExecutionRunDetailSerializer, **REFUSED},
                   description="The validator signs the validation with a step-up token; the request is "
                               "completed. 400 when the token is not valid.")
    def post(self, request, reference):
        upgrade, run = _run(request, reference)
        data = s.SignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            run = runs.validation_sign(run=run, by=request.user, token=data.validated_data["token"])
        except runs.RunRefused as exc:
            return _refused(exc)
        run.refresh_from_db()
        return Response(_detail(upgrade, run))


class RequestIncidentsView(APIView):
    @extend_schema(responses={200: s.IncidentSerializer(many=True)},
                   description="The incidents linked to a request.")
    def get(self, request, reference):
        upgrade = upgrade_get(user=request.user, reference=reference)
        return Response(s.IncidentSerializer(selectors.incidents_of(upgrade).select_related("request"),
                                             many=True).data)

    @extend_schema(request=s.IncidentInputSerializer, responses={201: s.IncidentSerializer, **REFUSED},
                   description="Record an incident (people working on the request).")
    def post(self, request, reference):
        upgrade = upgrade_get(user=request.user, reference=reference)
        data = s.IncidentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = incidents.incident_open(request=upgrade, by=request.user, **data.validated_data)
        return Response(s.IncidentSerializer(incident).data, status=status.HTTP_201_CREATED)


class IncidentListView(generics.ListAPIView):
    serializer_class = s.IncidentSerializer

    @extend_schema(parameters=[
        OpenApiParameter("severity", str, enum=Severity.values, description="P1 to P4"),
        OpenApiParameter("open", bool, description="Only incidents without an end"),
    ], description="Incidents of the requests you may see (the scope the KPIs count).")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        severity = self.request.query_params.get("severity", "")
        if severity and severity not in Severity.values:
            raise ValidationError({"severity": f"Choose one of: {', '.join(Severity.values)}."})
        return selectors.incident_list(user=self.request.user, filters={
            "severity": severity, "open": query_flag(self.request, "open")})


class IncidentDetailView(APIView):
    def _get(self, request, pk):
        incident = selectors.incident_list(user=request.user).filter(pk=pk).first()
        if incident is None:
            raise Http404("No such incident.")
        return incident

    @extend_schema(responses={200: s.IncidentSerializer, 404: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        return Response(s.IncidentSerializer(self._get(request, pk)).data)

    @extend_schema(request=s.IncidentUpdateSerializer, responses={200: s.IncidentSerializer, **REFUSED},
                   description="Close an incident (ended_at) or correct its impact.")
    def patch(self, request, pk):
        incident = self._get(request, pk)
        data = s.IncidentUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        incident = incidents.incident_update(incident=incident, by=request.user, **data.validated_data)
        return Response(s.IncidentSerializer(incident).data)


class RunListView(generics.ListAPIView):
    serializer_class = s.ExecutionRunSerializer

    @extend_schema(parameters=[OpenApiParameter("state", str, description="running, paused, backing_out, done "
                                                                           "or rolled_back")],
                   description="Execution runs of the requests you may see, newest first.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        from ..models import RunState

        state = self.request.query_params.get("state", "")
        if state and state not in RunState.values:
            raise ValidationError({"state": f"Choose one of: {', '.join(RunState.values)}."})
        return selectors.run_list(user=self.request.user, state=state or None).select_related("plan_version")


