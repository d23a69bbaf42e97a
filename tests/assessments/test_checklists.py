"""Security and customization review: default questions, who may answer, and unanswered questions blocking."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.accounts.duties import DutyRefused
from apps.assessments import checklists, checks, services
from apps.assessments.choices import AssessmentStatus, Category, ChecklistKind, Resolution, Severity
from apps.assessments.models import ChecklistItem, Finding
from apps.audit.models import AuditEvent
from apps.upgrades.services import upgrade_transition


@pytest.fixture
def only_checklists(monkeypatch):
    """These tests are about the review checklist; the other registered checks stay out of the way."""
    monkeypatch.setattr(checks, "_checks", {"checklists": checklists.checklist_findings})


@pytest.fixture
def assessment(only_checklists, upgrade, requester, assessor):
    upgrade = upgrade_transition(request=upgrade, by=requester, transition="start_assessment")
    return services.assessment_start(request=upgrade, by=assessor)


def answer_url(item):
    return reverse("assessments:checklist-answer", args=[item.assessment.request.reference, item.pk])


def open_checklist_findings(assessment):
    return Finding.objects.filter(
        assessment=assessment, key__startswith="checklist:", stale=False, resolution=Resolution.OPEN
    )


@pytest.mark.django_db
def test_every_default_question_unanswered_is_a_blocking_finding(assessment):
    items = list(assessment.checklist.all())
    kinds = {i.kind for i in items}
    assert kinds == {ChecklistKind.SECURITY, ChecklistKind.CUSTOMIZATION}
    assert len(items) == sum(len(q) for q in checklists.DEFAULT_QUESTIONS.values())
    assert any("TLS" in i.question for i in items) and any("plugins" in i.question for i in items)

    findings = list(open_checklist_findings(assessment))
    assert len(findings) == len(items)
    assert {f.severity for f in findings} == {Severity.BLOCKING}
    assert {f.category for f in findings} == {Category.SECURITY, Category.CUSTOMIZATION}
    tls = next(i for i in items if "TLS" in i.question)
    assert Finding.objects.get(key=f"checklist:{tls.pk}").title == f"Unanswered: {tls.question}"


@pytest.mark.django_db
def test_ensure_checklist_is_idempotent(assessment):
    before = assessment.checklist.count()
    checklists.ensure_checklist(assessment)
    checklists.ensure_checklist(assessment)
    assert assessment.checklist.count() == before


@pytest.mark.django_db
def test_an_answered_question_is_gone_on_the_next_run_and_the_answer_is_audited(assessment, assessor):
    item = assessment.checklist.filter(kind=ChecklistKind.SECURITY).first()

    checklists.checklist_answer(
        item=item,
        by=assessor,
        answer="  TLS 1.0 is disabled by default; our clients use 1.2 (checked in staging).  ",
    )
    run = services.assessment_run(assessment=assessment, by=assessor)

    item.refresh_from_db()
    assert item.answered and item.answered_by == assessor
    assert item.answer.startswith("TLS 1.0 is disabled")
    assert f"checklist:{item.pk}" in [r["key"] for r in run.removed]
    assert not open_checklist_findings(assessment).filter(key=f"checklist:{item.pk}").exists()
    assert open_checklist_findings(assessment).count() == assessment.checklist.filter(answered=False).count()
    event = AuditEvent.objects.filter(action="checklist.answer").get()
    assert event.actor_username == "assessor" and event.data["question"] == item.question


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["assessor", "requester", "admin"])
def test_the_assessor_requester_and_admin_answer_through_the_page(assessment, personas, login, who):
    item = assessment.checklist.first()
    response = login(personas[who]).post(answer_url(item), {"answer": "No local patches."})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.answered and item.answer == "No local patches." and item.answered_by == personas[who]


# the answer form: who may post it (outsider and approver cannot see the request at all: 404, no title)
ANSWER_MATRIX = {
    "requester": 302,
    "assessor": 302,
    "admin": 302,
    "approver": 404,
    "implementer": 403,
    "validator": 403,
    "executive": 403,
    "auditor": 403,
    "outsider": 404,
    "anonymous": 302,
}


@pytest.mark.django_db
@pytest.mark.parametrize("who,status", ANSWER_MATRIX.items())
def test_answer_permission_matrix(assessment, personas, login, who, status):
    item = assessment.checklist.first()
    response = login(personas[who]).post(answer_url(item), {"answer": "Checked."})
    assert response.status_code == status
    if who == "anonymous":
        assert "/accounts/login/" in response["Location"]
    item.refresh_from_db()
    assert item.answered == (who in ("requester", "assessor", "admin"))


PAGE_MATRIX = {
    "requester": 200,
    "assessor": 200,
    "admin": 200,
    "approver": 404,
    "implementer": 200,
    "validator": 200,
    "executive": 200,
    "auditor": 200,
    "outsider": 404,
    "anonymous": 302,
}


@pytest.mark.django_db
@pytest.mark.parametrize("who,status", PAGE_MATRIX.items())
def test_checklist_page_matrix_and_read_only_for_others(assessment, personas, login, who, status):
    url = reverse("assessments:checklist-page", args=[assessment.request.reference])
    response = login(personas[who]).get(url)
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert "Security and customization review" in html
        has_form = 'name="answer"' in html
        assert has_form == (who in ("requester", "assessor", "admin"))


@pytest.mark.django_db
def test_the_auditor_cannot_answer_through_the_service_and_the_refusal_is_audited(assessment, auditor):
    item = assessment.checklist.first()
    with pytest.raises(DutyRefused):
        checklists.checklist_answer(item=item, by=auditor, answer="I looked.")
    item.refresh_from_db()
    assert not item.answered
    assert AuditEvent.objects.filter(action="duty.denied", actor_username="auditor").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "answer,message",
    [
        ("", "Write the answer"),
        ("   ", "Write the answer"),
        ("TLS\x00changes", "Null characters are not allowed"),
        ("x" * 5001, "at most 5000 characters"),
    ],
)
def test_bad_answers_get_a_field_error_and_write_nothing(assessment, assessor, login, answer, message):
    item = assessment.checklist.first()
    client = login(assessor)
    events = AuditEvent.objects.count()
    response = client.post(answer_url(item), {"answer": answer})
    assert response.status_code == 400
    assert message in response.content.decode()
    item.refresh_from_db()
    assert not item.answered and item.answer == ""
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
@pytest.mark.parametrize("answer", ["", "a\x00b", "y" * 5001, 42])
def test_the_service_refuses_bad_answers_by_field(assessment, assessor, answer):
    item = assessment.checklist.first()
    with pytest.raises(ValidationError) as exc:
        checklists.checklist_answer(item=item, by=assessor, answer=answer)
    assert "answer" in exc.value.message_dict
    item.refresh_from_db()
    assert not item.answered


@pytest.mark.django_db
def test_an_item_of_another_request_is_not_found(assessment, assessor, login, requester, component_a):
    from ..conftest import make_request

    other = make_request(requester, component_a)
    url = reverse("assessments:checklist-answer", args=[other.reference, assessment.checklist.first().pk])
    assert login(assessor).post(url, {"answer": "x"}).status_code == 404


@pytest.mark.django_db
def test_a_completed_assessment_can_no_longer_be_answered(assessment, assessor):
    ChecklistItem.objects.filter(assessment=assessment).update(answered=True, answer="done")
    assessment.status = AssessmentStatus.COMPLETED
    assessment.save(update_fields=["status"])
    with pytest.raises(checklists.ChecklistRefused):
        checklists.checklist_answer(item=assessment.checklist.first(), by=assessor, answer="changed")
    assert AuditEvent.objects.filter(action="checklist.refused").exists()


@pytest.mark.django_db
def test_htmx_answer_returns_the_updated_partial(assessment, assessor, login):
    item = assessment.checklist.first()
    response = login(assessor).post(answer_url(item), {"answer": "Nothing changes."}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" aria-labelledby="checklists-heading"')
    assert "Nothing changes." in html and "Answered by assessor" in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "who,forms",
    [("assessor", True), ("requester", True), ("admin", True), ("auditor", False), ("implementer", False)],
)
def test_the_assessment_page_shows_the_review_with_forms_only_for_those_who_answer(
    assessment, personas, login, who, forms
):
    response = login(personas[who]).get(reverse("assessments:detail", args=[assessment.request.reference]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="checklists"' in html
    assert "Do local patches exist" in html
    assert (answer_url(assessment.checklist.first()) in html) == forms


@pytest.mark.django_db
def test_htmx_bad_answer_comes_back_in_the_fragment_with_the_error(assessment, assessor, login):
    item = assessment.checklist.first()
    response = login(assessor).post(answer_url(item), {"answer": "  "}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps only successful answers
    assert 'aria-invalid="true"' in html and "Write the answer" in html
    item.refresh_from_db()
    assert not item.answered
