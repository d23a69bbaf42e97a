from django.urls import path

from . import views_health as views

app_name = "health"
urlpatterns = [
    path("", views.checks, name="checks"),
    path("new/", views.check_create, name="check-create"),
    path("<int:pk>/", views.check_detail, name="check"),
    path("<int:pk>/edit/", views.check_edit, name="check-edit"),
    path("runs/", views.runs, name="runs"),
    path("runs/new/", views.run_create, name="run-create"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run-progress"),
    path("allow-list/", views.allowlist, name="allowlist"),
    path("allow-list/<int:pk>/remove/", views.allowlist_remove, name="allowlist-remove"),
    path("estate/", views.estate_page, name="estate"),
]
