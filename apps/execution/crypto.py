"""Encryption at rest for secrets kept on health checks (SQL probe passwords).

The key comes from the environment: the setting `TOLLGATE_SECRET_KEY_FIELD`, else the environment
variable `FIELD_ENCRYPTION_KEY`. Either may be a Fernet key (44 url-safe base64 characters) or any
passphrase, from which a key is derived. Without either, the key is derived from SECRET_KEY (which
settings refuse to leave at its demo value when DEBUG is off) — set FIELD_ENCRYPTION_KEY in production
so rotating SECRET_KEY does not make stored credentials unreadable.
"""

import base64
import hashlib

import environ
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_DERIVATION = "tollgate-health-check-credentials"


def _key_material() -> str:
    value = getattr(settings, "TOLLGATE_SECRET_KEY_FIELD", "") or environ.Env().str("FIELD_ENCRYPTION_KEY", default="")
    if value:
        return value
    if not settings.SECRET_KEY:
        raise ImproperlyConfigured("Set FIELD_ENCRYPTION_KEY to encrypt health-check credentials.")
    return f"{_DERIVATION}:{settings.SECRET_KEY}"


def _fernet() -> Fernet:
    material = _key_material()
    try:
        return Fernet(material.encode())
    except ValueError:
        # a passphrase, not a Fernet key: derive 32 bytes from it
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest()))


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("The stored secret cannot be decrypted with the current key.") from exc
