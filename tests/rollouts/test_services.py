"""Plan writes: who may edit and when, per-kind trigger thresholds, audited field diffs, conflicts re-checked."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.accounts.duties import DutyRefused
from apps.audit.models import AuditEvent
from apps.rollouts import selectors, services
from apps.rollouts.models import RollbackTrigger, Wave

from .conftest import UTC, counts

GOOD = [("health_failures", 3), ("error_rate", "2.5"), ("error_rate_over_baseline", 1), ("latency_p95", 800),
        ("latency_p95_over_baseline", "1.5"), ("sla_breach", "99.9"), ("manual", None)]
BAD = [
    ("health_failures", None, "Give the threshold: the number of consecutive failed health checks (1–100)."),
    ("health_failures", "2.5", "Out of range: give the number of consecutive failed health checks (1–100)."),
    ("health_failures", 0, "Out of range"),
    ("error_rate", 150, "Out of range: give an error rate in percent (above 0, at most 100)."),
    ("error_rate", "lots", "Give a number: an error rate in percent"),
    ("error_rate", "NaN", "Give a number"),
    ("latency_p95", -5, "Out of range: give a p95 latency in milliseconds (1–600000)."),
    ("latency_p95_over_baseline", 1, "Out of range: give a multiple of the baseline p95 latency (above 1"),
    ("sla_breach", 0, "Out of range"),
    ("manual", 5, "A manual trigger has no threshold: leave it empty."),
]


@pytest.mark.django_db
def test_thresholds_are_checked_per_kind(planning, requester):
    for kind, threshold in GOOD:
        trigger = services.trigger_add(request=planning, by=requester, name=kind, kind=kind, threshold=threshold,
                                       evaluation_window_minutes=10, action="pause")
        assert trigger.threshold == (None if threshold is None else Decimal(str(threshold)))
    before = counts()
    for kind, threshold, message in BAD:
        with pytest.raises(ValidationError) as exc:
            services.trigger_add(request=planning, by=requester, name="x", kind=kind, threshold=threshold)
        assert exc.value.message_dict["threshold"][0].startswith(message), (kind, threshold)
    for extra, field in (({"kind": "vibes"}, "kind"), ({"action": "panic"}, "action"),
                         ({"evaluation_window_minutes": 0}, "evaluation_window_minutes"),
                         ({"evaluation_window_minutes": 2000}, "evaluation_window_minutes"),
                         ({"name": ""}, "name"), ({"system": 999999}, "system")):
        data = {"name": "x", "kind": "manual", **extra}
        with pytest.raises(ValidationError) as exc:
            services.trigger_add(request=planning, by=requester, **data)
        assert field in exc.value.message_dict, extra
    assert counts() == before
    words = {t.kind: selectors.threshold_text(t) for t in RollbackTrigger.objects.all()}
    assert words["health_failures"] == "3 consecutive failures"
    assert words["latency_p95_over_baseline"] == "p95 above 1.5 × baseline"
    assert words["manual"] == "a person decides"


@pytest.mark.django_db
def test_only_the_requester_or_an_admin_edits_and_refusals_are_audited(planning, personas, requester):
    before = counts()
    for name in ("assessor", "implementer", "validator", "executive", "auditor", "outsider"):
        with pytest.raises(DutyRefused):
            services.trigger_add(request=planning, by=personas[name], name="x", kind="manual")
        assert AuditEvent.objects.filter(action="duty.denied", actor=personas[name],
                                         data__what="add trigger").exists(), name
    after = counts()
    assert after.pop("audit") == before.pop("audit") + 6 and after == before
    services.trigger_add(request=planning, by=personas["admin"], name="by admin", kind="manual")
    services.trigger_add(request=planning, by=requester, name="by requester", kind="manual")
    assert RollbackTrigger.objects.count() == 2


@pytest.mark.django_db
def test_edits_are_audited_with_field_diffs(planning, requester):
    wave = services.wave_add(request=planning, by=requester, name="EU")
    services.wave_update(wave=wave, by=requester, name="EU first", entry_criteria="Backups verified.")
    event = AuditEvent.objects.filter(action="plan.wave_update").get()
    assert event.before == {"name": "EU", "entry_criteria": ""}
    assert event.after == {"name": "EU first", "entry_criteria": "Backups verified."}
    assert event.object_id == str(planning.pk)
    services.wave_update(wave=wave, by=requester, name="EU first")  # no change, no event
    assert AuditEvent.objects.filter(action="plan.wave_update").count() == 1


@pytest.mark.django_db
def test_waves_name_only_the_changed_systems_and_tiers_need_a_reason(planning, requester, system_b):
    before = counts()
    with pytest.raises(ValidationError) as exc:
        services.wave_add(request=planning, by=requester, name="W", systems=[system_b.pk])
    assert "Retail Portal" in exc.value.message_dict["systems"][0]
    assert counts() == before
    wave = services.wave_add(request=planning, by=requester, name="W")
    with pytest.raises(ValidationError) as exc:
        services.tier_add(wave=wave, by=requester, layer="database", reason="")
    assert exc.value.message_dict["reason"] == ["Say why this tier comes in this order (or runs simultaneously)."]
    db = services.tier_add(wave=wave, by=requester, layer="database", reason="The app needs the new schema.")
    app = services.tier_add(wave=wave, by=requester, layer="application", mode="simultaneous",
                            reason="Both app nodes behind the balancer.")
    assert (db.position, app.position) == (1, 2)
    services.tier_update(tier=app, by=requester, position=1)
    assert list(wave.tiers.values_list("layer", flat=True)) == ["application", "database"]


@pytest.mark.django_db
def test_moving_a_wave_window_rechecks_the_calendar(planning, requester, component_a, drive, assessor, implementer,
                                                    validator):
    from apps.accounts.choices import Duty
    from apps.rollouts.models import Conflict
    from apps.upgrades.services import upgrade_duty_assign
    from tests.conftest import make_request

    other = make_request(requester, component_a, title="Other change on the ledger",
                         window_start=dt.datetime(2026, 12, 20, 1, tzinfo=UTC),
                         window_end=dt.datetime(2026, 12, 20, 3, tzinfo=UTC))
    for user, duty in ((assessor, Duty.ASSESSOR), (implementer, Duty.IMPLEMENTER), (validator, Duty.VALIDATOR)):
        upgrade_duty_assign(request=other, by=requester, user=user, duty=duty)
    drive(other, "planning")
    wave = services.wave_add(request=planning, by=requester, name="W",
                             window_start=dt.datetime(2026, 12, 6, 1, tzinfo=UTC),
                             window_end=dt.datetime(2026, 12, 6, 5, tzinfo=UTC))
    assert not Conflict.objects.filter(request=planning, other_request=other, status="open").exists()
    services.wave_update(wave=wave, by=requester, window_start=dt.datetime(2026, 12, 20, 0, tzinfo=UTC),
                         window_end=dt.datetime(2026, 12, 20, 2, tzinfo=UTC))
    assert Conflict.objects.filter(request=planning, other_request=other, status="open").exists()


@pytest.mark.django_db
def test_plan_windows_fall_back_to_the_requested_window(planning, requester):
    assert selectors.plan_windows(planning) == [(planning.window_start, planning.window_end, None)]
    wave = services.wave_add(request=planning, by=requester, name="W",
                             window_start=dt.datetime(2026, 12, 7, 1, tzinfo=UTC),
                             window_end=dt.datetime(2026, 12, 7, 2, tzinfo=UTC))
    assert selectors.plan_windows(planning) == [(wave.window_start, wave.window_end, Wave.objects.get())]


@pytest.mark.django_db
def test_waves_change_order(planning, requester, api):
    first = services.wave_add(request=planning, by=requester, name="Pilot")
    second = services.wave_add(request=planning, by=requester, name="Rest")
    response = api(requester).patch(f"/api/v1/plans/{planning.reference}/waves/{second.pk}/", {"position": 1},
                                    format="json")
    assert response.status_code == 200 and response.json()["position"] == 1
    assert list(Wave.objects.order_by("position").values_list("name", flat=True)) == ["Rest", "Pilot"]
    assert AuditEvent.objects.filter(action="plan.wave_update", before__position=2, after__position=1).exists()
    with pytest.raises(ValidationError):
        services.wave_update(wave=first, by=requester, position=0)


@pytest.mark.django_db
def test_the_plan_page_of_a_draft_says_what_comes_first(upgrade, requester, login):
    page = login(requester).get(f"/upgrades/{upgrade.reference}/plan/").content.decode()
    assert "written once the request is being assessed" in page and "Add a wave" not in page
