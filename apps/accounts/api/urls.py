from django.urls import path

from . import views

urlpatterns = [
    path("me/", views.MeView.as_view(), name="accounts-api-me"),
    path("tokens/", views.TokenListCreateView.as_view(), name="accounts-api-tokens"),
    path("tokens/<str:token_key>/", views.TokenRevokeView.as_view(), name="accounts-api-token-revoke"),
    path("users/", views.UserListView.as_view(), name="accounts-api-users"),
]
