"""Retention pages: policies (admins edit), legal holds (auditors and admins), the dry-run report."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import retention
from .access import role_required
from .models import ArchivedSegment, LegalHold, RetentionPolicy
from .selectors import AUDIT_ROLES


class PolicyForm(forms.Form):
    kind = forms.ChoiceField(label="What is kept", choices=())
    region = forms.CharField(label="Region", required=False, max_length=40,
                             help_text="e.g. eu-central. Leave empty for every region without its own "
                                       "policy.")
    days = forms.IntegerField(label="Keep for (days)", min_value=1, max_value=retention.DAYS_MAX,
                              help_text="After this many days the item is archived, then deleted.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = retention.kind_choices()


class HoldForm(forms.Form):
    target_type = forms.ChoiceField(label="Hold", choices=())
    target = forms.CharField(label="Which one", max_length=64,
                             help_text="A request's reference (e.g. UPG-2026-0042), or the item's number.")
    reason = forms.CharField(label="Reason", max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="e.g. the litigation or inquiry this is kept for.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target_type"].choices = [("request", "Everything of an upgrade request")] + [
            (name, f"One item: {label.lower()}") for name, label in retention.kind_choices()
            if name != retention.AUDIT_EVENTS
        ]


class LiftForm(forms.Form):
    lift_reason = forms.CharField(label="Why lift it", max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 2}))


def _apply_errors(form, exc: ValidationError) -> None:
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


@require_http_methods(["GET", "POST"])
@role_required(*AUDIT_ROLES)
def policies(request):
    can_edit = request.user.has_role(*retention.POLICY_ROLES)
    form = PolicyForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                policy = retention.retention_policy_set(by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, f"Saved: {policy}.")
                return redirect("audit:retention_policies")
    kinds = retention.kinds()
    rows = [(p, kinds[p.kind].label if p.kind in kinds else p.kind)
            for p in RetentionPolicy.objects.select_related("updated_by")]
    return render(request, "audit/retention_policies.html", {
        "rows": rows, "form": form, "can_edit": can_edit,
        "segments": ArchivedSegment.objects.all()[:5],
    }, status=400 if form.is_bound and form.errors else 200)


@require_POST
@role_required(*AUDIT_ROLES)
def policy_delete(request, pk: int):
    if not RetentionPolicy.objects.filter(pk=pk).exists():
        raise Http404("No such retention policy.")
    retention.retention_policy_delete(policy_id=pk, by=request.user)
    messages.success(request, "Policy removed: that kind is now kept without limit in that region.")
    return redirect("audit:retention_policies")


@require_http_methods(["GET", "POST"])
@role_required(*retention.HOLD_ROLES)
def holds(request):
    form = HoldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            hold = retention.legal_hold_set(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"{hold} set. Retention will keep it until the hold is lifted.")
            return redirect("audit:retention_holds")
    rows = LegalHold.objects.select_related("set_by", "lifted_by")
    return render(request, "audit/retention_holds.html", {
        "active": [h for h in rows if h.lifted_at is None],
        "lifted": [h for h in rows if h.lifted_at is not None],
        "form": form, "lift_form": LiftForm(),
    }, status=400 if form.is_bound and form.errors else 200)


@require_POST
@role_required(*retention.HOLD_ROLES)
def hold_lift(request, pk: int):
    hold = LegalHold.objects.filter(pk=pk).first()
    if hold is None:
        raise Http404("No such legal hold.")
    form = LiftForm(request.POST)
    if form.is_valid():
        try:
            retention.legal_hold_lift(hold_id=pk, reason=form.cleaned_data["lift_reason"], by=request.user)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"{hold} lifted.")
            return redirect("audit:retention_holds")
    return render(request, "audit/retention_lift.html", {"hold": hold, "lift_form": form}, status=400)


@require_GET
@role_required(*AUDIT_ROLES)
def dry_run(request):
    plan = retention.retention_plan()
    return render(request, "audit/retention_dry_run.html", {"plan": plan, "groups": plan.by_kind()})
