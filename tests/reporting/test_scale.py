"""What makes the KPIs fast at scale computes the same numbers: the outage spans grouped in the database, the
card counts from one pass, the per-upgrade CSV written per column, the timestamp reader, and the dashboard's
cache, which is scoped per visibility and recounted when the data changes."""

import csv
import datetime as dt
import io
import re
from collections import defaultdict

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import clock
from apps.reporting.kpis import KPI_LIST, Data, Period, fast_timestamps
from apps.reporting.services import UPGRADE_COLUMNS, _cell, csv_bytes, upgrades_csv

from tests.conftest import client_for

from .conftest import OCTOBER, at, make_upgrade

OCT = Period(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31))
QUERY = f"start={OCTOBER['start']}&end={OCTOBER['end']}"

pytestmark = pytest.mark.django_db


def python_planned_minutes(request_ids) -> dict:
    """The outage minutes counted straight from the step log, event by event (the definition)."""
    from apps.execution.models import StepEvent

    slots = defaultdict(dict)
    for e in (StepEvent.objects.filter(run__request__in=request_ids, step__is_outage=True)
              .order_by("at", "pk").select_related("run")):
        slot = slots[e.run.request_id].setdefault((e.run_id, e.step_id), {})
        if e.kind == "started":
            slot.setdefault("started", e.at)
        else:
            slot["finished"] = e.at
    return {rid: round(sum((s["finished"] - s["started"]).total_seconds() / 60 for s in steps.values()
                           if "started" in s and "finished" in s and s["finished"] > s["started"]))
            for rid, steps in slots.items()}


def test_planned_downtime_grouped_in_the_database_equals_the_step_by_step_count(generated, executive):
    data = Data(executive, OCT)
    expected = python_planned_minutes([r["id"] for r in data.ended])
    assert sum(expected.values()) > 0
    assert {r["id"]: r["planned_minutes"] for r in data.ended} == {
        r["id"]: expected.get(r["id"], 0) for r in data.ended}
    assert data.figures["planned_downtime_minutes"] == sum(expected.values())


def test_every_card_count_is_the_length_of_its_list(generated, executive, requester):
    for user in (executive, requester):
        data = Data(user, OCT)
        for kpi in KPI_LIST:
            assert data.count(kpi.key) == len(data.rows(kpi.key)), (user.username, kpi.key)


def test_the_upgrades_csv_equals_the_cell_by_cell_formatting(generated, executive, requester, component_a):
    make_upgrade(requester, component_a, ref="UPG-2026-0999", title="=HYPERLINK(\"http://x\")",
                 outcome="failed", created=at(3), finished=at(4))
    data = Data(executive, OCT)
    expected = csv_bytes([label for _, label in UPGRADE_COLUMNS],
                         [[_cell(k, r.get(k)) for k, _ in UPGRADE_COLUMNS] for r in data.ended])
    assert upgrades_csv(data) == expected
    rows = list(csv.reader(io.StringIO(expected.decode("utf-8-sig"))))
    assert len(rows) == len(data.ended) + 1 and any(row[1].startswith("'=") for row in rows)


def test_the_fast_timestamp_reader_reads_the_same_values(october):
    from apps.upgrades.models import UpgradeRequest

    UpgradeRequest.objects.filter(reference="UPG-2026-0901").update(
        created_at=dt.datetime(2026, 9, 1, 3, 4, 5, 123400, tzinfo=dt.UTC))
    columns = ("created_at", "submitted_at", "decided_at", "finished_at", "window_start")
    plain = list(UpgradeRequest.objects.order_by("pk").values_list(*columns))
    with fast_timestamps():
        fast = list(UpgradeRequest.objects.order_by("pk").values_list(*columns))
    assert fast == plain
    assert [type(v) for row in fast for v in row] == [type(v) for row in plain for v in row]
    assert {v.tzinfo for row in fast for v in row if v} == {v.tzinfo for row in plain for v in row if v}
    assert dt.datetime(2026, 9, 1, 3, 4, 5, 123400, tzinfo=dt.UTC) in [row[0] for row in fast]
    if connection.vendor == "postgresql":  # Django's own loader is back afterwards, also after an error
        adapters = connection.connection.adapters
        oid = adapters.types["timestamptz"].oid
        before = adapters.get_loader(oid, 0)

        def cursor_loader():
            with connection.cursor() as cursor:
                return cursor.cursor.adapters.get_loader(oid, 0)

        with pytest.raises(ZeroDivisionError), fast_timestamps():
            assert cursor_loader() is not before
            1 / 0
        assert adapters.get_loader(oid, 0) is before and cursor_loader() is before
        assert "create_cursor" not in connection.__dict__


def ended_on_page(client) -> tuple[int, str]:
    html = client.get(f"/reports/?{QUERY}").content.decode()
    as_of = re.search(r'id="figures-as-of">Figures as of ([^<]+) UTC', html).group(1)
    return int(re.search(r"Upgrades ended in the period: <strong>(\d+)</strong>", html).group(1)), as_of


def test_the_dashboard_cache_is_scoped_per_visibility(october, executive, auditor, requester, outsider):
    from django.test import Client

    first = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
    with clock.frozen(first):
        assert ended_on_page(client_for(Client(), executive)) == (7, "28 Nov 2026 09:00:00")
    later = first + dt.timedelta(minutes=2)
    with clock.frozen(later):
        # team A and team B's change managers count their own requests, not the cached figures of all
        assert ended_on_page(client_for(Client(), requester)) == (5, "28 Nov 2026 09:02:00")
        assert ended_on_page(client_for(Client(), outsider)) == (2, "28 Nov 2026 09:02:00")
        # whoever sees every request shares the executive's count, from the cache (no KPI query)
        auditor_client = client_for(Client(), auditor)
        with CaptureQueriesContext(connection) as queries:
            assert ended_on_page(auditor_client) == (7, "28 Nov 2026 09:00:00")
        assert not any("execution_stepevent" in q["sql"] and "GROUP BY" in q["sql"]
                       for q in queries.captured_queries)
        assert ended_on_page(client_for(Client(), requester)) == (5, "28 Nov 2026 09:02:00")


def test_the_dashboard_recounts_as_soon_as_the_data_changes(october, executive, requester, component_a):
    from django.test import Client

    page = client_for(Client(), executive)
    with clock.frozen(dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)):
        assert ended_on_page(page) == (7, "28 Nov 2026 09:00:00")
    with clock.frozen(dt.datetime(2026, 11, 28, 9, 1, tzinfo=dt.UTC)):
        assert ended_on_page(page) == (7, "28 Nov 2026 09:00:00")
        make_upgrade(requester, component_a, ref="UPG-2026-0950", created=at(2), finished=at(3))
        assert ended_on_page(page) == (8, "28 Nov 2026 09:01:00")


def test_a_new_duty_changes_what_a_change_manager_is_counted(october, outsider):
    from django.test import Client
    from guardian.shortcuts import assign_perm

    page = client_for(Client(), outsider)
    assert ended_on_page(page)[0] == 2
    assign_perm("upgrades.duty_assessor", outsider, october["R1"])  # a duty on team A's R1 makes it visible
    assert ended_on_page(page)[0] == 3


def test_the_csv_timestamps_written_by_the_database_equal_pythons(generated, executive, requester,
                                                                   component_a):
    """On PostgreSQL the CSV's timestamps come formatted from the query (`UtcMinutes`): truncated to the
    minute in UTC like `_cell`, empty for none, also at the end of a day and of a month."""
    make_upgrade(requester, component_a, ref="UPG-2026-0998", outcome="completed",
                 created=dt.datetime(2026, 9, 30, 23, 59, 59, 999999, tzinfo=dt.UTC),
                 submitted=dt.datetime(2026, 10, 1, 0, 0, 59, 500000, tzinfo=dt.UTC), decided=None,
                 finished=dt.datetime(2026, 10, 31, 23, 59, 30, tzinfo=dt.UTC))
    data = Data(executive, OCT)
    expected = csv_bytes([label for _, label in UPGRADE_COLUMNS],
                         [[_cell(k, r.get(k)) for k, _ in UPGRADE_COLUMNS] for r in data.ended])
    assert upgrades_csv(data) == expected
    assert b"2026-09-30 23:59,2026-10-01 00:00,," in expected
    if connection.vendor == "postgresql":  # the database's formatting was used, not the rows'
        assert data.csv_times is not None and len(data.csv_times) == len(data.ended)
        data.csv_times = None
        assert upgrades_csv(data) == expected


def test_rows_read_through_psycopgs_own_loader_equal_djangos(october):
    """The one fast path of the KPIs' timestamps: psycopg's own (C) loader on every cursor of the block."""
    import psycopg

    from apps.upgrades.models import UpgradeRequest

    UpgradeRequest.objects.filter(reference="UPG-2026-0901").update(
        created_at=dt.datetime(2026, 9, 1, 3, 4, 5, 123400, tzinfo=dt.UTC))
    qs = UpgradeRequest.objects.order_by("pk").values_list("id", "reference", "created_at", "submitted_at",
                                                           "decided_at", "finished_at", "window_start")
    plain = list(qs.all())
    with CaptureQueriesContext(connection) as queries, fast_timestamps():
        fast = list(qs.all())
        dicts = list(qs.values("created_at", "finished_at"))
    assert len(queries) == 2 and fast == plain
    assert dicts == list(qs.values("created_at", "finished_at"))
    assert [type(v) for row in fast for v in row] == [type(v) for row in plain for v in row]
    assert {v.tzinfo for row in fast for v in row[2:] if v} == {dt.UTC}
    if connection.vendor == "postgresql" and psycopg.pq.__impl__ in ("c", "binary"):
        # set on each cursor only: the connection keeps Django's loader (Django reads its `timezone`)
        adapters = connection.connection.adapters
        oid = adapters.types["timestamptz"].oid
        with fast_timestamps(), connection.cursor() as cursor:
            assert cursor.cursor.adapters.get_loader(oid, 0) is psycopg.adapters.get_loader(oid, 0)
            assert hasattr(adapters.get_loader(oid, 0), "timezone")


def test_the_collector_is_paused_only_while_the_rows_are_built():
    import gc

    from apps.reporting.kpis import gc_paused

    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("an error while the rows are built")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()


def test_the_notable_upgrades_are_the_lowest_scores_in_the_order_they_ended(generated, executive):
    data = Data(executive, OCT)
    rows = [r for r in data.ended
            if r["category"] != "successful" or r["risk_class"] == "emergency" or r["hotfixes"]]
    expected = sorted(rows, key=lambda r: (r["score"], r["finished_at"], r["id"]))
    assert len({r["score"] for r in rows}) < len(rows)  # ties to order
    for limit in (3, 10, 40):
        assert data.notable(limit) == expected[:limit]
