from django.apps import AppConfig


class ExecutionConfig(AppConfig):
    name = "apps.execution"
    label = "execution"
    verbose_name = "Execution and health checks"

    def ready(self) -> None:
        from . import health, runs

        health.register()
        runs.register()
