"""The main journey in a real browser: a change manager raises a request and starts its assessment.

Playwright's sync API drives Debian's Chromium against pytest-django's live server.
Screenshots of each step go to the test's tmp_path; with TOLLGATE_SHOTS=<directory> a
copy of the key pages is also written there for people to look at.
"""

import datetime as dt
import os
import re
import shutil
from pathlib import Path

import pytest
from django.db import connections

from apps.audit.models import AuditEvent
from apps.upgrades.models import UpgradeRequest

from ..conftest import make_request
from ..factories import PASSWORD, UserFactory

pytestmark = pytest.mark.browser

TITLE = "Upgrade ledger database to PostgreSQL 16.4"
REFERENCE = re.compile(r"UPG-(\d{4})-\d{4}")


@pytest.fixture
def async_unsafe():
    """Playwright's sync API runs an event loop in the main thread; Django's ORM would refuse to run there."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def manager(team_a):
    """A change manager in the team that owns Core Ledger, working in Berlin time."""
    return UserFactory(username="manager", first_name="Mia", last_name="Manager", roles=["change_manager"],
                       teams=[team_a], timezone="Europe/Berlin")


@pytest.fixture
def shots(tmp_path):
    """shot(page, name): a full-page PNG in tmp_path, copied to $TOLLGATE_SHOTS when that is set."""
    folder = tmp_path / "shots"
    folder.mkdir()
    public = os.environ.get("TOLLGATE_SHOTS", "")
    if public:
        Path(public).mkdir(parents=True, exist_ok=True)

    def shot(page, name: str, keep: bool = False) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if public and keep:
            shutil.copyfile(path, Path(public) / path.name)
        return path

    return shot


@pytest.fixture
def page(chromium, live_server, async_unsafe):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    context.close()
    # While Playwright's loop runs, Django keeps this thread's connections in a context-local store;
    # close them here, or PostgreSQL refuses to drop the test database ("accessed by other users").
    connections.close_all()


def _nav(page, label: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()


def test_manager_raises_request_assigns_assessor_and_starts_assessment(
        page, live_server, shots, manager, assessor, requester, component_a):
    from playwright.sync_api import expect

    # Another request the manager can see (same team), so the search has something to leave out.
    other = make_request(requester, component_a, title="Patch the ledger host kernel")

    # --- sign in -----------------------------------------------------------------------------
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page).to_have_title(re.compile("Sign in"))
    shots(page, "01-login", keep=True)
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My work", level=1)).to_be_visible()
    expect(page.locator(".topbar .me")).to_contain_text("Mia Manager")

    # --- list → new request ------------------------------------------------------------------
    _nav(page, "Upgrade requests")
    expect(page.get_by_role("heading", name="Upgrade requests", level=1)).to_be_visible()
    expect(page.locator("#results")).to_contain_text(other.reference)
    shots(page, "02-list", keep=True)
    page.get_by_role("link", name="New upgrade request").click()
    expect(page.get_by_role("heading", name="New upgrade request", level=1)).to_be_visible()

    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Justification").fill("PostgreSQL 13 is out of support; 16.4 is the approved target.")
    page.get_by_label("Risk class").select_option("normal")
    # typed in the manager's own time zone (Berlin, UTC+1 in December)
    page.get_by_label("Requested window start").fill("2026-12-06T02:00")
    page.get_by_label("Requested window end").fill("2026-12-06T06:00")
    page.locator("#id_items-0-system").select_option(label="Core Ledger")
    page.locator("#id_items-0-component").select_option(label=str(component_a))
    page.locator("#id_items-0-target_version").fill("16.4")
    shots(page, "03-create-form", keep=True)
    page.get_by_role("button", name="Create draft").click()

    # --- detail page: a draft that cannot start its assessment yet -------------------------------
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(TITLE)
    reference = REFERENCE.search(heading.inner_text()).group(0)
    assert page.url.endswith(f"/upgrades/{reference}/")
    expect(heading.locator(".state")).to_have_text("Draft")
    expect(page.locator(".messages")).to_contain_text(f"{reference} created as a draft")
    expect(page.locator("dl.facts").first).to_contain_text("Sun 6 Dec 2026, 02:00 – Sun 6 Dec 2026, 06:00")

    steps = page.locator("section[aria-labelledby=next-h]")
    start = steps.locator("ul.checklist > li", has_text="Start assessment")
    expect(start.locator(".state")).to_have_text("Assessing")
    expect(start).to_contain_text("Blocked")
    expect(start).to_contain_text("Assign an assessor on the People panel.")
    expect(start.get_by_role("button", name="Start assessment")).to_have_count(0)
    shots(page, "04-detail-draft", keep=True)

    # --- People panel: assign the assessor ----------------------------------------------------
    people = page.locator("section[aria-labelledby=people-h]")
    people.get_by_label("Assign assessor").select_option("assessor")
    assign_form = people.locator("form").filter(has=page.get_by_label("Assign assessor"))
    assign_form.get_by_role("button", name="Assign").click()
    expect(page.locator(".messages")).to_contain_text("assessor is now assessor")
    expect(people.locator("dt:has-text('Assessor') + dd")).to_contain_text("assessor")
    shots(page, "05-detail-assessor-assigned")

    # --- start the assessment -----------------------------------------------------------------
    start = steps.locator("ul.checklist > li", has_text="Start assessment")
    expect(start).to_contain_text("Ready")
    expect(start).not_to_contain_text("Assign an assessor")
    start.get_by_role("button", name="Start assessment").click()
    expect(page.get_by_role("heading", level=1).locator(".state")).to_have_text("Assessing")
    expect(page.locator(".messages")).to_contain_text("Start assessment: done.")
    shots(page, "06-detail-assessing", keep=True)

    # --- the list shows it, and the search finds it --------------------------------------------
    _nav(page, "Upgrade requests")
    row = page.locator("#results tbody tr", has_text=reference)
    expect(row).to_contain_text(TITLE)
    expect(row.locator(".state")).to_have_text("Assessing")
    expect(page.locator("#results")).to_contain_text("2 requests")

    search = page.get_by_role("search").get_by_role("textbox", name=re.compile(r"^Search"))
    search.fill(TITLE)
    search.press("Enter")
    expect(page.locator("#results")).to_contain_text("1 request")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator("#results tbody tr").first).to_contain_text(reference)
    expect(page.locator("#results")).not_to_contain_text(other.reference)
    expect(page.locator("#results tbody tr .state")).to_have_text("Assessing")
    shots(page, "07-list-search", keep=True)

    _nav(page, "My work")
    expect(page.get_by_role("heading", name="My work", level=1)).to_be_visible()
    shots(page, "08-my-work", keep=True)

    # --- what was stored, and the audit trail behind it -----------------------------------------
    upgrade = UpgradeRequest.objects.get(reference=reference)
    assert upgrade.state == "assessing"
    assert upgrade.requester == manager
    assert upgrade.risk_class == "normal"
    assert upgrade.window_start == dt.datetime(2026, 12, 6, 1, 0, tzinfo=dt.UTC)
    assert upgrade.window_end == dt.datetime(2026, 12, 6, 5, 0, tzinfo=dt.UTC)
    item = upgrade.items.get()
    assert (item.component_id, item.current_version, item.target_version) == (component_a.pk, "13.14", "16.4")

    events = list(AuditEvent.objects.filter(object_type="upgrades.upgraderequest", object_id=str(upgrade.pk))
                  .order_by("seq").values_list("action", "actor_username", "after"))
    assert [(a, who) for a, who, _ in events] == [
        ("upgrade.create", "manager"), ("duty.assign", "manager"), ("upgrade.transition", "manager")]
    assert events[1][2] == {"duty": "assessor", "user": "assessor"}
    assert events[2][2] == {"state": "assessing"}
    assert AuditEvent.objects.filter(action="auth.login", actor_username="manager", ip="127.0.0.1").exists()
