"""Approved baselines, the periodic validation, and configuration exceptions with expiry and segregation."""

import datetime as dt
import time

import pytest
from django.core.exceptions import ValidationError

from apps.assessments.models import Finding
from apps.audit.models import AuditEvent
from apps.configuration import services, tasks
from apps.configuration.models import Baseline, ConfigException
from apps.core import clock
from config.celery import app

from ..factories import UserFactory
from .conftest import PROD, as_json, audit_count, counts

pytestmark = pytest.mark.django_db


def take(system, env, by, data, tag):
    return services.snapshot_take(system=system, environment=env, by=by, raw=as_json(data), filename="c.json",
                                  tag=tag)


def tuned(**changes):
    data = {**PROD, "database": {**PROD["database"], "pool": {**PROD["database"]["pool"]}}}
    data["database"]["pool"].update(changes)
    return data


@pytest.fixture
def baselined(system_a, production, requester):
    snapshot = take(system_a, production, requester, PROD, "approved-2026-11")
    return services.baseline_approve(snapshot=snapshot, by=requester, note="Reviewed with the DBA team.")


def finding(system):
    return Finding.objects.filter(key__startswith=f"configuration:baseline:{system.pk}:").first()


def test_the_periodic_task_raises_a_system_finding_for_deviations_and_resolves_it(baselined, system_a, production,
                                                                                  requester):
    assert tasks.NIGHTLY_VALIDATION in app.conf.beat_schedule
    assert tasks.baselines_validate_task.apply().get() == 1
    assert finding(system_a) is None  # the latest snapshot is the baseline itself
    take(system_a, production, requester, tuned(size=80), "tuned")
    tasks.baselines_validate_task.apply().get()
    f = finding(system_a)
    assert f.resolution == "open" and f.severity == "high" and f.assessment is None
    assert "1 setting deviate" in f.title and "database.pool.size: 40 → 80" in f.evidence
    baselined.refresh_from_db()
    assert baselined.last_deviations[0]["path"] == "database.pool.size"
    # running again changes nothing and audits nothing new
    events = audit_count()
    tasks.baselines_validate_task.apply().get()
    assert audit_count() == events and Finding.objects.filter(key=f.key).count() == 1
    # back to the baseline: resolved
    take(system_a, production, requester, PROD, "reverted")
    tasks.baselines_validate_task.apply().get()
    f.refresh_from_db()
    assert f.resolution == "resolved"


def test_a_new_baseline_replaces_the_old_one(baselined, system_a, production, requester):
    newer = take(system_a, production, requester, tuned(size=80), "approved-2026-12")
    services.baseline_approve(snapshot=newer, by=requester)
    assert Baseline.objects.get(active=True).snapshot == newer
    baselined.refresh_from_db()
    assert not baselined.active and baselined.superseded_at is not None
    with pytest.raises(services.ConfigurationRefused):
        services.baseline_approve(snapshot=newer, by=requester)


def test_only_change_managers_and_admins_approve_baselines(system_a, production, implementer):
    snapshot = take(system_a, production, implementer, PROD, "x")
    with pytest.raises(services.ConfigurationRefused):
        services.baseline_approve(snapshot=snapshot, by=implementer)
    assert not Baseline.objects.exists()
    assert AuditEvent.objects.filter(action="configuration.baseline_refused").exists()


def test_an_approved_exception_covers_a_deviation_until_it_expires(baselined, system_a, production, requester,
                                                                   approver, admin_user):
    take(system_a, production, requester, tuned(size=80), "tuned")
    dual = UserFactory(username="dual", roles=["change_manager", "cab_member"])
    exception = services.exception_request(system=system_a, environment=production, by=dual,
                                           key_pattern="database.pool.*", reason_kind="performance_tuning",
                                           reason="Month-end batch needs a larger pool.",
                                           expires_at=clock.now() + dt.timedelta(days=30))
    services.baseline_validate(baseline=baselined)
    assert finding(system_a).resolution == "open"  # requested is not approved
    with pytest.raises(services.ConfigurationRefused):  # not a CAB member
        services.exception_decide(exception=exception, by=requester, approve=True)
    # segregation of duties: whoever requested an exception may not approve it, CAB member or admin
    with pytest.raises(services.ConfigurationRefused) as exc:
        services.exception_decide(exception=exception, by=dual, approve=True)
    assert "Segregation of duties" in str(exc.value)
    admin_request = services.exception_request(system=system_a, by=admin_user, key_pattern="x",
                                               reason_kind="other", reason="r",
                                               expires_at=clock.now() + dt.timedelta(days=1))
    with pytest.raises(services.ConfigurationRefused):
        services.exception_decide(exception=admin_request, by=admin_user, approve=True)
    assert AuditEvent.objects.filter(action="configuration.exception_refused").count() == 3
    services.exception_decide(exception=exception, by=approver, approve=True)
    assert AuditEvent.objects.filter(action="configuration.exception_approve", actor=approver).exists()
    uncovered = services.baseline_validate(baseline=baselined)
    assert uncovered == [] and finding(system_a).resolution == "resolved"
    baselined.refresh_from_db()
    assert baselined.last_deviations[0]["exception"] == exception.pk
    # expiry honoured: a day after it ends, the deviation is a finding again
    with clock.frozen(clock.now() + dt.timedelta(days=31)):
        uncovered = services.baseline_validate(baseline=baselined)
    assert [d["path"] for d in uncovered] == ["database.pool.size"]
    assert finding(system_a).resolution == "open"


def test_exception_input_is_checked_and_nothing_is_written(system_a, requester, executive):
    before, audit = counts(), audit_count()
    for kwargs, field in [
        ({"key_pattern": ""}, "key_pattern"),
        ({"reason_kind": "because"}, "reason_kind"),
        ({"expires_at": clock.now() - dt.timedelta(days=1)}, "expires_at"),
        ({"expires_at": dt.datetime(2030, 1, 1)}, "expires_at"),
        ({"reason": "x\x00"}, "reason"),
    ]:
        data = {"key_pattern": "db.*", "reason_kind": "other", "reason": "why",
                "expires_at": clock.now() + dt.timedelta(days=2), **kwargs}
        with pytest.raises(ValidationError) as exc:
            services.exception_request(system=system_a, by=requester, **data)
        assert field in exc.value.message_dict
    assert counts() == before and audit_count() == audit
    with pytest.raises(services.ConfigurationRefused):
        services.exception_request(system=system_a, by=executive, key_pattern="x", reason_kind="other", reason="r",
                                   expires_at=clock.now() + dt.timedelta(days=1))
    assert not ConfigException.objects.exists()


def test_refusing_needs_a_reason_and_a_decided_exception_stays_decided(system_a, requester, approver):
    exception = services.exception_request(system=system_a, by=requester, key_pattern="x", reason_kind="other",
                                           reason="r", expires_at=clock.now() + dt.timedelta(days=1))
    with pytest.raises(ValidationError):
        services.exception_decide(exception=exception, by=approver, approve=False, reason="")
    services.exception_decide(exception=exception, by=approver, approve=False, reason="Fix the config instead.")
    with pytest.raises(services.ConfigurationRefused):
        services.exception_decide(exception=exception, by=approver, approve=True)
    exception.refresh_from_db()
    assert exception.status == "refused"


@pytest.mark.redis
def test_the_validation_runs_on_a_real_worker(celery_worker, system_a, production, requester):
    snapshot = take(system_a, production, requester, PROD, "approved")
    services.baseline_approve(snapshot=snapshot, by=requester)
    take(system_a, production, requester, tuned(timeout_s=5), "drifted")
    tasks.baselines_validate_task.delay()
    deadline = time.monotonic() + 30
    while finding(system_a) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert finding(system_a).resolution == "open"
    assert "database.pool.timeout_s: 30 → 5" in finding(system_a).evidence
