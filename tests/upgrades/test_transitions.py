"""The whole state machine of DESIGN.md: every allowed transition succeeds, every other combination is refused."""

import pytest

from apps.assessments.services import assessment_pass

from apps.upgrades.choices import FINAL_STATES, State
from apps.upgrades.services import TransitionRefused, next_transitions, upgrade_revise, upgrade_transition
from apps.upgrades.workflow import TRANSITIONS, available_from

from apps.cab.selectors import review_current
from apps.cab.services import CabRefused, vote_cast

from ..conftest import make_request
from ..factories import PASSWORD, UserFactory
from apps.core.seed import run_before

from .conftest import ACTORS, PERSONAS, REASON, events, reason_for, take

ALLOWED = [(t.name, src, who) for t in TRANSITIONS.values() for src in t.sources for who in ACTORS[t.name]]
WRONG_STATE = [(t.name, st) for t in TRANSITIONS.values() for st in State.values if st not in t.sources]
SOURCE_PAIRS = [(t.name, src) for t in TRANSITIONS.values() for src in t.sources]
NEEDS_REASON = [(t.name, src) for t in TRANSITIONS.values() if t.needs_reason for src in t.sources]


def assert_refused(upgrade, by, name, reason, *, contains: str):
    state_before = upgrade.state
    refused_before = events(upgrade, "upgrade.transition_refused").count()
    with pytest.raises(TransitionRefused) as exc:
        upgrade_transition(request=upgrade, by=by, transition=name, reason=reason)
    assert exc.value.reasons, "a refusal must say why"
    assert any(contains in r for r in exc.value.reasons), exc.value.reasons
    upgrade.refresh_from_db()
    assert upgrade.state == state_before
    refused = events(upgrade, "upgrade.transition_refused")
    assert refused.count() == refused_before + 1
    last = refused.last()
    assert last.data["transition"] == name
    assert last.data["reasons"] == exc.value.reasons
    assert last.actor_id == (by.pk if by is not None else None)
    return exc.value.reasons


def test_the_table_covers_every_state():
    reachable = {t.target for t in TRANSITIONS.values()} | {State.DRAFT}
    assert reachable == set(State.values)
    for state in FINAL_STATES:
        assert available_from(state) == []
    # the table of DESIGN.md, as data
    assert {n: (set(t.sources), t.target) for n, t in TRANSITIONS.items()} == {
        "start_assessment": ({"draft"}, "assessing"),
        "finish_assessment": ({"assessing"}, "planning"),
        "submit_to_cab": ({"planning"}, "cab_review"),
        "return_to_planning": ({"cab_review"}, "planning"),
        "approve": ({"cab_review"}, "approved"),
        "reject": ({"cab_review"}, "rejected"),
        "schedule": ({"approved"}, "scheduled"),
        "start": ({"scheduled"}, "in_progress"),
        "hand_to_validation": ({"in_progress"}, "validating"),
        "roll_back": ({"in_progress", "validating"}, "rolled_back"),
        "fail": ({"in_progress", "validating"}, "failed"),
        "complete": ({"validating"}, "completed"),
        "close": ({"completed", "rolled_back", "failed"}, "closed"),
        "replan": ({"approved", "scheduled"}, "planning"),
        "cancel": ({"draft", "assessing", "planning", "cab_review", "approved", "scheduled"}, "cancelled"),
    }


@pytest.mark.parametrize(("name", "source", "who"), ALLOWED, ids=[f"{n}-from-{s}-by-{w}" for n, s, w in ALLOWED])
def test_allowed_transition_succeeds(upgrade, drive, personas, name, source, who):
    upgrade = drive(upgrade, source)
    spec = TRANSITIONS[name]
    reason = reason_for(name)
    # what the other apps' gates need (the same hooks drive() and the demo seed use); some hooks take
    # the transition themselves: the CAB's deciding vote approves, the last backout step rolls back
    upgrade = run_before(name, request=upgrade, by=personas[who], users=personas) if name != "start" else upgrade
    taken_by_hook = upgrade.state == spec.target
    if not taken_by_hook:
        if name == "start":
            result = take(upgrade, name, personas[who], personas, reason)
        else:
            result = upgrade_transition(request=upgrade, by=personas[who], transition=name, reason=reason)
        assert result.state == spec.target
    upgrade.refresh_from_db()
    assert upgrade.state == spec.target
    event = events(upgrade, "upgrade.transition").last()
    assert event.before == {"state": source}
    assert event.after == {"state": spec.target}
    assert event.data["transition"] == name
    if taken_by_hook:
        return
    assert upgrade.state_reason == reason
    assert event.actor_id == personas[who].pk
    assert event.data == {"transition": name, "reason": reason}


@pytest.mark.parametrize(("name", "state"), WRONG_STATE, ids=[f"{n}-from-{s}" for n, s in WRONG_STATE])
def test_transition_from_a_state_not_in_its_sources_is_refused(upgrade, drive, personas, name, state):
    upgrade = drive(upgrade, state)
    who = personas[ACTORS[name][0]]
    reasons = assert_refused(upgrade, who, name, REASON, contains=f"{upgrade.reference} is {State(state).label.lower()}")
    assert "is not possible from there" in reasons[0]


@pytest.mark.parametrize(("name", "source"), SOURCE_PAIRS, ids=[f"{n}-from-{s}" for n, s in SOURCE_PAIRS])
def test_transition_by_the_wrong_person_is_refused(upgrade, drive, personas, name, source):
    upgrade = drive(upgrade, source)
    wrong = [who for who in PERSONAS if who not in ACTORS[name]]
    assert {"outsider", "executive", "auditor"} <= set(wrong)
    for who in wrong:  # each refusal leaves the state as it was, so the next one starts from the same place
        assert_refused(upgrade, personas[who], name, REASON, contains="Only the ")


@pytest.mark.parametrize(("name", "source"), NEEDS_REASON, ids=[f"{n}-from-{s}" for n, s in NEEDS_REASON])
@pytest.mark.parametrize("reason", ["", "   \n "], ids=["empty", "blank"])
def test_transition_that_needs_a_reason_is_refused_without_one(upgrade, drive, personas, name, source, reason):
    upgrade = drive(upgrade, source)
    reasons = assert_refused(upgrade, personas[ACTORS[name][0]], name, reason, contains="Give a reason.")
    # other apps' gates may add their own reasons (a roll back also needs the backout executed)
    assert reasons[0] == "Give a reason."


def test_anonymous_cannot_take_a_transition(upgrade):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(TransitionRefused) as exc:
        upgrade_transition(request=upgrade, by=AnonymousUser(), transition="start_assessment")
    assert "You must be signed in." in exc.value.reasons
    upgrade.refresh_from_db()
    assert upgrade.state == State.DRAFT


def test_an_unknown_transition_is_refused(upgrade, requester):
    with pytest.raises(TransitionRefused) as exc:
        upgrade_transition(request=upgrade, by=requester, transition="teleport")
    assert exc.value.reasons == ["“teleport” is not a transition."]


def test_the_requester_who_is_also_on_the_cab_cannot_approve_their_own_request(
    team_a, component_a, assessor, implementer, validator, approver
):
    from apps.upgrades.services import upgrade_duty_assign

    both = UserFactory(username="cab-manager", roles=["change_manager", "cab_member"], teams=[team_a])
    upgrade = make_request(both, component_a)
    for user, duty in ((assessor, "assessor"), (implementer, "implementer"), (validator, "validator")):
        upgrade_duty_assign(request=upgrade, by=both, user=user, duty=duty)
    for name, who in (("start_assessment", both), ("finish_assessment", assessor), ("submit_to_cab", both)):
        upgrade = take(upgrade, name, who, {})
    for name in ("approve", "reject"):
        reasons = assert_refused(upgrade, both, name, REASON, contains="Segregation of duties")
        assert "the requester of a normal request may not also be its approver." in reasons[0]
    # ...and cannot vote either, while another CAB member may (the deciding vote approves)
    with pytest.raises(CabRefused) as exc:
        vote_cast(review=review_current(upgrade), voter=both, decision="approve", password=PASSWORD)
    assert any("the requester of a normal request may not also be its approver." in r for r in exc.value.reasons)
    vote_cast(review=review_current(upgrade), voter=approver, decision="approve", password=PASSWORD)
    upgrade.refresh_from_db()
    assert upgrade.state == State.APPROVED


def test_an_implementer_cannot_complete_and_a_validator_cannot_start(upgrade, drive, implementer, validator):
    scheduled = drive(upgrade, State.SCHEDULED)
    reasons = assert_refused(scheduled, validator, "start", "", contains="Only the implementer")
    assert reasons[0].startswith("Only the implementer of ")
    validating = drive(scheduled, State.VALIDATING)
    reasons = assert_refused(validating, implementer, "complete", "", contains="Only the validator")
    assert reasons[0].startswith("Only the validator of ")


@pytest.mark.parametrize("state", sorted(FINAL_STATES))
def test_final_states_offer_no_transition(upgrade, drive, personas, state):
    upgrade = drive(upgrade, state)
    for who in PERSONAS:
        assert next_transitions(upgrade, personas[who]) == []


def test_revise_a_rejected_request_as_a_new_draft(upgrade, drive, requester):
    rejected = drive(upgrade, State.REJECTED)
    new = upgrade_revise(request=rejected, by=requester)
    assert new.pk != rejected.pk
    assert new.state == State.DRAFT
    assert new.revised_from == rejected
    assert new.reference != rejected.reference
    assert new.title == rejected.title
    assert [(i.system_id, i.component_id, i.target_version) for i in new.items.all()] == [
        (i.system_id, i.component_id, i.target_version) for i in rejected.items.all()
    ]
    created = events(new, "upgrade.create").get()
    assert created.after["revised_from"] == rejected.reference
    rejected.refresh_from_db()
    assert rejected.state == State.REJECTED  # the old one stays final


@pytest.mark.parametrize("state", [State.DRAFT, State.CANCELLED, State.CLOSED, State.CAB_REVIEW])
def test_only_a_rejected_request_can_be_revised(upgrade, drive, requester, state):
    upgrade = drive(upgrade, state)
    before = upgrade.__class__.objects.count()
    with pytest.raises(TransitionRefused) as exc:
        upgrade_revise(request=upgrade, by=requester)
    assert exc.value.reasons == ["Only a rejected request can be revised as a new request."]
    assert upgrade.__class__.objects.count() == before
