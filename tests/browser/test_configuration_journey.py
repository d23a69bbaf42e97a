"""In a real browser: the change manager uploads the production and the staging configuration of the system,
sees the drift between them (secrets masked), imports a JUnit report with one failing test and sees that
failure block the submission to the CAB — on the configuration page and in the request's checklist."""

import pytest
from django.db import connections
from playwright.sync_api import expect

from apps.accounts.choices import Duty
from apps.configuration.models import RegressionReport, Snapshot
from apps.core.seed import run_before
from apps.upgrades.choices import State
from apps.upgrades.services import upgrade_duty_assign, upgrade_transition

from ..conftest import make_request
from ..configuration.conftest import PROD, STAGING, as_json
from ..configuration.test_junit import JEST
from ..factories import PASSWORD, EnvironmentFactory, UserFactory

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
def planning(component_a, production, team_a, assessor, implementer, validator, personas):
    EnvironmentFactory(name="Staging", slug="staging", kind="staging", order=1)
    manager = UserFactory(username="manager", first_name="Mia", last_name="Manager", roles=["change_manager"],
                          teams=[team_a], timezone="Europe/Berlin")
    upgrade = make_request(manager, component_a)
    for user, duty in ((assessor, Duty.ASSESSOR), (implementer, Duty.IMPLEMENTER), (validator, Duty.VALIDATOR)):
        upgrade_duty_assign(request=upgrade, by=manager, user=user, duty=duty)
    users = {**personas, "requester": manager}
    for name, who in (("start_assessment", manager), ("finish_assessment", assessor)):
        upgrade = run_before(name, request=upgrade, by=who, users=users)
        upgrade = upgrade_transition(request=upgrade, by=who, transition=name)
    assert upgrade.state == State.PLANNING
    return upgrade, manager


def test_manager_sees_drift_and_the_failing_test_blocking_the_cab(page, live_server, planning, tmp_path):
    upgrade, manager = planning
    (tmp_path / "production.json").write_bytes(as_json(PROD))
    (tmp_path / "staging.json").write_bytes(as_json(STAGING))
    (tmp_path / "junit.xml").write_bytes(JEST)

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.goto(f"{live_server.url}/configuration/requests/{upgrade.reference}/")
    expect(page.locator("h1")).to_contain_text("Configuration & staging")
    expect(page.locator("#drift-h + *")).to_be_visible()
    expect(page.locator("body")).to_contain_text("Upload both below to see the drift")

    for env, tag in (("Production", "prod-2026-11-28"), ("Staging", "staging-2026-11-28")):
        form = page.locator("form", has=page.get_by_role("button", name="Record snapshot"))
        form.get_by_label("System").select_option(label="Core Ledger")
        form.get_by_label("Environment").select_option(label=env)
        form.get_by_label("Tag").fill(tag)
        form.get_by_label("Configuration file").set_input_files(str(tmp_path / f"{env.lower()}.json"))
        form.get_by_role("button", name="Record snapshot").click()
        expect(page.locator(".msg.success")).to_contain_text("Snapshot recorded.")

    drift = page.locator("section", has=page.locator("#drift-h"))
    expect(drift).to_contain_text("4 changed")
    expect(drift.locator("tr", has_text="service.workers")).to_contain_text("16")
    expect(drift.locator("tr", has_text="features.batch_v2")).to_contain_text("added")
    expect(drift.locator("tr", has_text="database.password")).to_contain_text("secret, masked")
    expect(drift).not_to_contain_text("S3cret")

    junit = page.locator("form", has=page.get_by_role("button", name="Import report"))
    junit.get_by_label("JUnit XML report").set_input_files(str(tmp_path / "junit.xml"))
    junit.get_by_role("button", name="Import report").click()
    expect(page.locator(".msg.success")).to_contain_text("Regression report imported.")
    results = page.locator("section", has=page.locator("#junit-h"))
    expect(results).to_contain_text("3 tests")
    expect(results.locator("tr", has_text="PaymentForm validates the amount")).to_contain_text("Amount too high")

    blocks = page.locator("section", has=page.locator("#blocks-h"))
    expect(blocks).to_contain_text("1 failing regression test not accepted")

    # the request's own checklist shows the same gate blocking "Submit to CAB"
    page.goto(f"{live_server.url}{upgrade.get_absolute_url()}")
    expect(page.locator("body")).to_contain_text("1 failing regression test not accepted")

    assert Snapshot.objects.filter(request=upgrade).count() == 2
    assert RegressionReport.objects.get(request=upgrade).failures == 1
    upgrade.refresh_from_db()
    assert upgrade.state == State.PLANNING
