from django.urls import path

from . import views

app_name = "execution"
urlpatterns = [
    path("<str:reference>/execution/", views.execution_page, name="page"),
    path("<str:reference>/execution/live/", views.execution_live, name="live"),
    path("<str:reference>/execution/pre-checks/", views.precheck_view, name="precheck"),
    path("<str:reference>/execution/start/", views.start_view, name="start"),
    path("<str:reference>/execution/steps/<int:pk>/start/", views.step_start_view, name="step_start"),
    path("<str:reference>/execution/steps/<int:pk>/finish/", views.step_finish_view, name="step_finish"),
    path("<str:reference>/execution/resume/", views.resume_view, name="resume"),
    path("<str:reference>/execution/backout/", views.backout_view, name="backout"),
    path("<str:reference>/execution/hand-over/", views.hand_over_view, name="hand_over"),
    path("<str:reference>/execution/roll-back/", views.roll_back_view, name="roll_back"),
    path("<str:reference>/execution/sign/", views.sign_view, name="sign"),
    path("<str:reference>/execution/fail/", views.fail_view, name="fail"),
    path("<str:reference>/execution/incidents/", views.incident_add_view, name="incident_add"),
    path("<str:reference>/execution/incidents/<int:pk>/close/", views.incident_close_view, name="incident_close"),
]
