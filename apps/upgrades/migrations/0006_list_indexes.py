from django.db import migrations

from apps.core.pg_indexes import postgres_indexes

# The request list at 100,000 requests (PostgreSQL only, like 0005: the embedded SQLite demo does not need them).
INDEXES = {
    # Who sees a request (selectors.upgrade_visible) includes the owner teams of its systems: the request ids
    # of the items of a team's systems, read from this index alone (about 1,500 for a team of 50 systems)
    # instead of fetching every item row: 7 ms -> 0.5 ms on every list, detail and API call of a reader who
    # is not an executive, auditor or administrator.
    "upgradeitem_system_request_idx": "ON upgrades_upgradeitem (system_id, request_id)",
    # The list filtered by state or risk class, newest first (the mix's "?state=" and "?risk_class=" pages):
    # a page and its capped count walk the filtered index in the list's order, ids only, instead of
    # fetching every request of that state or risk class (a seq scan of 100,000 for a count).
    "upgrade_state_created_idx": "ON upgrades_upgraderequest (state, created_at DESC NULLS LAST, id DESC)",
    "upgrade_risk_created_idx": "ON upgrades_upgraderequest (risk_class, created_at DESC NULLS LAST, id DESC)",
}


class Migration(migrations.Migration):

    dependencies = [
        ("upgrades", "0005_bench_indexes"),
    ]

    operations = [postgres_indexes(INDEXES)]
