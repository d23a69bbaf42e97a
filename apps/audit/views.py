"""Auditor pages: the trail with filters and its verification, one event, checkpoint export."""

import json

from django import forms
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.views.decorators.http import require_GET, require_POST

from . import selectors
from .access import role_required
from .models import AuditEvent
from .paging import CappedPaginator
from .services import audit_checkpoint_export

PAGE_SIZE = 50
SEQ_MAX = 2**63 - 1  # the column is a 64-bit integer


class AuditFilterForm(forms.Form):
    action = forms.CharField(required=False, max_length=80, label="Action")
    actor = forms.CharField(required=False, max_length=150, label="Actor (username)")
    object_type = forms.CharField(required=False, max_length=80, label="Object type")
    object = forms.CharField(
        required=False, max_length=300, label="Object (id or name)", help_text="e.g. 42 or UPG-2026-0042"
    )
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        for name in ("date_from", "date_to"):
            day = data.get(name)
            if day is not None and not (selectors.DATE_MIN <= day <= selectors.DATE_MAX):
                self.add_error(name, f"Use a date between {selectors.DATE_MIN} and {selectors.DATE_MAX}.")
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "“To” must not be before “From”.")
        return data


def _verification_context() -> dict:
    verification, verified_from, verified_at = selectors.chain_verification()
    # an OK walk has just read every checkpoint: the latest comes with it
    checkpoint = verification.latest_checkpoint if verification.ok else selectors.audit_latest_checkpoint()
    return {"verification": verification, "verified_from": verified_from, "verified_at": verified_at,
            "checkpoint": checkpoint}


_SEQ_MARK = 918273645  # stands for the event's number in the one reversed detail URL


def _rows(events) -> list[dict]:
    """What each row shows, worked out once here so the template only prints: a {% url %} and two |date
    per row were most of a 50-row page's time, and a dict's keys resolve faster than a model's attributes.
    Times are in the reader's zone, exactly as |date prints them."""
    prefix, suffix = reverse("audit:detail", args=[_SEQ_MARK]).split(str(_SEQ_MARK))
    zone = timezone.get_current_timezone()
    months = {}
    rows = []
    for event in events:
        local = event.created_at.astimezone(zone)
        if local.month not in months:
            months[local.month] = str(MONTHS_3[local.month]).title()  # |date:"M"
        rows.append({
            "seq": str(event.seq),
            "url": f"{prefix}{event.seq}{suffix}",
            "time_iso": local.isoformat(),  # |date:"c"
            "time_text": f"{local.day} {months[local.month]} {local.year}, {local:%H:%M:%S} {local.tzname()}",
            "actor_username": event.actor_username,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "object_repr": event.object_repr,
            "ip": event.ip,
            "changes": selectors.event_changes(event),
            "details": selectors.event_data(event),
        })
    return rows


@require_GET
@role_required(*selectors.AUDIT_ROLES)
def event_list(request):
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        events = AuditEvent.objects.none()
    else:
        filters = form.cleaned_data if form.is_bound else {}
        events = selectors.audit_event_list(filters=filters)
    page = CappedPaginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    actions, object_types = selectors.audit_filter_choices()
    context = {
        "form": form,
        "page": page,
        "rows": _rows(page.object_list),
        "actions": actions,
        "object_types": object_types,
        "query": query.urlencode(),
        "filtered": form.is_bound and any(request.GET.get(name) for name in form.fields),
        **_verification_context(),
    }
    return render(request, "audit/event_list.html", context)


@require_GET
@role_required(*selectors.AUDIT_ROLES)
def event_detail(request, seq: int):
    try:
        if seq > SEQ_MAX:
            raise AuditEvent.DoesNotExist
        event = selectors.audit_event_get(seq=seq)
    except AuditEvent.DoesNotExist:
        raise Http404("No audit event with this number.") from None
    context = {
        "event": event,
        "changes": selectors.event_changes(event, limit=None),
        "details": selectors.event_data(event, limit=None),
        "previous_exists": AuditEvent.objects.filter(seq=seq - 1).exists(),
        "next_exists": AuditEvent.objects.filter(seq=seq + 1).exists(),
    }
    return render(request, "audit/event_detail.html", context)


@require_POST
@role_required(*selectors.AUDIT_ROLES)
def checkpoint(request):
    exported = audit_checkpoint_export(actor=request.user)
    context = {"exported": exported, "exported_json": json.dumps(exported, indent=2),
               **_verification_context()}
    return render(request, "audit/checkpoint.html", context)
