from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_chain_head(sender, using="default", **kwargs):
    """The single chain-head row exists after every migrate and every flush."""
    from .models import ChainHead

    ChainHead.objects.using(using).get_or_create(pk=1, defaults={"seq": 0, "hash": "0" * 64})


def ensure_triggers(sender, using="default", **kwargs):
    """The append-only triggers exist after every migrate, also when the tables were made without migrations
    (``--no-migrations`` test runs); installing is idempotent."""
    from django.db import connections

    from . import triggers

    connection = connections[using]
    if triggers.EVENT_TABLE in connection.introspection.table_names():
        triggers.install(connection)


class AuditConfig(AppConfig):
    name = "apps.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import signals  # noqa: F401  (login, logout and failed-login events)
        from . import tasks
        from .retention_kinds import register_default_kinds
        from .triggers import register_sqlite_function

        register_default_kinds()
        tasks.schedule()
        post_migrate.connect(ensure_chain_head, sender=self, dispatch_uid="tollgate_chain_head")
        post_migrate.connect(ensure_triggers, sender=self, dispatch_uid="tollgate_audit_triggers")
        connection_created.connect(register_sqlite_function, dispatch_uid="tollgate_audit_sqlite_function")
