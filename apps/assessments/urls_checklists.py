"""The security and customization review forms; included in the "assessments" namespace."""

from django.urls import path

from . import views_checklists

urlpatterns = [
    path("<str:reference>/assessment/checklist/", views_checklists.checklist_page, name="checklist-page"),
    path(
        "<str:reference>/assessment/checklist/<int:pk>/answer/",
        views_checklists.checklist_answer_view,
        name="checklist-answer",
    ),
]
