from django.urls import path

from . import views, views_retention

app_name = "audit"
urlpatterns = [
    path("", views.event_list, name="list"),
    path("events/<int:seq>/", views.event_detail, name="detail"),
    path("checkpoint/", views.checkpoint, name="checkpoint"),
    path("retention/", views_retention.policies, name="retention_policies"),
    path("retention/policies/<int:pk>/delete/", views_retention.policy_delete,
         name="retention_policy_delete"),
    path("retention/holds/", views_retention.holds, name="retention_holds"),
    path("retention/holds/<int:pk>/lift/", views_retention.hold_lift, name="retention_hold_lift"),
    path("retention/dry-run/", views_retention.dry_run, name="retention_dry_run"),
]
