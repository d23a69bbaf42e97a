from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("systems", views.SystemViewSet, basename="inventory-system")
router.register("environments", views.EnvironmentViewSet, basename="inventory-environment")
router.register("components", views.ComponentViewSet, basename="inventory-component")
router.register("dependencies", views.DependencyViewSet, basename="inventory-dependency")
router.register("endpoints", views.EndpointViewSet, basename="inventory-endpoint")
router.register("imports", views.ImportJobViewSet, basename="inventory-import")

urlpatterns = router.urls
