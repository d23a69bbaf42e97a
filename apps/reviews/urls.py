from django.urls import path

from . import views

app_name = "reviews"
urlpatterns = [
    path("requests/<str:reference>/", views.request_review, name="request"),
    path("requests/<str:reference>/review/", views.review_save_view, name="save"),
    path("requests/<str:reference>/follow-ups/", views.followup_add_view, name="followup_add"),
    path("requests/<str:reference>/backlog-import/", views.backlog_import_view, name="backlog_import"),
    path("requests/<str:reference>/readiness/", views.readiness_add_view, name="readiness_add"),
    path("requests/<str:reference>/readiness/<int:pk>/confirm/", views.readiness_confirm_view,
         name="readiness_confirm"),
    path("requests/<str:reference>/training/", views.training_add_view, name="training_add"),
    path("backlog/", views.backlog_list, name="backlog"),
    path("backlog/<int:pk>/done/", views.backlog_done_view, name="backlog_done"),
    path("lessons/", views.lesson_search, name="lessons"),
]
