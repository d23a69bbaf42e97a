from django.urls import include, path

from . import views

app_name = "assessments"
urlpatterns = [
    path("<str:reference>/assessment/", views.assessment_detail, name="detail"),
    path("<str:reference>/assessment/start/", views.assessment_start_view, name="start"),
    path("<str:reference>/assessment/run/", views.assessment_run_view, name="run"),
    path("<str:reference>/assessment/complete/", views.assessment_complete_view, name="complete"),
    path("<str:reference>/assessment/findings/", views.finding_add_view, name="finding_add"),
    path("<str:reference>/assessment/findings/<int:pk>/resolve/", views.finding_resolve_view, name="resolve"),
]

try:  # the checklist forms ("capacity" helper)
    from . import urls_checklists  # noqa: F401

    urlpatterns.append(path("", include("apps.assessments.urls_checklists")))
except ImportError:
    pass
