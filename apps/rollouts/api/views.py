"""The rollout plan API: the same selectors, services and permission checks as the plan page.

Reads: everyone who may see the request. Writes: the requester (or an admin) while the
request is being assessed or planned; otherwise 409 with the reason (403 for the wrong
person, 404 for a request the caller may not see).
"""

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.upgrades.selectors import upgrade_get

from .. import selectors, services
from ..models import IntegrationFallback, RollbackTrigger, RunbookStep, Wave, WaveTier
from ..versions import diff
from . import serializers as s

REFUSED = {400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT}


def _refused(exc) -> Response:
    return Response({"detail": "Refused.", "reasons": exc.reasons}, status=status.HTTP_409_CONFLICT)


def _data(request, allowed) -> dict:
    """The JSON object of the body (the API reads JSON only), every key a field of the operation."""
    if not isinstance(request.data, dict):
        raise ValidationError({"detail": "Send a JSON object."})
    unknown = sorted(set(request.data) - set(allowed))
    if unknown:
        raise ValidationError({k: "Not a field here." for k in unknown})
    return dict(request.data)


def _fields(serializer_class) -> list[str]:
    return list(serializer_class().fields)


def _upgrade(request, reference):
    return upgrade_get(user=request.user, reference=reference)


def _plan_or_404(upgrade):
    plan = selectors.plan_get(upgrade)
    if plan is None:
        raise NotFound("No rollout plan has been started for this request.")
    return plan


def _owned(model, upgrade, pk):
    path = "wave__plan__request" if model is WaveTier else "plan__request"
    obj = model.objects.filter(pk=pk, **{path: upgrade}).first()
    if obj is None:
        raise NotFound("No such item in this plan.")
    return obj


def _waves(plan):
    return (plan.waves.select_related("environment", "plan")
            .prefetch_related("systems", Prefetch("tiers", queryset=WaveTier.objects.prefetch_related("systems"))))


def _steps(plan):
    return plan.steps.select_related("wave").prefetch_related(
        Prefetch("depends_on", queryset=RunbookStep.objects.only("id", "key")))


def _affected(upgrade):
    from apps.inventory.models import System

    return list(System.objects.filter(pk__in=upgrade.items.values("system_id")))


def _plan_body(upgrade) -> dict:
    analysis = selectors.plan_analysis(upgrade)
    plan = analysis.plan
    forward, backout = analysis.forward, analysis.backout
    rec = analysis.recommendation
    body = s.PlanSerializer(plan).data if plan else {"reference": upgrade.reference}
    version = selectors.current_version(upgrade)
    body.update({
        "recommendation": {"strategy": rec.strategy, "label": rec.label, "reasons": rec.reasons},
        "waves": s.WaveDetailSerializer([v.wave for v in analysis.waves], many=True,
                                        context={"affected": analysis.affected}).data,
        "triggers": s.TriggerSerializer(analysis.triggers, many=True).data,
        "steps": s.StepSerializer((forward.order if forward else []) + (backout.order if backout else []),
                                  many=True).data,
        "fallbacks": s.FallbackSerializer(list(analysis.fallbacks.values()), many=True).data,
        "analysis": {
            "order": [x.key for x in forward.order] if forward and not forward.cycle else [],
            "critical_path": [x.key for x in forward.critical.steps] if forward and forward.critical else [],
            "total_minutes": forward.minutes if forward else None,
            "window_minutes": analysis.window_minutes,
            "backout_order": [x.key for x in backout.order] if backout and not backout.cycle else [],
            "backout_minutes": backout.minutes if backout else None,
            "start_order_violations": [str(v) for v in analysis.violations],
            "problems": (forward.problems if forward else []) + (backout.problems if backout else []),
            "missing_fallbacks": [str(i) for i in analysis.missing_fallbacks],
            "gate_reasons": selectors.gate_reasons(analysis),
        },
        "current_version": s.VersionSerializer(version).data if version else None,
    })
    return body


def _change(request, reference, model, pk, input_serializer, output_serializer, update) -> Response:
    """PATCH one part of the plan through its service: 404 if it is not this request's, refusals in words."""
    obj = _owned(model, _upgrade(request, reference), pk)
    data = _data(request, _fields(input_serializer))
    try:
        obj = update(obj, data)
    except services.PlanRefused as exc:
        return _refused(exc)
    return Response(output_serializer(obj).data)


def _remove(request, reference, model, pk, remove) -> Response:
    """DELETE one part of the plan through its service."""
    obj = _owned(model, _upgrade(request, reference), pk)
    try:
        remove(obj)
    except services.PlanRefused as exc:
        return _refused(exc)
    return Response(status=status.HTTP_204_NO_CONTENT)


class PlanView(APIView):
    @extend_schema(responses={200: s.PlanOverviewSerializer, 404: OpenApiTypes.OBJECT},
                   description="The rollout plan of a request with its recommendation, waves (and their local "
                               "times), triggers, runbook steps in order, fallbacks and what the gate still "
                               "misses. Without a plan yet: the recommendation and the gate reasons.")
    def get(self, request, reference):
        return Response(_plan_body(_upgrade(request, reference)))

    @extend_schema(request=s.PlanInput, responses={200: s.PlanDetailSerializer, **REFUSED},
                   description="Set the strategy (a non-recommended one needs `strategy_justification`), the "
                               "planner's time zone and the data migration scope. Creates the plan if needed.")
    def patch(self, request, reference):
        upgrade = _upgrade(request, reference)
        data = _data(request, _fields(s.PlanInput))
        try:
            services.plan_update(request=upgrade, by=request.user, **data)
        except services.PlanRefused as exc:
            return _refused(exc)
        return Response(_plan_body(upgrade))


class WaveListView(APIView):
    @extend_schema(responses={200: s.WaveDetailSerializer(many=True)})
    def get(self, request, reference):
        upgrade = _upgrade(request, reference)
        plan = _plan_or_404(upgrade)
        return Response(s.WaveDetailSerializer(_waves(plan), many=True,
                                               context={"affected": _affected(upgrade)}).data)

    @extend_schema(request=s.WaveInput, responses={201: s.WaveDetailSerializer, **REFUSED},
                   description="Add a wave. Window bounds are wall times in `timezone` (default: yours) or "
                               "carry a UTC offset; a time skipped or repeated by a clock change is refused.")
    def post(self, request, reference):
        upgrade = _upgrade(request, reference)
        data = _data(request, [f for f in _fields(s.WaveInput) if f != "position"])
        try:
            wave = services.wave_add(request=upgrade, by=request.user, **data)
        except services.PlanRefused as exc:
            return _refused(exc)
        return Response(s.WaveDetailSerializer(wave, context={"affected": _affected(upgrade)}).data,
                        status=status.HTTP_201_CREATED)


class WaveDetailView(APIView):
    @extend_schema(responses={200: s.WaveDetailSerializer, 404: OpenApiTypes.OBJECT})
    def get(self, request, reference, pk):
        upgrade = _upgrade(request, reference)
        return Response(s.WaveDetailSerializer(_owned(Wave, upgrade, pk),
                                               context={"affected": _affected(upgrade)}).data)

    @extend_schema(request=s.WaveInput, responses={200: s.WaveDetailSerializer, **REFUSED})
    def patch(self, request, reference, pk):
        upgrade = _upgrade(request, reference)
        wave = _owned(Wave, upgrade, pk)
        data = _data(request, _fields(s.WaveInput))
        try:
            wave = services.wave_update(wave=wave, by=request.user, **data)
        except services.PlanRefused as exc:
            return _refused(exc)
        wave = Wave.objects.get(pk=wave.pk)
        return Response(s.WaveDetailSerializer(wave, context={"affected": _affected(upgrade)}).data)

    @extend_schema(responses={204: None, **REFUSED})
    def delete(self, request, reference, pk):
        return _remove(request, reference, Wave, pk, lambda obj: services.wave_delete(wave=obj, by=request.user))


class TierListView(APIView):
    @extend_schema(request=s.TierInput, responses={201: s.TierSerializer, **REFUSED},
                   description="Add a tier to a wave: the layer, its systems, sequential or simultaneous, and why.")
    def post(self, request, reference, pk):
        upgrade = _upgrade(request, reference)
        wave = _owned(Wave, upgrade, pk)
        data = _data(request, [f for f in _fields(s.TierInput) if f != "position"])
        try:
            tier = services.tier_add(wave=wave, by=request.user, **data)
        except services.PlanRefused as exc:
            return _refused(exc)
        return Response(s.TierSerializer(tier).data, status=status.HTTP_201_CREATED)


class TierDetailView(APIView):
    @extend_schema(request=s.TierInput, responses={200: s.TierSerializer, **REFUSED})
    def patch(self, request, reference, pk):
        return _change(request, reference, WaveTier, pk, s.TierInput, s.TierSerializer,
                       lambda obj, data: services.tier_update(tier=obj, by=request.user, **data))

    @extend_schema(responses={204: None, **REFUSED})
    def delete(self, request, reference, pk):
        return _remove(request, reference, WaveTier, pk, lambda obj: services.tier_delete(tier=obj, by=request.user))


class TriggerListView(APIView):
    @extend_schema(responses={200: s.TriggerSerializer(many=True)})
    def get(self, request, reference):
        plan = _plan_or_404(_upgrade(request, reference))
        return Response(s.TriggerSerializer(plan.triggers.select_related("system"), many=True).data)

    @extend_schema(request=s.TriggerInput, responses={201: s.TriggerSerializer, **REFUSED},
                   description="Add a rollback trigger; the threshold is checked against its kind.")
    def post(self, request, reference):
        upgrade = _upgrade(request, reference)
        data = _data(request, _fields(s.TriggerInput))
        try:
            trigger = services.trigger_add(request=upgrade, by=request.user, **data)
        except services.PlanRefused as exc:
            return _refused(exc)
        return Response(s.TriggerSerializer(trigger).data, status=status.HTTP_201_CREATED)


class TriggerDetailView(APIView):
    @extend_schema(responses={200: s.TriggerSerializer, 404: OpenApiTypes.OBJECT})
    def get(self, request, reference, pk):
        return Response(s.TriggerSerializer(_owned(RollbackTrigger, _upgrade(request, reference), pk)).data)

    @extend_schema(request=s.TriggerInput, responses={200: s.TriggerSerializer, **REFUSED})
    def patch(self, request, reference, pk):
        return _change(request, reference, RollbackTrigger, pk, s.TriggerInput, s.TriggerSerializer,
                       lambda obj, data: services.trigger_update(trigger=obj, by=request.user, **data))

    @extend_schema(responses={204: None, **REFUSED})
    def delete(self, request, reference, pk):
        return _remove(request, reference, RollbackTrigger, pk, lambda obj: services.trigger_delete(trigger=obj, by=request.user))


class StepListView(APIView):
    @extend_schema(responses={200: s.StepSerializer(many=True)},
                   description="Runbook steps as entered (the plan answers them in execution order).")
    def get(self, request, reference):
        plan = _plan_or_404(_upgrade(request, reference))
        return Response(s.StepSerializer(_steps(plan), many=True).data)

    @extend_schema(request=s.StepInput, responses={201: s.StepSerializer, **REFUSED},
                   description="Add a runbook step; a dependency on an unknown step or one closing a cycle is "
                               "refused (400).")
    def post(self, request, reference):
        upgrade = _upgrade(request, reference)
        data = _data(request, _fields(s.StepInput))
        try:
            step = services.step_add(request=upgrade, by=request.user, **data)
        except services.PlanRefused as exc:
            return _refused(exc)
        return Response(s.StepSerializer(step).data, status=status.HTTP_201_CREATED)


class StepDetailView(APIView):
    @extend_schema(responses={200: s.StepSerializer, 404: OpenApiTypes.OBJECT})
    def get(self, request, reference, pk):
        return Response(s.StepSerializer(_owned(RunbookStep, _upgrade(request, reference), pk)).data)

    @extend_schema(request=s.StepInput, responses={200: s.StepSerializer, **REFUSED})
    def patch(self, request, reference, pk):
        return _change(request, reference, RunbookStep, pk, s.StepInput, s.StepSerializer,
                       lambda obj, data: services.step_update(step=obj, by=request.user, **data))

    @extend_schema(responses={204: None, **REFUSED})
    def delete(self, request, reference, pk):
        return _remove(request, reference, RunbookStep, pk, lambda obj: services.step_delete(step=obj, by=request.user))


class FallbackListView(APIView):
    @extend_schema(responses={200: s.FallbackSerializer(many=True)})
    def get(self, request, reference):
        plan = _plan_or_404(_upgrade(request, reference))
        return Response(s.FallbackSerializer(plan.fallbacks.select_related("integration__system"), many=True).data)

    @extend_schema(request=s.FallbackInput, responses={200: s.FallbackSerializer, **REFUSED},
                   description="Set (create or replace) the fallback procedure of one integration.")
    def post(self, request, reference):
        upgrade = _upgrade(request, reference)
        data = _data(request, _fields(s.FallbackInput))
        try:
            fallback = services.fallback_set(request=upgrade, by=request.user, integration=data.get("integration"),
                                             procedure=data.get("procedure"), contact=data.get("contact", ""))
        except services.PlanRefused as exc:
            return _refused(exc)
        return Response(s.FallbackSerializer(fallback).data)


class FallbackDetailView(APIView):
    @extend_schema(responses={204: None, **REFUSED})
    def delete(self, request, reference, pk):
        return _remove(request, reference, IntegrationFallback, pk, lambda obj: services.fallback_delete(fallback=obj, by=request.user))


class VersionListView(APIView):
    @extend_schema(responses={200: s.VersionSerializer(many=True)}, description="Frozen plan versions, newest first.")
    def get(self, request, reference):
        return Response(s.VersionSerializer(selectors.versions_of(_upgrade(request, reference)), many=True).data)


class VersionDetailView(APIView):
    @extend_schema(responses={200: s.VersionDetailSerializer, 404: OpenApiTypes.OBJECT},
                   description="One frozen version: its canonical content and SHA-256.")
    def get(self, request, reference, number):
        version = selectors.version_get(_upgrade(request, reference), number)
        if version is None:
            raise NotFound("No such plan version.")
        return Response(s.VersionDetailSerializer(version).data)


class VersionDiffView(APIView):
    @extend_schema(parameters=[OpenApiParameter("from", OpenApiTypes.INT, required=True),
                               OpenApiParameter("to", OpenApiTypes.INT, required=True)],
                   responses={200: s.DiffSerializer, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
                   description="What changed from one plan version to another, field by field.")
    def get(self, request, reference):
        upgrade = _upgrade(request, reference)
        numbers = {}
        for key in ("from", "to"):
            raw = request.query_params.get(key, "")
            if not raw.isdigit():
                raise ValidationError({key: "Give a version number."})
            numbers[key] = int(raw)
        a = selectors.version_get(upgrade, numbers["from"])
        b = selectors.version_get(upgrade, numbers["to"])
        if a is None or b is None:
            raise NotFound("No such plan version.")
        return Response({"from_version": a.number, "to_version": b.number, "from_sha256": a.sha256,
                         "to_sha256": b.sha256,
                         "changes": [{"path": c.path, "kind": c.kind, "before": c.before, "after": c.after}
                                     for c in diff(a.content, b.content)]})

