import datetime as dt

from django.urls import reverse
from knox.models import AuthToken

from apps.core import clock
from apps.core.inbox import InboxItem


def inbox_expiring_tokens(user) -> list[InboxItem]:
    """Tokens that expire within 14 days: renew them before automation breaks."""
    soon = clock.now() + dt.timedelta(days=14)
    tokens = AuthToken.objects.filter(user=user, expiry__isnull=False, expiry__lte=soon, expiry__gt=clock.now())
    return [
        InboxItem(kind="Token expiring", title=f"API token {t.token_key}…", url=reverse("accounts:profile"),
                  due=t.expiry)
        for t in tokens.select_related("info")
    ]


# --- pages and API share these reads -----------------------------------------------------------


def _search_users(qs, q: str):
    from django.db.models import Q

    # a NUL byte would end the pattern early on SQLite (matching everyone) and is refused by PostgreSQL
    for term in (q or "").replace("\x00", "").split()[:5]:
        qs = qs.filter(
            Q(username__icontains=term) | Q(first_name__icontains=term) | Q(last_name__icontains=term)
            | Q(email__icontains=term)
        )
    return qs


def user_list(*, q: str = "", role: str = ""):
    """Every account for the admin's user list, with roles and teams in two extra queries."""
    from .models import User

    qs = User.objects.prefetch_related("groups", "teams").order_by("username")
    qs = _search_users(qs, q[:200])
    if role:
        qs = qs.filter(groups__name=role)
    return qs


def user_assignable_list(*, q: str = "", role: str = ""):
    """Active people (not service accounts) one can give a duty to."""
    return user_list(q=q, role=role).filter(is_active=True, is_service_account=False)


def user_get(username: str):
    from django.shortcuts import get_object_or_404

    from .models import User

    return get_object_or_404(User.objects.prefetch_related("groups", "teams"), username=username)


def token_list(*, user):
    """A person's API tokens (newest first) with their names; the secrets are never kept."""
    return AuthToken.objects.filter(user=user).select_related("info").order_by("-created")


def token_is_expired(token) -> bool:
    return token.expiry is not None and token.expiry <= clock.now()


def token_name(token) -> str:
    from django.core.exceptions import ObjectDoesNotExist

    try:
        return token.info.name
    except ObjectDoesNotExist:
        return ""


def notification_list(*, user):
    """Own notifications, unread first, newest first within each."""
    from django.db.models import F

    from .models import Notification

    return Notification.objects.filter(user=user).order_by(F("read_at").asc(nulls_first=True), "-created_at")
