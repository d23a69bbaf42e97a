from rest_framework.routers import SimpleRouter

from .retention_views import LegalHoldViewSet, RetentionPolicyViewSet
from .views import AuditEventViewSet

router = SimpleRouter()
router.register("audit-events", AuditEventViewSet, basename="audit-event")
router.register("audit/retention-policies", RetentionPolicyViewSet, basename="retention-policy")
router.register("audit/legal-holds", LegalHoldViewSet, basename="legal-hold")

urlpatterns = router.urls
