"""The gate on "finish assessment": a completed assessment with no open blocking finding."""

import pytest

from apps.assessments import gates as assessment_gates
from apps.assessments import services
from apps.assessments.choices import Resolution
from apps.upgrades import gates
from apps.upgrades.choices import State
from apps.upgrades.services import TransitionRefused, upgrade_transition

from ..factories import DependencyFactory, SystemFactory


@pytest.fixture
def gate():
    registered = any(g.name == "assessment_complete" for g in gates.gates_for("finish_assessment"))
    assessment_gates.register_gates()
    yield
    if not registered:
        gates.unregister("finish_assessment", "assessment_complete")


@pytest.fixture
def only_compat(monkeypatch):
    from apps.assessments import checks, compat

    monkeypatch.setattr(checks, "_checks", {"compatibility": compat.compatibility})


@pytest.fixture
def blocked(only_compat, upgrade, requester, component_a):
    DependencyFactory(source_system=SystemFactory(name="Payments Hub", slug="payments-hub"),
                      target_system=component_a.system, target_component=component_a, constraint=">=13 <16")
    return upgrade_transition(request=upgrade, by=requester, transition="start_assessment")


TITLE = "payments-hub requires core-ledger postgresql >=13 <16; the target 16.4 is outside it"


@pytest.mark.django_db
def test_the_gate_is_owned_by_assessments(gate):
    gate_ = next(g for g in gates.gates_for("finish_assessment") if g.name == "assessment_complete")
    assert gate_.owner == "assessments"


@pytest.mark.django_db
def test_finishing_needs_an_assessment_then_a_completed_one_without_blocking_findings(gate, blocked,
                                                                                     assessor):
    with pytest.raises(TransitionRefused) as refused:
        upgrade_transition(request=blocked, by=assessor, transition="finish_assessment")
    assert any("Run the readiness assessment" in r for r in refused.value.reasons)

    assessment = services.assessment_start(request=blocked, by=assessor)
    with pytest.raises(TransitionRefused) as refused:
        upgrade_transition(request=blocked, by=assessor, transition="finish_assessment")
    assert f"Open blocking finding: {TITLE}" in refused.value.reasons
    assert "Complete the readiness assessment." in refused.value.reasons
    with pytest.raises(services.AssessmentRefused) as refused:
        services.assessment_complete(assessment=assessment, by=assessor)
    assert refused.value.reasons == [f"Open blocking finding: {TITLE}"]

    services.finding_resolve(finding=assessment.findings.get(severity="blocking"), by=assessor,
                             resolution=Resolution.ACCEPTED,
                             justification="Vendor certified 16.4 in writing.")
    services.assessment_complete(assessment=assessment, by=assessor)
    upgrade = upgrade_transition(request=blocked, by=assessor, transition="finish_assessment")
    assert upgrade.state == State.PLANNING


@pytest.mark.django_db
def test_the_api_answers_409_with_the_blocking_findings(gate, blocked, assessor, api):
    client = api(assessor)
    ref = blocked.reference
    assert client.post(f"/api/v1/assessments/{ref}/", format="json").status_code == 201

    response = client.post(f"/api/v1/assessments/{ref}/complete/", format="json")
    assert response.status_code == 409
    assert response.json()["reasons"] == [f"Open blocking finding: {TITLE}"]

    response = client.post(f"/api/v1/upgrades/{ref}/transitions/finish_assessment/", {"reason": ""},
                           format="json")
    assert response.status_code == 409
    assert f"Open blocking finding: {TITLE}" in response.json()["reasons"]
    blocked.refresh_from_db()
    assert blocked.state == State.ASSESSING


@pytest.mark.django_db
def test_a_passed_assessment_opens_the_gate(gate, upgrade, requester, assessor):
    upgrade = upgrade_transition(request=upgrade, by=requester, transition="start_assessment")
    services.assessment_pass(request=upgrade, by=assessor)
    upgrade = upgrade_transition(request=upgrade, by=assessor, transition="finish_assessment")
    assert upgrade.state == State.PLANNING


@pytest.mark.django_db
def test_the_demo_seed_passes_its_assessments_through_the_gate(gate, settings):
    import io

    from django.core.management import call_command

    from apps.assessments.models import Assessment
    from apps.audit.services import audit_verify
    from apps.upgrades.models import UpgradeRequest

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.TOLLGATE_SEED_ALLOWED = True
    call_command("seed_demo", "--i-know-this-is-not-production", stdout=io.StringIO(), stderr=io.StringIO())

    past = UpgradeRequest.objects.exclude(state__in=[State.DRAFT, State.ASSESSING, State.CANCELLED])
    assert past.count() >= 5
    assert not past.exclude(assessment__status="completed").exists()  # every one passed the gate
    assert Assessment.objects.filter(status="completed").count() >= past.count()
    assert audit_verify().ok
