"""Plan versions: frozen on submit to CAB (canonical JSON + SHA-256), immutable, a new one per resubmission,
and the differences between two versions."""

import datetime as dt
import hashlib
import json

import pytest

from apps.audit.models import AuditEvent
from apps.rollouts import selectors, services
from apps.rollouts.models import PlanVersion, Wave
from apps.rollouts.versions import canonical_json, diff, plan_content
from apps.upgrades.choices import State
from apps.upgrades.services import upgrade_transition

from .conftest import UTC, counts


@pytest.fixture
def submitted(upgrade, drive, integration):
    return drive(upgrade, State.CAB_REVIEW)


@pytest.mark.django_db
def test_submitting_freezes_version_1_with_the_hash_of_its_canonical_json(submitted, requester):
    version = selectors.current_version(submitted)
    assert version.number == 1 and version.created_by == requester
    text = json.dumps(version.content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert version.sha256 == hashlib.sha256(text.encode()).hexdigest() == hashlib.sha256(
        canonical_json(version.content).encode()).hexdigest()
    assert version.content["waves"][0]["window_start"] == "2026-12-06T01:00:00Z"
    assert version.content["fallbacks"][0]["integration"] == "core-ledger/SWIFT FIN"
    assert AuditEvent.objects.filter(action="plan.version_frozen", object_id=str(submitted.pk),
                                     after__sha256=version.sha256).exists()
    version.reason = "tampered"
    with pytest.raises(ValueError):
        version.save()


@pytest.mark.django_db
def test_the_plan_cannot_change_while_the_cab_reviews_it(submitted, requester, api):
    wave = Wave.objects.get(plan__request=submitted)
    before = counts()
    with pytest.raises(services.PlanRefused) as exc:
        services.wave_update(wave=wave, by=requester, name="Renamed")
    assert "CAB review" in exc.value.reasons[0] or "cab review" in exc.value.reasons[0]
    response = api(requester).patch(f"/api/v1/plans/{submitted.reference}/waves/{wave.pk}/",
                                    {"name": "Renamed"}, format="json")
    assert response.status_code == 409 and "replan" in response.json()["reasons"][0]
    after = counts()
    assert after.pop("audit") == before.pop("audit") + 2  # the two refusals are audited, nothing else
    assert after == before
    assert AuditEvent.objects.filter(action="plan.refused", actor=requester).count() == 2


@pytest.mark.django_db
def test_returned_and_resubmitted_the_plan_gets_version_2_and_the_differences_show(
        submitted, requester, approver, login, drive):
    upgrade_transition(request=submitted, by=approver, transition="return_to_planning",
                       reason="Move the window: month-end close.")
    wave = Wave.objects.get(plan__request=submitted)
    services.wave_update(wave=wave, by=requester, window_start=dt.datetime(2026, 12, 13, 1, 0, tzinfo=UTC),
                         window_end=dt.datetime(2026, 12, 13, 5, 0, tzinfo=UTC))
    request = drive(submitted, State.CAB_REVIEW)
    versions = selectors.versions_of(request)
    assert [v.number for v in versions] == [2, 1]
    assert versions[0].sha256 != versions[1].sha256
    changes = diff(versions[1].content, versions[0].content)
    assert [(c.path, c.kind, c.before, c.after) for c in changes] == [
        ("waves › wave 1 › window_end", "changed", "2026-12-06T05:00:00Z", "2026-12-13T05:00:00Z"),
        ("waves › wave 1 › window_start", "changed", "2026-12-06T01:00:00Z", "2026-12-13T01:00:00Z"),
    ]
    page = login(requester).get(f"/upgrades/{request.reference}/plan/versions/").content.decode()
    assert "From version 1 to version 2" in page and "waves › wave 1 › window_start" in page
    assert "2026-12-13T01:00:00Z" in page


@pytest.mark.django_db
def test_replan_and_resubmit_creates_version_2(submitted, requester, drive):
    request = drive(submitted, State.APPROVED)
    upgrade_transition(request=request, by=requester, transition="replan", reason="Month-end close moved.")
    services.trigger_add(request=request, by=requester, name="SLA", kind="sla_breach", threshold="99.5",
                         action="roll_back")
    request = drive(request, State.CAB_REVIEW)
    v1, v2 = PlanVersion.objects.filter(plan__request=request).order_by("number")
    changes = diff(v1.content, v2.content)
    assert any(c.path.startswith("triggers › trigger “SLA”") and c.kind == "added" for c in changes)


@pytest.mark.django_db
def test_an_unchanged_plan_hashes_the_same(submitted):
    plan = selectors.plan_get(submitted)
    assert canonical_json(plan_content(plan)) == canonical_json(selectors.current_version(submitted).content)
