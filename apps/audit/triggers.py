"""Database triggers that make the audit table append-only, on PostgreSQL and SQLite."""

EVENT_TABLE = "audit_auditevent"
GUARD_TABLE = "audit_purgeguard"

_PG_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION tollgate_audit_refuse() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM {GUARD_TABLE} WHERE until_seq >= OLD.seq) THEN
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
    WHEN NOT EXISTS (SELECT 1 FROM {GUARD_TABLE} WHERE until_seq >= OLD.seq)
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
