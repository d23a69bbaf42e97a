"""The assessment page of a request. Every write calls a service; reads go through selectors."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts import duties
from apps.accounts.choices import Duty
from apps.upgrades.choices import State
from apps.upgrades.selectors import upgrade_get

from . import selectors, services
from .choices import AssessmentStatus, Resolution
from .forms import FindingForm, ResolveForm

PARTIALS = [
    # (template, context name, module, function, takes depth)
    ("assessments/partials/dependency_map.html", "blast", "graph", "blast_radius", True),
    ("assessments/partials/lifecycle_timeline.html", "timeline", "lifecycle", "timeline", False),
    ("assessments/partials/capacity.html", "capacity", "capacity", "capacity_summary", False),
    ("assessments/partials/checklists.html", None, None, None, False),
]


def _partials(upgrade, assessment) -> tuple[list[str], dict]:
    import importlib

    included, context = [], {}
    for template, name, module, function, takes_depth in PARTIALS:
        try:
            get_template(template)
        except TemplateDoesNotExist:
            continue
        if name is not None:
            try:
                fn = getattr(importlib.import_module(f"apps.assessments.{module}"), function)
            except (ImportError, AttributeError):
                continue
            kwargs = {"depth": assessment.depth} if takes_depth and assessment else {}
            context[name] = fn(upgrade, **kwargs)
        elif assessment is None:
            continue
        included.append(template)
    return included, context


def _page(request, upgrade, *, finding_form=None, resolve_errors=None, status=200):
    assessment = selectors.assessment_for(upgrade)
    held = duties.duties_of(request.user, upgrade)
    assessor, requester = Duty.ASSESSOR in held, Duty.REQUESTER in held
    assessing = upgrade.state == State.ASSESSING
    findings, stale, system_findings, run = [], [], [], None
    if assessment is not None:
        all_findings = list(selectors.findings_of(assessment, include_stale=True))
        findings = [f for f in all_findings if not f.stale]
        stale = [f for f in all_findings if f.stale]
        system_findings = list(selectors.system_findings(upgrade))
        run = selectors.last_run(assessment)
        for f in findings + system_findings:
            f.form_errors = (resolve_errors or {}).get(f.pk)
    included, partial_context = _partials(upgrade, assessment)
    context = {
        "upgrade": upgrade,
        "assessment": assessment,
        "groups": selectors.grouped(findings),
        "stale": stale,
        "system_findings": system_findings,
        "last_run": run,
        "factors": assessment.risk_factors if assessment else [],
        "can_start": assessor and assessing and assessment is None,
        "can_run": assessor and assessing and assessment is not None,
        "can_complete": (assessor and assessing and assessment is not None
                         and assessment.status != AssessmentStatus.COMPLETED),
        "can_add": (assessor or requester) and assessing and assessment is not None,
        "can_resolve": (assessor or requester) and assessing,
        "can_accept": assessor and assessing,
        "finding_form": finding_form or FindingForm(),
        "resolve_errors": resolve_errors or {},
        "resolutions": [(r.value, r.label) for r in services.RESOLUTIONS],
        "open": Resolution.OPEN,
        "partials": included,
        **partial_context,
    }
    return render(request, "assessments/assessment.html", context, status=status)


@login_required
def assessment_detail(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    return _page(request, upgrade)


def _here(upgrade) -> str:
    return reverse("assessments:detail", args=[upgrade.reference])


def _refusal(request, exc) -> None:
    messages.error(request, " ".join(getattr(exc, "reasons", None) or [str(exc)]))


@login_required
@require_POST
def assessment_start_view(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    try:
        services.assessment_start(request=upgrade, by=request.user)
    except services.AssessmentRefused as exc:
        _refusal(request, exc)
    else:
        messages.success(request, "Assessment started and run.")
    return redirect(_here(upgrade))


@login_required
@require_POST
def assessment_run_view(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    assessment = selectors.assessment_for(upgrade)
    if assessment is None:
        messages.error(request, "Start the assessment first.")
        return redirect(_here(upgrade))
    try:
        run = services.assessment_run(assessment=assessment, by=request.user)
    except services.AssessmentRefused as exc:
        _refusal(request, exc)
        return redirect(_here(upgrade))
    messages.success(request, f"Re-run: {len(run.added)} new, {len(run.removed)} gone, "
                              f"{len(run.changed)} changed.")
    return redirect(_here(upgrade))


@login_required
@require_POST
def assessment_complete_view(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    assessment = selectors.assessment_for(upgrade)
    if assessment is None:
        messages.error(request, "Start the assessment first.")
        return redirect(_here(upgrade))
    try:
        services.assessment_complete(assessment=assessment, by=request.user)
    except services.AssessmentRefused as exc:
        _refusal(request, exc)
    else:
        messages.success(request, "Assessment completed.")
    return redirect(_here(upgrade))


@login_required
@require_POST
def finding_add_view(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    assessment = selectors.assessment_for(upgrade)
    form = FindingForm(request.POST)
    if assessment is None:
        form.add_error(None, "Start the assessment first.")
    elif form.is_valid():
        try:
            services.finding_add(assessment=assessment, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        except services.AssessmentRefused as exc:
            form.add_error(None, " ".join(exc.reasons))
        else:
            messages.success(request, "Finding added.")
            return redirect(_here(upgrade))
    return _page(request, upgrade, finding_form=form, status=400)


@login_required
@require_POST
def finding_resolve_view(request, reference, pk):
    upgrade = upgrade_get(user=request.user, reference=reference)
    finding = selectors.finding_visible_get(user=request.user, pk=pk)
    assessment = selectors.assessment_for(upgrade)
    belongs = (finding.assessment_id == getattr(assessment, "pk", None)
               or (finding.assessment_id is None
                   and upgrade.items.filter(system_id=finding.system_id).exists()))
    if not belongs:
        from django.http import Http404

        raise Http404("No such finding on this assessment.")
    form = ResolveForm(request.POST)
    errors = {}
    if form.is_valid():
        try:
            services.finding_resolve(finding=finding, by=request.user, request=upgrade, **form.cleaned_data)
        except ValidationError as exc:
            errors = {k: " ".join(v) for k, v in exc.message_dict.items()}
        except services.AssessmentRefused as exc:
            errors = {"__all__": " ".join(exc.reasons)}
        else:
            messages.success(request, f"“{finding.title}”: {form.cleaned_data['resolution']}.")
            return redirect(_here(upgrade))
    else:
        errors = {k: " ".join(v) for k, v in form.errors.items()}
    return _page(request, upgrade, resolve_errors={finding.pk: errors}, status=400)
