from django.urls import path

from . import evidence_views, views

app_name = "reporting"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("kpi/<slug:kpi>/", views.kpi_list, name="kpi"),
    path("export/<slug:table>.csv", views.export, name="export"),
    path("reports/", views.report_list, name="reports"),
    path("reports/request/", views.report_request, name="report-request"),
    path("reports/<int:pk>/", views.report_detail, name="report"),
    path("reports/<int:pk>/status/", views.report_status, name="report-status"),
    path("reports/<int:pk>/<str:kind>/", views.report_download, name="report-download"),
    path("subscriptions/", views.subscriptions, name="subscriptions"),
    path("subscriptions/<int:pk>/cancel/", views.subscription_cancel, name="subscription-cancel"),
    path("evidence/<str:reference>/", evidence_views.evidence_page, name="evidence"),
    path("evidence/<str:reference>/request/", evidence_views.evidence_request, name="evidence-request"),
    path("evidence/<str:reference>/<int:pk>/status/", evidence_views.evidence_status, name="evidence-status"),
    path("evidence/<str:reference>/<int:pk>/download/", evidence_views.evidence_download,
         name="evidence-download"),
]
