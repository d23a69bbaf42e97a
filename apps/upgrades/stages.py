"""The request page's "Plan, approval and execution" links, registered by the apps that own each stage.

upgrades is a lower layer than rollouts, cab, execution or reporting: it cannot name their pages or
ask their permission checks, so each app registers its page here from its AppConfig.ready(), like it
registers gates and effects.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class Stage:
    name: str
    label: str
    url_name: str
    description: str
    order: int
    visible: Callable  # visible(user, request) -> bool


_stages: dict[str, Stage] = {}


def register(name: str, *, label: str, url_name: str, description: str, order: int,
             visible: Callable | None = None) -> None:
    _stages[name] = Stage(name, label, url_name, description, order, visible or (lambda user, request: True))


def links_for(user, request) -> list[dict]:
    """The stage pages this user may open for this request, in the order of the journey."""
    links = []
    for stage in sorted(_stages.values(), key=lambda s: (s.order, s.name)):
        if not stage.visible(user, request):
            continue
        try:
            url = reverse(stage.url_name, args=[request.reference])
        except NoReverseMatch:
            continue
        links.append({"label": stage.label, "url": url, "description": stage.description})
    return links


def in_states(*states: str) -> Callable:
    return lambda user, request: request.state in states
