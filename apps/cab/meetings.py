"""CAB meetings: schedule, build the agenda from the queue, record attendance and decisions, minutes as PDF.

Recording a decision on an agenda item is minutes, not a vote: a request is
approved only by signed votes (apps.cab.services). A "returned" decision takes
the request's return_to_planning transition with the notes as its reason, in the
same transaction as the minute.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse

from apps.accounts.choices import Role
from apps.accounts.models import User
from apps.audit.services import audit_append
from apps.core import clock
from apps.core.inbox import InboxItem
from apps.core.validation import clean_text
from apps.upgrades.choices import State
from apps.upgrades.models import UpgradeRequest

from .board import can_run_board, can_see_board, queue_list
from .models import AgendaDecision, AgendaItem, Attendance, Meeting, MeetingStatus

MAX_AGENDA = 100
PAST_GRACE = dt.timedelta(minutes=15)  # a meeting minuted as it starts is not "in the past"


def _require_board_writer(by, what: str, obj=None) -> None:
    if not can_run_board(by):
        audit_append(action="meeting.denied", actor=by if by and by.is_authenticated else None, obj=obj,
                     data={"action": what, "reason": "only CAB members and administrators run CAB meetings"})
        raise PermissionDenied("Only CAB members and administrators run CAB meetings.")


def _lock(meeting: Meeting) -> Meeting:
    return Meeting.objects.select_for_update().get(pk=meeting.pk)


def _snapshot(meeting: Meeting) -> dict:
    return {"title": meeting.title, "scheduled_at": meeting.scheduled_at.isoformat(),
            "duration_minutes": meeting.duration_minutes, "location": meeting.location,
            "emergency": meeting.emergency, "chair": meeting.chair.get_username(), "status": meeting.status}


def _clean_meeting(data: dict, *, now) -> dict:
    errors: dict = {}
    cleaned = {
        "title": clean_text(errors, "title", data.get("title"), required=True, max_length=160),
        "location": clean_text(errors, "location", data.get("location"), required=False, max_length=200),
    }
    when = data.get("scheduled_at")
    if not isinstance(when, dt.datetime):
        errors["scheduled_at"] = "Give the date and time of the meeting."
    elif when.tzinfo is None:
        errors["scheduled_at"] = "Give the time with its time zone."
    elif when < now - PAST_GRACE:
        errors["scheduled_at"] = "The meeting cannot be scheduled in the past."
    cleaned["scheduled_at"] = when
    minutes = data.get("duration_minutes", 60)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 5 <= minutes <= 24 * 60:
        errors["duration_minutes"] = "Give a length between 5 minutes and 24 hours."
    cleaned["duration_minutes"] = minutes
    chair = data.get("chair")
    if chair is None or not isinstance(chair, User) or not chair.is_active or not chair.has_role(Role.CAB_MEMBER):
        errors["chair"] = "The chair must be an active CAB member."
    cleaned["chair"] = chair
    cleaned["emergency"] = bool(data.get("emergency", False))
    if errors:
        raise ValidationError(errors)
    return cleaned


def meeting_create(*, by, title: str, scheduled_at, chair, duration_minutes: int = 60, location: str = "",
                   emergency: bool = False) -> Meeting:
    _require_board_writer(by, "create")
    now = clock.now()
    cleaned = _clean_meeting({"title": title, "scheduled_at": scheduled_at, "chair": chair, "location": location,
                              "duration_minutes": duration_minutes, "emergency": emergency}, now=now)
    with transaction.atomic():
        meeting = Meeting.objects.create(**cleaned, created_by=by, created_at=now)
        audit_append(action="meeting.create", actor=by, obj=meeting, after=_snapshot(meeting))
    return meeting


def meeting_minutes_save(*, meeting: Meeting, by, notes: str, status: str | None = None) -> Meeting:
    """The free-text minutes and whether the meeting was held (or cancelled)."""
    _require_board_writer(by, "minutes", meeting)
    errors: dict = {}
    notes = clean_text(errors, "notes", notes, required=False, max_length=50000)
    if status is not None and status not in MeetingStatus.values:
        errors["status"] = f"Choose one of: {', '.join(MeetingStatus.values)}."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        meeting = _lock(meeting)
        before = {"notes": meeting.notes, "status": meeting.status}
        meeting.notes = notes
        if status:
            meeting.status = status
        meeting.save(update_fields=["notes", "status"])
        audit_append(action="meeting.minutes", actor=by, obj=meeting, before=before,
                     after={"notes": meeting.notes, "status": meeting.status})
    return meeting


def _request_for_agenda(reference, by) -> UpgradeRequest:
    from apps.upgrades.selectors import upgrade_visible

    if not isinstance(reference, str) or not reference.strip() or "\x00" in reference or len(reference) > 20:
        raise ValidationError({"request": "Give the reference of a request in CAB review (e.g. UPG-2026-0042)."})
    request = upgrade_visible(by).filter(reference=reference.strip()).first()
    if request is None:
        raise ValidationError({"request": f"No request {reference.strip()} that you can see."})
    if request.state != State.CAB_REVIEW:
        raise ValidationError({"request": f"{request.reference} is {request.get_state_display().lower()}; "
                                          "only requests in CAB review go on the agenda."})
    return request


def agenda_add(*, meeting: Meeting, by, reference: str) -> AgendaItem:
    _require_board_writer(by, "agenda_add", meeting)
    request = _request_for_agenda(reference, by)
    with transaction.atomic():
        meeting = _lock(meeting)
        if meeting.status != MeetingStatus.PLANNED:
            raise ValidationError({"request": f"The meeting is {meeting.get_status_display().lower()}; "
                                              "its agenda is closed."})
        if meeting.items.filter(request=request).exists():
            raise ValidationError({"request": f"{request.reference} is already on the agenda."})
        if meeting.items.count() >= MAX_AGENDA:
            raise ValidationError({"request": f"An agenda holds at most {MAX_AGENDA} items."})
        position = (meeting.items.aggregate(m=Max("position"))["m"] or 0) + 1
        item = AgendaItem.objects.create(meeting=meeting, request=request, position=position)
        audit_append(action="meeting.agenda_add", actor=by, obj=meeting,
                     after={"request": request.reference, "position": position})
    return item


def agenda_from_queue(*, meeting: Meeting, by) -> list[AgendaItem]:
    """Put every request of the CAB queue that is not yet on the agenda onto it, oldest first."""
    _require_board_writer(by, "agenda_from_queue", meeting)
    with transaction.atomic():
        meeting = _lock(meeting)
        if meeting.status != MeetingStatus.PLANNED:
            raise ValidationError({"request": f"The meeting is {meeting.get_status_display().lower()}; "
                                              "its agenda is closed."})
        present = set(meeting.items.values_list("request_id", flat=True))
        queued = [(pk, ref) for pk, ref in queue_list(user=by).values_list("pk", "reference")
                  if pk not in present]
        queued = queued[:max(MAX_AGENDA - len(present), 0)]
        position = meeting.items.aggregate(m=Max("position"))["m"] or 0
        AgendaItem.objects.bulk_create(
            [AgendaItem(meeting=meeting, request_id=pk, position=position + i) for i, (pk, _) in enumerate(queued, 1)])
        items = list(meeting.items.filter(request_id__in=[pk for pk, _ in queued]).select_related("request"))
        audit_append(action="meeting.agenda_from_queue", actor=by, obj=meeting,
                     after={"added": [ref for _, ref in queued]})
    return items


def attendance_record(*, meeting: Meeting, by, user, delegate_for=None, present: bool = True) -> Attendance:
    """Record who attended (and for whom a delegate sat in); recording again updates the row."""
    _require_board_writer(by, "attendance", meeting)
    errors: dict = {}
    if user is None or not isinstance(user, User) or not user.is_active:
        errors["user"] = "Choose an active user."
    elif not user.has_role(Role.CAB_MEMBER):
        errors["user"] = f"{user.get_username()} is not a CAB member."
    if delegate_for is not None:
        if not isinstance(delegate_for, User) or not delegate_for.has_role(Role.CAB_MEMBER):
            errors["delegate_for"] = "A delegate stands in for a CAB member."
        elif user is not None and delegate_for.pk == getattr(user, "pk", None):
            errors["delegate_for"] = "Someone cannot be their own delegate."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        meeting = _lock(meeting)
        if meeting.status == MeetingStatus.CANCELLED:
            raise ValidationError({"user": "The meeting was cancelled."})
        row = Attendance.objects.filter(meeting=meeting, user=user).first()
        before = ({"present": row.present, "delegate_for": row.delegate_for.get_username() if row.delegate_for else None}
                  if row else None)
        if row is None:
            row = Attendance.objects.create(meeting=meeting, user=user, delegate_for=delegate_for, present=present)
        else:
            row.delegate_for, row.present = delegate_for, present
            row.save(update_fields=["delegate_for", "present"])
        audit_append(action="meeting.attendance", actor=by, obj=meeting, before=before,
                     after={"user": user.get_username(), "present": present,
                            "delegate_for": delegate_for.get_username() if delegate_for else None})
    return row


def agenda_decide(*, item: AgendaItem, by, decision: str, notes: str = "") -> AgendaItem:
    """Minute the board's decision on one agenda item. "returned" sends the request back to planning."""
    _require_board_writer(by, "agenda_decide", item.meeting)
    errors: dict = {}
    notes = clean_text(errors, "notes", notes, required=decision == AgendaDecision.RETURNED, max_length=5000)
    if decision not in AgendaDecision.values or decision == AgendaDecision.PENDING:
        errors["decision"] = "Choose what the board decided."
    if decision == AgendaDecision.RETURNED and "notes" in errors and errors["notes"] == "This field is required.":
        errors["notes"] = "Say why the request goes back to planning (the requester reads it)."
    if errors:
        raise ValidationError(errors)
    from apps.upgrades.services import TransitionRefused

    try:
        return _agenda_decide(item=item, by=by, decision=decision, notes=notes)
    except TransitionRefused as exc:  # the transition's own refusal event rolled back with this transaction
        audit_append(action="upgrade.transition_refused", actor=by, obj=item.request,
                     data={"transition": exc.transition, "reasons": exc.reasons, "via": "cab meeting"})
        raise


def _agenda_decide(*, item: AgendaItem, by, decision: str, notes: str) -> AgendaItem:
    from apps.upgrades.services import upgrade_transition

    with transaction.atomic():
        _lock(item.meeting)
        item = AgendaItem.objects.select_for_update().select_related("request", "meeting").get(pk=item.pk)
        if item.meeting.status == MeetingStatus.CANCELLED:
            raise ValidationError({"decision": "The meeting was cancelled."})
        before = {"decision": item.decision, "notes": item.notes}
        if decision == AgendaDecision.RETURNED and item.decision != AgendaDecision.RETURNED:
            upgrade_transition(request=item.request, by=by, transition="return_to_planning", reason=notes)
        item.decision, item.notes, item.decided_at = decision, notes, clock.now()
        item.save(update_fields=["decision", "notes", "decided_at"])
        audit_append(action="meeting.agenda_decide", actor=by, obj=item.meeting, before=before,
                     after={"request": item.request.reference, "decision": decision, "notes": notes})
    return item


def minutes_pdf(*, meeting: Meeting, by) -> bytes:
    """The minutes as PDF (the download is audited)."""
    from apps.core.pdf import render_pdf

    if not can_see_board(by):
        raise PermissionDenied("Only CAB members, administrators and auditors read CAB minutes.")
    meeting = meeting_get(pk=meeting.pk, user=by)
    html = render_to_string("cab/meetings/minutes_pdf.html", {
        "meeting": meeting, "items": list(meeting.items.all()), "attendance": list(meeting.attendance.all()),
        "generated_at": clock.now(), "generated_by": by,
    })
    pdf = render_pdf(html)
    audit_append(action="meeting.minutes_downloaded", actor=by, obj=meeting, data={"bytes": len(pdf)})
    return pdf


# --- reads ------------------------------------------------------------------------------------------------


def meeting_list(*, user, when: str = "") -> QuerySet:
    if not can_see_board(user):
        return Meeting.objects.none()
    qs = Meeting.objects.select_related("chair").annotate(
        item_count=Count("items", distinct=True),
        attendee_count=Count("attendance", filter=Q(attendance__present=True), distinct=True),
    )
    now = clock.now()
    if when == "upcoming":
        qs = qs.filter(scheduled_at__gte=now - dt.timedelta(hours=12)).order_by("scheduled_at", "pk")
    elif when == "past":
        qs = qs.filter(scheduled_at__lt=now).order_by("-scheduled_at", "-pk")
    else:
        qs = qs.order_by("-scheduled_at", "-pk")
    return qs


def meeting_get(*, pk, user) -> Meeting:
    from django.db.models import Prefetch

    if not can_see_board(user):
        raise Http404("No such meeting.")
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404("No such meeting.") from None
    meeting = (Meeting.objects.select_related("chair", "created_by")
               .prefetch_related(
                   Prefetch("items", queryset=AgendaItem.objects.select_related("request", "request__assessment")
                            .order_by("position")),
                   Prefetch("attendance", queryset=Attendance.objects.select_related("user", "delegate_for")))
               .filter(pk=pk).first())
    if meeting is None:
        raise Http404("No such meeting.")
    return meeting


def agenda_item_get(*, meeting: Meeting, pk) -> AgendaItem:
    try:
        return AgendaItem.objects.select_related("request", "meeting").get(meeting=meeting, pk=int(pk))
    except (TypeError, ValueError, AgendaItem.DoesNotExist):
        raise Http404("No such agenda item.") from None


def inbox_meetings(user) -> list[InboxItem]:
    """Planned meetings this user chairs that are still ahead."""
    if not user.has_role(Role.CAB_MEMBER):
        return []
    rows = (Meeting.objects.filter(chair=user, status=MeetingStatus.PLANNED, scheduled_at__gte=clock.now())
            .annotate(item_count=Count("items")).order_by("scheduled_at")[:20])
    return [InboxItem(kind="CAB meeting to chair", title=m.title, url=reverse("cab_board:meeting", args=[m.pk]),
                      detail=f"{m.item_count} item{'s' if m.item_count != 1 else ''} on the agenda",
                      due=m.scheduled_at)
            for m in rows]


def seed_meeting_before_approve(*, request, by, users: dict) -> None:
    """Demo: the CAB meets on the day it approves a request and minutes it (the votes still decide).

    Only where the demo's board exists (two CAB members or more), so the tests' single approver
    drives requests without meetings appearing."""
    cab = sorted((u for u in users.values() if u is not None and u.is_active and u.has_role(Role.CAB_MEMBER)),
                 key=lambda u: u.username)
    if len(cab) < 2 or request.state != State.CAB_REVIEW:
        return
    now = clock.now()
    meeting = meeting_create(by=cab[0], title=f"CAB meeting {now:%d %b %Y}: {request.reference}",
                             scheduled_at=now, chair=cab[0], location="Board room and video call")
    item = agenda_add(meeting=meeting, by=cab[0], reference=request.reference)
    for member in cab[:3]:
        attendance_record(meeting=meeting, by=cab[0], user=member)
    agenda_decide(item=item, by=cab[0], decision=AgendaDecision.APPROVED,
                  notes="Discussed; members sign their votes on the review page.")
    meeting_minutes_save(meeting=meeting, by=cab[0], status=MeetingStatus.HELD,
                         notes=f"{request.reference} reviewed: plan, backout and conflicts read out.")


def register() -> None:
    """Registers inbox providers of the CAB board (called from apps.cab.apps.ready())."""
    from apps.core import inbox

    from .exceptions import inbox_freeze_exceptions

    inbox.register("cab.freeze_exceptions", inbox_freeze_exceptions)
    inbox.register("cab.meetings", inbox_meetings)
    from apps.core.seed import register_before

    register_before("approve", seed_meeting_before_approve)
