"""Governed apps register how to find a person's open duties (for deactivation and My work)."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class OpenDuty:
    obj: object
    duty: str
    url: str


_sources: list[Callable] = []


def register(source: Callable) -> None:
    if source not in _sources:
        _sources.append(source)


def open_duties(user) -> list[OpenDuty]:
    found: list[OpenDuty] = []
    for source in _sources:
        found.extend(source(user))
    return found
