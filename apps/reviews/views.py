"""Review pages: a request's post-implementation review and readiness, the backlog, the lessons search."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.upgrades.gates import gates_for
from apps.upgrades.selectors import upgrade_get

from . import backlog, pir, readiness, selectors
from .forms import (BacklogFilterForm, FollowUpForm, LessonSearchForm, ReadinessAddForm, ReadinessConfirmForm,
                    ReviewForm, TrainingForm)
from .models import BacklogItem, PostImplementationReview, ReadinessItem
from .pir import REVIEW_STATES, ReviewRefused


def _here(upgrade) -> str:
    return reverse("reviews:request", args=[upgrade.reference])


def _errors_into(form, exc: ValidationError) -> None:
    for field, msgs in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
        for msg in msgs:
            form.add_error(field if field in form.fields else None, msg)


def _close_reasons(upgrade) -> list[str]:
    return [r for g in gates_for("close") if g.owner == "reviews" for r in g.check(upgrade)]


def _page(request, upgrade, *, status=200, confirm_errors=None, **forms):
    review = selectors.review_of(upgrade)
    may_write = not pir.may_write(request.user, upgrade)
    may_track = not readiness.may_track(request.user, upgrade)
    reviewable = upgrade.state in REVIEW_STATES
    completed = review is not None and review.status == PostImplementationReview.Status.COMPLETED
    editable = reviewable and may_write and not completed
    initial = {}
    if review is not None:
        initial = {f: getattr(review, f) for f in ReviewForm.base_fields}
    elif editable:
        initial = pir.pir_prefill(upgrade)
    items = list(selectors.readiness_of(upgrade))
    for item in items:
        item.form_errors = (confirm_errors or {}).get(item.pk)
    context = {
        "upgrade": upgrade,
        "review": review,
        "reviewable": reviewable,
        "editable": editable,
        "may_write": may_write and reviewable and upgrade.state != "closed",
        "may_track": may_track and upgrade.state not in ("closed", "cancelled", "rejected"),
        "review_form": forms.get("review_form") or ReviewForm(initial=initial),
        "followup_form": forms.get("followup_form") or FollowUpForm(),
        "readiness_form": forms.get("readiness_form") or ReadinessAddForm(),
        "training_form": forms.get("training_form") or TrainingForm(),
        "follow_ups": list(selectors.follow_ups_of(upgrade)),
        "readiness_items": items,
        "training": list(selectors.training_of(upgrade)),
        "close_reasons": _close_reasons(upgrade) if upgrade.state in REVIEW_STATES else [],
        "due_days": pir.due_days(),
    }
    return render(request, "reviews/request.html", context, status=status)


def _refused(request, upgrade, exc):
    messages.error(request, " ".join(exc.reasons))
    return _page(request, upgrade, status=403)


@login_required
def request_review(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    return _page(request, upgrade)


@login_required
@require_POST
def review_save_view(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    form = ReviewForm(request.POST)
    complete = "complete" in request.POST
    if form.is_valid():
        try:
            pir.pir_save(request=upgrade, by=request.user, complete=complete, **form.cleaned_data)
        except ReviewRefused as exc:
            return _refused(request, upgrade, exc)
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, "Review completed. The request can be closed once its readiness items "
                                      "are confirmed." if complete else "Review saved as a draft.")
            return redirect(_here(upgrade))
    return _page(request, upgrade, review_form=form, status=400)


@login_required
@require_POST
def followup_add_view(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    form = FollowUpForm(request.POST)
    if form.is_valid():
        try:
            pir.followup_add(request=upgrade, by=request.user, **form.cleaned_data)
        except ReviewRefused as exc:
            return _refused(request, upgrade, exc)
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, "Follow-up added to the backlog.")
            return redirect(_here(upgrade))
    return _page(request, upgrade, followup_form=form, status=400)


@login_required
@require_POST
def backlog_import_view(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    try:
        created = backlog.backlog_import(request=upgrade, by=request.user)
    except ReviewRefused as exc:
        return _refused(request, upgrade, exc)
    messages.success(request, f"{len(created)} accepted risks and expiring exceptions added to the backlog."
                     if created else "Nothing new to add: every accepted risk and exception is already "
                                     "listed.")
    return redirect(_here(upgrade))


@login_required
@require_POST
def readiness_add_view(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    form = ReadinessAddForm(request.POST)
    if form.is_valid():
        try:
            readiness.readiness_add(request=upgrade, by=request.user, **form.cleaned_data)
        except ReviewRefused as exc:
            return _refused(request, upgrade, exc)
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, "Added to the readiness list.")
            return redirect(_here(upgrade))
    return _page(request, upgrade, readiness_form=form, status=400)


@login_required
@require_POST
def readiness_confirm_view(request, reference, pk):
    upgrade = upgrade_get(user=request.user, reference=reference)
    item = get_object_or_404(ReadinessItem, pk=pk, request=upgrade)
    form = ReadinessConfirmForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            readiness.readiness_confirm(item=item, by=request.user, link=form.cleaned_data["link"],
                                        upload=form.cleaned_data["file"])
        except ReviewRefused as exc:
            return _refused(request, upgrade, exc)
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, f"Confirmed: {item.title}.")
            return redirect(_here(upgrade))
    errors = [e for errs in form.errors.values() for e in errs]
    return _page(request, upgrade, confirm_errors={item.pk: errors}, status=400)


@login_required
@require_POST
def training_add_view(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    form = TrainingForm(request.POST)
    if form.is_valid():
        try:
            readiness.training_record(request=upgrade, by=request.user, **form.cleaned_data)
        except ReviewRefused as exc:
            return _refused(request, upgrade, exc)
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, "Training recorded.")
            return redirect(_here(upgrade))
    return _page(request, upgrade, training_form=form, status=400)


@login_required
def backlog_list(request):
    form = BacklogFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    filters = {**filters, "status": filters.get("status") or "open"}
    rows = selectors.backlog_list(user=request.user, filters=filters)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    from apps.core import clock

    return render(request, "reviews/backlog.html", {"form": form, "page": page, "today": clock.now().date(),
                                                    "open": BacklogItem.Status.OPEN})


@login_required
@require_POST
def backlog_done_view(request, pk):
    item = get_object_or_404(selectors.backlog_list(user=request.user, filters={"status": "all"}), pk=pk)
    try:
        backlog.backlog_done(item=item, by=request.user)
    except ReviewRefused as exc:
        messages.error(request, " ".join(exc.reasons))
    else:
        messages.success(request, f"Done: {item.title}.")
    return redirect(request.POST.get("next") if request.POST.get("next", "").startswith("/reviews/")
                    else reverse("reviews:backlog"))


@login_required
def lesson_search(request):
    form = LessonSearchForm(request.GET or None)
    text = form.cleaned_data["q"] if form.is_valid() else ""
    rows = selectors.lesson_search(user=request.user, text=text)
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    return render(request, "reviews/lessons.html", {"form": form, "page": page, "text": text})
