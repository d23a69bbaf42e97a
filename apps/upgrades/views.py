"""Browser pages for upgrade requests. Every write calls a service; every read goes through selectors."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts import duties
from apps.accounts.choices import Duty, Role
from apps.accounts.duties import DutyRefused
from apps.accounts.models import User
from apps.inventory.models import System
from apps.inventory.selectors import _region_limited

from . import gates, selectors, services, stages
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


@login_required
def request_list(request):
    if request.GET.get("suggest") == "system":
        return _system_suggestions(request)
    form = FilterForm(request.GET or None)
    filters = form.filters() if request.GET else {}
    qs = selectors.upgrade_list(user=request.user, filters=filters)
    if form.is_bound and not form.is_valid():
        qs = qs.none()  # an unknown system or a bad date matches nothing; the form says why
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    sort = filters.get("sort", "-created")
    query.pop("sort", None)
    # the datalist starts with the systems of the rows shown (already fetched with them); typing asks for more
    shown = {i.system.slug: i.system.name for r in page.object_list for i in r.items.all()}
    context = {"form": form, "page": page, "query": query.urlencode(), "sort": sort,
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


def _step(upgrade, user, t, reasons, holders) -> dict:
    """A checklist entry: can this reader take it, and if not, who it is waiting for."""
    mine = not services.actor_reasons(upgrade, user, t)
    waiting_for = ""
    if not mine:
        people = [u.display_name for d in t.duties for u in holders.get(d, [])]
        if people:
            waiting_for = f"{', '.join(people)} ({' or '.join(Duty(d).label.lower() for d in t.duties)})"
        elif t.roles:
            waiting_for = " or ".join("a " + Role(r).label for r in t.roles)
        else:
            waiting_for = f"the {' or '.join(Duty(d).label.lower() for d in t.duties)} (not assigned yet)"
    gate_reasons = gates.gate_reasons(upgrade, t.name) if not mine else reasons
    return {"t": t, "reasons": reasons, "mine": mine, "waiting_for": waiting_for, "gate_reasons": gate_reasons,
            "destructive": t.name in ("cancel", "reject", "fail", "roll_back"),
            "form": TransitionForm(prefix=t.name)}


def _detail_context(request, upgrade, **extra):
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
    checklist = [_step(upgrade, user, t, reasons, holders)
                 for t, reasons in services.next_transitions(upgrade, user)]
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
