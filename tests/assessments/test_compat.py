"""The version-compatibility check on a small real-ish estate: semver and PEP 440 constraints."""

import pytest

from apps.assessments import compat
from apps.assessments.choices import Category, Severity
from apps.inventory.models import Dependency
from apps.upgrades.services import upgrade_create

from ..factories import ComponentFactory, DependencyFactory, SystemFactory


@pytest.fixture
def estate(component_a, component_b, production):
    """The ledger database (postgresql 13.14) and the portal (django 4.2.16), with what depends on them."""
    hub = SystemFactory(name="Payments Hub", slug="payments-hub", criticality="critical")
    hub_api = ComponentFactory(system=hub, environment=production, name="payments-api", product="java",
                               version="21")
    reports = SystemFactory(name="Reporting", slug="reporting", criticality="medium")
    plugin = ComponentFactory(system=reports, environment=production, name="portal-plugin", product="python",
                              version="3.12")
    return {
        "hub_db": DependencyFactory(source_system=hub, source_component=hub_api,
                                    target_system=component_a.system, target_component=component_a,
                                    constraint=">=13 <17", constraint_kind="semver"),
        "reports_db": DependencyFactory(source_system=reports, target_system=component_a.system,
                                        target_component=component_a, constraint="^13 || ^14",
                                        constraint_kind="semver"),
        "plugin_django": DependencyFactory(source_system=reports, source_component=plugin,
                                           target_system=component_b.system, target_component=component_b,
                                           constraint=">=4.2,<5.0", constraint_kind="pep440"),
        "unconstrained": DependencyFactory(source_system=hub, target_system=component_b.system,
                                           target_component=component_b, constraint=""),
    }


def request_to(requester, *items):
    return upgrade_create(by=requester, title="Estate upgrade", justification="Support ends.", items=[
        {"system": c.system_id, "component": c.pk, "target_version": target} for c, target in items])


@pytest.mark.django_db
def test_a_constraint_that_excludes_the_target_blocks_and_names_both_sides(estate, requester, component_a):
    specs = compat.compatibility(request_to(requester, (component_a, "16.4")))

    assert len(specs) == 1  # payments-hub admits 16 (>=13 <17); reporting does not (^13 || ^14)
    spec = specs[0]
    assert spec.severity == Severity.BLOCKING and spec.category == Category.COMPATIBILITY
    assert spec.title == "reporting requires core-ledger postgresql ^13 || ^14; the target 16.4 is outside it"
    assert "Dependency: reporting → core-ledger/ledger-db" in spec.evidence
    assert "Target version: 16.4 (now 13.14)" in spec.evidence
    assert spec.system_id == estate["reports_db"].source_system_id


@pytest.mark.django_db
def test_semver_upper_bounds_block_a_major_jump(estate, requester, component_a):
    titles = sorted(s.title for s in compat.compatibility(request_to(requester, (component_a, "18.1"))))
    assert titles == [
        "payments-hub/payments-api requires core-ledger postgresql >=13 <17; the target 18.1 is outside it",
        "reporting requires core-ledger postgresql ^13 || ^14; the target 18.1 is outside it",
    ]
    assert compat.compatibility(request_to(requester, (component_a, "14.12"))) == []


@pytest.mark.django_db
def test_pep440_constraints(estate, requester, component_b):
    assert compat.compatibility(request_to(requester, (component_b, "4.2.20"))) == []
    specs = compat.compatibility(request_to(requester, (component_b, "5.1.3")))
    assert [s.title for s in specs] == [
        "reporting/portal-plugin requires retail-portal django >=4.2,<5.0; the target 5.1.3 is outside it"]
    assert "PEP 440" in specs[0].evidence
    assert len(compat.compatibility(request_to(requester, (component_b, "4.1.13")))) == 1


@pytest.mark.django_db
def test_an_unreadable_target_version_is_a_high_finding(estate, requester, component_a):
    specs = compat.compatibility(request_to(requester, (component_a, "next-lts")))
    assert {s.severity for s in specs} == {Severity.HIGH}
    assert all("Cannot check" in s.title and "Error:" in s.evidence for s in specs)
    # an already-stored constraint that no longer parses is also reported, not a crash
    Dependency.objects.filter(pk=estate["hub_db"].pk).update(constraint=">=13 <<17")
    specs = compat.compatibility(request_to(requester, (component_a, "16.4")))
    assert any(s.severity == Severity.HIGH and "payments-hub" in s.title for s in specs)


@pytest.mark.django_db
def test_a_whole_system_item_checks_dependencies_on_the_system(requester, component_a, system_b):
    DependencyFactory(source_system=system_b, target_system=component_a.system, target_component=None,
                      constraint="<16", constraint_kind="semver")
    upgrade = upgrade_create(by=requester, title="Ledger platform", justification="x", items=[
        {"system": component_a.system_id, "product": "ledger-suite", "current_version": "15.0",
         "target_version": "16.0"}])
    assert [s.title for s in compat.compatibility(upgrade)] == [
        "retail-portal requires core-ledger ledger-suite <16; the target 16.0 is outside it"]
