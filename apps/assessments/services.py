"""Every write of a readiness assessment: start, run, findings, resolutions, completion.

Each runs in one transaction, locks the rows it changes, checks the duty at the moment
it acts, and appends the audit event in the same transaction. Refusals are audited
outside the rolled-back transaction, with the reasons that refused them.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts import duties
from apps.accounts.choices import Duty, Role
from apps.audit.services import audit_append
from apps.core import clock
from apps.core.validation import clean_text
from apps.upgrades.choices import State
from apps.upgrades.models import UpgradeRequest

from . import checks, risk
from .choices import AssessmentStatus, Category, Resolution, Severity, Source
from .models import Assessment, AssessmentRun, Finding

MAX_TITLE = 300
MAX_TEXT = 5000


class AssessmentRefused(Exception):
    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("; ".join(reasons))


_text = clean_text


def _refused(exc, *, action: str, by, obj, **data) -> None:
    actor = by if by is not None and by.is_authenticated else None
    audit_append(action=action, actor=actor, obj=obj, data={**data, "reasons": exc.reasons})


def _lock_request(request: UpgradeRequest) -> UpgradeRequest:
    return UpgradeRequest.objects.select_for_update().get(pk=request.pk)


def _lock(assessment: Assessment) -> Assessment:
    return Assessment.objects.select_for_update().select_related("request").get(pk=assessment.pk)


def _all_findings(assessment: Assessment) -> list[Finding]:
    """The assessment's own findings and the open system-level findings of the affected systems."""
    from .selectors import system_findings

    return list(assessment.findings.all()) + list(system_findings(assessment.request))


def _rescore(assessment: Assessment) -> None:
    findings = _all_findings(assessment)
    score, level, factors = risk.compute(assessment, findings)
    assessment.risk_score, assessment.risk_level, assessment.risk_factors = score, level, factors
    assessment.verdict = risk.verdict_for(assessment, findings)
    assessment.save(update_fields=["risk_score", "risk_level", "risk_factors", "verdict"])


# --- start and run -------------------------------------------------------------------------------


def assessment_start(*, request: UpgradeRequest, by) -> Assessment:
    """The assessor starts the assessment of a request in `assessing`; it runs at once."""
    try:
        with transaction.atomic():
            request = _lock_request(request)
            if request.state != State.ASSESSING:
                raise AssessmentRefused([f"{request.reference} is {request.get_state_display().lower()}; "
                                         "an assessment starts while the request is being assessed."])
            duties.duty_required(by, request, Duty.ASSESSOR)
            existing = Assessment.objects.filter(request=request).first()
            if existing is not None:
                return existing
            assessment = Assessment.objects.create(request=request, started_by=by, started_at=clock.now())
            audit_append(action="assessment.start", actor=by, obj=request,
                         after={"assessment": assessment.pk, "depth": assessment.depth})
            assessment_run(assessment=assessment, by=by)
    except AssessmentRefused as exc:
        _refused(exc, action="assessment.refused", by=by, obj=request, what="start")
        raise
    except duties.DutyRefused as exc:
        _refused(exc, action="duty.denied", by=by, obj=request, duties=[Duty.ASSESSOR],
                 what="start assessment")
        raise
    assessment.refresh_from_db()
    return assessment


def _spec_fields(spec: checks.FindingSpec) -> dict:
    return {"category": spec.category, "severity": spec.severity, "title": spec.title[:MAX_TITLE],
            "evidence": spec.evidence, "system_id": spec.system_id}


def _while_assessing(request: UpgradeRequest) -> None:
    if request.state != State.ASSESSING:
        raise AssessmentRefused([f"{request.reference} is {request.get_state_display().lower()}; the "
                                 "assessment changes only while the request is being assessed."])


def _may_run(assessment: Assessment, by) -> None:
    if by is None:  # the daily re-run: no person acts
        return
    duties.duty_required(by, assessment.request, Duty.ASSESSOR)
    _while_assessing(assessment.request)


def assessment_run(*, assessment: Assessment, by=None) -> AssessmentRun:
    """Compute every registered check, update the computed findings by key, and record what changed."""
    try:
        return _run(assessment, by)
    except AssessmentRefused as exc:
        _refused(exc, action="assessment.refused", by=by, obj=assessment.request, what="run")
        raise
    except duties.DutyRefused as exc:
        _refused(exc, action="duty.denied", by=by, obj=assessment.request, duties=[Duty.ASSESSOR],
                 what="run assessment")
        raise


def _run(assessment: Assessment, by) -> AssessmentRun:
    with transaction.atomic():
        assessment = _lock(assessment)
        _may_run(assessment, by)
        now = clock.now()
        specs: dict[str, checks.FindingSpec] = {}
        for spec in checks.run_all(assessment.request):
            specs.setdefault(spec.key, spec)
        current = {f.key: f for f in assessment.findings.select_for_update().filter(source=Source.COMPUTED)}
        added, removed, changed = [], [], []
        owner = duties.duty_holders(assessment.request)[Duty.ASSESSOR][:1]
        for key, spec in specs.items():
            fields = _spec_fields(spec)
            finding = current.get(key)
            if finding is None:
                Finding.objects.create(assessment=assessment, key=key, source=Source.COMPUTED,
                                       owner=owner[0] if owner else None, created_at=now, updated_at=now,
                                       **fields)
                added.append({"key": key, "title": fields["title"], "severity": spec.severity})
                continue
            diff = {k: [getattr(finding, k), v] for k, v in fields.items() if getattr(finding, k) != v}
            if finding.stale:
                finding.stale = False
                if finding.resolution == Resolution.RESOLVED and finding.resolved_by_id is None:
                    finding.resolution, finding.resolved_at, finding.justification = Resolution.OPEN, None, ""
                added.append({"key": key, "title": fields["title"], "severity": spec.severity})
            elif diff:
                changed.append({"key": key, "title": fields["title"],
                                "fields": {k: [str(a), str(b)] for k, (a, b) in diff.items()
                                           if k != "evidence"}
                                | ({"evidence": ["…", "…"]} if "evidence" in diff else {})})
            else:
                continue
            for k, v in fields.items():
                setattr(finding, k, v)
            finding.updated_at = now
            finding.save()
        for key, finding in current.items():
            if key in specs or finding.stale:
                continue
            finding.stale = True
            if finding.resolution == Resolution.OPEN:
                finding.resolution, finding.resolved_at = Resolution.RESOLVED, now
                finding.justification = "No longer found by the assessment run."
            finding.updated_at = now
            finding.save()
            removed.append({"key": key, "title": finding.title, "severity": finding.severity})
        assessment.last_run_at = now
        assessment.save(update_fields=["last_run_at"])
        _rescore(assessment)
        run = AssessmentRun.objects.create(assessment=assessment, run_at=now, run_by=by, added=added,
                                           removed=removed, changed=changed, risk_score=assessment.risk_score)
        audit_append(action="assessment.run", actor=by, obj=assessment.request,
                     data={"run": run.pk, "added": [a["key"] for a in added],
                           "removed": [r["key"] for r in removed], "changed": [c["key"] for c in changed],
                           "risk_score": assessment.risk_score, "verdict": assessment.verdict})
    return run


# --- findings ------------------------------------------------------------------------------------


def _clean_finding(data: dict) -> dict:
    errors: dict = {}
    cleaned = {
        "title": _text(errors, "title", data.get("title"), required=True, max_length=MAX_TITLE),
        "evidence": _text(errors, "evidence", data.get("evidence"), required=False, max_length=MAX_TEXT),
    }
    for field, choices in (("category", Category), ("severity", Severity)):
        value = data.get(field)
        if value not in choices.values:
            errors[field] = f"Choose one of: {', '.join(choices.values)}."
        cleaned[field] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def finding_add(*, assessment: Assessment, by, owner=None, **data) -> Finding:
    """The assessor (or the requester) enters a finding the checks cannot compute."""
    cleaned = _clean_finding(data)
    try:
        with transaction.atomic():
            assessment = _lock(assessment)
            duties.duty_required(by, assessment.request, Duty.ASSESSOR, Duty.REQUESTER)
            _while_assessing(assessment.request)
            now = clock.now()
            finding = Finding.objects.create(assessment=assessment, source=Source.ENTERED, owner=owner or by,
                                             created_at=now, updated_at=now, **cleaned)
            _rescore(assessment)
            audit_append(action="assessment.finding_add", actor=by, obj=assessment.request,
                         after={"finding": finding.pk, "title": finding.title, "severity": finding.severity,
                                "category": finding.category})
    except AssessmentRefused as exc:
        _refused(exc, action="assessment.refused", by=by, obj=assessment.request, what="add finding")
        raise
    except duties.DutyRefused as exc:
        _refused(exc, action="duty.denied", by=by, obj=assessment.request,
                 duties=[Duty.ASSESSOR, Duty.REQUESTER],
                 what="add finding")
        raise
    return finding


RESOLUTIONS = (Resolution.MITIGATED, Resolution.ACCEPTED, Resolution.RESOLVED)


def _resolver_duties(resolution: str) -> tuple[str, ...]:
    # accepting a risk is the assessor's call; mitigation and resolution may come from the requester too
    return (Duty.ASSESSOR,) if resolution == Resolution.ACCEPTED else (Duty.ASSESSOR, Duty.REQUESTER)


def finding_resolve(*, finding: Finding, by, resolution: str, justification: str = "",
                    request: UpgradeRequest | None = None) -> Finding:
    """Mitigate, accept (with a justification) or resolve a finding; `request` is the assessment a
    system-level finding is acted on from."""
    errors: dict = {}
    if resolution not in RESOLUTIONS:
        errors["resolution"] = f"Choose one of: {', '.join(RESOLUTIONS)}."
    justification = _text(errors, "justification", justification, required=resolution == Resolution.ACCEPTED,
                          max_length=MAX_TEXT)
    if resolution == Resolution.ACCEPTED and "justification" in errors and not justification:
        errors["justification"] = "Accepting a risk needs a justification."
    if errors:
        raise ValidationError(errors)
    upgrade = finding.assessment.request if finding.assessment_id else request
    try:
        with transaction.atomic():
            finding = Finding.objects.select_for_update().get(pk=finding.pk)
            if upgrade is None:
                if by is None or not by.is_authenticated or not by.has_role(Role.ADMIN):
                    raise duties.DutyRefused(
                        ["A system-level finding is resolved from an assessment or by an admin."])
            else:
                duties.duty_required(by, upgrade, *_resolver_duties(resolution))
                _while_assessing(upgrade)
            if finding.resolution != Resolution.OPEN:
                state = finding.get_resolution_display().lower()
                raise AssessmentRefused([f"“{finding.title}” is already {state}."])
            before = {"resolution": finding.resolution}
            finding.resolution, finding.justification = resolution, justification
            finding.resolved_by, finding.resolved_at = by, clock.now()
            finding.updated_at = finding.resolved_at
            finding.save()
            audit_obj = upgrade if upgrade is not None else finding.system
            audit_append(action=f"assessment.finding_{resolution}", actor=by, obj=audit_obj, before=before,
                         after={"finding": finding.pk, "title": finding.title, "resolution": resolution,
                                "justification": justification})
            if upgrade is not None and hasattr(upgrade, "assessment"):
                _rescore(_lock(upgrade.assessment))
    except AssessmentRefused as exc:
        _refused(exc, action="assessment.refused", by=by, obj=upgrade or finding.system, what="resolve")
        raise
    except duties.DutyRefused as exc:
        _refused(exc, action="duty.denied", by=by, obj=upgrade or finding.system,
                 duties=list(_resolver_duties(resolution)), what=f"finding {resolution}", finding=finding.pk)
        raise
    return finding


# --- completion ----------------------------------------------------------------------------------


def open_blocking(assessment: Assessment) -> list[Finding]:
    return [f for f in _all_findings(assessment)
            if f.resolution == Resolution.OPEN and f.severity == Severity.BLOCKING and not f.stale]


def assessment_complete(*, assessment: Assessment, by) -> Assessment:
    """The assessor completes the assessment; refused while a blocking finding is open."""
    try:
        with transaction.atomic():
            assessment = _lock(assessment)
            duties.duty_required(by, assessment.request, Duty.ASSESSOR)
            if assessment.status == AssessmentStatus.COMPLETED:
                raise AssessmentRefused(["The assessment is already complete."])
            if assessment.request.state != State.ASSESSING:
                raise AssessmentRefused([f"{assessment.request.reference} is no longer being assessed."])
            blocking = open_blocking(assessment)
            if blocking:
                raise AssessmentRefused([f"Open blocking finding: {f.title}" for f in blocking])
            assessment.status, assessment.completed_at, assessment.completed_by = (
                AssessmentStatus.COMPLETED, clock.now(), by)
            assessment.save(update_fields=["status", "completed_at", "completed_by"])
            _rescore(assessment)
            audit_append(action="assessment.complete", actor=by, obj=assessment.request,
                         after={"status": assessment.status, "verdict": assessment.verdict,
                                "risk_score": assessment.risk_score, "risk_level": assessment.risk_level})
    except AssessmentRefused as exc:
        _refused(exc, action="assessment.refused", by=by, obj=assessment.request, what="complete")
        raise
    except duties.DutyRefused as exc:
        _refused(exc, action="duty.denied", by=by, obj=assessment.request, duties=[Duty.ASSESSOR],
                 what="complete assessment")
        raise
    return assessment


PASS_ANSWER = "Reviewed with the vendor's release notes: no impact on this estate."


def assessment_pass(*, request: UpgradeRequest, by, answer: str = PASS_ANSWER) -> Assessment:
    """Start (if needed), answer the review checklist, run and complete an assessment; refused when a
    computed finding blocks (tests and the demo seed use it; it accepts and resolves nothing)."""
    assessment = Assessment.objects.filter(request=request).first()
    if assessment is None:
        assessment = assessment_start(request=request, by=by)
    try:
        from . import checklists
    except ImportError:
        checklists = None
    if checklists is not None:
        for item in assessment.checklist.filter(answered=False):
            checklists.checklist_answer(item=item, by=by, answer=answer)
    assessment_run(assessment=assessment, by=by)
    assessment.refresh_from_db()
    if assessment.status != AssessmentStatus.COMPLETED:
        assessment = assessment_complete(assessment=assessment, by=by)
    return assessment


def assessments_rerun_open() -> int:
    """Re-run every assessment of a request still being assessed (the daily task); idempotent."""
    count = 0
    for pk in Assessment.objects.filter(request__state=State.ASSESSING).values_list("pk", flat=True):
        assessment_run(assessment=Assessment(pk=pk), by=None)
        count += 1
    return count


def seed_before_finish_assessment(*, request: UpgradeRequest, by, users) -> None:
    """The demo seed's hook: the assessment is passed just before the demo finishes it."""
    assessment_pass(request=request, by=by)
