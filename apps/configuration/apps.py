from django.apps import AppConfig


class ConfigurationConfig(AppConfig):
    name = "apps.configuration"
    label = "configuration"
    verbose_name = "Configuration control and staging validation"

    def ready(self) -> None:
        from . import registry

        registry.register()
