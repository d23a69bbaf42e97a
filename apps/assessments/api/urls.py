from django.urls import path

from . import views

urlpatterns = [
    path("assessments/<str:reference>/", views.AssessmentView.as_view(), name="assessment-detail"),
    path("assessments/<str:reference>/run/", views.AssessmentRunView.as_view(), name="assessment-run"),
    path("assessments/<str:reference>/complete/", views.AssessmentCompleteView.as_view(),
         name="assessment-complete"),
    path("assessments/<str:reference>/findings/", views.FindingListView.as_view(),
         name="assessment-findings"),
    path("findings/<int:pk>/resolve/", views.FindingResolveView.as_view(), name="finding-resolve"),
]
