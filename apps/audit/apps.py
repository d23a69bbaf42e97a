from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "apps.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import signals  # noqa: F401  (login, logout and failed-login events)
        from .triggers import register_sqlite_function

        connection_created.connect(register_sqlite_function, dispatch_uid="tollgate_audit_sqlite_function")
