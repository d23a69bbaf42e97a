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
