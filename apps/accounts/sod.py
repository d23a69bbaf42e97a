"""The segregation-of-duties policy: which two duties one person may hold on one request."""

from itertools import combinations

from .choices import Duty

D = Duty
# Default policy (DESIGN.md). Pairs not listed are allowed.
#   value True  = allowed, False = refused, a set = allowed only for those risk classes
DEFAULT_POLICY: dict[frozenset, bool | frozenset] = {
    frozenset({D.REQUESTER, D.ASSESSOR}): True,
    frozenset({D.REQUESTER, D.APPROVER}): False,
    frozenset({D.REQUESTER, D.IMPLEMENTER}): frozenset({"standard"}),
    frozenset({D.REQUESTER, D.VALIDATOR}): False,
    frozenset({D.ASSESSOR, D.APPROVER}): False,
    frozenset({D.ASSESSOR, D.IMPLEMENTER}): True,
    frozenset({D.ASSESSOR, D.VALIDATOR}): False,
    frozenset({D.APPROVER, D.IMPLEMENTER}): False,
    frozenset({D.APPROVER, D.VALIDATOR}): False,
    frozenset({D.IMPLEMENTER, D.VALIDATOR}): False,
}


def _overrides(risk_class: str) -> dict[frozenset, bool]:
    from .models import SodRule

    return {
        frozenset({r.duty_a, r.duty_b}): r.allowed for r in SodRule.objects.filter(risk_class=risk_class)
    }


def pair_allowed(duty_a: str, duty_b: str, risk_class: str, overrides: dict | None = None) -> bool:
    if duty_a == duty_b:
        return True
    key = frozenset({duty_a, duty_b})
    if overrides is None:
        overrides = _overrides(risk_class)
    if key in overrides:
        return overrides[key]
    rule = DEFAULT_POLICY.get(key, True)
    if isinstance(rule, frozenset):
        return risk_class in rule
    return rule


def conflicts(duties: set[str], new_duty: str, risk_class: str) -> list[str]:
    """Reasons why a person holding `duties` may not also take `new_duty`."""
    overrides = _overrides(risk_class)
    reasons = []
    for held in sorted(duties):
        if not pair_allowed(held, new_duty, risk_class, overrides):
            reasons.append(
                f"Segregation of duties: the {Duty(held).label.lower()} of a {risk_class} request may not "
                f"also be its {Duty(new_duty).label.lower()}."
            )
    return reasons


def violations(duties: set[str], risk_class: str) -> list[str]:
    """Reasons why a set of duties already held together breaks the policy (re-checked at action time)."""
    overrides = _overrides(risk_class)
    return [
        f"Segregation of duties: the {Duty(a).label.lower()} of a {risk_class} request may not "
        f"also be its {Duty(b).label.lower()}."
        for a, b in combinations(sorted(duties), 2)
        if not pair_allowed(a, b, risk_class, overrides)
    ]
