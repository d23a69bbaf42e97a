"""Builds the demo through the services, under a frozen clock, in time order.

First the people and the inventory (a fortnight before the oldest request),
then every step of every request, sorted by time across all requests so the
audit chain's timestamps never go backwards. All in one transaction: a failed
seed leaves nothing behind.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Callable

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction

from apps.accounts.choices import NotificationChannel
from apps.accounts.models import Team, User
from apps.accounts.services import profile_update
from apps.audit.services import audit_append
from apps.core import clock
from apps.inventory import importers
from apps.inventory.lifecycle import load_shipped as load_shipped_lifecycle
from apps.inventory.models import Component, Dependency, Endpoint, System
from apps.inventory.services import inventory_object_save
from apps.inventory.views.integrations import IntegrationForm
from apps.upgrades import services as upgrades
from apps.upgrades.models import UpgradeRequest
from apps.upgrades.workflow import TRANSITIONS

from . import data
from .requests import REQUESTS
from .timeline import Plan, Step, plan_all

_before: dict[str, list[Callable]] = defaultdict(list)


def register_before(transition: str, hook: Callable) -> None:
    """Let a later app add what its gates need just before the demo takes `transition`.

    The hook is called as `hook(request=..., by=..., users=...)` with the clock set to
    the moment of the transition; it must write through that app's services.
    """
    if transition not in TRANSITIONS:
        raise ValueError(f"unknown transition {transition}")
    if hook not in _before[transition]:
        _before[transition].append(hook)


def run_before(transition: str, *, request: UpgradeRequest, by, users: dict) -> UpgradeRequest:
    """Call the hooks registered for `transition`; return the request re-read afterwards.

    A hook may itself move the request (the CAB's last vote approves it automatically):
    callers then skip the transition when the request already stands in its target state.
    """
    for hook in _before[transition]:
        hook(request=request, by=by, users=users)
    request.refresh_from_db()
    return request


def already_seeded() -> bool:
    if not User.objects.filter(username="manager").exists():
        return False
    return UpgradeRequest.objects.filter(requester__username__in=data.MANAGERS).count() >= len(REQUESTS)


def demo_users_present() -> list[str]:
    return sorted(User.objects.filter(username__in=data.USERNAMES).values_list("username", flat=True))


class Builder:
    def __init__(self, now: dt.datetime):
        self.now = now
        self.plans: list[Plan] = plan_all(REQUESTS, now)
        self.users: dict[str, User] = {}
        self.components: dict[tuple[str, str, str], Component] = {}
        self.requests: dict[str, UpgradeRequest] = {}
        self._password_hash: str | None = None

    # --- people ----------------------------------------------------------------------------------------

    def _user(self, row, groups, teams, by) -> User:
        username, first, last, roles, team_slugs, tzname = row
        is_admin = username == "admin"
        user = User(username=username, first_name=first, last_name=last, timezone=tzname,
                    email=f"{username}@{data.EMAIL_DOMAIN}", is_staff=is_admin, is_superuser=is_admin,
                    notify_channel=NotificationChannel.APP_ONLY)
        if self._password_hash is None:
            self._password_hash = make_password(data.PASSWORD)
        # one hash for all: the password is the same and published, and each hash costs seconds
        user.password = self._password_hash
        user.full_clean()
        with transaction.atomic():
            user.save()
            user.groups.set([groups[r] for r in roles])
            user.teams.set([teams[t] for t in team_slugs])
            audit_append(action="user.create", actor=by, obj=user,
                         after={"username": username, "name": f"{first} {last}", "email": user.email,
                                "timezone": tzname, "roles": roles, "teams": team_slugs,
                                "is_superuser": user.is_superuser})
        return user

    def people(self) -> None:
        groups = {g.name: g for g in Group.objects.all()}
        admin = self._user(data.USERS[0], groups, {}, None)
        teams = {}
        for slug, name in data.TEAMS:
            team = Team(name=name, slug=slug, email=f"{slug}@{data.EMAIL_DOMAIN}")
            team.full_clean()
            with transaction.atomic():
                team.save()
                audit_append(action="team.create", actor=admin, obj=team, after={"name": name, "slug": slug})
            teams[slug] = team
        for row in data.USERS[1:]:
            self._user(row, groups, teams, admin)
        self.users = {u.username: u for u in User.objects.filter(username__in=data.USERNAMES)
                      .prefetch_related("groups")}

    # --- inventory ---------------------------------------------------------------------------------------

    def _save(self, form_class, values: dict, instance=None):
        form = form_class(data=values, instance=instance)
        if not form.is_valid():
            raise ValueError(f"demo inventory row {values} is invalid: {form.errors.as_json()}")
        return inventory_object_save(form=form, by=self.users["admin"])

    def _tick(self, seconds: int = 20) -> None:
        clock.set_to(clock.now() + dt.timedelta(seconds=seconds))

    def inventory(self) -> None:
        staging = {}
        for spec in REQUESTS:
            for system, component, target in spec.items:
                # staging runs ahead: every change was tried there first
                staging[(system, component)] = target
        for slug, name, kind, order in data.ENVIRONMENTS:
            self._save(importers.EnvironmentRow, {"slug": slug, "name": name, "kind": kind, "order": order})
            self._tick()
        for slug, (name, team, criticality, region, description, workflows, _) in data.SYSTEMS.items():
            self._save(importers.SystemRow, {
                "slug": slug, "name": name, "owner_team": team, "criticality": criticality, "region": region,
                "description": description, "business_workflows": ";".join(workflows)})
            self._tick()
        for slug, system in data.SYSTEMS.items():
            for env, *_ in data.ENVIRONMENTS:
                if env == "dr" and slug in data.NO_DR:
                    continue
                for name, product, version in system[6]:
                    if env == "staging":
                        version = staging.get((slug, name), version)
                    self.components[(slug, env, name)] = self._save(importers.ComponentRow, {
                        "system": slug, "environment": env, "name": name, "product": product,
                        "version": version})
                    self._tick()
                for name, kind, target, expected in data.endpoints(slug, system[6], env):
                    self._save(importers.EndpointRow, {"system": slug, "environment": env, "name": name,
                                                       "kind": kind, "target": target, "expected": expected})
                    self._tick()
        for src, src_comp, dst, dst_comp, constraint, kind, description in data.DEPENDENCIES:
            self._save(importers.DependencyRow, {
                "source_system": src, "source_component": src_comp, "target_system": dst,
                "target_component": dst_comp, "environment": "production", "constraint": constraint,
                "constraint_kind": kind, "description": description}, instance=Dependency())
            self._tick()
        wanted = {row[0] for row in data.INTEGRATIONS}
        systems = {s.slug: s.pk for s in System.objects.filter(slug__in=wanted)}
        for slug, name, partner, protocol, endpoint, notes in data.INTEGRATIONS:
            endpoint_pk = ""
            if endpoint:
                endpoint_pk = Endpoint.objects.get(system__slug=slug, environment__slug="production",
                                                   name=endpoint).pk
            self._save(IntegrationForm, {"system": systems[slug], "name": name, "partner": partner,
                                         "protocol": protocol, "endpoint": endpoint_pk, "notes": notes})
            self._tick()

    # --- requests ------------------------------------------------------------------------------------------

    def _items(self, spec) -> list[dict]:
        items = []
        for system, name, target in spec.items:
            for env in ("production", "dr"):
                component = self.components.get((system, env, name))
                if component is not None:
                    items.append({"system": component.system_id, "component": component.pk,
                                  "target_version": target})
        return items

    def _run(self, plan: Plan, step: Step) -> None:
        spec, by = plan.spec, self.users[step.actor]
        window = plan.window or (None, None)
        request = self.requests.get(spec.key)
        if step.kind == "create":
            ref = spec.ref
            self.requests[spec.key] = upgrades.upgrade_create(
                by=by, title=spec.title, justification=spec.justification, risk_class=spec.risk,
                window_start=window[0], window_end=window[1], external_ref=ref,
                external_url=f"https://itsm.bank.example/change/{ref}" if ref else "",
                items=self._items(spec))
        elif step.kind == "revise":
            self.requests[spec.key] = upgrades.upgrade_revise(request=self.requests[spec.revises], by=by)
        elif step.kind == "update":
            self.requests[spec.key] = upgrades.upgrade_update(
                request=request, by=by, justification=step.text, window_start=window[0], window_end=window[1])
        elif step.kind == "assign":
            upgrades.upgrade_duty_assign(request=request, by=by, user=self.users[step.user], duty=step.duty)
        elif step.kind == "comment":
            upgrades.comment_add(request=request, by=by, body=step.text)
        elif step.kind == "inventory":
            # the inventory follows the change: production and DR now run the target version
            for item in request.items.select_related("component__system", "component__environment"):
                c = item.component
                if c is None:
                    continue
                values = {"system": c.system.slug, "environment": c.environment.slug, "name": c.name,
                          "product": c.product, "version": item.target_version}
                self.components[(c.system.slug, c.environment.slug, c.name)] = self._save(
                    importers.ComponentRow, values, instance=c)
        else:
            request = run_before(step.transition, request=request, by=by, users=self.users)
            if request.state == TRANSITIONS[step.transition].target:  # a hook took it (automatic decision)
                self.requests[spec.key] = request
                return
            reason = step.text if TRANSITIONS[step.transition].needs_reason else ""
            self.requests[spec.key] = upgrades.upgrade_transition(
                request=request, by=by, transition=step.transition, reason=reason)

    def history(self) -> None:
        queue = [(step.at, p, s, plan, step)
                 for p, plan in enumerate(self.plans) for s, step in enumerate(plan.steps)]
        queue.sort(key=lambda entry: entry[:3])
        for at, _, _, plan, step in queue:
            clock.set_to(at)
            self._run(plan, step)

    def build(self) -> dict:
        start = min(plan.created for plan in self.plans) - dt.timedelta(days=14)
        start = start.replace(hour=9, minute=0, second=0, microsecond=0)
        with transaction.atomic(), clock.frozen(start):
            self.people()
            clock.set_to(start + dt.timedelta(days=1, hours=1))
            self.inventory()
            # vendor lifecycle of the demo's products (endoflife.date data shipped with the app)
            load_shipped_lifecycle(by=self.users["admin"])
            self.history()
            clock.set_to(self.now)
            # after the history: a monthly patch schedule with its first request due, and a vendor advisory
            from apps.reviews.registry_patches import seed_demo as seed_patches

            seed_patches(users=self.users)
            for user in self.users.values():
                # e-mail from now on; the replayed history notified in the app only
                profile_update(user=user, by=user, notify_channel=NotificationChannel.EMAIL_AND_APP)
        return {"users": len(self.users), "systems": len(data.SYSTEMS), "components": len(self.components),
                "requests": len(self.requests), "first": start}


def seed(*, now: dt.datetime | None = None) -> dict:
    return Builder(now or clock.now()).build()
