from django.urls import path

from . import views

urlpatterns = [
    path("reports/kpis/", views.KpiView.as_view(), name="api-kpis"),
    path("reports/kpis/<slug:kpi>/", views.KpiRowsView.as_view(), name="api-kpi-rows"),
    path("reports/", views.ReportListView.as_view(), name="api-reports"),
    path("reports/<int:pk>/", views.ReportDetailView.as_view(), name="api-report"),
    path("reports/<int:pk>/<str:kind>/", views.ReportDownloadView.as_view(), name="api-report-download"),
]
