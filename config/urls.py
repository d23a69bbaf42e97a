from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.conf import settings
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.accounts import views as accounts_views
from apps.core import views as core_views

api_v1 = [
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.inventory.api.urls")),
    path("", include("apps.upgrades.api.urls")),
    path("", include("apps.assessments.api.urls")),
    path("", include("apps.audit.api.urls")),
    path("", include("apps.rollouts.api.urls")),
    path("", include("apps.rollouts.api.calendar_urls")),
    path("", include("apps.cab.api.urls")),
    path("", include("apps.cab.api.board_urls")),
    path("", include("apps.execution.api.run_urls")),
    path("", include("apps.execution.api.health_urls")),
    path("", include("apps.configuration.api.urls")),
    path("", include("apps.reviews.api.urls")),
    path("", include("apps.reviews.api.patch_urls")),
    path("", include("apps.reporting.api.urls")),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("favicon.ico", RedirectView.as_view(url=f"{settings.STATIC_URL}favicon.svg", permanent=True)),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("", include("apps.core.urls")),
    # the stock password change would skip the audit trail: ours answers at its address too
    path("accounts/password_change/", accounts_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("inventory/", include("apps.inventory.urls")),
    path("upgrades/", include("apps.upgrades.urls")),
    path("upgrades/", include("apps.assessments.urls")),
    path("upgrades/", include("apps.rollouts.urls")),
    path("upgrades/", include("apps.execution.urls")),
    path("calendar/", include("apps.rollouts.calendar.urls")),
    path("cab/", include("apps.cab.urls")),
    path("cab/", include("apps.cab.urls_board")),
    path("health/", include("apps.execution.urls_health")),
    path("reports/", include("apps.reporting.urls")),
    path("configuration/", include("apps.configuration.urls")),
    path("reviews/", include("apps.reviews.urls")),
    path("patches/", include("apps.reviews.urls_patches")),
    path("audit/", include("apps.audit.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("django-admin/", admin.site.urls),
]

handler403 = "apps.core.views.permission_denied"
handler404 = "apps.core.views.not_found"
handler500 = "apps.core.views.server_error"
