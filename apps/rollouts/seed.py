"""What this app adds to the demo seed: a complete rollout plan just before a request goes to the CAB.

The same hook runs in tests' drive(), so a driven request passes the plan gate. It builds only
what is missing, so a resubmit after a replan or a return reuses the plan.
"""


def seed_before_submit_to_cab(*, request, by, users) -> None:
    from .services import plan_pass

    plan_pass(request=request, by=by)


def register() -> None:
    from apps.core.seed import register_before

    register_before("submit_to_cab", seed_before_submit_to_cab)
