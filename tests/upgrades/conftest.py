"""Helpers for the upgrade request tests: drive a request to any state through the services."""

import contextlib
import datetime as dt

import pytest

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.core.seed import run_before
from apps.upgrades.choices import State
from apps.upgrades.models import Attachment, Comment, UpgradeItem, UpgradeRequest
from apps.upgrades.services import upgrade_transition
from apps.upgrades.workflow import TRANSITIONS

# who may take each transition (persona names of tests/conftest.py)
ACTORS: dict[str, tuple[str, ...]] = {
    "start_assessment": ("requester",),
    "finish_assessment": ("assessor",),
    "submit_to_cab": ("requester",),
    "return_to_planning": ("approver",),
    "approve": ("approver",),
    "reject": ("approver",),
    "schedule": ("requester", "implementer"),
    "start": ("implementer",),
    "hand_to_validation": ("implementer",),
    "roll_back": ("implementer",),
    "fail": ("implementer", "validator"),
    "complete": ("validator",),
    "close": ("requester",),
    "replan": ("requester",),
    "cancel": ("requester", "admin"),
}
PERSONAS = ("requester", "assessor", "approver", "implementer", "validator", "executive", "auditor", "admin",
            "outsider")

S = State
# the shortest path of (transition, persona) from draft to each state, through the services
ROUTE: dict[str, list[tuple[str, str]]] = {S.DRAFT: []}
ROUTE[S.ASSESSING] = [("start_assessment", "requester")]
ROUTE[S.PLANNING] = ROUTE[S.ASSESSING] + [("finish_assessment", "assessor")]
ROUTE[S.CAB_REVIEW] = ROUTE[S.PLANNING] + [("submit_to_cab", "requester")]
ROUTE[S.APPROVED] = ROUTE[S.CAB_REVIEW] + [("approve", "approver")]
ROUTE[S.REJECTED] = ROUTE[S.CAB_REVIEW] + [("reject", "approver")]
ROUTE[S.SCHEDULED] = ROUTE[S.APPROVED] + [("schedule", "requester")]
ROUTE[S.IN_PROGRESS] = ROUTE[S.SCHEDULED] + [("start", "implementer")]
ROUTE[S.VALIDATING] = ROUTE[S.IN_PROGRESS] + [("hand_to_validation", "implementer")]
ROUTE[S.COMPLETED] = ROUTE[S.VALIDATING] + [("complete", "validator")]
ROUTE[S.ROLLED_BACK] = ROUTE[S.IN_PROGRESS] + [("roll_back", "implementer")]
ROUTE[S.FAILED] = ROUTE[S.IN_PROGRESS] + [("fail", "implementer")]
ROUTE[S.CANCELLED] = [("cancel", "requester")]
ROUTE[S.CLOSED] = ROUTE[S.COMPLETED] + [("close", "requester")]

REASON = "Driven there by the test."


def reason_for(name: str) -> str:
    return REASON if TRANSITIONS[name].needs_reason else ""


def _inside_window(upgrade: UpgradeRequest):
    """Freeze the clock 30 minutes into the request's window (unless a test already froze it inside)."""
    now = clock.now()
    if upgrade.window_start is None or upgrade.window_start <= now < upgrade.window_end:
        return contextlib.nullcontext()
    return clock.frozen(upgrade.window_start + dt.timedelta(minutes=30))


def take(upgrade: UpgradeRequest, name: str, by, users: dict, reason: str | None = None) -> UpgradeRequest:
    """One transition the way drive() takes it: the apps' hooks first (the demo seed's), then the
    transition itself unless a hook already took it (the CAB's deciding vote approves)."""
    # the execution starts inside the approved window: the clock stands half an hour into it
    inside = _inside_window(upgrade) if name == "start" else contextlib.nullcontext()
    with inside:
        # what each app's gates need comes from the same hooks the demo seed uses
        # (a completed assessment, a complete plan, the CAB's votes ...)
        upgrade = run_before(name, request=upgrade, by=by, users=users)
        if upgrade.state == TRANSITIONS[name].target:
            return upgrade
        return upgrade_transition(request=upgrade, by=by, transition=name,
                                  reason=reason_for(name) if reason is None else reason)


def own_gate_reasons(upgrade: UpgradeRequest, transition: str, owner: str = "upgrades") -> list[str]:
    """The reasons of one app's gates only (other apps' gates are tested in their own tests)."""
    from apps.upgrades import gates

    return [r for gate in gates.gates_for(transition) if gate.owner == owner for r in gate.check(upgrade)]


@pytest.fixture
def drive(personas):
    """drive(upgrade, to_state) -> the request in that state, moved only through upgrade_transition."""

    def _drive(upgrade: UpgradeRequest, to_state: str) -> UpgradeRequest:
        route = ROUTE[to_state]
        upgrade.refresh_from_db()
        start = 0
        if upgrade.state != State.DRAFT:  # continue from where the request is
            reached = [TRANSITIONS[name].target for name, _ in route]
            assert upgrade.state in reached, f"{to_state} is not reachable from {upgrade.state}"
            start = reached.index(upgrade.state) + 1
        for name, who in route[start:]:
            upgrade = take(upgrade, name, personas[who], personas)
        upgrade.refresh_from_db()
        assert upgrade.state == to_state
        return upgrade

    return _drive


def events(upgrade: UpgradeRequest, action: str | None = None):
    qs = AuditEvent.objects.filter(object_type="upgrades.upgraderequest", object_id=str(upgrade.pk))
    if action:
        qs = qs.filter(action=action)
    return qs.order_by("seq")


def counts() -> dict[str, int]:
    """What a refused write must leave untouched."""
    return {
        "requests": UpgradeRequest.objects.count(),
        "items": UpgradeItem.objects.count(),
        "comments": Comment.objects.count(),
        "attachments": Attachment.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Personas are created per test; the production hasher's cost is not what these tests are about."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
