"""Sign-in throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username from one
address, that pair is locked out for AXES_COOLOFF_TIME, even with the right password.

Signatures (a CAB vote, a sign-off) re-check the password with `check_password`, not `authenticate`:
they are not sign-ins and are never counted here; the step-up endpoint has its own API throttle.
An administrator lifts a lockout in the admin (Axes › Access attempts) or with
`manage.py axes_reset_username <username>`.
"""

from axes.backends import AxesStandaloneBackend
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import render
from rest_framework.throttling import UserRateThrottle

from apps.audit.services import audit_append
from apps.core.middleware import client_ip


def cool_off_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def lockout_message() -> str:
    return (f"Too many failed sign-ins for this account from your address: signing in is locked for "
            f"{cool_off_minutes()} minutes. Wait, or ask an administrator to lift the lock.")


class ThrottledBackend(AxesStandaloneBackend):
    """Axes' check before the password backends. A call without a web request (a shell, a management
    command) has no address to throttle by and is passed on unthrottled instead of refused."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(request, original_response=None, credentials=None):
    """The sign-in page again, saying it is locked and for how long (429); JSON for API clients."""
    message = lockout_message()
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"detail": message, "cool_off_minutes": cool_off_minutes()}, status=429)
    username = (credentials or {}).get("username", "") if isinstance(credentials, dict) else ""
    form = AuthenticationForm(request, initial={"username": username})
    return render(request, "registration/login.html", {"form": form, "locked_out": message,
                                                       "next": request.POST.get("next", "")}, status=429)


@receiver(user_locked_out)
def _audit_lockout(sender, request=None, username=None, ip_address=None, **kwargs):
    username = str(username or "")[:150]
    audit_append(action="auth.locked_out", object_type="accounts.user", object_repr=username,
                 data={"username": username, "cool_off_minutes": cool_off_minutes()},
                 ip=ip_address or client_ip(request) or "")


class StepUpThrottle(UserRateThrottle):
    """Password guesses through POST /api/v1/auth/step-up/ (a signed-in account re-authenticating) are
    limited per account (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["step_up"], 10 a minute)."""

    scope = "step_up"
