"""REST API /api/v1/upgrades/: persona × endpoint matrix, transitions as actions, 409 with the reasons."""

import pytest

from apps.accounts import duties
from apps.upgrades.choices import State
from apps.upgrades.models import Comment, UpgradeRequest

from ..factories import UserFactory
from .conftest import PERSONAS, counts, events, take

VISIBLE = ("requester", "assessor", "implementer", "validator", "executive", "auditor", "admin")
HIDDEN = ("approver", "outsider")
CHANGE_MANAGERS = ("requester", "assessor", "outsider")
CONTRIBUTORS = ("requester", "assessor", "implementer", "validator", "admin")
ANONYMOUS = (401, 403)


def expect(default, **by_persona):
    table = {p: default for p in PERSONAS}
    table.update(by_persona)
    return table


def hidden_404(table):
    return {**table, **{p: 404 for p in HIDDEN}}


def create_body(component):
    return {"title": "Upgrade the ledger", "justification": "End of life.", "risk_class": "normal",
            "window_start": "2026-12-06T01:00:00Z", "window_end": "2026-12-06T03:00:00Z",
            "items": [{"system": component.system_id, "component": component.pk, "target_version": "16.4"}]}


BASE = "/api/v1/upgrades/"
ENDPOINTS = [
    ("list", "get", lambda u: BASE, None, expect(200)),
    ("create", "post", lambda u: BASE, create_body, expect(403, **{p: 201 for p in CHANGE_MANAGERS})),
    ("detail", "get", lambda u: f"{BASE}{u.reference}/", None, hidden_404(expect(200))),
    ("patch", "patch", lambda u: f"{BASE}{u.reference}/", lambda c: {"title": "Renamed"},
     hidden_404(expect(403, requester=200, admin=200))),
    ("delete", "delete", lambda u: f"{BASE}{u.reference}/", None, hidden_404(expect(403, requester=204, admin=204))),
    ("transitions", "get", lambda u: f"{BASE}{u.reference}/transitions/", None, hidden_404(expect(200))),
    ("transition", "post", lambda u: f"{BASE}{u.reference}/transitions/start_assessment/", lambda c: {},
     hidden_404(expect(409, requester=200))),
    ("duties", "get", lambda u: f"{BASE}{u.reference}/duties/", None, hidden_404(expect(200))),
    ("assign", "post", lambda u: f"{BASE}{u.reference}/duties/", lambda c: {"duty": "assessor", "user": "assessor2"},
     hidden_404(expect(403, requester=200, admin=200))),
    ("comments", "get", lambda u: f"{BASE}{u.reference}/comments/", None, hidden_404(expect(200))),
    ("comment", "post", lambda u: f"{BASE}{u.reference}/comments/", lambda c: {"body": "Looks good."},
     hidden_404(expect(403, **{p: 201 for p in CONTRIBUTORS}))),
]
MATRIX = [(name, who) for name, *_ in ENDPOINTS for who in (*PERSONAS, "anonymous")]


@pytest.mark.parametrize(("endpoint", "who"), MATRIX, ids=[f"{e}-{w}" for e, w in MATRIX])
def test_persona_endpoint_matrix(upgrade, component_a, personas, api, endpoint, who):
    name, method, url, body, expected = next(e for e in ENDPOINTS if e[0] == endpoint)
    UserFactory(username="assessor2", roles=["change_manager"])
    before = counts()
    response = getattr(api(personas[who]), method)(url(upgrade), body(component_a) if body else None, format="json")
    if who == "anonymous":
        assert response.status_code in ANONYMOUS
    else:
        assert response.status_code == expected[who], (name, who, response.status_code, response.content[:300])
    ok = 200 <= response.status_code < 300
    if response.status_code == 404:
        assert upgrade.title not in response.content.decode()
    if method != "get" and not ok:
        assert {k: v for k, v in counts().items() if k != "audit"} == {
            k: v for k, v in before.items() if k != "audit"}
    exists = UpgradeRequest.objects.filter(pk=upgrade.pk).exists()
    assert exists == (not (name == "delete" and ok))
    if not exists:
        assert events(upgrade, "upgrade.delete").count() == 1
        return
    upgrade.refresh_from_db()
    if name == "patch":
        assert (upgrade.title == "Renamed") == ok
    if name == "transition":
        assert upgrade.state == (State.ASSESSING if ok else State.DRAFT)
        if response.status_code == 409:
            assert response.json()["reasons"], "a refusal lists its reasons"
    if name == "assign":
        assert [u.username for u in duties.duty_holders(upgrade)["assessor"]] == (["assessor2"] if ok else ["assessor"])
    if name == "comment":
        assert Comment.objects.filter(request=upgrade).exists() == ok
    if name == "create" and ok:
        created = UpgradeRequest.objects.get(reference=response.json()["reference"])
        assert created.requester == personas[who] and created.state == State.DRAFT
        assert created.items.get().target_version == "16.4"


def test_detail_serializes_the_request(upgrade, requester, api):
    data = api(requester).get(f"{BASE}{upgrade.reference}/").json()
    assert data["reference"] == upgrade.reference
    assert data["state"] == "draft" and data["requester"] == "requester"
    assert data["window_start"] == "2026-12-06T01:00:00Z"
    assert data["items"] == [{"system": upgrade.items.get().system_id, "system_slug": "core-ledger",
                              "component": upgrade.items.get().component_id, "product": "postgresql",
                              "current_version": "13.14", "target_version": "16.4"}]


def test_transitions_list_shows_next_steps_with_reasons(upgrade, assessor, requester, api):
    rows = api(assessor).get(f"{BASE}{upgrade.reference}/transitions/").json()
    assert {r["name"] for r in rows} == {"start_assessment", "cancel"}
    start = next(r for r in rows if r["name"] == "start_assessment")
    assert start["allowed"] is False and start["target"] == "assessing"
    assert start["reasons"] == [f"Only the requester of {upgrade} may do this."]
    rows = api(requester).get(f"{BASE}{upgrade.reference}/transitions/").json()
    assert all(r["allowed"] for r in rows)
    assert next(r for r in rows if r["name"] == "cancel")["needs_reason"] is True


def test_a_refused_transition_answers_409_with_the_list(upgrade, drive, requester, api):
    upgrade = drive(upgrade, State.PLANNING)
    response = api(requester).post(f"{BASE}{upgrade.reference}/transitions/cancel/", {}, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "Transition refused.", "transition": "cancel", "reasons": ["Give a reason."]}
    response = api(requester).post(f"{BASE}{upgrade.reference}/transitions/approve/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["reasons"] == [f"{upgrade.reference} is planning; “Approve” is not possible from there."]
    response = api(requester).post(f"{BASE}{upgrade.reference}/transitions/cancel/", {"reason": "Not needed."},
                                   format="json")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    assert response.json()["state_reason"] == "Not needed."


def test_an_unknown_transition_is_404(upgrade, requester, api):
    assert api(requester).post(f"{BASE}{upgrade.reference}/transitions/teleport/").status_code == 404


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_only_drafts_are_changed_or_deleted(upgrade, drive, requester, api, method):
    upgrade = drive(upgrade, State.ASSESSING)
    before = counts()
    response = getattr(api(requester), method)(f"{BASE}{upgrade.reference}/", {"title": "New"}, format="json")
    assert response.status_code == 409
    assert "only drafts can be" in response.json()["reasons"][0]
    upgrade.refresh_from_db()
    assert upgrade.title != "New"
    after = counts()
    assert after["requests"] == before["requests"] and after["audit"] == before["audit"] + 1
    assert events(upgrade, f"upgrade.{'update' if method == 'patch' else 'delete'}_refused").count() == 1


def test_patch_replaces_items_and_audits_the_diff(upgrade, requester, component_a, api):
    body = {"items": [{"system": component_a.system_id, "component": component_a.pk, "target_version": "17.0"}],
            "risk_class": "emergency"}
    response = api(requester).patch(f"{BASE}{upgrade.reference}/", body, format="json")
    assert response.status_code == 200
    assert response.json()["risk_class"] == "emergency"
    assert [i["target_version"] for i in response.json()["items"]] == ["17.0"]
    event = events(upgrade, "upgrade.update").get()
    assert event.before["risk_class"] == "normal" and event.after["risk_class"] == "emergency"
    assert "17.0" in event.after["items"][0]


def test_comments_api_lists_in_order(upgrade, requester, assessor, api):
    api(requester).post(f"{BASE}{upgrade.reference}/comments/", {"body": "First"}, format="json")
    api(assessor).post(f"{BASE}{upgrade.reference}/comments/", {"body": "Second"}, format="json")
    rows = api(requester).get(f"{BASE}{upgrade.reference}/comments/").json()
    assert [(r["author"], r["body"]) for r in rows] == [("requester", "First"), ("assessor", "Second")]


def test_a_cab_member_sees_the_request_in_the_api_from_cab_review(upgrade, drive, approver, api):
    assert api(approver).get(f"{BASE}{upgrade.reference}/").status_code == 404
    upgrade = drive(upgrade, State.PLANNING)
    assert api(approver).get(BASE).json()["count"] == 0
    upgrade = drive(upgrade, State.CAB_REVIEW)
    assert api(approver).get(f"{BASE}{upgrade.reference}/").status_code == 200
    assert api(approver).get(BASE).json()["count"] == 1
    # approving is not a button: it follows from signed votes reaching the quorum (tests/cab)
    response = api(approver).post(f"{BASE}{upgrade.reference}/transitions/approve/", {}, format="json")
    assert response.status_code == 409
    upgrade = take(upgrade, "approve", approver, {"approver": approver})
    assert upgrade.state == "approved"
    assert duties.duty_holders(upgrade)["approver"] == [approver]
