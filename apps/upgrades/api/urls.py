from rest_framework.routers import SimpleRouter

from .views import UpgradeRequestViewSet

router = SimpleRouter()
router.register("upgrades", UpgradeRequestViewSet, basename="upgrade")
urlpatterns = router.urls
