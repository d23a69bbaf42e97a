"""The CAB API: the same selectors, services and checks as the pages; signing takes a step-up token."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.choices import Role
from apps.accounts.duties import DutyRefused
from apps.accounts.lockout import StepUpThrottle
from apps.accounts.stepup import stepup_token_create
from apps.audit.access import HasRole
from apps.core.api import query_flag
from apps.inventory.models import Environment
from apps.upgrades.selectors import upgrade_get

from .. import deploy_gate, selectors, services
from ..models import ApprovalPolicy, Condition, Delegation, Review, StandardTemplate, Vote
from . import serializers as s

READERS = (Role.ADMIN, Role.CAB_MEMBER, Role.CHANGE_MANAGER, Role.AUDITOR)
REFUSED = {403: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT}


def _refused(exc) -> Response:
    conflict = getattr(exc, "conflict", False)
    return Response({"detail": "Refused.", "reasons": getattr(exc, "reasons", [str(exc)]),
                     "rules": getattr(exc, "rules", [])},
                    status=status.HTTP_409_CONFLICT if conflict else status.HTTP_403_FORBIDDEN)


# --- step-up and the deployment gate ---------------------------------------------------------------------


class StepUpView(APIView):
    throttle_classes = [StepUpThrottle]

    @extend_schema(request=s.StepUpInputSerializer, responses={201: s.StepUpSerializer, 400: OpenApiTypes.OBJECT},
                   description="Re-authenticate with your password; the token signs votes and sign-offs for "
                               "5 minutes (send it as `step_up_token`). Failures are audited.")
    def post(self, request):
        data = s.StepUpInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, expires_at = stepup_token_create(user=request.user, password=data.validated_data["password"])
        return Response(s.StepUpSerializer({"token": token, "expires_at": expires_at}).data,
                        status=status.HTTP_201_CREATED)


class GateView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("request", str, required=True, description="The request reference, e.g. "
                                                                                "UPG-2026-0042."),
                    OpenApiParameter("environment", str, required=False,
                                     description="The environment slug the pipeline deploys to, e.g. production.")],
        responses={200: OpenApiResponse(s.GateSerializer, description="Allowed: deploy now."),
                   423: OpenApiResponse(s.GateSerializer, description="Prevented or pending: do not deploy; the "
                                                                      "reasons say why."),
                   400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
        description="May a pipeline deploy this request now? 200 when allowed, 423 when prevented or pending, "
                    "always with the reasons — so `curl --fail` stops the pipeline. Use an API token "
                    "(`Authorization: Token …`).")
    def get(self, request):
        reference = request.query_params.get("request", "")
        if not reference or len(reference) > 40 or "\x00" in reference:
            return Response({"request": ["Give the request reference, e.g. ?request=UPG-2026-0042."]},
                            status=status.HTTP_400_BAD_REQUEST)
        slug = request.query_params.get("environment", "")
        environment = None
        if slug:
            environment = Environment.objects.filter(slug=slug[:80]).first()
            if environment is None:
                known = ", ".join(Environment.objects.values_list("slug", flat=True))
                return Response({"environment": [f"Unknown environment “{slug[:80]}”. Known: {known}."]},
                                status=status.HTTP_400_BAD_REQUEST)
        upgrade = upgrade_get(user=request.user, reference=reference)
        body = deploy_gate.gate_evaluate(request=upgrade, environment=environment)
        code = status.HTTP_200_OK if body["allowed"] else status.HTTP_423_LOCKED
        return Response(body, status=code)


# --- policies -------------------------------------------------------------------------------------------


def _policy_fields(data: dict) -> dict:
    return {"name": data["name"], "risk_class": data["risk_class"], "risk_level": data.get("risk_level", "any"),
            "quorum": data["quorum"], "veto": data.get("veto", True), "voter_team": data.get("voter_team"),
            "required_teams": list(data.get("required_teams") or []),
            "require_critical_owner_teams": data.get("require_critical_owner_teams", False),
            "retrospective_days": data.get("retrospective_days")}


class PolicyListView(APIView):
    def get_permissions(self):
        roles = READERS if self.request.method == "GET" else (Role.ADMIN,)
        return [HasRole.of(*roles)()]

    @extend_schema(responses={200: s.PolicySerializer(many=True)},
                   description="The approval policies by risk class and assessed risk level. With no matching "
                               "policy the built-in default applies: quorum 1, veto on.")
    def get(self, request):
        return Response(s.PolicySerializer(selectors.policy_list(), many=True).data)

    @extend_schema(request=s.PolicySerializer, responses={201: s.PolicySerializer, 400: OpenApiTypes.OBJECT,
                                                          403: OpenApiTypes.OBJECT},
                   description="Create a policy (administrators).")
    def post(self, request):
        data = s.PolicySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        policy = services.policy_save(by=request.user, **_policy_fields(data.validated_data))
        return Response(s.PolicySerializer(policy).data, status=status.HTTP_201_CREATED)


class PolicyDetailView(APIView):
    def get_permissions(self):
        roles = READERS if self.request.method == "GET" else (Role.ADMIN,)
        return [HasRole.of(*roles)()]

    def _policy(self, pk) -> ApprovalPolicy:
        policy = selectors.policy_list().filter(pk=pk).first()
        if policy is None:
            raise Http404("No such policy.")
        return policy

    @extend_schema(responses={200: s.PolicySerializer, 404: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        return Response(s.PolicySerializer(self._policy(pk)).data)

    @extend_schema(request=s.PolicySerializer, responses={200: s.PolicySerializer, 400: OpenApiTypes.OBJECT,
                                                          403: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
                   description="Replace a policy (administrators). Reviews already open keep their frozen copy.")
    def put(self, request, pk):
        policy = self._policy(pk)
        data = s.PolicySerializer(policy, data=request.data)
        data.is_valid(raise_exception=True)
        policy = services.policy_save(by=request.user, policy=policy, **_policy_fields(data.validated_data))
        return Response(s.PolicySerializer(policy).data)

    @extend_schema(responses={204: None, 403: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT})
    def delete(self, request, pk):
        services.policy_delete(by=request.user, policy=self._policy(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- standard change templates -----------------------------------------------------------------------------


class TemplateListView(generics.ListAPIView):
    serializer_class = s.TemplateSerializer

    def get_permissions(self):
        roles = READERS if self.request.method == "GET" else (Role.CHANGE_MANAGER,)
        return [HasRole.of(*roles)()]

    def get_queryset(self):
        return selectors.template_list()

    @extend_schema(request=s.TemplateSerializer, responses={201: s.TemplateSerializer, 400: OpenApiTypes.OBJECT,
                                                            403: OpenApiTypes.OBJECT},
                   description="Describe a standard change (change managers); it is a draft until a CAB member "
                               "approves it.")
    def post(self, request):
        data = s.TemplateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields["systems"] = list(fields.get("systems") or [])
        template = services.template_create(by=request.user, **fields)
        return Response(s.TemplateSerializer(template).data, status=status.HTTP_201_CREATED)


def _template(pk) -> StandardTemplate:
    template = selectors.template_list().filter(pk=pk).first()
    if template is None:
        raise Http404("No such template.")
    return template


class TemplateDetailView(APIView):
    permission_classes = [HasRole.of(*READERS)]

    @extend_schema(responses={200: s.TemplateSerializer, 404: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        return Response(s.TemplateSerializer(_template(pk)).data)


class TemplateApproveView(APIView):
    permission_classes = [HasRole.of(Role.CAB_MEMBER)]

    @extend_schema(request=s.TemplateSignInputSerializer,
                   responses={200: s.TemplateSerializer, 400: OpenApiTypes.OBJECT, **REFUSED},
                   description="Approve a draft template for the CAB, signed with a step-up token.")
    def post(self, request, pk):
        template = _template(pk)
        data = s.TemplateSignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            template = services.template_approve(template=template, by=request.user,
                                                 token=data.validated_data["step_up_token"])
        except services.CabRefused as exc:
            return _refused(exc)
        return Response(s.TemplateSerializer(template).data)


class TemplateRetireView(APIView):
    permission_classes = [HasRole.of(Role.CAB_MEMBER, Role.ADMIN)]

    @extend_schema(request=None, responses={200: s.TemplateSerializer, **REFUSED})
    def post(self, request, pk):
        try:
            template = services.template_retire(template=_template(pk), by=request.user)
        except services.CabRefused as exc:
            return _refused(exc)
        return Response(s.TemplateSerializer(template).data)


# --- reviews and votes -----------------------------------------------------------------------------------


class ReviewListView(generics.ListAPIView):
    serializer_class = s.ReviewSerializer

    @extend_schema(parameters=[OpenApiParameter("request", str, required=False, description="Only this request."),
                               OpenApiParameter("awaiting", bool, required=False,
                                                description="Only open reviews I may still vote on.")],
                   description="CAB reviews of the requests you may see, newest first.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Review.objects.none()
        if query_flag(self.request, "awaiting"):
            return selectors.awaiting_vote(self.request.user).select_related("plan_version", "template")
        qs = selectors.review_list(user=self.request.user)
        reference = self.request.query_params.get("request")
        if reference:
            qs = qs.filter(request__reference=reference[:40])
        return qs


def _review(request, pk):
    review = selectors.review_visible_get(user=request.user, pk=pk)
    return review


class ReviewDetailView(APIView):
    @extend_schema(responses={200: s.ReviewDetailSerializer, 404: OpenApiTypes.OBJECT},
                   description="A review with its frozen policy, live and stale votes, and what is still needed.")
    def get(self, request, pk):
        return Response(s.ReviewDetailSerializer(_review(request, pk)).data)


class VoteView(APIView):
    @extend_schema(responses={200: s.VoteSerializer(many=True), 404: OpenApiTypes.OBJECT},
                   description="Every vote of the review, stale ones included.")
    def get(self, request, pk):
        return Response(s.VoteSerializer(selectors.votes_of(_review(request, pk)), many=True).data)

    @extend_schema(request=s.VoteInputSerializer,
                   responses={201: s.VoteSerializer, 400: OpenApiTypes.OBJECT, **REFUSED},
                   description="Cast a signed vote (CAB members): approve with optional conditions, reject with a "
                               "reason, or abstain. Sign with `step_up_token` from POST /api/v1/auth/step-up/. "
                               "The vote that reaches quorum approves the request in the same transaction; a "
                               "rejection under a veto policy rejects it. Refusals name the rule (403) or the "
                               "closed review (409).")
    def post(self, request, pk):
        review = _review(request, pk)
        data = s.VoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        try:
            vote = services.vote_cast(review=review, voter=request.user, decision=v["decision"], reason=v["reason"],
                                      conditions=v["conditions"], on_behalf_of=v["on_behalf_of"],
                                      token=v["step_up_token"])
        except (services.CabRefused, DutyRefused) as exc:
            return _refused(exc)
        vote = (Vote.objects.select_related("voter", "on_behalf_of", "plan_version").prefetch_related("conditions")
                .get(pk=vote.pk))
        return Response(s.VoteSerializer(vote).data, status=status.HTTP_201_CREATED)


class RetrospectiveView(APIView):
    @extend_schema(request=s.RetrospectiveInputSerializer,
                   responses={200: s.ReviewSerializer, 400: OpenApiTypes.OBJECT, **REFUSED},
                   description="Record the retrospective full review of an approved emergency change (a CAB "
                               "member not involved in it).")
    def post(self, request, pk):
        review = _review(request, pk)
        data = s.RetrospectiveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            review = services.retrospective_complete(review=review, by=request.user,
                                                     notes=data.validated_data["notes"])
        except services.CabRefused as exc:
            return _refused(exc)
        return Response(s.ReviewSerializer(review).data)


# --- conditions and delegations -----------------------------------------------------------------------------


class ConditionListView(APIView):
    @extend_schema(responses={200: s.ConditionSerializer(many=True), 404: OpenApiTypes.OBJECT},
                   description="The approval conditions of the request's current review.")
    def get(self, request, reference):
        upgrade = upgrade_get(user=request.user, reference=reference)
        return Response(s.ConditionSerializer(selectors.conditions_of(upgrade), many=True).data)


class ConditionAcknowledgeView(APIView):
    @extend_schema(request=None, responses={200: s.ConditionSerializer, **REFUSED},
                   description="Acknowledge an approval condition (the request's implementer).")
    def post(self, request, pk):
        condition = Condition.objects.select_related("vote__review__request").filter(pk=pk).first()
        if condition is None:
            raise Http404("No such condition.")
        upgrade_get(user=request.user, reference=condition.vote.review.request.reference)
        try:
            condition = services.condition_acknowledge(condition=condition, by=request.user)
        except (services.CabRefused, DutyRefused) as exc:
            return _refused(exc)
        return Response(s.ConditionSerializer(condition).data)


class DelegationListView(generics.ListAPIView):
    serializer_class = s.DelegationSerializer

    def get_permissions(self):
        roles = (Role.CAB_MEMBER, Role.ADMIN, Role.AUDITOR) if self.request.method == "GET" else (Role.CAB_MEMBER,)
        return [HasRole.of(*roles)()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Delegation.objects.none()
        return selectors.delegation_list(self.request.user)

    @extend_schema(request=s.DelegationSerializer, responses={201: s.DelegationSerializer, 400: OpenApiTypes.OBJECT,
                                                              403: OpenApiTypes.OBJECT},
                   description="Name a delegate who may vote for you during a period (CAB members).")
    def post(self, request):
        data = s.DelegationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        delegation = services.delegation_create(principal=request.user, delegate=v["delegate"],
                                                valid_from=v["valid_from"], valid_until=v["valid_until"],
                                                by=request.user)
        return Response(s.DelegationSerializer(delegation).data, status=status.HTTP_201_CREATED)


class DelegationEndView(APIView):
    @extend_schema(request=None, responses={200: s.DelegationSerializer, **REFUSED},
                   description="End a delegation now (the CAB member who named the delegate, or an administrator).")
    def post(self, request, pk):
        delegation = selectors.delegation_list(request.user).filter(pk=pk).first()
        if delegation is None:
            raise Http404("No such delegation.")
        try:
            delegation = services.delegation_end(delegation=delegation, by=request.user)
        except services.CabRefused as exc:
            return _refused(exc)
        return Response(s.DelegationSerializer(delegation).data)

