from django.apps import AppConfig


class ExecutionConfig(AppConfig):
    name = "apps.execution"
    label = "execution"
    verbose_name = "Execution and health checks"

    def ready(self) -> None:
        from . import health, runs

        health.register()
        runs.register()

        from apps.upgrades import stages

        stages.register("execution", label="Execution", url_name="execution:page", order=50,
                        description="pre-checks, the live step log, health, rollback triggers, validation, incidents",
                        visible=stages.in_states("scheduled", "in_progress", "validating", "completed",
                                                 "rolled_back", "failed", "closed"))
