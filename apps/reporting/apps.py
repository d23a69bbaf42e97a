from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "apps.reporting"
    label = "reporting"
    verbose_name = "KPIs and reports"

    def ready(self) -> None:
        from . import registry

        registry.register()

        from apps.upgrades import stages

        from .evidence import evidence_allowed

        stages.register("evidence", label="Evidence pack", url_name="reporting:evidence", order=90,
                        description="every decision, signature, log and audit event of this request in one "
                                    "verifiable zip",
                        visible=evidence_allowed)
