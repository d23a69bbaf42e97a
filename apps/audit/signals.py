"""Sign-ins, failed sign-ins and sign-outs go on the audit trail (infrastructure signals)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from apps.core.middleware import client_ip

from .services import audit_append


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    audit_append(action="auth.login", actor=user, obj=user, ip=client_ip(request) or "")


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit_append(action="auth.logout", actor=user, obj=user, ip=client_ip(request) or "")


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    audit_append(
        action="auth.login_failed",
        object_type="accounts.user",
        object_repr=username,
        data={"username": username},
        ip=client_ip(request) or "",
    )
