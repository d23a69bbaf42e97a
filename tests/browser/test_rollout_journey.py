"""In a real browser: the change manager builds a phased plan with two waves, sees that the second wave falls
into the year-end freeze, moves its window, and submits the request to the CAB — the freeze gate lets it
through only then."""

import datetime as dt
import zoneinfo

import pytest
from django.db import connections
from playwright.sync_api import expect

from apps.accounts.choices import Duty
from apps.audit.models import AuditEvent
from apps.core import clock
from apps.core.seed import run_before
from apps.rollouts.calendar import services as calendar
from apps.rollouts.models import Conflict, Wave
from apps.upgrades.choices import State
from apps.upgrades.services import upgrade_duty_assign, upgrade_transition

from ..conftest import make_request
from ..factories import PASSWORD, UserFactory

pytestmark = pytest.mark.browser
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    context.close()
    connections.close_all()


def _saturday_night(weeks_ahead: int) -> dt.datetime:
    """22:00 Berlin on a Saturday at least `weeks_ahead` weeks from now (the live server runs on the real clock)."""
    day = (clock.now() + dt.timedelta(weeks=weeks_ahead)).astimezone(BERLIN).date()
    while day.weekday() != 5:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(22, 0), tzinfo=BERLIN)


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def planning(team_a, component_a, assessor, implementer, validator, admin_user, personas):
    manager = UserFactory(username="manager", first_name="Mia", last_name="Manager", roles=["change_manager"],
                          teams=[team_a], timezone="Europe/Berlin")
    pilot = _saturday_night(3)
    upgrade = make_request(manager, component_a, window_start=pilot, window_end=pilot + dt.timedelta(hours=4))
    for user, duty in ((assessor, Duty.ASSESSOR), (implementer, Duty.IMPLEMENTER), (validator, Duty.VALIDATOR)):
        upgrade_duty_assign(request=upgrade, by=manager, user=user, duty=duty)
    users = {**personas, "requester": manager}
    for name, by in (("start_assessment", manager), ("finish_assessment", assessor)):
        upgrade = run_before(name, request=upgrade, by=by, users=users)
        upgrade = upgrade_transition(request=upgrade, by=by, transition=name)
    everyone = pilot + dt.timedelta(weeks=1)
    calendar.freeze_create(by=admin_user, name="Year-end freeze", reason="Year-end closing: no production changes.",
                           scope="organisation", starts_at=everyone - dt.timedelta(days=1),
                           ends_at=everyone + dt.timedelta(days=4))
    return upgrade, manager, pilot, everyone, users


def test_manager_plans_two_waves_moves_the_one_in_the_freeze_and_submits(page, live_server, planning):
    upgrade, manager, pilot, everyone, users = planning
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # the rollout plan: phased, two waves, windows entered in the manager's own zone (Europe/Berlin)
    page.goto(f"{base}/upgrades/{upgrade.reference}/plan/")
    build_two_waves(page, pilot, everyone)
    waves = list(Wave.objects.filter(plan__request=upgrade).order_by("position"))
    assert [w.window_start for w in waves] == [pilot.astimezone(dt.UTC), everyone.astimezone(dt.UTC)]

    # the schedule checks name the freeze the second wave falls into
    page.goto(f"{base}/calendar/requests/{upgrade.reference}/")
    conflict = page.locator("li.conflict-open", has_text="Inside a freeze")
    expect(conflict).to_contain_text("Year-end freeze")
    expect(conflict).to_contain_text("Everyone")

    # the request page's checklist says why it cannot go to the CAB yet, naming the freeze
    page.goto(f"{base}{upgrade.get_absolute_url()}")
    expect(page.locator("body")).to_contain_text("overlaps the freeze “Year-end freeze”")

    # move the second wave one week later, out of the freeze
    page.goto(f"{base}/upgrades/{upgrade.reference}/plan/waves/{waves[1].pk}/")
    moved = everyone + dt.timedelta(weeks=1)
    form = page.locator(f"form[action$='/plan/waves/{waves[1].pk}/']")
    form.get_by_label("Window start").fill(_local(moved))
    form.get_by_label("Window end").fill(_local(moved + dt.timedelta(hours=5)))
    form.locator("button[type=submit]").click()
    waves[1].refresh_from_db()
    assert waves[1].window_start == moved.astimezone(dt.UTC)
    page.goto(f"{base}/calendar/requests/{upgrade.reference}/")
    expect(page.locator("body")).to_contain_text("No open conflict")
    assert Conflict.objects.get(request=upgrade, kind="freeze").status == "resolved"

    # the rest of the plan (triggers, runbooks) and what other apps' gates need come from the same hooks the
    # demo uses (those pages have their own tests); the waves built above are kept as they are
    run_before("submit_to_cab", request=upgrade, by=manager, users=users)
    assert [w.name for w in Wave.objects.filter(plan__request=upgrade).order_by("position")] == ["Pilot", "Everyone"]

    page.goto(f"{base}{upgrade.get_absolute_url()}")
    page.get_by_role("button", name="Submit to CAB").click()
    expect(page.locator("h1 .state")).to_have_text("CAB review")
    upgrade.refresh_from_db()
    assert upgrade.state == State.CAB_REVIEW
    refresh = AuditEvent.objects.filter(action="conflict.refresh", object_id=str(upgrade.pk)).order_by("seq")
    assert any("Year-end freeze" in " ".join(e.data.get("resolved", [])) for e in refresh)


def build_two_waves(page, pilot, everyone) -> None:
    """On the plan page: choose the phased strategy and add two waves, in the manager's zone."""
    strategy = page.locator("form[action$='/plan/strategy/']")
    strategy.get_by_label("Phased (waves)").check()
    strategy.get_by_label("Justification").fill("Pilot on one weekend, everyone the next: the ledger team wants a "
                                                "week of production use before the rest.")
    strategy.locator("button[type=submit]").click()
    for name, start, hours in (("Pilot", pilot, 4), ("Everyone", everyone, 5)):
        form = page.locator("form[action$='/plan/waves/']")
        form.get_by_label("Wave name").fill(name)
        form.get_by_label("Window start").fill(_local(start))
        form.get_by_label("Window end").fill(_local(start + dt.timedelta(hours=hours)))
        form.locator("button[type=submit]").click()
        expect(page.locator("body")).to_contain_text(name)
