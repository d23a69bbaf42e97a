"""The gate registry, and the gates `apps/upgrades` owns.

A gate is `gate(request) -> list[str]`: the reasons a transition is blocked.
Each app registers its own gates in its AppConfig.ready(); the request page and
the API show the union as a checklist.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Gate:
    transition: str
    name: str
    owner: str  # the app that owns the gate
    check: Callable


_gates: dict[str, list[Gate]] = defaultdict(list)


def register(transition: str, name: str, owner: str, check: Callable) -> None:
    from .workflow import TRANSITIONS

    if transition not in TRANSITIONS:
        raise ValueError(f"unknown transition {transition}")
    if any(g.name == name for g in _gates[transition]):
        return
    _gates[transition].append(Gate(transition, name, owner, check))


def unregister(transition: str, name: str) -> None:
    """Remove a gate (an app that is switched off, or a test that registered one)."""
    _gates[transition] = [g for g in _gates.get(transition, []) if g.name != name]


def gates_for(transition: str) -> list[Gate]:
    return list(_gates.get(transition, []))


def gate_reasons(request, transition: str) -> list[str]:
    reasons: list[str] = []
    for gate in gates_for(transition):
        reasons.extend(gate.check(request))
    return reasons


# --- gates owned by apps/upgrades -------------------------------------------------


def components_and_justification(request) -> list[str]:
    reasons = []
    items = list(request.items.select_related("system"))
    if not items:
        reasons.append("Name at least one system or component that changes, with current and target version.")
    for item in items:
        if item.current_version == item.target_version:
            reasons.append(f"{item.system.name}: the target version equals the current version.")
    if not request.justification.strip():
        reasons.append("Give a justification: why this upgrade, why now.")
    return reasons


def assessor_assigned(request) -> list[str]:
    from apps.accounts.duties import duty_holders

    if not duty_holders(request)["assessor"]:
        return ["Assign an assessor on the People panel."]
    return []


def implementer_assigned(request) -> list[str]:
    from apps.accounts.duties import duty_holders

    if not duty_holders(request)["implementer"]:
        return ["Assign an implementer on the People panel."]
    return []


def validator_assigned(request) -> list[str]:
    from apps.accounts.duties import duty_holders

    if not duty_holders(request)["validator"]:
        return ["Assign a validator on the People panel."]
    return []


def requested_window_given(request) -> list[str]:
    if request.window_start is None or request.window_end is None:
        return ["Give the requested maintenance window (start and end)."]
    return []


def register_own_gates() -> None:
    register("start_assessment", "components_and_justification", "upgrades", components_and_justification)
    register("start_assessment", "assessor_assigned", "upgrades", assessor_assigned)
    register("submit_to_cab", "requested_window_given", "upgrades", requested_window_given)
    register("schedule", "implementer_assigned", "upgrades", implementer_assigned)
    register("hand_to_validation", "validator_assigned", "upgrades", validator_assigned)
