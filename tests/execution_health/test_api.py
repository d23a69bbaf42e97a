"""The health-check API: same rules as the pages, every endpoint in the persona matrix, query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.execution.models import AllowedTarget, Baseline, CheckRun, HealthCheck

from ..factories import EndpointFactory
from .conftest import run_now

VIEW = {"requester": 200, "assessor": 200, "approver": 403, "implementer": 200, "validator": 200, "executive": 403,
        "auditor": 200, "admin": 200, "outsider": 200, "anonymous": 401}
ADMIN_ONLY = {**{k: 403 for k in VIEW}, "admin": 200, "anonymous": 401}


@pytest.fixture
def world(upgrade, http_server, allow_local, make_check, implementer):
    check = make_check("http", http_server.url("/ok"))
    baseline = run_now([check], implementer, purpose="baseline", request=upgrade)
    post = run_now([check], implementer, purpose="post_check", request=upgrade)
    return check, baseline, post


@pytest.mark.django_db
def test_persona_matrix_of_every_endpoint(personas, api, world, upgrade):
    check, _, post = world
    reads = [("/api/v1/health/checks/", VIEW), (f"/api/v1/health/checks/{check.pk}/", VIEW),
             ("/api/v1/health/runs/", VIEW), (f"/api/v1/health/runs/{post.pk}/", {**VIEW, "outsider": 404}),
             (f"/api/v1/health/runs/{post.pk}/results/", {**VIEW, "outsider": 404}),
             (f"/api/v1/health/runs/{post.pk}/comparison/", {**VIEW, "outsider": 404}),
             (f"/api/v1/health/baselines/{upgrade.reference}/", {**VIEW, "outsider": 404}),
             ("/api/v1/health/allow-list/", ADMIN_ONLY)]
    for url, expected in reads:
        for name, user in personas.items():
            assert api(user).get(url).status_code == expected[name], (name, url)
    create = {"endpoint": check.endpoint_id, "name": "another"}
    for name, user in personas.items():
        status = api(user).post("/api/v1/health/checks/", create, format="json").status_code
        assert status == (201 if name in ("requester", "assessor", "outsider", "admin")
                          else 401 if user is None else 403), name
    for name, user in personas.items():
        status = api(user).post("/api/v1/health/runs/", {"checks": [check.pk]}, format="json").status_code
        assert status == (201 if name in ("requester", "assessor", "outsider", "admin", "implementer", "validator")
                          else 401 if user is None else 403), name


@pytest.mark.django_db
def test_request_a_run_and_read_its_results_and_comparison(api, implementer, world, upgrade):
    check, _, post = world
    response = api(implementer).post("/api/v1/health/runs/", {"checks": [check.pk], "purpose": "pre_check",
                                                               "request": upgrade.reference}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "queued" and body["request"] == upgrade.reference and body["total"] == 1
    results = api(implementer).get(f"/api/v1/health/runs/{post.pk}/results/").json()["results"]
    assert results[0]["status"] == "ok" and results[0]["check_name"] == check.name
    comparison = api(implementer).get(f"/api/v1/health/runs/{post.pk}/comparison/").json()
    assert comparison[0]["baseline"] is True and comparison[0]["regression"] is False
    baselines = api(implementer).get(f"/api/v1/health/baselines/{upgrade.reference}/").json()
    assert baselines[0]["samples"] == 5 and baselines[0]["health_check"] == check.pk
    # capturing from the post-check run explicitly adds a newer baseline
    response = api(implementer).post(f"/api/v1/health/baselines/{upgrade.reference}/", {"run": post.pk},
                                     format="json")
    assert response.status_code == 201 and Baseline.objects.count() == 2


@pytest.mark.django_db
def test_bad_input_is_400_with_the_field_and_nothing_written(api, requester, implementer, admin_user, world,
                                                              production, system_a):
    check, _, _ = world
    sql = EndpointFactory(system=system_a, environment=production, kind="sql", target="db:5432/x")
    before = (HealthCheck.objects.count(), CheckRun.objects.count(), AllowedTarget.objects.count(),
              AuditEvent.objects.count())
    cases = [
        (requester, "/api/v1/health/checks/", {"endpoint": sql.pk, "name": "x", "sql_query": "UPDATE t SET a=1"},
         "sql_query"),
        (requester, "/api/v1/health/checks/", {"endpoint": 999999, "name": "x"}, "endpoint"),
        (requester, "/api/v1/health/checks/", {"endpoint": sql.pk, "name": "x\x00", "sql_query": "SELECT 1"},
         "name"),
        (implementer, "/api/v1/health/runs/", {"checks": []}, "checks"),
        (implementer, "/api/v1/health/runs/", {"checks": [999999]}, "checks"),
        (implementer, "/api/v1/health/runs/", {"checks": [check.pk], "purpose": "party"}, "purpose"),
        (admin_user, "/api/v1/health/allow-list/", {"value": "10.0.0.0/8", "ports": "0-10"}, "ports"),
        (admin_user, "/api/v1/health/allow-list/", {"value": "bad host!"}, "value"),
    ]
    for user, url, data, field in cases:
        response = api(user).post(url, data, format="json")
        assert response.status_code == 400 and field in response.json(), (url, data, response.json())
    assert (HealthCheck.objects.count(), CheckRun.objects.count(), AllowedTarget.objects.count(),
            AuditEvent.objects.count()) == before


@pytest.mark.django_db
def test_the_password_is_write_only(api, requester, production, system_a):
    endpoint = EndpointFactory(system=system_a, environment=production, kind="sql", target="db:5432/x")
    response = api(requester).post("/api/v1/health/checks/", {"endpoint": endpoint.pk, "name": "db",
                                                               "sql_query": "SELECT 1", "sql_password": "hunter2-xyz"},
                                   format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["sql_password_set"] is True and "sql_password" not in body and "hunter2" not in response.content.decode()
    check = HealthCheck.objects.get(pk=body["id"])
    response = api(requester).patch(f"/api/v1/health/checks/{check.pk}/", {"name": "db renamed"}, format="json")
    assert response.status_code == 200 and response.json()["sql_password_set"] is True
    assert HealthCheck.objects.get(pk=check.pk).sql_password_encrypted == check.sql_password_encrypted


@pytest.mark.django_db
def test_list_endpoints_query_counts_do_not_grow(api, implementer, http_server, allow_local, make_check):
    client = api(implementer)

    def counts(run):
        found = []
        for url in ("/api/v1/health/checks/", "/api/v1/health/runs/", f"/api/v1/health/runs/{run.pk}/results/",
                    "/api/v1/health/allow-list/"):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code in (200, 403)
            found.append(len(ctx))
        return found

    small = run_now([make_check("http", http_server.url("/ok")) for _ in range(4)], implementer)
    first = counts(small)
    large = run_now([make_check("http", http_server.url("/ok")) for _ in range(40)], implementer)
    for _ in range(10):
        run_now([large.checks.first()], implementer)
    assert counts(large) == first
