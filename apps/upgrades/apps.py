from django.apps import AppConfig


class UpgradesConfig(AppConfig):
    name = "apps.upgrades"
    label = "upgrades"
    verbose_name = "Upgrade requests"

    def ready(self) -> None:
        from apps.accounts import duties_registry
        from apps.core import inbox

        from . import gates, selectors

        gates.register_own_gates()
        inbox.register("upgrades.duties", selectors.inbox_duties)
        inbox.register("upgrades.cab", selectors.inbox_cab)
        duties_registry.register(selectors.open_duties)
