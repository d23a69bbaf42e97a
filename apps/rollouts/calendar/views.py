"""The change calendar pages: month and week views, freezes, approved windows, a request's schedule checks,
calendar feeds and the token-protected iCalendar feed itself. Writes call services; reads use selectors."""

import bisect
import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone as djtz
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from apps.accounts import duties
from apps.accounts.choices import Duty, Role
from apps.audit.access import role_required
from apps.core import clock
from apps.upgrades.choices import FINAL_STATES
from apps.upgrades.selectors import upgrade_get, upgrade_visible

from ..models import ApprovedWindow, CalendarFeed, Conflict, ConflictKind, ConflictStatus, Freeze
from . import ical, selectors, services, windows
from .forms import (
    AcceptForm,
    ApprovedWindowForm,
    ExceptionForm,
    FeedForm,
    FilterForm,
    FreezeForm,
    LiftForm,
    month_start,
)

MANAGERS = (Role.ADMIN, Role.CHANGE_MANAGER)
FEED_PAST = dt.timedelta(days=31)
FEED_AHEAD = dt.timedelta(days=400)


def _errors_to_form(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _zone_name() -> str:
    return djtz.get_current_timezone_name()


# --- month and week -----------------------------------------------------------------------------------


def _filters(request):
    form = FilterForm(request.GET or None)
    filters, errors = selectors.calendar_filters(request.GET)
    for key, message in errors.items():
        form.is_valid()
        form.add_error(key, message) if key in form.fields else None
    query = urlencode({k: v for k, v in request.GET.items() if k in selectors.FILTER_KEYS and v})
    return form, filters, errors, query


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _moment(local: dt.datetime) -> str:
    """As the date filter's "D j M H:i" writes it (English, as the pages are)."""
    return f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local:%H:%M}"


def _by_day(entries, first: dt.date, last: dt.date, tz) -> dict:
    """{day: its entries}; each entry also gets its local times as the pages write them (drawing a hundred or
    more entries, the date filters cost more than the rest of the page)."""
    days: dict[dt.date, list] = {}
    for entry in entries:
        start, end = entry.start.astimezone(tz), entry.end.astimezone(tz)
        entry.span = f"{start:%H:%M}–{end:%H:%M}"
        entry.when = f"{_moment(start)} – {_moment(end)} {end.tzname() or ''}".rstrip()
        begin = max(entry.start.astimezone(tz).date(), first)
        end = min((entry.end - dt.timedelta(microseconds=1)).astimezone(tz).date(), last)
        day = begin
        while day <= end:
            days.setdefault(day, []).append(entry)
            day += dt.timedelta(days=1)
    return days


MONTH_DAY_LIMIT = 4


def _day_bounds(first: dt.date, last: dt.date, tz) -> list[float]:
    """The Unix seconds of local midnight starting each day from `first` to the day after `last`."""
    return [dt.datetime.combine(first + dt.timedelta(days=i), dt.time(0), tzinfo=tz).timestamp()
            for i in range((last - first).days + 2)]


def _month_choice(keys: list[tuple], first: dt.date, last: dt.date, tz,
                  limit: int = MONTH_DAY_LIMIT) -> tuple[dict, dict]:
    """Per day of the grid: the (request id, wave id) of the first `limit` windows, and how many there are.
    Only those are loaded in full and drawn: a busy organisation books thousands of windows a month."""
    shown: dict[dt.date, set] = {}
    counts: dict[dt.date, int] = {}
    bounds = _day_bounds(first, last, tz)
    days = len(bounds) - 1
    for start, end, _ref, request_id, wave_id, _pos in keys:
        index = max(bisect.bisect_right(bounds, start) - 1, 0)
        until = min(bisect.bisect_left(bounds, end) - 1, days - 1)  # the window's end is not part of it
        while index <= until:
            day = first + dt.timedelta(days=index)
            counts[day] = counts.get(day, 0) + 1
            if counts[day] <= limit:
                shown.setdefault(day, set()).add((request_id, wave_id))
            index += 1
    return shown, counts


def _day_cell(entries: list, shown: set, count: int, limit: int = MONTH_DAY_LIMIT) -> tuple[list, int]:
    """A day of the month or week: every freeze, the day's chosen windows, and how many more ("+N more")."""
    cell = [e for e in entries if e.kind == "freeze" or (e.request.pk, e.wave.pk if e.wave else None) in shown]
    return cell, max(0, count - limit)


_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December")


def _month_entry(entry) -> str:
    """One entry of a month cell, as partials/entry.html draws it without times."""
    if entry.kind == "freeze":
        return f'<li class="freeze" title="{escape(entry.description)}">❄ {escape(entry.title)}</li>\n'
    wave = f" {escape(entry.wave.name)}" if entry.wave else ""
    return (f'<li class="window risk-{escape(entry.request.risk_class)}"><a href="{escape(entry.url)}">'
            f'{escape(entry.request.reference)}</a>{wave}\n  <span class="small">{escape(entry.span)}</span></li>\n')


def _month_cell(day: dt.date, in_month: bool, is_today: bool, entries: list, more: int, day_url: str,
                query: str) -> str:
    """One day of the month grid as HTML: 42 cells and a hundred or more entries drawn by the template engine
    (an include per entry, three date filters per day) cost twice the rest of the page."""
    classes = ("" if in_month else "other-month") + (" today" if is_today else "")
    today = ' <span class="visually-hidden">(today)</span>' if is_today else ""
    listed = f'<ul class="cal-entries">{"".join(_month_entry(e) for e in entries)}</ul>' if entries else ""
    link = ""
    if more:
        extra = f"&amp;{escape(query)}" if query else ""
        link = (f'<a class="small cal-more" href="{escape(day_url)}?date={day.isoformat()}{extra}">+{more} more'
                f'<span class="visually-hidden"> windows on {day.day} {_MONTH_NAMES[day.month - 1]}</span></a>')
    return (f'<td class="{classes}">\n      <span class="cal-day">{day.day}{today}</span>\n      {listed}\n'
            f'      {link}\n    </td>')


@login_required
def month(request):
    tz = djtz.get_current_timezone()
    today = clock.now().astimezone(tz).date()
    first = month_start(request.GET.get("month"), today)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    grid_first = first - dt.timedelta(days=first.weekday())
    grid_last = last + dt.timedelta(days=6 - last.weekday())
    start = dt.datetime.combine(grid_first, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(grid_last + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    form, filters, errors, query = _filters(request)
    keys = [] if errors else selectors.calendar_window_keys(user=request.user, start=start, end=end, filters=filters)
    shown, counts = _month_choice(keys, grid_first, grid_last, tz)
    chosen = {k for day in shown.values() for k in day}
    entries = [] if errors else sorted(
        selectors.window_entries([k for k in keys if (k[3], k[4]) in chosen])
        + selectors.calendar_freezes(start=start, end=end, filters=filters),
        key=lambda e: (e.start, e.kind != "freeze", e.title))
    days = _by_day(entries, grid_first, grid_last, tz)
    day_url = reverse("calendar:day")
    weeks, day = [], grid_first
    while day <= grid_last:
        weeks.append(mark_safe("".join(  # noqa: S308 - every value in it is escaped by _month_cell
            _month_cell(d, d.month == first.month, d == today,
                        *_day_cell(days.get(d, []), shown.get(d, set()), counts.get(d, 0)), day_url, query)
            for d in (day + dt.timedelta(days=i) for i in range(7)))))
        day += dt.timedelta(days=7)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    following = last + dt.timedelta(days=1)
    return render(request, "rollouts/calendar/month.html", {
        "first": first, "weeks": weeks, "weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        "form": form, "query": query, "zone": _zone_name(),
        "previous": f"{previous:%Y-%m}", "following": f"{following:%Y-%m}", "today_month": f"{today:%Y-%m}",
        "week_of": (today if first.month == today.month and first.year == today.year else first).isoformat(),
        "windows_count": len(keys),
        "freezes_count": sum(1 for e in entries if e.kind == "freeze"),
        "can_manage": request.user.has_role(*MANAGERS), "filter_errors": errors,
    }, status=400 if errors else 200)


WEEK_DAY_LIMIT = 10
DAY_PAGE = 50


def _chosen_date(request, today: dt.date) -> dt.date:
    try:
        chosen = dt.date.fromisoformat((request.GET.get("date") or today.isoformat())[:10])
    except ValueError:
        chosen = today
    return chosen if 1900 <= chosen.year <= 2999 else today


@login_required
def week(request):
    """Seven days, each with its freezes and its first WEEK_DAY_LIMIT windows by start time; a busier day says
    how many more it has and links to the day's page, which lists them all."""
    tz = djtz.get_current_timezone()
    today = clock.now().astimezone(tz).date()
    chosen = _chosen_date(request, today)
    first = chosen - dt.timedelta(days=chosen.weekday())
    last = first + dt.timedelta(days=6)
    start = dt.datetime.combine(first, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    form, filters, errors, query = _filters(request)
    keys = [] if errors else selectors.calendar_window_keys(user=request.user, start=start, end=end, filters=filters)
    shown, counts = _month_choice(keys, first, last, tz, limit=WEEK_DAY_LIMIT)
    entries = [] if errors else selectors.calendar_entries(user=request.user, start=start, end=end, filters=filters,
                                                           only={k for day in shown.values() for k in day})
    days = _by_day(entries, first, last, tz)
    return render(request, "rollouts/calendar/week.html", {
        "first": first, "last": last, "form": form, "query": query, "zone": _zone_name(),
        "days": [(d, d == today, *_day_cell(days.get(d, []), shown.get(d, set()), counts.get(d, 0),
                                            limit=WEEK_DAY_LIMIT))
                 for d in (first + dt.timedelta(days=i) for i in range(7))],
        "windows_count": len(keys),
        "previous": (first - dt.timedelta(days=7)).isoformat(),
        "following": (first + dt.timedelta(days=7)).isoformat(),
        "month": f"{first:%Y-%m}", "filter_errors": errors, "day_limit": WEEK_DAY_LIMIT,
    }, status=400 if errors else 200)


@login_required
def day(request):
    """Every window of one day (DAY_PAGE at a time, by start time) and its freezes: where a busy day of the
    week or month view sends its "+N more"."""
    tz = djtz.get_current_timezone()
    today = clock.now().astimezone(tz).date()
    chosen = _chosen_date(request, today)
    start = dt.datetime.combine(chosen, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(chosen + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    form, filters, errors, query = _filters(request)
    keys = [] if errors else selectors.calendar_window_keys(user=request.user, start=start, end=end, filters=filters)
    pages = max(1, -(-len(keys) // DAY_PAGE))
    try:
        number = min(max(int(request.GET.get("page") or 1), 1), pages)
    except ValueError:
        number = 1
    window = keys[(number - 1) * DAY_PAGE:number * DAY_PAGE]
    entries = [] if errors else selectors.calendar_entries(user=request.user, start=start, end=end, filters=filters,
                                                           only={(k[3], k[4]) for k in window})
    _by_day(entries, chosen, chosen, tz)  # sets their local times
    return render(request, "rollouts/calendar/day.html", {
        "day": chosen, "is_today": chosen == today, "form": form, "query": query, "zone": _zone_name(),
        "entries": entries, "windows_count": len(keys), "page": number, "pages": pages,
        "first_shown": (number - 1) * DAY_PAGE + 1 if window else 0,
        "last_shown": (number - 1) * DAY_PAGE + len(window),
        "previous": (chosen - dt.timedelta(days=1)).isoformat(),
        "following": (chosen + dt.timedelta(days=1)).isoformat(),
        "filter_errors": errors,
    }, status=400 if errors else 200)


# --- freezes ------------------------------------------------------------------------------------------


def _freezes_page(request, form=None, status=200):
    include_past = request.GET.get("past") == "1"
    return render(request, "rollouts/calendar/freezes.html", {
        "freezes": selectors.freeze_list(include_past=include_past), "include_past": include_past,
        "form": form or FreezeForm(), "can_manage": request.user.has_role(*MANAGERS), "zone": _zone_name(),
        "now": clock.now(),
    }, status=status)


@login_required
def freezes(request):
    return _freezes_page(request)


@role_required(*MANAGERS)
@require_POST
def freeze_create(request):
    form = FreezeForm(request.POST)
    if form.is_valid():
        try:
            freeze = services.freeze_create(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, f"Freeze “{freeze.name}” created. Changes whose windows overlap it are "
                                      f"now blocked until they move or get a CAB exception.")
            return redirect("calendar:freezes")
    return _freezes_page(request, form=form, status=400)


@role_required(*MANAGERS)
def freeze_edit(request, pk):
    freeze = get_object_or_404(Freeze, pk=pk, lifted_at__isnull=True)
    tz = djtz.get_current_timezone()
    if request.method == "POST":
        form = FreezeForm(request.POST)
        if form.is_valid():
            try:
                services.freeze_update(freeze=freeze, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _errors_to_form(form, exc)
            else:
                messages.success(request, f"Freeze “{freeze.name}” saved.")
                return redirect("calendar:freezes")
        status = 400
    else:
        form = FreezeForm(initial={
            "name": freeze.name, "reason": freeze.reason, "scope": freeze.scope, "region": freeze.region,
            "systems": list(freeze.systems.all()), "starts_at": freeze.starts_at.astimezone(tz),
            "ends_at": freeze.ends_at.astimezone(tz)})
        status = 200
    return render(request, "rollouts/calendar/freeze_edit.html",
                  {"freeze": freeze, "form": form, "lift_form": LiftForm(), "zone": _zone_name()}, status=status)


@role_required(*MANAGERS)
@require_POST
def freeze_lift(request, pk):
    freeze = get_object_or_404(Freeze, pk=pk)
    form = LiftForm(request.POST)
    if form.is_valid():
        try:
            services.freeze_lift(freeze=freeze, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, f"Freeze “{freeze.name}” lifted.")
            return redirect("calendar:freezes")
    return render(request, "rollouts/calendar/freeze_edit.html",
                  {"freeze": freeze, "form": FreezeForm(), "lift_form": form, "zone": _zone_name()}, status=400)


# --- approved windows ---------------------------------------------------------------------------------


def _windows_page(request, form=None, status=200):
    now = clock.now()
    rows = []
    for window in selectors.approved_window_list():
        nexts = windows.occurrences(window, now, now + dt.timedelta(days=60))[:3]
        rows.append({"window": window, "text": windows.describe(window), "next": nexts,
                     "zone": windows.zone(window.timezone)})
    return render(request, "rollouts/calendar/windows.html", {
        "rows": rows, "form": form or ApprovedWindowForm(initial={"valid_from": now.date()}),
        "can_manage": request.user.has_role(*MANAGERS), "zone": _zone_name(),
    }, status=status)


@login_required
def approved_windows(request):
    return _windows_page(request)


@role_required(*MANAGERS)
@require_POST
def approved_window_create(request):
    form = ApprovedWindowForm(request.POST)
    if form.is_valid():
        try:
            window = services.approved_window_create(by=request.user, **form.service_data())
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, f"Approved window “{window.label}” added to {window.system.name}.")
            return redirect("calendar:windows")
    return _windows_page(request, form=form, status=400)


@role_required(*MANAGERS)
@require_POST
def approved_window_delete(request, pk):
    window = get_object_or_404(ApprovedWindow, pk=pk)
    services.approved_window_delete(window=window, by=request.user)
    messages.success(request, f"Approved window “{window.label}” of {window.system.name} removed.")
    return redirect("calendar:windows")


# --- one request's schedule checks --------------------------------------------------------------------


def _request_page(request, upgrade, *, accept_errors=None, exception_form=None, status=200):
    user = request.user
    held = duties.duties_of(user, upgrade)
    is_requester = Duty.REQUESTER in held
    conflicts = list(selectors.conflicts_of(upgrade, include_resolved=True))
    others = {c.other_request_id for c in conflicts if c.other_request_id}
    visible = set(upgrade_visible(user).filter(pk__in=others).values_list("pk", flat=True)) if others else set()
    for c in conflicts:
        c.other_visible = c.other_request_id in visible
        c.errors = (accept_errors or {}).get(c.pk)
    live = upgrade.state not in FINAL_STATES
    open_freezes = {c.freeze_id for c in conflicts
                    if c.kind == ConflictKind.FREEZE and c.status == ConflictStatus.OPEN}
    freezes = Freeze.objects.filter(pk__in=open_freezes)
    return render(request, "rollouts/calendar/request.html", {
        "upgrade": upgrade, "windows": selectors.request_windows(upgrade), "zone": _zone_name(),
        "open": [c for c in conflicts if c.status == ConflictStatus.OPEN],
        "accepted": [c for c in conflicts if c.status == ConflictStatus.ACCEPTED],
        "resolved": [c for c in conflicts if c.status == ConflictStatus.RESOLVED],
        "exceptions": selectors.freeze_exceptions_of(upgrade),
        "can_accept": live and (is_requester or user.has_role(Role.ADMIN)),
        "can_request_exception": live and is_requester and bool(open_freezes),
        "can_refresh": live and bool(held or user.has_role(Role.ADMIN)),
        "exception_form": exception_form or ExceptionForm(freezes=freezes),
        "accept_form": AcceptForm(), "freeze_kind": ConflictKind.FREEZE,
    }, status=status)


@login_required
def request_schedule(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    return _request_page(request, upgrade)


def _here(upgrade) -> str:
    return reverse("calendar:request", args=[upgrade.reference])


@login_required
@require_POST
def request_refresh(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    if not duties.duties_of(request.user, upgrade) and not request.user.has_role(Role.ADMIN):
        raise services.CalendarRefused(["Only people with a duty on this change re-check its conflicts."])
    found = services.conflicts_refresh(request=upgrade, by=request.user)
    open_count = sum(1 for c in found if c.status == ConflictStatus.OPEN)
    messages.success(request, f"Checked again: {open_count} open conflict(s).")
    return redirect(_here(upgrade))


@login_required
@require_POST
def conflict_accept(request, reference, pk):
    upgrade = upgrade_get(user=request.user, reference=reference)
    conflict = get_object_or_404(Conflict, pk=pk, request=upgrade)
    form = AcceptForm(request.POST)
    errors = None
    if form.is_valid():
        try:
            services.conflict_accept(conflict=conflict, justification=form.cleaned_data["justification"],
                                     by=request.user)
        except ValidationError as exc:
            errors = " ".join(m for ms in exc.message_dict.values() for m in ms)
        except services.CalendarRefused as exc:
            errors = " ".join(exc.reasons)
        else:
            messages.success(request, "Conflict accepted with your justification.")
            return redirect(_here(upgrade))
    else:
        errors = " ".join(m for ms in form.errors.values() for m in ms)
    return _request_page(request, upgrade, accept_errors={conflict.pk: errors}, status=400)


@login_required
@require_POST
def exception_request(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    open_freezes = Conflict.objects.filter(request=upgrade, kind=ConflictKind.FREEZE,
                                           status=ConflictStatus.OPEN).values("freeze_id")
    form = ExceptionForm(request.POST, freezes=Freeze.objects.filter(pk__in=open_freezes))
    if form.is_valid():
        try:
            services.freeze_exception_request(request=upgrade, freeze=form.cleaned_data["freeze"],
                                              reason=form.cleaned_data["reason"], by=request.user)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        except services.CalendarRefused as exc:
            form.add_error(None, " ".join(exc.reasons))
        else:
            messages.success(request, "Freeze exception requested; the CAB decides it.")
            return redirect(_here(upgrade))
    return _request_page(request, upgrade, exception_form=form, status=400)


# --- feeds --------------------------------------------------------------------------------------------


def _feeds_page(request, form=None, created=None, status=200):
    feeds = list(selectors.feeds_of(request.user))
    return render(request, "rollouts/calendar/feeds.html", {
        "feeds": feeds, "form": form or FeedForm(), "created": created,
    }, status=status)


@login_required
def feeds(request):
    return _feeds_page(request)


@login_required
@require_POST
def feed_create(request):
    form = FeedForm(request.POST)
    if form.is_valid():
        try:
            feed, token = services.calendar_feed_create(user=request.user, name=form.cleaned_data["name"],
                                                        filters=form.filters(), by=request.user)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            url = request.build_absolute_uri(reverse("calendar:feed", args=[token]))
            return _feeds_page(request, created={"feed": feed, "url": url}, status=201)
    return _feeds_page(request, form=form, status=400)


@login_required
@require_POST
def feed_revoke(request, pk):
    feed = get_object_or_404(CalendarFeed, pk=pk, user=request.user)
    services.calendar_feed_revoke(feed=feed, by=request.user)
    messages.success(request, f"Feed “{feed.name}” revoked; calendars subscribed to it stop updating.")
    return redirect("calendar:feeds")


def feed(request, token):
    """The iCalendar feed: no session, the token in the URL is the credential; unknown or revoked → 404."""
    subscription = services.calendar_feed_resolve(token)
    if subscription is None:
        raise Http404("No such calendar feed.")
    now = clock.now()
    filters, _ = selectors.calendar_filters(subscription.filters)
    entries = selectors.calendar_entries(user=subscription.user, start=now - FEED_PAST, end=now + FEED_AHEAD,
                                         filters=filters)
    body = ical.build_feed(entries, name=subscription.name, base_url=request.build_absolute_uri("/"))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="tollgate.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response
