"""Starting, running and completing an assessment; findings refreshed when the inventory changes."""

import pytest
from django.core.exceptions import ValidationError

from apps.accounts.duties import DutyRefused
from apps.assessments import services
from apps.assessments.choices import AssessmentStatus, Resolution, Severity, Verdict
from apps.assessments.models import Assessment, AssessmentRun, Finding
from apps.audit.models import AuditEvent
from apps.core import clock
from apps.upgrades.services import upgrade_transition

from ..factories import ComponentFactory, DependencyFactory, SystemFactory


@pytest.fixture
def only_compat(monkeypatch):
    """These tests are about the compatibility check; the other registered checks stay out of the way."""
    from apps.assessments import checks, compat

    monkeypatch.setattr(checks, "_checks", {"compatibility": compat.compatibility})


def assessing(upgrade, requester):
    return upgrade_transition(request=upgrade, by=requester, transition="start_assessment")


def payments_hub(component, constraint=">=13 <17", kind="semver"):
    """payments-hub depends on the ledger database with a version constraint."""
    hub = SystemFactory(name="Payments Hub", slug="payments-hub", criticality="high")
    app = ComponentFactory(system=hub, environment=component.environment, name="payments-api", product="java",
                           version="21")
    return DependencyFactory(source_system=hub, source_component=app, target_system=component.system,
                             target_component=component, constraint=constraint, constraint_kind=kind,
                             description="JDBC driver certified range")


def audit_actions(upgrade) -> list[str]:
    return list(AuditEvent.objects.filter(object_type="upgrades.upgraderequest", object_id=str(upgrade.pk))
                .order_by("seq").values_list("action", flat=True))


@pytest.mark.django_db
def test_the_assessor_starts_an_assessment_that_runs_and_records_its_first_run(
        only_compat, upgrade, requester, assessor, component_a):
    payments_hub(component_a, constraint=">=13 <16")  # the target 16.4 is outside it
    upgrade = assessing(upgrade, requester)

    assessment = services.assessment_start(request=upgrade, by=assessor)

    blocking = assessment.findings.get(severity=Severity.BLOCKING)
    assert "payments-hub/payments-api requires core-ledger postgresql >=13 <16" in blocking.title
    assert "16.4 is outside it" in blocking.title
    assert blocking.owner == assessor and blocking.resolution == Resolution.OPEN
    run = assessment.runs.get()
    assert [a["key"] for a in run.added] == [blocking.key]
    assert assessment.verdict == Verdict.NOT_READY and assessment.risk_score > 0
    names = {f["name"] for f in assessment.risk_factors}
    assert names >= {"Criticality", "Blast radius", "Open blocking findings"}
    assert "assessment.start" in audit_actions(upgrade) and "assessment.run" in audit_actions(upgrade)
    # starting twice does not make a second assessment
    assert services.assessment_start(request=upgrade, by=assessor).pk == assessment.pk
    assert Assessment.objects.count() == 1


@pytest.mark.django_db
def test_only_the_assessor_starts_and_only_while_assessing(
        only_compat, upgrade, requester, assessor, outsider):
    with pytest.raises(services.AssessmentRefused):
        services.assessment_start(request=upgrade, by=assessor)  # still a draft
    upgrade = assessing(upgrade, requester)
    for who in (requester, outsider):
        with pytest.raises(DutyRefused):
            services.assessment_start(request=upgrade, by=who)
    assert not Assessment.objects.exists()
    assert audit_actions(upgrade).count("duty.denied") == 2
    assert "assessment.refused" in audit_actions(upgrade)


@pytest.mark.django_db
def test_a_finding_refreshes_after_an_inventory_change_and_the_run_says_what_changed(
        only_compat, upgrade, requester, assessor, component_a):
    dep = payments_hub(component_a, constraint=">=13 <16")
    upgrade = assessing(upgrade, requester)
    assessment = services.assessment_start(request=upgrade, by=assessor)
    finding = assessment.findings.get(severity=Severity.BLOCKING)

    # the constraint moves but still excludes 16.4: the same finding, changed
    dep.constraint = ">=14 <16"
    dep.save()
    run = services.assessment_run(assessment=assessment, by=assessor)
    finding.refresh_from_db()
    assert "requires core-ledger postgresql >=14 <16" in finding.title
    assert [c["key"] for c in run.changed] == [finding.key] and not run.added and not run.removed
    assert "title" in run.changed[0]["fields"]

    # the payments team certifies 16: the finding is gone, the run says so
    dep.constraint = ">=13 <17"
    dep.save()
    run = services.assessment_run(assessment=assessment, by=assessor)
    finding.refresh_from_db()
    assert finding.stale and finding.resolution == Resolution.RESOLVED
    assert [r["key"] for r in run.removed] == [finding.key]
    assessment.refresh_from_db()
    assert not services.open_blocking(assessment)

    # running again without a change records an empty diff
    run = services.assessment_run(assessment=assessment, by=assessor)
    assert (run.added, run.removed, run.changed) == ([], [], [])
    assert AssessmentRun.objects.filter(assessment=assessment).count() == 4


@pytest.mark.django_db
def test_complete_is_refused_with_the_open_blocking_findings_listed(
        only_compat, upgrade, requester, assessor, component_a):
    payments_hub(component_a, constraint=">=13 <16")
    upgrade = assessing(upgrade, requester)
    assessment = services.assessment_start(request=upgrade, by=assessor)

    with pytest.raises(services.AssessmentRefused) as refused:
        services.assessment_complete(assessment=assessment, by=assessor)
    assert any("payments-hub/payments-api requires core-ledger" in r for r in refused.value.reasons)
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.IN_PROGRESS

    blocking = assessment.findings.get(severity=Severity.BLOCKING)
    services.finding_resolve(finding=blocking, by=assessor, resolution=Resolution.ACCEPTED,
                             justification="The payments team runs 16.4 in staging since March.")
    assessment = services.assessment_complete(assessment=assessment, by=assessor)
    assert assessment.status == AssessmentStatus.COMPLETED
    assert assessment.verdict == Verdict.READY_WITH_RISKS
    assert "assessment.complete" in audit_actions(upgrade)


@pytest.mark.django_db
def test_accepting_a_risk_needs_a_justification_and_the_assessor(
        only_compat, upgrade, requester, assessor, outsider, component_a):
    payments_hub(component_a, constraint=">=13 <16")
    upgrade = assessing(upgrade, requester)
    finding = services.assessment_start(request=upgrade, by=assessor).findings.get(severity=Severity.BLOCKING)
    before = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as err:
        services.finding_resolve(finding=finding, by=assessor, resolution=Resolution.ACCEPTED,
                                 justification=" ")
    assert "justification" in err.value.message_dict
    for who in (requester, outsider):  # the requester may mitigate, not accept
        with pytest.raises(DutyRefused):
            services.finding_resolve(finding=finding, by=who, resolution=Resolution.ACCEPTED,
                                     justification="We are fine.")
    finding.refresh_from_db()
    assert finding.resolution == Resolution.OPEN
    denied = AuditEvent.objects.filter(seq__gt=before, action="duty.denied")
    assert denied.count() == 2

    services.finding_resolve(finding=finding, by=assessor, resolution=Resolution.ACCEPTED,
                             justification="Certified by the vendor in writing.")
    finding.refresh_from_db()
    assert (finding.resolution, finding.resolved_by, finding.justification) == (
        Resolution.ACCEPTED, assessor, "Certified by the vendor in writing.")
    event = AuditEvent.objects.filter(action="assessment.finding_accepted").get()
    assert event.after["justification"] == "Certified by the vendor in writing."


@pytest.mark.django_db
def test_the_requester_may_mitigate_and_bad_input_writes_nothing(
        only_compat, upgrade, requester, assessor, component_a):
    payments_hub(component_a, constraint=">=13 <16")
    upgrade = assessing(upgrade, requester)
    assessment = services.assessment_start(request=upgrade, by=assessor)
    finding = assessment.findings.get(severity=Severity.BLOCKING)
    before = (Finding.objects.count(), AuditEvent.objects.count())
    for kwargs in ({"resolution": "accepted", "justification": "x" * 10000},
                   {"resolution": "mitigated", "justification": "bad\x00byte"},
                   {"resolution": "forgotten"}):
        with pytest.raises(ValidationError):
            services.finding_resolve(finding=finding, by=assessor, **kwargs)
    for data in ({"title": "t\x00", "category": "other", "severity": "low"},
                 {"title": "ok", "category": "nonsense", "severity": "low"},
                 {"title": "ok", "category": "other", "severity": "low", "evidence": "e" * 10000}):
        with pytest.raises(ValidationError):
            services.finding_add(assessment=assessment, by=assessor, **data)
    assert (Finding.objects.count(), AuditEvent.objects.count()) == before

    services.finding_resolve(finding=finding, by=requester, resolution=Resolution.MITIGATED,
                             justification="Driver upgraded on payments-hub first.")
    finding.refresh_from_db()
    assert finding.resolution == Resolution.MITIGATED


@pytest.mark.django_db
def test_open_system_level_findings_of_affected_systems_count(
        only_compat, upgrade, requester, assessor, component_a, system_b):
    now = clock.now()
    mine = Finding.objects.create(system=component_a.system, category="configuration", severity="blocking",
                                  title="Baseline deviation on ledger-db", created_at=now, updated_at=now)
    Finding.objects.create(system=system_b, category="configuration", severity="blocking",
                           title="Somebody else's problem", created_at=now, updated_at=now)
    upgrade = assessing(upgrade, requester)
    assessment = services.assessment_start(request=upgrade, by=assessor)
    assert [f.title for f in services.open_blocking(assessment)] == ["Baseline deviation on ledger-db"]
    with pytest.raises(services.AssessmentRefused):
        services.assessment_complete(assessment=assessment, by=assessor)
    services.finding_resolve(finding=mine, by=assessor, request=upgrade, resolution=Resolution.RESOLVED,
                             justification="Drift reverted.")
    assert services.assessment_complete(assessment=assessment, by=assessor).verdict == Verdict.READY


@pytest.mark.django_db
def test_assessment_pass_and_the_daily_rerun(upgrade, requester, assessor, component_a):
    upgrade = assessing(upgrade, requester)
    assessment = services.assessment_pass(request=upgrade, by=assessor)
    assert assessment.status == AssessmentStatus.COMPLETED and assessment.verdict == Verdict.READY
    payments_hub(component_a, constraint=">=13 <16")
    assert services.assessments_rerun_open() == 1
    assert assessment.findings.filter(severity=Severity.BLOCKING, resolution=Resolution.OPEN).count() == 1
    run = assessment.runs.order_by("-pk").first()
    assert run.run_by is None and any(a["key"].startswith("compat:") for a in run.added)
    assert services.assessments_rerun_open() == 1  # idempotent: nothing new the second time
    assert assessment.runs.order_by("-pk").first().added == []
    assert assessment.findings.filter(key__startswith="compat:").count() == 1


@pytest.mark.django_db
def test_the_daily_rerun_is_on_the_beat_schedule_and_runs_as_a_task(upgrade, requester, assessor):
    from apps.assessments.tasks import DAILY_RERUN, assessments_rerun_open_task
    from config.celery import app

    assert app.conf.beat_schedule[DAILY_RERUN]["task"] == assessments_rerun_open_task.name
    upgrade = assessing(upgrade, requester)
    assessment = services.assessment_start(request=upgrade, by=assessor)
    assert assessments_rerun_open_task.apply().get() == 1
    assert assessment.runs.count() == 2


@pytest.mark.django_db
def test_the_inbox_lists_the_assessment_to_run_and_the_findings_to_resolve(
        only_compat, upgrade, requester, assessor, component_a):
    from apps.core.inbox import items_for

    payments_hub(component_a, constraint=">=13 <16")
    upgrade = assessing(upgrade, requester)
    assert [i.kind for i in items_for(assessor) if i.kind == "Assessment to run"] == ["Assessment to run"]
    services.assessment_start(request=upgrade, by=assessor)
    kinds = [i.kind for i in items_for(assessor)]
    assert "Finding to resolve" in kinds and "Assessment to run" in kinds
    services.finding_resolve(finding=Finding.objects.get(severity=Severity.BLOCKING), by=assessor,
                             resolution=Resolution.RESOLVED, justification="Driver upgraded.")
    services.assessment_complete(assessment=upgrade.assessment, by=assessor)
    kinds = [i.kind for i in items_for(assessor)]
    assert "Finding to resolve" not in kinds and "Assessment to run" not in kinds


@pytest.mark.django_db
def test_once_the_request_moved_on_the_assessment_no_longer_changes(only_compat, upgrade, requester, assessor,
                                                                    component_a):
    payments_hub(component_a, constraint=">=13 <16")
    upgrade = assessing(upgrade, requester)
    assessment = services.assessment_start(request=upgrade, by=assessor)
    finding = assessment.findings.get(severity=Severity.BLOCKING)
    upgrade_transition(request=upgrade, by=requester, transition="cancel", reason="Superseded.")
    with pytest.raises(services.AssessmentRefused):
        services.assessment_run(assessment=assessment, by=assessor)
    with pytest.raises(services.AssessmentRefused):
        services.finding_resolve(finding=finding, by=assessor, resolution=Resolution.ACCEPTED,
                                 justification="Too late.")
    with pytest.raises(services.AssessmentRefused):
        services.finding_add(assessment=assessment, by=assessor, category="other", severity="low", title="Late")
    finding.refresh_from_db()
    assert finding.resolution == Resolution.OPEN and assessment.runs.count() == 1
    assert audit_actions(upgrade).count("assessment.refused") == 3
