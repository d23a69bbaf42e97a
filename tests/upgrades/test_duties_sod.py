"""Segregation of duties on one request: the DESIGN.md matrix per risk class, audited refusals, re-checks."""

import pytest

from apps.assessments.services import assessment_pass
from django.urls import reverse

from apps.accounts import duties
from apps.accounts.duties import DutyRefused
from apps.accounts.models import SodRule
from apps.upgrades.choices import State
from apps.upgrades.services import TransitionRefused, upgrade_duty_assign, upgrade_transition, upgrade_update

from apps.cab.selectors import review_current
from apps.cab.services import CabRefused, vote_cast

from ..conftest import make_request
from ..factories import PASSWORD, UserFactory
from .conftest import counts, events
from .conftest import take as take_transition

RISKS = ("standard", "normal", "emergency")
ALL = set(RISKS)
# DESIGN.md "Segregation of duties", written out here on purpose (not read from sod.DEFAULT_POLICY)
ALLOWED_FOR = {
    ("requester", "assessor"): ALL,
    ("requester", "approver"): set(),
    ("requester", "implementer"): {"standard"},
    ("requester", "validator"): set(),
    ("assessor", "approver"): set(),
    ("assessor", "implementer"): ALL,
    ("assessor", "validator"): set(),
    ("approver", "implementer"): set(),
    ("approver", "validator"): set(),
    ("implementer", "validator"): set(),
}
CASES = []
for (a, b), allowed in ALLOWED_FOR.items():
    orders = [(a, b)] if a == "requester" else [(a, b), (b, a)]  # the requester duty always comes first
    for first, second in orders:
        for risk in RISKS:
            CASES.append((first, second, risk, risk in allowed))


@pytest.fixture
def multi(team_a):
    """One person who holds every role, so only segregation of duties can stop them."""
    return UserFactory(username="multi", roles=["change_manager", "cab_member", "implementer", "validator"],
                       teams=[team_a])


def _holder(upgrade, duty):
    return duties.duty_holders(upgrade)[duty][0]


def take(upgrade, user, duty):
    """Give `user` the duty the way Tollgate does: the People panel, or voting for the approver."""
    if duty != "approver":
        upgrade_duty_assign(request=upgrade, by=upgrade.requester, user=user, duty=duty)
        return upgrade
    owner = upgrade.requester
    for name in ("start_assessment", "finish_assessment", "submit_to_cab"):
        by = _holder(upgrade, "assessor") if name == "finish_assessment" else owner
        upgrade = take_transition(upgrade, name, by, {})
    # a CAB member becomes approver by casting a signed vote (the deciding vote approves)
    vote_cast(review=review_current(upgrade), voter=user, decision="approve", password=PASSWORD)
    upgrade.refresh_from_db()
    return upgrade


@pytest.mark.parametrize(("first", "second", "risk", "allowed"), CASES,
                         ids=[f"{a}-then-{b}-{r}-{'ok' if ok else 'refused'}" for a, b, r, ok in CASES])
def test_sod_matrix(multi, requester, assessor, component_a, first, second, risk, allowed):
    owner = multi if first == "requester" else requester
    upgrade = make_request(owner, component_a, risk_class=risk)
    take(upgrade, assessor, "assessor")
    if first != "requester":
        upgrade = take(upgrade, multi, first)
    upgrade.refresh_from_db()
    rule = f"Segregation of duties: the {first} of a {risk} request may not also be its {second}."
    if allowed:
        take(upgrade, multi, second)
        assert {first, second} <= duties.duties_of(multi, upgrade)
        return
    with pytest.raises((DutyRefused, TransitionRefused, CabRefused)) as exc:
        take(upgrade, multi, second)
    assert rule in exc.value.reasons
    assert second not in duties.duties_of(multi, upgrade)
    action = "cab.vote_refused" if second == "approver" else "duty.assign_refused"
    event = events(upgrade, action).last()
    assert event is not None, f"the refusal was not audited as {action}"
    assert rule in event.data["reasons"]


def test_a_refused_assignment_is_audited_with_the_rule_and_writes_nothing_else(upgrade, requester, implementer):
    before = counts()
    with pytest.raises(DutyRefused) as exc:
        upgrade_duty_assign(request=upgrade, by=requester, user=implementer, duty="validator")
    reasons = exc.value.reasons
    assert "implementer is not in the Validator role needed to be validator." in reasons
    assert "Segregation of duties: the implementer of a normal request may not also be its validator." in reasons
    after = counts()
    assert after["audit"] == before["audit"] + 1
    event = events(upgrade, "duty.assign_refused").get()
    assert event.data == {"duty": "validator", "user": "implementer", "reasons": reasons}
    assert event.actor_id == requester.pk
    assert duties.duty_holders(upgrade)["validator"][0].username == "validator"  # unchanged


def test_only_the_requester_or_an_admin_assigns(upgrade, assessor, admin_user, implementer):
    other = UserFactory(username="implementer2", roles=["implementer"])
    with pytest.raises(DutyRefused) as exc:
        upgrade_duty_assign(request=upgrade, by=assessor, user=other, duty="implementer")
    assert exc.value.reasons[0].startswith("Only the requester of ")
    assert duties.duty_holders(upgrade)["implementer"] == [implementer]
    assert events(upgrade, "duty.assign_refused").count() == 1
    upgrade_duty_assign(request=upgrade, by=admin_user, user=other, duty="implementer")
    assert duties.duty_holders(upgrade)["implementer"] == [other]  # one implementer: reassigned


def test_the_approver_duty_is_taken_by_voting_not_assigned(upgrade, requester, approver):
    with pytest.raises(DutyRefused) as exc:
        upgrade_duty_assign(request=upgrade, by=requester, user=approver, duty="approver")
    assert exc.value.reasons == ["The approver duty is not assigned here (a CAB member takes it by voting)."]
    assert duties.duty_holders(upgrade)["approver"] == []


def test_a_cab_member_who_is_the_assessor_cannot_approve(multi, requester, component_a, approver):
    upgrade = make_request(requester, component_a)
    take(upgrade, multi, "assessor")
    with pytest.raises(CabRefused) as exc:
        take(upgrade, multi, "approver")
    assert "Segregation of duties: the assessor of a normal request may not also be its approver." in exc.value.reasons
    upgrade.refresh_from_db()
    assert upgrade.state == State.CAB_REVIEW
    vote_cast(review=review_current(upgrade), voter=approver, decision="approve", password=PASSWORD)
    upgrade.refresh_from_db()
    assert upgrade.state == State.APPROVED
    assert duties.duty_holders(upgrade)["approver"] == [approver]


def test_no_assignment_on_a_final_request(upgrade, drive, requester):
    upgrade = drive(upgrade, State.CANCELLED)
    other = UserFactory(username="assessor2", roles=["change_manager"])
    with pytest.raises(DutyRefused) as exc:
        upgrade_duty_assign(request=upgrade, by=requester, user=other, duty="assessor")
    assert exc.value.reasons == [f"{upgrade.reference} is cancelled."]


def test_a_policy_row_added_later_is_enforced_at_action_time(multi, component_a):
    upgrade = make_request(multi, component_a)
    upgrade_duty_assign(request=upgrade, by=multi, user=multi, duty="assessor")  # allowed by the default policy
    SodRule.objects.create(risk_class="normal", duty_a="requester", duty_b="assessor", allowed=False)
    rule = "Segregation of duties: the assessor of a normal request may not also be its requester."
    with pytest.raises(TransitionRefused) as exc:
        upgrade_transition(request=upgrade, by=multi, transition="start_assessment")
    assert rule in exc.value.reasons
    upgrade.refresh_from_db()
    assert upgrade.state == State.DRAFT
    assert rule in events(upgrade, "upgrade.transition_refused").last().data["reasons"]
    # editing the draft re-checks the policy as well, and the refusal is audited
    with pytest.raises(DutyRefused) as exc:
        upgrade_update(request=upgrade, by=multi, title="Changed while in conflict")
    assert rule in exc.value.reasons
    upgrade.refresh_from_db()
    assert upgrade.title != "Changed while in conflict"
    assert events(upgrade, "duty.denied").exists()
    # ... and so does every People panel action of the conflicted requester
    with pytest.raises(DutyRefused) as exc:
        upgrade_duty_assign(request=upgrade, by=multi, user=multi, duty="implementer")
    assert rule in exc.value.reasons


def test_a_policy_row_can_allow_what_the_default_refuses(multi, component_a):
    upgrade = make_request(multi, component_a, risk_class="emergency")
    with pytest.raises(DutyRefused):
        upgrade_duty_assign(request=upgrade, by=multi, user=multi, duty="implementer")
    SodRule.objects.create(risk_class="emergency", duty_a="requester", duty_b="implementer", allowed=True)
    upgrade_duty_assign(request=upgrade, by=multi, user=multi, duty="implementer")
    assert duties.duties_of(multi, upgrade) == {"requester", "implementer"}
    # the override is per risk class: a normal request still refuses the pair
    other = make_request(multi, component_a, risk_class="normal")
    with pytest.raises(DutyRefused):
        upgrade_duty_assign(request=other, by=multi, user=multi, duty="implementer")


def test_people_panel_assigns_in_the_browser(upgrade, requester, client):
    other = UserFactory(username="assessor2", roles=["change_manager"])
    client.force_login(requester)
    url = reverse("upgrades:assign", args=[upgrade.reference])
    response = client.post(url, {"duty": "assessor", "assessor-user": "assessor2"})
    assert response.status_code == 302
    assert duties.duty_holders(upgrade)["assessor"] == [other]
    page = client.get(upgrade.get_absolute_url()).content.decode()
    assert "assessor2" in page


def test_people_panel_shows_the_rule_that_refused(upgrade, requester, implementer, client):
    both = UserFactory(username="impval", roles=["implementer", "validator"])
    upgrade_duty_assign(request=upgrade, by=requester, user=both, duty="implementer")
    client.force_login(requester)
    before = counts()
    response = client.post(reverse("upgrades:assign", args=[upgrade.reference]),
                           {"duty": "validator", "validator-user": "impval"})
    assert response.status_code == 403
    assert "Segregation of duties: the implementer of a normal request may not also be its validator." in (
        response.content.decode())
    assert counts()["audit"] == before["audit"] + 1
    assert duties.duty_holders(upgrade)["validator"][0].username == "validator"


def test_duties_api_lists_assigns_and_refuses(upgrade, requester, api):
    client = api(requester)
    url = f"/api/v1/upgrades/{upgrade.reference}/duties/"
    assert client.get(url).json() == {"requester": ["requester"], "assessor": ["assessor"], "approver": [],
                                      "implementer": ["implementer"], "validator": ["validator"]}
    UserFactory(username="validator2", roles=["validator"])
    response = client.post(url, {"duty": "validator", "user": "validator2"}, format="json")
    assert response.status_code == 200
    assert response.json()["validator"] == ["validator2"]
    response = client.post(url, {"duty": "validator", "user": "requester"}, format="json")
    assert response.status_code == 403
    assert "Segregation of duties: the requester of a normal request may not also be its validator." in (
        response.json()["reasons"])
    assert client.post(url, {"duty": "approver", "user": "approver"}, format="json").status_code == 400
    assert client.post(url, {"duty": "validator", "user": "nobody"}, format="json").status_code == 400
