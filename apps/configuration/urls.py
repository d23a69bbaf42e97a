from django.urls import path

from . import views

app_name = "configuration"
urlpatterns = [
    path("requests/<str:reference>/", views.request_detail, name="request"),
    path("requests/<str:reference>/snapshots/", views.snapshot_upload, name="request_snapshot"),
    path("requests/<str:reference>/junit/", views.junit_upload, name="junit"),
    path("requests/<str:reference>/junit/cases/<int:pk>/accept/", views.failure_accept, name="accept"),
    path("requests/<str:reference>/topology/", views.topology_add, name="topology"),
    path("requests/<str:reference>/masking/", views.masking_add, name="masking"),
    path("requests/<str:reference>/performance/", views.performance_add, name="performance"),
    path("requests/<str:reference>/signoffs/<int:workflow_id>/", views.signoff_add, name="signoff"),
    path("requests/<str:reference>/patching-order/", views.order_check, name="order_check"),
    path("systems/<slug:slug>/", views.system_detail, name="system"),
    path("systems/<slug:slug>/snapshots/", views.system_snapshot, name="system_snapshot"),
    path("snapshots/<int:pk>/", views.snapshot_detail, name="snapshot"),
    path("snapshots/<int:pk>/baseline/", views.snapshot_baseline, name="baseline"),
    path("exceptions/", views.exception_list, name="exceptions"),
    path("exceptions/new/", views.exception_add, name="exception_add"),
    path("exceptions/<int:pk>/decide/", views.exception_decide, name="exception_decide"),
]
