"""Hostile input answers 4xx naming what was wrong, and writes nothing: NUL characters (JSON, query, form),
bodies over the size limit, malformed JSON, wrong JSON types, huge integers, over-long text."""

import json

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.upgrades.models import Comment, UpgradeRequest

pytestmark = pytest.mark.django_db


def _counts():
    return (UpgradeRequest.objects.count(), Comment.objects.count(), AuditEvent.objects.count())


def _create_body(component, **overrides):
    body = {"title": "Upgrade ledger database", "justification": "End of life.", "risk_class": "normal",
            "items": [{"system": component.system_id, "component": component.pk, "current_version": "13.14",
                       "target_version": "16.4"}]}
    body.update(overrides)
    return body


def test_nul_in_a_json_string_field_is_refused_naming_the_field(client, requester, upgrade):
    client.force_login(requester)
    before = _counts()
    response = client.post(reverse("upgrade-comments", args=[upgrade.reference]),
                           json.dumps({"body": "looks fine\u0000"}), content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"body": ["The text contains a NUL character; remove it."]}
    assert _counts() == before


def test_nul_in_a_nested_json_field_names_its_path(client, requester, component_a):
    client.force_login(requester)
    before = _counts()
    body = _create_body(component_a)
    body["items"][0]["target_version"] = "16\u00004"
    response = client.post(reverse("upgrade-list"), json.dumps(body), content_type="application/json")
    assert response.status_code == 400 and list(response.json()) == ["items[0].target_version"]
    assert _counts() == before


def test_nul_in_a_query_parameter_is_refused(client, requester, upgrade):
    client.force_login(requester)
    response = client.get(reverse("upgrade-list"), {"q": "ledger\x00"})
    assert response.status_code == 400 and list(response.json()) == ["q"]
    page = client.get(reverse("upgrades:list"), {"q": "ledger\x00"})
    assert page.status_code in (200, 400)  # the page's filter form names it; never a database error


def test_nul_in_a_form_field_is_refused_and_nothing_written(client, requester, upgrade):
    client.force_login(requester)
    before = _counts()
    response = client.post(reverse("upgrades:comment", args=[upgrade.reference]), {"body": "fine\x00 really"})
    assert response.status_code == 400 and "Null characters are not allowed" in response.content.decode()
    assert _counts() == before
    api = client.post(reverse("upgrade-comments", args=[upgrade.reference]), {"body": "fine\x00 really"})
    assert api.status_code == 400 and list(api.json()) == ["body"]
    assert _counts() == before


def test_a_body_over_the_size_limit_is_413(client, requester, upgrade, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    client.force_login(requester)
    before = _counts()
    huge = json.dumps({"body": "x" * (65 * 1024)})
    response = client.post(reverse("upgrade-comments", args=[upgrade.reference]), huge,
                           content_type="application/json")
    assert response.status_code == 413 and "larger" in response.json()["body"][0]
    form = client.post(reverse("upgrade-comments", args=[upgrade.reference]), {"body": "x" * (65 * 1024)})
    assert form.status_code == 413
    assert _counts() == before


def test_malformed_json_is_400(client, requester, upgrade):
    client.force_login(requester)
    response = client.post(reverse("upgrade-comments", args=[upgrade.reference]), '{"body": "unterminated',
                           content_type="application/json")
    assert response.status_code == 400 and "JSON" in response.json()["detail"]


@pytest.mark.parametrize("field, value", [
    ("title", 12), ("title", ["a"]), ("items", "not a list"), ("risk_class", {"a": 1}),
    ("window_start", 17), ("title", "x" * 5000),
])
def test_wrong_json_types_and_over_long_text_are_400_naming_the_field(client, requester, component_a, field,
                                                                       value):
    client.force_login(requester)
    before = _counts()
    response = client.post(reverse("upgrade-list"), json.dumps(_create_body(component_a, **{field: value})),
                           content_type="application/json")
    assert response.status_code == 400 and field in response.json()
    assert _counts() == before


def test_huge_integers_are_400_not_a_database_error(client, requester, component_a):
    client.force_login(requester)
    before = _counts()
    body = _create_body(component_a)
    body["items"][0]["system"] = 10**30
    response = client.post(reverse("upgrade-list"), json.dumps(body), content_type="application/json")
    assert response.status_code == 400 and "items" in response.json()
    detail = client.get(reverse("upgrade-detail", args=["UPG-99999999999999999999999999"]))
    assert detail.status_code == 404 and detail["Content-Type"].startswith("application/json")
    assert _counts() == before


def test_an_api_path_of_the_wrong_shape_answers_json_404(client, requester):
    client.force_login(requester)
    response = client.get("/api/v1/approved-windows/not-a-number/")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_nul_in_a_multipart_put_is_refused(client, admin_user, system_a):
    from django.test.client import MULTIPART_CONTENT, encode_multipart

    from ..factories import EndpointFactory

    endpoint = EndpointFactory(system=system_a)
    client.force_login(admin_user)
    body = encode_multipart("BoUnDaRy", {"name": "probe\x00"})
    response = client.put(f"/api/v1/endpoints/{endpoint.pk}/", body,
                          content_type=MULTIPART_CONTENT.replace("BoUnDaRyStRiNg", "BoUnDaRy"))
    assert response.status_code == 400 and list(response.json()) == ["name"]
