"""Browser pages: persona × page matrix, no leak of requests one may not see, CAB visibility."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.accounts import duties
from apps.upgrades.choices import State
from apps.upgrades.models import Attachment, Comment, UpgradeRequest
from apps.upgrades.services import attachment_add

from ..conftest import make_request
from ..factories import UserFactory
from .conftest import PERSONAS, counts, events

ALL = (*PERSONAS, "anonymous")
VISIBLE = ("requester", "assessor", "implementer", "validator", "executive", "auditor", "admin")
HIDDEN = ("approver", "outsider")
CHANGE_MANAGERS = ("requester", "assessor", "outsider")
CONTRIBUTORS = ("requester", "assessor", "implementer", "validator", "admin")


def expect(default, **by_persona):
    table = {p: default for p in PERSONAS}
    table.update(by_persona)
    table["anonymous"] = 302
    return table


def hidden_404(table):
    return {**table, **{p: 404 for p in HIDDEN}}


def item_post(system, component, prefix="items"):
    return {f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MIN_NUM_FORMS": "1",
            f"{prefix}-MAX_NUM_FORMS": "50", f"{prefix}-0-system": str(system.pk),
            f"{prefix}-0-component": str(component.pk), f"{prefix}-0-target_version": "16.4"}


def form_post(component, **fields):
    data = {"title": "Upgrade the ledger", "justification": "End of life.", "risk_class": "normal",
            "window_start": "2026-12-06T01:00", "window_end": "2026-12-06T03:00", "external_ref": "CHG-1",
            "external_url": "https://itsm.example.test/CHG-1"}
    data.update(item_post(component.system, component))
    data.update(fields)
    return data


@pytest.fixture
def attachment(upgrade, requester):
    return attachment_add(request=upgrade, by=requester, upload=SimpleUploadedFile("runbook.txt", b"step 1\n"))


# (name, method, url(upgrade, attachment), data(component), expected status per persona)
PAGES = [
    ("list", "get", lambda u, a: reverse("upgrades:list"), None, expect(200)),
    ("create-form", "get", lambda u, a: reverse("upgrades:create"), None,
     expect(403, **{p: 200 for p in CHANGE_MANAGERS})),
    ("create", "post", lambda u, a: reverse("upgrades:create"), form_post,
     expect(403, **{p: 302 for p in CHANGE_MANAGERS})),
    ("detail", "get", lambda u, a: u.get_absolute_url(), None, hidden_404(expect(200))),
    ("edit-form", "get", lambda u, a: reverse("upgrades:edit", args=[u.reference]), None,
     hidden_404(expect(403, requester=200, admin=200))),
    ("edit", "post", lambda u, a: reverse("upgrades:edit", args=[u.reference]),
     lambda c: form_post(c, title="Edited title"), hidden_404(expect(403, requester=302, admin=302))),
    ("transition", "post", lambda u, a: reverse("upgrades:transition", args=[u.reference, "start_assessment"]),
     lambda c: {}, hidden_404(expect(409, requester=302))),
    ("assign", "post", lambda u, a: reverse("upgrades:assign", args=[u.reference]),
     lambda c: {"duty": "assessor", "assessor-user": "assessor2"}, hidden_404(expect(403, requester=302, admin=302))),
    ("comment", "post", lambda u, a: reverse("upgrades:comment", args=[u.reference]),
     lambda c: {"body": "Looks good."}, hidden_404(expect(403, **{p: 302 for p in CONTRIBUTORS}))),
    ("attach", "post", lambda u, a: reverse("upgrades:attach", args=[u.reference]),
     lambda c: {"file": SimpleUploadedFile("notes.txt", b"notes")},
     hidden_404(expect(403, **{p: 302 for p in CONTRIBUTORS}))),
    ("download", "get", lambda u, a: reverse("upgrades:attachment", args=[u.reference, a.pk]), None,
     hidden_404(expect(200))),
]
MATRIX = [(name, who) for name, *_ in PAGES for who in ALL]


@pytest.mark.parametrize(("page", "who"), MATRIX, ids=[f"{p}-{w}" for p, w in MATRIX])
def test_persona_page_matrix(upgrade, attachment, component_a, personas, login, page, who):
    name, method, url, data, expected = next(p for p in PAGES if p[0] == page)
    UserFactory(username="assessor2", roles=["change_manager"])
    client = login(personas[who])
    before = counts()
    target = url(upgrade, attachment)
    response = getattr(client, method)(target, data(component_a) if data else None)
    assert response.status_code == expected[who], (name, who, response.status_code)
    if response.status_code == 302 and who == "anonymous":
        assert response["Location"].startswith(reverse("login"))
    done = response.status_code == 302 and who != "anonymous"
    if method == "post" and not done:
        # a refusal may only add its audit event
        assert {k: v for k, v in counts().items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}
    if response.status_code == 404:
        assert upgrade.title not in response.content.decode()
    if name == "comment":
        assert Comment.objects.filter(request=upgrade).exists() == done
    if name == "attach":
        assert Attachment.objects.filter(request=upgrade).count() == (2 if done else 1)
    if name == "transition":
        upgrade.refresh_from_db()
        assert upgrade.state == (State.ASSESSING if done else State.DRAFT)
    if name == "assign":
        holders = [u.username for u in duties.duty_holders(upgrade)["assessor"]]
        assert holders == (["assessor2"] if done else ["assessor"])
    if name == "download" and response.status_code == 200:
        assert b"".join(response.streaming_content) == b"step 1\n"
        assert "attachment" in response["Content-Disposition"]


def test_a_refused_transition_answers_409_with_the_reasons_in_the_page(upgrade, auditor, login):
    client = login(auditor)
    before = events(upgrade, "upgrade.transition_refused").count()
    response = client.post(reverse("upgrades:transition", args=[upgrade.reference, "start_assessment"]))
    assert response.status_code == 409
    text = response.content.decode()
    assert "Start assessment was refused" in text
    assert f"Only the requester of {upgrade}" in text
    assert events(upgrade, "upgrade.transition_refused").count() == before + 1


def test_a_transition_reason_is_posted_with_the_form(upgrade, drive, requester, login):
    upgrade = drive(upgrade, State.PLANNING)
    client = login(requester)
    url = reverse("upgrades:transition", args=[upgrade.reference, "cancel"])
    response = client.post(url, {"cancel-reason": ""})
    assert response.status_code == 409 and "Give a reason." in response.content.decode()
    response = client.post(url, {"cancel-reason": "Vendor withdrew the release."})
    assert response.status_code == 302
    upgrade.refresh_from_db()
    assert (upgrade.state, upgrade.state_reason) == (State.CANCELLED, "Vendor withdrew the release.")
    page = client.get(upgrade.get_absolute_url()).content.decode()
    assert "no further steps" in page and "Vendor withdrew the release." in page


def test_detail_shows_lifecycle_checklist_people_and_history(upgrade, requester, login):
    client = login(requester)
    text = client.get(upgrade.get_absolute_url()).content.decode()
    assert "Lifecycle" in text and "Next steps" in text and "People" in text and "History" in text
    assert "Start assessment" in text and "✓ Ready" in text
    assert "Cancel" in text
    assert "Created the request" in text and "Assigned assessor: assessor" in text
    assert "ledger-db" in text and "13.14" in text and "16.4" in text


def test_checklist_says_who_a_step_waits_for(upgrade, drive, requester, assessor, login):
    upgrade = drive(upgrade, State.ASSESSING)
    text = login(requester).get(upgrade.get_absolute_url()).content.decode()
    assert f"Waiting for {assessor.display_name} (assessor)" in text
    text = login(assessor).get(upgrade.get_absolute_url()).content.decode()
    assert "Finish assessment" in text and "Waiting for" not in text.split("Finish assessment")[1].split("</li>")[0]


def test_edit_of_a_non_draft_redirects_with_a_message(upgrade, drive, requester, login):
    upgrade = drive(upgrade, State.CAB_REVIEW)
    client = login(requester)
    response = client.get(reverse("upgrades:edit", args=[upgrade.reference]), follow=True)
    assert "Only drafts can be edited." in response.content.decode()


def test_edit_while_assessing_offers_only_the_window(upgrade, drive, requester, login):
    upgrade = drive(upgrade, State.ASSESSING)
    client = login(requester)
    body = client.get(reverse("upgrades:edit", args=[upgrade.reference])).content.decode()
    assert "only the requested window can still change" in body
    assert 'name="title"' not in body


def test_create_in_the_browser_makes_a_draft_with_its_items(requester, component_a, login):
    client = login(requester)
    response = client.post(reverse("upgrades:create"), form_post(component_a))
    assert response.status_code == 302
    upgrade = UpgradeRequest.objects.get()
    assert response["Location"] == upgrade.get_absolute_url()
    assert upgrade.reference.startswith("UPG-") and upgrade.state == State.DRAFT
    assert (upgrade.external_ref, upgrade.external_url) == ("CHG-1", "https://itsm.example.test/CHG-1")
    item = upgrade.items.get()
    assert (item.component, item.product, item.current_version, item.target_version) == (
        component_a, "postgresql", "13.14", "16.4")
    assert duties.duties_of(requester, upgrade) == {"requester"}
    assert events(upgrade, "upgrade.create").count() == 1


# --- no leak ------------------------------------------------------------------------------


def test_the_outsider_cannot_find_team_a_request_anywhere(upgrade, outsider, login, api):
    client = login(outsider)
    assert client.get(upgrade.get_absolute_url()).status_code == 404
    for query in (upgrade.title, upgrade.reference, "ledger", "requester"):
        results = client.get(reverse("upgrades:list"), {"q": query}, headers={"HX-Request": "true"})
        text = results.content.decode()  # the results table alone (the search box echoes the query)
        assert "0 requests" in text and upgrade.get_absolute_url() not in text and upgrade.title not in text
        page = client.get(reverse("upgrades:list"), {"q": query}).content.decode()
        assert upgrade.get_absolute_url() not in page
        assert api(outsider).get("/api/v1/upgrades/", {"q": query}).json()["count"] == 0
    page = client.get(reverse("upgrades:list"), {"requester": "requester"}).content.decode()
    assert upgrade.reference not in page and "0 requests" in page
    assert api(outsider).get(f"/api/v1/upgrades/{upgrade.reference}/").status_code == 404


def test_team_a_cannot_see_the_outsiders_request(requester, outsider, component_b, login):
    theirs = make_request(outsider, component_b, title="Retail portal Django 5 upgrade")
    client = login(requester)
    assert client.get(theirs.get_absolute_url()).status_code == 404
    assert theirs.reference not in client.get(reverse("upgrades:list")).content.decode()


def test_a_team_member_without_a_duty_sees_their_teams_request(upgrade, team_a, login):
    colleague = UserFactory(username="colleague", roles=["implementer"], teams=[team_a])
    assert login(colleague).get(upgrade.get_absolute_url()).status_code == 200


@pytest.mark.parametrize("state", [s for s in State.values])
def test_a_cab_member_sees_a_request_only_from_cab_review_on(upgrade, drive, approver, login, state):
    upgrade = drive(upgrade, state)
    visible = state not in (State.DRAFT, State.ASSESSING, State.PLANNING, State.CANCELLED)
    client = login(approver)
    assert client.get(upgrade.get_absolute_url()).status_code == (200 if visible else 404)
    assert (upgrade.reference in client.get(reverse("upgrades:list")).content.decode()) == visible


def test_a_cab_member_may_comment_during_review(upgrade, drive, approver, login):
    upgrade = drive(upgrade, State.CAB_REVIEW)
    response = login(approver).post(reverse("upgrades:comment", args=[upgrade.reference]), {"body": "Why now?"})
    assert response.status_code == 302
    assert Comment.objects.get(request=upgrade).author == approver


@pytest.mark.parametrize("who", ["executive", "auditor", "admin"])
def test_readers_of_everything_see_every_request(upgrade, outsider, component_b, personas, login, who):
    theirs = make_request(outsider, component_b, title="Retail portal Django 5 upgrade")
    page = login(personas[who]).get(reverse("upgrades:list")).content.decode()
    assert upgrade.reference in page and theirs.reference in page


@pytest.mark.parametrize("who", ["executive", "auditor"])
def test_auditor_and_executive_cannot_comment_or_attach(upgrade, personas, login, who):
    client = login(personas[who])
    before = counts()
    assert client.post(reverse("upgrades:comment", args=[upgrade.reference]), {"body": "x"}).status_code == 403
    upload = SimpleUploadedFile("x.txt", b"x")
    assert client.post(reverse("upgrades:attach", args=[upgrade.reference]), {"file": upload}).status_code == 403
    after = counts()
    assert (after["comments"], after["attachments"]) == (before["comments"], before["attachments"])
    assert events(upgrade, "upgrade.denied").count() == 2
    text = client.get(upgrade.get_absolute_url()).content.decode()
    assert "Add comment" not in text and "Edit draft" not in text


def test_revise_as_new_request_in_the_browser(upgrade, drive, requester, login):
    upgrade = drive(upgrade, State.REJECTED)
    client = login(requester)
    assert "Revise as new request" in client.get(upgrade.get_absolute_url()).content.decode()
    response = client.post(reverse("upgrades:revise", args=[upgrade.reference]))
    new = UpgradeRequest.objects.get(revised_from=upgrade)
    assert response.status_code == 302 and response["Location"] == new.get_absolute_url()
    text = client.get(new.get_absolute_url()).content.decode()
    assert "Revised from" in text and upgrade.reference in text


def test_an_attachment_is_reached_only_through_its_own_request(upgrade, attachment, requester, component_a, login):
    other = make_request(requester, component_a, title="Another request")
    client = login(requester)
    assert client.get(reverse("upgrades:attachment", args=[other.reference, attachment.pk])).status_code == 404
    assert client.get(reverse("upgrades:attachment", args=[upgrade.reference, attachment.pk])).status_code == 200


def test_history_shows_what_changed(upgrade, requester, validator, login):
    from apps.upgrades.services import upgrade_duty_revoke, upgrade_transition, upgrade_update

    upgrade = upgrade_update(request=upgrade, by=requester, title="Ledger to PostgreSQL 16.4")
    upgrade_duty_revoke(request=upgrade, by=requester, user=validator, duty="validator")
    upgrade_transition(request=upgrade, by=requester, transition="start_assessment")
    text = login(requester).get(upgrade.get_absolute_url()).content.decode()
    assert "title: Upgrade ledger database to PostgreSQL 16 → Ledger to PostgreSQL 16.4" in text
    assert "state: draft → assessing" in text
    assert f"Removed validator: {validator.display_name}" in text
    assert "Core Ledger/postgresql 13.14→16.4" in text


def test_the_request_page_leads_to_the_plan_the_cab_review_and_the_execution(upgrade, drive, requester, login):
    upgrade = drive(upgrade, "planning")
    client = login(requester)
    page = client.get(f"/upgrades/{upgrade.reference}/").content.decode()
    assert f"/upgrades/{upgrade.reference}/plan/" in page
    assert f"/calendar/requests/{upgrade.reference}/" in page
    assert f"/configuration/requests/{upgrade.reference}/" in page
    assert f"/cab/review/{upgrade.reference}/" not in page  # not before the CAB has it
    assert f"/upgrades/{upgrade.reference}/execution/" not in page
    upgrade = drive(upgrade, "scheduled")
    page = client.get(f"/upgrades/{upgrade.reference}/").content.decode()
    assert f"/cab/review/{upgrade.reference}/" in page
    assert f"/upgrades/{upgrade.reference}/execution/" in page
    assert f"/reports/evidence/{upgrade.reference}/" in page  # the requester may take the evidence pack


def test_stage_links_follow_each_apps_own_permission(upgrade, drive, executive, login):
    """The evidence pack is not for executives (reporting says so); the request page asks, never guesses."""
    upgrade = drive(upgrade, "scheduled")
    page = login(executive).get(f"/upgrades/{upgrade.reference}/").content.decode()
    assert f"/upgrades/{upgrade.reference}/plan/" in page
    assert f"/reports/evidence/{upgrade.reference}/" not in page


def test_the_history_reads_as_decisions_runs_of_plan_edits_are_folded(upgrade, drive, requester, login):
    upgrade = drive(upgrade, "cab_review")  # the plan hook adds a dozen plan edits in a row
    page = login(requester).get(f"/upgrades/{upgrade.reference}/").content.decode()
    history = page[page.index('id="history-h"'):]
    assert "times, until" in history  # a run of edits is one line
    rows = history.count("<tr>") - 1  # minus the header
    assert rows < events(upgrade).count() - 10  # far fewer lines than events
    assert "Submit to CAB" in history  # decisions stay one per line
