"""In a real browser: the change manager `manager` finds the close blocked by the missing review and
readiness list, completes the post-implementation review, confirms the updated DR runbook, and closes."""

import pytest
from django.db import connections
from playwright.sync_api import expect

from apps.reviews.models import PostImplementationReview
from apps.upgrades.models import UpgradeRequest
from tests.upgrades.conftest import drive  # noqa: F401

from ..factories import PASSWORD, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def requester(team_a):
    """The request is raised by `manager` (drive() takes the requester's transitions as her)."""
    return UserFactory(username="manager", first_name="Mia", last_name="Manager", roles=["change_manager"],
                       teams=[team_a], timezone="Europe/Berlin")


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    context.close()
    connections.close_all()


def test_manager_completes_the_review_and_closes_the_request(page, live_server, upgrade, drive):  # noqa: F811
    completed = drive(upgrade, "completed")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # the request page says what closing waits for
    page.goto(f"{live_server.url}{completed.get_absolute_url()}")
    close = page.locator("section[aria-labelledby=next-h] ul.checklist > li", has_text="Close")
    expect(close).to_contain_text("Write the post-implementation review")
    expect(close).to_contain_text("List the disaster-recovery runbooks")

    page.goto(f"{live_server.url}/reviews/requests/{completed.reference}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Post-implementation review")
    expect(page.get_by_label("Downtime (minutes)")).to_have_value("0")  # prefilled from the execution log
    page.get_by_label("Were the success criteria met?").select_option("met")
    page.get_by_label("What went well").fill("The runbook ran in order; health checks answered quickly.")
    page.get_by_label("What went badly").fill("The replica lagged for ten minutes.")
    page.get_by_role("button", name="Complete review").click()
    expect(page.locator(".errorlist")).to_contain_text("This field is required to complete the review.")
    assert not PostImplementationReview.objects.exists()  # nothing half-written

    page.get_by_label("Lessons learned").fill("Pause replication before the outage step.")
    page.get_by_role("button", name="Complete review").click()
    expect(page.locator(".messages")).to_contain_text("Review completed")
    expect(page.locator("section[aria-labelledby=pir-h]")).to_contain_text("Completed by Mia Manager")

    page.get_by_label("What must be updated").select_option("dr_runbook")
    page.get_by_label("Name of the runbook, document or training").fill("DR runbook for the ledger database")
    page.get_by_role("button", name="Add item").click()
    expect(page.locator(".messages")).to_contain_text("Added to the readiness list")
    page.get_by_label("Link to the updated document").fill("https://wiki.example.com/dr/ledger")
    page.get_by_role("button", name="Confirm updated").click()
    expect(page.locator("section[aria-labelledby=ready-h]")).to_contain_text("Updated — Mia Manager")
    expect(page.locator("section[aria-labelledby=gate-h]")).to_contain_text("Ready to close")

    page.goto(f"{live_server.url}{completed.get_absolute_url()}")
    page.locator("section[aria-labelledby=next-h]").get_by_role("button", name="Close").click()
    expect(page.get_by_role("heading", level=1).locator(".state")).to_have_text("Closed")
    assert UpgradeRequest.objects.get(pk=completed.pk).state == "closed"
