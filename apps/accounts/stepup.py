"""Re-authentication for signatures: a password on the form, or a short-lived step-up token in the API.

A signature (a CAB approval, a freeze-exception decision, a UAT or validation sign-off)
proves that the person re-authenticated just now. In the browser the form asks for the
password; through the API the client first posts the password to
`/api/v1/auth/step-up/` and sends the token it gets back (valid five minutes) with
the signed request. Only the SHA-256 of a token is stored.

Call `signature_verify` *before* opening the transaction of the signed write: a failure
is audited (`signature.failed`) and must survive the refusal.
"""

import datetime as dt
import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.audit.services import audit_append
from apps.core import clock

from .models import StepUpToken

VALIDITY = dt.timedelta(minutes=5)
PREFIX = "su_"
PASSWORD = "password"
STEP_UP_TOKEN = "step_up_token"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _password_ok(user, password: str) -> bool:
    if user is None or not user.is_authenticated or not user.is_active or user.is_service_account:
        return False
    if not isinstance(password, str) or not password or len(password) > 4096 or "\x00" in password:
        return False
    return user.check_password(password)


def stepup_token_create(*, user, password: str) -> tuple[str, dt.datetime]:
    """Check the password and hand out a step-up token valid for five minutes: (secret, expires_at)."""
    if not _password_ok(user, password):
        audit_append(action="signature.failed", actor=user if user and user.is_authenticated else None,
                     obj=user if user and user.is_authenticated else None,
                     data={"method": PASSWORD, "purpose": "step-up token"})
        raise ValidationError({"password": "The password is not correct."})
    secret = PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    expires_at = now + VALIDITY
    with transaction.atomic():
        # expired tokens of this user are of no further use
        StepUpToken.objects.filter(user=user, expires_at__lte=now).delete()
        StepUpToken.objects.create(user=user, digest=_digest(secret), created_at=now, expires_at=expires_at)
        audit_append(action="signature.step_up", actor=user, obj=user,
                     data={"expires_at": expires_at.isoformat()})
    return secret, expires_at


def signature_verify(*, user, password: str = "", token: str = "") -> str:
    """How `user` re-authenticated just now: "password" or "step_up_token".

    Raises ValidationError({"password": ...}) when neither proves it, and audits the failure.
    """
    if password:
        if _password_ok(user, password):
            return PASSWORD
        method, message = PASSWORD, "The password is not correct."
    elif token:
        valid = (isinstance(token, str) and len(token) < 200 and user is not None and user.is_authenticated
                 and user.is_active
                 and StepUpToken.objects.filter(user=user, digest=_digest(token),
                                                expires_at__gt=clock.now()).exists())
        if valid:
            return STEP_UP_TOKEN
        method = STEP_UP_TOKEN
        message = ("The step-up token is not valid or has expired; post your password to "
                   "/api/v1/auth/step-up/ for a new one (valid 5 minutes).")
    else:
        method = ""
        message = ("Signing needs your password (or, through the API, a step-up token from "
                   "/api/v1/auth/step-up/).")
    audit_append(action="signature.failed", actor=user if user and user.is_authenticated else None,
                 obj=user if user and user.is_authenticated else None, data={"method": method})
    raise ValidationError({"password": message})
