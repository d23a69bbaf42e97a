import datetime as dt
from pathlib import Path

import pytest

from apps.cab.models import StandardTemplate, TemplateStatus
from apps.core import clock
from apps.reviews import patches

DATA = Path(__file__).resolve().parent.parent / "data" / "csaf"
BEFORE_DST = dt.datetime(2026, 3, 5, 9, 0, tzinfo=dt.UTC)


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.fixture
def template(system_a, requester, approver):
    """An approved standard change template for PostgreSQL 13 patch releases on the core ledger."""
    t = StandardTemplate.objects.create(
        name="PostgreSQL 13 minor patching", description="Apply the monthly PostgreSQL 13 minor release.",
        product="postgresql", version_constraint=">=13.0,<14", runbook="1. Fail over. 2. Patch. 3. Fail back.",
        valid_from=dt.date(2026, 1, 1), valid_until=dt.date(2027, 12, 31), status=TemplateStatus.APPROVED,
        approved_by=approver, approved_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC), created_by=requester,
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    t.systems.set([system_a])
    return t


@pytest.fixture
def schedule(template, component_a, requester):
    """Second Tuesday of every month, 22:00 Europe/Berlin, two hours, raised 7 days ahead."""
    with clock.frozen(BEFORE_DST - dt.timedelta(days=4)):
        return patches.schedule_create(
            by=requester, system=component_a.system, template=template, name="Ledger DB monthly patching",
            rrule="FREQ=MONTHLY;BYDAY=2TU", first_date=dt.date(2026, 1, 1), start_time=dt.time(22, 0),
            time_zone="Europe/Berlin", target_version="13.16", duration_minutes=120, lead_days=7)
