"""Security and customization review: questions every assessment answers before the request may move on.

`ensure_checklist(assessment)` adds the default questions (idempotent); `checklist_answer(...)` records an
answer (assessor, requester or an administrator, while the request is being assessed; audited). The check
"checklists" turns every unanswered question into a blocking finding keyed by the question, so answering it
resolves the finding on the next run.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from apps.accounts import duties
from apps.accounts.choices import Duty, Role
from apps.audit.services import audit_append
from apps.core import clock
from apps.upgrades.choices import State

from . import checks
from .choices import AssessmentStatus, Category, ChecklistKind, Severity
from .models import Assessment, ChecklistItem

ANSWER_MAX = 5000

DEFAULT_QUESTIONS = {
    ChecklistKind.SECURITY: [
        (
            "Does the new release change authentication (login methods, password or token handling, SSO, "
            "default accounts)?"
        ),
        "Does it change encryption or TLS defaults (protocol versions, certificate checks, key sizes)?",
        "Does it deprecate or remove ciphers or protocols that clients or integrations still use?",
        "Must secrets or keys be rotated or migrated (new key formats, re-encryption, new keystore)?",
        "Does it open new network ports or listeners, or change firewall needs?",
    ],
    ChecklistKind.CUSTOMIZATION: [
        "Do local patches exist that the new release may overwrite or conflict with?",
        "Do custom plugins or extensions need a new version compatible with the release?",
        (
            "Are defaults or configuration overridden locally where the new release changes "
            "the default behaviour?"
        ),
        "Do integrations rely on APIs, endpoints or features the release removes or changes?",
    ],
}


class ChecklistRefused(PermissionDenied):
    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__(" ".join(reasons))


def ensure_checklist(assessment: Assessment) -> list[ChecklistItem]:
    """Add the default questions the assessment does not have yet; returns its items."""
    with transaction.atomic():
        have = set(ChecklistItem.objects.filter(assessment=assessment).values_list("kind", "question"))
        new = [
            ChecklistItem(assessment=assessment, kind=kind, question=question)
            for kind, questions in DEFAULT_QUESTIONS.items()
            for question in questions
            if (kind.value, question) not in have
        ]
        if new:
            ChecklistItem.objects.bulk_create(new)
            audit_append(
                action="checklist.create",
                obj=assessment.request,
                data={"assessment": assessment.pk, "questions": len(new)},
            )
    return list(ChecklistItem.objects.filter(assessment=assessment).select_related("answered_by"))


def may_answer(user, request) -> bool:
    """The assessor, the requester or an administrator, while the request is being assessed."""
    if user is None or not user.is_authenticated or request.state != State.ASSESSING:
        return False
    if user.has_role(Role.ADMIN):
        return True
    return not duties.duty_check(user, request, Duty.ASSESSOR, Duty.REQUESTER)


def _clean_answer(answer) -> str:
    if not isinstance(answer, str):
        raise ValidationError({"answer": "The answer must be text."})
    if "\x00" in answer:
        raise ValidationError({"answer": "The answer contains a NUL character; remove it."})
    answer = answer.strip()
    if not answer:
        raise ValidationError({"answer": "Write the answer: what changes and what was checked."})
    if len(answer) > ANSWER_MAX:
        raise ValidationError(
            {"answer": f"Keep the answer under {ANSWER_MAX} characters (it has {len(answer)})."}
        )
    return answer


def _refusals(item: ChecklistItem, by) -> list[str]:
    request = item.assessment.request
    reasons = []
    if not (by is not None and by.is_authenticated and by.has_role(Role.ADMIN)):
        reasons.extend(duties.duty_check(by, request, Duty.ASSESSOR, Duty.REQUESTER))
    if request.state != State.ASSESSING:
        reasons.append(
            f"{request.reference} is {request.get_state_display().lower()}; "
            "the review is answered while the request is being assessed."
        )
    if item.assessment.status == AssessmentStatus.COMPLETED:
        reasons.append("The assessment is completed; its review can no longer change.")
    return reasons


def checklist_answer(*, item: ChecklistItem, by, answer: str) -> ChecklistItem:
    """Record (or change) the answer to one review question."""
    answer = _clean_answer(answer)
    admin = by is not None and by.is_authenticated and by.has_role(Role.ADMIN)
    if not admin:
        # the one duty door: refuses, and audits the refusal, before anything is locked
        duties.duty_required(by, item.assessment.request, Duty.ASSESSOR, Duty.REQUESTER)
    try:
        with transaction.atomic():
            item = (
                ChecklistItem.objects.select_for_update()
                .select_related("assessment__request")
                .get(pk=item.pk)
            )
            request = item.assessment.request
            reasons = _refusals(item, by)  # re-read under the lock: a reassignment cannot slip past
            if reasons:
                raise ChecklistRefused(reasons)
            before = {"answered": item.answered, "answer": item.answer}
            item.answered, item.answer = True, answer
            item.answered_by, item.answered_at = by, clock.now()
            item.save(update_fields=["answered", "answer", "answered_by", "answered_at"])
            audit_append(
                action="checklist.answer",
                actor=by,
                obj=request,
                before=before,
                after={"answered": True, "answer": answer},
                data={"item": item.pk, "kind": item.kind, "question": item.question},
            )
    except ChecklistRefused as exc:
        # audited outside the rolled-back transaction, so the refusal stays on record
        audit_append(
            action="checklist.refused",
            actor=by if by is not None and by.is_authenticated else None,
            obj=item.assessment.request,
            data={"item": item.pk, "reasons": exc.reasons},
        )
        raise
    return item


def checklist_findings(request) -> list[checks.FindingSpec]:
    """Every unanswered review question blocks (the issue: unresolved items are findings that block)."""
    assessment = Assessment.objects.filter(request=request).first()
    if assessment is None:
        return []
    items = ensure_checklist(assessment)
    category = {
        ChecklistKind.SECURITY: Category.SECURITY,
        ChecklistKind.CUSTOMIZATION: Category.CUSTOMIZATION,
    }
    return [
        checks.FindingSpec(
            key=f"checklist:{item.pk}",
            category=category.get(item.kind, Category.OTHER),
            severity=Severity.BLOCKING,
            title=f"Unanswered: {item.question}"[:300],
            evidence=f"The {item.get_kind_display().lower()} review question has no answer yet. "
            "The assessor or the requester answers it in the review checklist.",
        )
        for item in items
        if not item.answered
    ]


def checklist_panel(request) -> dict:
    """What the checklist partial shows: the questions (added if missing) with who answered them."""
    assessment = Assessment.objects.filter(request=request).first()
    if assessment is None:
        return {"items": [], "open": 0}
    items = ensure_checklist(assessment)
    return {"items": items, "open": sum(1 for i in items if not i.answered)}


def register_checks() -> None:
    checks.register("checklists", checklist_findings)
