"""Evidence packs: one zip per upgrade request with every decision and record, for an auditor.

The zip holds the records as JSON (read from the other apps, never written), the audit events of the
request as JSON lines, the chain links from the first of them up to the audit checkpoint taken for the
pack, the checkpoint itself (signed), a PDF summary and `MANIFEST.sha256` in `sha256sum` format, so
`sha256sum -c MANIFEST.sha256` verifies the files on any machine.
"""

import datetime as dt
import hashlib
import io
import json
import logging
import zipfile

from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.template.loader import render_to_string

from apps.accounts.choices import Role
from apps.audit.services import audit_append
from apps.core import clock

from .choices import ReportStatus
from .models import EvidencePack

log = logging.getLogger(__name__)

EVIDENCE_ROLES = (Role.AUDITOR, Role.ADMIN, Role.CHANGE_MANAGER)
REDISPATCH_AFTER = dt.timedelta(minutes=5)
PACK_LIST_LIMIT = 20


# --- who may --------------------------------------------------------------------------------------------


def evidence_allowed(user, request) -> bool:
    """Auditors, administrators and change managers, and the request's own people (anyone holding a duty on
    it: requester, assessor, implementer, validator ...), among those who may see the request at all."""
    from apps.accounts.duties import duties_of

    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.has_role(*EVIDENCE_ROLES) or bool(duties_of(user, request))


def evidence_request_get(*, user, reference: str):
    """The request, when `user` may see it and its evidence; else 404 (the denial is audited by
    upgrade_get when the request is hidden, and here when only the evidence is)."""
    from apps.upgrades.selectors import upgrade_get

    request = upgrade_get(user=user, reference=reference)
    if not evidence_allowed(user, request):
        audit_append(action="evidence_pack.denied", actor=user, obj=request,
                     data={"reason": "may see the request but not its evidence"})
        raise Http404("No upgrade request with that reference.")
    return request


def evidence_packs_of(request, *, limit: int = PACK_LIST_LIMIT) -> list[EvidencePack]:
    """The request's packs, newest first (one query)."""
    packs = EvidencePack.objects.filter(request=request).select_related("requested_by", "request")
    return list(packs[:limit])


def evidence_pack_get(*, request, pk) -> EvidencePack:
    try:
        return EvidencePack.objects.select_related("requested_by", "request").get(request=request, pk=int(pk))
    except (EvidencePack.DoesNotExist, ValueError, TypeError):
        raise Http404("No evidence pack with that number.") from None


# --- services --------------------------------------------------------------------------------------------


def evidence_pack_request(*, request, by, dispatch: bool = True) -> tuple[EvidencePack, bool]:
    """Queue a pack of `request` for `by` (visibility and evidence access checked here again). A pack still
    waiting or being built for the request is returned instead of a second one. Returns (pack, created)."""
    if not evidence_allowed(by, request):
        audit_append(action="evidence_pack.refused", actor=by, obj=request,
                     data={"reason": "may not request the evidence of this request"})
        raise ValidationError({"request": "You may not request the evidence of this upgrade request."})
    _refuse_mixed_regions(request, by)
    with transaction.atomic():
        from apps.upgrades.models import UpgradeRequest

        UpgradeRequest.objects.select_for_update().filter(pk=request.pk).first()  # one pack at a time
        pending = (EvidencePack.objects.filter(request=request,
                                               status__in=[ReportStatus.QUEUED, ReportStatus.RUNNING])
                   .order_by("-created_at").first())
        if pending is not None:
            if dispatch and pending.status == ReportStatus.QUEUED and \
                    pending.created_at < clock.now() - REDISPATCH_AFTER:
                transaction.on_commit(lambda: _dispatch(pending.pk))
            return pending, False
        pack = EvidencePack.objects.create(request=request, requested_by=by, created_at=clock.now(),
                                           stage="Waiting for a worker")
        audit_append(action="evidence_pack.requested", actor=by, obj=pack,
                     data={"request": request.reference})
        if dispatch:
            transaction.on_commit(lambda: _dispatch(pack.pk))
    return pack, True


def _refuse_mixed_regions(request, by) -> None:
    """Data sovereignty: an export must not mix regions unless TOLLGATE_CROSS_REGION_EXPORTS allows it."""
    from django.conf import settings

    from apps.upgrades.selectors import request_regions

    regions = sorted(request_regions(request))
    if len(regions) > 1 and not getattr(settings, "TOLLGATE_CROSS_REGION_EXPORTS", False):
        audit_append(action="evidence_pack.refused", actor=by, obj=request,
                     data={"reason": "cross-region export not allowed", "regions": regions})
        raise ValidationError({"request": (
            f"This request spans the regions {', '.join(regions)}, and the data-sovereignty policy does not "
            "allow an export mixing regions. Ask an administrator to allow cross-region exports, or split "
            "the request by region.")})


def _dispatch(pack_id: int) -> None:
    from .services import dispatch_task

    dispatch_task("evidence_pack_build_task", pack_id)


def _progress(pack_id: int, progress: int, stage: str) -> None:
    # bookkeeping the page polls, not a governed change: no audit event
    EvidencePack.objects.filter(pk=pack_id, status=ReportStatus.RUNNING).update(progress=progress,
                                                                               stage=stage)


def evidence_pack_build(pack_id: int) -> EvidencePack | None:
    """Build one queued pack. A redelivered task of a pack that is done (or failed) does nothing; one left
    `running` is built again: the broker hands the message out again only when its worker died, and the
    final write re-checks the status under a row lock, so the zip and the audit event are stored once."""
    claimable = (ReportStatus.QUEUED, ReportStatus.RUNNING)
    claimed = EvidencePack.objects.filter(pk=pack_id, status__in=claimable).update(
        status=ReportStatus.RUNNING, started_at=clock.now(), progress=5, stage="Collecting the decisions")
    if not claimed:
        return None
    pack = EvidencePack.objects.select_related("request", "requested_by").get(pk=pack_id)
    try:
        data, checkpoint = build_zip(pack, progress=lambda p, s: _progress(pack_id, p, s))
        digest = hashlib.sha256(data).hexdigest()
        with transaction.atomic():
            pack = EvidencePack.objects.select_for_update().select_related("request").get(pk=pack_id)
            if pack.status != ReportStatus.RUNNING:
                return pack
            pack.file.save(f"evidence-{pack.request.reference}-{pack.pk}.zip", ContentFile(data), save=False)
            pack.sha256, pack.size, pack.checkpoint = digest, len(data), checkpoint
            pack.status, pack.progress, pack.stage = ReportStatus.DONE, 100, "Ready"
            pack.finished_at = clock.now()
            pack.save()
            audit_append(action="evidence_pack.built", actor=pack.requested_by, obj=pack,
                         data={"request": pack.request.reference, "sha256": digest, "size": len(data),
                               "checkpoint_seq": checkpoint["seq"]})
        return pack
    except Exception as exc:  # the page must say it failed rather than spin forever
        log.exception("evidence pack %s failed", pack_id)
        with transaction.atomic():
            EvidencePack.objects.filter(pk=pack_id).update(status=ReportStatus.FAILED,
                                                           finished_at=clock.now(), stage="Failed",
                                                           error=str(exc)[:2000])
            pack.refresh_from_db()
            audit_append(action="evidence_pack.failed", actor=pack.requested_by, obj=pack,
                         data={"error": str(exc)[:500]})
        raise


def evidence_pack_download(*, pack: EvidencePack, by):
    """Open a ready pack for `by` (who was allowed by evidence_request_get) and audit the download."""
    if pack.status != ReportStatus.DONE:
        raise ValidationError({"pack": "The evidence pack is not ready yet."})
    audit_append(action="evidence_pack.downloaded", actor=by, obj=pack,
                 data={"request": pack.request.reference, "sha256": pack.sha256})
    return pack.file.open("rb")


# --- the zip -----------------------------------------------------------------------------------------------


def _records(qs) -> bytes:
    """Rows as JSON, every field (foreign keys as ids), the way Django's dumpdata writes them."""
    return serializers.serialize("json", qs, indent=2).encode("utf-8")


def _json(value) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8")


def _collect(request) -> tuple[dict[str, bytes], dict]:
    """Every record of the request, by file name; and a summary for the PDF."""
    from apps.assessments.models import Assessment, AssessmentRun, ChecklistItem, Finding
    from apps.cab.models import Condition, Review, Vote
    from apps.configuration.models import RegressionReport, Snapshot, TestCaseResult
    from apps.execution.models.health import CheckResult, CheckRun
    from apps.execution.models.runs import ExecutionRun, Incident, StepEvent, TriggerFiring
    from apps.rollouts.models import Conflict, FreezeException, Plan, PlanVersion
    from apps.upgrades.models import UpgradeItem, UpgradeRequest

    files: dict[str, bytes] = {}
    objects: dict[str, list] = {}

    def add(name: str, qs, label: str):
        rows = list(qs)
        files[name] = _records(rows)
        objects[label] = rows
        return rows

    add("request/request.json", UpgradeRequest.objects.filter(pk=request.pk), "upgrades.upgraderequest")
    add("request/items.json", UpgradeItem.objects.filter(request=request).order_by("pk"),
        "upgrades.upgradeitem")
    assessment = add("assessment/assessment.json", Assessment.objects.filter(request=request),
                     "assessments.assessment")
    findings = add("assessment/findings.json",
                   Finding.objects.filter(assessment__request=request).order_by("pk"), "assessments.finding")
    add("assessment/checklist.json", ChecklistItem.objects.filter(assessment__request=request).order_by("pk"),
        "assessments.checklistitem")
    add("assessment/runs.json", AssessmentRun.objects.filter(assessment__request=request).order_by("pk"),
        "assessments.assessmentrun")
    if assessment:
        files["assessment/risk_factors.json"] = _json(assessment[0].risk_factors)
    add("plan/plan.json", Plan.objects.filter(request=request), "rollouts.plan")
    versions = add("plan/versions.json", PlanVersion.objects.filter(plan__request=request).order_by("number"),
                   "rollouts.planversion")
    for v in versions:
        files[f"plan/version-{v.number}.json"] = _json({"number": v.number, "sha256": v.sha256,
                                                        "created_at": v.created_at, "reason": v.reason,
                                                        "content": v.content})
    reviews = add("cab/reviews.json", Review.objects.filter(request=request).order_by("pk"), "cab.review")
    votes = add("cab/votes.json", Vote.objects.filter(review__request=request).select_related("voter")
                .order_by("signed_at", "pk"), "cab.vote")
    add("cab/conditions.json", Condition.objects.filter(vote__review__request=request).order_by("pk"),
        "cab.condition")
    add("decisions/conflicts.json", Conflict.objects.filter(request=request).order_by("pk"),
        "rollouts.conflict")
    exceptions = add("decisions/freeze_exceptions.json",
                     FreezeException.objects.filter(request=request).order_by("pk"),
                     "rollouts.freezeexception")
    runs = add("execution/runs.json", ExecutionRun.objects.filter(request=request).order_by("pk"),
               "execution.executionrun")
    steps = add("execution/step_log.json",
                StepEvent.objects.filter(run__request=request).order_by("at", "pk"), "execution.stepevent")
    add("execution/trigger_firings.json", TriggerFiring.objects.filter(run__request=request).order_by("pk"),
        "execution.triggerfiring")
    incidents = add("execution/incidents.json", Incident.objects.filter(request=request).order_by("pk"),
                    "execution.incident")
    check_runs = CheckRun.objects.filter(Q(request=request) | Q(execution_run__request=request))
    add("health/check_runs.json", check_runs.order_by("pk"), "execution.checkrun")
    results = add("health/check_results.json", CheckResult.objects.filter(run__in=check_runs)
                  .order_by("run_id", "health_check_id", "pk"), "execution.checkresult")
    snapshots = add("configuration/snapshots.json", Snapshot.objects.filter(request=request).order_by("pk"),
                    "configuration.snapshot")
    for s in snapshots:
        files[f"configuration/snapshot-{s.pk}-{_safe_name(s.tag)}.json"] = _json(s.content)
    junit = add("configuration/junit_reports.json", RegressionReport.objects.filter(request=request)
                .order_by("pk"), "configuration.regressionreport")
    add("configuration/junit_cases.json",
        TestCaseResult.objects.filter(report__request=request).order_by("pk"), "configuration.testcaseresult")
    summary = {
        "assessment": assessment[0] if assessment else None, "findings": len(findings), "versions": versions,
        "reviews": reviews, "votes": votes, "exceptions": exceptions,
        "conflicts": len(objects["rollouts.conflict"]),
        "runs": len(runs), "steps": len(steps), "incidents": incidents, "results": len(results),
        "failed_results": sum(1 for r in results if r.status != "ok"), "snapshots": len(snapshots),
        "junit": junit,
    }
    return files, {"objects": objects, "summary": summary}


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:60] or "snapshot"


def _event_row(e) -> dict:
    return {"seq": e.seq, "created_at": e.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor_id": e.actor_id, "actor_username": e.actor_username, "action": e.action,
            "object_type": e.object_type, "object_id": e.object_id, "object_repr": e.object_repr, "ip": e.ip,
            "before": e.before, "after": e.after, "data": e.data, "prev_hash": e.prev_hash, "hash": e.hash}


def _jsonl(rows) -> bytes:
    return "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def _audit(objects: dict[str, list], checkpoint: dict, votes=()) -> tuple[dict[str, bytes], list, list]:
    """The audit events of every exported object up to the checkpoint, and the chain links (seq, prev_hash,
    hash only) from the first of them to the checkpoint, so they can be checked against its hash."""
    from apps.audit.models import AuditEvent

    match = Q(pk__in=[])
    for object_type, rows in objects.items():
        if rows:
            match |= Q(object_type=object_type, object_id__in=[str(r.pk) for r in rows])
    match |= Q(seq__in=[v.audit_seq for v in votes if v.audit_seq])  # the events holding the signatures
    events = list(AuditEvent.objects.filter(match, seq__lte=checkpoint["seq"]).order_by("seq"))
    files = {"audit/events.jsonl": _jsonl(_event_row(e) for e in events)}
    by_seq = {e.seq: e for e in events}
    signatures = []
    for v in votes:
        event = by_seq.get(v.audit_seq)
        signatures.append({
            "vote": v.pk, "review": v.review_id, "voter": v.voter.get_username(),
            "on_behalf_of": v.on_behalf_of_id, "decision": v.decision, "signed_at": v.signed_at,
            "signature_method": v.signature_method, "plan_sha256": v.plan_sha256, "stale": v.stale,
            "audit_seq": v.audit_seq, "audit_hash": event.hash if event else None,
            "signature": (event.data or {}).get("signature") if event else None})
    files["cab/signatures.json"] = _json(signatures)
    first = events[0].seq if events else checkpoint["seq"]
    links = AuditEvent.objects.filter(seq__gte=first, seq__lte=checkpoint["seq"]).order_by("seq")
    files["audit/chain.jsonl"] = _jsonl({"seq": s, "prev_hash": p, "hash": h}
                                        for s, p, h in links.values_list("seq", "prev_hash", "hash"))
    files["audit/checkpoint.json"] = _json(checkpoint)
    return files, events, signatures


README = """Evidence pack of {reference}: {title}
Built {built} (UTC) for {user}.

Check the files:   sha256sum -c MANIFEST.sha256
Check the events:  every line of audit/events.jsonl hashes to its "hash":
                   sha256(prev_hash + canonical JSON of the event without prev_hash and hash,
                   keys sorted, separators "," and ":", UTF-8) — and appears in audit/chain.jsonl,
                   whose links run unbroken (each prev_hash is the hash before it) up to the
                   checkpoint in audit/checkpoint.json (seq {seq}, hash {hash}), which Tollgate signed.

Folders: request, assessment, plan, cab, decisions, execution, health, configuration, audit;
summary.pdf is a short summary for reading.
"""


def build_zip(pack: EvidencePack, *, progress=lambda p, s: None) -> tuple[bytes, dict]:
    """The zip of `pack` (bytes) and the checkpoint it was checked against."""
    from apps.audit.services import audit_checkpoint_export
    from apps.core.pdf import render_pdf

    request = pack.request
    files, collected = _collect(request)
    progress(35, "Exporting the audit events and the checkpoint")
    checkpoint = audit_checkpoint_export(actor=pack.requested_by)
    audit_files, events, signatures = _audit(collected["objects"], checkpoint,
                                             votes=collected["summary"]["votes"])
    files.update(audit_files)
    progress(60, "Drawing the PDF summary")
    built = clock.now()
    context = {"request": request, "pack": pack, "built": built, "checkpoint": checkpoint,
               "events": len(events), **collected["summary"], "signatures": signatures}
    files["summary.pdf"] = render_pdf(render_to_string("reporting/evidence_pdf.html", context))
    files["README.txt"] = README.format(
        reference=request.reference, title=request.title,
        built=built.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        user=pack.requested_by.get_username(), seq=checkpoint["seq"], hash=checkpoint["hash"]).encode("utf-8")
    progress(85, "Writing the zip and its manifest")
    root = f"evidence-{request.reference}"
    # sha256sum's format: the hex digest, two spaces (text mode), the path relative to the manifest
    manifest = "".join(f"{hashlib.sha256(body).hexdigest()}  {name}\n"
                       for name, body in sorted(files.items()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, body in sorted(files.items()):
            zf.writestr(f"{root}/{name}", body)
        zf.writestr(f"{root}/MANIFEST.sha256", manifest)
    return out.getvalue(), checkpoint
