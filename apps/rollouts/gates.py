"""The gate this app owns on `submit_to_cab`, and the effect that freezes the plan version.

One gate, `rollout_plan_complete`, lists exactly what is still missing: strategy (with a
justification when it is not the recommended one), a window for every wave, rollback
triggers, a backout runbook linked to a roll-back trigger, a valid runbook DAG that fits
the windows and respects the inventory's start order, a fallback for every integration,
and the data migration scope. (Freeze overlaps and open conflicts: apps/rollouts/calendar.)
"""


def rollout_plan_complete(request) -> list[str]:
    from .selectors import gate_reasons, plan_analysis

    return gate_reasons(plan_analysis(request))


def register_gates() -> None:
    from apps.upgrades import effects, gates

    from .services import freeze_effect

    gates.register("submit_to_cab", "rollout_plan_complete", "rollouts", rollout_plan_complete)
    effects.register("submit_to_cab", "rollouts.plan_freeze", "rollouts", freeze_effect)
