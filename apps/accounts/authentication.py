from knox.auth import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from apps.audit.services import audit_append


class AuditedTokenAuthentication(TokenAuthentication):
    """knox token authentication; a refused token goes on the audit trail."""

    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except AuthenticationFailed as exc:
            audit_append(action="auth.token_failed", data={"detail": str(exc.detail)})
            raise
