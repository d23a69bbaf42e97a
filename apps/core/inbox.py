"""The inbox registry: every app registers what it waits on a person for.

A provider is a callable `provider(user) -> list[InboxItem]`. The "My work"
page and the count in the navigation show the union.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import cached_property  # noqa: F401  (kept for providers)


@dataclass(frozen=True)
class InboxItem:
    kind: str  # a short word a user reads: "Draft to finish", "Assessment to do"
    title: str
    url: str
    detail: str = ""
    due: object = None  # an aware datetime or None


_providers: dict[str, Callable] = {}


def register(name: str, provider: Callable) -> None:
    _providers[name] = provider


def items_for(user) -> list[InboxItem]:
    if not user.is_authenticated:
        return []
    items: list[InboxItem] = []
    for provider in _providers.values():
        items.extend(provider(user))
    return items


def count_for_request(request) -> int:
    """The navigation's count, on every page: the providers' ~20 queries are run again only after something
    that may change it was written (every write appends an audit event; the newest one's number that is not
    a comment, a refusal, a download or a sign-in is part of the key: audit.selectors.newest_shown_seq) or
    after TOLLGATE_INBOX_COUNT_SECONDS (default 60), for items that fall due by time alone. 0: never cached
    (the test suite's setting: query counts then do not depend on what an earlier test cached)."""
    from django.conf import settings
    from django.core.cache import cache

    from apps.audit.selectors import newest_shown_seq
    from apps.core import clock

    seconds = getattr(settings, "TOLLGATE_INBOX_COUNT_SECONDS", 0)
    if hasattr(request, "_inbox_items") or not seconds or not request.user.is_authenticated:
        return len(items_for_request(request))
    newest = newest_shown_seq()
    key = f"tollgate:inbox-count:{request.user.pk}:{newest}:{int(clock.now().timestamp() // seconds)}"
    count = cache.get(key)
    if count is None:
        count = len(items_for_request(request))
        cache.set(key, count, seconds)
    return count


def items_for_request(request) -> list[InboxItem]:
    """The signed-in person's items, computed once per request: the navigation's count and "My work" share them."""
    if not hasattr(request, "_inbox_items"):
        request._inbox_items = items_for(request.user)
    return request._inbox_items
