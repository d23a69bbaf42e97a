"""The plan API: persona matrix, CRUD through the services, refusals (400/403/404/409), versions and diff,
query counts at two sizes."""


import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.rollouts import services
from apps.rollouts.models import RollbackTrigger, RunbookStep, Wave
from apps.upgrades.choices import State

from .conftest import counts
from .test_pages import SEE, _grow

WRITE = {**{k: 403 for k in SEE}, "approver": 404, "outsider": 404}


def url(upgrade, suffix=""):
    return f"/api/v1/plans/{upgrade.reference}/{suffix}"


@pytest.fixture
def planned(planning, requester, integration):
    from apps.core.seed import run_before

    run_before("submit_to_cab", request=planning, by=requester, users={})
    return planning


def _status(client, method, path, data=None):
    return getattr(client, method)(path, data, format="json").status_code


@pytest.mark.django_db
def test_persona_matrix(planned, personas, api, requester, integration):
    wave = Wave.objects.get(plan__request=planned)
    trigger = RollbackTrigger.objects.filter(plan__request=planned).first()
    step = RunbookStep.objects.filter(plan__request=planned).first()
    reads = ["", "waves/", f"waves/{wave.pk}/", "triggers/", f"triggers/{trigger.pk}/", "steps/",
             f"steps/{step.pk}/", "fallbacks/", "versions/"]
    writes = [
        ("patch", "", {"strategy": "big_bang"}, 200),
        ("post", "waves/", {"name": "Spare"}, 201),
        ("patch", f"waves/{wave.pk}/", {"entry_criteria": "Backups verified."}, 200),
        ("post", f"waves/{wave.pk}/tiers/", {"layer": "database", "reason": "First."}, 201),
        ("post", "triggers/", {"name": "Manual", "kind": "manual", "action": "roll_back"}, 201),
        ("patch", f"triggers/{trigger.pk}/", {"evaluation_window_minutes": 7}, 200),
        ("patch", f"steps/{step.pk}/", {"verification": "Notice visible."}, 200),
        ("post", "fallbacks/", {"integration": integration.pk, "procedure": "Queue and replay."}, 200),
    ]
    for name, user in personas.items():
        client = api(user)
        for path in reads:
            status = _status(client, "get", url(planned, path))
            assert status == (SEE.get(name) if user else 403) or (user is None and status == 401), (name, path)
        for method, path, data, ok in writes:
            status = _status(client, method, url(planned, path), data)
            expected = ok if name in ("requester", "admin") else WRITE.get(name)
            assert status == (expected if user else 403) or (user is None and status == 401), (name, path, status)
    tier = services.tier_add(wave=wave, by=requester, layer="database", reason="First.")
    seq = iter(range(1000))
    more = [
        ("post", "steps/", lambda: {"key": f"k{next(seq)}", "title": "T", "instructions": "I",
                                    "expected_minutes": 5}, 201),
        ("patch", f"tiers/{tier.pk}/", lambda: {"reason": "The application needs the new schema."}, 200),
    ]
    for name, user in personas.items():
        for method, path, data, ok in more:
            status = _status(api(user), method, url(planned, path), data())
            expected = ok if name in ("requester", "admin") else WRITE.get(name)
            assert status == (expected if user else 403) or (user is None and status == 401), (name, path, status)
    # deletes: every persona but the editors is refused; the admin and the requester delete
    makers = {
        "triggers": lambda: RollbackTrigger.objects.create(plan=planned.plan, name="spare", kind="manual"),
        "waves": lambda: services.wave_add(request=planned, by=requester, name="Spare"),
        "tiers": lambda: services.tier_add(wave=wave, by=requester, layer="other", reason="Spare."),
        "steps": lambda: services.step_add(request=planned, by=requester, key=f"d{next(seq)}", title="T",
                                           instructions="I", expected_minutes=1),
        "fallbacks": lambda: services.fallback_set(request=planned, by=requester, integration=integration.pk,
                                                   procedure="Queue."),
    }
    for kind, make in makers.items():
        for name, user in personas.items():
            obj = make()
            status = _status(api(user), "delete", url(planned, f"{kind}/{obj.pk}/"))
            expected = 204 if name in ("requester", "admin") else WRITE.get(name)
            assert status == (expected if user else 403) or (user is None and status == 401), (name, kind)


@pytest.mark.django_db
def test_persona_matrix_of_the_versions(planned, personas, api, drive):
    request = drive(planned, State.CAB_REVIEW)
    cab = {**SEE, "approver": 200}  # from cab_review on, CAB members see the request
    for name, user in personas.items():
        for path in ("versions/", "versions/1/", "versions/diff/?from=1&to=1", ""):
            status = _status(api(user), "get", url(request, path))
            assert status == (cab.get(name) if user else 403) or (user is None and status == 401), (name, path)


@pytest.mark.django_db
def test_build_a_plan_through_the_api(planning, requester, api, integration, component_a):
    client = api(requester)
    body = client.get(url(planning)).json()
    assert body["recommendation"]["strategy"] == "big_bang" and "Add at least one wave with its maintenance window." \
        in body["analysis"]["gate_reasons"]
    assert client.patch(url(planning), {"strategy": "big_bang", "data_migration_scope": "none"},
                        format="json").status_code == 200
    wave = client.post(url(planning, "waves/"), {"name": "Prod", "window_start": "2026-12-06T02:00",
                                                 "window_end": "2026-12-06T06:00", "timezone": "Europe/Berlin"},
                       format="json").json()
    assert wave["window_start"] == "2026-12-06T01:00:00Z" and wave["systems"] == ["core-ledger"]
    assert wave["local_times"][0]["zone"] == "UTC"
    client.post(url(planning, "triggers/"), {"name": "Errors", "kind": "error_rate", "threshold": "5",
                                             "evaluation_window_minutes": 10, "action": "roll_back"}, format="json")
    for key, deps, runbook in (("stop", [], "forward"), ("upgrade", ["stop"], "forward"),
                               ("start", ["upgrade"], "forward"), ("restore", [], "backout")):
        response = client.post(url(planning, "steps/"), {
            "key": key, "title": key.title(), "instructions": f"{key} it", "expected_minutes": 20,
            "depends_on": deps, "runbook": runbook, "action": "start_service" if key == "start" else "instruction",
            "component": component_a.pk if key == "start" else None}, format="json")
        assert response.status_code == 201, response.json()
    client.post(url(planning, "fallbacks/"), {"integration": integration.pk, "procedure": "Queue."}, format="json")
    body = client.get(url(planning)).json()
    assert body["analysis"]["gate_reasons"] == []
    assert body["analysis"]["order"] == ["stop", "upgrade", "start"] and body["analysis"]["total_minutes"] == 60
    assert body["analysis"]["window_minutes"] == 240


@pytest.mark.django_db
def test_bad_input_is_400_with_the_field_and_writes_nothing(planned, requester, api):
    client = api(requester)
    before = counts()
    cases = [
        ("patch", "", {"strategy": "parallel_run"}, "strategy_justification"),
        ("patch", "", {"planner_timezone": "Nowhere/Land"}, "planner_timezone"),
        ("patch", "", {"colour": "blue"}, "colour"),
        ("post", "waves/", {"name": "W", "window_start": "2026-12-06T05:00", "window_end": "2026-12-06T04:00"},
         "window_end"),
        ("post", "waves/", {"name": "", "systems": ["x"]}, "name"),
        ("post", "triggers/", {"name": "T", "kind": "latency_p95", "threshold": "0"}, "threshold"),
        ("post", "triggers/", {"name": "T", "kind": "health_failures", "threshold": "1.5"}, "threshold"),
        ("post", "steps/", {"key": "k", "title": "T", "instructions": "I", "expected_minutes": 5,
                            "depends_on": ["nope"]}, "depends_on"),
        ("post", "steps/", {"key": "k", "title": "T\x00", "instructions": "I", "expected_minutes": 5}, "title"),
        ("post", "fallbacks/", {"integration": 999999, "procedure": "x"}, "integration"),
    ]
    for method, path, data, field in cases:
        response = getattr(client, method)(url(planned, path), data, format="json")
        assert response.status_code == 400, (path, data, response.content)
        assert field in response.json(), (path, field, response.json())
    assert client.post(url(planned, "waves/"), [1, 2], format="json").status_code == 400
    assert counts() == before


@pytest.mark.django_db
def test_versions_and_diff(planned, requester, approver, api, drive):
    from apps.upgrades.services import upgrade_transition

    request = drive(planned, State.CAB_REVIEW)
    client = api(requester)
    assert client.patch(url(request), {"strategy": "phased"}, format="json").status_code == 409
    upgrade_transition(request=request, by=approver, transition="return_to_planning", reason="Add a trigger.")
    assert client.post(url(request, "triggers/"), {"name": "SLA", "kind": "sla_breach", "threshold": "99.5",
                                                   "action": "pause"}, format="json").status_code == 201
    request = drive(request, State.CAB_REVIEW)
    versions = client.get(url(request, "versions/")).json()
    assert [v["number"] for v in versions] == [2, 1]
    detail = client.get(url(request, "versions/2/")).json()
    assert detail["sha256"] == versions[0]["sha256"] and detail["content"]["request"] == request.reference
    changes = client.get(url(request, "versions/diff/?from=1&to=2")).json()["changes"]
    assert {"path": "triggers › trigger “SLA” › kind", "kind": "added", "before": None,
            "after": "sla_breach"} in changes
    assert client.get(url(request, "versions/diff/?from=1&to=9")).status_code == 404
    assert client.get(url(request, "versions/diff/?from=x&to=2")).status_code == 400


@pytest.mark.django_db
def test_query_counts_do_not_grow(planned, requester, api):
    client = api(requester)
    paths = ["", "waves/", "triggers/", "steps/", "fallbacks/", "versions/"]

    def measure():
        result = {}
        for path in paths:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url(planned, path)).status_code == 200
            result[path] = len(ctx.captured_queries)
        return result

    _grow(planned, 10)
    small = measure()
    _grow(planned, 190, offset=10)
    assert measure() == small
    assert len(client.get(url(planned, "steps/")).json()) > 200


@pytest.mark.django_db
def test_openapi_lists_the_plan_endpoints(requester, api):
    schema = api(requester).get("/api/schema/?format=json").json()
    for path in ("/api/v1/plans/{reference}/", "/api/v1/plans/{reference}/steps/",
                 "/api/v1/plans/{reference}/versions/diff/"):
        assert path in schema["paths"], path
