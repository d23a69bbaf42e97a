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
