"""Concurrent writers never fork the chain: each append locks the chain head."""

import itertools
import threading

import pytest
from django.db import connection

from apps.audit.models import AuditEvent, ChainHead
from apps.audit.services import GENESIS, audit_append, audit_verify

WRITERS = 20


@pytest.mark.postgres
def test_twenty_concurrent_writers_leave_one_unbroken_chain(transactional_db):
    ChainHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS})
    start = ChainHead.objects.get(pk=1).seq
    barrier = threading.Barrier(WRITERS, timeout=30)
    errors: list[Exception] = []

    def write(n: int) -> None:
        try:
            barrier.wait()
            audit_append(action="test.concurrent", object_type="tests.writer", object_id=str(n),
                         data={"n": n})
        except Exception as exc:  # noqa: BLE001  (reported by the main thread below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    events = list(AuditEvent.objects.filter(action="test.concurrent").order_by("seq"))
    assert [e.seq for e in events] == list(range(start + 1, start + WRITERS + 1))
    assert sorted(int(e.object_id) for e in events) == list(range(WRITERS))
    for earlier, later in itertools.pairwise(events):
        assert later.prev_hash == earlier.hash
    result = audit_verify()
    assert result.ok, result
    assert result.head_seq == start + WRITERS
