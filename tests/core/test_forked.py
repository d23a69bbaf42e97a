"""apps.core.forked: bytes computed in a child process, and here whenever the child cannot give them."""

import gc
import os
import signal
import time

import pytest

from apps.core.forked import InChild


def _pid() -> bytes:
    return str(os.getpid()).encode()


def test_the_bytes_are_computed_in_a_child_process():
    job = InChild(_pid)
    child = job.pid
    assert child is not None and child != os.getpid()
    assert job.result() == str(child).encode()
    assert gc.get_freeze_count() == 0  # the collector walks everything again afterwards


def test_a_child_that_fails_leaves_the_work_to_this_process():
    calls = []

    def fails_in_the_child():
        calls.append(os.getpid())
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        return b"made here"

    parent = os.getpid()
    job = InChild(fails_in_the_child)
    assert job.pid is not None
    assert job.result() == b"made here"
    assert calls == [parent]  # the child's call is not in this process's list


def test_a_child_killed_before_it_finished_leaves_the_work_to_this_process():
    def slow():
        if os.getpid() != parent:
            time.sleep(30)
        return _pid()

    parent = os.getpid()
    job = InChild(slow)
    os.kill(job.pid, signal.SIGKILL)
    assert job.result() == str(parent).encode()


def test_leaving_without_the_result_reaps_the_child():
    with InChild(_pid) as job:
        child = job.pid
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)  # no zombie left behind
    assert gc.get_freeze_count() == 0


def test_with_fork_work_off_the_bytes_are_computed_here(settings):
    settings.TOLLGATE_FORK_WORK = False
    job = InChild(_pid)
    assert job.pid is None
    assert job.result() == str(os.getpid()).encode()


@pytest.mark.django_db(transaction=True)
def test_a_child_reads_the_database_on_its_own_connection_and_leaves_this_one_working():
    from django.db import connection

    from apps.accounts.models import Team

    Team.objects.create(name="Seen by the child", slug="seen-by-the-child")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()" if connection.vendor == "postgresql" else "SELECT 1")
        here = cursor.fetchone()[0]

    def read():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()" if connection.vendor == "postgresql" else "SELECT 1")
            backend = cursor.fetchone()[0]
        return f"{os.getpid()} {backend} {Team.objects.count()}".encode()

    job = InChild(read, database=True)
    child = job.pid
    assert child is not None
    pid, backend, teams = job.result().decode().split()
    assert int(pid) == child != os.getpid() and int(teams) == Team.objects.count()
    if connection.vendor == "postgresql":
        assert int(backend) != here  # a connection of its own
    with connection.cursor() as cursor:  # this process's session was not ended by the child
        cursor.execute("SELECT pg_backend_pid()" if connection.vendor == "postgresql" else "SELECT 1")
        assert cursor.fetchone()[0] == here


@pytest.mark.django_db
def test_inside_a_transaction_a_child_that_reads_the_database_is_not_started():
    """Another connection would not see what this transaction has not committed: the work is done here."""
    from apps.accounts.models import Team

    Team.objects.create(name="Not committed", slug="not-committed")
    job = InChild(lambda: str(Team.objects.filter(slug="not-committed").count()).encode(), database=True)
    assert job.pid is None
    assert job.result() == b"1"


def test_a_wait_interrupted_by_a_time_limit_still_reaps_the_child():
    """Celery's soft time limit raises in the worker from a signal handler, possibly while it waits for the
    child: leaving the block must still reap it."""
    class TimeLimit(Exception):
        pass

    def slow():
        time.sleep(1)
        return b"late"

    def raise_limit(signum, frame):
        raise TimeLimit

    previous = signal.signal(signal.SIGALRM, raise_limit)
    try:
        with pytest.raises(TimeLimit):
            with InChild(slow) as job:
                child = job.pid
                signal.setitimer(signal.ITIMER_REAL, 0.2)
                job.result()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)
    assert gc.get_freeze_count() == 0
