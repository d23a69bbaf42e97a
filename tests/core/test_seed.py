"""seed_demo: a demo bank with a year of genuine history; safe to run twice, refused in production."""

import datetime as dt
import io
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Min

from apps.accounts.models import Notification, User
from apps.audit.models import AuditEvent
from apps.audit.services import audit_verify
from apps.core import clock
from apps.core.seed import build
from apps.core.seed.requests import REQUESTS
from apps.core.seed.timeline import plan_all
from apps.inventory.models import Component, Dependency, Endpoint, Environment, System
from apps.upgrades.choices import State
from apps.upgrades.models import Comment, UpgradeRequest
from apps.reviews.models import Advisory, PatchOccurrence

from ..factories import UserFactory

PASSWORD = "tollgate-demo"
ROLES = {
    "manager": {"change_manager"}, "manager2": {"change_manager"}, "cab1": {"cab_member"},
    "cab2": {"cab_member"}, "cab3": {"cab_member"}, "implementer": {"implementer"},
    "validator": {"validator"},
    "exec": {"executive"}, "auditor": {"auditor"}, "admin": {"admin"},
}
FLAG = "--i-know-this-is-not-production"


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    # each PBKDF2 hash takes seconds on a slow machine; the seed's logic does not depend on the hasher
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.TOLLGATE_SEED_ALLOWED = True


def _seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _history(request: UpgradeRequest) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type="upgrades.upgraderequest", object_id=str(request.pk))
                .order_by("seq"))


def _counts() -> dict:
    return {model.__name__: model.objects.count()
            for model in (User, System, Component, Dependency, Endpoint, Environment, UpgradeRequest,
                          AuditEvent, Comment, Notification)}


@pytest.mark.django_db
def test_seed_builds_a_bank_with_people_inventory_and_a_year_of_history(monkeypatch):
    seen = []
    monkeypatch.setitem(build._before, "finish_assessment", [
        *build._before.get("finish_assessment", []),
        lambda *, request, by, users: seen.append((request.state, by.username, clock.now()))])
    started = clock.now()

    out = _seed()

    # the people: roles, working password, time zones, teams
    users = {u.username: u
             for u in User.objects.filter(username__in=ROLES).prefetch_related("groups", "teams")}
    assert set(users) == set(ROLES)
    for username, roles in ROLES.items():
        user = users[username]
        assert {g.name for g in user.groups.all()} == roles, username
        assert user.check_password(PASSWORD), username
        assert user.email == f"{username}@tollgate.example"
        assert user.get_full_name()
        assert user.timezone != "UTC" or username == "admin"
    assert users["admin"].is_staff and users["admin"].is_superuser
    assert users["manager"].timezone == "Europe/Berlin" and users["manager2"].timezone == "America/New_York"
    assert System.objects.get(slug="core-ledger").owner_team in users["manager"].teams.all()
    assert not set(users["manager"].teams.all()) & set(users["manager2"].teams.all())
    for username in ("cab1", "cab2", "cab3", "implementer", "validator"):
        assert users[username].teams.exists(), username

    # the inventory: three environments, real products, constraints, probes that stay at home
    assert sorted(Environment.objects.values_list("slug", flat=True)) == ["dr", "production", "staging"]
    assert System.objects.count() >= 15
    regions = set(System.objects.values_list("region", flat=True))
    assert regions >= {"eu-central", "eu-west", "us-east", "ap-south"}
    products = set(Component.objects.values_list("product", flat=True))
    assert products >= {"postgresql", "django", "ubuntu", "rhel", "nginx", "tomcat", "rabbitmq", "redis",
                        "kubernetes"}
    assert Component.objects.filter(product="postgresql", version="13.14", environment__slug="production") \
        .exists()
    for system in System.objects.all():
        assert system.components.filter(environment__slug="production").exists(), system
        assert system.workflow_list, system
    assert Dependency.objects.filter(constraint_kind="pep440").exclude(constraint="").exists()
    assert Dependency.objects.filter(constraint_kind="semver", constraint=">=13 <17",
                                     target_component__product="postgresql").exists()
    assert Endpoint.objects.count() >= System.objects.count()
    assert set(Endpoint.objects.values_list("kind", flat=True)) == {"http", "tcp", "sql", "tls"}
    for target in Endpoint.objects.values_list("target", flat=True):
        host = target.split("://")[-1].split("/")[0].rsplit(":", 1)[0]
        assert host == "127.0.0.1" or host.endswith(".bank.example"), target

    # the requests: every reachable state, a year of them, both managers, every risk class
    # (the request the monthly patch schedule raised "now", at the end of the seed, is checked below)
    raised_by_schedule = set(PatchOccurrence.objects.exclude(request=None).values_list("request_id", flat=True))
    assert len(raised_by_schedule) == 1
    requests = list(UpgradeRequest.objects.exclude(pk__in=raised_by_schedule))
    assert len(requests) >= 40
    states = Counter(r.state for r in requests)
    assert set(states) == set(State.values)
    main = ("draft", "assessing", "planning", "cab_review", "approved", "scheduled", "closed", "cancelled")
    for state in main:
        assert states[state] >= 2, state
    assert {r.requester.username for r in requests} == {"manager", "manager2"}
    assert {r.risk_class for r in requests} == {"standard", "normal", "emergency"}
    created = [r.created_at for r in requests]
    assert (max(created) - min(created)).days >= 300
    assert min(created) > started - dt.timedelta(days=366) and max(created) < started
    assert UpgradeRequest.objects.filter(revised_from__state=State.REJECTED).exists()
    upcoming = UpgradeRequest.objects.filter(state__in=[State.APPROVED, State.SCHEDULED],
                                             window_start__gt=started,
                                             window_start__lt=started + dt.timedelta(weeks=6))
    assert upcoming.count() >= 4
    assert all(r.external_url == f"https://itsm.bank.example/change/{r.external_ref}"
               for r in requests if r.external_ref)
    assert Comment.objects.count() >= 5

    # each request's history is genuine: created first, then one legal transition after another
    for request in requests:
        history = _history(request)
        assert history[0].action == "upgrade.create", request.reference
        assert history[0].created_at == request.created_at
        assert [e.created_at for e in history] == sorted(e.created_at for e in history)
        state = State.DRAFT
        for event in (e for e in history if e.action == "upgrade.transition"):
            assert event.before == {"state": state}, request.reference
            state = event.after["state"]
        assert state == request.state, request.reference
        assert not any(e.action.endswith("refused") or e.action.endswith("denied") for e in history)
        if any(e.action == "upgrade.transition" and e.data["transition"] == "complete" for e in history):
            # the inventory follows a completed upgrade
            for item in request.items.select_related("component"):
                assert item.component.version == item.target_version, request.reference

    # the audit trail verifies, and its timestamps never go backwards
    assert audit_verify().ok
    stamps = list(AuditEvent.objects.order_by("seq").values_list("created_at", flat=True))
    assert stamps == sorted(stamps)
    assert AuditEvent.objects.aggregate(first=Min("created_at"))["first"] < min(created)

    # later apps can prepare their gates just before a transition, at that moment of the history
    finished = AuditEvent.objects.filter(action="upgrade.transition", data__transition="finish_assessment")
    assert len(seen) == finished.count() >= 20
    assert all(state == State.ASSESSING for state, _, _ in seen)
    assert sorted(at for _, _, at in seen) == sorted(finished.values_list("created_at", flat=True))

    # the apps of the journey built their part through their services, at the moment of the history
    from apps.cab.models import Review, Vote
    from apps.configuration.models import Snapshot
    from apps.execution.models import ExecutionRun, HealthCheck
    from apps.reporting.models import Subscription
    from apps.rollouts.models import ApprovedWindow, Conflict, ConflictKind, ConflictStatus, Freeze, PlanVersion

    reached_cab = [r for r in requests if r.submitted_at is not None]
    assert len(reached_cab) >= 25
    for request in reached_cab:
        assert PlanVersion.objects.filter(plan__request=request).exists(), request.reference
        assert Review.objects.filter(request=request).exists(), request.reference
    votes = Vote.objects.filter(decision="approve")
    assert votes.count() >= 20
    assert set(votes.values_list("signature_method", flat=True)) == {"password"}  # every vote re-authenticated
    assert all(v.plan_sha256 == v.plan_version.sha256 for v in votes.select_related("plan_version"))
    assert Freeze.objects.count() >= 2 and ApprovedWindow.objects.count() >= 3
    assert not Conflict.objects.filter(kind=ConflictKind.FREEZE).exists()
    assert not Conflict.objects.filter(status=ConflictStatus.ACCEPTED, justification="").exists()
    executed = [r for r in requests if r.started_at is not None]
    assert len(executed) >= 10
    for request in executed:
        assert ExecutionRun.objects.filter(request=request).exists(), request.reference
        assert Snapshot.objects.filter(request=request).exists(), request.reference
    assert HealthCheck.objects.exists()
    assert Subscription.objects.filter(user__username="exec").exists()

    # sustainment: a monthly patch schedule raised its next standard change; a vendor advisory is on record
    patch_request = UpgradeRequest.objects.get(pk__in=raised_by_schedule)
    assert patch_request.risk_class == "standard" and patch_request.window_start > started
    assert Advisory.objects.exists()

    # the logins are printed
    for username in ROLES:
        assert username in out
    assert PASSWORD in out and "http://127.0.0.1:8000" in out


@pytest.mark.django_db
def test_seeding_refuses_when_not_allowed_and_writes_nothing(settings):
    settings.TOLLGATE_SEED_ALLOWED = False
    before = _counts()

    with pytest.raises(CommandError, match=FLAG):
        _seed()

    assert _counts() == before


@pytest.mark.django_db
def test_seeding_refuses_a_database_with_some_demo_users_already():
    UserFactory(username="manager")
    before = _counts()

    with pytest.raises(CommandError, match="already exist"):
        _seed()

    assert _counts() == before


@pytest.mark.django_db
def test_the_flag_allows_seeding_and_a_second_run_changes_nothing(settings):
    settings.TOLLGATE_SEED_ALLOWED = False
    _seed(FLAG)
    after_first = _counts()
    # every demo request, and the one the monthly patch schedule raised at the end
    assert after_first["UpgradeRequest"] == len(REQUESTS) + 1

    out = _seed(FLAG)

    assert _counts() == after_first
    assert "already there" in out and PASSWORD in out
    assert audit_verify().ok


@pytest.mark.parametrize("days", range(0, 364, 11))
def test_the_history_fits_before_now_whatever_the_day_and_hour(days):
    now = dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC) + dt.timedelta(days=days, hours=days * 7 % 24)
    plans = plan_all(REQUESTS, now)

    assert len(plans) == len(REQUESTS)
    for plan in plans:
        moments = [step.at for step in plan.steps]
        assert max(moments) < now, plan.spec.key
        assert plan.created == min(moments) > now - dt.timedelta(days=365), plan.spec.key
        if plan.spec.window.startswith("ahead"):
            assert now < plan.window[0] < now + dt.timedelta(weeks=6), plan.spec.key
        if plan.spec.window == "now":
            assert plan.window[0] < now < plan.window[1], plan.spec.key
