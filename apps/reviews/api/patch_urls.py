from django.urls import path

from . import patch_views as views

urlpatterns = [
    path("patch-schedules/", views.PatchScheduleListView.as_view(), name="patch-schedules"),
    path("patch-schedules/<int:pk>/", views.PatchScheduleDetailView.as_view(), name="patch-schedule"),
    path("patch-schedules/<int:pk>/active/", views.PatchScheduleActiveView.as_view(), name="patch-schedule-active"),
    path("advisories/", views.AdvisoryListView.as_view(), name="advisories"),
    path("advisories/import/", views.AdvisoryImportView.as_view(), name="advisory-import"),
    path("advisories/<int:pk>/", views.AdvisoryDetailView.as_view(), name="advisory"),
    path("advisories/affected/<int:pk>/request/", views.AdvisoryOpenRequestView.as_view(),
         name="advisory-open-request"),
]
