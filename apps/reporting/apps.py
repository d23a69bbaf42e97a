from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "apps.reporting"
    label = "reporting"
    verbose_name = "KPIs and reports"

    def ready(self) -> None:
        from . import registry

        registry.register()
