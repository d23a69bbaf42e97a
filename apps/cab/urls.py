from django.urls import path

from . import views

app_name = "cab"
urlpatterns = [
    path("reviews/<int:pk>/vote/", views.vote, name="vote"),
    path("reviews/<int:pk>/retrospective/", views.retrospective, name="retrospective"),
    path("retrospectives/", views.retrospectives, name="retrospectives"),
    path("requests/<str:reference>/conditions/", views.conditions, name="conditions"),
    path("conditions/<int:pk>/acknowledge/", views.condition_acknowledge, name="condition_acknowledge"),
    path("policies/", views.policy_list, name="policies"),
    path("policies/new/", views.policy_create, name="policy_create"),
    path("policies/<int:pk>/", views.policy_edit, name="policy_edit"),
    path("policies/<int:pk>/delete/", views.policy_delete, name="policy_delete"),
    path("templates/", views.template_list, name="templates"),
    path("templates/new/", views.template_create, name="template_create"),
    path("templates/<int:pk>/", views.template_detail, name="template"),
    path("templates/<int:pk>/approve/", views.template_approve, name="template_approve"),
    path("templates/<int:pk>/retire/", views.template_retire, name="template_retire"),
    path("delegations/", views.delegations, name="delegations"),
    path("delegations/<int:pk>/end/", views.delegation_end, name="delegation_end"),
]
