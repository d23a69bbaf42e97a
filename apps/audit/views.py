"""Auditor pages: the trail with filters and its verification, one event, checkpoint export."""

import json

from django import forms
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from . import selectors
from .access import role_required
from .models import AuditEvent
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
    return {"verification": verification, "verified_from": verified_from, "verified_at": verified_at,
            "checkpoint": selectors.audit_latest_checkpoint()}


@require_GET
@role_required(*selectors.AUDIT_ROLES)
def event_list(request):
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        events = AuditEvent.objects.none()
    else:
        filters = form.cleaned_data if form.is_bound else {}
        events = selectors.audit_event_list(filters=filters)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    for event in page.object_list:
        event.changes = selectors.event_changes(event)
        event.details = selectors.event_data(event)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "actions": selectors.audit_actions(),
        "object_types": selectors.audit_object_types(),
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
