"""The CAB board pages: queue, review page, meetings, freeze exception decisions. Writes call services."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts.choices import Role
from apps.accounts.duties import DutyRefused
from apps.audit.access import role_required
from apps.upgrades.choices import RiskClass, State
from apps.upgrades.selectors import can_contribute, upgrade_get
from apps.upgrades.services import TransitionRefused, comment_add, upgrade_transition

from . import board, exceptions, meetings
from .forms_board import (AgendaAddForm, AttendanceForm, CommentForm, DecisionForm, ExceptionDecisionForm,
                          MeetingForm, MinutesForm, ReturnForm)
from .models import AgendaDecision, MeetingStatus

BOARD = (Role.CAB_MEMBER, Role.ADMIN, Role.AUDITOR)
WRITERS = (Role.CAB_MEMBER, Role.ADMIN)


def _errors_into(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errs in exc.error_dict.items():
            target = field if field in form.fields else None
            for e in errs:
                for m in e.messages:
                    form.add_error(target, m)
    else:
        for m in exc.messages:
            form.add_error(None, m)


# --- queue and review page -------------------------------------------------------------------------------


@role_required(*BOARD)
def queue(request):
    filters = {"risk_class": request.GET.get("risk_class", "") if request.GET.get("risk_class") in RiskClass.values
               else "", "awaiting": request.GET.get("awaiting") == "1"}
    rows = board.queue_rows(user=request.user, filters=filters)
    return render(request, "cab/board/queue.html", {
        "rows": rows, "filters": filters, "risk_classes": RiskClass.choices,
        "is_member": request.user.has_role(Role.CAB_MEMBER),
    })


def _review_page(request, upgrade, *, comment_form=None, return_form=None, status=200):
    context = board.review_context(request=upgrade, user=request.user)
    is_member = request.user.has_role(Role.CAB_MEMBER)
    context.update({
        "comment_form": comment_form or CommentForm(),
        "return_form": return_form or ReturnForm(),
        "can_comment": can_contribute(request.user, upgrade) and not request.user.has_role(Role.AUDITOR),
        "can_return": is_member and upgrade.state == State.CAB_REVIEW,
        "in_review": upgrade.state == State.CAB_REVIEW,
    })
    return render(request, "cab/board/review.html", context, status=status)


@login_required
def review(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    return _review_page(request, upgrade)


@login_required
@require_POST
def review_comment(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment_add(request=upgrade, by=request.user, body=form.cleaned_data["body"])
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, "Your comment was posted; the requester is notified.")
            return redirect(reverse("cab_board:review", args=[reference]) + "#comments")
    return _review_page(request, upgrade, comment_form=form, status=400)


@login_required
@require_POST
def review_return(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    form = ReturnForm(request.POST)
    if form.is_valid():
        try:
            upgrade_transition(request=upgrade, by=request.user, transition="return_to_planning",
                               reason=form.cleaned_data["reason"])
        except TransitionRefused as exc:
            for reason in exc.reasons:
                form.add_error(None, reason)
        else:
            messages.success(request, f"{upgrade.reference} went back to planning; the requester is notified.")
            return redirect("cab_board:queue")
    return _review_page(request, upgrade, return_form=form, status=400)


# --- meetings --------------------------------------------------------------------------------------------


@role_required(*BOARD)
def meeting_list(request):
    when = request.GET.get("when", "upcoming")
    if when not in ("upcoming", "past", "all"):
        when = "upcoming"
    rows = list(meetings.meeting_list(user=request.user, when="" if when == "all" else when)[:200])
    return render(request, "cab/meetings/list.html", {
        "rows": rows, "when": when, "can_write": board.can_run_board(request.user)})


@role_required(*WRITERS)
def meeting_create(request):
    if request.method == "POST":
        form = MeetingForm(request.POST)
        if form.is_valid():
            try:
                meeting = meetings.meeting_create(by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                messages.success(request, "Meeting scheduled. Next: build its agenda from the queue.")
                return redirect("cab_board:meeting", pk=meeting.pk)
        return render(request, "cab/meetings/form.html", {"form": form}, status=400)
    return render(request, "cab/meetings/form.html", {"form": MeetingForm(initial={"chair": request.user.pk})})


def _meeting_page(request, meeting, *, forms=None, status=200):
    forms = forms or {}
    writer = board.can_run_board(request.user)
    items = list(meeting.items.all())
    for item in items:
        item.form = forms.get(("decide", item.pk)) or DecisionForm(
            initial={"decision": item.decision if item.decision != AgendaDecision.PENDING else "",
                     "notes": item.notes}, prefix=f"item{item.pk}")
    return render(request, "cab/meetings/detail.html", {
        "meeting": meeting, "items": items, "attendance": list(meeting.attendance.all()),
        "can_write": writer,
        "open": meeting.status == MeetingStatus.PLANNED,
        "agenda_form": forms.get("agenda") or AgendaAddForm(),
        "attendance_form": forms.get("attendance") or AttendanceForm(),
        "minutes_form": forms.get("minutes") or MinutesForm(initial={"notes": meeting.notes,
                                                                     "status": meeting.status}),
        "queue_count": (board.queue_list(user=request.user).exclude(pk__in=[i.request_id for i in items]).count()
                        if writer else 0),
    }, status=status)


@role_required(*BOARD)
def meeting_detail(request, pk):
    meeting = meetings.meeting_get(pk=pk, user=request.user)
    return _meeting_page(request, meeting)


def _back(meeting, anchor=""):
    return redirect(reverse("cab_board:meeting", args=[meeting.pk]) + anchor)


@role_required(*WRITERS)
@require_POST
def meeting_agenda_add(request, pk):
    meeting = meetings.meeting_get(pk=pk, user=request.user)
    form = AgendaAddForm(request.POST)
    if form.is_valid():
        try:
            item = meetings.agenda_add(meeting=meeting, by=request.user, reference=form.cleaned_data["request"])
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, f"{item.request.reference} is on the agenda.")
            return _back(meeting, "#agenda")
    return _meeting_page(request, meetings.meeting_get(pk=pk, user=request.user), forms={"agenda": form},
                         status=400)


@role_required(*WRITERS)
@require_POST
def meeting_agenda_from_queue(request, pk):
    meeting = meetings.meeting_get(pk=pk, user=request.user)
    try:
        added = meetings.agenda_from_queue(meeting=meeting, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(m for e in getattr(exc, "error_dict", {}).values() for x in e
                                         for m in x.messages) or " ".join(exc.messages))
    else:
        messages.success(request, f"{len(added)} request{'s' if len(added) != 1 else ''} from the queue added."
                         if added else "Every request of the queue is already on the agenda.")
    return _back(meeting, "#agenda")


@role_required(*WRITERS)
@require_POST
def meeting_attendance(request, pk):
    meeting = meetings.meeting_get(pk=pk, user=request.user)
    form = AttendanceForm(request.POST)
    if form.is_valid():
        try:
            meetings.attendance_record(meeting=meeting, by=request.user, user=form.cleaned_data["user"],
                                       delegate_for=form.cleaned_data["delegate_for"],
                                       present=form.cleaned_data["present"])
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, "Attendance recorded.")
            return _back(meeting, "#attendance")
    return _meeting_page(request, meetings.meeting_get(pk=pk, user=request.user), forms={"attendance": form},
                         status=400)


@role_required(*WRITERS)
@require_POST
def meeting_decide(request, pk, item_pk):
    meeting = meetings.meeting_get(pk=pk, user=request.user)
    item = meetings.agenda_item_get(meeting=meeting, pk=item_pk)
    form = DecisionForm(request.POST, prefix=f"item{item.pk}")
    if form.is_valid():
        try:
            meetings.agenda_decide(item=item, by=request.user, decision=form.cleaned_data["decision"],
                                   notes=form.cleaned_data["notes"])
        except ValidationError as exc:
            _errors_into(form, exc)
        except TransitionRefused as exc:
            for reason in exc.reasons:
                form.add_error(None, reason)
        else:
            messages.success(request, f"Decision on {item.request.reference} minuted.")
            return _back(meeting, f"#item-{item.pk}")
    return _meeting_page(request, meetings.meeting_get(pk=pk, user=request.user),
                         forms={("decide", item.pk): form}, status=400)


@role_required(*WRITERS)
@require_POST
def meeting_minutes(request, pk):
    meeting = meetings.meeting_get(pk=pk, user=request.user)
    form = MinutesForm(request.POST)
    if form.is_valid():
        try:
            meetings.meeting_minutes_save(meeting=meeting, by=request.user, notes=form.cleaned_data["notes"],
                                          status=form.cleaned_data["status"])
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, "Minutes saved.")
            return _back(meeting, "#minutes")
    return _meeting_page(request, meetings.meeting_get(pk=pk, user=request.user), forms={"minutes": form},
                         status=400)


@role_required(*BOARD)
def meeting_pdf(request, pk):
    meeting = meetings.meeting_get(pk=pk, user=request.user)
    pdf = meetings.minutes_pdf(meeting=meeting, by=request.user)
    response = HttpResponse(pdf, content_type="application/pdf")
    stamp = meeting.scheduled_at.astimezone(dt.UTC).strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="cab-minutes-{stamp}-{meeting.pk}.pdf"'
    return response


# --- freeze exceptions -----------------------------------------------------------------------------------


@login_required
def exception_list(request):
    if not request.user.has_role(*BOARD) and not exceptions.in_emergency_team(request.user):
        raise PermissionDenied("This page is for the CAB and the emergency CAB.")
    rows = list(exceptions.exceptions_list(user=request.user)[:200])
    waiting = set(exceptions.awaiting_decision(request.user).values_list("pk", flat=True))
    for row in rows:
        row.yours = row.pk in waiting
    return render(request, "cab/board/exceptions.html", {"rows": rows})


def _exception_page(request, exc_obj, *, form=None, status=200):
    blockers = exceptions.can_decide_reasons(exception=exc_obj, user=request.user) if exc_obj.status == "requested" \
        else []
    return render(request, "cab/board/exception.html", {
        "exception": exc_obj, "upgrade": exc_obj.request, "blockers": blockers,
        "form": form or ExceptionDecisionForm(),
        "emergency": exc_obj.request.risk_class == RiskClass.EMERGENCY,
    }, status=status)


@login_required
def exception_detail(request, pk):
    exc_obj = exceptions.exception_get(user=request.user, pk=pk)
    if request.method != "POST":
        return _exception_page(request, exc_obj)
    form = ExceptionDecisionForm(request.POST)
    if form.is_valid():
        try:
            exceptions.freeze_exception_decide(
                exception=exc_obj, by=request.user, approve=form.cleaned_data["decision"] == "approve",
                reason=form.cleaned_data["reason"], password=form.cleaned_data["password"])
        except DutyRefused as refused:
            for reason in refused.reasons:
                form.add_error(None, reason)
            return _exception_page(request, exc_obj, form=form, status=403)
        except ValidationError as err:
            _errors_into(form, err)
        else:
            messages.success(request, "Decision signed and recorded.")
            return redirect("cab_board:exception", pk=exc_obj.pk)
    return _exception_page(request, exceptions.exception_get(user=request.user, pk=pk), form=form, status=400)
