"""Freezes are enforced at submit_to_cab, schedule and start; the refusal names the freeze and is audited."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.core.seed import run_before
from apps.rollouts.calendar import selectors, services
from apps.rollouts.calendar.services import CalendarRefused
from apps.rollouts.models import ConflictKind, ConflictStatus, Freeze, FreezeException, FreezeScope
from apps.upgrades.services import TransitionRefused, upgrade_transition
from tests.upgrades.conftest import events

from .conftest import at

pytestmark = pytest.mark.django_db


def _take(upgrade, name, by, users, reason="", hooks=True):
    if hooks:  # what other apps' gates need (the transition is then refused by ours alone)
        upgrade = run_before(name, request=upgrade, by=by, users=users)
    return upgrade_transition(request=upgrade, by=by, transition=name, reason=reason)


def test_submit_to_cab_is_refused_inside_a_freeze_and_the_audit_names_it(upgrade, drive, personas, make_freeze,
                                                                          frozen_now):
    upgrade = drive(upgrade, "planning")
    make_freeze(name="Year-end freeze")
    with pytest.raises(TransitionRefused) as refused:
        _take(upgrade, "submit_to_cab", personas["requester"], personas)
    assert any("Year-end freeze" in r for r in refused.value.reasons)
    upgrade.refresh_from_db()
    assert upgrade.state == "planning"
    event = events(upgrade, "upgrade.transition_refused").last()
    assert event.data["transition"] == "submit_to_cab"
    assert any("Year-end freeze" in r for r in event.data["reasons"])


def test_a_freeze_elsewhere_in_time_does_not_block(upgrade, drive, personas, make_freeze, frozen_now):
    make_freeze(start=at(2026, 12, 6, 5), end=at(2026, 12, 7, 0))  # starts as the window ends
    upgrade = drive(upgrade, "cab_review")
    assert upgrade.state == "cab_review"


def test_schedule_is_refused_when_a_freeze_was_declared_after_approval(upgrade, drive, personas, make_freeze,
                                                                       frozen_now):
    upgrade = drive(upgrade, "approved")
    make_freeze(name="Payments peak freeze")
    with pytest.raises(TransitionRefused) as refused:
        _take(upgrade, "schedule", personas["requester"], personas)
    assert any("Payments peak freeze" in r for r in refused.value.reasons)
    audited = events(upgrade, "upgrade.transition_refused").last().data["reasons"]
    assert any("Payments peak freeze" in r for r in audited)
    # the freeze was also stored as a conflict of the request, which cannot be accepted
    conflict = selectors.open_conflicts(upgrade)[0]
    assert conflict.kind == ConflictKind.FREEZE and conflict.freeze.name == "Payments peak freeze"
    with pytest.raises(CalendarRefused):
        services.conflict_accept(conflict=conflict, justification="We really need it.", by=personas["requester"])
    assert events(upgrade, "calendar.denied").exists()


def test_start_is_refused_while_now_is_inside_a_freeze(upgrade, drive, personas, make_freeze, frozen_now):
    upgrade = drive(upgrade, "scheduled")
    # a freeze around now (28 Nov), not around the window (6 Dec)
    make_freeze(name="Incident stand-down", start=frozen_now - dt.timedelta(hours=1),
                end=frozen_now + dt.timedelta(hours=3))
    with pytest.raises(TransitionRefused) as refused:
        _take(upgrade, "start", personas["implementer"], personas, hooks=False)
    assert any("now inside the freeze “Incident stand-down”" in r for r in refused.value.reasons)
    audited = events(upgrade, "upgrade.transition_refused").last().data["reasons"]
    assert any("Incident stand-down" in r for r in audited)


def test_start_is_refused_when_the_window_overlaps_a_freeze(upgrade, drive, personas, make_freeze, frozen_now):
    upgrade = drive(upgrade, "scheduled")
    make_freeze(name="Regulator audit freeze")
    with pytest.raises(TransitionRefused) as refused:
        _take(upgrade, "start", personas["implementer"], personas, hooks=False)
    assert any("Regulator audit freeze" in r for r in refused.value.reasons)


def test_freeze_scopes_region_and_systems(upgrade, drive, personas, make_freeze, system_a, system_b, frozen_now):
    system_a.region = "eu-central"
    system_a.save()
    other = make_freeze(name="Retail freeze", scope=FreezeScope.SYSTEMS, systems=[system_b.pk])
    elsewhere = make_freeze(name="US freeze", scope=FreezeScope.REGION, region="eu-central",
                            start=at(2027, 1, 1, 0), end=at(2027, 1, 2, 0))
    start, end = upgrade.window_start, upgrade.window_end
    assert selectors.freezes_blocking(upgrade, start, end) == []
    region = make_freeze(name="EU-central freeze", scope=FreezeScope.REGION, region="eu-central")
    assert selectors.freezes_blocking(upgrade, start, end) == [region]
    assert other not in selectors.freezes_blocking(upgrade, start, end)
    assert elsewhere not in selectors.freezes_blocking(upgrade, start, end)


def test_an_approved_freeze_exception_lets_the_request_through(upgrade, drive, personas, make_freeze, frozen_now):
    upgrade = drive(upgrade, "planning")
    freeze = make_freeze(name="Year-end freeze")
    exception = services.freeze_exception_request(request=upgrade, freeze=freeze,
                                                  reason="The vendor's fix must be in before year end.",
                                                  by=personas["requester"])
    assert selectors.freezes_blocking(upgrade, upgrade.window_start, upgrade.window_end) == [freeze]
    signature = {"by": "approver", "method": "password", "sha256": "0" * 64}
    exception = services.freeze_exception_record_decision(exception=exception, by=personas["approver"], approve=True,
                                                          reason="Accepted by the CAB.", signature=signature,
                                                          emergency=False)
    assert exception.status == "approved" and exception.expires_at == freeze.ends_at
    assert selectors.freezes_blocking(upgrade, upgrade.window_start, upgrade.window_end) == []
    event = events(upgrade, "freeze_exception.approved").get()
    assert event.data["signature"] == signature and event.data["freeze"] == "Year-end freeze"
    # the stored freeze conflict resolved itself
    assert not selectors.open_conflicts(upgrade)
    upgrade = drive(upgrade, "cab_review")
    assert upgrade.state == "cab_review"
    # a decision is recorded once
    with pytest.raises(ValidationError):
        services.freeze_exception_record_decision(exception=exception, by=personas["approver"], approve=False,
                                                  reason="Changed our mind.", signature={}, emergency=False)


def test_a_refused_exception_keeps_the_block(upgrade, drive, personas, make_freeze, frozen_now):
    freeze = make_freeze()
    exception = services.freeze_exception_request(request=upgrade, freeze=freeze, reason="Urgent.",
                                                  by=personas["requester"])
    with pytest.raises(ValidationError):  # refusing needs a reason
        services.freeze_exception_record_decision(exception=exception, by=personas["approver"], approve=False,
                                                  reason="", signature={}, emergency=False)
    services.freeze_exception_record_decision(exception=exception, by=personas["approver"], approve=False,
                                              reason="Not urgent enough.", signature={"m": 1}, emergency=False)
    assert selectors.freezes_blocking(upgrade, upgrade.window_start, upgrade.window_end) == [freeze]
    assert events(upgrade, "freeze_exception.refused").get().data["reason"] == "Not urgent enough."


def test_only_the_requester_requests_an_exception_and_bad_input_writes_nothing(upgrade, personas, make_freeze):
    freeze = make_freeze()
    with pytest.raises(CalendarRefused):
        services.freeze_exception_request(request=upgrade, freeze=freeze, reason="Please.", by=personas["outsider"])
    with pytest.raises(ValidationError) as bad:
        services.freeze_exception_request(request=upgrade, freeze=freeze, reason="  \x00 ", by=personas["requester"])
    assert "reason" in bad.value.message_dict
    assert FreezeException.objects.count() == 0
    services.freeze_exception_request(request=upgrade, freeze=freeze, reason="Please.", by=personas["requester"])
    with pytest.raises(ValidationError):  # one live exception per freeze
        services.freeze_exception_request(request=upgrade, freeze=freeze, reason="Again.", by=personas["requester"])
    assert FreezeException.objects.count() == 1


def test_freeze_management_is_for_admins_and_change_managers(personas, make_freeze):
    for who in ("implementer", "approver", "executive", "auditor"):
        with pytest.raises(CalendarRefused):
            make_freeze(by=personas[who])
    assert Freeze.objects.count() == 0
    assert AuditEvent.objects.filter(action="calendar.denied").count() == 4
    make_freeze(by=personas["requester"])  # a change manager
    assert Freeze.objects.count() == 1


@pytest.mark.parametrize("bad, field", [
    ({"name": ""}, "name"),
    ({"reason": "x\x00"}, "reason"),
    ({"ends_at": at(2026, 12, 1, 0)}, "ends_at"),
    ({"scope": "galaxy"}, "scope"),
    ({"scope": FreezeScope.REGION, "region": "mars-1"}, "region"),
    ({"scope": FreezeScope.SYSTEMS, "systems": []}, "systems"),
])
def test_bad_freeze_input_is_refused_with_the_field_and_nothing_written(admin_user, bad, field):
    data = {"name": "Freeze", "reason": "Closing.", "scope": FreezeScope.ORGANISATION,
            "starts_at": at(2026, 12, 5, 0), "ends_at": at(2026, 12, 8, 0), **bad}
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.freeze_create(by=admin_user, **data)
    assert field in refused.value.message_dict
    assert Freeze.objects.count() == 0 and AuditEvent.objects.count() == before


def test_lifting_a_freeze_unblocks_and_resolves(upgrade, drive, personas, make_freeze, frozen_now):
    upgrade = drive(upgrade, "planning")
    freeze = make_freeze()
    services.conflicts_refresh(request=upgrade)
    assert [c.kind for c in selectors.open_conflicts(upgrade)] == [ConflictKind.FREEZE]
    services.freeze_lift(freeze=freeze, by=personas["admin"], reason="Closing finished early.")
    assert selectors.conflicts_of(upgrade, include_resolved=True).get().status == ConflictStatus.RESOLVED
    assert drive(upgrade, "cab_review").state == "cab_review"
    with clock.frozen(frozen_now):
        assert selectors.freeze_list().count() == 0
