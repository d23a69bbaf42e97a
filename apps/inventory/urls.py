from django.urls import path
from django.views.generic import RedirectView

from . import views
from .views import capacity as capacity_views
from .views import integrations as integration_views
from .views import lifecycle as lifecycle_views
from .views import sbom as sbom_views

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
    path("capacity/", capacity_views.capacity_list, name="capacity"),
    path("capacity/new/", capacity_views.capacity_create, name="capacity-create"),
    path("capacity/<int:pk>/edit/", capacity_views.capacity_edit, name="capacity-edit"),
    path("capacity/<int:pk>/delete/", capacity_views.capacity_delete, name="capacity-delete"),
    path("requirements/", capacity_views.requirement_list, name="requirements"),
    path("requirements/new/", capacity_views.requirement_create, name="requirement-create"),
    path("requirements/<int:pk>/edit/", capacity_views.requirement_edit, name="requirement-edit"),
    path("requirements/<int:pk>/delete/", capacity_views.requirement_delete, name="requirement-delete"),
    path("workflows/", capacity_views.workflow_list, name="workflows"),
    path("workflows/new/", capacity_views.workflow_create, name="workflow-create"),
    path("workflows/<int:pk>/edit/", capacity_views.workflow_edit, name="workflow-edit"),
    path("workflows/<int:pk>/delete/", capacity_views.workflow_delete, name="workflow-delete"),
    path("systems/<slug:slug>/workflows/", capacity_views.system_workflows, name="system-workflows"),
    path("integrations/", integration_views.integration_list, name="integrations"),
    path("integrations/new/", integration_views.integration_create, name="integration-create"),
    path("integrations/<int:pk>/edit/", integration_views.integration_edit, name="integration-edit"),
    path("integrations/<int:pk>/delete/", integration_views.integration_delete, name="integration-delete"),
    path(
        "systems/<slug:slug>/integrations/", integration_views.system_integrations, name="system-integrations"
    ),
    path("components/<int:pk>/sbom/", sbom_views.sbom_detail, name="component-sbom"),
    path("sbom-jobs/<int:pk>/", sbom_views.sbom_job, name="sbom-job"),
    path("sbom-jobs/<int:pk>/progress/", sbom_views.sbom_job_progress, name="sbom-job-progress"),
    path("lifecycle/", lifecycle_views.lifecycle_list, name="lifecycle"),
]
