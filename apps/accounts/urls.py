from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("password/", views.PasswordChangeView.as_view(), name="password-change"),
    path("profile/", views.profile, name="profile"),
    path("tokens/new/", views.token_create, name="token-create"),
    path("tokens/created/", views.token_created, name="token-created"),
    path("tokens/<str:token_key>/revoke/", views.token_revoke, name="token-revoke"),
    path("notifications/", views.notifications, name="notifications"),
    path("users/", views.user_list, name="user-list"),
    path("service-accounts/new/", views.service_account_create, name="service-account-create"),
    path("users/<str:username>/", views.user_detail, name="user-detail"),
    path("users/<str:username>/deactivate/", views.user_deactivate, name="user-deactivate"),
    path("users/<str:username>/reactivate/", views.user_reactivate, name="user-reactivate"),
    path("users/<str:username>/tokens/", views.user_token_create, name="user-token-create"),
    path("users/<str:username>/tokens/<str:token_key>/revoke/", views.user_token_revoke,
         name="user-token-revoke"),
]
