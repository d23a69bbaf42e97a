"""In a real browser, with a real worker: the executive opens the KPI dashboard, picks October, requests
the PDF, watches its progress and downloads a valid PDF with the period's figures."""

import subprocess

import pytest
from django.db import connections
from playwright.sync_api import expect

from apps.reporting.models import Report

from ..factories import PASSWORD, UserFactory
from ..reporting.conftest import october  # noqa: F401  (the hand-built October data set)

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


def test_executive_requests_watches_and_downloads_the_pdf(celery_worker, page, live_server, october,
                                                          tmp_path):
    UserFactory(username="exec", first_name="Catherine", last_name="Moreau", roles=["executive"])
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("exec")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Are upgrades getting safer and faster?")
    page.get_by_label("From").fill("2026-10-01")
    page.get_by_label("To").fill("2026-10-31")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#kpi-change_failures .figure")).to_contain_text("57.1")
    expect(page.locator("#kpi-completed .figure")).to_have_text("5")
    expect(page.locator("svg[role=img]").first).to_be_visible()

    # a figure leads to exactly the requests it counts
    page.locator("#kpi-completed").get_by_role("link").click()
    expect(page.locator("strong[data-count]")).to_have_text("5")
    expect(page.locator("tbody tr")).to_have_count(5)
    page.go_back()

    page.get_by_role("button", name="Generate the PDF report for 1 Oct 2026 – 31 Oct 2026").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("KPI report 1 Oct 2026 – 31 Oct 2026")
    # the progress partial polls until the worker is done, then offers the downloads
    expect(page.get_by_text("The report is ready.")).to_be_visible(timeout=60_000)
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the PDF").click()
    path = tmp_path / "report.pdf"
    info.value.save_as(path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    text = " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True,
                                   text=True).stdout.split())
    assert "1 Oct 2026 – 31 Oct 2026" in text and "Change failure rate 57.1 %" in text
    report = Report.objects.get()
    assert report.requested_by.username == "exec" and report.status == "done"
