"""Patch schedules: occurrences across a DST change, exactly-once generation, standard requests."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.reviews import patches
from apps.reviews.models import PatchOccurrence, PatchSchedule
from apps.reviews.registry_patches import patch_generate_due_task
from apps.upgrades.models import UpgradeRequest

from .conftest import BEFORE_DST

pytestmark = pytest.mark.django_db


def test_occurrences_keep_local_time_across_dst(schedule):
    found = patches.occurrences(schedule, after=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                                before=dt.datetime(2026, 11, 30, tzinfo=dt.UTC))
    local = [(o["local"].date(), o["local"].strftime("%H:%M")) for o in found]
    utc = [o["starts_at"].strftime("%m-%d %H:%M") for o in found]
    # second Tuesdays; 22:00 Berlin is 21:00 UTC in winter (CET) and 20:00 UTC in summer (CEST)
    assert local[:3] == [(dt.date(2026, 3, 10), "22:00"), (dt.date(2026, 4, 14), "22:00"),
                         (dt.date(2026, 5, 12), "22:00")]
    assert utc[:2] == ["03-10 21:00", "04-14 20:00"]
    assert utc[-2:] == ["10-13 20:00", "11-10 21:00"]  # DST ends 25 October
    assert all(o["ends_at"] - o["starts_at"] == dt.timedelta(hours=2) for o in found)


def test_generation_across_dst_raises_each_window_once_as_standard_from_the_template(schedule, template,
                                                                                       component_a, requester):
    with clock.frozen(BEFORE_DST):  # 5 March: the 10 March window is within the 7 days
        assert patch_generate_due_task() == 1
        assert patch_generate_due_task() == 0  # the beat task ran twice: nothing more
    with clock.frozen(dt.datetime(2026, 4, 8, 9, 0, tzinfo=dt.UTC)):  # after the DST change
        assert patch_generate_due_task() == 1
        assert patch_generate_due_task() == 0
    rows = list(PatchOccurrence.objects.select_related("request").order_by("starts_at"))
    assert [r.starts_at for r in rows] == [dt.datetime(2026, 3, 10, 21, 0, tzinfo=dt.UTC),
                                           dt.datetime(2026, 4, 14, 20, 0, tzinfo=dt.UTC)]
    assert UpgradeRequest.objects.count() == 2
    for row in rows:
        request = row.request
        assert request.risk_class == "standard"
        assert request.requester == requester
        assert (request.window_start, request.window_end) == (row.starts_at, row.ends_at)
        assert "PostgreSQL 13 minor patching" in request.justification
        [item] = request.items.all()
        assert (item.system_id, item.component_id, item.product) == (component_a.system_id, component_a.pk,
                                                                      "postgresql")
        assert (item.current_version, item.target_version) == ("13.14", "13.16")
    from apps.cab.services import template_covering

    with clock.frozen(BEFORE_DST):
        assert template_covering(rows[0].request) == template  # the CAB template covers what was raised
    assert AuditEvent.objects.filter(action="reviews.patch_generate").count() == 2


def test_nothing_is_raised_outside_the_lead_time_or_when_paused(schedule, requester):
    with clock.frozen(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)):  # 8 days before the window
        assert patches.generate_due() == 0
    patches.schedule_set_active(schedule=schedule, active=False, by=requester)
    with clock.frozen(BEFORE_DST):
        assert patches.generate_due() == 0
    assert not UpgradeRequest.objects.exists()


@pytest.mark.parametrize("field,value,message", [
    ("rrule", "FREQ=HOURLY", "FREQ=DAILY, WEEKLY, MONTHLY or YEARLY"),
    ("rrule", "FREQ=MONTHLY;BYDAY=XX", "not a valid RFC 5545 rule"),
    ("rrule", "DTSTART:20260101T000000\nRRULE:FREQ=DAILY", "only the rule"),
    ("time_zone", "Mars/Olympus", "IANA time zone"),
    ("target_version", "14.1", "outside what the template covers"),
    ("lead_days", 90, "0 to 60"),
    ("name", "bad\x00name", "NUL"),
])
def test_bad_schedules_are_refused_with_the_field_and_nothing_written(template, component_a, requester, field,
                                                                      value, message):
    fields = dict(system=component_a.system, template=template, name="x", rrule="FREQ=MONTHLY;BYDAY=2TU",
                  first_date=dt.date(2026, 1, 1), start_time=dt.time(22, 0), time_zone="Europe/Berlin",
                  target_version="13.16", lead_days=7)
    fields[field] = value
    with pytest.raises(ValidationError) as exc:
        patches.schedule_create(by=requester, **fields)
    assert message in " ".join(exc.value.message_dict[field])
    assert not PatchSchedule.objects.exists()


def test_only_change_managers_and_admins_create_schedules(template, component_a, auditor):
    with pytest.raises(PermissionDenied):
        patches.schedule_create(by=auditor, system=component_a.system, template=template, name="x",
                                rrule="FREQ=WEEKLY", first_date=dt.date(2026, 1, 1), start_time=dt.time(1, 0),
                                time_zone="UTC", target_version="13.16")
    assert not PatchSchedule.objects.exists()
    assert AuditEvent.objects.filter(action="reviews.denied").exists()


def test_the_task_is_on_the_beat_schedule():
    from config.celery import app

    entry = app.conf.beat_schedule["reviews-patch-schedule-generation"]
    assert entry["task"] == "reviews.patch_generate_due" == patch_generate_due_task.name


@pytest.mark.redis
def test_generation_on_a_real_worker_runs_once_per_occurrence(celery_worker, template, component_a, requester):
    import time

    today = clock.now().date()
    schedule = patches.schedule_create(
        by=requester, system=component_a.system, template=template, name="Nightly", rrule="FREQ=DAILY",
        first_date=today + dt.timedelta(days=1), start_time=dt.time(3, 0), time_zone="Europe/Berlin",
        target_version="13.16", lead_days=2)
    expected = len(patches.occurrences(schedule, after=clock.now(), before=clock.now() + dt.timedelta(days=2)))
    assert expected >= 1
    for _ in range(2):
        patch_generate_due_task.delay().get(timeout=30)
    deadline = time.monotonic() + 10
    while PatchOccurrence.objects.count() < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert PatchOccurrence.objects.count() == expected == UpgradeRequest.objects.count()
    assert set(UpgradeRequest.objects.values_list("risk_class", flat=True)) == {"standard"}


def test_inbox_names_affected_components_without_a_request(requester, approver, system_a, production):
    from apps.core.inbox import items_for
    from apps.reviews import advisories

    from ..factories import ComponentFactory

    ComponentFactory(system=system_a, environment=production, name="db", product="postgresql", version="13.14")
    advisories.advisory_record(by=requester, identifier="PG-9", title="t", severity="high", product="postgresql",
                               affected_versions="13.14")
    kinds = [i.title for i in items_for(requester) if i.kind == "Vendor advisory to act on"]
    assert kinds == ["PG-9: Core Ledger postgresql 13.14"]
    assert not [i for i in items_for(approver) if i.kind == "Vendor advisory to act on"]


def test_the_demo_seed_sets_up_a_signed_template_a_schedule_and_an_advisory(component_a, personas, production):
    from apps.reviews.models import Advisory
    from apps.reviews.registry_patches import seed_demo

    from ..factories import ComponentFactory

    ComponentFactory(system=component_a.system, environment=production, name="tls", product="openssl",
                     version="1.1.1w")
    with clock.frozen(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)):  # second Tuesday: 8 December
        done = seed_demo(users={k: v for k, v in personas.items() if v})
        assert done == {"schedules": 1, "requests": 1, "advisories": 1}
        assert seed_demo(users={k: v for k, v in personas.items() if v})["schedules"] == 0  # once
    request = UpgradeRequest.objects.get()
    assert request.risk_class == "standard"
    assert request.window_start == dt.datetime(2026, 12, 8, 21, 0, tzinfo=dt.UTC)
    assert Advisory.objects.get().matches.count() == 1
