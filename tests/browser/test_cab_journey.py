"""The CAB journey in a real browser: the manager submits, two CAB members sign their approvals on the
review page, the manager (also on the CAB) may not approve their own request, and the request is approved.
"""

import os
import re
import shutil

import pytest
from django.db import connections

from apps.audit.models import AuditEvent
from apps.cab.models import Review, Vote
from apps.cab.services import policy_save
from apps.core.seed import run_before
from apps.upgrades.models import UpgradeRequest
from apps.upgrades.services import upgrade_duty_assign, upgrade_transition

from ..conftest import make_request
from ..factories import PASSWORD, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def async_unsafe():
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def people(team_a, assessor, implementer, validator, admin_user):
    manager = UserFactory(username="manager", first_name="Mia", last_name="Manager",
                          roles=["change_manager", "cab_member"], teams=[team_a], timezone="Europe/Berlin")
    cab1 = UserFactory(username="cab1", first_name="Olivia", last_name="Bennett", roles=["cab_member"],
                       timezone="Europe/London")
    cab2 = UserFactory(username="cab2", first_name="Rafael", last_name="Ortega", roles=["cab_member"],
                       timezone="Europe/Madrid")
    return {"manager": manager, "cab1": cab1, "cab2": cab2, "assessor": assessor, "implementer": implementer,
            "validator": validator, "admin": admin_user}


@pytest.fixture
def browser_context(chromium, live_server, async_unsafe):
    contexts = []

    def open_as(username: str):
        context = chromium.new_context(viewport={"width": 1280, "height": 1000}, locale="en-GB")
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="My work", level=1).wait_for()
        return page

    yield open_as
    for context in contexts:
        context.close()
    connections.close_all()


@pytest.fixture
def shot(tmp_path):
    """shot(page, name): a full-page PNG in tmp_path, copied to $TOLLGATE_SHOTS when that is set."""
    public = os.environ.get("TOLLGATE_SHOTS", "")

    def take(page, name: str) -> None:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if public:
            os.makedirs(public, exist_ok=True)
            shutil.copyfile(path, os.path.join(public, path.name))

    return take


def _to_planning(people, component):
    """The request in planning, moved through the services with the same hooks the demo seed uses."""
    manager = people["manager"]
    req = make_request(manager, component)
    for duty in ("assessor", "implementer", "validator"):
        upgrade_duty_assign(request=req, by=manager, user=people[duty], duty=duty)
    for name, who in (("start_assessment", "manager"), ("finish_assessment", "assessor")):
        req = run_before(name, request=req, by=people[who], users=people)
        req = upgrade_transition(request=req, by=people[who], transition=name)
    # what submitting needs from the other apps (a complete plan ...) before the manager clicks
    return run_before("submit_to_cab", request=req, by=manager, users=people)


def _vote(page, live_server, reference, decision="Approve", conditions=""):
    page.goto(f"{live_server.url}/cab/review/{reference}/")
    panel = page.locator("section#vote")
    panel.get_by_label(decision, exact=True).check()
    if conditions:
        panel.get_by_label("Conditions (approval only, one per line)").fill(conditions)
    panel.get_by_label("Your password (to sign)").fill(PASSWORD)
    panel.get_by_role("button", name="Sign and cast vote").click()
    return panel


def test_two_cab_members_sign_and_the_manager_cannot_approve_their_own(
        browser_context, live_server, people, component_a, admin_user, shot):
    from playwright.sync_api import expect

    policy_save(by=admin_user, name="Normal change", risk_class="normal", risk_level="any", quorum=2, veto=True)
    req = _to_planning(people, component_a)
    reference = req.reference

    # --- the manager submits to the CAB on the request page ------------------------------------
    manager = browser_context("manager")
    manager.goto(f"{live_server.url}/upgrades/{reference}/")
    submit = manager.locator("section[aria-labelledby=next-h] ul.checklist > li", has_text="Submit to CAB")
    submit.get_by_role("button", name="Submit to CAB").click()
    expect(manager.get_by_role("heading", level=1).locator(".state")).to_have_text("CAB review")

    # --- the manager sits on the CAB too, but may not approve their own request ------------------
    panel = _vote(manager, live_server, reference)
    expect(manager.locator(".messages")).to_contain_text("Your vote was refused.")
    expect(manager.locator(".messages")).to_contain_text(
        "Segregation of duties: the requester of a normal request may not also be its approver.")
    expect(panel).to_contain_text("0 of 2")
    shot(manager, "cab-01-manager-refused")
    assert not Vote.objects.exists()
    assert AuditEvent.objects.filter(action="cab.vote_refused", actor_username="manager").count() == 1

    # --- cab1 signs an approval with a condition: one of two ------------------------------------------
    cab1 = browser_context("cab1")
    panel = _vote(cab1, live_server, reference, conditions="DBA on call during the window")
    expect(cab1.locator(".messages")).to_contain_text(f"Your signed vote (approve) on {reference} is recorded.")
    expect(panel).to_contain_text("1 of 2")
    expect(panel).to_contain_text("DBA on call during the window")
    shot(cab1, "cab-02-cab1-voted")
    assert UpgradeRequest.objects.get(pk=req.pk).state == "cab_review"

    # --- a wrong password is not a signature ------------------------------------------------------------
    cab2 = browser_context("cab2")
    cab2.goto(f"{live_server.url}/cab/review/{reference}/")
    panel = cab2.locator("section#vote")
    panel.get_by_label("Approve", exact=True).check()
    panel.get_by_label("Your password (to sign)").fill("not my password")
    panel.get_by_role("button", name="Sign and cast vote").click()
    expect(cab2.locator(".messages")).to_contain_text("The password is not correct.")
    assert Vote.objects.count() == 1

    # --- cab2 signs: quorum, the request is approved ---------------------------------------------------
    panel = _vote(cab2, live_server, reference)
    expect(cab2.locator(".messages")).to_contain_text("Quorum reached: the request is approved.")
    expect(panel).to_contain_text("2 of 2")
    shot(cab2, "cab-03-approved")
    cab2.goto(f"{live_server.url}/upgrades/{reference}/")
    expect(cab2.get_by_role("heading", level=1).locator(".state")).to_have_text("Approved")

    manager.goto(f"{live_server.url}/upgrades/{reference}/")
    expect(manager.get_by_role("heading", level=1).locator(".state")).to_have_text("Approved")

    req.refresh_from_db()
    assert req.state == "approved"
    review = Review.objects.get(request=req)
    assert review.outcome == "approved"
    votes = list(Vote.objects.filter(review=review).order_by("signed_at"))
    assert [(v.voter.username, v.signature_method) for v in votes] == [("cab1", "password"), ("cab2", "password")]
    signatures = [AuditEvent.objects.get(seq=v.audit_seq).data["signature"] for v in votes]
    assert all(s["how"] == "password" and re.fullmatch(r"[0-9a-f]{64}", s["plan_sha256"] or "") for s in signatures)
    assert AuditEvent.objects.filter(action="upgrade.transition", object_id=str(req.pk),
                                     data__transition="approve", actor_username="cab2").count() == 1
