"""Execution tests: a request with a small runbook (a DAG with an outage step and a validation step), a
backout runbook, and helpers to drive it and to write health results."""

import datetime as dt
import http.server
import threading

import pytest

from apps.core import clock
from apps.execution import selectors
from apps.execution.models import CheckPurpose, CheckResult, CheckRun, HealthCheck
from apps.rollouts.models import Plan, RollbackTrigger, RunbookStep
from tests.upgrades.conftest import drive, _fast_passwords  # noqa: F401  (fixtures)

WINDOW_START = dt.datetime(2026, 12, 6, 1, 0, tzinfo=dt.UTC)
IN_WINDOW = WINDOW_START + dt.timedelta(minutes=30)


def _step(plan, key, title, *, runbook="forward", position=0, duty="implementer", outage=False, after=()):
    step = RunbookStep.objects.create(plan=plan, runbook=runbook, key=key, title=title, position=position,
                                      owner_duty=duty, expected_minutes=10, instructions=f"Do: {title}",
                                      is_outage=outage)
    step.depends_on.set(after)
    return step


def give_runbook(upgrade) -> dict:
    """Replace whatever runbook the plan has with a known one (test setup)."""
    plan = selectors.plan_of(upgrade)
    if plan is None:
        now = clock.now()
        plan = Plan.objects.create(request=upgrade, strategy="big_bang", created_at=now, updated_at=now)
    plan.triggers.all().delete()
    for step in plan.steps.all():
        step.depends_on.clear()
    plan.steps.all().delete()
    s = {}
    s["backup"] = _step(plan, "backup", "Back up the ledger database", position=1)
    s["stop"] = _step(plan, "stop", "Stop the ledger service", position=2, outage=True, after=[s["backup"]])
    s["upgrade"] = _step(plan, "upgrade", "Upgrade PostgreSQL to 16.4", position=3, outage=True, after=[s["stop"]])
    s["start"] = _step(plan, "start-svc", "Start the ledger service", position=4, outage=True,
                       after=[s["upgrade"]])
    s["verify"] = _step(plan, "verify", "Verify balances", position=5, duty="validator", after=[s["start"]])
    s["restore"] = _step(plan, "restore", "Restore the backup", runbook="backout", position=1)
    s["restart"] = _step(plan, "restart", "Start the old version", runbook="backout", position=2,
                         after=[s["restore"]])
    return s


def add_trigger(upgrade, kind, threshold, action="pause", minutes=5, name=None) -> RollbackTrigger:
    plan = selectors.plan_of(upgrade)
    return RollbackTrigger.objects.create(plan=plan, name=name or f"{kind} over {threshold}", kind=kind,
                                          threshold=threshold, evaluation_window_minutes=minutes, action=action)


def write_results(checks, statuses, *, purpose=CheckPurpose.MONITORING, request=None, run=None, latencies=None,
                  start=None, step=dt.timedelta(seconds=20)):
    """One check run per entry of `statuses` (each a status for every check), timestamped `step` apart."""
    at = start or clock.now()
    runs = []
    for index, status in enumerate(statuses):
        check_run = CheckRun.objects.create(purpose=purpose, request=request, execution_run=run, status="done",
                                            requested_at=at, started_at=at, finished_at=at, total=len(checks),
                                            passed=len(checks) if status == "ok" else 0,
                                            failed=0 if status == "ok" else len(checks))
        check_run.checks.set(checks)
        CheckResult.objects.bulk_create(
            CheckResult(run=check_run, health_check=c, status=status,
                        latency_ms=(latencies[index] if latencies else 50.0), detail="", checked_at=at)
            for c in checks)
        runs.append(check_run)
        at += step
    return runs


@pytest.fixture
def endpoint_check(component_a, production):
    from apps.inventory.models import Endpoint

    endpoint = Endpoint.objects.create(system=component_a.system, environment=production, name="ledger-api",
                                       kind="http", target="http://127.0.0.1:9/health")
    return HealthCheck.objects.create(endpoint=endpoint, name="Ledger API health", expect_status=200,
                                      created_at=clock.now())


class OkServer:
    """A health endpoint on 127.0.0.1 that always answers 200 "ok": the tests' pre-checks and smoke tests
    probe it rather than the demo estate (whose port another process on the machine may hold)."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="session")
def ok_server():
    server = OkServer()
    yield server
    server.server.shutdown()
    server.server.server_close()


def own_checks(upgrade, admin, port: int) -> list:
    """Replace the affected systems' checks with two on the tests' own server (test setup)."""
    from apps.execution.health import allowlist_add, healthcheck_save
    from apps.execution.models import AllowedTarget
    from apps.inventory.models import Endpoint, Environment

    systems = selectors.systems_of(upgrade)
    HealthCheck.objects.filter(endpoint__system__in=systems).update(enabled=False)
    if not AllowedTarget.objects.filter(value="127.0.0.1", ports=str(port)).exists():
        allowlist_add(value="127.0.0.1", ports=str(port), note="the tests' server", by=admin)
    production = Environment.objects.get(slug="production")
    checks = []
    for name in ("ledger-api", "ledger-web"):
        endpoint, _ = Endpoint.objects.get_or_create(
            system=systems[0], environment=production, name=name,
            defaults={"kind": "http", "target": f"http://127.0.0.1:{port}/{name}"})
        checks.append(healthcheck_save(by=admin, endpoint=endpoint, name=f"{name} answers", expect_status=200))
    return checks


@pytest.fixture
def scheduled(upgrade, drive, admin_user, ok_server):
    upgrade = drive(upgrade, "scheduled")
    upgrade.steps = give_runbook(upgrade)
    own_checks(upgrade, admin_user, ok_server.port)
    return upgrade


@pytest.fixture
def running(scheduled, drive):
    """In progress (through drive(), so the pre-checks ran green), the clock frozen 30 minutes into the
    window for the whole test."""
    steps = scheduled.steps
    with clock.frozen(IN_WINDOW):
        upgrade = drive(scheduled, "in_progress")
        upgrade.steps = steps
        upgrade.run = selectors.run_current(upgrade)
        upgrade.checks = list(selectors.checks_of(upgrade))
        yield upgrade


def tick(minutes=1):
    clock.set_to(clock.now() + dt.timedelta(minutes=minutes))
