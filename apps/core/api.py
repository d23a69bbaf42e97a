"""API plumbing shared by every app: refusals become clear 400/403/404/409 answers."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    from apps.accounts.duties import DutyRefused
    from apps.upgrades.services import TransitionRefused

    if isinstance(exc, TransitionRefused):
        return Response({"detail": "Transition refused.", "transition": exc.transition, "reasons": exc.reasons},
                        status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DutyRefused):
        return Response({"detail": "Refused.", "reasons": exc.reasons}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            body = {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
        else:
            body = {"detail": exc.messages}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, PermissionDenied) and not exc.args:
        exc = PermissionDenied("You do not have permission to do this.")
    response = drf_exception_handler(exc, context)
    if response is not None and response.status_code == 403:
        from apps.audit.services import audit_append

        request = context.get("request")
        audit_append(action="api.denied", data={"path": request.path if request else "", "detail": str(exc)[:300]})
    return response
