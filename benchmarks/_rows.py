"""Grow the rows of any list page or API endpoint, fast, and count the queries it costs.

Shared by `benchmarks/querycounts.py` (10 and 1,000 rows) and `tests/ops/test_query_counts_everywhere.py`
(fewer rows). One row of the listed kind is made (`bake`: required fields filled in, foreign keys pointed at
a small world of real objects made through the services), then cloned with `bulk_create` (`clone`: unique
fields varied, parents of one-per-parent rows cloned too). Audit events go through `audit_append` so the
chain stays valid. A per-row query in a list shows as a different count at two sizes.
"""

import datetime as dt
import decimal
import itertools
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse

_counter = itertools.count(1)


# --- the world every list hangs off -------------------------------------------------------------


class World:
    """Personas, a system with a component, and an upgrade request with its duties, made through services."""

    def __init__(self):
        from apps.accounts.choices import Duty
        from apps.accounts.models import Team, User
        from apps.core import clock
        from apps.inventory.models import Component, Environment, System
        from apps.upgrades.services import upgrade_create, upgrade_duty_assign
        from django.contrib.auth.models import Group

        n = next(_counter)
        self.now = clock.now()
        self.team = Team.objects.create(name=f"QC Team {n}", slug=f"qc-team-{n}")
        self.environment = Environment.objects.create(name=f"QC Env {n}", slug=f"qc-env-{n}",
                                                      kind="production")
        self.system = System.objects.create(name=f"QC System {n}", slug=f"qc-system-{n}",
                                            owner_team=self.team, region="eu-west")
        self.component = Component.objects.create(system=self.system, environment=self.environment,
                                                  name=f"db-{n}", product="postgresql", version="13.14")

        def user(name, roles, teams=(), **extra):
            # no password: the clients sign in with force_login, and hashing is slow by design
            u = User.objects.create_user(username=f"qc-{name}-{n}", email=f"qc-{name}-{n}@example.test",
                                         password=None, **extra)
            u.groups.add(*Group.objects.filter(name__in=roles))
            u.teams.add(*teams)
            return u

        self.admin = user("admin", ["admin"], is_superuser=True, is_staff=True)
        self.manager = user("manager", ["change_manager"], [self.team])
        self.assessor = user("assessor", ["change_manager"])
        self.implementer = user("implementer", ["implementer"])
        self.validator = user("validator", ["validator"])
        self.cab = user("cab", ["cab_member"])
        self.users = {"admin": self.admin, "manager": self.manager, "cab": self.cab}
        start = (self.now + dt.timedelta(days=8)).replace(hour=1, minute=0, second=0, microsecond=0)
        self.request = upgrade_create(
            by=self.manager, title="Upgrade ledger database", justification="End of life.",
            risk_class="normal",
            window_start=start, window_end=start + dt.timedelta(hours=4),
            items=[{"system": self.system.pk, "component": self.component.pk, "current_version": "13.14",
                    "target_version": "16.4"}])
        for person, duty in ((self.assessor, Duty.ASSESSOR), (self.implementer, Duty.IMPLEMENTER),
                             (self.validator, Duty.VALIDATOR)):
            upgrade_duty_assign(request=self.request, by=self.manager, user=person, duty=duty)
        self.request.refresh_from_db()
        self._made: dict[str, models.Model] = {}

    def default(self, model):
        """The world's object for a foreign key to `model` (made on first use)."""
        from apps.accounts.models import Team, User
        from apps.inventory.models import Component, Environment, System
        from apps.upgrades.models import UpgradeRequest

        fixed = {User: self.admin, Team: self.team, Environment: self.environment, System: self.system,
                 Component: self.component, UpgradeRequest: self.request}
        if model in fixed:
            return fixed[model]
        label = model._meta.label
        if label not in self._made:
            per_request = [f for f in model._meta.concrete_fields
                           if f.is_relation and f.unique and f.related_model is UpgradeRequest]
            extra = {per_request[0].name: self.request} if per_request else {}
            self._made[label] = bake(self, model, **extra)
        return self._made[label]


# --- making one row, and many ------------------------------------------------------------------------


def _value(world, f: models.Field, n: int):
    if f.choices:
        return f.choices[0][0]
    if isinstance(f, models.JSONField):
        return {}
    if isinstance(f, models.FileField):
        return f"qc/file-{n}.txt"
    if isinstance(f, (models.SlugField,)):
        return f"qc-{n}"
    if isinstance(f, models.EmailField):
        return f"qc-{n}@example.test"
    if isinstance(f, models.URLField):
        return f"https://qc-{n}.example.test/"
    if isinstance(f, models.GenericIPAddressField):
        return "127.0.0.1"
    if "zone" in f.name:
        return "Europe/Berlin"
    if f.name == "rrule":
        return "FREQ=WEEKLY;BYDAY=SU"
    if isinstance(f, (models.CharField, models.TextField)):
        return f"QC {f.name} {n}"[: f.max_length or 200]
    if isinstance(f, models.BooleanField):
        return False
    later = any(w in f.name for w in ("end", "until", "expires", "due"))  # after the start, in the future
    if isinstance(f, models.DateTimeField):
        return world.now + dt.timedelta(days=30) if later else world.now
    if isinstance(f, models.DateField):
        return (world.now + dt.timedelta(days=30) if later else world.now).date()
    if isinstance(f, models.TimeField):
        return dt.time(1, 0)
    if isinstance(f, models.DurationField):
        return dt.timedelta(hours=1)
    if isinstance(f, models.DecimalField):
        return decimal.Decimal(1)
    if isinstance(f, models.FloatField):
        return 1.0
    if isinstance(f, models.IntegerField):
        return n
    if isinstance(f, models.UUIDField):
        import uuid

        return uuid.uuid4()
    if isinstance(f, models.BinaryField):
        return b""
    raise TypeError(f"no value for {f.model._meta.label}.{f.name} ({type(f).__name__})")


def bake(world, model, **values):
    """One row of `model`: the values given, required fields filled in, foreign keys at the world's own."""
    model = apps.get_model(model) if isinstance(model, str) else model
    n = next(_counter)
    for f in model._meta.concrete_fields:
        if f.primary_key or f.name in values or f.attname in values:
            continue
        if f.is_relation:
            if f.null:
                continue
            target = f.related_model
            if f.one_to_one or f.unique:  # one per parent: a parent of its own
                values[f.name] = clone(world, world.default(target), 1)[0]
            else:
                values[f.name] = world.default(target)
            continue
        if f.has_default() or f.null or getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            continue
        if f.blank and isinstance(f, (models.CharField, models.TextField)):
            continue
        values[f.name] = _value(world, f, n)
    return model.objects.create(**values)


def _unique_sets(model) -> list[tuple[str, ...]]:
    sets = [(f.name,) for f in model._meta.concrete_fields if f.unique and not f.primary_key]
    sets += [tuple(t) for t in model._meta.unique_together]
    sets += [tuple(c.fields) for c in model._meta.constraints
             if isinstance(c, models.UniqueConstraint) and c.fields]
    return sets


_VARIABLE = (models.CharField, models.TextField, models.IntegerField, models.DateTimeField, models.DateField)


def clone(world, obj, count: int, vary: dict | None = None, along: tuple = ()) -> list:
    """`count` copies of `obj` in one bulk insert, unique fields varied (a parent cloned where a foreign key
    is what must differ: the first of `along` in the unique set, else its first foreign key). `vary` maps a
    field name to a function (copy number, index) giving its value."""
    if count <= 0:
        return []
    from apps.audit.models import AuditEvent

    model = type(obj)
    if model is AuditEvent:
        raise TypeError("audit events are appended, never cloned (the chain)")
    fields = {f.name: f for f in model._meta.concrete_fields}
    vary = dict(vary or {})
    for names in _unique_sets(model):
        if any(name in vary for name in names) or any(getattr(obj, fields[n].attname) is None for n in names):
            continue  # varied already, or a null in it (nulls never clash)
        pick = next((fields[n] for n in along if n in names), None)
        pick = pick or next((fields[n] for n in names if isinstance(fields[n], _VARIABLE)
                             and not fields[n].is_relation and not fields[n].choices), None)
        if pick is None:
            pick = next((fields[n] for n in names if fields[n].is_relation), None)
        if pick is None:
            raise TypeError(f"cannot vary {model._meta.label} unique {names}")
        vary[pick.name] = _varier(world, obj, pick, count)
    rows = []
    base = next(_counter) * 100_000
    for i in range(count):
        copy = model()
        for f in model._meta.concrete_fields:
            if f.primary_key and f.auto_created or isinstance(f, models.AutoField):
                continue
            setattr(copy, f.attname, getattr(obj, f.attname))
        for name, fn in vary.items():
            value = fn(base + i, i)
            f = fields[name]
            plain_id = f.is_relation and not isinstance(value, models.Model)
            setattr(copy, f.attname if plain_id else f.name, value)
        rows.append(copy)
    return model.objects.bulk_create(rows, batch_size=500)


def _varier(world, obj, f, count):
    current = getattr(obj, f.attname)
    if f.is_relation:
        parents = clone(world, getattr(obj, f.name), count)
        return lambda k, i: parents[i].pk
    if isinstance(f, models.DateTimeField):
        # never 0: a copy whose number wraps to a multiple of 10,000,000 would repeat the original's time
        return lambda k, i: current + dt.timedelta(minutes=1 + k % 10_000_000)
    if isinstance(f, (models.DateField, models.IntegerField)):  # above every value there is
        top = type(obj).objects.aggregate(top=models.Max(f.name))["top"] or current or 0
        if isinstance(f, models.DateField):
            return lambda k, i: top + dt.timedelta(days=1 + i)
        return lambda k, i: top + 1 + i
    limit = f.max_length or 10_000
    return lambda k, i: f"{str(current)[: max(1, limit - 12)]}-{k}"


def grow_audit(world, count: int) -> None:
    from apps.audit.services import audit_append

    for i in range(count):
        audit_append(action="qc.row", actor=world.admin, data={"n": i})


# --- routes ---------------------------------------------------------------------------------------------


@dataclass
class ListRoute:
    """How to fill one list: `rows(world)` makes one row of the listed kind and returns it (or returns
    a callable growing the list to n rows itself); `kwargs(world, row)` names the URL's parents."""

    name: str
    rows: object
    kwargs: object = None
    user: str = "admin"
    query: object = ""
    label: str = ""
    vary: dict = field(default_factory=dict)
    along: tuple = ()
    shows_rows: bool = True  # False: the page shows figures counted over the rows, not the rows

    @property
    def key(self) -> str:
        return self.label or (self.name + (f"@{self.user}" if self.user != "admin" else ""))

    @property
    def kind(self) -> str:
        return "api" if is_api(self.name) else "page"


def is_api(name: str) -> bool:
    path = reverse_path(name)
    return path.startswith("/api/")


_paths: dict[str, str] = {}


def all_routes() -> dict[str, str]:
    """Every named route of the project (Django's own admin left out) -> its path pattern."""
    if _paths:
        return _paths

    def walk(patterns, prefix="", ns=None):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern), p.namespace or ns)
            elif isinstance(p, URLPattern) and p.name:
                yield (f"{ns}:{p.name}" if ns else p.name), prefix + str(p.pattern)

    for name, path in walk(get_resolver().url_patterns):
        if name.startswith("admin:"):
            continue
        _paths.setdefault(name, "/" + path.replace("^", "").replace("$", ""))
    return _paths


def reverse_path(name: str) -> str:
    return all_routes()[name]


class Grower:
    """Grows one route's rows to a size and counts the queries of one GET."""

    def __init__(self, world, route: ListRoute):
        self.world, self.route = world, route
        self.made: list = []
        self.fn = None

    def grow(self, n: int) -> None:
        if not self.made and self.fn is None:
            first = self.route.rows(self.world)
            if callable(first) and not isinstance(first, models.Model):
                self.fn = first
            else:
                self.made.append(first)
        if self.fn is not None:
            self.fn(n)
            return
        self.made += clone(self.world, self.made[0], n - len(self.made), self.route.vary, self.route.along)

    def url(self) -> str:
        row = self.made[0] if self.made else None
        kwargs = self.route.kwargs(self.world, row) if self.route.kwargs else {}
        query = self.route.query(self.world) if callable(self.route.query) else self.route.query
        return reverse(self.route.name, kwargs=kwargs) + (f"?{query}" if query else "")

    def count(self, client) -> tuple[int, int]:
        """Queries of one GET, and the size of the answer (it grows with the rows shown)."""
        url = self.url()
        from django.core.cache import cache

        cache.clear()  # both sizes counted uncached (the dashboard caches its figures)
        connection.queries_log.clear()  # a full log (9,000 queries) would count nothing
        with CaptureQueriesContext(connection) as ctx:
            accept = "application/json" if self.route.kind == "api" else "text/html"
            response = client.get(url, HTTP_ACCEPT=accept)
        if response.status_code != 200:
            raise AssertionError(f"GET {url} as {self.route.user}: {response.status_code} "
                                 f"{response.content[:300]!r}")
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return len(ctx.captured_queries), len(body)


def test_environment() -> None:
    """Outside pytest: Django's test-client environment (the test host allowed, mail kept in memory)."""
    from django.test import utils

    try:
        utils.setup_test_environment()
    except RuntimeError:  # already set up (pytest does it)
        pass


def client_for(world, route):
    from django.test import Client
    from rest_framework.test import APIClient

    user = world.users[route.user]
    if route.kind == "api":
        c = APIClient()
        c.force_authenticate(user)
    else:
        c = Client()
        c.force_login(user)
    return c


def measure(route: ListRoute, sizes: tuple[int, ...], world=None) -> list[tuple[int, int]]:
    """(queries, bytes) of one GET of the route at each size (rows grown in between; a first GET warms
    caches: sessions, content types, permissions)."""
    world = world or World()
    grower = Grower(world, route)
    client = client_for(world, route)
    counts = []
    for i, n in enumerate(sizes):
        grower.grow(n)
        if i == 0:
            grower.count(client)
        counts.append(grower.count(client))
    return counts


# --- the table: every list route and how its rows grow ------------------------------------------------


def _ref(w, row):
    return {"reference": w.request.reference}


def _slug(w, row):
    return {"slug": w.system.slug}


def _pk_of(attr):
    return lambda w, row: {"pk": getattr(row, attr)}


def _b(label, **values):
    """Rows: one baked row of `label` (values may be callables of the world)."""
    return lambda w: bake(w, label, **{k: (v(w) if callable(v) else v) for k, v in values.items()})


def _audit(w):
    def grow(n):
        from apps.audit.models import AuditEvent

        grow_audit(w, max(0, n - AuditEvent.objects.count()))
    return grow


def _visible_requests(w):
    """Requests the change manager sees through their team's system (an item each), not by duty."""
    from apps.upgrades.models import UpgradeRequest

    item = w.request.items.first()
    made = []

    def grow(n):
        missing = n - UpgradeRequest.objects.filter(items__system__owner_team__members=w.manager).count()
        copies = clone(w, w.request, missing)
        made.extend(copies)
        clone(w, item, len(copies), {"request": lambda k, i: copies[i].pk})
    return grow


def _cab_requests(w):
    from apps.upgrades.models import UpgradeRequest

    UpgradeRequest.objects.filter(pk=w.request.pk).update(state="cab_review")
    w.request.refresh_from_db()
    return w.request


def _ended_requests(w):
    """Requests completed yesterday: the rows of the 'completed' KPI drill-down of the last 30 days."""
    from apps.upgrades.models import UpgradeRequest

    done = w.now - dt.timedelta(days=1)
    UpgradeRequest.objects.filter(pk=w.request.pk).update(
        state="completed", outcome="completed", submitted_at=done - dt.timedelta(days=3),
        decided_at=done - dt.timedelta(days=2), started_at=done - dt.timedelta(hours=2), finished_at=done)
    w.request.refresh_from_db()
    return w.request


def _last_30_days(w) -> str:
    return f"start={(w.now - dt.timedelta(days=30)).date()}&end={w.now.date()}"


def _notification(w):
    return bake(w, "accounts.Notification", user=w.admin)


def _token(w):
    from apps.accounts.models import ApiTokenInfo
    from apps.accounts.services import token_create

    def grow(n):
        for i in range(n - ApiTokenInfo.objects.filter(created_by=w.admin).count()):
            token_create(user=w.admin, by=w.admin, name=f"qc {i}", expires_in_days=None)
    return grow


def _sbom_package(w):
    sbom = bake(w, "inventory.Sbom", component=w.component)
    return bake(w, "inventory.SbomPackage", sbom=sbom)


def _duty(w):
    from apps.upgrades.models import UpgradeRequestUserObjectPermission

    perm = UpgradeRequestUserObjectPermission.objects.filter(content_object=w.request).first()
    return perm


def _assessment(w):
    from apps.assessments.models import Assessment

    return w.default(Assessment)


def _lesson(w):
    return bake(w, "reviews.PostImplementationReview", request=w.request, status="completed",
                lessons="Rehearse the rollback.", completed_at=w.now)


def _window_range(w):
    from urllib.parse import urlencode

    start = w.request.window_start - dt.timedelta(days=1)
    return urlencode({"start": start.isoformat(), "end": (start + dt.timedelta(days=3)).isoformat()})


def _in_run(label):
    """Rows of the execution page: it shows the runbook and its events once a run has started."""
    def rows(w):
        from apps.execution.models import ExecutionRun

        w.default(ExecutionRun)
        return bake(w, label)
    return rows


def _baselines(w):
    """Baselines of distinct checks: the list shows the latest baseline of each check of the request."""
    first = bake(w, "execution.Baseline")
    made = [first]

    def grow(n):
        missing = n - len(made)
        if missing > 0:
            checks = clone(w, first.health_check, missing)
            made.extend(clone(w, first, missing, {"health_check": lambda k, i: checks[i].pk}))
    return grow


R, S = _ref, _slug
ROUTES: list[ListRoute] = [
    # --- pages ---
    ListRoute("core:my-work", _b("cab.Review", retrospective_due=lambda w: w.now.date()), user="cab"),
    ListRoute("accounts:notifications", _notification),
    ListRoute("accounts:user-list", _b("accounts.User")),
    ListRoute("accounts:profile", _token),
    ListRoute("inventory:systems", _b("inventory.System")),
    ListRoute("inventory:environments", _b("inventory.Environment")),
    ListRoute("inventory:components", _b("inventory.Component")),
    ListRoute("inventory:dependencies", _b("inventory.Dependency")),
    ListRoute("inventory:endpoints", _b("inventory.Endpoint")),
    ListRoute("inventory:import", _b("inventory.ImportJob")),
    ListRoute("inventory:capacity", _b("inventory.CapacityRecord")),
    ListRoute("inventory:requirements", _b("inventory.ReleaseRequirement")),
    ListRoute("inventory:workflows", _b("inventory.BusinessWorkflow")),
    ListRoute("inventory:integrations", _b("inventory.Integration")),
    ListRoute("inventory:lifecycle", _b("inventory.ProductRelease")),
    ListRoute("inventory:system-detail", _b("inventory.Component"), S),
    ListRoute("inventory:system-workflows", _b("inventory.BusinessWorkflow"), S),
    ListRoute("inventory:system-integrations", _b("inventory.Integration"), S),
    ListRoute("inventory:component-sbom", _sbom_package, lambda w, r: {"pk": w.component.pk}),
    ListRoute("upgrades:list", lambda w: w.request),
    ListRoute("upgrades:list", _visible_requests, user="manager"),
    ListRoute("upgrades:detail", _b("upgrades.Comment"), R, label="upgrades:detail#comments"),
    ListRoute("upgrades:detail", _b("upgrades.Attachment"), R, label="upgrades:detail#attachments"),
    ListRoute("upgrades:detail", _b("upgrades.UpgradeItem"), R, label="upgrades:detail#items"),
    ListRoute("assessments:detail", _b("assessments.Finding", assessment=_assessment), R),
    ListRoute("assessments:checklist-page", _b("assessments.ChecklistItem"), R),
    ListRoute("rollouts:plan", _b("rollouts.RunbookStep"), R, label="rollouts:plan#steps"),
    ListRoute("rollouts:plan", _b("rollouts.Wave"), R, label="rollouts:plan#waves"),
    ListRoute("rollouts:plan", _b("rollouts.RollbackTrigger"), R, label="rollouts:plan#triggers"),
    ListRoute("rollouts:versions", _b("rollouts.PlanVersion"), R),
    ListRoute("execution:page", _in_run("rollouts.RunbookStep"), R, label="execution:page#steps"),
    # the month of the windows, not the current one (which holds them only for part of the month)
    ListRoute("calendar:month", lambda w: w.request, query=lambda w: f"month={w.request.window_start:%Y-%m}"),
    ListRoute("calendar:month", _visible_requests, user="manager",
              query=lambda w: f"month={w.request.window_start:%Y-%m}"),
    ListRoute("calendar:week", lambda w: w.request, query=lambda w: f"date={w.request.window_start.date()}"),
    ListRoute("calendar:day", lambda w: w.request, query=lambda w: f"date={w.request.window_start.date()}"),
    ListRoute("calendar:freezes", _b("rollouts.Freeze")),
    ListRoute("calendar:windows", _b("rollouts.ApprovedWindow")),
    ListRoute("calendar:feeds", _b("rollouts.CalendarFeed", user=lambda w: w.admin)),
    ListRoute("calendar:request", _b("rollouts.Conflict"), R),
    ListRoute("cab:retrospectives", _b("cab.Review", retrospective_due=lambda w: w.now.date())),
    ListRoute("cab:templates", _b("cab.StandardTemplate")),
    ListRoute("cab:delegations", _b("cab.Delegation")),
    ListRoute("cab:conditions", _b("cab.Condition"), R),
    ListRoute("cab_board:queue", _cab_requests),
    ListRoute("cab_board:queue", _cab_requests, user="cab"),
    ListRoute("cab_board:meetings", _b("cab.Meeting")),
    ListRoute("cab_board:meeting", _b("cab.AgendaItem"), _pk_of("meeting_id"), along=("request",)),
    ListRoute("cab_board:exceptions", _b("rollouts.FreezeException")),
    ListRoute("health:checks", _b("execution.HealthCheck")),
    ListRoute("health:runs", _b("execution.CheckRun")),
    ListRoute("health:run", _b("execution.CheckResult"), _pk_of("run_id"), along=("health_check",)),
    ListRoute("health:allowlist", _b("execution.AllowedTarget")),
    ListRoute("reporting:dashboard", lambda w: w.request, shows_rows=False),
    ListRoute("reporting:kpi", _ended_requests, lambda w, r: {"kpi": "completed"}, query=_last_30_days),
    ListRoute("reporting:reports", _b("reporting.Report")),
    ListRoute("reporting:evidence", _b("reporting.EvidencePack"), R),
    ListRoute("configuration:exceptions", _b("configuration.ConfigException")),
    ListRoute("configuration:request", _b("configuration.PerformanceFigure"), R,
              label="configuration:request#performance"),
    ListRoute("configuration:request", _b("configuration.RegressionReport"), R,
              label="configuration:request#reports"),
    ListRoute("configuration:system", _b("configuration.Snapshot"), S),
    ListRoute("reviews:backlog", _b("reviews.BacklogItem")),
    ListRoute("reviews:lessons", _lesson),
    ListRoute("reviews:request", _b("reviews.ReadinessItem"), R),
    ListRoute("patches:schedules", _b("reviews.PatchSchedule")),
    ListRoute("patches:schedule", _b("reviews.PatchOccurrence"), _pk_of("schedule_id")),
    ListRoute("patches:advisories", _b("reviews.Advisory")),
    ListRoute("patches:advisory", _b("reviews.AdvisoryMatch"), _pk_of("advisory_id"), along=("component",)),
    ListRoute("audit:list", _audit),
    ListRoute("audit:retention_policies", _b("audit.RetentionPolicy")),
    ListRoute("audit:retention_holds", _b("audit.LegalHold")),
    # --- API ---
    ListRoute("accounts-api-tokens", _token),
    ListRoute("accounts-api-users", _b("accounts.User")),
    ListRoute("inventory-system-list", _b("inventory.System")),
    ListRoute("inventory-environment-list", _b("inventory.Environment")),
    ListRoute("inventory-component-list", _b("inventory.Component")),
    ListRoute("inventory-dependency-list", _b("inventory.Dependency")),
    ListRoute("inventory-endpoint-list", _b("inventory.Endpoint")),
    ListRoute("inventory-import-list", _b("inventory.ImportJob")),
    ListRoute("inventory-product-release-list", _b("inventory.ProductRelease")),
    ListRoute("inventory-capacity-list", _b("inventory.CapacityRecord")),
    ListRoute("inventory-requirement-list", _b("inventory.ReleaseRequirement")),
    ListRoute("inventory-workflow-list", _b("inventory.BusinessWorkflow")),
    ListRoute("inventory-integration-list", _b("inventory.Integration")),
    ListRoute("inventory-component-sbom", _sbom_package, lambda w, r: {"pk": w.component.pk}),
    ListRoute("upgrade-list", lambda w: w.request),
    ListRoute("upgrade-list", _visible_requests, user="manager"),
    ListRoute("upgrade-comments", _b("upgrades.Comment"), R),
    ListRoute("upgrade-duties", _duty, R),
    ListRoute("assessment-findings", _b("assessments.Finding", assessment=_assessment), R),
    ListRoute("audit-event-list", _audit),
    ListRoute("retention-policy-list", _b("audit.RetentionPolicy")),
    ListRoute("legal-hold-list", _b("audit.LegalHold")),
    ListRoute("plan-waves", _b("rollouts.Wave"), R),
    ListRoute("plan-triggers", _b("rollouts.RollbackTrigger"), R),
    ListRoute("plan-steps", _b("rollouts.RunbookStep"), R),
    ListRoute("plan-fallbacks", _b("rollouts.IntegrationFallback"), R, along=("integration",)),
    ListRoute("plan-versions", _b("rollouts.PlanVersion"), R),
    ListRoute("calendar", lambda w: w.request, query=_window_range),
    ListRoute("calendar", _visible_requests, query=_window_range, user="manager"),
    ListRoute("freeze-list", _b("rollouts.Freeze")),
    ListRoute("approved-window-list", _b("rollouts.ApprovedWindow")),
    ListRoute("upgrade-conflicts", _b("rollouts.Conflict"), R),
    ListRoute("upgrade-freeze-exceptions", _b("rollouts.FreezeException"), R, along=("freeze",)),
    ListRoute("cab-templates", _b("cab.StandardTemplate")),
    ListRoute("cab-reviews", _b("cab.Review")),
    ListRoute("cab-conditions", _b("cab.Condition"), R),
    ListRoute("cab-delegations", _b("cab.Delegation")),
    ListRoute("cab-queue", _cab_requests),
    ListRoute("cab-queue", _cab_requests, user="cab"),
    ListRoute("cab-meetings", _b("cab.Meeting")),
    ListRoute("cab-meeting-agenda", _b("cab.AgendaItem"), _pk_of("meeting_id"), along=("request",)),
    ListRoute("cab-meeting-attendance", _b("cab.Attendance"), _pk_of("meeting_id"), along=("user",)),
    ListRoute("cab-votes", _b("cab.Vote"), _pk_of("review_id"), along=("voter",)),
    ListRoute("cab-freeze-exceptions", _b("rollouts.FreezeException")),
    ListRoute("execution-run-list", _b("execution.ExecutionRun")),
    ListRoute("execution-events", _b("execution.StepEvent"), R),
    ListRoute("request-incidents", _b("execution.Incident"), R),
    ListRoute("incident-list", _b("execution.Incident")),
    ListRoute("healthcheck-list", _b("execution.HealthCheck")),
    ListRoute("checkrun-list", _b("execution.CheckRun")),
    ListRoute("checkrun-results", _b("execution.CheckResult"), _pk_of("run_id"), along=("health_check",)),
    ListRoute("baseline-list", _baselines, R),
    ListRoute("allowedtarget-list", _b("execution.AllowedTarget")),
    ListRoute("configuration-snapshots", _b("configuration.Snapshot")),
    ListRoute("configuration-baselines", _b("configuration.Baseline")),
    ListRoute("configuration-exceptions", _b("configuration.ConfigException")),
    ListRoute("configuration-request", _b("configuration.PerformanceFigure"), R,
              label="configuration-request#performance"),
    ListRoute("configuration-request", _b("configuration.RegressionReport"), R,
              label="configuration-request#reports"),
    ListRoute("review-follow-ups", _b("reviews.BacklogItem"), R),
    ListRoute("review-readiness", _b("reviews.ReadinessItem"), R),
    ListRoute("review-training", _b("reviews.TrainingRecord"), R),
    ListRoute("backlog-list", _b("reviews.BacklogItem")),
    ListRoute("lesson-list", _lesson),
    ListRoute("patch-schedules", _b("reviews.PatchSchedule")),
    ListRoute("advisories", _b("reviews.Advisory")),
    ListRoute("api-kpi-rows", _ended_requests, lambda w, r: {"kpi": "completed"}, query=_last_30_days),
    ListRoute("api-reports", _b("reporting.Report")),
    ListRoute("api-evidence-packs", _b("reporting.EvidencePack"), R),
]


# Routes that list nothing, by reason. The test fails on a route in neither table (a new list must be
# added to ROUTES) and on a name in either table that no longer exists.
EXCLUDED: dict[str, tuple[str, ...]] = {
    "detail": (
        "accounts-api-me", "accounts:token-created", "accounts:user-detail", "advisory",
        "allowedtarget-detail", "api-evidence-pack", "api-report", "approved-window-detail",
        "assessment-detail", "audit-event-detail", "audit:detail", "audit:retention_dry_run", "cab-meeting",
        "cab-meeting-minutes", "cab-policy", "cab-review", "cab-template", "cab:template",
        "cab_board:exception", "cab_board:minutes", "cab_board:review", "checkrun-comparison",
        "checkrun-detail", "configuration-diff", "configuration-snapshot", "configuration:snapshot",
        "execution-run", "execution:live", "freeze-detail", "health:check", "health:run-progress",
        "healthcheck-detail", "incident-detail", "inventory-capacity-detail", "inventory-component-detail",
        "inventory-dependency-detail", "inventory-endpoint-detail", "inventory-environment-detail",
        "inventory-import-detail", "inventory-integration-detail", "inventory-product-release-detail",
        "inventory-requirement-detail", "inventory-system-detail", "inventory-workflow-detail",
        "inventory:import-detail", "inventory:import-progress", "inventory:sbom-job",
        "inventory:sbom-job-progress", "legal-hold-detail", "patch-schedule", "plan-detail", "plan-fallback",
        "plan-step", "plan-tier", "plan-trigger", "plan-version", "plan-version-diff", "plan-wave",
        "reporting:evidence-status", "reporting:report", "reporting:report-status",
        "retention-policy-detail", "review-detail", "rollouts:version", "upgrade-detail",
    ),
    "action": (
        "accounts-api-token-revoke", "accounts:service-account-create", "accounts:token-create",
        "accounts:token-revoke", "accounts:user-deactivate", "accounts:user-reactivate",
        "accounts:user-token-create", "accounts:user-token-revoke", "advisory-import",
        "advisory-open-request", "assessment-complete", "assessment-run", "assessments:checklist-answer",
        "assessments:complete", "assessments:finding_add", "assessments:resolve", "assessments:run",
        "assessments:start", "audit:checkpoint", "audit:retention_hold_lift",
        "audit:retention_policy_delete", "backlog-done", "cab-agenda-decision", "cab-condition-acknowledge",
        "cab-delegation-end", "cab-freeze-exception-decision", "cab-meeting-agenda-from-queue",
        "cab-retrospective", "cab-template-approve", "cab-template-retire", "cab:condition_acknowledge",
        "cab:delegation_end", "cab:policy_create", "cab:policy_delete", "cab:policy_edit",
        "cab:retrospective", "cab:template_approve", "cab:template_create", "cab:template_retire",
        "cab:vote", "cab_board:agenda_add", "cab_board:agenda_from_queue", "cab_board:attendance",
        "cab_board:decide", "cab_board:meeting_create", "cab_board:review_comment",
        "cab_board:review_return", "calendar:conflict_accept", "calendar:exception_request",
        "calendar:feed_create", "calendar:feed_revoke", "calendar:freeze_create", "calendar:freeze_edit",
        "calendar:freeze_lift", "calendar:refresh", "calendar:window_create", "calendar:window_delete",
        "configuration-accept", "configuration-baseline", "configuration-exception-decide",
        "configuration-junit", "configuration-masking", "configuration-performance",
        "configuration-signoffs", "configuration-topology", "configuration:accept", "configuration:baseline",
        "configuration:exception_add", "configuration:exception_decide", "configuration:junit",
        "configuration:masking", "configuration:order_check", "configuration:performance",
        "configuration:request_snapshot", "configuration:signoff", "configuration:system_snapshot",
        "configuration:topology", "conflict-accept", "deployment-gate", "execution-backout",
        "execution-precheck", "execution-resume", "execution-sign", "execution-start-check",
        "execution-step-finish", "execution-step-start", "execution:backout", "execution:fail",
        "execution:hand_over", "execution:incident_add", "execution:incident_close", "execution:precheck",
        "execution:resume", "execution:roll_back", "execution:sign", "execution:start",
        "execution:step_finish", "execution:step_start", "finding-resolve", "freeze-lift",
        "health:allowlist-remove", "health:check-create", "health:check-edit", "health:run-create",
        "inventory-import-confirm", "inventory-product-release-import-files", "inventory:capacity-create",
        "inventory:capacity-delete", "inventory:capacity-edit", "inventory:component-create",
        "inventory:component-delete", "inventory:component-edit", "inventory:dependency-create",
        "inventory:dependency-delete", "inventory:dependency-edit", "inventory:endpoint-create",
        "inventory:endpoint-delete", "inventory:endpoint-edit", "inventory:environment-create",
        "inventory:environment-delete", "inventory:environment-edit", "inventory:integration-create",
        "inventory:integration-delete", "inventory:integration-edit", "inventory:requirement-create",
        "inventory:requirement-delete", "inventory:requirement-edit", "inventory:system-create",
        "inventory:system-delete", "inventory:system-edit", "inventory:workflow-create",
        "inventory:workflow-delete", "inventory:workflow-edit", "legal-hold-lift", "patch-schedule-active",
        "patches:advisory_import", "patches:advisory_open_request", "patches:advisory_record",
        "patches:schedule_active", "patches:schedule_create", "plan-wave-tiers",
        "reporting:evidence-request", "reporting:report-request", "reporting:subscription-cancel",
        "review-backlog-import", "review-readiness-confirm", "reviews:backlog_done",
        "reviews:backlog_import", "reviews:followup_add", "reviews:readiness_add",
        "reviews:readiness_confirm", "reviews:save", "reviews:training_add", "rollouts:data_migration",
        "rollouts:fallback_delete", "rollouts:fallback_save", "rollouts:step_add", "rollouts:step_delete",
        "rollouts:step_edit", "rollouts:strategy", "rollouts:tier_add", "rollouts:tier_delete",
        "rollouts:trigger_add", "rollouts:trigger_delete", "rollouts:wave_add", "rollouts:wave_delete",
        "rollouts:wave_edit", "upgrade-transition", "upgrades:assign", "upgrades:attach", "upgrades:comment",
        "upgrades:create", "upgrades:edit", "upgrades:revise", "upgrades:transition", "upgrades:unassign",
    ),
    "download": (
        "api-docs", "api-evidence-pack-download", "api-report-download", "api-schema", "cab-meeting-pdf",
        "cab_board:minutes_pdf", "calendar:feed", "reporting:evidence-download", "reporting:export",
        "reporting:report-download", "upgrades:attachment",
    ),
    "auth": (
        "accounts:password-change", "auth-step-up", "home", "login", "logout", "password_change",
        "password_change_done", "password_reset", "password_reset_complete", "password_reset_confirm",
        "password_reset_done",
    ),
    "probe": (
        "healthz", "readyz",
    ),
    "redirect": (
        "cab_board:home", "inventory:index",
    ),
    "bounded": (
        "api-kpis", "audit-event-verify", "cab-policies", "cab:policies", "health:estate",
        "reporting:subscriptions", "upgrade-transitions",
    ),
}
REASONS = {
    "detail": "one object (its own lists, where it has any, are measured on their list routes)",
    "action": "a form or a POST-only action: nothing listed",
    "download": "a file, PDF, CSV, feed or the API schema",
    "auth": "sign-in, password and step-up flows",
    "probe": "liveness and readiness probes",
    "redirect": "a redirect",
    "bounded": ("rows bounded by choices or fixed (policies per risk class, one subscription per "
               "frequency, the transitions of one request, the KPI cards, the demo estate, the chain check)"),
}
