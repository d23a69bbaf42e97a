"""Incidents linked to an upgrade request: opened and closed by the people working on it."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from apps.accounts import duties
from apps.accounts.choices import Duty
from apps.audit.services import audit_append
from apps.core import clock
from apps.core.validation import clean_text
from apps.upgrades.models import UpgradeRequest

from .models import Incident, Severity

MAX_TEXT = 5000
INCIDENT_DUTIES = (Duty.IMPLEMENTER, Duty.VALIDATOR, Duty.REQUESTER)


def _clean(data: dict, *, partial: bool = False) -> dict:
    errors: dict = {}
    cleaned: dict = {}
    if not partial or "title" in data:
        cleaned["title"] = clean_text(errors, "title", data.get("title"), required=True, max_length=200)
    if not partial or "severity" in data:
        if data.get("severity") not in Severity.values:
            errors["severity"] = f"Choose one of: {', '.join(Severity.values)}."
        cleaned["severity"] = data.get("severity")
    for key in ("impact", "escalation_path", "contacts"):
        if not partial or key in data:
            cleaned[key] = clean_text(errors, key, data.get(key), required=False, max_length=MAX_TEXT)
    if not partial or "runbook_url" in data:
        url = clean_text(errors, "runbook_url", data.get("runbook_url"), required=False, max_length=500)
        if url and "runbook_url" not in errors:
            try:
                URLValidator(schemes=["http", "https"])(url)
            except ValidationError:
                errors["runbook_url"] = "Enter a web address starting with https:// or http://."
        cleaned["runbook_url"] = url
    if not partial or "impact_minutes" in data:
        minutes = data.get("impact_minutes", 0)
        if minutes in (None, ""):
            minutes = 0
        try:
            minutes = int(minutes)
            if isinstance(data.get("impact_minutes"), bool) or minutes < 0 or minutes > 100000:
                raise ValueError
        except (TypeError, ValueError):
            errors["impact_minutes"] = "Give the unplanned downtime in whole minutes (0 to 100000)."
        cleaned["impact_minutes"] = minutes
    for key in ("started_at", "ended_at"):
        if key in data or (key == "started_at" and not partial):
            value = data.get(key)
            if value is None and key == "ended_at":
                cleaned[key] = None
                continue
            if value is None:
                value = clock.now()
            if not isinstance(value, dt.datetime) or value.tzinfo is None:
                errors[key] = "Enter a date and time with its time zone."
            else:
                cleaned[key] = value.astimezone(dt.UTC)
    start, end = cleaned.get("started_at"), cleaned.get("ended_at")
    if start and end and end < start and "ended_at" not in errors:
        errors["ended_at"] = "The incident must end after it starts."
    if errors:
        raise ValidationError(errors)
    return cleaned


def incident_may(by, request: UpgradeRequest) -> None:
    """Raise (and audit) unless `by` may record incidents on the request: its people, or an admin."""
    _may(by, request)


def _may(by, request: UpgradeRequest) -> None:
    if by.has_role("admin"):
        return
    duties.duty_required(by, request, *INCIDENT_DUTIES)  # audits the refusal


def incident_open(*, request: UpgradeRequest, by, **data) -> Incident:
    _may(by, request)
    cleaned = _clean(data)
    with transaction.atomic():
        request = UpgradeRequest.objects.select_for_update().get(pk=request.pk)
        incident = Incident.objects.create(request=request, opened_by=by, opened_at=clock.now(), **cleaned)
        audit_append(action="incident.open", actor=by, obj=request,
                     after={"incident": incident.pk, **{k: v for k, v in cleaned.items()}})
    return incident


def incident_update(*, incident: Incident, by, **data) -> Incident:
    """Close an incident (ended_at) or correct its impact; audited with the fields that changed."""
    _may(by, incident.request)
    cleaned = _clean(data, partial=True)
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        start = cleaned.get("started_at", incident.started_at)
        end = cleaned.get("ended_at", incident.ended_at)
        if end and end < start:
            raise ValidationError({"ended_at": "The incident must end after it starts."})
        before = {k: getattr(incident, k) for k in cleaned}
        for key, value in cleaned.items():
            setattr(incident, key, value)
        incident.save(update_fields=list(cleaned) or None)
        changed_before = {k: v for k, v in before.items() if v != cleaned[k]}
        audit_append(action="incident.update", actor=by, obj=incident.request,
                     before={"incident": incident.pk, **changed_before},
                     after={"incident": incident.pk, **{k: cleaned[k] for k in changed_before}})
    return incident


