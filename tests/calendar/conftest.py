"""Helpers of the change calendar tests."""

import datetime as dt

import pytest

from apps.rollouts.calendar import services
from apps.rollouts.models import FreezeScope
from tests.upgrades.conftest import drive  # noqa: F401  (the fixture)

UTC = dt.UTC


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
def make_freeze(admin_user):
    def _make(name="Year-end freeze", start=at(2026, 12, 5, 0), end=at(2026, 12, 8, 0), by=None, **extra):
        extra.setdefault("scope", FreezeScope.ORGANISATION)
        return services.freeze_create(by=by or admin_user, name=name, reason="Year-end closing of the books.",
                                      starts_at=start, ends_at=end, **extra)

    return _make


@pytest.fixture
def another(requester, assessor, implementer, validator, drive):
    """another(component, state="planning", **fields): a second request with the same people, driven there."""
    from apps.accounts.choices import Duty
    from apps.upgrades.services import upgrade_duty_assign
    from tests.conftest import make_request

    def _another(component, state="planning", **fields):
        req = make_request(requester, component, title=fields.pop("title", "Second change"), **fields)
        upgrade_duty_assign(request=req, by=requester, user=assessor, duty=Duty.ASSESSOR)
        upgrade_duty_assign(request=req, by=requester, user=implementer, duty=Duty.IMPLEMENTER)
        upgrade_duty_assign(request=req, by=requester, user=validator, duty=Duty.VALIDATOR)
        return drive(req, state)

    return _another


@pytest.fixture
def bulk_windows(requester, component_a):
    """bulk_windows(n): n planned requests on team A's system, half of them with two waves; fixture rows
    written in bulk (the services are tested elsewhere; this is only about the calendar's query count)."""
    from apps.rollouts.models import Plan, Wave
    from apps.upgrades.models import UpgradeItem, UpgradeRequest

    def _bulk(n: int, first=at(2026, 12, 1, 0), step=dt.timedelta(hours=1)):
        now = at(2026, 11, 1)
        start = UpgradeRequest.objects.count()
        requests = UpgradeRequest.objects.bulk_create(
            UpgradeRequest(reference=f"UPG-2099-{start + i:04d}", title=f"Bulk change {i}", requester=requester,
                           state="planning", risk_class=("normal", "standard", "emergency")[i % 3],
                           window_start=first + step * i,
                           window_end=first + step * i + dt.timedelta(hours=3),
                           created_at=now, updated_at=now, state_changed_at=now)
            for i in range(n))
        requests = list(UpgradeRequest.objects.filter(reference__startswith="UPG-2099-").order_by("pk"))[-n:]
        UpgradeItem.objects.bulk_create(
            UpgradeItem(request=r, system=component_a.system, component=component_a, product="postgresql",
                        current_version="13.14", target_version="16.4") for r in requests)
        plans = Plan.objects.bulk_create(Plan(request=r, created_at=now, updated_at=now) for r in requests[::2])
        waves = []
        for p in Plan.objects.filter(request__in=requests[::2]):
            base = p.request.window_start
            waves += [Wave(plan=p, position=1, name="Pilot", window_start=base,
                           window_end=base + dt.timedelta(hours=1)),
                      Wave(plan=p, position=2, name="All", window_start=base + dt.timedelta(hours=1),
                           window_end=base + dt.timedelta(hours=2))]
        Wave.objects.bulk_create(waves)
        through = Wave.systems.through
        through.objects.bulk_create(through(wave_id=w.pk, system_id=component_a.system_id)
                                    for w in Wave.objects.filter(plan__in=plans))
        return requests

    return _bulk
