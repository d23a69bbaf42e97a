"""Bad input answers 400 (API) or re-renders the form with the field's error (pages), and writes nothing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.upgrades.models import Attachment

from ..factories import ComponentFactory, SystemFactory
from .conftest import counts

BASE = "/api/v1/upgrades/"


def body(component, **overrides):
    data = {"title": "Upgrade the ledger", "justification": "End of life.", "risk_class": "normal",
            "window_start": "2026-12-06T01:00:00Z", "window_end": "2026-12-06T03:00:00Z",
            "items": [{"system": component.system_id, "component": component.pk, "target_version": "16.4"}]}
    data.update(overrides)
    return data


@pytest.fixture
def other_component(db, production):
    return ComponentFactory(system=SystemFactory(name="Payments", slug="payments"), environment=production,
                            name="payments-db")


def _item(comp, **overrides):
    return [{"system": comp.system_id, "component": comp.pk, "target_version": "16.4", **overrides}]


API_CASES = {
    "nul-title": ({"title": "Ledger\x00upgrade"}, "title"),
    "long-title": ({"title": "x" * 10_000}, "title"),
    "title-list": ({"title": ["Upgrade", "ledger"]}, "title"),
    "title-number": ({"title": 42}, "title"),
    "title-object": ({"title": {"text": "Upgrade"}}, "title"),
    "title-missing": ({"title": None}, "title"),
    "items-not-a-list": ({"items": {"system": 1}}, "items"),
    "items-a-string": ({"items": "core-ledger"}, "items"),
    "item-not-an-object": ({"items": ["core-ledger"]}, "items"),
    "system-abc": ({"items": [{"system": "abc", "target_version": "16.4", "product": "pg",
                               "current_version": "13"}]}, "items"),
    "unknown-system": ({"items": [{"system": 999_999, "target_version": "16.4", "product": "pg",
                                   "current_version": "13"}]}, "items"),
    "target-version-number": ({"items": "TARGET_NUMBER"}, "items"),
    "window-end-before-start": ({"window_start": "2026-12-06T03:00:00Z", "window_end": "2026-12-06T01:00:00Z"},
                                "window_end"),
    "window-not-a-date": ({"window_start": "next tuesday"}, "window_start"),
    "window-half": ({"window_start": "2026-12-06T03:00:00Z", "window_end": None}, "window_end"),
    "risk-unknown": ({"risk_class": "yolo"}, "risk_class"),
    "url-javascript": ({"external_url": "javascript:alert(1)"}, "external_url"),
    "nul-justification": ({"justification": "because\x00"}, "justification"),
}


@pytest.mark.parametrize("case", API_CASES, ids=list(API_CASES))
def test_api_create_refuses_bad_input_and_writes_nothing(requester, component_a, api, case):
    overrides, field = API_CASES[case]
    if overrides.get("items") == "TARGET_NUMBER":
        overrides = {"items": _item(component_a, target_version=16.4)}
    data = body(component_a, **overrides)
    if overrides.get("title", "") is None:
        del data["title"]
    before = counts()
    response = api(requester).post(BASE, data, format="json")
    assert response.status_code == 400, response.content[:300]
    assert field in response.json()
    assert counts() == before


def test_api_create_refuses_a_component_of_another_system(requester, component_a, other_component, api):
    before = counts()
    data = body(component_a, items=[{"system": component_a.system_id, "component": other_component.pk,
                                     "target_version": "16.4"}])
    response = api(requester).post(BASE, data, format="json")
    assert response.status_code == 400
    assert "payments-db does not belong to Core Ledger." in response.json()["items"][0]
    assert counts() == before


def test_api_create_refuses_an_unknown_component(requester, component_a, api):
    before = counts()
    response = api(requester).post(BASE, body(component_a, items=_item(component_a, component=999_999)), format="json")
    assert response.status_code == 400 and "Unknown component." in response.json()["items"][0]
    assert counts() == before


PATCH_CASES = {
    "end-before-stored-start": ({"window_end": "2026-12-06T00:30:00Z"}, "window_end"),
    "start-after-stored-end": ({"window_start": "2026-12-07T00:00:00Z"}, "window_end"),
    "drop-only-the-start": ({"window_start": None}, "window_start"),
    "title-number": ({"title": 7}, "title"),
    "items-dict": ({"items": {"0": {"system": 1}}}, "items"),
    "nul-in-version": ("NUL_VERSION", "items"),
    "long-version": ("LONG_VERSION", "items"),
}


@pytest.mark.parametrize("case", PATCH_CASES, ids=list(PATCH_CASES))
def test_api_patch_refuses_bad_input_and_writes_nothing(upgrade, requester, component_a, api, case):
    data, field = PATCH_CASES[case]
    if data == "NUL_VERSION":
        data = {"items": _item(component_a, target_version="16\x00")}
    elif data == "LONG_VERSION":
        data = {"items": _item(component_a, target_version="1" * 41)}
    before = counts()
    stored = (upgrade.title, upgrade.window_start, upgrade.window_end)
    response = api(requester).patch(f"{BASE}{upgrade.reference}/", data, format="json")
    assert response.status_code == 400, response.content[:300]
    # the field, or the exact place inside it (a NUL is refused before the serializer: "items[0].target_version")
    assert any(key == field or key.startswith(f"{field}[") for key in response.json()), response.json()
    assert counts() == before
    upgrade.refresh_from_db()
    assert (upgrade.title, upgrade.window_start, upgrade.window_end) == stored
    assert upgrade.items.get().target_version == "16.4"


@pytest.mark.parametrize(("payload", "field"), [
    ({"body": "hello\x00"}, "body"), ({"body": ["hello"]}, "body"), ({"body": 5}, "body"), ({"body": ""}, "body"),
    ({"body": "x" * 10_001}, "body"), ({}, "body"),
])
def test_api_comment_refuses_bad_input(upgrade, requester, api, payload, field):
    before = counts()
    response = api(requester).post(f"{BASE}{upgrade.reference}/comments/", payload, format="json")
    assert response.status_code == 400 and field in response.json()
    assert counts() == before


@pytest.mark.parametrize("payload", [{"reason": ["a"]}, {"reason": 12}, {"reason": "x" * 5001}])
def test_api_transition_refuses_a_reason_of_the_wrong_type(upgrade, requester, api, payload):
    before = counts()
    response = api(requester).post(f"{BASE}{upgrade.reference}/transitions/cancel/", payload, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    assert counts() == before


@pytest.mark.parametrize("payload", [{"duty": "assessor", "user": ["assessor"]}, {"duty": "boss", "user": "x"},
                                     {"duty": "assessor"}, {"duty": "assessor", "user": "nobody"}])
def test_api_duty_refuses_bad_input(upgrade, requester, api, payload):
    before = counts()
    response = api(requester).post(f"{BASE}{upgrade.reference}/duties/", payload, format="json")
    assert response.status_code == 400
    assert counts() == before


def test_api_list_refuses_a_bad_date(requester, api):
    response = api(requester).get(BASE, {"created_from": "yesterday"})
    assert response.status_code == 400 and "created_from" in response.json()


# --- pages ----------------------------------------------------------------------------------


def form(component, **fields):
    data = {"title": "Upgrade the ledger", "justification": "End of life.", "risk_class": "normal",
            "window_start": "2026-12-06T01:00", "window_end": "2026-12-06T03:00", "external_ref": "",
            "external_url": "", "items-TOTAL_FORMS": "1", "items-INITIAL_FORMS": "0", "items-MIN_NUM_FORMS": "1",
            "items-MAX_NUM_FORMS": "50", "items-0-system": str(component.system_id),
            "items-0-component": str(component.pk), "items-0-target_version": "16.4"}
    data.update(fields)
    return data


PAGE_CASES = {
    "nul-title": ({"title": "Ledger\x00upgrade"}, "Null characters are not allowed."),
    "long-title": ({"title": "x" * 10_000}, "Ensure this value has at most 200 characters (it has 10000)."),
    "no-title": ({"title": ""}, "This field is required."),
    "unknown-system": ({"items-0-system": "999999", "items-0-component": ""},
                       "Select a valid choice. That choice is not one of the available choices."),
    "system-abc": ({"items-0-system": "abc"}, "Select a valid choice."),
    "window-end-before-start": ({"window_end": "2026-12-05T23:00"}, "The window must end after it starts."),
    "window-half": ({"window_end": ""}, "Give both the start and the end."),
    "window-garbage": ({"window_start": "soon"}, "Enter a valid date/time."),
    "risk-unknown": ({"risk_class": "yolo"}, "Select a valid choice. yolo is not one of the available choices."),
    "url-javascript": ({"external_url": "javascript:alert(1)"}, "Enter a valid URL."),
    "no-items": ({"items-0-system": "", "items-0-component": "", "items-0-target_version": ""},
                 "Please submit at least 1 form."),
    "nul-version": ({"items-0-target_version": "16\x00"}, "Null characters are not allowed."),
}


@pytest.mark.parametrize("case", PAGE_CASES, ids=list(PAGE_CASES))
def test_create_form_rerenders_with_the_error_and_writes_nothing(requester, component_a, login, case):
    fields, message = PAGE_CASES[case]
    client = login(requester)
    before = counts()
    response = client.post(reverse("upgrades:create"), form(component_a, **fields))
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert 'role="alert"' in response.content.decode()
    assert counts() == before


def test_create_form_refuses_a_component_of_another_system(requester, component_a, other_component, login):
    client = login(requester)
    before = counts()
    response = client.post(reverse("upgrades:create"), form(component_a, **{"items-0-component": other_component.pk}))
    assert response.status_code == 400
    assert "payments-db belongs to Payments, not Core Ledger." in response.content.decode()
    assert counts() == before


def test_edit_form_refuses_bad_input(upgrade, requester, component_a, login):
    client = login(requester)
    before = counts()
    response = client.post(reverse("upgrades:edit", args=[upgrade.reference]), form(component_a, title="a\x00b"))
    assert response.status_code == 400
    assert "Null characters are not allowed." in response.content.decode()
    assert counts() == before
    upgrade.refresh_from_db()
    assert upgrade.title == "Upgrade ledger database to PostgreSQL 16"


@pytest.mark.parametrize(("body", "message"), [("hello\x00", "Null characters are not allowed."),
                                               ("", "This field is required.")])
def test_comment_form_refuses_bad_input(upgrade, requester, login, body, message):
    client = login(requester)
    before = counts()
    response = client.post(reverse("upgrades:comment", args=[upgrade.reference]), {"body": body})
    assert response.status_code == 400 and message in response.content.decode()
    assert counts() == before


@pytest.mark.parametrize(("name", "content", "message"), [
    ("tool.exe", b"MZ", "“.exe” files are not accepted."),
    ("archive.tar.exe", b"MZ", "“.exe” files are not accepted."),
    ("noextension", b"x", "“.” files are not accepted."),
    ("big.txt", b"x" * 2048, "The file is 2 KB; the limit is 1 KB."),
])
def test_attachments_are_limited_in_size_and_type(upgrade, requester, login, settings, name, content, message):
    settings.ATTACHMENT_MAX_BYTES = 1024
    client = login(requester)
    before = counts()
    response = client.post(reverse("upgrades:attach", args=[upgrade.reference]),
                           {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert counts() == before
    assert not Attachment.objects.exists()


def test_an_attachment_at_the_limit_is_accepted(upgrade, requester, login, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    client = login(requester)
    response = client.post(reverse("upgrades:attach", args=[upgrade.reference]),
                           {"file": SimpleUploadedFile("plan.pdf", b"x" * 1024)})
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert (attachment.filename, attachment.size) == ("plan.pdf", 1024)


@pytest.mark.parametrize("param", ["q", "state", "system", "environment", "requester", "risk_class", "sort"])
def test_api_list_refuses_a_nul_byte_in_a_filter(upgrade, requester, api, param):
    response = api(requester).get(BASE, {param: "core\x00ledger"})
    assert response.status_code == 400 and param in response.json()


def test_list_page_ignores_a_nul_byte_in_the_search(upgrade, requester, login):
    response = login(requester).get(reverse("upgrades:list"), {"q": "ledger\x00"})
    assert response.status_code == 200
    assert upgrade.get_absolute_url() not in response.content.decode()


def test_a_nul_byte_in_a_reference_is_404_not_500(upgrade, requester, login, api):
    assert login(requester).get("/upgrades/UPG-2026%000001/").status_code == 404
    assert api(requester).get(f"{BASE}UPG-2026%000001/").status_code == 404


def test_an_overlong_transition_reason_is_refused(upgrade, drive, requester, login):
    from apps.upgrades.choices import State

    upgrade = drive(upgrade, State.PLANNING)
    before = counts()
    response = login(requester).post(reverse("upgrades:transition", args=[upgrade.reference, "cancel"]),
                                     {"cancel-reason": "x" * 5001})
    assert response.status_code == 409
    assert "Keep the reason under 5000 characters." in response.content.decode()
    upgrade.refresh_from_db()
    assert upgrade.state == State.PLANNING
    assert counts()["requests"] == before["requests"]


@pytest.mark.parametrize("params", [{"system": "core\x00"}, {"environment": "prod\x00"}, {"requester": "a\x00"},
                                    {"state": "draft\x00"}, {"sort": "title\x00"}])
def test_list_page_with_a_nul_byte_in_a_filter_answers_not_500(upgrade, requester, login, params):
    response = login(requester).get(reverse("upgrades:list"), params)
    assert response.status_code == 200
    assert upgrade.get_absolute_url() not in response.content.decode()


def test_people_panel_with_a_nul_byte_in_the_person(upgrade, requester, login):
    client = login(requester)
    before = counts()
    response = client.post(reverse("upgrades:assign", args=[upgrade.reference]),
                           {"duty": "assessor", "assessor-user": "assessor\x00"})
    assert response.status_code == 400
    response = client.post(reverse("upgrades:unassign", args=[upgrade.reference]),
                           {"duty": "assessor", "user": "assessor\x00"})
    assert response.status_code == 404
    assert counts() == before
