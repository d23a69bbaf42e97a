"""The chain: appends link by hash, the database refuses edits, verification finds every kind of tampering."""

import itertools
import json

import pytest
from django.db import DatabaseError, transaction

from apps.audit.models import AuditCheckpoint, AuditEvent, ChainHead
from apps.audit.services import GENESIS, audit_append, audit_checkpoint_export, audit_verify, field_diff

from .conftest import raw, recompute_chain, triggers_disabled


def test_appends_verify_and_each_link_names_the_previous_hash(chain):
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS
    for earlier, later in itertools.pairwise(events):
        assert later.prev_hash == earlier.hash
    assert len({e.hash for e in events}) == 5
    head = ChainHead.objects.get(pk=1)
    assert (head.seq, head.hash) == (5, events[-1].hash)
    result = audit_verify()
    assert result.ok, result
    assert (result.checked, result.head_seq, result.broken_seq) == (5, 5, None)
    assert str(result) == "OK: 5 events verified, chain head #5"


def test_an_empty_trail_verifies(db):
    result = audit_verify()
    assert result.ok and result.checked == 0 and result.head_seq == 0


def test_an_event_keeps_who_what_which_object_where_and_the_diff(db, auditor):
    before, after = field_diff({"title": "Old", "risk": "normal"}, {"title": "New", "risk": "normal"})
    event = audit_append(action="thing.update", actor=auditor, obj=auditor, before=before, after=after,
                         ip="198.51.100.4")
    event.refresh_from_db()
    assert event.actor_id == auditor.pk and event.actor_username == "auditor"
    assert (event.object_type, event.object_id) == ("accounts.user", str(auditor.pk))
    assert (event.before, event.after) == ({"title": "Old"}, {"title": "New"})
    assert event.ip == "198.51.100.4"
    assert event.created_at.utcoffset().total_seconds() == 0
    assert audit_verify().ok


def test_values_that_are_not_json_are_stored_as_text_and_still_verify(db, frozen_now):
    audit_append(action="thing.update", after={"when": frozen_now, "amount": 1.5, "tags": ["a", "b"]})
    assert AuditEvent.objects.get().after["when"] == str(frozen_now)
    assert audit_verify().ok


@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_auditevent SET action = 'x'", "DELETE FROM audit_auditevent"],
    ids=["update", "delete"],
)
def test_the_database_refuses_update_and_delete(chain, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw(sql)
    assert AuditEvent.objects.count() == 5
    assert not AuditEvent.objects.filter(action="x").exists()
    assert audit_verify().ok


def test_the_orm_cannot_edit_or_delete_an_event_either(chain):
    event = chain[1]
    event.action = "rewritten"
    with pytest.raises(DatabaseError), transaction.atomic():
        event.save()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(seq=2).delete()
    assert AuditEvent.objects.get(seq=2).action == "test.event"


@pytest.mark.parametrize(
    ("column", "value"),
    [("action", "test.harmless"), ("after", json.dumps({"n": 999}))],
)
def test_an_altered_event_is_found_with_its_number(chain, column, value):
    with triggers_disabled():
        raw(f'UPDATE audit_auditevent SET "{column}" = %s WHERE seq = 3', [value])
    result = audit_verify()
    assert not result.ok
    assert result.broken_seq == 3
    assert result.checked == 2
    assert str(result) == "BROKEN at event #3: its content does not match its hash (altered)"


def test_an_altered_event_with_its_own_hash_rewritten_breaks_the_next_link(chain):
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET action = 'test.harmless' WHERE seq = 2")
        recompute_chain(from_seq=2)
        # the attacker could not rewrite event 3 onwards... say they stopped after the altered one
        raw("UPDATE audit_auditevent SET prev_hash = %s WHERE seq = 3", [chain[2].prev_hash])
    result = audit_verify()
    assert not result.ok and result.broken_seq == 3


def test_a_deleted_middle_event_is_reported_missing(chain):
    with triggers_disabled():
        raw("DELETE FROM audit_auditevent WHERE seq = 3")
    result = audit_verify()
    assert not result.ok
    assert result.broken_seq == 3
    assert "event #3 is missing" in result.reason


def test_a_deleted_first_event_is_reported_missing(chain):
    with triggers_disabled():
        raw("DELETE FROM audit_auditevent WHERE seq = 1")
    result = audit_verify()
    assert not result.ok and result.broken_seq == 1 and "missing" in result.reason


def test_a_deleted_tail_is_found_even_when_the_head_is_moved_back(chain):
    with triggers_disabled():
        raw("DELETE FROM audit_auditevent WHERE seq >= 4")
    result = audit_verify()
    assert not result.ok and result.broken_seq == 4 and "missing" in result.reason
    # moving the head back hides the gap from the chain itself...
    ChainHead.objects.filter(pk=1).update(seq=3, hash=chain[2].hash)
    assert audit_verify().ok
    # ...but not from a checkpoint exported before the deletion
    with triggers_disabled():
        raw("DELETE FROM audit_auditevent")
    ChainHead.objects.filter(pk=1).update(seq=0, hash=GENESIS)
    for n in range(1, 6):
        audit_append(action="test.event", data={"n": n})
    audit_checkpoint_export()  # checkpoint at #5, event #6 records the export
    with triggers_disabled():
        raw("DELETE FROM audit_auditevent WHERE seq >= 4")
    ChainHead.objects.filter(pk=1).update(seq=3, hash=AuditEvent.objects.get(seq=3).hash)
    result = audit_verify()
    assert not result.ok and result.broken_seq == 4
    assert "checkpoint" in result.reason


def test_a_wiped_trail_is_not_mistaken_for_an_empty_one(chain):
    with triggers_disabled():
        raw("DELETE FROM audit_auditevent")
    result = audit_verify()
    assert not result.ok and result.broken_seq == 1


def test_an_event_slipped_in_past_the_head_is_found(chain):
    last = chain[-1]
    AuditEvent.objects.create(
        seq=6, created_at=last.created_at, action="test.forged", prev_hash=last.hash, hash="f" * 64, data={}
    )
    result = audit_verify()
    assert not result.ok and result.broken_seq == 6


def test_a_chain_recomputed_after_a_checkpoint_no_longer_matches_it(chain):
    exported = audit_checkpoint_export()
    assert exported["seq"] == 5
    assert audit_verify().ok  # the export itself is event #6
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET action = 'test.harmless' WHERE seq = 2")
        recompute_chain(from_seq=2)
    result = audit_verify()
    assert not result.ok
    assert result.broken_seq == 5
    assert result.reason == "it does not match the exported checkpoint"


def test_a_checkpoint_rewritten_to_match_a_recomputed_chain_fails_its_signature(chain):
    audit_checkpoint_export()
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET action = 'test.harmless' WHERE seq = 2")
        recompute_chain(from_seq=2)
    AuditCheckpoint.objects.filter(seq=5).update(hash=AuditEvent.objects.get(seq=5).hash)
    result = audit_verify()
    assert not result.ok
    assert result.broken_seq == 5 and "signature" in result.reason


def test_a_checkpoint_export_is_signed_recorded_and_audited(chain, auditor):
    exported = audit_checkpoint_export(actor=auditor)
    checkpoint = AuditCheckpoint.objects.get()
    assert exported == {"seq": 5, "hash": chain[-1].hash, "created_at": checkpoint.created_at.isoformat(),
                        "signature": checkpoint.signature}
    assert len(exported["signature"]) == 64
    event = AuditEvent.objects.get(seq=6)
    assert event.action == "audit.checkpoint" and event.actor_username == "auditor"
    assert event.data == {"seq": 5, "hash": chain[-1].hash}
