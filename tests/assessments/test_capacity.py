"""Capacity: a release requirement against the latest measured capacity, per system and environment."""

import datetime as dt
from decimal import Decimal

import pytest
from django.template.loader import render_to_string

from apps.assessments import capacity, checks
from apps.assessments.choices import Category, Severity
from apps.inventory.models import CapacityRecord, ReleaseRequirement

from ..conftest import make_request
from ..factories import ComponentFactory, EnvironmentFactory

MEASURED = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


def measure(system, environment, *, cpu=(16, 4), memory=(64, 40), storage=(500, 200), at=MEASURED):
    return CapacityRecord.objects.create(
        system=system,
        environment=environment,
        cpu_cores=cpu[0],
        cpu_used_cores=cpu[1],
        memory_gb=memory[0],
        memory_used_gb=memory[1],
        storage_gb=storage[0],
        storage_used_gb=storage[1],
        measured_at=at,
    )


def require(*, spec=">=16 <17", environment=None, cpu=0, memory=0, storage=0, product="postgresql", note=""):
    return ReleaseRequirement.objects.create(
        product=product,
        version_spec=spec,
        environment=environment,
        cpu_cores=cpu,
        memory_gb=memory,
        storage_gb=storage,
        note=note,
    )


def by_key(specs):
    return {s.key.split(":")[1]: s for s in specs}


@pytest.fixture
def request_16(upgrade):
    """The shared request: core-ledger's postgresql in production, 13.14 -> 16.4."""
    return upgrade


@pytest.mark.django_db
def test_a_requirement_above_free_capacity_in_production_blocks_with_the_numbers(
    request_16, system_a, production
):
    measure(system_a, production, memory=(64, 40))  # 24 GB free
    require(memory=32, note="PostgreSQL 16 shared buffers")

    [spec] = capacity.capacity_check(request_16)

    assert spec.category == Category.CAPACITY and spec.severity == Severity.BLOCKING
    assert spec.key == f"capacity:shortfall:{system_a.pk}:production:postgresql"
    assert "memory needs 32 GB but 24 GB free" in spec.title
    assert "Core Ledger (Production)" in spec.title
    assert "capacity 64, used 40, free 24 GB" in spec.evidence
    assert "headroom 37.5% now, -12.5% after the upgrade" in spec.evidence
    assert spec.system_id == system_a.pk


@pytest.mark.django_db
def test_a_shortfall_outside_production_is_high_not_blocking(requester, system_a):
    staging = EnvironmentFactory(name="Staging", slug="staging", kind="staging", order=1)
    component = ComponentFactory(
        system=system_a, environment=staging, name="ledger-db", product="postgresql", version="13.14"
    )
    req = make_request(requester, component)
    measure(system_a, staging, cpu=(4, 3))  # 1 core free
    require(cpu=2)

    [spec] = capacity.capacity_check(req)

    assert spec.severity == Severity.HIGH
    assert "cpu needs 2 cores but 1 cores free" in spec.title


@pytest.mark.django_db
def test_headroom_under_the_margin_after_the_upgrade_is_medium(request_16, system_a, production, settings):
    settings.TOLLGATE_CAPACITY_MARGIN = 0.25
    measure(system_a, production, storage=(1000, 600))  # 400 free, 40% now
    require(storage=200)  # 200 left: 20% after, under 25%

    [spec] = capacity.capacity_check(request_16)

    assert spec.severity == Severity.MEDIUM
    assert spec.title.startswith("Headroom under 25.0% after upgrading Core Ledger (Production)")
    assert "storage 20.0%" in spec.title
    assert "free 400 GB (headroom 40.0% now, 20.0% after the upgrade)" in spec.evidence

    settings.TOLLGATE_CAPACITY_MARGIN = 0.1  # the same numbers pass a smaller margin
    assert capacity.capacity_check(request_16) == []


@pytest.mark.django_db
def test_the_latest_measurement_counts(request_16, system_a, production):
    measure(system_a, production, memory=(64, 60), at=MEASURED - dt.timedelta(days=30))
    measure(system_a, production, memory=(128, 40), at=MEASURED)  # after adding memory
    require(memory=32)

    assert capacity.capacity_check(request_16) == []
    [row] = capacity.capacity_summary(request_16)["rows"]
    assert row.status == "ok" and row.lines[0].free == Decimal(88)


@pytest.mark.django_db
def test_no_measurement_for_a_system_with_a_requirement_is_low_capacity_unknown(request_16, system_a):
    require(cpu=2, memory=8)

    [spec] = capacity.capacity_check(request_16)

    assert spec.severity == Severity.LOW
    assert spec.title == "Capacity unknown: no measurement of Core Ledger (Production) for postgresql 16.4"
    assert "CPU: needs 2 cores, not measured" in spec.evidence


@pytest.mark.django_db
def test_requirements_for_other_versions_or_products_do_not_apply(request_16, system_a, production):
    measure(system_a, production, memory=(64, 63))
    require(spec=">=17", memory=32)
    require(product="mysql", memory=32)

    assert capacity.capacity_check(request_16) == []
    assert capacity.capacity_summary(request_16)["rows"] == []


@pytest.mark.django_db
def test_an_environment_specific_requirement_replaces_the_general_one_there(request_16, system_a, production):
    measure(system_a, production, memory=(64, 40))  # 24 free
    require(memory=8)  # fits
    require(memory=30, environment=production, note="production keeps a hot standby")

    [spec] = capacity.capacity_check(request_16)
    assert spec.severity == Severity.BLOCKING
    assert "memory needs 30 GB but 24 GB free" in spec.title
    assert "production keeps a hot standby" in spec.evidence


@pytest.mark.django_db
def test_a_requirement_for_another_environment_does_not_apply(request_16, system_a, production):
    staging = EnvironmentFactory(name="Staging", slug="staging", kind="staging", order=1)
    measure(system_a, production, memory=(64, 40))
    require(memory=60, environment=staging)  # only staging needs that much

    assert capacity.capacity_check(request_16) == []


@pytest.mark.django_db
def test_every_measured_environment_of_the_system_is_checked(request_16, system_a, production):
    dr = EnvironmentFactory(name="Disaster recovery", slug="dr", kind="dr", order=2)
    measure(system_a, production, memory=(64, 8))
    measure(system_a, dr, memory=(32, 20))  # 12 free in DR
    require(memory=16)

    specs = capacity.capacity_check(request_16)

    assert [(s.key, s.severity) for s in specs] == [
        (f"capacity:shortfall:{system_a.pk}:dr:postgresql", Severity.HIGH)
    ]


@pytest.mark.django_db
def test_the_check_is_registered_and_the_partial_shows_the_numbers_with_status(
    request_16, system_a, production
):
    from apps.assessments import apps as assessments_apps  # noqa: F401  (ready() registered the checks)

    assert "capacity" in checks.registered()
    measure(system_a, production, memory=(64, 40), cpu=(16, 4))
    require(memory=32, cpu=2)

    html = render_to_string(
        "assessments/partials/capacity.html", {"capacity": capacity.capacity_summary(request_16)}
    )

    assert "Core Ledger" in html and "Production" in html
    assert '<span class="bad">● Shortfall</span>' in html  # memory
    assert '<span class="ok">● Enough</span>' in html  # cpu: 12 free, 2 needed
    assert "1 shortfall," in html
    assert ">-12.5%<" in html


@pytest.mark.django_db
def test_capacity_summary_costs_a_fixed_number_of_queries(
    request_16, system_a, production, django_assert_num_queries
):
    require(memory=8)
    measure(system_a, production)
    with django_assert_num_queries(3):
        capacity.capacity_summary(request_16)
    for day in range(30):
        measure(system_a, production, at=MEASURED - dt.timedelta(days=day + 1))
    with django_assert_num_queries(3):
        capacity.capacity_summary(request_16)
