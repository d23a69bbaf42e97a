"""Filled in by the app."""


def register() -> None:
    """Registers gates, effects, inbox providers, beat schedules and seed hooks of the app."""
    from apps.core import inbox
    from apps.core.seed import register_before
    from apps.upgrades import effects

    from . import gates, inboxes, services, tasks

    gates.register_gates()
    effects.register("submit_to_cab", "configuration_patching_order", "configuration",
                     services.effect_submit_to_cab)
    inbox.register("configuration.signoffs", inboxes.signoffs_waiting)
    inbox.register("configuration.exceptions", inboxes.exceptions_to_decide)
    register_before("submit_to_cab", services.seed_before_submit_to_cab)
    register_before("start", services.seed_before_start)
    tasks.schedule()
