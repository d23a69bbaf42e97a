"""Snapshots: immutable, hashed, masked; drift between staging and production as a finding; freezes."""

import datetime as dt
import hashlib

import pytest
from django.core.exceptions import ValidationError

from apps.assessments.models import Finding
from apps.audit.models import AuditEvent
from apps.configuration import services
from apps.configuration.models import ImmutableError, Snapshot
from apps.core import clock
from apps.rollouts.models import Freeze, FreezeException

from .conftest import PROD, STAGING, as_json, audit_count, counts

pytestmark = pytest.mark.django_db


def take(system, env, by, data=PROD, **kw):
    kw.setdefault("tag", "nightly")
    return services.snapshot_take(system=system, environment=env, by=by, raw=as_json(data), filename="app.json", **kw)


def test_a_snapshot_is_hashed_and_cannot_be_changed_or_deleted(system_a, production, requester):
    snapshot = take(system_a, production, requester)
    assert snapshot.sha256 == hashlib.sha256(as_json(PROD)).hexdigest()
    assert services.snapshot_verify(snapshot)
    assert snapshot.format == "json" and snapshot.key_count == 13 and snapshot.masked_count == 2
    snapshot.tag = "rewritten"
    with pytest.raises(ImmutableError):
        snapshot.save()
    with pytest.raises(ImmutableError):
        snapshot.delete()
    assert Snapshot.objects.get().tag == "nightly"
    # a stored row tampered with behind the app's back no longer verifies
    Snapshot.objects.filter(pk=snapshot.pk).update(content={"service": {"workers": 99}})
    assert not services.snapshot_verify(Snapshot.objects.get())
    event = AuditEvent.objects.filter(action="configuration.snapshot").get()
    assert event.after["sha256"] == snapshot.sha256


def test_bad_input_writes_nothing(system_a, production, requester):
    before, audit = counts(), audit_count()
    for kwargs, field in [
        ({"raw": b"{broken", "filename": "x.json"}, "file"),
        ({"raw": as_json(PROD), "filename": "x.bin"}, "format"),
        ({"raw": as_json(PROD), "filename": "x.json", "tag": ""}, "tag"),
        ({"raw": as_json(PROD), "filename": "x.json", "tag": "a\x00b"}, "tag"),
        ({"values": ["not", "a", "mapping"]}, "values"),
        ({"values": {"a": 1}, "purpose": "pre_upgrade"}, "request"),
    ]:
        kwargs.setdefault("tag", "t")
        with pytest.raises(ValidationError) as exc:
            services.snapshot_take(system=system_a, environment=production, by=requester, **kwargs)
        assert field in exc.value.message_dict, (kwargs, exc.value.message_dict)
    assert counts() == before and audit_count() == audit


def test_people_without_a_snapshot_role_are_refused_and_audited(system_a, production, executive):
    with pytest.raises(services.ConfigurationRefused):
        take(system_a, production, executive)
    assert not Snapshot.objects.exists()
    assert AuditEvent.objects.filter(action="configuration.snapshot_refused", actor=executive).exists()


def test_drift_between_staging_and_production_is_a_system_finding(system_a, production, staging, requester):
    take(system_a, production, requester, PROD)
    assert not Finding.objects.filter(key__startswith="configuration:drift").exists()
    take(system_a, staging, requester, STAGING)
    finding = Finding.objects.get(key=f"configuration:drift:{system_a.pk}")
    assert finding.assessment is None and finding.system == system_a and finding.resolution == "open"
    assert "4 changed, 1 only in staging, 2 only in production" in finding.title
    assert "service.workers: 16 → 8" in finding.evidence
    assert "S3cret" not in finding.evidence
    # staging brought back in line: the finding resolves itself
    take(system_a, staging, requester, PROD)
    finding.refresh_from_db()
    assert finding.resolution == "resolved"


@pytest.fixture
def freeze(admin_user, system_a):
    now = clock.now()
    f = Freeze.objects.create(name="Year-end freeze", reason="Annual closing.", scope="systems",
                              starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(days=3),
                              created_by=admin_user, created_at=now)
    f.systems.add(system_a)
    return f


def test_a_freeze_refuses_new_snapshots_and_baseline_changes_and_audits_it(system_a, production, requester,
                                                                         admin_user):
    snapshot = take(system_a, production, requester)
    now = clock.now()
    f = Freeze.objects.create(name="Year-end freeze", reason="Annual closing.", scope="organisation",
                              starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(days=3),
                              created_by=admin_user, created_at=now)
    with pytest.raises(services.ConfigurationRefused) as exc:
        take(system_a, production, requester, tag="during-freeze")
    assert "Year-end freeze" in str(exc.value)
    with pytest.raises(services.ConfigurationRefused):
        services.baseline_approve(snapshot=snapshot, by=admin_user)
    assert Snapshot.objects.count() == 1
    refused = AuditEvent.objects.filter(action__in=["configuration.snapshot_refused",
                                                     "configuration.baseline_refused"])
    assert refused.count() == 2
    assert "Year-end freeze" in refused.first().data["reasons"][0]
    # a lifted freeze refuses nothing
    Freeze.objects.filter(pk=f.pk).update(lifted_at=clock.now())
    take(system_a, production, requester, tag="after-lift")


def test_a_regional_freeze_only_freezes_its_region(system_a, system_b, production, requester, admin_user):
    now = clock.now()
    Freeze.objects.create(name="APAC freeze", reason="Regulator.", scope="region", region="ap-south",
                          starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(days=1),
                          created_by=admin_user, created_at=now)
    take(system_a, production, requester)  # eu-central: not frozen
    Freeze.objects.create(name="EU freeze", reason="Regulator.", scope="region", region="eu-central",
                          starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(days=1),
                          created_by=admin_user, created_at=now)
    with pytest.raises(services.ConfigurationRefused) as exc:
        take(system_a, production, requester, tag="again")
    assert "EU freeze" in str(exc.value) and "APAC" not in str(exc.value)


def test_an_approved_freeze_exception_lets_the_request_record_its_snapshot(planning, freeze, system_a, production,
                                                                          requester, approver):
    with pytest.raises(services.ConfigurationRefused):
        take(system_a, production, requester, request=planning, purpose="staging")
    exception = FreezeException.objects.create(request=planning, freeze=freeze, reason="Security fix.",
                                               requested_by=requester, requested_at=clock.now())
    with pytest.raises(services.ConfigurationRefused):  # requested is not approved
        take(system_a, production, requester, request=planning, purpose="staging")
    FreezeException.objects.filter(pk=exception.pk).update(status="approved", decided_by=approver,
                                                           decided_at=clock.now())
    snapshot = take(system_a, production, requester, request=planning, purpose="staging")
    assert snapshot.request == planning
    # ... but not a snapshot that belongs to no request
    with pytest.raises(services.ConfigurationRefused):
        take(system_a, production, requester, tag="routine")
    # an expired exception no longer covers
    FreezeException.objects.filter(pk=exception.pk).update(expires_at=clock.now() - dt.timedelta(minutes=1))
    with pytest.raises(services.ConfigurationRefused):
        take(system_a, production, requester, request=planning, purpose="staging")


def test_request_snapshots_need_a_duty_and_an_affected_system(planning, system_b, system_a, production, outsider,
                                                               requester):
    with pytest.raises(ValidationError) as exc:
        take(system_b, production, requester, request=planning)
    assert "system" in exc.value.message_dict
    with pytest.raises(services.duties.DutyRefused):
        take(system_a, production, outsider, request=planning)
    assert AuditEvent.objects.filter(action="configuration.snapshot_refused", actor=outsider).exists()


def test_key_value_documents_from_automation(system_a, production, implementer):
    snapshot = services.snapshot_take(system=system_a, environment=production, by=implementer, tag="api",
                                      values={"jvm": {"heap": "4g", "keystore_password": "x"}})
    assert snapshot.format == "keyvalue" and snapshot.content["jvm"]["heap"] == "4g"
    assert snapshot.content["jvm"]["keystore_password"] != "x"
