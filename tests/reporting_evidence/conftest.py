"""Evidence packs: the `drive` fixture of tests/upgrades and helpers to read a pack back."""

import hashlib
import io
import json
import subprocess
import time
import zipfile

import pytest

from tests.upgrades.conftest import drive  # noqa: F401  (the fixture: drive(upgrade, state))


def wait_until(predicate, timeout=90.0, what="the worker"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"{what} did not finish within {timeout:.0f} s")


def unzip(data: bytes, where):
    """Extract the pack into `where`; returns its root folder (the one holding MANIFEST.sha256)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        assert all(not n.startswith("/") and ".." not in n for n in names)
        zf.extractall(where)
    roots = {n.split("/", 1)[0] for n in names}
    assert len(roots) == 1
    return where / roots.pop()


def sha256sum_check(root) -> subprocess.CompletedProcess:
    """The real `sha256sum -c MANIFEST.sha256`, run in the pack's folder."""
    return subprocess.run(["sha256sum", "-c", "--strict", "MANIFEST.sha256"], cwd=root, capture_output=True,
                          text=True)


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout


def verify_events(root) -> tuple[int, dict]:
    """Recompute every event's hash with apps.audit's own functions and follow the chain links up to the
    checkpoint's hash; returns (events checked, checkpoint)."""
    from apps.audit.services import canonical, link_hash
    import datetime as dt

    checkpoint = json.loads((root / "audit" / "checkpoint.json").read_text())
    events = [json.loads(line) for line in (root / "audit" / "events.jsonl").read_text().splitlines()]
    links = [json.loads(line) for line in (root / "audit" / "chain.jsonl").read_text().splitlines()]
    by_seq = {link["seq"]: link for link in links}
    for e in events:
        body = {k: e[k] for k in ("seq", "actor_id", "actor_username", "action", "object_type", "object_id",
                                  "object_repr", "ip", "before", "after", "data")}
        text = canonical(created_at=dt.datetime.fromisoformat(e["created_at"]), **body)
        assert link_hash(e["prev_hash"], text) == e["hash"], f"event {e['seq']} does not hash to its hash"
        assert by_seq[e["seq"]]["hash"] == e["hash"] and by_seq[e["seq"]]["prev_hash"] == e["prev_hash"]
    for before, after in zip(links, links[1:], strict=False):
        assert after["seq"] == before["seq"] + 1 and after["prev_hash"] == before["hash"], \
            f"the chain breaks at {after['seq']}"
    assert links[-1]["seq"] == checkpoint["seq"] and links[-1]["hash"] == checkpoint["hash"]
    return len(events), checkpoint


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def completed(transactional_db, upgrade, drive):
    """The plain request driven to `completed` before any worker runs (its smoke tests run eagerly)."""
    return drive(upgrade, "completed")
