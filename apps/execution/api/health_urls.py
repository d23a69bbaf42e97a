from django.urls import path

from . import health_views as views

urlpatterns = [
    path("health/checks/", views.HealthCheckList.as_view(), name="healthcheck-list"),
    path("health/checks/<int:pk>/", views.HealthCheckDetail.as_view(), name="healthcheck-detail"),
    path("health/runs/", views.CheckRunList.as_view(), name="checkrun-list"),
    path("health/runs/<int:pk>/", views.CheckRunDetail.as_view(), name="checkrun-detail"),
    path("health/runs/<int:pk>/results/", views.CheckResultList.as_view(), name="checkrun-results"),
    path("health/runs/<int:pk>/comparison/", views.CheckRunComparison.as_view(), name="checkrun-comparison"),
    path("health/baselines/<str:reference>/", views.BaselineList.as_view(), name="baseline-list"),
    path("health/allow-list/", views.AllowedTargetList.as_view(), name="allowedtarget-list"),
    path("health/allow-list/<int:pk>/", views.AllowedTargetDetail.as_view(), name="allowedtarget-detail"),
]
