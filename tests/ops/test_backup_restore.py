"""scripts/backup.sh and scripts/restore.sh on a real PostgreSQL: a restore gives back the same history
(the audit chain verifies, its head is the one recorded at backup time, the stored files are identical),
and a restore of damaged or altered data says so with a non-zero exit status."""

import filecmp
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlparse

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections

from apps.audit.models import AuditEvent, ChainHead
from apps.audit.services import audit_append, audit_checkpoint_export
from apps.upgrades.choices import State
from apps.upgrades.services import attachment_add, comment_add
from tests.conftest import IN_CI
from tests.upgrades.conftest import drive  # noqa: F401  (the fixture: drive(upgrade, state))

ROOT = Path(__file__).resolve().parents[2]
BACKUP = ROOT / "scripts" / "backup.sh"
RESTORE = ROOT / "scripts" / "restore.sh"

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _client_tools():
    tools = ("pg_dump", "pg_restore", "psql", "tar", "sha256sum")
    missing = [tool for tool in tools if not shutil.which(tool)]
    if missing:
        message = f"needs {', '.join(missing)} (Debian package postgresql-client)"
        if IN_CI:
            pytest.fail(f"CI=true: {message}", pytrace=False)
        pytest.skip(message)


def _url(name: str) -> str:
    s = connection.settings_dict
    credentials = quote(s["USER"] or "", safe="")
    if s["PASSWORD"]:
        credentials += ":" + quote(s["PASSWORD"], safe="")
    return f"postgres://{credentials}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


@pytest.fixture
def new_database():
    """new_database() -> a database name nobody uses (derived from the configured one); all dropped after."""
    base = urlparse(os.environ.get("DATABASE_URL", "")).path.lstrip("/") or "tollgate"
    names = []

    def _new() -> str:
        names.append(f"{base[:40]}_restore_{uuid.uuid4().hex[:8]}")
        return names[-1]

    yield _new
    with psycopg.connect(_url("postgres"), autocommit=True) as admin:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def history(transactional_db, upgrade, drive, personas, settings):  # noqa: F811
    """Committed history (pg_dump sees only committed rows): a request taken through four transitions
    with its gates, a comment, two attachments (one binary) and a signed checkpoint of the chain."""
    upgrade = drive(upgrade, State.APPROVED)
    requester = personas["requester"]
    comment_add(request=upgrade, by=requester, body="Backed up before the change window.")
    attachment_add(request=upgrade, by=requester,
                   upload=SimpleUploadedFile("runbook.txt", b"1. back up\n2. upgrade\n3. verify\n"))
    attachment_add(request=upgrade, by=requester,
                   upload=SimpleUploadedFile("diagram.png", bytes(range(256)) * 40))
    audit_checkpoint_export(actor=personas["auditor"])
    head = ChainHead.objects.get(pk=1)
    return {"request": upgrade, "media": Path(settings.MEDIA_ROOT), "head": (head.seq, head.hash),
            "events": AuditEvent.objects.count()}


def _run(script: Path, *args: str, media: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=_url(connection.settings_dict["NAME"]), MEDIA_ROOT=str(media),
               PYTHON=sys.executable)
    env.pop("ARCHIVE_ROOT", None)
    return subprocess.run(["bash", str(script), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def _backup(history, tmp_path) -> Path:
    result = _run(BACKUP, "--out", str(tmp_path / "backups"), media=history["media"])
    assert result.returncode == 0, result.stdout + result.stderr
    return Path(result.stdout.strip().splitlines()[-1])


def _restore(backup: Path, target: str, media: Path, *extra: str) -> subprocess.CompletedProcess:
    return _run(RESTORE, str(backup), "--database-url", _url(target), "--media-root", str(media), *extra,
                media=media)


def _manifest(backup: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in (backup / "manifest.txt").read_text().splitlines())


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_a_restore_gives_back_the_same_history(history, new_database, tmp_path):
    target = new_database()
    backup = _backup(history, tmp_path)
    manifest = _manifest(backup)
    assert (int(manifest["audit_head_seq"]), manifest["audit_head_hash"]) == history["head"]
    assert int(manifest["audit_events"]) == history["events"]
    assert int(manifest["audit_checkpoints"]) == 1
    assert int(manifest["media_files"]) == 2

    restored_media = tmp_path / "restored-media"
    result = _restore(backup, target, restored_media)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout
    assert f"OK    manage.py audit_verify: OK: {history['events']} events verified" in result.stdout

    # the same checks, done here without the script: audit_verify on the restored database ...
    verify = subprocess.run(
        [sys.executable, "manage.py", "audit_verify"], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env=dict(os.environ, DATABASE_URL=_url(target), MEDIA_ROOT=str(restored_media)), check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"chain head #{history['head'][0]}" in verify.stdout
    # ... its head and rows are the source's ...
    with psycopg.connect(_url(target)) as restored:
        assert restored.execute("SELECT seq, hash FROM audit_chainhead").fetchall() == [history["head"]]
        state, = restored.execute("SELECT state FROM upgrades_upgraderequest WHERE id = %s",
                                  [history["request"].pk]).fetchone()
        assert state == State.APPROVED
        names = [n for (n,) in restored.execute("SELECT file FROM upgrades_attachment ORDER BY id")]
    # ... and every stored file is back, byte for byte
    assert _files(restored_media) == _files(history["media"]) and len(names) == 2
    assert set(names) <= _files(restored_media)
    for name in _files(history["media"]):
        assert filecmp.cmp(history["media"] / name, restored_media / name, shallow=False), name

    # a second restore into the same (now full) database is refused, and changes nothing
    again = _restore(backup, target, tmp_path / "elsewhere")
    assert again.returncode != 0
    assert "restore into an empty database" in again.stderr


def _tamper(target: str, *statements: str) -> None:
    """What someone with write access to the restored database could do: the table owner may switch the
    append-only trigger off."""
    with psycopg.connect(_url(target), autocommit=True) as db:
        db.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER tollgate_audit_append_only")
        for statement in statements:
            db.execute(statement)
        db.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER tollgate_audit_append_only")


def test_altered_restored_data_fails_the_restore_check(history, new_database, tmp_path):
    backup = _backup(history, tmp_path)

    # an audit event changed after the restore: audit_verify finds it
    target, media = new_database(), tmp_path / "restored-1"
    assert _restore(backup, target, media).returncode == 0
    _tamper(target, "UPDATE audit_auditevent SET object_repr = 'nothing to see' WHERE seq = 3")
    result = _restore(backup, target, media, "--check-only")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL  manage.py audit_verify: BROKEN at event #3" in result.stdout
    assert "altered" in result.stdout
    assert "RESTORE NOT VERIFIED: 1 check(s) failed" in result.stdout

    # the newest event dropped and the head moved back: a valid, shorter chain that audit_verify accepts
    # (the signed checkpoint is at the event before); only the head recorded in the manifest at backup
    # time shows that history is missing
    target, media = new_database(), tmp_path / "restored-2"
    assert _restore(backup, target, media).returncode == 0
    seq = history["head"][0] - 1
    _tamper(target, f"DELETE FROM audit_auditevent WHERE seq > {seq}",
            f"UPDATE audit_chainhead SET seq = {seq}, "
            f"hash = (SELECT hash FROM audit_auditevent WHERE seq = {seq})")
    result = _restore(backup, target, media, "--check-only")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"OK    manage.py audit_verify: OK: {seq} events verified" in result.stdout
    assert f"FAIL  audit chain head: #{seq} " in result.stdout
    assert "FAIL  audit events" in result.stdout

    # a stored file changed, then removed: the database is fine, the files are not
    runbook = next(media.rglob("*runbook.txt"))
    runbook.write_bytes(runbook.read_bytes().replace(b"verify", b"hope!!"))
    result = _restore(backup, target, media, "--check-only")
    assert result.returncode == 1
    assert "FAIL  stored files: files missing or different" in result.stdout
    runbook.unlink()
    assert "FAIL  stored files" in _restore(backup, target, media, "--check-only").stdout


def test_a_damaged_dump_is_refused_before_anything_is_restored(transactional_db, new_database, settings,
                                                               tmp_path):
    Path(settings.MEDIA_ROOT).mkdir(parents=True, exist_ok=True)
    backup = _backup({"media": Path(settings.MEDIA_ROOT)}, tmp_path)
    dump = backup / "database.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))

    target = new_database()
    result = _restore(backup, target, tmp_path / "restored-media")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "the backup is damaged" in result.stderr
    assert not (tmp_path / "restored-media").exists()
    with psycopg.connect(_url("postgres")) as admin:
        exists = admin.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [target]).fetchone()
    assert exists == (0,)


def test_a_backup_taken_while_the_chain_grows_is_consistent(transactional_db, new_database, settings,
                                                             tmp_path):
    """The head in the manifest, the migration list and the dump come from one snapshot: events appended
    while pg_dump runs are in none of them, so the restore matches its manifest exactly."""
    appended = []
    stop = threading.Event()

    def writer():
        try:
            while not stop.is_set():
                audit_append(action="backup.drill", data={"n": len(appended)})
                appended.append(1)
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(appended) < 20:
            time.sleep(0.05)
        media = Path(settings.MEDIA_ROOT)
        media.mkdir(parents=True, exist_ok=True)
        backup = _backup({"media": media}, tmp_path)
        after = len(appended)
        while len(appended) < after + 20:  # the chain goes on growing past the backup
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
    head = ChainHead.objects.get(pk=1)
    manifest = _manifest(backup)
    assert 20 <= int(manifest["audit_head_seq"]) < head.seq
    assert int(manifest["audit_events"]) == int(manifest["audit_head_seq"])

    result = _restore(backup, new_database(), tmp_path / "restored-media")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"OK    audit chain head: #{manifest['audit_head_seq']} " in result.stdout
    assert f"OK    manage.py audit_verify: OK: {manifest['audit_events']} events verified" in result.stdout
