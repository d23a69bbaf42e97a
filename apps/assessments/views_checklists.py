"""Security and customization review: the checklist page and the answer form (the service decides)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts import duties
from apps.upgrades.selectors import upgrade_get

from . import checklists
from .models import Assessment, ChecklistItem


class AnswerForm(forms.Form):
    answer = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=checklists.ANSWER_MAX,
        strip=True,
        label="Answer",
        error_messages={"required": "Write the answer: what changes and what was checked."},
    )


def _context(request, upgrade, assessment, *, items=None) -> dict:
    if items is None:
        items = checklists.ensure_checklist(assessment)
    return {
        "upgrade": upgrade,
        "assessment": assessment,
        "checklist_items": items,
        "checklist_can_answer": checklists.may_answer(request.user, upgrade),
    }


def _assessment(upgrade) -> Assessment:
    assessment = Assessment.objects.filter(request=upgrade).first()
    if assessment is None:
        raise Http404("This request has no assessment yet.")
    return assessment


@login_required
def checklist_page(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    assessment = _assessment(upgrade)
    template = (
        "assessments/partials/checklists.html"
        if request.headers.get("HX-Request")
        else "assessments/checklist_page.html"
    )
    return render(request, template, _context(request, upgrade, assessment))


@login_required
@require_POST
def checklist_answer_view(request, reference, pk):
    upgrade = upgrade_get(user=request.user, reference=reference)
    assessment = _assessment(upgrade)
    item = get_object_or_404(ChecklistItem, pk=pk, assessment=assessment)
    if not checklists.may_answer(request.user, upgrade):
        # the service would refuse too; refuse before reading the form, and say why
        reasons = duties.duty_check(request.user, upgrade, "assessor", "requester")
        raise PermissionDenied(" ".join(reasons) or "The review can no longer be answered.")
    form = AnswerForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            checklists.checklist_answer(item=item, by=request.user, answer=form.cleaned_data["answer"])
        except ValidationError as exc:
            for message in exc.message_dict.get("answer", exc.messages):
                form.add_error("answer", message)
        except checklists.ChecklistRefused as exc:
            raise PermissionDenied(" ".join(exc.reasons)) from exc
    if form.errors:
        status = 400
    htmx = bool(request.headers.get("HX-Request"))
    if status == 200 and not htmx:
        messages.success(request, "Answer saved. The next assessment run resolves its finding.")
        return redirect(reverse("assessments:detail", args=[upgrade.reference]) + "#checklists")
    items = checklists.ensure_checklist(assessment)
    for i in items:
        if i.pk == item.pk and form.errors:
            i.form_errors = form.errors.get("answer")
            i.posted = request.POST.get("answer", "")[: checklists.ANSWER_MAX + 100].replace("\x00", "")
    if htmx:
        # htmx swaps only 2xx answers: the field errors come back in the fragment with 200
        return render(
            request,
            "assessments/partials/checklists.html",
            _context(request, upgrade, assessment, items=items),
        )
    return render(
        request,
        "assessments/checklist_page.html",
        _context(request, upgrade, assessment, items=items),
        status=status,
    )
