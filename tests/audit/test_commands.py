"""`manage.py audit_verify` and `manage.py audit_checkpoint`."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from apps.audit.models import AuditCheckpoint, AuditEvent
from apps.audit.services import checkpoint_signature

from .conftest import raw, triggers_disabled


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_audit_verify_prints_ok_with_the_count_and_head(chain):
    assert run("audit_verify").strip() == "OK: 5 events verified, chain head #5"


def test_audit_verify_on_an_empty_trail_is_ok(db):
    assert run("audit_verify").strip() == "OK: 0 events verified, chain head #0"


def test_audit_verify_exits_non_zero_and_names_the_altered_event(chain):
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET action = 'test.harmless' WHERE seq = 4")
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit_verify", stdout=out)
    assert exit_info.value.code == 1
    assert out.getvalue().strip() == "BROKEN at event #4: its content does not match its hash (altered)"


def test_audit_verify_names_a_missing_event(chain):
    with triggers_disabled():
        raw("DELETE FROM audit_auditevent WHERE seq = 2")
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit_verify", stdout=out)
    assert exit_info.value.code == 1
    assert out.getvalue().startswith("BROKEN at event #2: event #2 is missing")


def test_audit_checkpoint_prints_the_signed_head(chain):
    exported = json.loads(run("audit_checkpoint"))
    assert set(exported) == {"seq", "hash", "created_at", "signature"}
    assert (exported["seq"], exported["hash"]) == (5, chain[-1].hash)
    checkpoint = AuditCheckpoint.objects.get()
    assert exported["signature"] == checkpoint_signature(5, chain[-1].hash, checkpoint.created_at)
    assert AuditEvent.objects.get(seq=6).action == "audit.checkpoint"
    assert run("audit_verify").strip() == "OK: 6 events verified, chain head #6"


def test_audit_checkpoint_writes_the_json_to_a_file(chain, tmp_path):
    target = tmp_path / "head.json"
    out = run("audit_checkpoint", "--output", str(target))
    exported = json.loads(target.read_text())
    assert exported["seq"] == 5 and exported["hash"] == chain[-1].hash
    assert out.strip() == f"Checkpoint #5 written to {target}"


def test_audit_checkpoint_to_an_unwritable_path_records_nothing(chain, tmp_path):
    with pytest.raises(CommandError, match="cannot write"):
        call_command("audit_checkpoint", "--output", str(tmp_path / "no-such-dir" / "head.json"))
    assert not AuditCheckpoint.objects.exists()
    assert AuditEvent.objects.count() == 5
