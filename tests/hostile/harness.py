"""Schemathesis against our own API, in-process: one knox token per persona, every check, a row per persona.

Shared by tests/hostile/test_schemathesis.py (few examples, in `make test`) and
benchmarks/drills/hostile.py (many examples, in `make drills`). The world it fuzzes holds real rows
(requests in several states, systems, components) so path parameters reach real objects, not only 404s.
"""

import contextlib
import datetime as dt
import time
from collections import Counter

SCHEMA_PATH = "/api/schema/"
PERSONAS = ("requester", "assessor", "approver", "implementer", "validator", "executive", "auditor", "admin",
            "outsider")
ROLES = {"requester": ["change_manager"], "assessor": ["change_manager"], "approver": ["cab_member"],
         "implementer": ["implementer"], "validator": ["validator"], "executive": ["executive"],
         "auditor": ["auditor"], "admin": ["admin"], "outsider": ["change_manager"]}
# the states the fuzzed requests are in, up to the start of execution (which needs live pre-check probes)
STATES = ("draft", "assessing", "planning", "cab_review", "approved", "scheduled")


def seed_world() -> dict:
    """Personas, two teams, systems, a component and upgrade requests in several states, through services."""
    from apps.accounts.choices import Duty
    from apps.upgrades.services import upgrade_create, upgrade_duty_assign
    from tests.factories import ComponentFactory, EnvironmentFactory, SystemFactory, TeamFactory, UserFactory
    from tests.upgrades.conftest import ROUTE, take

    team_a = TeamFactory(name="Core Banking", slug="core-banking")
    team_b = TeamFactory(name="Retail Web", slug="retail-web")
    production = EnvironmentFactory(name="Production", slug="production", kind="production", order=0)
    system_a = SystemFactory(name="Core Ledger", slug="core-ledger", owner_team=team_a,
                             criticality="critical")
    SystemFactory(name="Retail Portal", slug="retail-portal", owner_team=team_b)
    component = ComponentFactory(system=system_a, environment=production, name="ledger-db",
                                 product="postgresql", version="13.14")
    users = {}
    for name in PERSONAS:
        teams = [team_a] if name == "requester" else [team_b] if name == "outsider" else []
        users[name] = UserFactory(username=name, roles=ROLES[name], teams=teams)
    users["anonymous"] = None
    requests = []
    for i, state in enumerate(STATES):
        start = dt.datetime(2026, 12, 6 + i, 1, 0, tzinfo=dt.UTC)
        req = upgrade_create(
            by=users["requester"], title=f"Upgrade ledger database ({state})",
            justification="PostgreSQL 13 reaches end of life.", risk_class="normal",
            window_start=start, window_end=start + dt.timedelta(hours=4),
            items=[{"system": system_a.pk, "component": component.pk, "current_version": "13.14",
                    "target_version": "16.4"}],
        )
        for user, duty in (("assessor", Duty.ASSESSOR), ("implementer", Duty.IMPLEMENTER),
                           ("validator", Duty.VALIDATOR)):
            upgrade_duty_assign(request=req, by=users["requester"], user=users[user], duty=duty)
        for transition, who in ROUTE[state]:
            req.refresh_from_db()
            req = take(req, transition, users[who], users)
        req.refresh_from_db()
        requests.append(req)
    return {"users": users, "requests": requests, "systems": [system_a.pk], "components": [component.pk]}


def tokens_for(users: dict) -> dict[str, str]:
    from apps.accounts.services import token_create

    return {name: token_create(user=u, by=u, name="schemathesis", expires_in_days=1)[1]
            for name, u in users.items() if u is not None}


SERVER = {"ServerError", "ContentTypeServerError"}
SCHEMA = {"UndefinedStatusCode", "MissingHeaders", "JsonSchemaError", "MissingContentType",
          "MalformedMediaType", "ContentDeserializationError", "DiscriminatorMismatch", "UndefinedContentType",
          "MalformedJson"}


def _negatable(operation) -> bool:
    """Whether a negative case exists: a body, a query or header parameter, or a constrained path parameter
    (any string is a valid path segment: asking for one that is not makes Hypothesis give up)."""
    headers = [p for p in operation.headers if p.name.lower() != "authorization"]  # ours, sent as is
    if list(operation.body) or list(operation.query) or headers:
        return True
    for param in operation.path_parameters:
        schema = param.definition.get("schema", param.definition)
        constrained = set(schema) & {"pattern", "format", "enum", "maxLength", "minLength"}
        if schema.get("type") != "string" or constrained:
            return True
    return False


def _strategies(operation, world: dict, real_rows: int = 9):
    """Positive and negative cases; path parameters mostly real rows, sometimes anything. The real rows come
    first: Hypothesis tries the simplest example (the first branch) first, so even one example reaches one."""
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    refs = [r.reference for r in world["requests"]]
    ids = sorted({r.pk for r in world["requests"]} | set(world["systems"]) | set(world["components"]))
    names = {p.name for p in operation.path_parameters}
    real = []
    if names:
        for ref in refs[:3]:
            for pk in ids[:3]:
                fixed = {n: ref if n == "reference" else pk for n in names if n in ("reference", "pk", "id")}
                if fixed and len(real) < real_rows:
                    real.append(fixed)
    out = []
    modes = [GenerationMode.POSITIVE]
    if _negatable(operation):
        modes.append(GenerationMode.NEGATIVE)
    for mode in modes:
        variants = [operation.as_strategy(generation_mode=mode, path_parameters=fixed) for fixed in real]
        variants.append(operation.as_strategy(generation_mode=mode))
        out.append((mode.value, st.one_of(*variants)))
    return out


def fuzz(persona: str, *, token: str, world: dict, max_examples: int, real_rows: int = 9,
         only: str = "") -> dict:
    """Every operation as `persona` with every check against the in-process app; a row of what was found.

    `only`, a regular expression, keeps the operations whose label ("GET /api/v1/systems/") it matches.
    Runs in the caller's thread and database transaction (the test's), so the world it seeded is visible.
    """
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.core.failures import FailureGroup

    from config.wsgi import application

    with _keep_connection():
        return _fuzz(persona, application=application, token=token, world=world, max_examples=max_examples,
                     real_rows=real_rows, only=only)


@contextlib.contextmanager
def _keep_connection():
    """As Django's test client does: the end of a request must not close the connection of the caller's
    transaction (the test's), or the app would stop seeing the world."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _fuzz(persona: str, *, application, token: str, world: dict, max_examples: int, real_rows: int,
          only: str = "") -> dict:
    import re

    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.core.failures import FailureGroup

    headers = {"Authorization": f"Token {token}"}
    # a schema cannot say which systems exist or that a window must lie ahead: a schema-valid request the
    # service refuses is a 400 naming the field, which counts as handled, not as a rejected valid request
    config = schemathesis.Config.from_dict({"checks": {"positive_data_acceptance": {
        "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "423", "429"]}}})
    schema = schemathesis.openapi.from_wsgi(SCHEMA_PATH, application, headers=headers, config=config)
    found: Counter = Counter()
    errors: list[str] = []
    operations = 0
    cases = 0
    timings: dict[str, float] = {}

    samples: dict[tuple, list] = {}

    def note(kind: str, label: str, text: str) -> None:
        found[kind] += 1
        key = (kind, label.split(" [")[0], text.split("|")[0].split("\n")[0][:120])
        samples.setdefault(key, [0, text[:600]])[0] += 1

    for result in schema.get_all_operations():
        operation = result.ok()
        if operation is None:
            errors.append(f"schema error: {result.err()}")
            continue
        if only and not re.search(only, operation.label):
            continue
        operations += 1
        for mode, strategy in _strategies(operation, world, real_rows):

            @settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case):
                nonlocal cases
                cases += 1
                label = f"{operation.label} [{mode}]"
                try:
                    response = case.call(headers=headers)
                except Exception as exc:  # the app raised: a server error
                    note("ServerError", label, f"raised {exc!r}")
                    return
                try:
                    case.validate_response(response, headers=headers,
                                           transport_kwargs={"app": application, "headers": headers})
                except FailureGroup as group:
                    for failure in group.exceptions:
                        note(type(failure).__name__, label, f"{failure.title}: {failure.message}"
                                                            f" | {case.as_curl_command(headers=headers)}")

            started = time.monotonic()
            try:
                run()
            except Unsatisfiable:  # nothing to negate: every string is a valid path parameter
                pass
            except Exception as exc:  # generation itself failed
                errors.append(f"{operation.label} [{mode}]: {exc!r}"[:400])
            timings[f"{operation.label} [{mode}]"] = time.monotonic() - started
    details = [f"{n} x {kind} {label}: {text}" for (kind, label, _), (n, text) in sorted(samples.items())]
    server = sum(found.pop(k, 0) for k in SERVER)
    schema_violations = sum(found.pop(k, 0) for k in SCHEMA)
    return {"persona": persona, "operations": operations, "examples": cases, "server errors": server,
            "schema violations": schema_violations, "other failures": sum(found.values()),
            "by failure": dict(found), "details": details, "errors": errors,
            "slowest": sorted(timings.items(), key=lambda kv: -kv[1])[:15]}
