from django.db import migrations

# The request list at 100,000 requests (PostgreSQL only, like 0005: the embedded SQLite demo does not need them).
INDEXES = {
    # Who sees a request (selectors.upgrade_visible) includes the owner teams of its systems: the request ids
    # of the items of a team's systems, read from this index alone (about 1,500 for a team of 50 systems)
    # instead of fetching every item row: 7 ms -> 0.5 ms on every list, detail and API call of a reader who
    # is not an executive, auditor or administrator.
    "upgradeitem_system_request_idx": "upgrades_upgradeitem (system_id, request_id)",
    # The list filtered by state or risk class, newest first (the mix's "?state=" and "?risk_class=" pages):
    # a page and its capped count walk the filtered index in the list's order, ids only, instead of
    # fetching every request of that state or risk class (a seq scan of 100,000 for a count).
    "upgrade_state_created_idx": "upgrades_upgraderequest (state, created_at DESC NULLS LAST, id DESC)",
    "upgrade_risk_created_idx": "upgrades_upgraderequest (risk_class, created_at DESC NULLS LAST, id DESC)",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, target in INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("upgrades", "0005_bench_indexes"),
    ]

    operations = [migrations.RunPython(create, drop)]
