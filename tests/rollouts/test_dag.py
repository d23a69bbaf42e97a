"""The runbook DAG: order, critical path, cycles refused, start order checked against the inventory."""

import pytest
from django.core.exceptions import ValidationError

from apps.inventory.models import Dependency
from apps.rollouts import dag, selectors, services
from apps.rollouts.models import RunbookStep

from ..factories import ComponentFactory
from .conftest import counts


def step(request, by, key, minutes, deps=(), **extra):
    return services.step_add(request=request, by=by, key=key, title=f"Step {key}", instructions="Do it.",
                             expected_minutes=minutes, depends_on=list(deps), **extra)


@pytest.mark.django_db
def test_order_and_critical_path(planning, requester):
    step(planning, requester, "a", 10)
    step(planning, requester, "c", 5, ["a"])
    step(planning, requester, "b", 30, ["a"])
    step(planning, requester, "d", 10, ["b", "c"])
    steps = list(RunbookStep.objects.filter(plan__request=planning).prefetch_related("depends_on"))
    assert [s.key for s in dag.topological_order(steps)] == ["a", "c", "b", "d"]
    path = dag.critical_path(steps)
    assert path.minutes == 50 and [s.key for s in path.steps] == ["a", "b", "d"]
    assert path.earliest_start[RunbookStep.objects.get(key="d").pk] == 40
    assert [p.key for p in dag.predecessors(RunbookStep.objects.get(key="d"))] == ["c", "b"]  # as entered


@pytest.mark.django_db
def test_a_dependency_that_closes_a_cycle_is_refused_and_nothing_is_written(planning, requester):
    step(planning, requester, "a", 10)
    step(planning, requester, "b", 10, ["a"])
    step(planning, requester, "c", 10, ["b"])
    before = counts()
    with pytest.raises(ValidationError) as exc:
        services.step_update(step=RunbookStep.objects.get(key="a"), by=requester, depends_on=["c"])
    assert exc.value.message_dict["depends_on"] == ["This would make a cycle: a → b → c → a."]
    with pytest.raises(ValidationError) as exc:
        step(planning, requester, "e", 10, ["nowhere"])
    assert exc.value.message_dict["depends_on"] == ["No step called “nowhere” in the upgrade runbook."]
    with pytest.raises(ValidationError) as exc:
        step(planning, requester, "restore", 10, ["a"], runbook="backout")  # another runbook's step
    assert "No step called “a” in the backout runbook." in exc.value.message_dict["depends_on"]
    assert counts() == before


@pytest.mark.django_db
def test_a_cycle_that_got_in_anyway_is_named_by_the_gate(planning, requester):
    a, b = step(planning, requester, "a", 10), step(planning, requester, "b", 10, ["a"])
    a.depends_on.add(b)  # e.g. an import that bypassed the service
    steps = list(RunbookStep.objects.filter(plan__request=planning).prefetch_related("depends_on"))
    assert [s.key for s in dag.find_cycle(steps)] in (["a", "b", "a"], ["b", "a", "b"])
    with pytest.raises(dag.CycleError):
        dag.topological_order(steps)
    reasons = selectors.gate_reasons(selectors.plan_analysis(planning))
    assert any(r.startswith("The upgrade runbook has a cycle: ") for r in reasons)


@pytest.fixture
def app_component(component_a, production):
    """ledger-app runs on the same system and depends on ledger-db (the request's component)."""
    app = ComponentFactory(system=component_a.system, environment=production, name="ledger-app",
                           product="java-app", version="3.1")
    Dependency.objects.create(source_system=app.system, source_component=app, target_system=component_a.system,
                              target_component=component_a, constraint=">=13")
    return app


@pytest.mark.django_db
def test_start_order_violation_is_listed_until_the_dependent_waits(planning, requester, component_a, app_component):
    step(planning, requester, "stop", 5)
    step(planning, requester, "start-app", 5, ["stop"], action="start_service", component=app_component.pk)
    step(planning, requester, "start-db", 5, ["stop"], action="start_service", component=component_a.pk)
    analysis = selectors.plan_analysis(planning)
    assert [str(v) for v in analysis.violations] == [
        "Step “start-app” starts ledger-app without waiting for step “start-db”, which starts ledger-db it "
        "depends on (ledger-app → ledger-db >=13)."]
    assert str(analysis.violations[0]) in selectors.gate_reasons(analysis)
    services.step_update(step=RunbookStep.objects.get(key="start-app"), by=requester, depends_on=["start-db"])
    analysis = selectors.plan_analysis(planning)
    assert analysis.violations == []
    assert [s.key for s in analysis.forward.order] == ["stop", "start-db", "start-app"]


@pytest.mark.django_db
def test_a_transitive_wait_is_enough(planning, requester, component_a, app_component):
    step(planning, requester, "start-db", 5, action="start_service", component=component_a.pk)
    step(planning, requester, "check", 5, ["start-db"])
    step(planning, requester, "start-app", 5, ["check"], action="start_service", component=app_component.pk)
    assert selectors.plan_analysis(planning).violations == []


@pytest.mark.django_db
def test_service_steps_need_a_component_that_exists(planning, requester):
    before = counts()
    for extra, field in (({"action": "start_service"}, "component"),
                         ({"action": "start_service", "component": 999999}, "component"),
                         ({"action": "made-up"}, "action")):
        with pytest.raises(ValidationError) as exc:
            step(planning, requester, "x", 5, **extra)
        assert field in exc.value.message_dict
    for bad in ({"expected_minutes": 0}, {"expected_minutes": "ten"}, {"key": "Not A Key"},
                {"title": "nul\x00"}, {"instructions": ""}):
        data = {"key": "x", "title": "t", "instructions": "i", "expected_minutes": 5, **bad}
        with pytest.raises(ValidationError):
            services.step_add(request=planning, by=requester, **data)
    assert counts()["steps"] == before["steps"]
