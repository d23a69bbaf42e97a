from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_chain_head(sender, using="default", **kwargs):
    """The single chain-head row exists after every migrate and every flush."""
    from .models import ChainHead

    ChainHead.objects.using(using).get_or_create(pk=1, defaults={"seq": 0, "hash": "0" * 64})


class AuditConfig(AppConfig):
    name = "apps.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import signals  # noqa: F401  (login, logout and failed-login events)
        from .triggers import register_sqlite_function

        post_migrate.connect(ensure_chain_head, sender=self, dispatch_uid="tollgate_chain_head")
        connection_created.connect(register_sqlite_function, dispatch_uid="tollgate_audit_sqlite_function")
