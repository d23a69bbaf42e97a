"""The gates apps/upgrades owns, the gate registry, and the lock that re-reads the state."""

import datetime as dt

import pytest

from apps.assessments.services import assessment_pass

from apps.upgrades import gates
from apps.upgrades.choices import State
from apps.upgrades.models import UpgradeRequest
from apps.upgrades.services import (
    TransitionRefused,
    next_transitions,
    upgrade_duty_assign,
    upgrade_duty_revoke,
    upgrade_transition,
    upgrade_update,
)

from ..conftest import make_request
from apps.core.seed import run_before

from .conftest import events, own_gate_reasons

NO_ASSESSOR = "Assign an assessor on the People panel."
NO_IMPLEMENTER = "Assign an implementer on the People panel."
NO_VALIDATOR = "Assign a validator on the People panel."
NO_WINDOW = "Give the requested maintenance window (start and end)."
NO_ITEMS = "Name at least one system or component that changes, with current and target version."
NO_JUSTIFICATION = "Give a justification: why this upgrade, why now."


def blockers(upgrade, user, name):
    return {t.name: reasons for t, reasons in next_transitions(upgrade, user)}[name]


def test_upgrades_registers_its_own_gates():
    owned = {(g.transition, g.name) for t in ("start_assessment", "submit_to_cab", "schedule", "hand_to_validation")
             for g in gates.gates_for(t) if g.owner == "upgrades"}
    assert owned == {
        ("start_assessment", "components_and_justification"),
        ("start_assessment", "assessor_assigned"),
        ("submit_to_cab", "requested_window_given"),
        ("schedule", "implementer_assigned"),
        ("hand_to_validation", "validator_assigned"),
    }


def test_components_and_justification_block_until_given(requester, assessor, component_a):
    upgrade = make_request(requester, component_a, justification="", items=[])
    upgrade_duty_assign(request=upgrade, by=requester, user=assessor, duty="assessor")
    reasons = blockers(upgrade, requester, "start_assessment")
    assert NO_ITEMS in reasons and NO_JUSTIFICATION in reasons
    with pytest.raises(TransitionRefused) as exc:
        upgrade_transition(request=upgrade, by=requester, transition="start_assessment")
    assert NO_ITEMS in exc.value.reasons
    # an item whose target equals its current version does not count as a change
    same = [{"system": component_a.system_id, "component": component_a.pk, "target_version": component_a.version}]
    upgrade = upgrade_update(request=upgrade, by=requester, items=same, justification="End of life.")
    assert blockers(upgrade, requester, "start_assessment") == [
        "Core Ledger: the target version equals the current version."]
    items = [{**same[0], "target_version": "16.4"}]
    upgrade = upgrade_update(request=upgrade, by=requester, items=items)
    assert blockers(upgrade, requester, "start_assessment") == []
    upgrade = upgrade_transition(request=upgrade, by=requester, transition="start_assessment")
    assert upgrade.state == State.ASSESSING


def test_assessor_assigned_blocks_until_assigned(requester, assessor, component_a):
    upgrade = make_request(requester, component_a)
    assert blockers(upgrade, requester, "start_assessment") == [NO_ASSESSOR]
    upgrade_duty_assign(request=upgrade, by=requester, user=assessor, duty="assessor")
    assert blockers(upgrade, requester, "start_assessment") == []
    upgrade_duty_revoke(request=upgrade, by=requester, user=assessor, duty="assessor")
    assert blockers(upgrade, requester, "start_assessment") == [NO_ASSESSOR]


def test_requested_window_blocks_submission_to_the_cab(requester, assessor, component_a):
    upgrade = make_request(requester, component_a, window_start=None, window_end=None)
    upgrade_duty_assign(request=upgrade, by=requester, user=assessor, duty="assessor")
    assert own_gate_reasons(upgrade, "submit_to_cab") == [NO_WINDOW]
    start = dt.datetime(2026, 12, 6, 1, tzinfo=dt.UTC)
    upgrade = upgrade_update(request=upgrade, by=requester, window_start=start, window_end=start + dt.timedelta(hours=2))
    assert own_gate_reasons(upgrade, "submit_to_cab") == []
    upgrade = upgrade_update(request=upgrade, by=requester, window_start=None, window_end=None)
    upgrade = upgrade_transition(request=upgrade, by=requester, transition="start_assessment")
    assessment_pass(request=upgrade, by=assessor)
    upgrade = upgrade_transition(request=upgrade, by=assessor, transition="finish_assessment")
    assert NO_WINDOW in blockers(upgrade, requester, "submit_to_cab")
    with pytest.raises(TransitionRefused) as exc:
        upgrade_transition(request=upgrade, by=requester, transition="submit_to_cab")
    assert NO_WINDOW in exc.value.reasons  # with what the rollout plan still lacks (tested in tests/rollouts)
    upgrade.refresh_from_db()
    assert upgrade.state == State.PLANNING


def test_implementer_assigned_blocks_scheduling(upgrade, drive, requester, implementer):
    upgrade_duty_revoke(request=upgrade, by=requester, user=implementer, duty="implementer")
    upgrade = drive(upgrade, State.APPROVED)
    assert blockers(upgrade, requester, "schedule") == [NO_IMPLEMENTER]
    with pytest.raises(TransitionRefused) as exc:
        upgrade_transition(request=upgrade, by=requester, transition="schedule")
    assert exc.value.reasons == [NO_IMPLEMENTER]
    upgrade_duty_assign(request=upgrade, by=requester, user=implementer, duty="implementer")
    assert blockers(upgrade, requester, "schedule") == []
    assert upgrade_transition(request=upgrade, by=requester, transition="schedule").state == State.SCHEDULED


def test_validator_assigned_blocks_hand_to_validation(upgrade, drive, requester, implementer, validator):
    upgrade_duty_revoke(request=upgrade, by=requester, user=validator, duty="validator")
    upgrade = drive(upgrade, State.IN_PROGRESS)
    assert NO_VALIDATOR in blockers(upgrade, implementer, "hand_to_validation")
    with pytest.raises(TransitionRefused):
        upgrade_transition(request=upgrade, by=implementer, transition="hand_to_validation")
    upgrade_duty_assign(request=upgrade, by=requester, user=validator, duty="validator")
    upgrade = run_before("hand_to_validation", request=upgrade, by=implementer, users={})  # runbook steps done
    assert NO_VALIDATOR not in blockers(upgrade, implementer, "hand_to_validation")
    upgrade = upgrade_transition(request=upgrade, by=implementer, transition="hand_to_validation")
    assert upgrade.state == State.VALIDATING


@pytest.fixture
def runtime_gate():
    """A gate another app could register; removed again after the test."""
    calls = []

    def no_friday_changes(request):
        calls.append(request.pk)
        return ["Not on a Friday: the change advisory board says so."]

    gates.register("start_assessment", "test_no_friday", "tests", no_friday_changes)
    yield calls
    gates.unregister("start_assessment", "test_no_friday")


def test_a_gate_registered_at_runtime_blocks_and_shows_in_page_and_api(upgrade, requester, runtime_gate, client,
                                                                       api):
    reason = "Not on a Friday: the change advisory board says so."
    assert blockers(upgrade, requester, "start_assessment") == [reason]
    client.force_login(requester)
    page = client.get(upgrade.get_absolute_url())
    assert page.status_code == 200
    assert reason in page.content.decode()
    rows = api(requester).get(f"/api/v1/upgrades/{upgrade.reference}/transitions/").json()
    row = next(r for r in rows if r["name"] == "start_assessment")
    assert row["allowed"] is False
    assert row["reasons"] == [reason]
    response = api(requester).post(f"/api/v1/upgrades/{upgrade.reference}/transitions/start_assessment/")
    assert response.status_code == 409
    assert response.json()["reasons"] == [reason]
    assert runtime_gate, "the gate was consulted"
    upgrade.refresh_from_db()
    assert upgrade.state == State.DRAFT
    gates.unregister("start_assessment", "test_no_friday")
    assert blockers(upgrade, requester, "start_assessment") == []
    rows = api(requester).get(f"/api/v1/upgrades/{upgrade.reference}/transitions/").json()
    assert next(r for r in rows if r["name"] == "start_assessment")["allowed"] is True


def test_registering_a_gate_for_an_unknown_transition_fails():
    with pytest.raises(ValueError):
        gates.register("teleport", "x", "tests", lambda r: [])


def test_the_service_rereads_the_state_after_the_lock(upgrade, requester):
    stale = UpgradeRequest.objects.get(pk=upgrade.pk)
    upgrade_transition(request=upgrade, by=requester, transition="start_assessment")
    assert stale.state == State.DRAFT  # the Python object still says draft ...
    with pytest.raises(TransitionRefused) as exc:
        upgrade_transition(request=stale, by=requester, transition="start_assessment")
    # ... but the database row is already assessing, and that is what counts
    assert exc.value.reasons == [f"{upgrade.reference} is assessing; “Start assessment” is not possible from there."]
    fresh = UpgradeRequest.objects.get(pk=upgrade.pk)
    assert fresh.state == State.ASSESSING
    assert events(fresh, "upgrade.transition").count() == 1
    assert events(fresh, "upgrade.transition_refused").count() == 1


def test_a_stale_draft_cannot_be_edited_once_it_moved_on(upgrade, requester, assessor):
    stale = UpgradeRequest.objects.get(pk=upgrade.pk)
    upgrade = upgrade_transition(request=upgrade, by=requester, transition="start_assessment")
    assessment_pass(request=upgrade, by=assessor)
    upgrade_transition(request=upgrade, by=assessor, transition="finish_assessment")
    # editing a stale draft is refused too: the row is no longer a draft
    with pytest.raises(TransitionRefused) as exc:
        upgrade_update(request=stale, by=requester, title="Sneaky edit")
    assert "only drafts can be edited" in exc.value.reasons[0]
    assert UpgradeRequest.objects.get(pk=upgrade.pk).title != "Sneaky edit"


@pytest.mark.postgres
def test_two_concurrent_transitions_on_one_request_let_exactly_one_through(transactional_db, requester, assessor,
                                                                          component_a):
    import threading

    from django.db import connection

    from apps.audit.models import ChainHead
    from apps.audit.services import GENESIS

    ChainHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS})
    upgrade = make_request(requester, component_a)
    upgrade_duty_assign(request=upgrade, by=requester, user=assessor, duty="assessor")
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def attempt(name: str) -> None:
        try:
            stale = UpgradeRequest.objects.get(pk=upgrade.pk)  # both read "draft" before either writes
            barrier.wait()
            upgrade_transition(request=stale, by=requester, transition=name, reason="Race.")
            outcomes.append(f"{name}:ok")
        except TransitionRefused:
            outcomes.append(f"{name}:refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=("start_assessment",)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["start_assessment:ok", "start_assessment:refused"], outcomes
    final = UpgradeRequest.objects.get(pk=upgrade.pk)
    assert final.state == State.ASSESSING
    assert events(final, "upgrade.transition").count() == 1
    refused = events(final, "upgrade.transition_refused").get()
    assert "is assessing" in refused.data["reasons"][0]


def test_requested_window_can_still_be_given_while_planning(requester, assessor, component_a, client):
    """A request started without a window is not stuck: the requester moves the window until planning ends."""
    upgrade = make_request(requester, component_a, window_start=None, window_end=None)
    upgrade_duty_assign(request=upgrade, by=requester, user=assessor, duty="assessor")
    upgrade = upgrade_transition(request=upgrade, by=requester, transition="start_assessment")
    assessment_pass(request=upgrade, by=assessor)
    upgrade = upgrade_transition(request=upgrade, by=assessor, transition="finish_assessment")
    with pytest.raises(TransitionRefused):
        upgrade_update(request=upgrade, by=requester, title="A new title while planning")
    client.force_login(requester)
    response = client.post(f"/upgrades/{upgrade.reference}/edit/",
                           {"window_start": "2026-12-06T01:00", "window_end": "2026-12-06T03:00"})
    assert response.status_code == 302
    upgrade.refresh_from_db()
    assert upgrade.window_start == dt.datetime(2026, 12, 6, 1, tzinfo=dt.UTC)
    assert own_gate_reasons(upgrade, "submit_to_cab") == []
