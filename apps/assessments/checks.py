"""The registry of computed readiness checks.

A check is `check(request) -> list[FindingSpec]`. Each spec has a stable `key`
so a re-run can tell which findings are new, gone or changed. Checks are
registered in AppConfig.ready() of the module that owns them.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FindingSpec:
    key: str
    category: str
    severity: str
    title: str
    evidence: str = ""
    system_id: int | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)


_checks: dict[str, Callable] = {}


def register(name: str, check: Callable) -> None:
    _checks[name] = check


def registered() -> dict[str, Callable]:
    return dict(_checks)


def run_all(request) -> list[FindingSpec]:
    specs: list[FindingSpec] = []
    for check in _checks.values():
        specs.extend(check(request))
    return specs
