"""In a real browser, with a real worker: the auditor opens the evidence page of a completed request,
requests the evidence pack, watches its progress and downloads a zip whose manifest verifies with the real
`sha256sum -c MANIFEST.sha256`."""

import pytest
from django.db import connections
from playwright.sync_api import expect

from apps.audit.models import AuditEvent
from apps.reporting.models import EvidencePack

from ..factories import PASSWORD
from ..reporting_evidence.conftest import completed, drive, sha256, sha256sum_check, unzip  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB",
                                   accept_downloads=True)
    context.set_default_timeout(15_000)
    pg = context.new_page()
    yield pg
    context.close()
    connections.close_all()


def test_auditor_requests_watches_and_downloads_a_verifiable_evidence_pack(completed, celery_worker, page,
                                                                           live_server, auditor, tmp_path):
    upgrade = completed
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(auditor.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.goto(f"{live_server.url}/reports/evidence/{upgrade.reference}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Evidence pack {upgrade.reference}")
    expect(page.get_by_text("No evidence pack has been built for this request yet")).to_be_visible()
    page.get_by_role("button", name="Build a new evidence pack").click()
    expect(page.get_by_text("The evidence pack is being built.")).to_be_visible()
    # the progress partial polls (htmx) until the worker is done, then offers the download
    expect(page.get_by_text("The evidence pack is ready.")).to_be_visible(timeout=60_000)
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the evidence pack (zip)").click()
    path = tmp_path / "pack.zip"
    info.value.save_as(path)
    data = path.read_bytes()

    pack = EvidencePack.objects.get()
    assert pack.requested_by == auditor and pack.status == "done" and sha256(data) == pack.sha256
    assert info.value.suggested_filename == f"evidence-{upgrade.reference}-{pack.pk}.zip"
    check = sha256sum_check(unzip(data, tmp_path / "unzipped"))
    assert check.returncode == 0 and "summary.pdf: OK" in check.stdout, check.stdout + check.stderr
    assert AuditEvent.objects.filter(action="evidence_pack.downloaded", actor=auditor,
                                     object_id=str(pack.pk)).count() == 1
