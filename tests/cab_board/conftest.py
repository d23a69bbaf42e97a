"""Helpers of the CAB board tests: requests in CAB review (driven through the services), counts."""

import pytest

from apps.accounts.choices import Duty
from apps.audit.models import AuditEvent
from apps.cab.models import AgendaItem, Attendance, Meeting
from apps.upgrades.services import upgrade_duty_assign
from tests.conftest import make_request
from tests.upgrades.conftest import drive  # noqa: F401  (fixture)

PERSONAS = ("requester", "assessor", "approver", "implementer", "validator", "executive", "auditor", "admin",
            "outsider", "anonymous")


@pytest.fixture
def in_review(upgrade, drive):
    return drive(upgrade, "cab_review")


@pytest.fixture
def more_in_review(personas, component_a, drive):
    """more_in_review(n): n further requests of the same requester driven to CAB review."""

    def _make(n: int, **overrides):
        made = []
        for i in range(n):
            req = make_request(personas["requester"], component_a, title=f"Queued upgrade {i}", **overrides)
            for duty in (Duty.ASSESSOR, Duty.IMPLEMENTER, Duty.VALIDATOR):
                upgrade_duty_assign(request=req, by=personas["requester"], user=personas[duty], duty=duty)
            made.append(drive(req, "cab_review"))
        return made

    return _make


def counts() -> dict[str, int]:
    return {"meetings": Meeting.objects.count(), "items": AgendaItem.objects.count(),
            "attendance": Attendance.objects.count(), "audit": AuditEvent.objects.count()}


def audit_actions(action: str):
    return AuditEvent.objects.filter(action=action).order_by("seq")
