"""Database triggers that make the audit table append-only, on PostgreSQL and SQLite.

The only DELETE the trigger lets through is the guarded retention path: inside
`purge_window()`, on PostgreSQL a transaction-local setting, on SQLite a
function Tollgate registers on its own connections (any other client of the
file lacks the function, so its DELETE fails too).
"""

import contextlib
import threading

from django.db import transaction

EVENT_TABLE = "audit_auditevent"
SETTING = "tollgate.audit_purge"
SQLITE_FUNCTION = "tollgate_audit_purge_allowed"

_guard = threading.local()


def purge_allowed() -> int:
    return 1 if getattr(_guard, "on", False) else 0


def allow_purge(on: bool) -> None:
    _guard.on = on


@contextlib.contextmanager
def purge_window(connection):
    """Inside one transaction, let the retention path delete archived audit events."""
    with transaction.atomic(using=connection.alias):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'on', true)", [SETTING])
        allow_purge(True)
        try:
            yield
        finally:
            allow_purge(False)
        if connection.vendor == "postgresql":
            # the setting is transaction-local: inside an outer transaction it would outlive this window
            # (an error above rolls the savepoint back, and the setting with it)
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'off', true)", [SETTING])


def register_sqlite_function(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_FUNCTION, 0, purge_allowed)


_PG_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION tollgate_audit_refuse() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND current_setting('{SETTING}', true) = 'on' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END
    $$ LANGUAGE plpgsql;
    """,
    f"DROP TRIGGER IF EXISTS tollgate_audit_append_only ON {EVENT_TABLE};",
    f"""
    CREATE TRIGGER tollgate_audit_append_only BEFORE UPDATE OR DELETE ON {EVENT_TABLE}
    FOR EACH ROW EXECUTE FUNCTION tollgate_audit_refuse();
    """,
]
_PG_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS tollgate_audit_append_only ON {EVENT_TABLE};",
    "DROP FUNCTION IF EXISTS tollgate_audit_refuse();",
]
_SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER IF NOT EXISTS tollgate_audit_no_update BEFORE UPDATE ON {EVENT_TABLE}
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused'); END;
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS tollgate_audit_no_delete BEFORE DELETE ON {EVENT_TABLE}
    WHEN {SQLITE_FUNCTION}() = 0
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only: DELETE refused'); END;
    """,
]
_SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS tollgate_audit_no_update;",
    "DROP TRIGGER IF EXISTS tollgate_audit_no_delete;",
]


def _run(connection, statements) -> None:
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def install(connection) -> None:
    if connection.vendor == "postgresql":
        _run(connection, _PG_INSTALL)
    elif connection.vendor == "sqlite":
        _run(connection, _SQLITE_INSTALL)
    else:
        raise NotImplementedError(f"no append-only trigger for {connection.vendor}")


def uninstall(connection) -> None:
    if connection.vendor == "postgresql":
        _run(connection, _PG_UNINSTALL)
    elif connection.vendor == "sqlite":
        _run(connection, _SQLITE_UNINSTALL)
