"""Business-critical workflows: a request lists the workflows of the systems it touches, with owners."""

import datetime as dt
import importlib

import pytest
from django.apps import apps as django_apps

from apps.assessments import checks, workflows
from apps.assessments.choices import Category, Severity
from apps.inventory.models import BusinessWorkflow, System

from ..conftest import make_request
from ..factories import ComponentFactory, SystemFactory, UserFactory


@pytest.mark.django_db
def test_a_critical_systems_workflows_are_listed_with_owners_as_medium(upgrade, system_a, team_a):
    owner = UserFactory(username="olivia")
    BusinessWorkflow.objects.create(
        system=system_a,
        name="End-of-day settlement",
        owner=owner,
        owner_team=team_a,
        stakeholder_notes="Must finish by 02:00;\nregulator reporting at 06:00.",
        interviewed_at=dt.date(2026, 10, 12),
    )
    BusinessWorkflow.objects.create(system=system_a, name="Card authorisation")

    [spec] = workflows.workflow_findings(upgrade)

    assert spec.key == f"workflow:{system_a.pk}" and spec.category == Category.WORKFLOW
    assert spec.severity == Severity.MEDIUM  # core-ledger is critical
    assert spec.title == (
        "Core Ledger carries 2 business-critical workflows: Card authorisation (no owner), "
        "End-of-day settlement (olivia)"
    )
    assert (
        "- End-of-day settlement — owner: olivia, Core Banking; stakeholders interviewed 2026-10-12"
        in spec.evidence
    )
    assert "Notes: Must finish by 02:00; regulator reporting at 06:00." in spec.evidence
    assert (
        "- Card authorisation — owner: no owner recorded; stakeholders not interviewed yet" in spec.evidence
    )
    assert workflows.workflow_count(upgrade) == 2


@pytest.mark.django_db
def test_workflows_of_a_system_that_is_not_critical_are_info(requester, production):
    system = SystemFactory(name="Intranet", slug="intranet", criticality="high")
    component = ComponentFactory(system=system, environment=production, name="wiki-db")
    BusinessWorkflow.objects.create(system=system, name="Staff onboarding")

    [spec] = workflows.workflow_findings(make_request(requester, component))

    assert spec.severity == Severity.INFO


@pytest.mark.django_db
def test_text_lines_without_a_row_still_count_without_duplicates(upgrade, system_a):
    System.objects.filter(pk=system_a.pk).update(business_workflows="Payroll run\nend-of-day settlement\n\n")
    BusinessWorkflow.objects.create(system=system_a, name="End-of-day settlement")

    [spec] = workflows.workflow_findings(upgrade)

    assert "Payroll run (Core Banking)" in spec.title
    assert workflows.workflow_count(upgrade) == 2


@pytest.mark.django_db
def test_no_workflow_no_finding(upgrade):
    assert workflows.workflow_findings(upgrade) == []
    assert workflows.workflow_count(upgrade) == 0


@pytest.mark.django_db
def test_the_registered_workflows_check_is_this_one():
    assert checks.registered()["workflows"] is workflows.workflow_findings


@pytest.mark.django_db
def test_the_migration_turns_workflow_text_lines_into_rows(system_a, system_b):
    migration = importlib.import_module("apps.inventory.migrations.0003_businessworkflow")
    text = "Card authorisation\n  End-of-day settlement  \n\ncard authorisation\n"
    System.objects.filter(pk=system_a.pk).update(business_workflows=text)

    migration.workflows_from_text(django_apps, None)

    rows = list(
        BusinessWorkflow.objects.order_by("name").values_list("system__slug", "name", "owner_team__slug")
    )
    assert rows == [
        ("core-ledger", "Card authorisation", "core-banking"),
        ("core-ledger", "End-of-day settlement", "core-banking"),
    ]
    system_a.refresh_from_db()
    assert system_a.business_workflows == text  # the text field is kept
