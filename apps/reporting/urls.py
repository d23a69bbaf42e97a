from django.urls import path

from . import views

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
]
