from django.apps import AppConfig


class RolloutsConfig(AppConfig):
    name = "apps.rollouts"
    label = "rollouts"
    verbose_name = "Rollout plans and the change calendar"

    def ready(self) -> None:
        from . import gates, seed
        from .calendar import gates as calendar_gates
        from .calendar import seed as calendar_seed

        gates.register_gates()
        calendar_gates.register_gates()
        seed.register()
        calendar_seed.register()
