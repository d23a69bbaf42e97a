"""Indexes only PostgreSQL gets, as one migration operation.

Some indexes of the large-organisation work use what SQLite (the embedded demo) cannot build or does not need:
NULLS LAST, INCLUDE, partial and expression indexes. `postgres_indexes({name: "ON table (...)"})` creates them
(IF NOT EXISTS) on PostgreSQL, drops them on the way back, and does nothing elsewhere.
"""

from django.db import migrations


def postgres_indexes(indexes: dict[str, str], *, analyze: str = "") -> migrations.RunPython:
    """`indexes`: name -> definition after the name ("ON table (columns)"); `analyze`: a table whose planner
    statistics must know the new expressions at once."""

    def create(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, definition in indexes.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} {definition}")
        if analyze:
            schema_editor.execute(f"ANALYZE {analyze}")

    def drop(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for name in indexes:
                schema_editor.execute(f"DROP INDEX IF EXISTS {name}")

    return migrations.RunPython(create, drop)
