"""Post-implementation review services: open, save, complete, follow-ups. Every write is audited."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts import duties
from apps.accounts.choices import Duty, Role
from apps.audit.services import audit_append, field_diff
from apps.core import clock
from apps.core.validation import clean_text
from apps.upgrades.choices import State
from apps.upgrades.models import UpgradeRequest

from .models import BacklogItem, PostImplementationReview

REVIEW_STATES = (State.COMPLETED, State.ROLLED_BACK, State.FAILED)
TEXT_FIELDS = {"success_notes": 4000, "incidents_summary": 4000, "went_well": 4000, "went_badly": 4000,
               "lessons": 4000}
REQUIRED_TO_COMPLETE = ("went_well", "went_badly", "lessons")


class ReviewRefused(Exception):
    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def due_days() -> int:
    return int(getattr(settings, "TOLLGATE_PIR_DUE_DAYS", 10))


def may_write(user, request: UpgradeRequest) -> list[str]:
    """Reasons `user` may not write the review (empty: may). The requester writes it; admins may help."""
    if user is None or not user.is_authenticated:
        return ["You must be signed in."]
    if user.has_role(Role.ADMIN):
        return []
    return duties.duty_check(user, request, Duty.REQUESTER)


def _lock(request: UpgradeRequest) -> UpgradeRequest:
    return UpgradeRequest.objects.select_for_update().get(pk=request.pk)


def _refuse(reasons: list[str], *, action: str, by, request) -> None:
    actor = by if by is not None and by.is_authenticated else None
    audit_append(action=action, actor=actor, obj=request, data={"reasons": reasons})
    raise ReviewRefused(reasons)


def _snapshot(pir: PostImplementationReview) -> dict:
    return {f: getattr(pir, f) for f in ("status", "success_criteria", "downtime_minutes", *TEXT_FIELDS)}


def pir_prefill(request: UpgradeRequest) -> dict:
    """What the execution log already knows: downtime and the incidents raised during the upgrade."""
    from apps.execution.selectors import downtime_minutes, incidents_of, run_current

    downtime = downtime_minutes(run_current(request), request)
    incidents = [f"{i.severity} {i.title} ({i.impact_minutes} min)" for i in incidents_of(request)]
    return {"downtime_minutes": downtime["total_minutes"], "incidents_summary": "\n".join(incidents)}


def _clean(data: dict) -> dict:
    errors: dict = {}
    cleaned: dict = {}
    for field, max_length in TEXT_FIELDS.items():
        if field in data:
            cleaned[field] = clean_text(errors, field, data[field], required=False, max_length=max_length)
    if "success_criteria" in data:
        value = data["success_criteria"] or ""
        if value not in PostImplementationReview.Criteria.values and value != "":
            errors["success_criteria"] = "Choose met, partly met or not met."
        cleaned["success_criteria"] = value
    if "downtime_minutes" in data:
        value = data["downtime_minutes"]
        if value in (None, ""):
            cleaned["downtime_minutes"] = None
        else:
            try:
                value = int(value)
            except (TypeError, ValueError):
                errors["downtime_minutes"] = "Enter the downtime as a whole number of minutes."
            else:
                if value < 0 or value > 525600:
                    errors["downtime_minutes"] = "Enter a number of minutes between 0 and 525600."
                cleaned["downtime_minutes"] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def _get_or_open(request: UpgradeRequest, by) -> PostImplementationReview:
    pir = PostImplementationReview.objects.select_for_update().filter(request=request).first()
    if pir is None:
        now = clock.now()
        pir = PostImplementationReview.objects.create(
            request=request, due_at=request.state_changed_at + dt.timedelta(days=due_days()), created_by=by,
            created_at=now, updated_at=now, **pir_prefill(request))
        audit_append(action="pir.open", actor=by, obj=pir,
                     after=_snapshot(pir) | {"request": request.reference})
    return pir


def pir_save(*, request: UpgradeRequest, by, complete: bool = False, **data) -> PostImplementationReview:
    """Save the review (opening it on first save); with `complete`, check it is whole and complete it."""
    cleaned = _clean(data)
    try:
        with transaction.atomic():
            request = _lock(request)
            reasons = may_write(by, request)
            if request.state not in REVIEW_STATES:
                reasons.append(f"{request.reference} is {request.get_state_display().lower()}; a review is "
                               "written once the request has completed, rolled back or failed.")
            if reasons:
                raise ReviewRefused(reasons)
            pir = _get_or_open(request, by)
            if pir.status == PostImplementationReview.Status.COMPLETED:
                raise ReviewRefused(["The review is already completed; it can no longer be changed."])
            before = _snapshot(pir)
            for field, value in cleaned.items():
                setattr(pir, field, value)
            if complete:
                missing = {}
                if not pir.success_criteria:
                    missing["success_criteria"] = "Say whether the success criteria were met."
                if pir.downtime_minutes is None:
                    missing["downtime_minutes"] = "Give the downtime in minutes (0 if none)."
                for field in REQUIRED_TO_COMPLETE:
                    if not getattr(pir, field):
                        missing[field] = "This field is required to complete the review."
                if missing:
                    raise ValidationError(missing)
                pir.status = PostImplementationReview.Status.COMPLETED
                pir.completed_by, pir.completed_at = by, clock.now()
            pir.updated_at = clock.now()
            pir.save()
            b, a = field_diff(before, _snapshot(pir))
            audit_append(action="pir.complete" if complete else "pir.save", actor=by, obj=pir, before=b,
                         after=a, data={"request": request.reference})
            return pir
    except ReviewRefused as exc:
        _refuse(exc.reasons, action="pir.refused", by=by, request=request)


def followup_add(*, request: UpgradeRequest, by, title: str, owner, due_date,
                 priority: str = "medium") -> BacklogItem:
    """A follow-up action of the review: becomes a backlog item with its owner and due date."""
    errors: dict = {}
    title = clean_text(errors, "title", title, required=True, max_length=300)
    if owner is None:
        errors["owner"] = "Choose who owns the follow-up."
    if not isinstance(due_date, dt.date):
        errors["due_date"] = "Give the due date (YYYY-MM-DD)."
    if priority not in BacklogItem.Priority.values:
        errors["priority"] = "Choose low, medium or high."
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            request = _lock(request)
            reasons = may_write(by, request)
            if request.state not in REVIEW_STATES:
                reasons.append("Follow-up actions are added to the review of a completed, rolled back or "
                               "failed request.")
            if reasons:
                raise ReviewRefused(reasons)
            pir = _get_or_open(request, by)
            item = BacklogItem.objects.create(
                request=request, review=pir, kind=BacklogItem.Kind.FOLLOW_UP, title=title, owner=owner,
                due_date=due_date, priority=priority, created_by=by, created_at=clock.now())
            audit_append(action="backlog.add", actor=by, obj=item,
                         after={"title": title, "owner": owner.get_username(), "due_date": due_date,
                                "priority": priority, "request": request.reference})
            return item
    except ReviewRefused as exc:
        _refuse(exc.reasons, action="backlog.refused", by=by, request=request)


def close_reasons(request: UpgradeRequest) -> list[str]:
    """The gate on `close`: a completed post-implementation review."""
    pir = PostImplementationReview.objects.filter(request=request).only("status").first()
    if pir is None:
        return ["Write the post-implementation review (success criteria, downtime, incidents, lessons)."]
    if pir.status != PostImplementationReview.Status.COMPLETED:
        return ["Complete the post-implementation review."]
    return []
