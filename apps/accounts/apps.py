from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_role_groups(sender, using="default", **kwargs):
    """The role groups exist after every migrate and every flush (a flush empties auth_group)."""
    from django.contrib.auth.models import Group

    from .choices import Role

    for role in Role.values:
        Group.objects.using(using).get_or_create(name=role)


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts and duties"

    def ready(self) -> None:
        from apps.core import inbox

        from . import lockout, selectors  # noqa: F401  (lockout: the audited axes signal)

        inbox.register("accounts.tokens", selectors.inbox_expiring_tokens)
        post_migrate.connect(ensure_role_groups, sender=self, dispatch_uid="tollgate_role_groups")
