from django.apps import AppConfig


class ConfigurationConfig(AppConfig):
    name = "apps.configuration"
    label = "configuration"
    verbose_name = "Configuration control and staging validation"

    def ready(self) -> None:
        from . import registry

        registry.register()

        from apps.upgrades import stages

        stages.register("configuration", label="Configuration & staging", url_name="configuration:request",
                        order=30, description="snapshots, drift, test results, UAT sign-off")
