"""The report task reads a period's row sets on two more PostgreSQL connections that import the snapshot of
the first (apps.core.snapshot): the same rows and figures as one connection reads, all of one moment."""

import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from apps.core.snapshot import one_snapshot
from apps.reporting.kpis import Data

from .test_scale import OCT

needs_postgresql = pytest.mark.skipif(connection.vendor != "postgresql",
                                      reason="snapshots are shared between PostgreSQL connections only")


def _open_connections(settled_at: int | None = None) -> int:
    """Sessions on this test database; with `settled_at`, waits (up to 5 s) for the count to come down to it:
    a backend leaves pg_stat_activity a moment after its client closed the connection."""
    import time

    deadline = time.monotonic() + 5
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            count = cursor.fetchone()[0]
        if settled_at is None or count <= settled_at or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


def _in_another_connection(fn):
    """fn() in a thread of its own: its own connection, in autocommit (committed at once)."""
    out = {}

    def run():
        try:
            out["value"] = fn()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return out.get("value")


def _same(a: Data, b: Data) -> None:
    assert a.ended == b.ended and a.ended
    assert a.decided == b.decided
    assert a.incidents == b.incidents
    assert a.refusals == b.refusals
    assert a.firings == b.firings
    assert a.team_slugs == b.team_slugs
    assert a.figures == b.figures
    assert a.teams() == b.teams()


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_rows_read_on_three_connections_equal_the_rows_read_on_one(generated, executive,
                                                                       requester):
    before = _open_connections()
    for user in (executive, requester):
        one = Data(user, OCT)
        with CaptureQueriesContext(connection) as here:
            three = Data(user, OCT, parallel=True)
        _same(one, three)
        if user == executive:  # every kind of row set was there to read
            assert three.incidents and three.refusals and three.firings and three.team_slugs
        # the linked rows were read beside: this connection ran only the snapshot, the ended upgrades and
        # the CAB decisions
        assert len([q for q in here.captured_queries if q["sql"].startswith("SELECT \"")]) == 2
    # the connections beside are closed when their reads are done
    assert _open_connections(settled_at=before) <= before


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_reads_beside_see_the_database_as_the_first_connection_saw_it(executive):
    from apps.accounts.models import Team

    with one_snapshot() as beside:
        assert beside is not None
        seen_here = Team.objects.count()
        # another user's write is committed after the snapshot was taken
        _in_another_connection(lambda: Team.objects.create(name="Written meanwhile",
                                                           slug="written-meanwhile"))
        seen_beside = beside(lambda: Team.objects.count()).result()
        assert seen_beside == seen_here == Team.objects.count()
    assert Team.objects.count() == seen_here + 1  # after the block: the database as it is now


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_an_error_beside_reaches_the_reader_and_leaves_no_connection_open(executive):
    before = _open_connections()
    with pytest.raises(ZeroDivisionError):
        with one_snapshot() as beside:
            beside(lambda: 1 / 0).result()
    assert _open_connections(settled_at=before) <= before
    assert not connection.in_atomic_block


@pytest.mark.django_db
def test_inside_a_transaction_everything_is_read_on_this_connection(generated, executive):
    """Other connections would not see the rows this transaction has not committed: no snapshot is shared,
    the rows are read here one after the other."""
    with one_snapshot() as beside:
        assert beside is None
    _same(Data(executive, OCT), Data(executive, OCT, parallel=True))


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_with_parallel_reads_off_everything_is_read_on_this_connection(executive, settings):
    settings.TOLLGATE_PARALLEL_READS = False
    with one_snapshot() as beside:
        assert beside is None


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_without_a_second_connection_the_rows_are_read_on_this_one(generated, executive,
                                                                   monkeypatch, caplog):
    """A report must not fail because PostgreSQL refuses more connections: the row sets are read on the
    first connection, in its snapshot."""
    one = Data(executive, OCT)
    connection.ensure_connection()  # this thread's connection is open; any new one goes to a closed port
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    monkeypatch.setitem(connections.settings["default"], "HOST", "127.0.0.1")
    monkeypatch.setitem(connections.settings["default"], "PORT", str(closed_port))
    with caplog.at_level("WARNING", logger="apps.reporting.kpis"):
        alone = Data(executive, OCT, parallel=True)
    _same(one, alone)
    assert "read on one connection" in caplog.text


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_report_counts_the_previous_period_in_a_child_process(generated, executive, requester,
                                                                  component_a, monkeypatch, tmp_path):
    """The report shows each figure next to the previous period's: those are counted in a child process
    while this period is counted here, and are the figures counted here one after the other."""
    import os

    from apps.reporting import selectors

    from .conftest import at, make_upgrade

    for n, outcome in enumerate(["completed", "failed", "rolled_back"]):  # September: the previous period
        make_upgrade(requester, component_a, ref=f"UPG-2026-08{n:02d}", outcome=outcome,
                     created=at(1, month=9), finished=at(10 + n, month=9))
    counted_by = tmp_path / "counted-by"
    real = selectors.previous_figures

    def noted(user, period):
        with open(counted_by, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        return real(user, period)

    monkeypatch.setattr(selectors, "previous_figures", noted)
    one = selectors.dashboard(executive, OCT)
    assert [int(p) for p in counted_by.read_text().split()] == [os.getpid()]
    counted_by.unlink()
    two = selectors.dashboard(executive, OCT, parallel=True)
    by = [int(p) for p in counted_by.read_text().split()]
    assert len(by) == 1 and by[0] != os.getpid()
    assert two["previous"] == one["previous"] and one["previous"]["ended"] >= 3
    assert two["figures"] == one["figures"] and two["cards"] == one["cards"]
