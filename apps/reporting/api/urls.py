from django.urls import path

from .. import evidence_api
from . import views

urlpatterns = [
    path("reports/kpis/", views.KpiView.as_view(), name="api-kpis"),
    path("reports/kpis/<slug:kpi>/", views.KpiRowsView.as_view(), name="api-kpi-rows"),
    path("reports/", views.ReportListView.as_view(), name="api-reports"),
    path("reports/<int:pk>/", views.ReportDetailView.as_view(), name="api-report"),
    path("reports/<int:pk>/<str:kind>/", views.ReportDownloadView.as_view(), name="api-report-download"),
    path("reports/evidence/<str:reference>/", evidence_api.EvidencePackListView.as_view(),
         name="api-evidence-packs"),
    path("reports/evidence/<str:reference>/<int:pk>/", evidence_api.EvidencePackDetailView.as_view(),
         name="api-evidence-pack"),
    path("reports/evidence/<str:reference>/<int:pk>/download/",
         evidence_api.EvidencePackDownloadView.as_view(), name="api-evidence-pack-download"),
]
