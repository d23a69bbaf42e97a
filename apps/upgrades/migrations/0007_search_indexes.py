from django.db import migrations, transaction

# The request search (selectors._search, PostgreSQL): the full-text match OR a substring of the reference OR of
# the title. Without indexes every search computes the text vector of all 100,000 requests (2 s for a word
# that matches nothing, 170 ms to count a common one); with them PostgreSQL ORs three bitmap index scans
# (0.2 ms and 19 ms). The vector index's expression is, to the character, what SearchVector(...,
# config="simple") in selectors._search generates: change one, change the other (a test checks they meet).
# The substring indexes need the pg_trgm extension (a trusted extension: the database owner may create it);
# where it cannot be created the search still works, only slower. SQLite (the embedded demo): nothing.
VECTOR = ("to_tsvector('simple'::regconfig, COALESCE(reference, '') || ' ' || COALESCE(title, '') || ' ' || "
          "COALESCE(justification, '') || ' ' || COALESCE(external_ref, ''))")
SEARCH = f"CREATE INDEX IF NOT EXISTS upgrade_search_idx ON upgrades_upgraderequest USING gin ({VECTOR})"
TRIGRAMS = [
    # icontains is UPPER(column::text) LIKE UPPER('%text%')
    "CREATE INDEX IF NOT EXISTS upgrade_reference_trgm_idx ON upgrades_upgraderequest "
    "USING gin (upper(reference::text) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS upgrade_title_trgm_idx ON upgrades_upgraderequest "
    "USING gin (upper(title::text) gin_trgm_ops)",
]
NAMES = ["upgrade_search_idx", "upgrade_reference_trgm_idx", "upgrade_title_trgm_idx"]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(SEARCH)
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception:  # no right to create it: search without the substring indexes
        return
    for sql in TRIGRAMS:
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in NAMES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("upgrades", "0006_list_indexes"),
    ]

    operations = [migrations.RunPython(create, drop)]
