"""What schemathesis found, pinned: each answer matches /api/schema/ and refused input is a 4xx, whatever the
examples of the next fuzzing run happen to be."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client, requester):
    client.force_login(requester)
    return client.get("/api/schema/?format=json").json()["components"]["schemas"]


def test_a_plan_that_does_not_exist_yet_is_documented_without_the_plan_fields(client, requester, upgrade,
                                                                               schema):
    body = client.get(f"/api/v1/plans/{upgrade.reference}/").json()
    assert "strategy" not in body and "analysis" in body
    assert set(schema["PlanOverview"]["required"]) <= set(body)
    assert "strategy" in schema["PlanDetail"]["properties"]


def test_blank_urls_and_emails_are_not_documented_as_formatted(schema):
    assert "format" not in schema["UpgradeRequest"]["properties"]["external_url"]
    assert "format" not in schema["Me"]["properties"]["email"]


def test_empty_relations_of_a_cab_review_are_documented_as_null(schema):
    review = schema["Review"]["properties"]
    assert all(review[name].get("nullable") for name in ("template", "plan_version", "plan_sha256"))


def test_the_sbom_page_is_documented_as_a_page(client, requester, component_a, schema):
    body = client.get(f"/api/v1/components/{component_a.pk}/sbom/").json()
    assert set(body) == set(schema["SbomPackagePage"]["properties"]) == {"count", "next", "previous", "results"}


def test_a_blank_page_number_is_refused(client, requester):
    client.force_login(requester)
    assert client.get(reverse("upgrade-list"), {"page": ""}).status_code == 404
    assert client.get(reverse("upgrade-list"), {"page": "1"}).status_code == 200


def test_a_yes_no_parameter_that_is_neither_is_400(client, requester):
    client.force_login(requester)
    assert client.get("/api/v1/freezes/", {"past": "1846"}).status_code == 400
    assert client.get("/api/v1/freezes/", {"past": "true"}).status_code == 200


FORM_BODIES = [
    # (method, path, form body): the long run's findings — a form yielding no field read as "change nothing",
    # a repeated key reaching a service as a list (a 500), a blank date read as null
    ("patch", "/api/v1/plans/{ref}/", b"--b\r\n[[1, 2]]--b--\r\n", "multipart/form-data; boundary=b"),
    ("post", "/api/v1/plans/{ref}/triggers/", b"name=a&kind=x&kind=y", "application/x-www-form-urlencoded"),
    ("patch", "/api/v1/health/checks/{check}/", b"--b\r\nFalse--b--\r\n", "multipart/form-data; boundary=b"),
    ("post", "/api/v1/reports/", b"start=&system=a&system=b", "application/x-www-form-urlencoded"),
]


@pytest.mark.parametrize("method, path, body, content_type", FORM_BODIES)
def test_an_operation_that_takes_no_file_refuses_a_form_body(client, admin_user, upgrade, system_a, production,
                                                             method, path, body, content_type):
    """The API reads JSON: a form body (no null, no types, a key repeated for a list) is 415, written nowhere."""
    from apps.audit.models import AuditEvent
    from apps.core import clock
    from apps.execution.models import HealthCheck
    from tests.factories import EndpointFactory

    check = HealthCheck.objects.create(endpoint=EndpointFactory(system=system_a, environment=production),
                                       name="ledger up", expect_status=200, created_at=clock.now())
    client.force_login(admin_user)
    before = AuditEvent.objects.count()
    answer = client.generic(method.upper(), path.format(ref=upgrade.reference, check=check.pk), body,
                            content_type=content_type)
    assert answer.status_code == 415, answer.content
    assert "Unsupported media type" in answer.json()["detail"]
    assert AuditEvent.objects.count() == before


def test_the_schema_documents_forms_only_where_a_file_is_sent(client, requester):
    client.force_login(requester)
    paths = client.get("/api/schema/?format=json").json()["paths"]
    form_types = {"multipart/form-data", "application/x-www-form-urlencoded"}
    with_forms = sorted(f"{method.upper()} {path}" for path, item in paths.items() for method, op in item.items()
                        if isinstance(op, dict) and form_types & set(op.get("requestBody", {}).get("content", {})))
    assert "POST /api/v1/components/{id}/sbom/" in with_forms
    assert not any(p.startswith(("PATCH /api/v1/plans/", "POST /api/v1/reports/")) for p in with_forms), with_forms


def test_an_empty_json_object_still_reaches_the_service(client, requester, upgrade):
    client.force_login(requester)
    assert client.patch(f"/api/v1/plans/{upgrade.reference}/", {}, content_type="application/json"
                        ).status_code == 409  # refused by the service: a draft has no plan yet


@pytest.mark.parametrize("field, value", [("tls_min_days", 3759090532), ("max_latency_ms", 2**31)])
def test_a_health_check_number_past_what_is_stored_is_400(field, value):
    """The long run's other 500: an integer past PostgreSQL's integer column reached the database."""
    from apps.execution.api.health_serializers import HealthCheckUpdateSerializer
    from apps.execution.forms_health import HealthCheckForm

    data = HealthCheckUpdateSerializer(data={field: value}, partial=True)
    assert not data.is_valid() and field in data.errors
    assert field in HealthCheckForm(data={field: value}).errors


def _blank_filters(schema: dict):
    for path, item in schema["paths"].items():
        names = [p["name"] for p in item.get("get", {}).get("parameters", []) if p.get("allowEmptyValue")]
        if names:
            yield path, names


def test_every_filter_documented_as_blankable_treats_blank_as_left_out(api, admin_user, upgrade):
    """The long run's AcceptedNegativeData: `?criticality=` (an HTML form's "any") means no filter. The schema
    says so with allowEmptyValue, and each such filter must answer a blank value exactly as if it were absent."""
    from apps.reporting.kpis import KPIS

    client = api(admin_user)
    schema = client.get("/api/schema/?format=json").json()
    checked = 0
    for path, names in _blank_filters(schema):
        url = path.replace("{reference}", upgrade.reference).replace("{kpi}", next(iter(KPIS)))
        assert "{" not in url, f"give {path} a real path parameter here"
        absent = client.get(url)
        assert absent.status_code == 200, (url, absent.content[:300])
        for name in names:
            blank = client.get(url, {name: ""})
            assert (blank.status_code, blank.json()) == (200, absent.json()), (url, name, blank.content[:300])
            checked += 1
    assert checked >= 25  # every choice, yes/no, number and date filter of the lists


def test_a_filter_is_not_blankable_where_blank_is_refused(api, admin_user):
    """The page number stays what it is: a blank one is 404 (above), so it is not documented as blankable."""
    schema = api(admin_user).get("/api/schema/?format=json").json()
    for path, item in schema["paths"].items():
        for p in item.get("get", {}).get("parameters", []):
            if p["name"] == "page" or p.get("required") or p["in"] != "query":
                assert not p.get("allowEmptyValue"), (path, p["name"])


@pytest.mark.parametrize("params, field", [({"mine": "-1"}, "mine"), ({"overdue": "maybe"}, "overdue"),
                                           ({"status": "closed"}, "status"), ({"kind": "debt"}, "kind")])
def test_the_backlog_refuses_a_filter_it_does_not_know(api, requester, params, field):
    """The long run's AcceptedNegativeData: `?mine=-1` was read as "not mine" instead of refused."""
    answer = api(requester).get("/api/v1/backlog/", params)
    assert answer.status_code == 400 and field in answer.json()


def test_the_backlog_reads_its_filters(api, requester):
    for params in ({}, {"mine": "true"}, {"overdue": "1"}, {"status": "all"}, {"kind": "follow_up"},
                   {"mine": "", "kind": "", "status": ""}):
        assert api(requester).get("/api/v1/backlog/", params).status_code == 200, params


@pytest.mark.parametrize("value, refused", [(True, True), (False, True), (5, False), ("5", False)])
def test_a_trigger_and_a_step_take_minutes_as_numbers_not_true(upgrade, value, refused):
    """JSON true is no number of minutes: int(True) would have stored a one-minute window."""
    from django.core.exceptions import ValidationError

    from apps.rollouts import services

    checks = ((lambda: services._clean_trigger(upgrade, {"name": "Errors", "kind": "manual",
                                                         "evaluation_window_minutes": value}, None),
               "evaluation_window_minutes"),
              (lambda: services._clean_step({"key": "a", "title": "A", "expected_minutes": value}, None),
               "expected_minutes"))
    for clean, field in checks:
        try:
            clean()
            errors = {}
        except ValidationError as exc:
            errors = exc.message_dict
        assert (field in errors) is refused, errors


def test_a_wave_without_an_environment_is_documented_as_null(schema):
    """The long run's schema violation (admin): a wave not yet given an environment answers null."""
    assert schema["WaveDetail"]["properties"]["environment"].get("nullable")
