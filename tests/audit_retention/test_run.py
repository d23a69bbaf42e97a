"""Retention: the dry run lists exactly what the run removes; the run archives first, keeps held items,
and leaves an audit chain that still verifies (and an archive segment that verifies on its own)."""

import hashlib
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from apps.audit import retention
from apps.audit.models import ArchivedArtifact, ArchivedSegment, AuditCheckpoint, AuditEvent
from apps.audit.services import audit_verify, segment_verify
from apps.configuration.models import Snapshot
from apps.upgrades.models import Attachment

REQUEST = "upgrades.upgraderequest"


def _first_event_of(req) -> int:
    return AuditEvent.objects.filter(object_type=REQUEST, object_id=str(req.pk)).order_by("seq").values_list(
        "seq", flat=True).first()


def test_dry_run_lists_exactly_what_would_go(world, policies, hold_a):
    plan = retention.retention_plan()
    go = {(i.kind, i.object_id) for i in plan.go}
    first_held = _first_event_of(world["req_a"])
    first = AuditEvent.objects.order_by("seq").values_list("seq", flat=True).first()
    assert go == {
        ("attachments", str(world["att_b"].pk)),
        ("snapshots", str(world["snap_plain"].pk)),
        ("audit_events", f"{first}-{first_held - 1}"),
    }
    held = {(i.kind, i.object_id) for i in plan.held}
    assert held == {("attachments", str(world["att_a"].pk)), ("snapshots", str(world["snap_a"].pk)),
                    ("audit_events", str(first_held))}
    counts = (Attachment.objects.count(), Snapshot.objects.count(), AuditEvent.objects.count())
    out = io.StringIO()
    call_command("retention", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "plan-b.txt" in text and "nightly" in text and "plan-a.txt" in text
    assert "3 would go, 3 kept by a legal hold" in text
    assert (Attachment.objects.count(), Snapshot.objects.count(), AuditEvent.objects.count()) == counts


def test_without_policies_nothing_would_go(world):
    plan = retention.retention_plan()
    assert plan.go == [] and plan.held == []


def test_run_archives_then_deletes_and_respects_the_legal_hold(world, policies, hold_a, archive_root,
                                                               django_capture_on_commit_callbacks):
    att_b = world["att_b"]
    original_file = Path(att_b.file.path)
    assert original_file.exists()
    first_held = _first_event_of(world["req_a"])

    with django_capture_on_commit_callbacks(execute=True):
        result = retention.retention_run()

    # gone: B's old attachment (file too) and the routine snapshot; archived first, with the hash kept
    assert not Attachment.objects.filter(pk=att_b.pk).exists()
    assert not original_file.exists()
    assert not Snapshot.objects.filter(pk=world["snap_plain"].pk).exists()
    archived = ArchivedArtifact.objects.get(kind="attachments", object_id=str(att_b.pk))
    record = json.loads((archive_root / archived.path).read_bytes())
    assert hashlib.sha256((archive_root / archived.path).read_bytes()).hexdigest() == archived.sha256
    [copied] = record["files"]
    assert copied["sha256"] == att_b.sha256
    assert hashlib.sha256((archive_root / copied["archive_path"]).read_bytes()).hexdigest() == att_b.sha256
    assert ArchivedArtifact.objects.filter(kind="snapshots", object_id=str(world["snap_plain"].pk)).exists()
    # kept: everything of the held request A, and what is not past retention
    assert Attachment.objects.filter(pk=world["att_a"].pk).exists()
    assert Path(world["att_a"].file.path).exists()
    assert Snapshot.objects.filter(pk=world["snap_a"].pk).exists()
    assert Attachment.objects.filter(pk=world["att_new"].pk).exists()
    # audit events: the segment before A's first (held) event is archived and purged; A's events stay
    assert AuditEvent.objects.order_by("seq").values_list("seq", flat=True).first() == first_held
    segment = result.segment
    assert segment is not None and segment.last_seq == first_held - 1
    assert AuditCheckpoint.objects.filter(seq=segment.last_seq, hash=segment.last_hash).exists()
    first_left = AuditEvent.objects.get(seq=first_held)
    assert first_left.prev_hash == segment.last_hash
    # every deletion is on the trail
    assert AuditEvent.objects.filter(action="retention.archived", object_id=str(att_b.pk)).exists()
    assert AuditEvent.objects.filter(action="retention.audit_segment_archived").exists()
    # the chain still verifies from the checkpoint, and the segment verifies on its own
    assert audit_verify().ok, audit_verify()
    seg_file = archive_root / segment.path
    assert hashlib.sha256(seg_file.read_bytes()).hexdigest() == segment.sha256
    check = segment_verify(seg_file)
    assert check.ok and check.checked == segment.count == first_held - segment.first_seq
    out = io.StringIO()
    call_command("audit_verify", "--segment", str(seg_file), stdout=out)
    assert "OK: segment of" in out.getvalue()


def test_lifting_the_hold_lets_the_next_run_take_the_rest(world, policies, hold_a, auditor):
    retention.retention_run()
    retention.legal_hold_lift(hold_id=hold_a.pk, reason="Inquiry closed", by=auditor)
    retention.retention_run()
    assert not Attachment.objects.filter(pk=world["att_a"].pk).exists()
    assert Attachment.objects.filter(pk=world["att_new"].pk).exists()
    assert ArchivedSegment.objects.count() == 2
    assert audit_verify().ok


def test_tampered_segment_file_is_detected(world, policies, archive_root):
    segment = retention.retention_run().segment
    path = archive_root / segment.path
    lines = path.read_text().splitlines()
    event = json.loads(lines[2])
    event["action"] = "test.innocent"
    lines[2] = json.dumps(event, sort_keys=True)
    path.write_text("\n".join(lines) + "\n")
    result = segment_verify(path)
    assert not result.ok and result.broken_seq == event["seq"] and "altered" in result.reason
    with pytest.raises(SystemExit) as exc:
        call_command("audit_verify", "--segment", str(path), stdout=io.StringIO())
    assert exc.value.code == 1
    # a dropped line is a missing event
    del lines[2]
    path.write_text("\n".join(lines) + "\n")
    assert "missing" in segment_verify(path).reason
    # not a segment at all
    path.write_text("hello\n")
    assert not segment_verify(path).ok


def test_verify_needs_the_checkpoint_the_purge_wrote(world, policies):
    segment = retention.retention_run().segment
    assert audit_verify().ok
    # without the signed checkpoint, the first remaining event continues nothing
    AuditCheckpoint.objects.filter(seq=segment.last_seq).delete()
    result = audit_verify()
    assert not result.ok and result.broken_seq == segment.first_seq


def test_database_still_refuses_update_and_delete_outside_the_purge_window(world, policies):
    retention.retention_run()
    seq = AuditEvent.objects.order_by("seq").values_list("seq", flat=True).first()
    for sql in ("DELETE FROM audit_auditevent WHERE seq = %s",
                "UPDATE audit_auditevent SET action = 'x' WHERE seq = %s"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [seq])
    assert AuditEvent.objects.filter(seq=seq).exists()


def test_a_hold_on_one_artifact_keeps_only_that_one(world, policies, auditor):
    retention.legal_hold_set(target_type="snapshots", target=str(world["snap_plain"].pk), reason="Keep it",
                             by=auditor)
    retention.retention_run()
    assert Snapshot.objects.filter(pk=world["snap_plain"].pk).exists()
    assert not Snapshot.objects.filter(pk=world["snap_a"].pk).exists()


def test_region_policy_overrides_the_default(world, admin_user):
    from apps.inventory.models import System

    System.objects.filter(pk=world["snap_plain"].system_id).update(region="us-east")
    region_b = "us-east"
    retention.retention_policy_set(kind="snapshots", days=365, by=admin_user)
    retention.retention_policy_set(kind="snapshots", region=region_b, days=3650, by=admin_user)
    go = {i.object_id for i in retention.retention_plan().go if i.kind == "snapshots"}
    assert go == {str(world["snap_a"].pk)}


def test_the_daily_task_is_scheduled_and_runs(world, policies):
    from apps.audit.tasks import RETENTION_DAILY, retention_run_task
    from config.celery import app

    assert app.conf.beat_schedule[RETENTION_DAILY]["task"] == "audit.retention_run"
    summary = retention_run_task()
    assert "4 archived and deleted" in summary


def test_a_hold_set_after_the_plan_still_stops_the_segment(world, policies, auditor, archive_root):
    plan = retention.retention_plan()
    first, last = plan.segment
    assert last >= _first_event_of(world["req_a"])  # nothing held yet: the plan runs past A's first event
    retention.legal_hold_set(target_type="request", target=world["req_a"].reference, reason="Late", by=auditor)
    segment = retention.audit_segment_archive(first_seq=first, last_seq=last)
    assert segment.last_seq == _first_event_of(world["req_a"]) - 1
    assert AuditEvent.objects.filter(seq=_first_event_of(world["req_a"])).exists()
    assert audit_verify().ok and segment_verify(archive_root / segment.path).ok
    # a second archive of the same range finds it gone and does nothing
    assert retention.audit_segment_archive(first_seq=first, last_seq=last) is None
