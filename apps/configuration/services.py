"""Every write of configuration control and staging validation.

Each runs in one transaction, locks what it changes, checks who acts at the moment they act, and appends
the audit event in the same transaction. Refusals (permission, segregation of duties, freeze) are audited
outside the rolled-back transaction, with the reasons that refused them.
"""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from apps.accounts import duties
from apps.accounts.choices import Duty, Role
from apps.audit.services import audit_append
from apps.core import clock
from apps.core.validation import clean_text
from apps.inventory.models import BusinessWorkflow, Environment, System
from apps.upgrades.choices import FINAL_STATES
from apps.upgrades.models import UpgradeRequest

from . import documents, findings, junit, selectors
from .choices import (CaseOutcome, ExceptionReason, ExceptionStatus, MaskingMethod, SnapshotFormat,
                      SnapshotPurpose, TopologyKind)
from .models import (Baseline, ConfigException, MaskingRecord, PerformanceFigure, RegressionReport, Snapshot,
                     TestCaseResult, TopologyItem, UatSignoff)

MAX_TEXT = 5000
SNAPSHOT_ROLES = (Role.CHANGE_MANAGER, Role.IMPLEMENTER, Role.VALIDATOR, Role.ADMIN)
BASELINE_ROLES = (Role.CHANGE_MANAGER, Role.ADMIN)
EXCEPTION_REQUEST_ROLES = (Role.CHANGE_MANAGER, Role.IMPLEMENTER, Role.ADMIN)
EXCEPTION_DECIDE_ROLES = (Role.CAB_MEMBER, Role.ADMIN)
EVIDENCE_DUTIES = (Duty.REQUESTER, Duty.ASSESSOR, Duty.IMPLEMENTER, Duty.VALIDATOR)
ACCEPT_DUTIES = (Duty.REQUESTER, Duty.VALIDATOR)


class ConfigurationRefused(PermissionDenied):
    """A write refused for a reason the person can act on (freeze, duty, segregation of duties, state)."""

    def __init__(self, reasons: list[str], *, permission: bool = False):
        self.reasons = reasons
        self.permission = permission  # who acts (403), rather than the state of things (409)
        super().__init__(" ".join(reasons))


def _actor(by):
    return by if by is not None and getattr(by, "is_authenticated", False) else None


def _refused(exc, *, action: str, by, obj, **data) -> None:
    audit_append(action=action, actor=_actor(by), obj=obj, data={**data, "reasons": exc.reasons})


def _guarded(action: str, obj, by, **data):
    """Run a write; audit a refusal (after the rolled-back transaction) and re-raise it."""

    class _Guard:
        def __enter__(self):
            return self

        def __exit__(self, exc_type, exc, tb):
            if isinstance(exc, ConfigurationRefused | duties.DutyRefused):
                _refused(exc, action=action, by=by, obj=obj, **data)
            return False

    return _Guard()


def _signed_in(by) -> None:
    if by is None or not by.is_authenticated or not by.is_active:
        raise ConfigurationRefused(["You must be signed in."], permission=True)


def _roles(by, roles, what: str) -> None:
    _signed_in(by)
    if by.is_service_account and Role.ADMIN not in roles:
        return
    if not by.has_role(*roles):
        words = ", ".join(Role(r).label for r in roles)
        raise ConfigurationRefused([f"Only people in the {words} roles may {what}."], permission=True)


def _evidence_actor(by, request: UpgradeRequest, allowed=EVIDENCE_DUTIES) -> None:
    """A person with a duty on the request (re-checked against segregation of duties), or an admin."""
    _signed_in(by)
    if by.has_role(Role.ADMIN):
        return
    reasons = duties.duty_check(by, request, *allowed)
    if reasons:
        raise duties.DutyRefused(reasons)


def _open_request(request: UpgradeRequest) -> UpgradeRequest:
    request = UpgradeRequest.objects.select_for_update().get(pk=request.pk)
    if request.state in FINAL_STATES:
        raise ConfigurationRefused([f"{request.reference} is {request.get_state_display().lower()}; "
                                    "nothing more is recorded for it."])
    return request


def _affected(request: UpgradeRequest, system: System) -> None:
    if system.pk not in selectors.affected_system_ids(request):
        raise ValidationError({"system": f"{system.name} is not one of the systems {request.reference} changes."})


def _freeze_check(*, system: System, request: UpgradeRequest | None, what: str) -> None:
    blocking = selectors.freezes_blocking_now(system=system, request=request)
    if blocking:
        reasons = [f"{system.name} is frozen by “{f.name}” until {f.ends_at:%Y-%m-%d %H:%M} UTC ({f.reason}); "
                   f"{what} is refused" + (" unless the CAB approves a freeze exception for "
                                           f"{request.reference}." if request else
                                           ". Record it for an upgrade request that holds an approved freeze "
                                           "exception.") for f in blocking]
        raise ConfigurationRefused(reasons)


# --- snapshots -------------------------------------------------------------------------------------------


def snapshot_take(*, system: System, environment: Environment, by, tag: str, fmt: str = "",
                  raw: bytes | None = None, values: dict | None = None, filename: str = "",
                  request: UpgradeRequest | None = None, purpose: str = SnapshotPurpose.ROUTINE) -> Snapshot:
    """Record an immutable snapshot of a system's configuration in an environment, from an uploaded
    document (JSON, YAML, INI, .env) or a key/value document posted by automation."""
    errors: dict = {}
    tag = clean_text(errors, "tag", tag, required=True, max_length=80)
    filename = clean_text(errors, "file", filename, required=False, max_length=200)
    if purpose not in SnapshotPurpose.values:
        errors["purpose"] = f"Choose one of: {', '.join(SnapshotPurpose.values)}."
    if purpose == SnapshotPurpose.PRE_UPGRADE and request is None:
        errors["request"] = "A pre-upgrade snapshot belongs to an upgrade request."
    if errors:
        raise ValidationError(errors)
    if values is not None:
        if not isinstance(values, dict):
            raise ValidationError({"values": "Give the configuration as an object of keys and values."})
        try:
            parsed = documents.build(values, SnapshotFormat.KEYVALUE)
        except ValidationError as exc:
            raise ValidationError({"values": exc.message_dict.get("file", ["Invalid document."])}) from None
    else:
        fmt = fmt or documents.format_for(filename) or ""
        if not fmt:
            raise ValidationError({"format": "Say which format the file is in (JSON, YAML, INI or .env), or "
                                             "name it with that extension."})
        parsed = documents.parse(raw or b"", fmt)
    obj = request if request is not None else system
    with _guarded("configuration.snapshot_refused", obj, by, system=system.slug, environment=environment.slug,
                  tag=tag):
        with transaction.atomic():
            System.objects.select_for_update().get(pk=system.pk)  # one snapshot of a system at a time
            _roles(by, SNAPSHOT_ROLES, "record configuration snapshots")
            if request is not None:
                request = _open_request(request)
                _affected(request, system)
                _evidence_actor(by, request)
            _freeze_check(system=system, request=request, what="a new configuration snapshot")
            snapshot = Snapshot.objects.create(
                system=system, environment=environment, request=request, purpose=purpose, tag=tag,
                format=parsed.format, source_name=filename, content=parsed.content, key_count=parsed.key_count,
                masked_count=parsed.masked_count, sha256=parsed.sha256, content_sha256=parsed.content_sha256,
                taken_by=by, taken_at=clock.now())
            audit_append(action="configuration.snapshot", actor=by, obj=obj,
                         after={"snapshot": snapshot.pk, "system": system.slug, "environment": environment.slug,
                                "tag": tag, "purpose": purpose, "format": parsed.format, "sha256": parsed.sha256,
                                "content_sha256": parsed.content_sha256, "keys": parsed.key_count,
                                "masked": parsed.masked_count})
            findings.drift_refresh(system=system, by=by)
    return snapshot


def snapshot_verify(snapshot: Snapshot) -> bool:
    """Does the stored content still hash to what was recorded?"""
    return documents.sha256(documents.canonical(snapshot.content)) == snapshot.content_sha256


# --- baselines -------------------------------------------------------------------------------------------


def baseline_approve(*, snapshot: Snapshot, by, note: str = "") -> Baseline:
    """Mark a snapshot as the approved baseline of its system in its environment (replacing the previous)."""
    errors: dict = {}
    note = clean_text(errors, "note", note, required=False, max_length=MAX_TEXT)
    if errors:
        raise ValidationError(errors)
    system = snapshot.system
    with _guarded("configuration.baseline_refused", snapshot.request or system, by, snapshot=snapshot.pk):
        with transaction.atomic():
            System.objects.select_for_update().get(pk=system.pk)
            _roles(by, BASELINE_ROLES, "approve configuration baselines")
            request = snapshot.request
            if request is not None:
                request = _open_request(request)
            _freeze_check(system=system, request=request, what="a baseline change")
            now = clock.now()
            previous = list(Baseline.objects.select_for_update()
                            .filter(system=system, environment_id=snapshot.environment_id, active=True))
            for old in previous:
                if old.snapshot_id == snapshot.pk:
                    raise ConfigurationRefused([f"“{snapshot.tag}” is already the approved baseline."])
                old.active, old.superseded_at = False, now
                old.save(update_fields=["active", "superseded_at"])
            baseline = Baseline.objects.create(system=system, environment_id=snapshot.environment_id,
                                               snapshot=snapshot, note=note, approved_by=by, approved_at=now)
            audit_append(action="configuration.baseline_approve", actor=by, obj=system,
                         before={"baseline": [b.snapshot_id for b in previous]} if previous else None,
                         after={"baseline": baseline.pk, "snapshot": snapshot.pk, "tag": snapshot.tag,
                                "environment": snapshot.environment.slug, "sha256": snapshot.sha256, "note": note})
    return baseline


def baseline_validate(*, baseline: Baseline, now: dt.datetime | None = None) -> list[dict]:
    """Compare the latest snapshot with the baseline; deviations no approved, unexpired exception covers
    become (or keep open) a system-level finding; none left resolves it. Idempotent."""
    now = now or clock.now()
    with transaction.atomic():
        baseline = Baseline.objects.select_for_update().select_related("system", "environment", "snapshot").get(
            pk=baseline.pk)
        if not baseline.active:
            return []
        latest = (Snapshot.objects.filter(system_id=baseline.system_id, environment_id=baseline.environment_id)
                  .order_by("-taken_at", "-id").first())
        deviations = []
        if latest is not None and latest.pk != baseline.snapshot_id:
            covering = selectors.exceptions_in_force(system=baseline.system, environment=baseline.environment,
                                                     now=now)
            for change in documents.diff(baseline.snapshot.content, latest.content):
                cover = next((e for e in covering if documents.pattern_covers(e.key_pattern, change.path)), None)
                entry = change.as_dict() | {"exception": cover.pk if cover else None}
                deviations.append(entry)
        uncovered = [d for d in deviations if d["exception"] is None]
        changed = deviations != baseline.last_deviations
        baseline.last_deviations, baseline.last_validated_at = deviations, now
        baseline.save(update_fields=["last_deviations", "last_validated_at"])
        findings.baseline_finding(baseline=baseline, latest=latest, uncovered=uncovered)
        if changed:
            audit_append(action="configuration.baseline_validate", actor=None, obj=baseline.system,
                         data={"baseline": baseline.pk, "environment": baseline.environment.slug,
                               "latest": latest.pk if latest else None, "deviations": len(deviations),
                               "uncovered": [d["path"] for d in uncovered][:100]})
    return uncovered


def baselines_validate_all() -> int:
    """The periodic task: validate every active baseline."""
    count = 0
    for pk in Baseline.objects.filter(active=True).values_list("pk", flat=True):
        baseline_validate(baseline=Baseline(pk=pk))
        count += 1
    return count


# --- configuration exceptions ---------------------------------------------------------------------------


def exception_request(*, system: System, by, key_pattern: str, reason_kind: str, reason: str,
                      expires_at: dt.datetime, environment: Environment | None = None) -> ConfigException:
    errors: dict = {}
    key_pattern = clean_text(errors, "key_pattern", key_pattern, required=True, max_length=300)
    reason = clean_text(errors, "reason", reason, required=True, max_length=MAX_TEXT)
    if reason_kind not in ExceptionReason.values:
        errors["reason_kind"] = f"Choose one of: {', '.join(ExceptionReason.values)}."
    if not isinstance(expires_at, dt.datetime) or expires_at.tzinfo is None:
        errors["expires_at"] = "Give the expiry as a date and time with a time zone."
    elif expires_at <= clock.now():
        errors["expires_at"] = "The expiry must be in the future."
    elif expires_at > clock.now() + dt.timedelta(days=730):
        errors["expires_at"] = "An exception lasts at most two years; ask again when it ends."
    if errors:
        raise ValidationError(errors)
    with _guarded("configuration.exception_refused", system, by, what="request", key_pattern=key_pattern):
        with transaction.atomic():
            _roles(by, EXCEPTION_REQUEST_ROLES, "request configuration exceptions")
            exception = ConfigException.objects.create(
                system=system, environment=environment, key_pattern=key_pattern, reason_kind=reason_kind,
                reason=reason, expires_at=expires_at.astimezone(dt.UTC), requested_by=by,
                requested_at=clock.now())
            audit_append(action="configuration.exception_request", actor=by, obj=system,
                         after={"exception": exception.pk, "key_pattern": key_pattern,
                                "environment": environment.slug if environment else None,
                                "reason_kind": reason_kind, "reason": reason,
                                "expires_at": exception.expires_at.isoformat()})
    return exception


def exception_decide(*, exception: ConfigException, by, approve: bool, reason: str = "") -> ConfigException:
    """A CAB member or admin approves or refuses; the person who asked for it may not decide it."""
    errors: dict = {}
    reason = clean_text(errors, "reason", reason, required=not approve, max_length=MAX_TEXT)
    if errors:
        raise ValidationError(errors)
    with _guarded("configuration.exception_refused", exception.system, by, what="decide",
                  exception=exception.pk):
        with transaction.atomic():
            exception = ConfigException.objects.select_for_update().select_related("system").get(pk=exception.pk)
            _roles(by, EXCEPTION_DECIDE_ROLES, "decide configuration exceptions")
            if exception.requested_by_id == by.pk:
                raise ConfigurationRefused(["Segregation of duties: the person who requested an exception may "
                                            "not decide it; another CAB member or an admin does."],
                                           permission=True)
            if exception.status != ExceptionStatus.REQUESTED:
                raise ConfigurationRefused([f"This exception is already {exception.get_status_display().lower()}."])
            if exception.expires_at <= clock.now():
                raise ConfigurationRefused(["This exception has expired before it was decided; ask again."])
            exception.status = ExceptionStatus.APPROVED if approve else ExceptionStatus.REFUSED
            exception.decided_by, exception.decided_at, exception.decision_reason = by, clock.now(), reason
            exception.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
            audit_append(action=f"configuration.exception_{'approve' if approve else 'refuse'}", actor=by,
                         obj=exception.system, before={"status": ExceptionStatus.REQUESTED},
                         after={"exception": exception.pk, "status": exception.status, "reason": reason})
    return exception


# --- staging parity -------------------------------------------------------------------------------------


def topology_record(*, request: UpgradeRequest, system: System, environment: Environment, by, kind: str,
                    name: str, value: str) -> TopologyItem:
    """Record (or update) one element of a system's topology in staging or production."""
    errors: dict = {}
    name = clean_text(errors, "name", name, required=True, max_length=120)
    value = clean_text(errors, "value", value, required=True, max_length=300)
    if kind not in TopologyKind.values:
        errors["kind"] = f"Choose one of: {', '.join(TopologyKind.values)}."
    if errors:
        raise ValidationError(errors)
    with _guarded("configuration.evidence_refused", request, by, what="topology"):
        with transaction.atomic():
            request = _open_request(request)
            _affected(request, system)
            _evidence_actor(by, request)
            item = TopologyItem.objects.select_for_update().filter(
                system=system, environment=environment, kind=kind, name=name).first()
            before = {"value": item.value} if item else None
            if item is None:
                item = TopologyItem(system=system, environment=environment, kind=kind, name=name)
            item.value, item.recorded_by, item.recorded_at = value, by, clock.now()
            item.save()
            audit_append(action="configuration.topology", actor=by, obj=request, before=before,
                         after={"system": system.slug, "environment": environment.slug, "kind": kind,
                                "name": name, "value": value})
    return item


def masking_record(*, request: UpgradeRequest, system: System, by, masked: bool, method: str, masked_by: str,
                   masked_on, notes: str = "") -> MaskingRecord:
    """Record how the staging data of a system was prepared; an unmasked production copy blocks the CAB."""
    errors: dict = {}
    masked_by = clean_text(errors, "masked_by", masked_by, required=True, max_length=200)
    notes = clean_text(errors, "notes", notes, required=False, max_length=MAX_TEXT)
    if method not in MaskingMethod.values:
        errors["method"] = f"Choose one of: {', '.join(MaskingMethod.values)}."
    elif masked and method == MaskingMethod.NONE:
        errors["method"] = "Name the masking method, or record the copy as not masked."
    if not isinstance(masked_on, dt.date) or isinstance(masked_on, dt.datetime):
        errors["masked_on"] = "Give the date the copy was masked."
    elif masked_on > clock.now().date():
        errors["masked_on"] = "The date cannot be in the future."
    if errors:
        raise ValidationError(errors)
    with _guarded("configuration.evidence_refused", request, by, what="masking"):
        with transaction.atomic():
            request = _open_request(request)
            _affected(request, system)
            _evidence_actor(by, request)
            record = MaskingRecord.objects.create(request=request, system=system, masked=masked, method=method,
                                                  masked_by=masked_by, masked_on=masked_on, notes=notes,
                                                  recorded_by=by, recorded_at=clock.now())
            audit_append(action="configuration.masking", actor=by, obj=request,
                         after={"system": system.slug, "masked": masked, "method": method,
                                "masked_by": masked_by, "masked_on": masked_on.isoformat()})
    return record


# --- regression results ---------------------------------------------------------------------------------


def junit_import(*, request: UpgradeRequest, by, raw: bytes, filename: str, wave=None,
                 name: str = "") -> RegressionReport:
    """Import a JUnit XML report as staging evidence; its failures block the CAB until accepted."""
    errors: dict = {}
    filename = clean_text(errors, "file", filename, required=False, max_length=200) or "report.xml"
    name = clean_text(errors, "name", name, required=False, max_length=200)
    if errors:
        raise ValidationError(errors)
    parsed = junit.parse(raw, filename)
    if wave is not None and getattr(getattr(wave, "plan", None), "request_id", None) != request.pk:
        raise ValidationError({"wave": "That wave is not part of this request's rollout plan."})
    with _guarded("configuration.evidence_refused", request, by, what="junit"):
        with transaction.atomic():
            request = _open_request(request)
            _evidence_actor(by, request)
            report = RegressionReport.objects.create(
                request=request, wave=wave, name=name or parsed.name, filename=filename,
                sha256=documents.sha256(raw), tests=parsed.tests, failures=parsed.failures, errors=parsed.errors,
                skipped=parsed.skipped, duration_seconds=parsed.duration, imported_by=by, imported_at=clock.now())
            TestCaseResult.objects.bulk_create(
                TestCaseResult(report=report, suite=c.suite, classname=c.classname, name=c.name, outcome=c.outcome,
                               message=c.message, duration_seconds=c.duration)
                for c in parsed.cases if c.outcome in (CaseOutcome.FAILED, CaseOutcome.ERROR))
            audit_append(action="configuration.junit_import", actor=by, obj=request,
                         after={"report": report.pk, "filename": filename, "sha256": report.sha256,
                                "tests": report.tests, "failures": report.failures, "errors": report.errors,
                                "skipped": report.skipped, "duration": str(report.duration_seconds),
                                "wave": wave.pk if wave else None})
    return report


def failure_accept(*, case: TestCaseResult, by, justification: str) -> TestCaseResult:
    """The requester or validator accepts a failing test with a justification; it stops blocking."""
    errors: dict = {}
    justification = clean_text(errors, "justification", justification, required=True, max_length=MAX_TEXT)
    if errors:
        raise ValidationError(errors)
    request = case.report.request
    with _guarded("configuration.evidence_refused", request, by, what="accept failure", case=case.pk):
        with transaction.atomic():
            request = _open_request(request)
            case = TestCaseResult.objects.select_for_update().get(pk=case.pk)
            _evidence_actor(by, request, ACCEPT_DUTIES)
            if case.accepted_at is not None:
                raise ConfigurationRefused([f"“{case.name}” is already accepted."])
            case.accepted_by, case.accepted_at, case.justification = by, clock.now(), justification
            case.save(update_fields=["accepted_by", "accepted_at", "justification"])
            audit_append(action="configuration.failure_accept", actor=by, obj=request,
                         after={"case": case.pk, "name": case.name, "report": case.report_id,
                                "justification": justification})
    return case


# --- performance ----------------------------------------------------------------------------------------


def _decimal(errors: dict, field: str, value) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, AttributeError, TypeError):
        errors[field] = "Enter a number."
        return None
    if not number.is_finite() or abs(number) >= Decimal("1e12"):
        errors[field] = "Enter a finite number below a trillion."
        return None
    return number


def _clean_figure(data: dict, request: UpgradeRequest) -> dict:
    errors: dict = {}
    cleaned = {
        "metric": clean_text(errors, "metric", data.get("metric"), required=True, max_length=120),
        "unit": clean_text(errors, "unit", data.get("unit"), required=False, max_length=20),
        "before": _decimal(errors, "before", data.get("before")),
        "after": _decimal(errors, "after", data.get("after")),
        "higher_is_better": bool(data.get("higher_is_better", False)),
    }
    tolerance = data.get("tolerance_percent", 10)
    cleaned["tolerance_percent"] = _decimal(errors, "tolerance_percent", 10 if tolerance in (None, "") else tolerance)
    if cleaned["tolerance_percent"] is not None and not 0 <= cleaned["tolerance_percent"] <= 1000:
        errors["tolerance_percent"] = "Give a tolerance between 0 and 1000 percent."
    system = data.get("system")
    if system not in (None, ""):
        system_id = system.pk if isinstance(system, System) else system
        if str(system_id).isdigit() and int(system_id) in selectors.affected_system_ids(request):
            cleaned["system_id"] = int(system_id)
        else:
            errors["system"] = "Choose one of the systems this request changes."
    if errors:
        raise ValidationError(errors)
    return cleaned


def performance_record(*, request: UpgradeRequest, by, figures: list[dict]) -> list[PerformanceFigure]:
    """Record (or import) before/after figures of the simulated upgrade in staging."""
    if not isinstance(figures, list) or not figures:
        raise ValidationError({"figures": "Give at least one figure."})
    if len(figures) > 500:
        raise ValidationError({"figures": "At most 500 figures at once."})
    cleaned, problems = [], []
    for index, data in enumerate(figures, start=1):
        try:
            cleaned.append(_clean_figure(data if isinstance(data, dict) else {}, request))
        except ValidationError as exc:
            problems.append((index, exc.message_dict))
    if problems:
        if len(figures) == 1:
            raise ValidationError(problems[0][1])
        raise ValidationError({"figures": [f"Figure {i}: " + " ".join(f"{k}: {' '.join(v)}" for k, v in p.items())
                                           for i, p in problems]})
    with _guarded("configuration.evidence_refused", request, by, what="performance"):
        with transaction.atomic():
            request = _open_request(request)
            _evidence_actor(by, request)
            now = clock.now()
            rows = PerformanceFigure.objects.bulk_create(
                PerformanceFigure(request=request, recorded_by=by, recorded_at=now, **c) for c in cleaned)
            audit_append(action="configuration.performance", actor=by, obj=request,
                         after={"figures": [{"metric": c["metric"], "before": str(c["before"]),
                                             "after": str(c["after"])} for c in cleaned]})
    return rows


# --- UAT sign-off ---------------------------------------------------------------------------------------


def _verify_signature(*, user, password: str, token: str) -> str:
    try:
        from apps.accounts.stepup import signature_verify
    except ImportError:  # the step-up module not there yet: the password is the signature
        if password and user.check_password(password):
            return "password"
        audit_append(action="signature.failed", actor=user, obj=user, data={"method": "password"})
        raise ValidationError({"password": "The password is not correct; sign again."}) from None
    return signature_verify(user=user, password=password, token=token)


def signoff_record(*, request: UpgradeRequest, workflow: BusinessWorkflow, by, password: str = "",
                   token: str = "", comment: str = "") -> UatSignoff:
    """The owner of a business workflow signs off the staging evidence (step-up: password or token)."""
    errors: dict = {}
    comment = clean_text(errors, "comment", comment, required=False, max_length=MAX_TEXT)
    if errors:
        raise ValidationError(errors)
    with _guarded("configuration.signoff_refused", request, by, workflow=workflow.pk):
        _signed_in(by)
        if workflow.pk not in {w.pk for w in selectors.workflows_of(request)}:
            raise ValidationError({"workflow": f"“{workflow.name}” is not a workflow of the systems "
                                               f"{request.reference} changes."})
        if not selectors.may_sign(by, workflow):
            raise ConfigurationRefused([f"Only the owner of “{workflow.name}” signs it off"
                                        + (f" ({workflow.owner.display_name})." if workflow.owner_id else
                                           " (a member of its owner team).")], permission=True)
        method = _verify_signature(user=by, password=password or "", token=token or "")
        with transaction.atomic():
            request = _open_request(request)
            evidence = selectors.signoff_evidence(request, workflow)
            digest = documents.sha256(documents.canonical(evidence))
            signoff = UatSignoff.objects.create(request=request, workflow=workflow, signed_by=by,
                                                signed_at=clock.now(), method=method, evidence_sha256=digest,
                                                evidence=evidence, comment=comment)
            audit_append(action="configuration.uat_signoff", actor=by, obj=request,
                         after={"signoff": signoff.pk, "workflow": workflow.name, "method": method,
                                "evidence_sha256": digest, "comment": comment})
    return signoff


# --- patching order ---------------------------------------------------------------------------------------


def patching_order_check(*, request: UpgradeRequest, by=None) -> list[dict]:
    """Check the plan applies what a system depends on before it; raise (or resolve) findings."""
    with transaction.atomic():
        request = UpgradeRequest.objects.select_for_update().get(pk=request.pk)
        problems = selectors.patching_order(request)
        findings.order_findings(request=request, problems=problems, by=by)
    return problems


def effect_submit_to_cab(*, request, by, transition, reason) -> None:
    """On submission the patching order is checked, so the CAB sees it as findings."""
    problems = selectors.patching_order(request)
    findings.order_findings(request=request, problems=problems, by=by)


# --- seed and test hooks ------------------------------------------------------------------------------------


def _production_document(system: System, environment: Environment) -> dict:
    components = {c.name: {"product": c.product, "version": c.version}
                  for c in system.components.filter(environment=environment).order_by("name")}
    return {"system": system.slug, "environment": environment.slug, "components": components or {"none": True}}


def pre_upgrade_snapshots_take(*, request: UpgradeRequest, by) -> list[Snapshot]:
    """Take the missing pre-upgrade snapshot of every affected system in production (from the inventory)."""
    production = selectors.production_environment()
    if production is None:
        return []
    have = selectors.pre_upgrade_system_ids(request, production)
    taken = []
    for system in System.objects.filter(pk__in=selectors.affected_system_ids(request)).order_by("name"):
        if system.pk in have:
            continue
        taken.append(snapshot_take(system=system, environment=production, by=by, tag=f"before-{request.reference}",
                                   values=_production_document(system, production), request=request,
                                   purpose=SnapshotPurpose.PRE_UPGRADE))
    return taken


PASSING_REPORT = (b'<?xml version="1.0" encoding="utf-8"?>\n<testsuites name="staging regression" time="42.5">'
                  b'<testsuite name="smoke" tests="3" failures="0" errors="0" skipped="0" time="42.5">'
                  b'<testcase classname="smoke" name="test_login" time="10.1"/>'
                  b'<testcase classname="smoke" name="test_payment_roundtrip" time="20.3"/>'
                  b'<testcase classname="smoke" name="test_statement_export" time="12.1"/>'
                  b'</testsuite></testsuites>')


def seed_before_submit_to_cab(*, request: UpgradeRequest, by, users) -> None:
    """Staging evidence for the demo: masked data and a passing regression run (once per request)."""
    if RegressionReport.objects.filter(request=request).exists():
        return
    for system in System.objects.filter(pk__in=selectors.affected_system_ids(request)).order_by("name"):
        masking_record(request=request, system=system, by=by, masked=True, method=MaskingMethod.SUBSTITUTION,
                       masked_by="Data platform team (masking pipeline)", masked_on=clock.now().date())
    junit_import(request=request, by=by, raw=PASSING_REPORT, filename="staging-regression.xml")


def seed_before_start(*, request: UpgradeRequest, by, users) -> None:
    """The implementer takes the pre-upgrade snapshot just before starting."""
    pre_upgrade_snapshots_take(request=request, by=by)
