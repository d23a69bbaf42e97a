from django.db import migrations

from apps.core.pg_indexes import postgres_indexes

# The change calendar reads the requests whose requested window overlaps [start, end) of the month or week
# shown: without an index PostgreSQL scans all 100,000 requests of a large organisation for a month's 2,600
# (40 ms -> 1.5 ms). window_end first: the calendar mostly shows this month and the next, whose windows end
# late. PostgreSQL only (INCLUDE and a partial index), like apps/upgrades/migrations/0005_bench_indexes.py:
# the embedded SQLite demo does not need it.
INDEXES = postgres_indexes({
    "calendar_request_window_end_idx": "ON upgrades_upgraderequest (window_end, window_start) INCLUDE (reference) "
                                       "WHERE window_start IS NOT NULL AND window_end IS NOT NULL",
})


class Migration(migrations.Migration):

    dependencies = [
        ("rollouts", "0001_initial"),
        ("upgrades", "0005_bench_indexes"),
    ]

    operations = [INDEXES]
