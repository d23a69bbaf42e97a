"""Helpers for the rollout plan tests: a request in planning, integrations, counts of what a refusal leaves."""

import datetime as dt

import pytest

from apps.audit.models import AuditEvent
from apps.inventory.models import Integration
from apps.rollouts.models import (IntegrationFallback, Plan, PlanVersion, RollbackTrigger, RunbookStep, Wave,
                                  WaveTier)
from apps.upgrades.choices import State
from tests.upgrades.conftest import drive  # noqa: F401  (the fixture)

UTC = dt.UTC


@pytest.fixture
def planning(upgrade, drive):  # noqa: F811
    """The plain request of tests/conftest.py, assessed and in planning, without a plan."""
    return drive(upgrade, State.PLANNING)


@pytest.fixture
def integration(component_a):
    return Integration.objects.create(system=component_a.system, name="SWIFT FIN", partner="SWIFT",
                                      protocol="SWIFT FIN")


def counts() -> dict[str, int]:
    return {
        "plans": Plan.objects.count(), "waves": Wave.objects.count(), "tiers": WaveTier.objects.count(),
        "triggers": RollbackTrigger.objects.count(), "steps": RunbookStep.objects.count(),
        "fallbacks": IntegrationFallback.objects.count(), "versions": PlanVersion.objects.count(),
        "audit": AuditEvent.objects.count(),
    }
