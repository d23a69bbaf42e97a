"""Browser pages for upgrade requests. Every write calls a service; every read goes through selectors."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.functional import cached_property
from django.utils.html import conditional_escape, escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from django.views.decorators.http import require_POST

from apps.accounts import duties
from apps.accounts.choices import Duty, Role
from apps.accounts.duties import DutyRefused
from apps.accounts.models import User
from apps.core import memo
from apps.inventory.models import System
from apps.inventory.selectors import _region_limited

from . import selectors, services, stages
from .choices import EDITABLE_STATES, WINDOW_EDITABLE_STATES, State
from .forms import (
    AssignForm,
    AttachmentForm,
    CommentForm,
    FilterForm,
    ItemFormSet,
    TransitionForm,
    UpgradeRequestForm,
    WindowForm,
)
from .workflow import TRANSITIONS

PAGE_SIZE = 25
MAIN_PATH = [State.DRAFT, State.ASSESSING, State.PLANNING, State.CAB_REVIEW, State.APPROVED, State.SCHEDULED,
             State.IN_PROGRESS, State.VALIDATING, State.COMPLETED, State.CLOSED]


def _apply_service_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = field if field in form.fields else None
            for error in errors:
                for message in error.messages:
                    form.add_error(target, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


SUGGESTIONS = 20


def _system_suggestions(request):
    """The systems whose name or slug holds the typed text (at most SUGGESTIONS, of the reader's regions),
    as <option>s for the filter's datalist: the page never lists every system of the inventory."""
    text = request.GET.get("system", "").replace("\x00", "").strip()[:100]
    qs = _region_limited(System.objects.all(), request.user)
    if text:
        qs = qs.filter(Q(name__icontains=text) | Q(slug__icontains=text))
    systems = qs.order_by("name").values("slug", "name")[:SUGGESTIONS]
    # no request context: a fragment needs no navigation (and its inbox count) on every keystroke
    return HttpResponse(render_to_string("upgrades/partials/system_options.html", {"systems": systems}))


COUNT_CAP = 1000
# a search counts fewer: its first ids are read newest first through the text condition, row by row
SEARCH_COUNT_CAP = 100


def _day(d) -> str:
    """|date:"j M Y", without building a DateFormat per call (a list of 25 rows formats 75 dates)."""
    return f"{d.day} {MONTHS_3[d.month].title()} {d.year:04d}"


def _day_time(d) -> str:
    """|date:"D j M Y H:i"."""
    return f"{WEEKDAYS_ABBR[d.weekday()]} {_day(d)} {d.hour:02d}:{d.minute:02d}"


def _list_row(r: selectors.ListRow, detail_url: str) -> str:
    """One row of the request table, formatted in Python: 25 rows through the template engine (a dozen
    lookups and filters each) cost more than the rest of the page. Dates in the reader's zone, as |date."""
    if r.window_start:
        end = localtime(r.window_end) if r.window_end else None
        window = format_html("{}–{}", _day_time(localtime(r.window_start)),
                             f"{end.hour:02d}:{end.minute:02d}" if end else "")
    else:
        window = mark_safe('<span class="muted">not set</span>')
    systems = "".join(f'<span class="tag">{escape(name)}</span>' for _, name in r.systems)
    # escape() each value into one f-string: format_html's per-argument machinery, 25 times, showed in profiles
    return mark_safe(  # noqa: S308 — every value is escaped
        f'<tr>\n<td class="mono"><a href="{escape(detail_url)}{escape(r.reference)}/">{escape(r.reference)}</a></td>\n'
        f'<td>{escape(r.title)}</td>\n'
        f'<td><span class="state state-{escape(r.state)}">{escape(r.state_label)}</span></td>\n'
        f'<td class="risk-{escape(r.risk_class)}">{escape(r.risk_label)}</td>\n<td>{escape(r.requester_name)}</td>\n'
        f'<td class="small">{conditional_escape(window)}</td>\n<td class="small">{escape(_day(localtime(r.created_at)))}</td>\n'
        f'<td class="small">{systems}</td>\n</tr>\n')


class CappedPage(Page):
    def has_next(self):
        return self.paginator.capped or super().has_next()

    def next_page_number(self):
        return self.number + 1 if self.paginator.capped else super().next_page_number()


class CappedPaginator(Paginator):
    """Pages a list of ids from one query of its first COUNT_CAP + 1 ids, in the list's order: they give the
    count ("more than 1,000 requests" is a fair answer for a list of 100,000, and counting them all on every
    page was the list's dearest query) and every page of the first COUNT_CAP // per_page, which are then
    known to be full and to have a next one. A page past them (typed, or "Next" from the last of them)
    counts exactly and is read with an OFFSET, as usual."""

    def __init__(self, object_list, per_page, cap: int | None = None):
        super().__init__(object_list, per_page)
        self.cap = COUNT_CAP if cap is None else cap
        self.exact = False

    @cached_property
    def head(self) -> list:
        return list(self.object_list[: self.cap + 1])

    @cached_property
    def count(self):
        return len(self.head)

    @property
    def cap_label(self) -> str:
        return f"{self.cap:,}"

    @property
    def capped(self) -> bool:
        return not self.exact and self.count > self.cap

    @cached_property
    def num_pages(self):
        return self.cap // self.per_page if self.capped else super().num_pages

    def validate_number(self, number):
        try:
            return super().validate_number(number)
        except EmptyPage:
            if not self.capped or int(number) < 1:
                raise
            # past the pages the first ids vouch for: count them all, then page as usual
            self.__dict__["count"], self.exact = self.object_list.order_by().count(), True
            self.__dict__.pop("num_pages", None)
            return super().validate_number(number)

    def page(self, number):
        number = self.validate_number(number)
        if self.exact:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        return CappedPage(self.head[bottom:bottom + self.per_page], number, self)


class KnownCountPaginator(Paginator):
    """Pages a list whose exact length is already known (selectors.visible_count): no count query, and each
    page reads its ids with LIMIT/OFFSET from the list's ordered index (or slices the remembered ids)."""

    capped = False

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count


@login_required
def request_list(request):
    if request.GET.get("suggest") == "system":
        return _system_suggestions(request)
    form = FilterForm(request.GET or None)
    filters = form.filters() if request.GET else {}
    qs = selectors.upgrade_list(user=request.user, filters=filters)
    if form.is_bound and not form.is_valid():
        qs = qs.none()  # an unknown system or a bad date matches nothing; the form says why
    # the ids first (a walk of the list's index that reads ids only), then the page's 25 rows with what the
    # table shows
    ids = qs.select_related(None).prefetch_related(None).values_list("pk", flat=True)
    cap = SEARCH_COUNT_CAP if filters.get("q") else None
    valid = form.is_valid() or not form.is_bound
    ordered = selectors.visible_in_list_order(request.user, filters) if valid else None
    known = selectors.visible_count(request.user, filters) if valid and ordered is None else None
    if ordered is not None:  # the remembered ids in the list's order: the page is a slice of them
        paginator = KnownCountPaginator(ordered, PAGE_SIZE, count=len(ordered))
    elif known is not None:
        paginator = KnownCountPaginator(ids, PAGE_SIZE, count=known)
    else:
        paginator = CappedPaginator(ids, PAGE_SIZE, cap=cap)
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = selectors.upgrade_list_rows(list(page.object_list))
    detail_url = reverse("upgrades:detail", args=["0"])[:-2]  # + reference + "/": references are URL-safe
    rows = [_list_row(r, detail_url) for r in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    sort = filters.get("sort", "-created")
    query.pop("sort", None)
    # the datalist starts with the systems of the rows shown (already fetched with them); typing asks for more
    shown = {slug: name for r in page.object_list for slug, name in r.systems}
    context = {"form": form, "page": page, "query": query.urlencode(), "sort": sort,
               "rows": rows,
               "systems": [{"slug": k, "name": v} for k, v in sorted(shown.items(), key=lambda kv: kv[1])],
               "columns": [("reference", "Reference"), ("title", "Title"), ("state", "State"), ("risk", "Risk"),
                           ("requester", "Requester"), ("window", "Requested window"), ("created", "Created")],
               "can_create": request.user.has_role(Role.CHANGE_MANAGER)}
    template = "upgrades/partials/list_table.html" if request.headers.get("HX-Request") else "upgrades/list.html"
    return render(request, template, context)


def _tzname(request) -> str:
    return getattr(request.user, "timezone", "UTC") or "UTC"


@login_required
def request_create(request):
    if not request.user.has_role(Role.CHANGE_MANAGER):
        raise PermissionDenied("Only change managers raise upgrade requests.")
    form = UpgradeRequestForm(request.POST or None, tzname=_tzname(request))
    items = ItemFormSet(request.POST or None, prefix="items")
    if request.method == "POST" and form.is_valid() and items.is_valid():
        try:
            upgrade = services.upgrade_create(
                by=request.user,
                items=[f.as_item() for f in items.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")],
                **form.cleaned_data,
            )
        except ValidationError as exc:
            _apply_service_errors(form, exc)
        else:
            messages.success(request, f"{upgrade.reference} created as a draft. Assign an assessor, then start "
                                      "its assessment.")
            return redirect(upgrade)
    status = 400 if request.method == "POST" else 200
    return render(request, "upgrades/form.html", {"form": form, "items": items, "creating": True}, status=status)


@login_required
def request_edit(request, reference):
    upgrade = selectors.upgrade_get(user=request.user, reference=reference)
    if upgrade.state not in WINDOW_EDITABLE_STATES:
        messages.error(request, "Only drafts can be edited.")
        return redirect(upgrade)
    if not (request.user.has_role(Role.ADMIN) or Duty.REQUESTER in duties.duties_of(request.user, upgrade)):
        raise PermissionDenied("Only the requester edits a draft.")
    if upgrade.state not in EDITABLE_STATES:
        return _edit_window(request, upgrade)
    initial_items = [{"system": i.system, "component": i.component, "product": i.product,
                      "current_version": i.current_version, "target_version": i.target_version}
                     for i in upgrade.items.select_related("system", "component")]
    initial = {k: getattr(upgrade, k) for k in ("title", "justification", "risk_class", "window_start",
                                                 "window_end", "external_ref", "external_url")}
    form = UpgradeRequestForm(request.POST or None, initial=initial, tzname=_tzname(request))
    items = ItemFormSet(request.POST or None, prefix="items", initial=initial_items)
    if request.method == "POST" and form.is_valid() and items.is_valid():
        try:
            services.upgrade_update(
                request=upgrade, by=request.user,
                items=[f.as_item() for f in items.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")],
                **form.cleaned_data)
        except ValidationError as exc:
            _apply_service_errors(form, exc)
        except services.TransitionRefused as exc:
            form.add_error(None, " ".join(exc.reasons))
        else:
            messages.success(request, "Saved.")
            return redirect(upgrade)
    status = 400 if request.method == "POST" else 200
    return render(request, "upgrades/form.html", {"form": form, "items": items, "upgrade": upgrade}, status=status)


def _edit_window(request, upgrade):
    form = WindowForm(request.POST or None, initial={"window_start": upgrade.window_start,
                                                     "window_end": upgrade.window_end}, tzname=_tzname(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.upgrade_update(request=upgrade, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _apply_service_errors(form, exc)
        except services.TransitionRefused as exc:
            form.add_error(None, " ".join(exc.reasons))
        else:
            messages.success(request, "The requested window is updated.")
            return redirect(upgrade)
    status = 400 if request.method == "POST" else 200
    return render(request, "upgrades/form.html", {"form": form, "items": None, "upgrade": upgrade,
                                                  "window_only": True}, status=status)


def _history_row(event, names: dict) -> dict:
    """One audit event as a sentence: who (display name), what (in words), the changed fields.

    Empty values are left out and times are shown in the reader's zone. JSON keys such as
    "items" would shadow dict methods in the template, so the template gets plain pairs.
    """
    from apps.core.templatetags.tollgate import action_label, audit_changes

    data = event.data if isinstance(event.data, dict) else {}
    what = action_label(event.action)
    if event.action == "upgrade.transition" and data.get("transition") in TRANSITIONS:
        what = TRANSITIONS[data["transition"]].label
    elif event.action in ("duty.assign", "duty.revoke") and isinstance(event.after or event.before, dict):
        detail = event.after or event.before
        person = names.get(detail.get("user"), detail.get("user", ""))
        what = f"{'Assigned' if event.action == 'duty.assign' else 'Removed'} {detail.get('duty', '')}: {person}"
    changes = [] if event.action.startswith("duty.") else audit_changes(event)
    return {"event": event, "who": names.get(event.actor_username, event.actor_username or "Tollgate"),
            "what": what, "changes": changes, "reason": data.get("reason", ""), "reasons": data.get("reasons", [])}


def _history(upgrade) -> list[dict]:
    events = list(selectors.upgrade_history(upgrade))
    usernames = {e.actor_username for e in events}
    usernames |= {(e.after or {}).get("user") for e in events if isinstance(e.after, dict)}
    names = {u.username: u.display_name for u in User.objects.filter(username__in=[n for n in usernames if n])}
    return _grouped([_history_row(e, names) for e in events])


# runs of these are folded into one line ("Plan step added, 14 times"): each is on its own page and in
# the audit trail; the request's history reads as decisions, not as keystrokes
_FOLDABLE_PREFIXES = ("plan.", "checklist.", "assessment.run", "finding.", "conflict.", "execution.step_",
                      "configuration.snapshot", "configuration.topology", "configuration.performance",
                      "configuration.finding_", "calendar.")


def _fold_key(action: str) -> str:
    return "execution.step" if action.startswith("execution.step_") else action


def _grouped(rows: list[dict]) -> list[dict]:
    grouped: list[dict] = []
    for row in rows:
        event, last = row["event"], grouped[-1] if grouped else None
        if (last is not None and _fold_key(event.action) == _fold_key(last["event"].action)
                and row["who"] == last["who"] and event.action.startswith(_FOLDABLE_PREFIXES)):
            last["count"] += 1
            last["changes"], last["reason"], last["reasons"] = [], "", []
            last["until"] = event.created_at
            continue
        grouped.append({**row, "count": 1, "until": None})
    return grouped


def _step(t, person: list[str], gate: list[str], holders) -> dict:
    """A checklist entry: can this reader take it, and if not, who it is waiting for."""
    mine = not person
    waiting_for = ""
    if not mine:
        people = [u.display_name for d in t.duties for u in holders.get(d, [])]
        if people:
            waiting_for = f"{', '.join(people)} ({' or '.join(Duty(d).label.lower() for d in t.duties)})"
        elif t.roles:
            waiting_for = " or ".join("a " + Role(r).label for r in t.roles)
        else:
            waiting_for = f"the {' or '.join(Duty(d).label.lower() for d in t.duties)} (not assigned yet)"
    return {"t": t, "reasons": person + gate, "mine": mine, "waiting_for": waiting_for, "gate_reasons": gate,
            "destructive": t.name in ("cancel", "reject", "fail", "roll_back"),
            "form": TransitionForm(prefix=t.name)}


def _detail_context(request, upgrade, **extra):
    # the gates of every open transition ask the same questions (windows, systems, duties, the CAB review):
    # each is read once for the page
    with memo.reading():
        return _detail_context_read(request, upgrade, **extra)


def _detail_context_read(request, upgrade, **extra):
    user = request.user
    holders = duties.duty_holders(upgrade)
    my_duties = {d for d, users in holders.items() if any(u.pk == user.pk for u in users)}
    can_assign = (user.has_role(Role.ADMIN) or Duty.REQUESTER in my_duties) and upgrade.state not in (
        State.REJECTED, State.CANCELLED, State.CLOSED)
    people = []
    for duty in Duty:
        people.append({
            "duty": duty, "holders": holders[duty.value],
            "form": AssignForm(duty=duty.value, prefix=duty.value) if can_assign and duty in services.ASSIGNABLE
            else None,
        })
    checklist = [_step(t, person, gate, holders)
                 for t, person, gate in services.next_transitions_split(upgrade, user)]
    # what the reader can do first, then what waits for others
    checklist.sort(key=lambda e: (not e["mine"], e["destructive"]))
    state_index = MAIN_PATH.index(upgrade.state) if upgrade.state in MAIN_PATH else None
    context = {
        "upgrade": upgrade,
        "items": upgrade.items.select_related("system", "component__environment", "system__owner_team"),
        "people": people,
        "my_duties": my_duties,
        "checklist": checklist,
        "path": [{"state": s, "done": state_index is not None and i < state_index, "current": s == upgrade.state}
                 for i, s in enumerate(MAIN_PATH)],
        "off_path": upgrade.state not in MAIN_PATH,
        "comments": upgrade.comments.select_related("author"),
        "attachments": upgrade.attachments.select_related("uploaded_by"),
        "history": _history(upgrade),
        "stage_links": stages.links_for(request.user, upgrade),
        "can_contribute": selectors.can_contribute(user, upgrade),
        "can_edit": upgrade.state in EDITABLE_STATES and (user.has_role(Role.ADMIN) or Duty.REQUESTER in my_duties),
        "can_move_window": upgrade.state in WINDOW_EDITABLE_STATES and upgrade.state not in EDITABLE_STATES
        and (user.has_role(Role.ADMIN) or Duty.REQUESTER in my_duties),
        "can_revise": upgrade.state == State.REJECTED and user.has_role(Role.CHANGE_MANAGER),
        "comment_form": CommentForm(),
        "attachment_form": AttachmentForm(),
        "revisions": upgrade.revisions.all(),
    }
    context.update(extra)
    return context


@login_required
def request_detail(request, reference):
    upgrade = selectors.upgrade_get(user=request.user, reference=reference)
    return render(request, "upgrades/detail.html", _detail_context(request, upgrade))


@login_required
@require_POST
def request_transition(request, reference, name):
    upgrade = selectors.upgrade_get(user=request.user, reference=reference)
    if name not in TRANSITIONS:
        raise Http404("No such transition.")
    form = TransitionForm(request.POST, prefix=name)
    reason = form.data.get(f"{name}-reason", "")
    try:
        services.upgrade_transition(request=upgrade, by=request.user, transition=name, reason=reason)
    except services.TransitionRefused as exc:
        upgrade.refresh_from_db()
        context = _detail_context(request, upgrade, refusal={"label": TRANSITIONS[name].label,
                                                             "reasons": exc.reasons})
        return render(request, "upgrades/detail.html", context, status=409)
    messages.success(request, f"{TRANSITIONS[name].label}: done.")
    return redirect(upgrade)


def _user_from_post(request):
    username = request.POST.get("user", "")
    if "\x00" in username or len(username) > 150:
        raise Http404("No such person.")  # PostgreSQL refuses NUL in a query
    return get_object_or_404(User, username=username)


@login_required
@require_POST
def request_assign(request, reference):
    upgrade = selectors.upgrade_get(user=request.user, reference=reference)
    duty = request.POST.get("duty", "")
    form = AssignForm(request.POST, prefix=duty, duty=duty) if duty in services.ASSIGNABLE else None
    if form is None or not form.is_valid():
        reasons = ["Choose a duty and a person."]
        if form is not None:
            reasons = [f"Person: {e}" for e in form.errors.get("user", [])] or reasons
        context = _detail_context(request, upgrade, refusal={"label": f"Assign {duty}"[:40], "reasons": reasons})
        return render(request, "upgrades/detail.html", context, status=400)
    try:
        services.upgrade_duty_assign(request=upgrade, by=request.user, user=form.cleaned_data["user"], duty=duty)
    except DutyRefused as exc:
        context = _detail_context(request, upgrade, refusal={"label": f"Assign {duty}", "reasons": exc.reasons})
        return render(request, "upgrades/detail.html", context, status=403)
    messages.success(request, f"{form.cleaned_data['user'].display_name} is now {duty}.")
    return redirect(upgrade)


@login_required
@require_POST
def request_unassign(request, reference):
    upgrade = selectors.upgrade_get(user=request.user, reference=reference)
    user = _user_from_post(request)
    try:
        services.upgrade_duty_revoke(request=upgrade, by=request.user, user=user, duty=request.POST.get("duty", ""))
    except DutyRefused as exc:
        messages.error(request, " ".join(exc.reasons))
        return redirect(upgrade)
    messages.success(request, f"{user.display_name} no longer holds that duty.")
    return redirect(upgrade)


@login_required
@require_POST
def request_comment(request, reference):
    upgrade = selectors.upgrade_get(user=request.user, reference=reference)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.comment_add(request=upgrade, by=request.user, body=form.cleaned_data["body"])
        except ValidationError as exc:
            _apply_service_errors(form, exc)
        else:
            messages.success(request, "Comment added.")
            return redirect(reverse("upgrades:detail", args=[reference]) + "#comments")
    return render(request, "upgrades/detail.html", _detail_context(request, upgrade, comment_form=form), status=400)


@login_required
@require_POST
def request_attach(request, reference):
    upgrade = selectors.upgrade_get(user=request.user, reference=reference)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.attachment_add(request=upgrade, by=request.user, upload=form.cleaned_data["file"])
        except ValidationError as exc:
            _apply_service_errors(form, exc)
        else:
            messages.success(request, "File attached.")
            return redirect(reverse("upgrades:detail", args=[reference]) + "#attachments")
    return render(request, "upgrades/detail.html", _detail_context(request, upgrade, attachment_form=form),
                  status=400)


@login_required
def attachment_download(request, reference, pk):
    upgrade = selectors.upgrade_get(user=request.user, reference=reference)
    attachment = get_object_or_404(upgrade.attachments, pk=pk)
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.filename)


@login_required
@require_POST
def request_revise(request, reference):
    upgrade = selectors.upgrade_get(user=request.user, reference=reference)
    try:
        new = services.upgrade_revise(request=upgrade, by=request.user)
    except services.TransitionRefused as exc:
        messages.error(request, " ".join(exc.reasons))
        return redirect(upgrade)
    messages.success(request, f"{new.reference} is a new draft revised from {upgrade.reference}.")
    return redirect(new)
