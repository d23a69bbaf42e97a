"""The explained risk score: every factor with its weight and points; thresholds; the verdict."""

import pytest

from apps.accounts.choices import Duty
from apps.assessments import services
from apps.assessments.choices import Resolution, RiskLevel, Verdict
from apps.assessments.risk import level_for
from apps.upgrades.services import upgrade_duty_assign, upgrade_transition

from ..conftest import make_request
from ..factories import DependencyFactory, SystemFactory

FACTORS = {"Criticality", "Blast radius", "Lifecycle urgency", "Open blocking findings", "Customizations",
           "Risk class", "Rollback history", "Business workflows"}


@pytest.fixture
def only_compat(monkeypatch):
    from apps.assessments import checks, compat

    monkeypatch.setattr(checks, "_checks", {"compatibility": compat.compatibility})


def _factors(assessment) -> dict:
    return {f["name"]: f for f in assessment.risk_factors}


def _rolled_back(requester, assessor, approver, implementer, validator, component):
    """An earlier request on the same system that was rolled back, through the services."""
    req = make_request(requester, component, title="Earlier attempt")
    for user, duty in ((assessor, Duty.ASSESSOR), (implementer, Duty.IMPLEMENTER),
                       (validator, Duty.VALIDATOR)):
        upgrade_duty_assign(request=req, by=requester, user=user, duty=duty)
    from tests.upgrades.conftest import take

    people = {"requester": requester, "assessor": assessor, "approver": approver, "implementer": implementer,
              "validator": validator}
    for name, who in (("start_assessment", requester), ("finish_assessment", assessor),
                      ("submit_to_cab", requester), ("approve", approver), ("schedule", requester),
                      ("start", implementer), ("roll_back", implementer)):
        # each app's gates are met the way the demo seed meets them (the plan, the votes, the backout ...)
        req = take(req, name, who, people, reason="Replication lag.")
    assert req.state == "rolled_back"
    return req


@pytest.mark.django_db
def test_every_factor_is_explained_and_the_score_is_their_sum(only_compat, upgrade, requester, assessor,
                                                               component_a):
    component_a.system.business_workflows = "Payments settlement\nEnd-of-day batch"
    component_a.system.save()
    for n in range(3):
        DependencyFactory(source_system=SystemFactory(slug=f"dependent-{n}"),
                          target_system=component_a.system,
                          target_component=component_a, constraint=">=13" if n else "<16")
    upgrade = upgrade_transition(request=upgrade, by=requester, transition="start_assessment")
    assessment = services.assessment_start(request=upgrade, by=assessor)

    factors = _factors(assessment)
    assert set(factors) == FACTORS
    for f in factors.values():
        assert 0 <= f["points"] <= f["weight"] and f["explanation"]
    assert factors["Criticality"]["points"] == 20
    assert "Core Ledger (critical)" in factors["Criticality"]["explanation"]
    assert factors["Blast radius"]["points"] >= 9  # three systems depend on the ledger database
    assert factors["Open blocking findings"]["points"] == 10  # dependent-0 requires <16
    assert factors["Business workflows"]["points"] == 4
    assert factors["Risk class"]["points"] == 5  # normal
    assert factors["Rollback history"]["points"] == 0
    assert assessment.risk_score == sum(f["points"] for f in factors.values())
    assert assessment.risk_level == level_for(assessment.risk_score)

    # resolving the blocking finding takes its points away at once
    blocking = assessment.findings.get(severity="blocking")
    services.finding_resolve(finding=blocking, by=assessor, resolution=Resolution.RESOLVED,
                             justification="dependent-0 upgraded its driver.")
    assessment.refresh_from_db()
    assert _factors(assessment)["Open blocking findings"]["points"] == 0


@pytest.mark.django_db
def test_rollbacks_of_the_same_systems_raise_the_score(only_compat, upgrade, requester, assessor, approver,
                                                       implementer, validator, component_a):
    _rolled_back(requester, assessor, approver, implementer, validator, component_a)
    upgrade = upgrade_transition(request=upgrade, by=requester, transition="start_assessment")
    assessment = services.assessment_start(request=upgrade, by=assessor)
    rollback = _factors(assessment)["Rollback history"]
    assert rollback["points"] == 5 and rollback["explanation"].startswith("1 earlier request")


@pytest.mark.django_db
def test_thresholds_come_from_settings(settings):
    settings.TOLLGATE_RISK_THRESHOLDS = (10, 20)
    assert [level_for(s) for s in (9, 10, 19, 20)] == [RiskLevel.LOW, RiskLevel.MODERATE, RiskLevel.MODERATE,
                                                       RiskLevel.HIGH]
    del settings.TOLLGATE_RISK_THRESHOLDS
    assert [level_for(s) for s in (29, 30, 59, 60)] == [RiskLevel.LOW, RiskLevel.MODERATE, RiskLevel.MODERATE,
                                                        RiskLevel.HIGH]


@pytest.mark.django_db
def test_verdict_ready_with_risks_and_not_ready(only_compat, upgrade, requester, assessor, component_a):
    DependencyFactory(source_system=SystemFactory(slug="old-client"), target_system=component_a.system,
                      target_component=component_a, constraint="<15")
    upgrade = upgrade_transition(request=upgrade, by=requester, transition="start_assessment")
    assessment = services.assessment_start(request=upgrade, by=assessor)
    assert assessment.verdict == Verdict.NOT_READY
    services.finding_add(assessment=assessment, by=assessor, category="other", severity="high",
                         title="DBA on leave during the window")
    services.finding_resolve(finding=assessment.findings.get(severity="blocking"), by=assessor,
                             resolution=Resolution.ACCEPTED,
                             justification="old-client is read-only and retired in Q1.")
    assessment = services.assessment_complete(assessment=assessment, by=assessor)
    assert assessment.verdict == Verdict.NOT_READY  # an open high finding
    services.finding_resolve(finding=assessment.findings.get(severity="high"), by=requester,
                             resolution=Resolution.MITIGATED, justification="Second DBA booked.")
    assessment.refresh_from_db()
    assert assessment.verdict == Verdict.READY_WITH_RISKS
