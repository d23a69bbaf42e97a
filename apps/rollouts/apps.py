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

        from apps.upgrades import stages

        stages.register("plan", label="Rollout plan", url_name="rollouts:plan", order=10,
                        description="strategy, waves and windows, runbook, rollback triggers, backout, plan versions")
        stages.register("schedule", label="Schedule checks", url_name="calendar:request", order=20,
                        description="conflicts with other changes, freezes and freeze exceptions")
