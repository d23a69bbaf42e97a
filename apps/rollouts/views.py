"""The rollout plan pages of a request. Every write calls a service; reads go through selectors."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.upgrades.choices import State
from apps.upgrades.selectors import upgrade_get

from . import selectors, services
from .forms import (DataMigrationForm, DiffForm, FallbackForm, StepForm, StrategyForm, TierForm, TriggerForm,
                    WaveForm)
from .models import IntegrationFallback, RollbackTrigger, RunbookStep, Wave, WaveTier
from .versions import diff


def _zone(request) -> str:
    return getattr(request.user, "timezone", "") or "UTC"


def _here(upgrade, anchor: str = "") -> str:
    return reverse("rollouts:plan", args=[upgrade.reference]) + (f"#{anchor}" if anchor else "")


def _gate(upgrade, analysis) -> list[str]:
    """What still blocks submitting to the CAB: every app's gates while planning, the plan's own otherwise."""
    if upgrade.state == State.PLANNING:
        from apps.upgrades.gates import gate_reasons

        return gate_reasons(upgrade, "submit_to_cab")
    return selectors.gate_reasons(analysis)


def _page(request, upgrade, *, bound: dict | None = None, status: int = 200):
    bound = bound or {}
    analysis = selectors.plan_analysis(upgrade)
    plan = analysis.plan
    can_edit = not services.edit_blockers(upgrade, request.user)
    tz = _zone(request)
    waves = [v.wave for v in analysis.waves]
    context = {
        "upgrade": upgrade,
        "plan": plan,
        "a": analysis,
        "can_edit": can_edit,
        "editable_state": upgrade.state in services.EDIT_STATES,
        "gate": _gate(upgrade, analysis) if upgrade.state in services.EDIT_STATES else [],
        "versions": selectors.versions_of(upgrade)[:5],
        "tz": tz,
        "threshold_text": selectors.threshold_text,
    }
    if can_edit:
        initial_strategy = {"strategy": (plan.strategy if plan and plan.strategy else analysis.recommendation.strategy),
                            "strategy_justification": plan.strategy_justification if plan else ""}
        initial_data = {f: getattr(plan, f) for f in services.PLAN_FIELDS if f.startswith("data_")} if plan else {}
        context.update({
            "strategy_form": bound.get("strategy") or StrategyForm(initial=initial_strategy),
            "data_form": bound.get("data") or DataMigrationForm(initial=initial_data),
            "wave_form": bound.get("wave") or WaveForm(request=upgrade, tzname=tz, prefix="wave",
                                                       initial={"name": f"Wave {len(waves) + 1}"}),
            "trigger_form": bound.get("trigger") or TriggerForm(request=upgrade, prefix="trigger"),
            "step_form": bound.get("step") or StepForm(request=upgrade, waves=waves, prefix="step"),
            "fallback_errors": bound.get("fallback_errors") or {},
        })
        shown = {str(i.pk) for i in analysis.integrations}
        context["fallback_general"] = [e for k, errs in context["fallback_errors"].items() if k not in shown
                                       for e in errs.values()]
        choices = [(s.pk, s.name) for s in analysis.affected]
        for view in analysis.waves:
            view.tier_form = (bound["tier"] if bound.get("tier_wave") == view.wave.pk
                              else TierForm(system_choices=choices, prefix=f"tier-{view.wave.pk}"))
    for row in analysis.integrations:
        row.fallback = analysis.fallbacks.get(row.pk)
    return render(request, "rollouts/plan.html", context, status=status)


def _errors_to(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _refusal(request, exc) -> None:
    messages.error(request, " ".join(getattr(exc, "reasons", None) or [str(exc)]))


def _write(request, upgrade, form, call, *, key: str, anchor: str, done: str, extra: dict | None = None):
    """Validate `form`, call the service; redirect on success, re-render with the errors (400) otherwise."""
    if form.is_valid():
        try:
            call(form)
        except ValidationError as exc:
            _errors_to(form, exc)
        except services.PlanRefused as exc:
            _refusal(request, exc)
            return redirect(_here(upgrade))
        else:
            messages.success(request, done)
            return redirect(_here(upgrade, anchor))
    return _page(request, upgrade, bound={key: form, **(extra or {})}, status=400)


@login_required
def plan_detail(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    return _page(request, upgrade)


@login_required
@require_POST
def strategy_save(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    form = StrategyForm(request.POST)
    return _write(request, upgrade, form,
                  lambda f: services.plan_update(request=upgrade, by=request.user, **f.cleaned_data),
                  key="strategy", anchor="strategy", done="Strategy saved.")


@login_required
@require_POST
def data_migration_save(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    form = DataMigrationForm(request.POST)
    return _write(request, upgrade, form,
                  lambda f: services.plan_update(request=upgrade, by=request.user, **f.cleaned_data),
                  key="data", anchor="data", done="Data migration scope saved.")


@login_required
@require_POST
def wave_add(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    form = WaveForm(request.POST, request=upgrade, tzname=_zone(request), prefix="wave")
    return _write(request, upgrade, form,
                  lambda f: services.wave_add(request=upgrade, by=request.user, timezone=_zone(request),
                                              **f.service_data()),
                  key="wave", anchor="waves", done="Wave added.")


def _owned(model, upgrade, pk, **related):
    qs = model.objects.filter(pk=pk)
    path = "wave__plan__request" if model is WaveTier else "plan__request"
    obj = qs.filter(**{path: upgrade}).first()
    if obj is None:
        raise Http404("No such item in this plan.")
    return obj


@login_required
def wave_edit(request, reference, pk):
    upgrade = upgrade_get(user=request.user, reference=reference)
    wave = _owned(Wave, upgrade, pk)
    tz = _zone(request)
    blockers = services.edit_blockers(upgrade, request.user)
    if request.method == "POST":
        form = WaveForm(request.POST, request=upgrade, tzname=tz)
        if form.is_valid():
            try:
                services.wave_update(wave=wave, by=request.user, timezone=tz, **form.service_data())
            except ValidationError as exc:
                _errors_to(form, exc)
            except services.PlanRefused as exc:
                _refusal(request, exc)
                return redirect(_here(upgrade))
            else:
                messages.success(request, f"Wave {wave.position} saved.")
                return redirect(_here(upgrade, f"wave-{wave.pk}"))
        status = 400
    else:
        if blockers:
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied(" ".join(blockers))
        form = WaveForm(request=upgrade, tzname=tz, initial={
            "name": wave.name, "environment": wave.environment_id, "systems": list(wave.systems.all()),
            "window_start": _local(wave.window_start, tz), "window_end": _local(wave.window_end, tz),
            "entry_criteria": wave.entry_criteria, "exit_criteria": wave.exit_criteria})
        status = 200
    return render(request, "rollouts/wave_form.html", {"upgrade": upgrade, "wave": wave, "form": form, "tz": tz},
                  status=status)


def _local(value, tz):
    import zoneinfo

    return value.astimezone(zoneinfo.ZoneInfo(tz)).replace(tzinfo=None) if value else None


def _delete(request, reference, model, pk, remove, *, done: str, anchor: str):
    """Remove one part of the plan through its service; a refusal is shown in words, never a 500."""
    upgrade = upgrade_get(user=request.user, reference=reference)
    obj = _owned(model, upgrade, pk)
    try:
        remove(obj)
    except services.PlanRefused as exc:
        _refusal(request, exc)
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
    else:
        messages.success(request, done)
    return redirect(_here(upgrade, anchor))


@login_required
@require_POST
def wave_delete(request, reference, pk):
    return _delete(request, reference, Wave, pk,
                   lambda obj: services.wave_delete(wave=obj, by=request.user), done="Wave removed.", anchor="waves")


@login_required
@require_POST
def tier_add(request, reference, pk):
    upgrade = upgrade_get(user=request.user, reference=reference)
    wave = _owned(Wave, upgrade, pk)
    form = TierForm(request.POST, request=upgrade, prefix=f"tier-{wave.pk}")
    return _write(request, upgrade, form,
                  lambda f: services.tier_add(wave=wave, by=request.user, **f.service_data()),
                  key="tier", anchor=f"wave-{wave.pk}", done="Tier added.", extra={"tier_wave": wave.pk})


@login_required
@require_POST
def tier_delete(request, reference, pk):
    return _delete(request, reference, WaveTier, pk,
                   lambda obj: services.tier_delete(tier=obj, by=request.user), done="Tier removed.", anchor="waves")


@login_required
@require_POST
def trigger_add(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    form = TriggerForm(request.POST, request=upgrade, prefix="trigger")
    return _write(request, upgrade, form,
                  lambda f: services.trigger_add(request=upgrade, by=request.user, **f.service_data()),
                  key="trigger", anchor="triggers", done="Rollback trigger added.")


@login_required
@require_POST
def trigger_delete(request, reference, pk):
    return _delete(request, reference, RollbackTrigger, pk,
                   lambda obj: services.trigger_delete(trigger=obj, by=request.user), done="Rollback trigger removed.", anchor="triggers")


@login_required
@require_POST
def step_add(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    plan = selectors.plan_get(upgrade)
    waves = list(plan.waves.all()) if plan else []
    form = StepForm(request.POST, request=upgrade, waves=waves, prefix="step")
    return _write(request, upgrade, form,
                  lambda f: services.step_add(request=upgrade, by=request.user, **f.service_data()),
                  key="step", anchor="runbook", done="Runbook step added.")


@login_required
def step_edit(request, reference, pk):
    upgrade = upgrade_get(user=request.user, reference=reference)
    step = _owned(RunbookStep, upgrade, pk)
    waves = list(step.plan.waves.all())
    if request.method == "POST":
        form = StepForm(request.POST, request=upgrade, waves=waves)
        if form.is_valid():
            try:
                services.step_update(step=step, by=request.user, **form.service_data())
            except ValidationError as exc:
                _errors_to(form, exc)
            except services.PlanRefused as exc:
                _refusal(request, exc)
                return redirect(_here(upgrade))
            else:
                messages.success(request, f"Step “{step.key}” saved.")
                return redirect(_here(upgrade, "runbook"))
        status = 400
    else:
        blockers = services.edit_blockers(upgrade, request.user)
        if blockers:
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied(" ".join(blockers))
        form = StepForm(request=upgrade, waves=waves, initial={
            "runbook": step.runbook, "key": step.key, "title": step.title, "action": step.action,
            "component": step.component_id, "owner_duty": step.owner_duty,
            "expected_minutes": step.expected_minutes,
            "depends_on": ", ".join(sorted(step.depends_on.values_list("key", flat=True))),
            "wave": str(step.wave_id or ""), "is_outage": step.is_outage, "instructions": step.instructions,
            "verification": step.verification})
        status = 200
    return render(request, "rollouts/step_form.html", {"upgrade": upgrade, "step": step, "form": form},
                  status=status)


@login_required
@require_POST
def step_delete(request, reference, pk):
    return _delete(request, reference, RunbookStep, pk,
                   lambda obj: services.step_delete(step=obj, by=request.user), done="Runbook step removed.", anchor="runbook")


@login_required
@require_POST
def fallback_save(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    form = FallbackForm(request.POST)
    if form.is_valid():
        try:
            services.fallback_set(request=upgrade, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            errors = {k: " ".join(v) for k, v in exc.message_dict.items()}
        except services.PlanRefused as exc:
            _refusal(request, exc)
            return redirect(_here(upgrade))
        else:
            messages.success(request, "Fallback saved.")
            return redirect(_here(upgrade, "fallbacks"))
    else:
        errors = {k: " ".join(v) for k, v in form.errors.items()}
    return _page(request, upgrade, bound={"fallback_errors": {form.data.get("integration"): errors}}, status=400)


@login_required
@require_POST
def fallback_delete(request, reference, pk):
    return _delete(request, reference, IntegrationFallback, pk,
                   lambda obj: services.fallback_delete(fallback=obj, by=request.user), done="Fallback removed.", anchor="fallbacks")


# --- versions ------------------------------------------------------------------------------------------


@login_required
def version_list(request, reference):
    upgrade = upgrade_get(user=request.user, reference=reference)
    versions = selectors.versions_of(upgrade)
    form = DiffForm(request.GET or None)
    changes, pair = None, None
    if form.is_bound and form.is_valid():
        a = selectors.version_get(upgrade, form.cleaned_data["a"])
        b = selectors.version_get(upgrade, form.cleaned_data["b"])
        if a is None or b is None:
            form.add_error(None, "Pick two versions of this plan.")
        else:
            changes, pair = diff(a.content, b.content), (a, b)
    elif not form.is_bound and len(versions) >= 2:
        pair = (versions[1], versions[0])
        changes = diff(pair[0].content, pair[1].content)
        form = DiffForm(initial={"a": pair[0].number, "b": pair[1].number})
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "rollouts/versions.html", {"upgrade": upgrade, "versions": versions, "form": form,
                                                      "changes": changes, "pair": pair}, status=status)


@login_required
def version_detail(request, reference, number):
    upgrade = upgrade_get(user=request.user, reference=reference)
    version = selectors.version_get(upgrade, number)
    if version is None:
        raise Http404("No such plan version.")
    import json

    from .versions import canonical_json

    return render(request, "rollouts/version.html", {
        "upgrade": upgrade, "version": version, "canonical": canonical_json(version.content),
        "pretty": json.dumps(version.content, indent=2, sort_keys=True, ensure_ascii=False)})

