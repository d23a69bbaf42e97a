"""Every write to an upgrade request: create, edit, transitions, duties, comments, attachments.

Each runs in one transaction, locks the request row, re-reads its state after
the lock, checks duties and gates, and appends the audit event in the same
transaction. Refusals are audited too, outside the rolled-back transaction.
"""

import datetime as dt
import hashlib
import os

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from apps.accounts import duties
from apps.accounts.choices import Duty, Role
from apps.accounts.notifications import notify
from apps.audit.services import audit_append, field_diff
from apps.core import clock
from apps.core.validation import clean_text
from apps.inventory.models import Component, System

from . import effects, gates
from .choices import EDITABLE_STATES, FINAL_STATES, WINDOW_EDITABLE_STATES, RiskClass, State
from .models import Attachment, Comment, ReferenceCounter, UpgradeItem, UpgradeRequest
from .workflow import TRANSITIONS, Transition, available_from

MAX_ITEMS = 50
MAX_REASON = 5000


class TransitionRefused(Exception):
    def __init__(self, transition: str, reasons: list[str]):
        self.transition = transition
        self.reasons = reasons
        super().__init__("; ".join(reasons))


# --- validation shared by create and edit ----------------------------------------------


_text = clean_text


def _clean_fields(data: dict) -> dict:
    errors: dict = {}
    cleaned = {}
    if "title" in data:
        cleaned["title"] = _text(errors, "title", data["title"], required=True, max_length=200)
    if "justification" in data:
        cleaned["justification"] = _text(errors, "justification", data["justification"], required=False,
                                         max_length=20000)
    if "risk_class" in data:
        if data["risk_class"] not in RiskClass.values:
            errors["risk_class"] = f"Choose one of: {', '.join(RiskClass.values)}."
        cleaned["risk_class"] = data["risk_class"]
    if "external_ref" in data:
        cleaned["external_ref"] = _text(errors, "external_ref", data["external_ref"], required=False, max_length=80)
    if "external_url" in data:
        url = _text(errors, "external_url", data["external_url"], required=False, max_length=500)
        if url and "external_url" not in errors:
            try:
                URLValidator(schemes=["http", "https"])(url)
            except ValidationError:
                errors["external_url"] = "Enter a web address starting with https:// or http://."
        cleaned["external_url"] = url
    for key in ("window_start", "window_end"):
        if key in data:
            value = data[key]
            if value is not None and not isinstance(value, dt.datetime):
                errors[key] = "Enter a date and time."
            elif value is not None and value.tzinfo is None:
                errors[key] = "The time needs a time zone."
            cleaned[key] = value.astimezone(dt.UTC) if isinstance(value, dt.datetime) and value.tzinfo else value
    start, end = cleaned.get("window_start"), cleaned.get("window_end")
    if start and end and end <= start and "window_end" not in errors:
        errors["window_end"] = "The window must end after it starts."
    if (start is None) != (end is None) and "window_start" in data and "window_end" in data:
        errors["window_end" if start else "window_start"] = "Give both the start and the end of the window."
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_items(items) -> list[dict]:
    if not isinstance(items, list):
        raise ValidationError({"items": "Give a list of systems and components that change."})
    if len(items) > MAX_ITEMS:
        raise ValidationError({"items": f"At most {MAX_ITEMS} items per request; split the upgrade."})
    system_ids = {i.get("system") for i in items if isinstance(i, dict)}
    component_ids = {i.get("component") for i in items if isinstance(i, dict) and i.get("component")}
    try:
        systems = System.objects.in_bulk([int(s) for s in system_ids if s is not None])
        components = Component.objects.in_bulk([int(c) for c in component_ids])
    except (TypeError, ValueError):
        raise ValidationError({"items": "System and component must be given by their numeric id."}) from None
    cleaned, errors = [], []
    for index, item in enumerate(items, start=1):
        problem = {}
        if not isinstance(item, dict):
            errors.append(f"Item {index}: give system, component, current_version and target_version.")
            continue
        system = systems.get(int(item["system"])) if str(item.get("system", "")).isdigit() else None
        if system is None:
            problem["system"] = "Unknown system."
        component = None
        if item.get("component"):
            component = components.get(int(item["component"])) if str(item["component"]).isdigit() else None
            if component is None:
                problem["component"] = "Unknown component."
            elif system is not None and component.system_id != system.pk:
                problem["component"] = f"{component.name} does not belong to {system.name}."
        versions = {}
        for key in ("current_version", "target_version"):
            value = item.get(key) or (component.version if key == "current_version" and component else "")
            if not isinstance(value, str) or not value.strip():
                problem[key] = "Give a version."
            elif len(value) > 40 or "\x00" in value:
                problem[key] = "Use at most 40 printable characters."
            versions[key] = value.strip() if isinstance(value, str) else ""
        product = item.get("product") or (component.product if component else "")
        if not isinstance(product, str) or not product.strip():
            problem["product"] = "Name the product that changes (or pick a component)."
        if problem:
            errors.append(f"Item {index}: " + " ".join(f"{k}: {v}" for k, v in problem.items()))
            continue
        cleaned.append({"system": system, "component": component, "product": product.strip()[:80], **versions})
    if errors:
        raise ValidationError({"items": errors})
    return cleaned


def _item_repr(items) -> list[str]:
    return [f"{i['system'].name}/{i['product']} {i['current_version']}→{i['target_version']}" for i in items]


def _snapshot(request: UpgradeRequest) -> dict:
    return {
        "title": request.title,
        "justification": request.justification,
        "risk_class": request.risk_class,
        "window_start": request.window_start,
        "window_end": request.window_end,
        "external_ref": request.external_ref,
        "external_url": request.external_url,
    }


def _next_reference(year: int) -> str:
    counter, _ = ReferenceCounter.objects.get_or_create(year=year)
    counter = ReferenceCounter.objects.select_for_update().get(pk=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"UPG-{year}-{counter.last:04d}"


# --- create / edit -----------------------------------------------------------------------


def upgrade_create(*, by, items: list, revised_from: UpgradeRequest | None = None, **fields) -> UpgradeRequest:
    if not by.has_role(Role.CHANGE_MANAGER) and not by.is_service_account:
        raise PermissionDenied("Only change managers raise upgrade requests.")
    fields.setdefault("risk_class", RiskClass.NORMAL)
    cleaned = _clean_fields(fields)
    if "title" not in cleaned:
        raise ValidationError({"title": "This field is required."})
    cleaned_items = _clean_items(items)
    now = clock.now()
    with transaction.atomic():
        request = UpgradeRequest.objects.create(
            reference=_next_reference(now.year),
            requester=by,
            state=State.DRAFT,
            revised_from=revised_from,
            created_at=now,
            updated_at=now,
            state_changed_at=now,
            **cleaned,
        )
        UpgradeItem.objects.bulk_create(UpgradeItem(request=request, **i) for i in cleaned_items)
        # the requester duty is the creator's by definition; no policy can refuse it on a new request
        from guardian.shortcuts import assign_perm

        assign_perm("upgrades.duty_requester", by, request)
        audit_append(
            action="upgrade.create",
            actor=by,
            obj=request,
            after={**_snapshot(request), "state": request.state, "items": _item_repr(cleaned_items),
                   "revised_from": revised_from.reference if revised_from else None},
        )
    return request


def _lock(request: UpgradeRequest) -> UpgradeRequest:
    return UpgradeRequest.objects.select_for_update().get(pk=request.pk)


def _check_window(start, end) -> None:
    """The window as it will be stored (a partial edit may give only one end of it)."""
    if (start is None) != (end is None):
        raise ValidationError({"window_end" if start else "window_start":
                               "Give both the start and the end of the window."})
    if start and end and end <= start:
        raise ValidationError({"window_end": "The window must end after it starts."})


def _refused(exc: Exception, *, action: str, by, request: UpgradeRequest, **data) -> None:
    """Audit a refusal outside the rolled-back transaction, with the reasons that refused it."""
    actor = by if by is not None and by.is_authenticated else None
    audit_append(action=action, actor=actor, obj=request, data={**data, "reasons": exc.reasons})


def _requester_or_admin(request: UpgradeRequest, by) -> None:
    if by is None or not by.is_authenticated or not by.has_role(Role.ADMIN):
        reasons = duties.duty_check(by, request, Duty.REQUESTER)
        if reasons:
            raise duties.DutyRefused(reasons)


def _editable(request: UpgradeRequest, what: str, rule: str) -> None:
    if request.state not in EDITABLE_STATES:
        raise TransitionRefused(what, [f"{request.reference} is {request.get_state_display().lower()}; {rule}"])


def upgrade_update(*, request: UpgradeRequest, by, items: list | None = None, **fields) -> UpgradeRequest:
    cleaned = _clean_fields(fields)
    cleaned_items = _clean_items(items) if items is not None else None
    try:
        with transaction.atomic():
            request = _lock(request)
            window_only = cleaned_items is None and set(cleaned) <= {"window_start", "window_end"}
            if not (window_only and request.state in WINDOW_EDITABLE_STATES):
                _editable(request, "edit", "only drafts can be edited (the requested window until planning ends).")
            _requester_or_admin(request, by)
            _check_window(cleaned.get("window_start", request.window_start),
                          cleaned.get("window_end", request.window_end))
            before = _snapshot(request)
            before_items = [str(i) for i in request.items.select_related("system")]
            for key, value in cleaned.items():
                setattr(request, key, value)
            request.updated_at = clock.now()
            request.save()
            b, a = field_diff(before, _snapshot(request))
            if cleaned_items is not None:
                request.items.all().delete()
                UpgradeItem.objects.bulk_create(UpgradeItem(request=request, **i) for i in cleaned_items)
                after_items = [str(i) for i in request.items.select_related("system")]
                if after_items != before_items:
                    b["items"], a["items"] = before_items, after_items
            if a:
                audit_append(action="upgrade.update", actor=by, obj=request, before=b, after=a)
            if {"window_start", "window_end"} & set(a):
                effects.run_window_moved(request=request, by=by)  # e.g. the calendar re-checks conflicts
    except duties.DutyRefused as exc:
        _refused(exc, action="duty.denied", by=by, request=request, duties=[Duty.REQUESTER], what="edit")
        raise
    except TransitionRefused as exc:
        _refused(exc, action="upgrade.update_refused", by=by, request=request)
        raise
    return request


def upgrade_delete_draft(*, request: UpgradeRequest, by) -> None:
    """A draft that was never started may be deleted by its requester; the audit trail keeps it."""
    try:
        with transaction.atomic():
            request = _lock(request)
            _editable(request, "delete", "only drafts can be deleted (cancel it instead).")
            _requester_or_admin(request, by)
            audit_append(action="upgrade.delete", actor=by, obj=request,
                         before={**_snapshot(request),
                                 "items": [str(i) for i in request.items.select_related("system")]})
            request.delete()
    except duties.DutyRefused as exc:
        _refused(exc, action="duty.denied", by=by, request=request, duties=[Duty.REQUESTER], what="delete")
        raise
    except TransitionRefused as exc:
        _refused(exc, action="upgrade.delete_refused", by=by, request=request)
        raise


# --- transitions ---------------------------------------------------------------------------


def actor_reasons(request: UpgradeRequest, user, transition: Transition) -> list[str]:
    """Why `user` may not take `transition` as a person (duty, role, segregation of duties); empty: may."""
    if user is None or not user.is_authenticated or not user.is_active:
        return ["You must be signed in."]
    if transition.roles and user.has_role(*transition.roles):
        if transition.takes_duty:
            return duties.assignment_blockers(obj=request, user=user, duty=transition.takes_duty)
        return []
    if transition.duties:
        reasons = duties.duty_check(user, request, *transition.duties)
        if not reasons or not transition.roles:
            return reasons
    who = [Duty(d).label.lower() for d in transition.duties] + [Role(r).label for r in transition.roles]
    return [f"Only the {' or '.join(who)} may {transition.label.lower()}."]


def transition_blockers(request: UpgradeRequest, user, name: str, reason: str = "", *, check_reason=True) -> list[str]:
    transition = TRANSITIONS.get(name)
    if transition is None:
        return [f"“{name}” is not a transition."]
    if request.state not in transition.sources:
        return [(f"{request.reference} is {request.get_state_display().lower()}; "
                 f"“{transition.label}” is not possible from there.")]
    reasons = actor_reasons(request, user, transition)
    if check_reason and transition.needs_reason and not (reason or "").strip():
        reasons.append("Give a reason.")
    if check_reason and "\x00" in (reason or ""):
        reasons.append("The reason contains a NUL character.")
    if check_reason and len(reason or "") > MAX_REASON:
        reasons.append(f"Keep the reason under {MAX_REASON} characters.")
    reasons.extend(gates.gate_reasons(request, name))
    return reasons


def next_transitions(request: UpgradeRequest, user) -> list[tuple[Transition, list[str]]]:
    """The transitions from the current state, each with what still blocks it (the checklist)."""
    return [(t, person + gate) for t, person, gate in next_transitions_split(request, user)]


def next_transitions_split(request: UpgradeRequest, user) -> list[tuple[Transition, list[str], list[str]]]:
    """The same, with what blocks each one split: (transition, the person's reasons, the gates' reasons), in the
    order transition_blockers() gives them (a request's page shows both and must not ask twice)."""
    return [(t, actor_reasons(request, user, t), gates.gate_reasons(request, t.name))
            for t in available_from(request.state)]


_NOTIFY = {
    "start_assessment": (Duty.ASSESSOR, "Readiness assessment is waiting for you on {ref}."),
    "return_to_planning": (Duty.REQUESTER, "{ref} was returned to planning: {reason}"),
    "approve": (Duty.REQUESTER, "{ref} was approved by the CAB."),
    "reject": (Duty.REQUESTER, "{ref} was rejected: {reason}"),
    "hand_to_validation": (Duty.VALIDATOR, "{ref} is ready for validation."),
    "schedule": (Duty.IMPLEMENTER, "{ref} is scheduled."),
}
_VERB = {"return_to_planning": "returned", "approve": "decided", "reject": "decided"}


_MILESTONES = {
    "submit_to_cab": "submitted_at", "approve": "decided_at", "reject": "decided_at", "start": "started_at",
    "complete": "finished_at", "roll_back": "finished_at", "fail": "finished_at",
}
_OUTCOMES = {"complete", "roll_back", "fail"}


def upgrade_transition(*, request: UpgradeRequest, by, transition: str, reason: str = "") -> UpgradeRequest:
    reason = (reason or "").strip()
    try:
        with transaction.atomic():
            request = _lock(request)  # re-read the state after the lock
            reasons = transition_blockers(request, by, transition, reason)
            if reasons:
                raise TransitionRefused(transition, reasons)
            spec = TRANSITIONS[transition]
            if spec.takes_duty and spec.takes_duty not in duties.duties_of(by, request):
                duties.duty_assign(obj=request, user=by, duty=spec.takes_duty, by=by)
            before_state = request.state
            now = clock.now()
            request.state = spec.target
            request.state_reason = reason
            request.state_changed_at = now
            request.updated_at = now
            fields = ["state", "state_reason", "state_changed_at", "updated_at"]
            milestone = _MILESTONES.get(transition)
            if milestone:
                setattr(request, milestone, now)
                fields.append(milestone)
            if transition in _OUTCOMES:
                request.outcome = request.state
                fields.append("outcome")
            request.save(update_fields=fields)
            effects.run_effects(request=request, by=by, transition=transition, reason=reason)
            audit_append(
                action="upgrade.transition",
                actor=by,
                obj=request,
                before={"state": before_state},
                after={"state": request.state},
                data={"transition": transition, "reason": reason},
            )
            _notify_transition(request, transition, reason)
    except TransitionRefused as exc:
        audit_append(action="upgrade.transition_refused", actor=by, obj=request,
                     data={"transition": transition, "reasons": exc.reasons})
        raise
    return request


def _notify_transition(request: UpgradeRequest, transition: str, reason: str) -> None:
    if transition not in _NOTIFY:
        return
    duty, template = _NOTIFY[transition]
    message = template.format(ref=request.reference, reason=reason)
    for user in duties.duty_holders(request)[duty]:
        notify(user=user, verb=_VERB.get(transition, "transition"), message=message, url=request.get_absolute_url())


def upgrade_revise(*, request: UpgradeRequest, by) -> UpgradeRequest:
    """Copy a rejected request into a new draft that links to it."""
    if request.state != State.REJECTED:
        raise TransitionRefused("revise", ["Only a rejected request can be revised as a new request."])
    items = [
        {"system": i.system_id, "component": i.component_id, "product": i.product,
         "current_version": i.current_version, "target_version": i.target_version}
        for i in request.items.all()
    ]
    return upgrade_create(
        by=by,
        items=items,
        revised_from=request,
        title=request.title,
        justification=request.justification,
        risk_class=request.risk_class,
        external_ref=request.external_ref,
        external_url=request.external_url,
    )


# --- people ---------------------------------------------------------------------------------

ASSIGNABLE = (Duty.ASSESSOR, Duty.IMPLEMENTER, Duty.VALIDATOR)


def upgrade_duty_assign(*, request: UpgradeRequest, by, user, duty: str) -> None:
    """The People panel: the requester (or an admin) assigns assessor, implementer and validator."""
    try:
        with transaction.atomic():
            request = _lock(request)  # the state and the holders as they are now
            if duty not in ASSIGNABLE:
                raise duties.DutyRefused([f"The {duty} duty is not assigned here"
                                          + (" (a CAB member takes it by voting)." if duty == Duty.APPROVER
                                             else ".")])
            if request.state in FINAL_STATES:
                raise duties.DutyRefused([f"{request.reference} is {request.get_state_display().lower()}."])
            _requester_or_admin(request, by)
            reasons = duties.assignment_blockers(obj=request, user=user, duty=duty)
            if reasons:
                raise duties.DutyRefused(reasons)
            duties.duty_assign(obj=request, user=user, duty=duty, by=by, exclusive=True)
    except duties.DutyRefused as exc:
        _refused(exc, action="duty.assign_refused", by=by, request=request, duty=duty, user=user.get_username())
        raise


def upgrade_duty_revoke(*, request: UpgradeRequest, by, user, duty: str) -> None:
    try:
        with transaction.atomic():
            request = _lock(request)
            if duty not in ASSIGNABLE:
                raise duties.DutyRefused([f"The {duty} duty cannot be removed here."])
            if request.state in FINAL_STATES:
                raise duties.DutyRefused([f"{request.reference} is {request.get_state_display().lower()}."])
            _requester_or_admin(request, by)
            if duty not in duties.duties_of(user, request):
                raise duties.DutyRefused([f"{user.get_username()} is not the {duty} of {request.reference}."])
            duties.duty_revoke(obj=request, user=user, duty=duty, by=by)
    except duties.DutyRefused as exc:
        _refused(exc, action="duty.revoke_refused", by=by, request=request, duty=duty, user=user.get_username())
        raise


# --- comments and attachments ------------------------------------------------------------------


def _require_contributor(request: UpgradeRequest, by) -> None:
    from .selectors import can_contribute

    if not can_contribute(by, request):
        audit_append(action="upgrade.denied", actor=by, obj=request, data={"reason": "not a contributor"})
        raise PermissionDenied("Only people working on this request can add to it.")


def comment_add(*, request: UpgradeRequest, by, body: str) -> Comment:
    _require_contributor(request, by)
    errors: dict = {}
    body = _text(errors, "body", body, required=True, max_length=10000)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        comment = Comment.objects.create(request=request, author=by, body=body, created_at=clock.now())
        audit_append(action="upgrade.comment", actor=by, obj=request, after={"comment": body[:500]})
    for user in duties.duty_holders(request)[Duty.REQUESTER]:
        if user.pk != by.pk:
            notify(user=user, verb="comment", message=f"{by.get_username()} commented on {request.reference}.",
                   url=request.get_absolute_url())
    return comment


def attachment_add(*, request: UpgradeRequest, by, upload) -> Attachment:
    _require_contributor(request, by)
    name = os.path.basename(upload.name or "")[:200]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if "\x00" in name or not name:
        raise ValidationError({"file": "The file needs a name."})
    if ext not in settings.ATTACHMENT_ALLOWED_EXTENSIONS:
        raise ValidationError({"file": f"“.{ext}” files are not accepted. Allowed: "
                                       f"{', '.join(settings.ATTACHMENT_ALLOWED_EXTENSIONS)}."})
    if upload.size > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationError({"file": f"The file is {upload.size // 1024} KB; the limit is "
                                       f"{settings.ATTACHMENT_MAX_BYTES // 1024} KB."})
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    with transaction.atomic():
        attachment = Attachment(request=request, filename=name, size=upload.size, sha256=digest.hexdigest(),
                                uploaded_by=by, uploaded_at=clock.now())
        attachment.file.save(name, upload, save=False)
        attachment.save()
        audit_append(action="upgrade.attachment", actor=by, obj=request,
                     after={"filename": name, "size": upload.size, "sha256": attachment.sha256})
    return attachment
