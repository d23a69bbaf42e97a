from django.urls import path
from rest_framework.routers import SimpleRouter

from . import capacity, integrations, lifecycle, sbom, views

router = SimpleRouter()
router.register("systems", views.SystemViewSet, basename="inventory-system")
router.register("environments", views.EnvironmentViewSet, basename="inventory-environment")
router.register("components", views.ComponentViewSet, basename="inventory-component")
router.register("dependencies", views.DependencyViewSet, basename="inventory-dependency")
router.register("endpoints", views.EndpointViewSet, basename="inventory-endpoint")
router.register("imports", views.ImportJobViewSet, basename="inventory-import")
router.register("product-releases", lifecycle.ProductReleaseViewSet, basename="inventory-product-release")
router.register("capacity-records", capacity.CapacityRecordViewSet, basename="inventory-capacity")
router.register("release-requirements", capacity.ReleaseRequirementViewSet, basename="inventory-requirement")
router.register("workflows", capacity.BusinessWorkflowViewSet, basename="inventory-workflow")
router.register("integrations", integrations.IntegrationViewSet, basename="inventory-integration")

urlpatterns = [
    path("components/<int:pk>/sbom/", sbom.ComponentSbomView.as_view(), name="inventory-component-sbom"),
    *router.urls,
]
