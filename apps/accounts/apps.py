from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts and duties"

    def ready(self) -> None:
        from apps.core import inbox

        from . import selectors

        inbox.register("accounts.tokens", selectors.inbox_expiring_tokens)
