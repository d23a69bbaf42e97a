"""The assessment page: who sees it, what it shows, its forms, and its query count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from apps.assessments import services
from apps.assessments.models import Finding
from apps.audit.models import AuditEvent
from apps.core import clock
from apps.upgrades.services import upgrade_transition

from ..factories import DependencyFactory, SystemFactory

PAGE_STATUS = {"requester": 200, "assessor": 200, "approver": 404, "implementer": 200, "validator": 200,
               "executive": 200, "auditor": 200, "admin": 200, "outsider": 404}
TITLE = escape("payments-hub requires core-ledger postgresql >=13 <16; the target 16.4 is outside it")


@pytest.fixture
def started(upgrade, requester, assessor, component_a):
    DependencyFactory(source_system=SystemFactory(name="Payments Hub", slug="payments-hub"),
                      target_system=component_a.system, target_component=component_a, constraint=">=13 <16")
    upgrade = upgrade_transition(request=upgrade, by=requester, transition="start_assessment")
    services.assessment_start(request=upgrade, by=assessor)
    return upgrade


def url(upgrade, suffix=""):
    return f"/upgrades/{upgrade.reference}/assessment/{suffix}"


@pytest.mark.django_db
def test_persona_matrix_of_the_page(started, personas, login):
    for name, user in personas.items():
        response = login(user).get(url(started))
        if user is None:
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], name
        else:
            assert response.status_code == PAGE_STATUS[name], name


@pytest.mark.django_db
def test_the_page_shows_verdict_factors_findings_and_the_assessor_forms(started, assessor, executive, login):
    page = login(assessor).get(url(started)).content.decode()
    for text in ("Not ready", "Risk factors", "Criticality", "Blast radius", "Rollback history", TITLE,
                 "Version compatibility", "Blocking", "Re-run", "Complete assessment", "Add a finding",
                 "Accepted risk", "Since the last run"):
        assert text in page, text
    assert "<svg" in page  # the dependency map partial
    page = login(executive).get(url(started)).content.decode()
    assert TITLE in page and "Complete assessment" not in page and "Add a finding" not in page
    assert 'name="resolution"' not in page


@pytest.mark.django_db
def test_resolve_accept_rerun_and_complete_from_the_page(started, assessor, login, component_a):
    client = login(assessor)
    finding = Finding.objects.get(severity="blocking", key__startswith="compat:")
    response = client.post(url(started, "complete/"), follow=True)
    assert TITLE in response.content.decode()  # refused, with the blocking finding named
    response = client.post(url(started, f"findings/{finding.pk}/resolve/"),
                           {"resolution": "accepted", "justification": ""})
    assert response.status_code == 400
    assert "Accepting a risk needs a justification." in response.content.decode()
    response = client.post(url(started, f"findings/{finding.pk}/resolve/"),
                           {"resolution": "accepted", "justification": "Vendor certified 16.4."})
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.resolution == "accepted"

    dep = component_a.dependents.get()
    dep.constraint = ">=13 <17"
    dep.save()
    page = client.post(url(started, "run/"), follow=True).content.decode()
    assert "gone" in page and TITLE in page  # the run's diff names what disappeared


@pytest.mark.django_db
def test_bad_input_is_a_form_error_and_writes_nothing(started, assessor, requester, login):
    client = login(assessor)
    finding = Finding.objects.get(severity="blocking", key__startswith="compat:")
    before = (Finding.objects.count(), AuditEvent.objects.count())
    for data in ({"resolution": "mitigated", "justification": "nul\x00byte"},
                 {"resolution": "accepted", "justification": "x" * 10000},
                 {"resolution": "made-up"}):
        response = client.post(url(started, f"findings/{finding.pk}/resolve/"), data)
        assert response.status_code == 400, data
        assert 'class="errorlist"' in response.content.decode()
    for data in ({"category": "other", "severity": "low", "title": "a\x00b"},
                 {"category": "other", "severity": "low", "title": "t" * 301},
                 {"category": "bogus", "severity": "low", "title": "ok"}):
        assert client.post(url(started, "findings/"), data).status_code == 400, data
    response = client.post(url(started, "findings/999999/resolve/"), {"resolution": "resolved"})
    assert response.status_code == 404
    assert (Finding.objects.count(), AuditEvent.objects.count()) == before
    # a requester may not accept: refused, audited, nothing changed
    response = login(requester).post(url(started, f"findings/{finding.pk}/resolve/"),
                                     {"resolution": "accepted", "justification": "Fine by me."})
    assert response.status_code == 403
    finding.refresh_from_db()
    assert finding.resolution == "open"
    assert AuditEvent.objects.filter(action="duty.denied", actor=requester).exists()


def _pad_findings(upgrade, n, owner):
    now = clock.now()
    assessment = upgrade.assessment
    Finding.objects.bulk_create(
        Finding(assessment=assessment, system=upgrade.items.first().system, category=cat, severity=sev,
                title=f"Entered finding {i}", evidence="seen in staging", source="entered", owner=owner,
                resolution="accepted" if i % 3 == 0 else "open", justification="ok" if i % 3 == 0 else "",
                resolved_by=owner if i % 3 == 0 else None, resolved_at=now if i % 3 == 0 else None,
                created_at=now, updated_at=now)
        for i, (cat, sev) in enumerate([("other", "low"), ("capacity", "high"), ("security", "medium")] * n)
    )[:n]


@pytest.mark.django_db
def test_query_count_is_the_same_for_10_and_500_findings(started, assessor, login):
    client = login(assessor)
    client.get(url(started))  # warm caches (sessions, content types)

    def count(n):
        Finding.objects.filter(source="entered").delete()
        _pad_findings(started, n, assessor)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url(started))
        assert response.status_code == 200
        assert response.content.decode().count('<tr id="finding-') >= n
        return len(ctx.captured_queries)

    assert count(10) == count(500)
