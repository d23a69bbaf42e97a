from django.db import migrations

# The audit log's filters read the newest matching events first: with these an action or an actor filter
# reads its page (and counts up to the page's cap) from one index range, instead of walking the whole
# trail newest-first until enough events match (a rare actor: the whole million events).
# PostgreSQL only, like apps/upgrades/migrations/0005_bench_indexes.py: the actor index is on the
# expression the `iexact` lookup compiles to there, and the embedded SQLite demo needs neither.
INDEXES = {
    "audit_action_seq_idx": "ON audit_auditevent (action, seq)",
    "audit_actor_upper_seq_idx": "ON audit_auditevent (UPPER(actor_username::text), seq)",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, definition in INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} {definition}")
        schema_editor.execute("ANALYZE audit_auditevent")  # the planner's statistics for the new expression


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0003_retention_and_legal_holds"),
    ]

    operations = [migrations.RunPython(create, drop)]
