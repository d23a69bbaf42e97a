"""Operational readiness: runbooks, service documentation and training to update; training records."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from apps.accounts import duties
from apps.accounts.choices import Duty, Role
from apps.audit.services import audit_append
from apps.core import clock
from apps.core.validation import clean_text
from apps.upgrades.choices import FINAL_STATES
from apps.upgrades.models import UpgradeRequest

from .models import ReadinessItem, TrainingRecord
from .pir import ReviewRefused, _lock, _refuse

MAX_FILE = 10 * 1024 * 1024


def may_track(user, request: UpgradeRequest) -> list[str]:
    """The requester and the implementer keep the readiness list; admins may help."""
    if user is None or not user.is_authenticated:
        return ["You must be signed in."]
    if user.has_role(Role.ADMIN):
        return []
    return duties.duty_check(user, request, Duty.REQUESTER, Duty.IMPLEMENTER)


def _open(request: UpgradeRequest, by) -> list[str]:
    reasons = may_track(by, request)
    if request.state in FINAL_STATES:
        reasons.append(f"{request.reference} is {request.get_state_display().lower()}; its readiness list is "
                       "frozen.")
    return reasons


def _clean_link(errors: dict, link) -> str:
    link = clean_text(errors, "link", link, required=False, max_length=500)
    if link and "link" not in errors:
        try:
            URLValidator(schemes=["http", "https"])(link)
        except ValidationError:
            errors["link"] = "Enter a full web address starting with https:// or http://."
    return link


def readiness_add(*, request: UpgradeRequest, by, kind: str, title: str) -> ReadinessItem:
    errors: dict = {}
    title = clean_text(errors, "title", title, required=True, max_length=200)
    if kind not in ReadinessItem.Kind.values:
        errors["kind"] = "Choose a disaster-recovery runbook, service documentation or training."
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            request = _lock(request)
            reasons = _open(request, by)
            if reasons:
                raise ReviewRefused(reasons)
            item = ReadinessItem.objects.create(request=request, kind=kind, title=title, created_by=by,
                                                created_at=clock.now())
            audit_append(action="readiness.add", actor=by, obj=item,
                         after={"kind": kind, "title": title, "request": request.reference})
            return item
    except ReviewRefused as exc:
        _refuse(exc.reasons, action="readiness.refused", by=by, request=request)


def readiness_confirm(*, item: ReadinessItem, by, link: str = "", upload=None) -> ReadinessItem:
    """Mark an item updated, with the link to it or the file itself; records who confirmed and when."""
    errors: dict = {}
    link = _clean_link(errors, link)
    if upload is not None and upload.size > MAX_FILE:
        errors["file"] = "The file is larger than 10 MB."
    if not link and upload is None and not errors:
        errors["link"] = "Give the link to the updated document, or attach the file."
    if errors:
        raise ValidationError(errors)
    request = item.request
    try:
        with transaction.atomic():
            request = _lock(request)
            item = ReadinessItem.objects.select_for_update().get(pk=item.pk)
            reasons = _open(request, by)
            if item.done:
                reasons.append("This item is already confirmed.")
            if reasons:
                raise ReviewRefused(reasons)
            item.link, item.done, item.confirmed_by, item.confirmed_at = link, True, by, clock.now()
            if upload is not None:
                item.file.save(upload.name[-100:], upload, save=False)
            item.save()
            audit_append(action="readiness.confirm", actor=by, obj=item, before={"done": False},
                         after={"done": True, "link": link, "file": item.file.name or ""})
            return item
    except ReviewRefused as exc:
        _refuse(exc.reasons, action="readiness.refused", by=by, request=request)


def training_record(*, request: UpgradeRequest, by, trainee, trained_on, topic: str) -> TrainingRecord:
    errors: dict = {}
    topic = clean_text(errors, "topic", topic, required=True, max_length=200)
    if trainee is None:
        errors["trainee"] = "Choose who was trained."
    if not isinstance(trained_on, dt.date):
        errors["trained_on"] = "Give the date of the training (YYYY-MM-DD)."
    elif trained_on > clock.now().date():
        errors["trained_on"] = "The training date cannot be in the future."
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            request = _lock(request)
            reasons = _open(request, by)
            if reasons:
                raise ReviewRefused(reasons)
            if TrainingRecord.objects.filter(request=request, trainee=trainee, topic=topic).exists():
                raise ValidationError({"trainee": "This person's training on this topic is already "
                                                  "recorded."})
            record = TrainingRecord.objects.create(request=request, trainee=trainee, trained_on=trained_on,
                                                   topic=topic, recorded_by=by, recorded_at=clock.now())
            audit_append(action="training.record", actor=by, obj=record,
                         after={"trainee": trainee.get_username(), "trained_on": trained_on, "topic": topic,
                                "request": request.reference})
            return record
    except ReviewRefused as exc:
        _refuse(exc.reasons, action="readiness.refused", by=by, request=request)


def readiness_reasons(request: UpgradeRequest) -> list[str]:
    """The gate on `close`: the readiness list given, and every item on it confirmed."""
    items = list(ReadinessItem.objects.filter(request=request))
    if not items:
        return ["List the disaster-recovery runbooks, service documentation and training to update."]
    return [f"Confirm that the {i.get_kind_display().lower()} \u201c{i.title}\u201d is updated "
            "(link or file)."
            for i in items if not i.done]
