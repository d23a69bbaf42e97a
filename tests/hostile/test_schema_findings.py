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


def test_a_form_body_that_yields_no_field_is_400_not_an_empty_change(client, requester, upgrade):
    client.force_login(requester)
    response = client.generic("PATCH", f"/api/v1/plans/{upgrade.reference}/", b"--b\r\n[[1, 2]]--b--\r\n",
                              content_type="multipart/form-data; boundary=b")
    assert response.status_code == 400
    # an empty JSON object is still an object: it reaches the service (which refuses a draft's plan: 409)
    assert client.patch(f"/api/v1/plans/{upgrade.reference}/", {}, content_type="application/json"
                        ).status_code == 409


def test_a_trigger_sent_as_a_form_is_read_one_value_a_field(client, requester, upgrade):
    """The long run's 500: a form body's fields reached the service as lists (TypeError: unhashable type)."""
    client.force_login(requester)
    url = f"/api/v1/plans/{upgrade.reference}/triggers/"
    answer = client.post(url, {"name": "Errors up", "kind": "not-a-kind", "evaluation_window_minutes": "1313699"})
    assert 400 <= answer.status_code < 500, answer.content
    repeated = client.post(url, "name=a&kind=x&kind=y", content_type="application/x-www-form-urlencoded")
    assert repeated.status_code == 400 and "once" in str(repeated.json()["kind"])


@pytest.mark.parametrize("field, value", [("tls_min_days", 3759090532), ("max_latency_ms", 2**31)])
def test_a_health_check_number_past_what_is_stored_is_400(field, value):
    """The long run's other 500: an integer past PostgreSQL's integer column reached the database."""
    from apps.execution.api.health_serializers import HealthCheckUpdateSerializer
    from apps.execution.forms_health import HealthCheckForm

    data = HealthCheckUpdateSerializer(data={field: value}, partial=True)
    assert not data.is_valid() and field in data.errors
    assert field in HealthCheckForm(data={field: value}).errors
