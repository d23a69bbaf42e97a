from django.urls import path

from . import run_views as v

urlpatterns = [
    path("execution-runs/", v.RunListView.as_view(), name="execution-run-list"),
    path("upgrades/<str:reference>/execution/", v.RunView.as_view(), name="execution-run"),
    path("upgrades/<str:reference>/execution/start-check/", v.StartCheckView.as_view(), name="execution-start-check"),
    path("upgrades/<str:reference>/execution/pre-checks/", v.PrecheckView.as_view(), name="execution-precheck"),
    path("upgrades/<str:reference>/execution/events/", v.EventListView.as_view(), name="execution-events"),
    path("upgrades/<str:reference>/execution/steps/<int:step_id>/start/", v.StepStartView.as_view(),
         name="execution-step-start"),
    path("upgrades/<str:reference>/execution/steps/<int:step_id>/finish/", v.StepFinishView.as_view(),
         name="execution-step-finish"),
    path("upgrades/<str:reference>/execution/backout/", v.BackoutView.as_view(), name="execution-backout"),
    path("upgrades/<str:reference>/execution/resume/", v.ResumeView.as_view(), name="execution-resume"),
    path("upgrades/<str:reference>/execution/sign/", v.SignView.as_view(), name="execution-sign"),
    path("upgrades/<str:reference>/incidents/", v.RequestIncidentsView.as_view(), name="request-incidents"),
    path("incidents/", v.IncidentListView.as_view(), name="incident-list"),
    path("incidents/<int:pk>/", v.IncidentDetailView.as_view(), name="incident-detail"),
]
