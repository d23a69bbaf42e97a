"""Conflict detection: every kind, listed with the other change; accepted with a justification; resolved
automatically when it disappears; enforced at submit_to_cab."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from apps.accounts.choices import Duty
from apps.rollouts.calendar import conflicts, selectors, services
from apps.rollouts.calendar.services import CalendarRefused
from apps.rollouts.models import Conflict, ConflictKind, ConflictStatus
from apps.upgrades.services import TransitionRefused, upgrade_duty_assign, upgrade_transition, upgrade_update
from tests.factories import DependencyFactory, UserFactory
from tests.upgrades.conftest import events

from .conftest import at

pytestmark = pytest.mark.django_db


def kinds(request) -> dict:
    return {c["kind"]: c for c in conflicts.detect(request)}


def test_same_system_in_another_changes_window(upgrade, drive, another, component_a, frozen_now):
    upgrade = drive(upgrade, "planning")
    other = another(component_a, window_start=at(2026, 12, 6, 3), window_end=at(2026, 12, 6, 7))
    found = kinds(upgrade)[ConflictKind.SAME_SYSTEM]
    assert found["other_request"] == other and found["system"] == component_a.system
    assert other.reference in found["detail"] and "Core Ledger" in found["detail"]
    # both sides see it
    assert kinds(other)[ConflictKind.SAME_SYSTEM]["other_request"] == upgrade


def test_no_conflict_when_windows_only_touch(upgrade, drive, another, component_a, frozen_now):
    upgrade = drive(upgrade, "planning")
    another(component_a, window_start=at(2026, 12, 6, 5), window_end=at(2026, 12, 6, 9))
    assert conflicts.detect(upgrade) == []


def test_a_draft_or_cancelled_change_books_nothing(upgrade, drive, another, component_a, frozen_now):
    upgrade = drive(upgrade, "planning")
    another(component_a, state="draft")
    another(component_a, state="cancelled")
    assert conflicts.detect(upgrade) == []


def test_dependency_or_dependent_in_an_overlapping_window(upgrade, drive, another, component_a, component_b,
                                                          system_a, system_b, frozen_now):
    DependencyFactory(source_system=system_b, target_system=system_a, constraint="")
    upgrade = drive(upgrade, "planning")
    other = another(component_b, window_start=at(2026, 12, 6, 2), window_end=at(2026, 12, 6, 3))
    mine = kinds(upgrade)[ConflictKind.DEPENDENCY]
    assert mine["other_request"] == other and "Core Ledger is needed by Retail Portal" in mine["detail"]
    theirs = kinds(other)[ConflictKind.DEPENDENCY]
    assert "Retail Portal depends on Core Ledger" in theirs["detail"]


def test_outside_the_systems_approved_windows(upgrade, drive, system_a, admin_user, frozen_now):
    upgrade = drive(upgrade, "planning")
    assert conflicts.detect(upgrade) == []  # no approved windows: any time is fine
    rule = dict(system=system_a, label="Wednesday nights", rrule="FREQ=WEEKLY;BYDAY=WE", start_time=dt.time(22, 0),
                duration_minutes=300, timezone="Europe/Berlin", valid_from=dt.date(2026, 1, 1), valid_until=None)
    services.approved_window_create(by=admin_user, **rule)
    found = kinds(upgrade)[ConflictKind.OUTSIDE_APPROVED_WINDOW]
    assert "Wednesday" in found["detail"] and found["system"] == system_a
    # Saturday 22:00 – Sunday 06:00 Berlin covers Sunday 01:00–05:00 UTC (02:00–06:00 local)
    services.approved_window_create(by=admin_user, **{**rule, "label": "Weekend", "rrule": "FREQ=WEEKLY;BYDAY=SA",
                                                      "duration_minutes": 480})
    assert ConflictKind.OUTSIDE_APPROVED_WINDOW not in kinds(upgrade)


def test_inside_a_freeze(upgrade, drive, make_freeze, frozen_now):
    upgrade = drive(upgrade, "planning")
    freeze = make_freeze(name="Regulator freeze")
    found = kinds(upgrade)[ConflictKind.FREEZE]
    assert found["freeze"] == freeze and "Regulator freeze" in found["detail"]


def test_the_same_implementer_booked_twice(upgrade, drive, another, component_b, frozen_now):
    upgrade = drive(upgrade, "planning")
    other = another(component_b, window_start=at(2026, 12, 6, 4), window_end=at(2026, 12, 6, 8))
    found = kinds(upgrade)
    assert set(found) == {ConflictKind.IMPLEMENTER_BOOKED}
    assert found[ConflictKind.IMPLEMENTER_BOOKED]["other_request"] == other
    assert "implementer" in found[ConflictKind.IMPLEMENTER_BOOKED]["user"].username


def test_a_different_implementer_is_no_conflict(upgrade, drive, another, component_b, requester, frozen_now):
    upgrade = drive(upgrade, "planning")
    other = another(component_b, window_start=at(2026, 12, 6, 4), window_end=at(2026, 12, 6, 8))
    from apps.accounts.duties import duty_revoke

    duty_revoke(obj=other, user=other_implementer_of(other), duty=Duty.IMPLEMENTER)
    upgrade_duty_assign(request=other, by=requester, user=UserFactory(username="second", roles=["implementer"]),
                        duty=Duty.IMPLEMENTER)
    assert conflicts.detect(upgrade) == []


def other_implementer_of(request):
    from apps.accounts.duties import duty_holders

    return duty_holders(request)["implementer"][0]


def test_refresh_upserts_accepts_and_resolves(upgrade, drive, another, component_a, personas, frozen_now):
    upgrade = drive(upgrade, "planning")
    other = another(component_a)
    services.conflicts_refresh(request=upgrade)
    services.conflicts_refresh(request=upgrade)  # idempotent: the same rows, no new audit
    rows = selectors.open_conflicts(upgrade)
    assert {c.kind for c in rows} == {ConflictKind.SAME_SYSTEM, ConflictKind.IMPLEMENTER_BOOKED}
    assert Conflict.objects.filter(request=upgrade).count() == 2
    assert events(upgrade, "conflict.refresh").count() == 1
    same = next(c for c in rows if c.kind == ConflictKind.SAME_SYSTEM)
    # nobody but the requester (or an admin) accepts; a justification is required
    with pytest.raises(CalendarRefused):
        services.conflict_accept(conflict=same, justification="Fine.", by=personas["implementer"])
    with pytest.raises(ValidationError):
        services.conflict_accept(conflict=same, justification="  ", by=personas["requester"])
    same.refresh_from_db()
    assert same.status == ConflictStatus.OPEN
    services.conflict_accept(conflict=same, justification="One team, one bridge call.", by=personas["requester"])
    services.conflicts_refresh(request=upgrade)
    same.refresh_from_db()
    assert same.status == ConflictStatus.ACCEPTED  # found again, still accepted
    # moving the other change away resolves both conflicts, on both sides
    upgrade_update(request=other, by=personas["requester"], window_start=at(2026, 12, 13, 1),
                   window_end=at(2026, 12, 13, 5))
    services.conflicts_refresh(request=other)
    assert not selectors.conflicts_of(upgrade).exists()
    assert set(Conflict.objects.filter(request=upgrade).values_list("status", flat=True)) == {ConflictStatus.RESOLVED}


def test_submit_to_cab_is_refused_with_an_open_conflict_naming_the_other_change(upgrade, drive, another,
                                                                                component_a, personas, frozen_now):
    upgrade = drive(upgrade, "planning")
    other = another(component_a)  # booked after our conflicts were last stored: the gate checks live
    with pytest.raises(TransitionRefused) as refused:
        upgrade_transition(request=upgrade, by=personas["requester"], transition="submit_to_cab")
    assert any(other.reference in r and "Conflict" in r for r in refused.value.reasons)
    # accepted, the same transition passes our gates; the transition's effect stores the conflicts
    services.conflicts_refresh(request=upgrade)
    for c in selectors.open_conflicts(upgrade):
        services.conflict_accept(conflict=c, justification="Coordinated.", by=personas["requester"])
    upgrade = drive(upgrade, "cab_review")
    assert upgrade.state == "cab_review"


def test_every_transition_refreshes_the_stored_conflicts(upgrade, drive, another, component_a, personas,
                                                         frozen_now):
    other = another(component_a, state="assessing")
    assert not Conflict.objects.filter(request=upgrade).exists()
    upgrade_transition(request=upgrade, by=personas["requester"], transition="start_assessment")
    assert {c.other_request for c in selectors.open_conflicts(upgrade)} == {other}
    upgrade_transition(request=other, by=personas["requester"], transition="cancel", reason="Not needed.")
    assert not selectors.conflicts_of(upgrade).exists()  # resolved when the other change was cancelled


def test_wave_windows_replace_the_requested_window(upgrade, drive, another, component_a, system_a, frozen_now):
    from apps.rollouts.models import Plan, Wave

    upgrade = drive(upgrade, "planning")
    other = another(component_a, window_start=at(2026, 12, 13, 1), window_end=at(2026, 12, 13, 5))
    plan = Plan.objects.create(request=upgrade, created_at=frozen_now, updated_at=frozen_now)
    wave = Wave.objects.create(plan=plan, position=1, name="Wave 1", window_start=at(2026, 12, 13, 2),
                               window_end=at(2026, 12, 13, 3))
    wave.systems.set([system_a])
    found = kinds(upgrade)[ConflictKind.SAME_SYSTEM]
    assert found["other_request"] == other and found["wave"] == wave and "Wave 1" in found["detail"]


def test_moving_the_requested_window_refreshes_the_stored_conflicts_at_once(upgrade, another, component_a,
                                                                             personas, frozen_now):
    """No transition needed: the edit itself re-checks, so My work and the checklist are current."""
    other = another(component_a, window_start=at(2026, 12, 13, 1), window_end=at(2026, 12, 13, 5))
    assert not selectors.open_conflicts(upgrade)  # 6 December: nothing else then
    upgrade_update(request=upgrade, by=personas["requester"], window_start=at(2026, 12, 13, 2),
                   window_end=at(2026, 12, 13, 4))
    assert {c.other_request for c in selectors.open_conflicts(upgrade)} == {other}
    upgrade_update(request=upgrade, by=personas["requester"], window_start=at(2026, 12, 20, 2),
                   window_end=at(2026, 12, 20, 4))
    assert not selectors.open_conflicts(upgrade)
