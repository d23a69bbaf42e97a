"""In a real browser: the implementer runs the pre-checks, starts the run and completes steps; then an
endpoint (a real HTTP server on 127.0.0.1, started here) starts failing, the monitoring evaluation fires a
rollback trigger, and the live page shows the pause; the implementer backs out and the request ends
rolled back."""

import datetime as dt
import http.server
import threading

import pytest
from django.db import connections
from playwright.sync_api import expect

from apps.core import clock
from apps.execution import selectors, triggers
from apps.execution.health import allowlist_add, checkrun_execute, checkrun_request, healthcheck_save
from apps.execution.models import CheckRun, HealthCheck
from apps.inventory.models import Endpoint
from apps.upgrades.choices import State

from ..conftest import make_request
from ..execution.conftest import add_trigger, give_runbook
from ..factories import PASSWORD
from ..upgrades.conftest import drive  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


class Service:
    """A health endpoint that answers 200 "ok" until told to fail (then 503)."""

    def __init__(self):
        self.failing = False
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                code, body = (503, b"down") if service.failing else (200, b"ok")
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def service():
    with Service() as svc:
        yield svc


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(viewport={"width": 1280, "height": 1000}, locale="en-GB")
    context.set_default_timeout(15_000)
    pg = context.new_page()
    yield pg
    context.close()
    connections.close_all()


@pytest.fixture
def scheduled_now(requester, assessor, implementer, validator, admin_user, component_a, production,
                  drive, service):  # noqa: F811
    """A request whose window is open now (the live server runs on the real clock), scheduled, with a
    health check on the test's HTTP service and a rollback trigger watching it."""
    from apps.accounts.choices import Duty
    from apps.upgrades.services import upgrade_duty_assign

    now = clock.now()
    upgrade = make_request(requester, component_a, window_start=now - dt.timedelta(hours=5),
                           window_end=now + dt.timedelta(hours=3))
    for user, duty in ((assessor, Duty.ASSESSOR), (implementer, Duty.IMPLEMENTER), (validator, Duty.VALIDATOR)):
        upgrade_duty_assign(request=upgrade, by=requester, user=user, duty=duty)
    # the request is raised and approved a while ago; scheduled four hours before its window
    with clock.frozen(now - dt.timedelta(days=3)):
        upgrade = drive(upgrade, State.SCHEDULED)
    give_runbook(upgrade)
    # only the test's own service is watched (the demo estate's port may be another process's)
    HealthCheck.objects.filter(endpoint__system=component_a.system).update(enabled=False)
    endpoint = Endpoint.objects.create(system=component_a.system, environment=production, name="ledger-api",
                                       kind="http", target=f"http://127.0.0.1:{service.port}/health")
    allowlist_add(value="127.0.0.1", ports=str(service.port), note="the test's service", by=admin_user)
    check = healthcheck_save(by=admin_user, endpoint=endpoint, name="Ledger API answers", expect_status=200)
    trigger = add_trigger(upgrade, "health_failures", 2, name="Ledger API down twice")
    trigger.endpoint = endpoint
    trigger.save()
    # the configuration part's gate on start (a pre-upgrade snapshot) is met by its own hook
    from apps.configuration import services as configuration

    configuration.seed_before_start(request=upgrade, by=implementer, users={"admin": admin_user})
    return upgrade, check


def _wait_for_run(pk: int) -> CheckRun:
    """The check run is executed here, synchronously (no worker in this test)."""
    return checkrun_execute(pk)


def test_implementer_runs_the_upgrade_and_the_trigger_pauses_it(page, live_server, scheduled_now, service):
    upgrade, check = scheduled_now
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("implementer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    here = f"{live_server.url}/upgrades/{upgrade.reference}/execution/"
    page.goto(here)
    expect(page.locator("#start-blockers")).to_contain_text("Run the pre-upgrade checks")

    # pre-checks: queued from the page, run by the worker (here: synchronously), then green
    page.get_by_role("button", name="Run pre-checks").click()
    expect(page.locator("body")).to_contain_text("Pre-upgrade checks queued")
    precheck = CheckRun.objects.filter(request=upgrade, purpose="pre_check").latest("pk")
    _wait_for_run(precheck.pk)
    page.goto(here)
    expect(page.locator("[data-precheck-status]")).to_have_text("Done")
    expect(page.locator("body")).to_contain_text("Nothing: the execution can start.")
    page.get_by_role("button", name="Start execution").click()
    expect(page.locator("[data-run-state]")).to_have_text("Running")

    # steps in DAG order: the stop waits for the backup
    stop = page.locator("tr[data-step=stop]")
    expect(stop).to_contain_text("Waits for: Back up the ledger database")
    backup = page.locator("tr[data-step=backup]")
    backup.get_by_role("button", name="Start step").click()
    backup = page.locator("tr[data-step=backup]")
    expect(backup).to_contain_text("In progress")
    backup.get_by_label("Outcome").select_option("done")
    backup.get_by_label("Output or notes").fill("pg_basebackup: 412 GB in 38 min")
    backup.get_by_role("button", name="Record outcome").click()
    expect(page.locator("tr[data-step=backup]")).to_contain_text("Done")
    page.locator("tr[data-step=stop]").get_by_role("button", name="Start step").click()
    expect(page.locator("tr[data-step=stop]")).to_contain_text("In progress")
    expect(page.locator("#live")).to_contain_text("1 of 5 steps done or skipped")

    # the endpoint starts failing: two monitoring rounds, then the beat's evaluation (called here)
    service.failing = True
    run = selectors.run_current(upgrade)
    for _ in range(2):
        monitoring = checkrun_request(checks=[check], purpose="monitoring", by=None, request=upgrade,
                                      execution_run=run)
        _wait_for_run(monitoring.pk)
    fired = triggers.triggers_evaluate(run=run)
    assert len(fired) == 1 and fired[0].numbers["observed"] == 2

    # the live panel (htmx polling) shows the pause without a reload
    expect(page.locator("#live")).to_contain_text("Paused by a rollback trigger", timeout=15_000)
    expect(page.locator("#live")).to_contain_text("Ledger API down twice")
    expect(page.locator("#live")).to_contain_text("2 consecutive failures")
    page.reload()
    expect(page.get_by_role("button", name="Resume the run")).to_be_visible()
    expect(page.locator("tr[data-step=upgrade]").get_by_role("button", name="Start step")).to_have_count(0)

    # the backout, one button; then its steps, and the request is rolled back
    page.get_by_label("Reason (optional)").fill("Ledger API does not come back.")
    page.get_by_role("button", name="Back out now").click()
    expect(page.locator("#live")).to_contain_text("Backing out.")
    expect(page.locator("#live")).to_contain_text("Ledger API does not come back.")
    page.locator("tr[data-step=stop]").get_by_label("Outcome").select_option("done")
    page.locator("tr[data-step=stop]").get_by_role("button", name="Record outcome").click()
    for key in ("restore", "restart"):
        row = page.locator(f"tr[data-step={key}]")
        row.get_by_role("button", name="Start step").click()
        row = page.locator(f"tr[data-step={key}]")
        row.get_by_label("Outcome").select_option("done")
        row.get_by_role("button", name="Record outcome").click()
    expect(page.locator("#live")).to_contain_text("Rolled back.")
    expect(page.locator("h1 .state")).to_have_text("Rolled back")
    upgrade.refresh_from_db()
    assert upgrade.state == State.ROLLED_BACK
