"""In a real browser: the assessor runs the readiness assessment, sees the dependency map and the
blocking incompatibility, accepts the risk with a justification, completes the assessment and moves
the request to planning — the gate lets it through only then."""

import pytest
from django.db import connections
from playwright.sync_api import expect

from apps.accounts.choices import Duty
from apps.assessments.checklists import checklist_answer
from apps.assessments.models import Assessment, Finding
from apps.audit.models import AuditEvent
from apps.upgrades.choices import State
from apps.upgrades.services import upgrade_duty_assign, upgrade_transition

from ..conftest import make_request
from ..factories import PASSWORD, ComponentFactory, DependencyFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    context.close()
    connections.close_all()


@pytest.fixture
def assessing(requester, component_a, system_b, production, team_a):
    """A request to take the ledger database to PostgreSQL 16.4 while the portal only works up to 15."""
    portal_app = ComponentFactory(system=system_b, environment=production, name="portal-app", product="django",
                                  version="4.2.16")
    DependencyFactory(source_system=system_b, source_component=portal_app, target_system=component_a.system,
                      target_component=component_a, constraint=">=13 <16", constraint_kind="semver")
    manager = UserFactory(username="manager", first_name="Mia", last_name="Manager", roles=["change_manager"],
                          teams=[team_a], timezone="Europe/Berlin")
    upgrade = make_request(requester, component_a)
    upgrade_duty_assign(request=upgrade, by=requester, user=manager, duty=Duty.ASSESSOR)
    upgrade = upgrade_transition(request=upgrade, by=requester, transition="start_assessment")
    return upgrade, manager


def test_assessor_resolves_the_blocking_finding_and_moves_the_request_to_planning(page, live_server, assessing):
    upgrade, manager = assessing
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # before any assessment the request page says what the gate waits for
    page.goto(f"{live_server.url}{upgrade.get_absolute_url()}")
    expect(page.locator("body")).to_contain_text("Run the readiness assessment")

    page.goto(f"{live_server.url}/upgrades/{upgrade.reference}/assessment/")
    page.get_by_role("button", name="Start assessment").click()

    # the dependency map, drawn on the server, names the system that depends on what changes
    svg = page.locator("svg[role=img]").first
    expect(svg).to_be_visible()
    expect(svg).to_contain_text("Retail Portal")
    blocking = page.locator("tr", has_text="the target 16.4 is outside it")
    expect(blocking).to_contain_text("Blocking")

    # the review questions are answered through their own service (their pages have their own tests)
    assessment = Assessment.objects.get(request=upgrade)
    for item in assessment.checklist.all():
        checklist_answer(item=item, by=manager, answer="Reviewed with the vendor notes: nothing changes for us.")
    page.get_by_role("button", name="Re-run").click()

    # completing is refused while the incompatibility is open
    row = page.locator("tr", has_text="the target 16.4 is outside it")
    row.get_by_label("Resolution").select_option("accepted")
    row.get_by_label("Justification (required to accept)").fill(
        "The portal moves to the 16-compatible driver in the same window (CHG-2211).")
    row.get_by_role("button", name="Record").click()
    expect(page.locator("tr", has_text="the target 16.4 is outside it")).to_contain_text("Accepted risk")

    page.get_by_role("button", name="Complete assessment").click()
    expect(page.locator("body")).to_contain_text("Ready with accepted risks")

    page.goto(f"{live_server.url}{upgrade.get_absolute_url()}")
    page.get_by_role("button", name="Finish assessment").click()
    expect(page.locator("h1 .state")).to_have_text("Planning")

    upgrade.refresh_from_db()
    assert upgrade.state == State.PLANNING
    finding = Finding.objects.get(assessment=assessment, title__contains="outside it")
    assert finding.resolution == "accepted" and finding.resolved_by == manager
    actions = set(AuditEvent.objects.filter(actor=manager).values_list("action", flat=True))
    assert "upgrade.transition" in actions
    assert any(a.startswith("assessment.") or a.startswith("finding.") for a in actions), actions
