"""Shared personas, services and helpers.

Real services only: PostgreSQL, Redis, a Celery worker and Chromium. Outside CI
a missing service skips the tests that need it, saying why; with CI=true a
missing service fails the run.
"""

import datetime as dt
import os
import shutil
import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.db import connection

from apps.accounts.choices import Duty
from apps.core import clock

from .factories import PASSWORD, ComponentFactory, EnvironmentFactory, SystemFactory, TeamFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
FIXED_NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


def _missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true: {what} — nothing may be skipped in CI.", pytrace=False)
    pytest.skip(what)


def _redis_reachable() -> str | None:
    url = settings.REDIS_URL
    if not url:
        return "REDIS_URL is not set"
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            if not sock.recv(16).startswith(b"+PONG"):
                return f"Redis at {parsed.hostname}:{parsed.port} did not answer PING"
    except OSError as exc:
        return f"Redis at {parsed.hostname}:{parsed.port} is unreachable ({exc})"
    return None


def pytest_sessionstart(session):
    if IN_CI:
        problems = []
        if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
            problems.append("DATABASE_URL does not point at PostgreSQL")
        reason = _redis_reachable()
        if reason:
            problems.append(reason)
        if not os.path.exists(CHROMIUM):
            problems.append(f"Chromium is not installed at {CHROMIUM}")
        if problems:
            pytest.exit("CI=true but required services are missing: " + "; ".join(problems), returncode=3)


def pytest_report_header(config):
    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return [f"tollgate: database={db} broker={settings.CELERY_BROKER_URL.split(':')[0]} ci={IN_CI}"]


@pytest.fixture(autouse=True)
def _markers(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing("needs PostgreSQL: set DATABASE_URL=postgres://... to run it")
    if request.node.get_closest_marker("redis"):
        reason = _redis_reachable()
        if reason:
            _missing(f"needs Redis: {reason}")
    if request.node.get_closest_marker("browser"):
        if not os.path.exists(CHROMIUM):
            _missing(f"needs Chromium at {CHROMIUM} (Debian package chromium)")
        try:
            import playwright  # noqa: F401
        except ImportError:
            _missing("needs the playwright Python package")


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    # personas are created per test; the production hasher's cost is not what tests are about
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # the navigation's count is counted on every page unless a test asks for the cache (tests/core/test_inbox_count.py):
    # a per-process cache keyed by user id and audit seq would otherwise carry counts from one test to the next
    settings.TOLLGATE_INBOX_COUNT_SECONDS = 0
    settings.TOLLGATE_FORM_OPTIONS_SECONDS = 0
    settings.TOLLGATE_VISIBLE_IDS_SECONDS = 0  # likewise the remembered visible ids (tests/upgrades/test_visible_ids.py)


@pytest.fixture(autouse=True)
def _audit_flush(request):
    """The append-only trigger refuses DELETE; the flush after a transactional test on SQLite
    (PostgreSQL truncates, which the row trigger does not see) goes through the guarded purge path."""
    from apps.audit import triggers

    triggers.allow_purge(False)
    transactional = any(f in request.fixturenames for f in ("transactional_db", "live_server", "celery_worker"))
    if transactional:
        request.getfixturevalue("transactional_db")  # set up inside this fixture: flushed after its teardown
    yield
    if transactional and connection.vendor == "sqlite":
        triggers.allow_purge(True)  # reset at the next test's setup


@pytest.fixture
def frozen_now():
    with clock.frozen(FIXED_NOW):
        yield FIXED_NOW


# --- personas ---------------------------------------------------------------------------


@pytest.fixture
def team_a(db):
    return TeamFactory(name="Core Banking", slug="core-banking")


@pytest.fixture
def team_b(db):
    return TeamFactory(name="Retail Web", slug="retail-web")


@pytest.fixture
def production(db):
    return EnvironmentFactory(name="Production", slug="production", kind="production", order=0)


@pytest.fixture
def system_a(team_a):
    return SystemFactory(name="Core Ledger", slug="core-ledger", owner_team=team_a, criticality="critical")


@pytest.fixture
def system_b(team_b):
    return SystemFactory(name="Retail Portal", slug="retail-portal", owner_team=team_b)


@pytest.fixture
def component_a(system_a, production):
    return ComponentFactory(system=system_a, environment=production, name="ledger-db", product="postgresql",
                            version="13.14")


@pytest.fixture
def component_b(system_b, production):
    return ComponentFactory(system=system_b, environment=production, name="portal-app", product="django",
                            version="4.2.16")


def _persona(username, roles, teams=()):
    return UserFactory(username=username, roles=list(roles), teams=list(teams))


@pytest.fixture
def requester(team_a):
    return _persona("requester", ["change_manager"], [team_a])


@pytest.fixture
def assessor(db):
    return _persona("assessor", ["change_manager"])


@pytest.fixture
def approver(db):
    return _persona("approver", ["cab_member"])


@pytest.fixture
def implementer(db):
    return _persona("implementer", ["implementer"])


@pytest.fixture
def validator(db):
    return _persona("validator", ["validator"])


@pytest.fixture
def executive(db):
    return _persona("executive", ["executive"])


@pytest.fixture
def auditor(db):
    return _persona("auditor", ["auditor"])


@pytest.fixture
def admin_user(db):
    return _persona("admin", ["admin"])


@pytest.fixture
def outsider(team_b):
    return _persona("outsider", ["change_manager"], [team_b])


@pytest.fixture
def personas(requester, assessor, approver, implementer, validator, executive, auditor, admin_user, outsider):
    return {
        "requester": requester, "assessor": assessor, "approver": approver, "implementer": implementer,
        "validator": validator, "executive": executive, "auditor": auditor, "admin": admin_user,
        "outsider": outsider, "anonymous": None,
    }


def make_request(requester, component, **overrides):
    from apps.upgrades.services import upgrade_create

    fields = dict(
        title="Upgrade ledger database to PostgreSQL 16",
        justification="PostgreSQL 13 reaches end of life in November 2025.",
        risk_class="normal",
        window_start=dt.datetime(2026, 12, 6, 1, 0, tzinfo=dt.UTC),
        window_end=dt.datetime(2026, 12, 6, 5, 0, tzinfo=dt.UTC),
        items=[{"system": component.system_id, "component": component.pk, "current_version": component.version,
                "target_version": "16.4"}],
    )
    fields.update(overrides)
    return upgrade_create(by=requester, **fields)


@pytest.fixture
def upgrade(requester, assessor, implementer, validator, component_a):
    """A draft request on team A's system with assessor, implementer and validator assigned."""
    from apps.upgrades.services import upgrade_duty_assign

    req = make_request(requester, component_a)
    upgrade_duty_assign(request=req, by=requester, user=assessor, duty=Duty.ASSESSOR)
    upgrade_duty_assign(request=req, by=requester, user=implementer, duty=Duty.IMPLEMENTER)
    upgrade_duty_assign(request=req, by=requester, user=validator, duty=Duty.VALIDATOR)
    req.refresh_from_db()
    return req


def client_for(client, user):
    """Django test client signed in as `user` (None: anonymous)."""
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def login(client):
    def _login(user):
        client.logout()
        return client_for(client, user)

    return _login


@pytest.fixture
def api(db):
    from rest_framework.test import APIClient

    def _api(user=None):
        c = APIClient()
        if user is not None:
            c.force_authenticate(user)
        return c

    return _api


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker (in-process thread) on the configured broker: Redis in CI."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10,
                          loglevel="WARNING") as worker:
            yield worker
    finally:
        app.conf.task_always_eager = eager


@pytest.fixture
def chromium(monkeypatch):
    """Debian's Chromium through Playwright. Playwright's sync API runs an event loop in this thread,
    so Django's async-safety check is relaxed for the browser's lifetime."""
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
            # Django may have opened a connection in this thread while Playwright's loop ran
            from django.db import connections

            connections.close_all()


__all__ = ["PASSWORD", "make_request", "client_for", "shutil"]
