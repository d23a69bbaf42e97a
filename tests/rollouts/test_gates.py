"""The plan gate on submit to CAB lists exactly what is missing; the seed hook makes a plan that passes."""

import datetime as dt

import pytest

from apps.rollouts import selectors, services
from apps.rollouts.models import Plan, RunbookStep
from apps.upgrades.services import TransitionRefused, upgrade_transition

from .conftest import UTC

START = dt.datetime(2026, 12, 6, 1, 0, tzinfo=UTC)


def reasons(request):
    return selectors.gate_reasons(selectors.plan_analysis(request))


def step(request, by, key, minutes, deps=(), **extra):
    return services.step_add(request=request, by=by, key=key, title=f"Step {key}", instructions="Do it.",
                             expected_minutes=minutes, depends_on=list(deps), **extra)


@pytest.mark.django_db
def test_each_missing_piece_is_named_and_disappears_when_given(planning, requester, integration):
    assert reasons(planning) == [
        "Choose a rollout strategy (Tollgate recommends Big bang).",
        "Add at least one wave with its maintenance window.",
        "Define at least one rollback trigger.",
        "Write the upgrade runbook (at least one step).",
        "Write the backout runbook (at least one step).",
        "Document a fallback for the integration “SWIFT FIN” of Core Ledger with SWIFT.",
        "Give the data migration scope (or say there is no data migration).",
    ]
    # the transition itself is refused with the same reasons
    with pytest.raises(TransitionRefused) as exc:
        upgrade_transition(request=planning, by=requester, transition="submit_to_cab")
    assert "Define at least one rollback trigger." in exc.value.reasons

    services.plan_update(request=planning, by=requester, strategy="phased",
                         strategy_justification="The ledger has two regions; go one at a time.")
    wave = services.wave_add(request=planning, by=requester, name="EU")
    assert reasons(planning)[:2] == ["A phased rollout needs at least two waves.",
                                     "Wave 1 “EU” has no maintenance window."]
    services.wave_update(wave=wave, by=requester, window_start=START, window_end=START + dt.timedelta(hours=1))
    services.wave_add(request=planning, by=requester, name="APAC", window_start=START + dt.timedelta(days=1),
                      window_end=START + dt.timedelta(days=1, hours=2))
    services.trigger_add(request=planning, by=requester, name="Errors", kind="error_rate", threshold=5,
                         action="pause")
    step(planning, requester, "upgrade", 50)
    step(planning, requester, "verify", 20, ["upgrade"])
    step(planning, requester, "restore", 30, runbook="backout")
    services.fallback_set(request=planning, by=requester, integration=integration.pk,
                          procedure="Queue payments; replay after the window.")
    services.plan_update(request=planning, by=requester, data_migration_scope="archive")
    assert reasons(planning) == [
        "No rollback trigger starts the backout runbook: give at least one trigger the action "
        "“Start the backout runbook”.",
        "The upgrade runbook of wave 1 takes 1 h 10 min (critical path) but its window is 1 h.",
        "Data migration: give the volume.",
        "Data migration: give the method.",
        "Data migration: give the verification.",
    ]
    services.trigger_add(request=planning, by=requester, name="Call it", kind="manual", action="roll_back")
    services.step_update(step=RunbookStep.objects.get(key="verify"), by=requester, expected_minutes=10)
    services.plan_update(request=planning, by=requester, data_migration_volume="2 TB",
                         data_migration_method="Move closed years to the archive store.",
                         data_migration_verification="Checksums of every archived partition.")
    assert reasons(planning) == []


@pytest.mark.django_db
def test_a_strategy_other_than_the_recommendation_needs_a_justification(planning, requester):
    with pytest.raises(Exception) as exc:
        services.plan_update(request=planning, by=requester, strategy="parallel_run")
    assert "Tollgate recommends Big bang" in exc.value.message_dict["strategy_justification"][0]
    assert not Plan.objects.filter(request=planning).exists()  # nothing written, not even the empty plan
    # a justification that disappears later (e.g. the recommendation changed) is named by the gate
    services.plan_update(request=planning, by=requester, strategy="big_bang")
    Plan.objects.filter(request=planning).update(strategy="parallel_run")
    assert "Justify choosing Parallel run over the recommended Big bang." in reasons(planning)


@pytest.mark.django_db
def test_the_seed_hook_builds_a_plan_that_passes_and_is_idempotent(planning, requester, integration):
    from apps.core.seed import run_before

    run_before("submit_to_cab", request=planning, by=requester, users={})
    assert reasons(planning) == []
    plan = Plan.objects.get(request=planning)
    shape = (plan.waves.count(), plan.steps.count(), plan.triggers.count(), plan.fallbacks.count())
    assert shape[0] == 1 and shape[3] == 1 and plan.steps.filter(runbook="backout").exists()
    run_before("submit_to_cab", request=planning, by=requester, users={})
    assert (plan.waves.count(), plan.steps.count(), plan.triggers.count(), plan.fallbacks.count()) == shape


@pytest.mark.django_db
def test_the_seed_hook_follows_a_phased_recommendation(requester, component_a, component_b, drive, assessor,
                                                       implementer, validator):
    from apps.accounts.choices import Duty
    from apps.upgrades.services import upgrade_duty_assign
    from tests.conftest import make_request

    from ..factories import DependencyFactory

    DependencyFactory(source_system=component_b.system, target_system=component_a.system)
    request = make_request(requester, component_a, items=[
        {"system": component_a.system_id, "component": component_a.pk, "target_version": "16.4"},
        {"system": component_b.system_id, "component": component_b.pk, "target_version": "5.1"}])
    for user, duty in ((assessor, Duty.ASSESSOR), (implementer, Duty.IMPLEMENTER), (validator, Duty.VALIDATOR)):
        upgrade_duty_assign(request=request, by=requester, user=user, duty=duty)
    request = drive(request, "cab_review")
    plan = Plan.objects.get(request=request)
    assert plan.strategy == "phased"
    assert [w.name for w in plan.waves.all()] == ["Wave 1: pilot", "Wave 2: remainder"]
    assert selectors.current_version(request).content["strategy"] == "phased"
