"""The CAB decision pages: signed votes, conditions, policies, standard templates, delegations,
emergency retrospectives. Every write calls a service; reads go through selectors."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from apps.accounts.choices import Role
from apps.accounts.duties import DutyRefused
from apps.audit.access import role_required
from apps.core import clock
from apps.upgrades.selectors import upgrade_get

from . import selectors, services
from .forms import DelegationForm, PolicyForm, RetrospectiveForm, SignForm, TemplateForm, VoteForm
from .models import ApprovalPolicy, Condition, StandardTemplate, TemplateStatus

READERS = (Role.ADMIN, Role.CAB_MEMBER, Role.CHANGE_MANAGER, Role.AUDITOR)
CAB = (Role.CAB_MEMBER, Role.ADMIN, Role.AUDITOR)


def _review_url(upgrade) -> str:
    try:
        return reverse("cab_board:review", args=[upgrade.reference]) + "#vote"
    except NoReverseMatch:  # the board is switched off: the request page
        return upgrade.get_absolute_url()


def _errors_into(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errs in exc.error_dict.items():
            for e in errs:
                for m in e.messages:
                    form.add_error(field if field in form.fields else None, m)
    else:
        for m in exc.messages:
            form.add_error(None, m)


def _form_errors(form) -> str:
    parts = []
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields and form.fields[field].label else field
        prefix = "" if field == "__all__" else f"{str(label).capitalize()}: "
        parts.append(prefix + " ".join(errors))
    return " ".join(parts)


def _refusal(exc) -> str:
    return " ".join(getattr(exc, "reasons", None) or [str(exc)])


# --- votes, conditions, retrospectives ------------------------------------------------------------------


@login_required
@require_POST
def vote(request, pk):
    review = selectors.review_visible_get(user=request.user, pk=pk)
    upgrade = review.request
    principals = selectors.delegators_of(request.user)
    form = VoteForm(request.POST, principals=principals, user=request.user)
    if form.is_valid():
        principal = None
        if form.cleaned_data.get("on_behalf_of"):
            principal = next((p for p in principals if str(p.pk) == form.cleaned_data["on_behalf_of"]), None)
            if principal is None:
                form.add_error("on_behalf_of", "Nobody named you their delegate for now.")
        if form.is_valid():
            try:
                services.vote_cast(review=review, voter=request.user, decision=form.cleaned_data["decision"],
                                   reason=form.cleaned_data["reason"], conditions=form.conditions_list(),
                                   on_behalf_of=principal, password=form.cleaned_data["password"])
            except ValidationError as exc:
                _errors_into(form, exc)
            except (services.CabRefused, DutyRefused) as exc:
                messages.error(request, f"Your vote was refused. {_refusal(exc)}")
                return redirect(_review_url(upgrade))
            else:
                upgrade.refresh_from_db()
                label = dict(form.fields["decision"].choices)[form.cleaned_data["decision"]].lower()
                text = f"Your signed vote ({label}) on {upgrade.reference} is recorded."
                if upgrade.state == "approved":
                    text += " Quorum reached: the request is approved."
                elif upgrade.state == "rejected":
                    text += " The request is rejected."
                messages.success(request, text)
                return redirect(_review_url(upgrade))
    messages.error(request, f"Your vote was not recorded. {_form_errors(form)}")
    return redirect(_review_url(upgrade))


@login_required
@require_POST
def retrospective(request, pk):
    review = selectors.review_visible_get(user=request.user, pk=pk)
    form = RetrospectiveForm(request.POST)
    if form.is_valid():
        try:
            services.retrospective_complete(review=review, by=request.user, notes=form.cleaned_data["notes"])
        except ValidationError as exc:
            _errors_into(form, exc)
        except services.CabRefused as exc:
            messages.error(request, f"The retrospective review was refused. {_refusal(exc)}")
            return redirect(_review_url(review.request))
        else:
            messages.success(request, f"The retrospective review of {review.request.reference} is recorded.")
            return redirect(_review_url(review.request))
    messages.error(request, f"The retrospective review was not recorded. {_form_errors(form)}")
    return redirect(_review_url(review.request))


@login_required
def conditions(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    review = selectors.review_current(upgrade)
    panel = selectors.vote_panel(review=review, user=request.user) if review is not None else None
    return render(request, "cab/conditions.html", {
        "upgrade": upgrade, "review": review, "conditions": selectors.conditions_of(upgrade), "panel": panel})


@login_required
@require_POST
def condition_acknowledge(request, pk):
    condition = Condition.objects.select_related("vote__review__request").filter(pk=pk).first()
    if condition is None:
        raise Http404("No such condition.")
    upgrade = upgrade_get(user=request.user, reference=condition.vote.review.request.reference)
    try:
        services.condition_acknowledge(condition=condition, by=request.user)
    except (services.CabRefused, DutyRefused) as exc:
        messages.error(request, f"Not acknowledged. {_refusal(exc)}")
    else:
        messages.success(request, "Condition acknowledged.")
    return redirect(reverse("cab:conditions", args=[upgrade.reference]))


@role_required(*CAB)
def retrospectives(request):
    rows = list(selectors.retrospectives(user=request.user))
    for r in rows:
        r.retro = selectors.retrospective_state(r)
    return render(request, "cab/retrospectives.html", {"rows": rows})


# --- policies -------------------------------------------------------------------------------------------


@role_required(*READERS)
def policy_list(request):
    return render(request, "cab/policies.html", {
        "policies": list(selectors.policy_list()), "can_edit": request.user.has_role(Role.ADMIN)})


def _policy_form_page(request, form, policy=None, status=200):
    return render(request, "cab/policy_form.html", {"form": form, "policy": policy}, status=status)


def _policy_save(request, policy=None):
    form = PolicyForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        data["required_teams"] = list(data["required_teams"])
        try:
            services.policy_save(by=request.user, policy=policy, **data)
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, f"Policy “{data['name']}” saved. Reviews already open keep the policy "
                                      "they opened with.")
            return redirect("cab:policies")
    return _policy_form_page(request, form, policy, status=400)


@role_required(Role.ADMIN)
def policy_create(request):
    if request.method == "POST":
        return _policy_save(request)
    return _policy_form_page(request, PolicyForm())


@role_required(Role.ADMIN)
def policy_edit(request, pk):
    policy = ApprovalPolicy.objects.filter(pk=pk).first()
    if policy is None:
        raise Http404("No such policy.")
    if request.method == "POST":
        return _policy_save(request, policy)
    return _policy_form_page(request, PolicyForm(initial=PolicyForm.initial_from(policy)), policy)


@role_required(Role.ADMIN)
@require_POST
def policy_delete(request, pk):
    policy = ApprovalPolicy.objects.filter(pk=pk).first()
    if policy is None:
        raise Http404("No such policy.")
    services.policy_delete(by=request.user, policy=policy)
    messages.success(request, f"Policy “{policy.name}” deleted; its requests fall back to the next policy.")
    return redirect("cab:policies")


# --- standard change templates ----------------------------------------------------------------------------


@role_required(*READERS)
def template_list(request):
    return render(request, "cab/templates.html", {
        "templates": list(selectors.template_list()),
        "can_create": request.user.has_role(Role.CHANGE_MANAGER)})


@role_required(Role.CHANGE_MANAGER)
def template_create(request):
    form = TemplateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = dict(form.cleaned_data)
            data["systems"] = list(data["systems"])
            try:
                template = services.template_create(by=request.user, **data)
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                messages.success(request, "Template saved as a draft; a CAB member approves it (signed).")
                return redirect("cab:template", pk=template.pk)
        status = 400
    return render(request, "cab/template_form.html", {"form": form}, status=status)


def _template_page(request, template, *, sign_form=None, status=200):
    user = request.user
    return render(request, "cab/template_detail.html", {
        "template": template, "sha256": services.template_sha256(template),
        "valid": services.template_valid(template),
        "can_approve": (user.has_role(Role.CAB_MEMBER) and template.status == TemplateStatus.DRAFT
                        and template.created_by_id != user.pk),
        "can_retire": user.has_role(Role.CAB_MEMBER, Role.ADMIN) and template.status != TemplateStatus.RETIRED,
        "sign_form": sign_form or SignForm(),
        "reviews": list(template.reviews.select_related("request").order_by("-opened_at")[:50]),
    }, status=status)


def _template(pk) -> StandardTemplate:
    template = StandardTemplate.objects.select_related("created_by", "approved_by").filter(pk=pk).first()
    if template is None:
        raise Http404("No such template.")
    return template


@role_required(*READERS)
def template_detail(request, pk):
    return _template_page(request, _template(pk))


@role_required(Role.CAB_MEMBER)
@require_POST
def template_approve(request, pk):
    template = _template(pk)
    form = SignForm(request.POST)
    if form.is_valid():
        try:
            services.template_approve(template=template, by=request.user, password=form.cleaned_data["password"])
        except ValidationError as exc:
            _errors_into(form, exc)
        except services.CabRefused as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(request, f"“{template.name}” is approved; standard requests it covers are approved "
                                      "at submit while it is valid.")
            return redirect("cab:template", pk=template.pk)
    return _template_page(request, _template(pk), sign_form=form, status=400)


@role_required(Role.CAB_MEMBER, Role.ADMIN)
@require_POST
def template_retire(request, pk):
    template = _template(pk)
    try:
        services.template_retire(template=template, by=request.user)
    except services.CabRefused as exc:
        messages.error(request, _refusal(exc))
    else:
        messages.success(request, f"“{template.name}” is retired.")
    return redirect("cab:template", pk=template.pk)


# --- delegations --------------------------------------------------------------------------------------------


@role_required(*CAB)
def delegations(request):
    form = None
    status = 200
    if request.user.has_role(Role.CAB_MEMBER):
        form = DelegationForm(request.POST or None, user=request.user)
        if request.method == "POST":
            if form.is_valid():
                try:
                    services.delegation_create(principal=request.user, by=request.user, **form.cleaned_data)
                except ValidationError as exc:
                    _errors_into(form, exc)
                else:
                    messages.success(request, f"{form.cleaned_data['delegate'].display_name} may vote for you "
                                              "during that period.")
                    return redirect("cab:delegations")
            status = 400
    elif request.method == "POST":
        messages.error(request, "Only CAB members name delegates.")
        return redirect("cab:delegations")
    return render(request, "cab/delegations.html", {
        "rows": list(selectors.delegation_list(request.user)), "form": form,
        "now": clock.now()}, status=status)


@login_required
@require_POST
def delegation_end(request, pk):
    delegation = selectors.delegation_list(request.user).filter(pk=pk).first()
    if delegation is None:
        raise Http404("No such delegation.")
    try:
        services.delegation_end(delegation=delegation, by=request.user)
    except services.CabRefused as exc:
        messages.error(request, _refusal(exc))
    else:
        messages.success(request, "The delegation has ended.")
    return redirect("cab:delegations")
