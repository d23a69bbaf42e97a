"""Beat schedule and seed hook of the reporting app."""


def register() -> None:
    """Registers inbox providers, beat schedules and hooks of the reporting app."""
    from apps.core.seed import register_before

    from . import services, tasks

    tasks.schedule()
    # the demo's executives subscribe to the monthly report (once, when the first request is closed)
    register_before("close", services.seed_subscription)
