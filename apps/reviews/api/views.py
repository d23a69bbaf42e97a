"""The review API: the same selectors, services and checks as the pages."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import query_choice, query_flag
from apps.upgrades.selectors import upgrade_get

from .. import backlog, pir, readiness, selectors
from ..models import BacklogItem, PostImplementationReview, ReadinessItem
from ..pir import ReviewRefused
from . import serializers as s

REFUSED = {400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT}


def _refused(exc) -> Response:
    return Response({"detail": "Refused.", "reasons": exc.reasons}, status=status.HTTP_403_FORBIDDEN)


class ReviewView(APIView):
    @extend_schema(responses={200: s.PostImplementationReviewSerializer, 404: OpenApiTypes.OBJECT},
                   description="The post-implementation review of a request.")
    def get(self, request, reference):
        upgrade = upgrade_get(user=request.user, reference=reference)
        review = selectors.review_of(upgrade)
        if review is None:
            raise NotFound("No review has been written for this request yet.")
        return Response(s.PostImplementationReviewSerializer(review).data)

    @extend_schema(request=s.ReviewInputSerializer, responses={200: s.PostImplementationReviewSerializer, **REFUSED},
                   description="Save the review (the requester); with complete=true it is checked and completed.")
    def put(self, request, reference):
        upgrade = upgrade_get(user=request.user, reference=reference)
        data = s.ReviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            review = pir.pir_save(request=upgrade, by=request.user, **data.validated_data)
        except ReviewRefused as exc:
            return _refused(exc)
        return Response(s.PostImplementationReviewSerializer(review).data)


class FollowUpView(APIView):
    @extend_schema(responses={200: s.BacklogItemSerializer(many=True), 404: OpenApiTypes.OBJECT},
                   description="The backlog items of a request: follow-ups, accepted risks, expiring exceptions.")
    def get(self, request, reference):
        upgrade = upgrade_get(user=request.user, reference=reference)
        return Response(s.BacklogItemSerializer(selectors.follow_ups_of(upgrade), many=True).data)

    @extend_schema(request=s.FollowUpInputSerializer, responses={201: s.BacklogItemSerializer, **REFUSED},
                   description="Add a follow-up action of the review, with owner and due date.")
    def post(self, request, reference):
        upgrade = upgrade_get(user=request.user, reference=reference)
        data = s.FollowUpInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            item = pir.followup_add(request=upgrade, by=request.user, **data.validated_data)
        except ReviewRefused as exc:
            return _refused(exc)
        return Response(s.BacklogItemSerializer(item).data, status=status.HTTP_201_CREATED)


class BacklogImportView(APIView):
    @extend_schema(request=None, responses={201: s.BacklogItemSerializer(many=True), **REFUSED},
                   description="Add the request's accepted risks and its systems' expiring configuration "
                               "exceptions to the backlog (each once).")
    def post(self, request, reference):
        upgrade = upgrade_get(user=request.user, reference=reference)
        try:
            created = backlog.backlog_import(request=upgrade, by=request.user)
        except ReviewRefused as exc:
            return _refused(exc)
        return Response(s.BacklogItemSerializer(created, many=True).data, status=status.HTTP_201_CREATED)


class ReadinessView(APIView):
    @extend_schema(responses={200: s.ReadinessItemSerializer(many=True), 404: OpenApiTypes.OBJECT},
                   description="Runbooks, service documentation and training to update before closing.")
    def get(self, request, reference):
        upgrade = upgrade_get(user=request.user, reference=reference)
        return Response(s.ReadinessItemSerializer(selectors.readiness_of(upgrade), many=True).data)

    @extend_schema(request=s.ReadinessInputSerializer, responses={201: s.ReadinessItemSerializer, **REFUSED})
    def post(self, request, reference):
        upgrade = upgrade_get(user=request.user, reference=reference)
        data = s.ReadinessInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            item = readiness.readiness_add(request=upgrade, by=request.user, **data.validated_data)
        except ReviewRefused as exc:
            return _refused(exc)
        return Response(s.ReadinessItemSerializer(item).data, status=status.HTTP_201_CREATED)


class ReadinessConfirmView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(request=s.ReadinessConfirmSerializer, responses={200: s.ReadinessItemSerializer, **REFUSED},
                   description="Confirm an item updated, with a link or a file (multipart).")
    def post(self, request, reference, pk):
        upgrade = upgrade_get(user=request.user, reference=reference)
        item = get_object_or_404(ReadinessItem, pk=pk, request=upgrade)
        data = s.ReadinessConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            item = readiness.readiness_confirm(item=item, by=request.user, link=data.validated_data["link"],
                                               upload=data.validated_data["file"])
        except ReviewRefused as exc:
            return _refused(exc)
        return Response(s.ReadinessItemSerializer(item).data)


class TrainingView(APIView):
    @extend_schema(responses={200: s.TrainingRecordSerializer(many=True), 404: OpenApiTypes.OBJECT},
                   description="Who was trained on the new version, and when.")
    def get(self, request, reference):
        upgrade = upgrade_get(user=request.user, reference=reference)
        return Response(s.TrainingRecordSerializer(selectors.training_of(upgrade), many=True).data)

    @extend_schema(request=s.TrainingInputSerializer, responses={201: s.TrainingRecordSerializer, **REFUSED})
    def post(self, request, reference):
        upgrade = upgrade_get(user=request.user, reference=reference)
        data = s.TrainingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            record = readiness.training_record(request=upgrade, by=request.user, **data.validated_data)
        except ReviewRefused as exc:
            return _refused(exc)
        return Response(s.TrainingRecordSerializer(record).data, status=status.HTTP_201_CREATED)


class BacklogListView(ListAPIView):
    serializer_class = s.BacklogItemSerializer

    @extend_schema(parameters=[
        OpenApiParameter("status", str, enum=["open", "done", "all"], description="Default: open."),
        OpenApiParameter("overdue", bool), OpenApiParameter("mine", bool),
        OpenApiParameter("kind", str, enum=["follow_up", "accepted_risk", "config_exception"])],
        description="The tech-debt backlog of the requests you may see and the items you own.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return BacklogItem.objects.none()
        request = self.request
        filters = {"status": query_choice(request, "status", ("open", "done", "all"), default="open"),
                   "overdue": query_flag(request, "overdue"), "mine": query_flag(request, "mine"),
                   "kind": query_choice(request, "kind", BacklogItem.Kind.values) or None}
        return selectors.backlog_list(user=self.request.user, filters=filters)


class BacklogDoneView(APIView):
    @extend_schema(request=None, responses={200: s.BacklogItemSerializer, **REFUSED},
                   description="Mark a backlog item done (its owner, the requester or an admin).")
    def post(self, request, pk):
        item = get_object_or_404(selectors.backlog_list(user=request.user, filters={"status": "all"}), pk=pk)
        try:
            item = backlog.backlog_done(item=item, by=request.user)
        except ReviewRefused as exc:
            return _refused(exc)
        return Response(s.BacklogItemSerializer(item).data)


class LessonListView(ListAPIView):
    serializer_class = s.LessonSerializer

    @extend_schema(parameters=[OpenApiParameter("q", str, description="Words to search for.")],
                   description="Lessons learned of the completed reviews you may see.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PostImplementationReview.objects.none()
        return selectors.lesson_search(user=self.request.user, text=self.request.query_params.get("q", ""))
