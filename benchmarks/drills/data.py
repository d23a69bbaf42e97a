"""The drills' people, inventory and requests, written through the services where a governed change is made.

Everyone signs in with the demo's published password. Requests are moved along the workflow the way the
test driver does (tests/upgrades/conftest.py): each app's seed hook first (a passed assessment, a passed
plan, staging evidence), then the transition itself.
"""

import datetime as dt
from functools import cache

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction

from apps.core import clock
from apps.core.seed import run_before
from apps.core.seed.data import PASSWORD

CAB_MEMBERS = 20


@cache
def _hash() -> str:
    return make_password(PASSWORD)  # one hash for everyone: each costs a good part of a second


def user(username: str, roles: list[str], teams=(), superuser: bool = False):
    from apps.accounts.models import User

    found = User.objects.filter(username=username).first()
    if found is not None:
        return found
    with transaction.atomic():
        u = User.objects.create(username=username, email=f"{username}@drill.example", password=_hash(),
                                first_name=username.title(), last_name="Drill", is_superuser=superuser,
                                is_staff=superuser)
        u.groups.add(*Group.objects.filter(name__in=roles))
        u.teams.add(*teams)
    return u


@cache
def world() -> dict:
    """A team, its system with a production component, the personas and twenty CAB members (once)."""
    from apps.accounts.models import Team
    from apps.execution import health
    from apps.inventory.models import Component, Environment, System

    team, _ = Team.objects.get_or_create(slug="drill-team", defaults={"name": "Drill Team"})
    env, _ = Environment.objects.get_or_create(
        slug="production", defaults={"name": "Production", "kind": "production", "order": 0})
    system, _ = System.objects.get_or_create(slug="drill-ledger", defaults={
        "name": "Drill Ledger", "owner_team": team, "criticality": "high", "region": "eu-central"})
    component, _ = Component.objects.get_or_create(system=system, environment=env, name="ledger-db",
                                                   defaults={"product": "postgresql", "version": "13.14"})
    people = {
        "admin": user("drill-admin", ["admin"], superuser=True),
        "requester": user("drill-manager", ["change_manager"], [team]),
        "assessor": user("drill-assessor", ["change_manager"]),
        "implementer": user("drill-impl", ["implementer"]),
        "validator": user("drill-validator", ["validator"]),
        "executive": user("drill-exec", ["executive"]),
    }
    cab = [user(f"drill-cab{n:02d}", ["cab_member"]) for n in range(1, CAB_MEMBERS + 1)]
    health.allowlist_add(value="127.0.0.1", ports="", note="the drills' slow HTTP server", by=people["admin"])
    return {"team": team, "environment": env, "system": system, "component": component, "people": people,
            "cab": cab}


def new_request(title: str):
    """A draft request on the drill system with assessor, implementer and validator assigned."""
    from apps.accounts.choices import Duty
    from apps.upgrades.services import upgrade_create, upgrade_duty_assign

    w = world()
    p = w["people"]
    # a window of its own: two requests changing the same system at the same time conflict on the calendar
    from apps.upgrades.models import UpgradeRequest

    slot = UpgradeRequest.objects.filter(requester=p["requester"]).count()
    start = (clock.now() + dt.timedelta(days=10)).replace(hour=1, minute=0, second=0, microsecond=0)
    start += dt.timedelta(hours=5 * slot)
    req = upgrade_create(
        by=p["requester"], title=title, justification="PostgreSQL 13 reaches end of life: drill.",
        risk_class="normal", window_start=start, window_end=start + dt.timedelta(hours=4),
        items=[{"system": w["system"].pk, "component": w["component"].pk, "current_version": "13.14",
                "target_version": "16.4"}])
    upgrade_duty_assign(request=req, by=p["requester"], user=p["assessor"], duty=Duty.ASSESSOR)
    upgrade_duty_assign(request=req, by=p["requester"], user=p["implementer"], duty=Duty.IMPLEMENTER)
    upgrade_duty_assign(request=req, by=p["requester"], user=p["validator"], duty=Duty.VALIDATOR)
    req.refresh_from_db()
    return req


def take(req, transition: str, by):
    """One transition as the test driver takes it: the apps' seed hooks, then the transition (through the
    service) unless a hook already took it. No CAB member is handed to the hooks, so the built-in approval
    policy (quorum 1) applies."""
    from apps.upgrades.services import upgrade_transition
    from apps.upgrades.workflow import TRANSITIONS

    req = run_before(transition, request=req, by=by, users={"by": by})
    if req.state == TRANSITIONS[transition].target:
        return req
    return upgrade_transition(request=req, by=by, transition=transition)


def request_in(state: str, title: str):
    """A new request moved to `planning` (ready to submit to the CAB) or `cab_review` (an open review)."""
    p = world()["people"]
    req = new_request(title)
    req = take(req, "start_assessment", p["requester"])
    req = take(req, "finish_assessment", p["assessor"])
    if state == "planning":
        return req
    req = take(req, "submit_to_cab", p["requester"])
    if state == "cab_review":
        return req
    raise ValueError(state)
