import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.audit.services import audit_append
from apps.core import clock

from ..conftest import FIXED_NOW, make_request

OLD = dt.datetime(2025, 6, 1, 9, 0, tzinfo=dt.UTC)  # about 18 months before FIXED_NOW


@pytest.fixture(autouse=True)
def _old_clock():
    """Everything the fixtures create is old; a test moves the clock to FIXED_NOW with clock.set_to."""
    with clock.frozen(OLD):
        yield


@pytest.fixture
def archive_root(settings, tmp_path):
    settings.ARCHIVE_ROOT = str(tmp_path / "archive")
    return tmp_path / "archive"


@pytest.fixture
def world(db, requester, assessor, auditor, admin_user, component_a, component_b, production, archive_root):
    """Old artifacts on two requests (A will be held), a routine snapshot, a recent attachment.

    The chain starts with three plain old events, so the oldest segment is not empty before request A's first
    event (which a hold on A keeps)."""
    from apps.configuration.services import snapshot_take
    from apps.upgrades.services import attachment_add

    plain = [audit_append(action="test.old", object_type="tests.thing", object_id=str(n)) for n in range(3)]
    req_a = make_request(requester, component_a)
    req_b = make_request(requester, component_a, title="Upgrade ledger replica")
    att_a = attachment_add(request=req_a, by=requester,
                           upload=SimpleUploadedFile("plan-a.txt", b"rollback plan A\n"))
    att_b = attachment_add(request=req_b, by=requester,
                           upload=SimpleUploadedFile("plan-b.txt", b"rollback plan B\n"))
    snap_a = snapshot_take(system=component_a.system, environment=production, by=requester, tag="before-a",
                           values={"max_connections": 100}, request=req_a)
    snap_plain = snapshot_take(system=component_b.system, environment=production, by=requester, tag="nightly",
                               values={"workers": 4})
    clock.set_to(FIXED_NOW)
    att_new = attachment_add(request=req_b, by=requester,
                             upload=SimpleUploadedFile("fresh.txt", b"fresh evidence\n"))
    return {"plain": plain, "req_a": req_a, "req_b": req_b, "att_a": att_a, "att_b": att_b,
            "att_new": att_new,
            "snap_a": snap_a, "snap_plain": snap_plain}


@pytest.fixture
def policies(world, admin_user):
    from apps.audit.retention import retention_policy_set

    for kind in ("attachments", "snapshots", "audit_events"):
        retention_policy_set(kind=kind, days=365, by=admin_user)


@pytest.fixture
def hold_a(world, auditor):
    from apps.audit.retention import legal_hold_set

    return legal_hold_set(target_type="request", target=world["req_a"].reference, reason="Inquiry 2026-17",
                          by=auditor)
