from django.urls import path

from . import views

urlpatterns = [
    path("reviews/<str:reference>/", views.ReviewView.as_view(), name="review-detail"),
    path("reviews/<str:reference>/follow-ups/", views.FollowUpView.as_view(), name="review-follow-ups"),
    path("reviews/<str:reference>/backlog-import/", views.BacklogImportView.as_view(), name="review-backlog-import"),
    path("reviews/<str:reference>/readiness/", views.ReadinessView.as_view(), name="review-readiness"),
    path("reviews/<str:reference>/readiness/<int:pk>/confirm/", views.ReadinessConfirmView.as_view(),
         name="review-readiness-confirm"),
    path("reviews/<str:reference>/training/", views.TrainingView.as_view(), name="review-training"),
    path("backlog/", views.BacklogListView.as_view(), name="backlog-list"),
    path("backlog/<int:pk>/done/", views.BacklogDoneView.as_view(), name="backlog-done"),
    path("lessons/", views.LessonListView.as_view(), name="lesson-list"),
]
