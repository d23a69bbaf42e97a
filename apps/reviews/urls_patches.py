from django.urls import path

from . import views_patches as views

app_name = "patches"
urlpatterns = [
    path("", views.schedule_list, name="schedules"),
    path("new/", views.schedule_create, name="schedule_create"),
    path("<int:pk>/", views.schedule_detail, name="schedule"),
    path("<int:pk>/active/", views.schedule_active, name="schedule_active"),
    path("advisories/", views.advisory_list, name="advisories"),
    path("advisories/import/", views.advisory_import, name="advisory_import"),
    path("advisories/record/", views.advisory_record, name="advisory_record"),
    path("advisories/<int:pk>/", views.advisory_detail, name="advisory"),
    path("advisories/affected/<int:pk>/request/", views.advisory_open_request, name="advisory_open_request"),
]
