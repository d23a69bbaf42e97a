from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "inventory"
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="inventory:systems"), name="index"),
    path("systems/", views.system_list, name="systems"),
    path("systems/new/", views.system_create, name="system-create"),
    path("systems/<slug:slug>/", views.system_detail, name="system-detail"),
    path("systems/<slug:slug>/edit/", views.system_edit, name="system-edit"),
    path("systems/<slug:slug>/delete/", views.system_delete, name="system-delete"),
    path("environments/", views.environment_list, name="environments"),
    path("environments/new/", views.environment_create, name="environment-create"),
    path("environments/<slug:slug>/edit/", views.environment_edit, name="environment-edit"),
    path("environments/<slug:slug>/delete/", views.environment_delete, name="environment-delete"),
    path("components/", views.component_list, name="components"),
    path("components/new/", views.component_create, name="component-create"),
    path("components/<int:pk>/edit/", views.component_edit, name="component-edit"),
    path("components/<int:pk>/delete/", views.component_delete, name="component-delete"),
    path("dependencies/", views.dependency_list, name="dependencies"),
    path("dependencies/new/", views.dependency_create, name="dependency-create"),
    path("dependencies/<int:pk>/edit/", views.dependency_edit, name="dependency-edit"),
    path("dependencies/<int:pk>/delete/", views.dependency_delete, name="dependency-delete"),
    path("endpoints/", views.endpoint_list, name="endpoints"),
    path("endpoints/new/", views.endpoint_create, name="endpoint-create"),
    path("endpoints/<int:pk>/edit/", views.endpoint_edit, name="endpoint-edit"),
    path("endpoints/<int:pk>/delete/", views.endpoint_delete, name="endpoint-delete"),
    path("import/", views.import_start, name="import"),
    path("import/<int:pk>/", views.import_detail, name="import-detail"),
    path("import/<int:pk>/progress/", views.import_progress, name="import-progress"),
]
