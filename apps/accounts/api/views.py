"""Accounts API: who am I, my API tokens, and the people one can assign duties to."""

from django.http import Http404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from knox.models import AuthToken
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..choices import Role
from .serializers import (
    MeSerializer,
    TokenCreatedSerializer,
    TokenCreateSerializer,
    TokenSerializer,
    UserBriefSerializer,
    UserListQuerySerializer,
)


class AuditedTokenScheme(OpenApiAuthenticationExtension):
    """Describes our knox token authentication in the OpenAPI schema (every app's views use it)."""

    target_class = "apps.accounts.authentication.AuditedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")


class MeView(APIView):
    @extend_schema(responses=MeSerializer, tags=["accounts"],
                   summary="The signed-in account: name, time zone, roles and teams")
    def get(self, request):
        user = selectors.user_get(request.user.username)
        return Response(MeSerializer(user).data)


class TokenListCreateView(generics.ListAPIView):
    serializer_class = TokenSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AuthToken.objects.none()
        return selectors.token_list(user=self.request.user)

    @extend_schema(tags=["accounts"], summary="Your API tokens (the secrets are never shown again)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(tags=["accounts"], request=TokenCreateSerializer, responses={201: TokenCreatedSerializer},
                   summary="Create an API token; the secret is in this response only, as `token`",
                   description="Needs a signed-in session: an API token cannot create further tokens.")
    def post(self, request):
        if isinstance(request.auth, AuthToken):
            # a leaked token must not be able to mint a longer-lived successor that outlives its revocation
            raise PermissionDenied("Create API tokens while signed in, not with another API token.")
        data = TokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, secret = services.token_create(
            user=request.user, by=request.user, name=data.validated_data["name"],
            expires_in_days=data.validated_data["expires_in_days"],
        )
        token = selectors.token_list(user=request.user).get(pk=token.pk)
        body = TokenSerializer(token).data
        body["token"] = secret
        # the secret must not linger in a cache on the way
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


class TokenRevokeView(APIView):
    @extend_schema(tags=["accounts"], responses={204: None}, summary="Revoke one of your API tokens",
                   parameters=[OpenApiParameter("token_key", OpenApiTypes.STR, OpenApiParameter.PATH,
                                                description="The first characters of the token, as listed.")])
    def delete(self, request, token_key: str):
        tokens = AuthToken.objects.filter(user=request.user, token_key=token_key)
        token = tokens.select_related("info").first()
        if token is None:
            raise Http404("No such token.")
        services.token_revoke(token=token, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserListView(generics.ListAPIView):
    """Active people (service accounts left out) with their roles, to choose whom to give a duty."""

    serializer_class = UserBriefSerializer
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return selectors.user_assignable_list().none()
        query = UserListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.user_assignable_list(q=query.validated_data.get("q", ""),
                                              role=query.validated_data.get("role", ""))

    @extend_schema(tags=["accounts"], summary="People one can assign duties to",
                   parameters=[
                       OpenApiParameter("q", OpenApiTypes.STR, description="Search username, name, e-mail."),
                       OpenApiParameter("role", OpenApiTypes.STR, enum=Role.values,
                                        description="Only people in this role."),
                   ])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
