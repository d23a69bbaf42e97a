"""Forms of the plan page. They only parse what the browser sends; the services validate and refuse."""

import datetime as dt

from django import forms
from django.db.models import Q

from apps.accounts.choices import Duty
from apps.inventory.models import Component, Dependency, Environment, System

from .models import (DataMigrationScope, Layer, Runbook, StepAction, Strategy, TierMode, TriggerAction,
                     TriggerKind)


class WallClockField(forms.DateTimeField):
    """A date and time as typed (no zone attached): the service reads it in the planner's time zone,
    so a time that does not exist or exists twice there is refused with words, not guessed."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def __init__(self, **kwargs):
        super().__init__(input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"], **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        for fmt in self.input_formats:
            try:
                return dt.datetime.strptime(str(value).strip(), fmt)
            except ValueError:
                continue
        raise forms.ValidationError("Enter a date and time such as 2026-12-06 01:00.", code="invalid")


def _no_nul(form, *names):
    for name in names:
        if "\x00" in str(form.data.get(form.add_prefix(name), "")):
            form.add_error(name, "The text contains a NUL character; remove it.")


class StrategyForm(forms.Form):
    strategy = forms.ChoiceField(choices=Strategy.choices, widget=forms.RadioSelect, label="Rollout strategy")
    strategy_justification = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}), label="Justification",
        help_text="Needed when you choose another strategy than the one Tollgate recommends.")


class DataMigrationForm(forms.Form):
    data_migration_scope = forms.ChoiceField(choices=DataMigrationScope.choices, label="Scope")
    data_migration_volume = forms.CharField(required=False, max_length=120, label="Volume",
                                            help_text="e.g. 1.2 TB, 40 million rows.")
    data_migration_method = forms.CharField(required=False, max_length=5000, label="Method",
                                            widget=forms.Textarea(attrs={"rows": 2}))
    data_migration_verification = forms.CharField(required=False, max_length=5000, label="Verification",
                                                  widget=forms.Textarea(attrs={"rows": 2}),
                                                  help_text="How you prove no data was lost or changed.")


class WaveForm(forms.Form):
    name = forms.CharField(max_length=120, label="Wave name", help_text="e.g. Wave 1: pilot branch systems.")
    environment = forms.ModelChoiceField(queryset=Environment.objects.all(), required=False,
                                         empty_label="— environment —")
    systems = forms.ModelMultipleChoiceField(queryset=System.objects.none(), required=False,
                                             widget=forms.CheckboxSelectMultiple)
    window_start = WallClockField(required=False, label="Window start")
    window_end = WallClockField(required=False, label="Window end")
    entry_criteria = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}),
                                     label="Entry criteria", help_text="What must be true before the wave starts.")
    exit_criteria = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}),
                                    label="Exit criteria", help_text="What must be true before the next wave.")

    def __init__(self, *args, request=None, tzname: str = "UTC", **kwargs):
        super().__init__(*args, **kwargs)
        if request is not None:
            self.fields["systems"].queryset = System.objects.filter(
                pk__in=request.items.values("system_id")).order_by("name")
        self.fields["window_start"].help_text = f"In your time zone ({tzname}); stored in UTC."
        self.fields["window_end"].help_text = "A window may cross midnight; give the end date."

    def clean(self):
        data = super().clean()
        _no_nul(self, "name", "entry_criteria", "exit_criteria")
        return data

    def service_data(self) -> dict:
        d = dict(self.cleaned_data)
        d["environment"] = d["environment"].pk if d.get("environment") else None
        d["systems"] = [s.pk for s in d.get("systems") or []]
        return d


class TierForm(forms.Form):
    layer = forms.ChoiceField(choices=Layer.choices)
    mode = forms.ChoiceField(choices=TierMode.choices, label="Within the tier")
    systems = forms.TypedMultipleChoiceField(choices=(), coerce=int, required=False,
                                             widget=forms.CheckboxSelectMultiple)
    reason = forms.CharField(max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="Why this order, e.g. “the database before the application that uses it”.")

    def __init__(self, *args, request=None, system_choices=None, **kwargs):
        """`system_choices` [(id, name)] read once for every wave's tier form on a page."""
        super().__init__(*args, **kwargs)
        if system_choices is None and request is not None:
            system_choices = affected_choices(request)
        self.fields["systems"].choices = system_choices or []

    def service_data(self) -> dict:
        return dict(self.cleaned_data)


def affected_choices(request) -> list[tuple[int, str]]:
    return list(System.objects.filter(pk__in=request.items.values("system_id")).order_by("name")
                .values_list("pk", "name"))


class TriggerForm(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=TriggerKind.choices, label="Kind")
    threshold = forms.CharField(required=False, max_length=30,
                                help_text="N failures, X %, Y points, X ms, Z × baseline or availability %; "
                                          "empty for a manual trigger.")
    evaluation_window_minutes = forms.CharField(max_length=6, initial="5", label="Evaluation window (minutes)")
    action = forms.ChoiceField(choices=TriggerAction.choices)
    system = forms.ModelChoiceField(queryset=System.objects.none(), required=False,
                                    empty_label="— every changed system —")
    notes = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        if request is not None:
            self.fields["system"].queryset = System.objects.filter(
                pk__in=request.items.values("system_id")).order_by("name")

    def service_data(self) -> dict:
        d = dict(self.cleaned_data)
        d["system"] = d["system"].pk if d.get("system") else None
        return d


def component_choices(request):
    """Components of the changed systems and of the systems they depend on or that depend on them."""
    ids = set(request.items.values_list("system_id", flat=True))
    linked = Dependency.objects.filter(Q(source_system_id__in=ids) | Q(target_system_id__in=ids))
    ids |= set(linked.values_list("source_system_id", flat=True)) | set(linked.values_list("target_system_id",
                                                                                          flat=True))
    return Component.objects.filter(system_id__in=ids).select_related("system", "environment") \
        .order_by("system__name", "environment__order", "name")


class ComponentChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.system.name} · {obj.name} ({obj.environment.name})"


class StepForm(forms.Form):
    runbook = forms.ChoiceField(choices=Runbook.choices)
    key = forms.CharField(max_length=40, help_text="Short name other steps use to wait for this one, e.g. stop-app.")
    title = forms.CharField(max_length=200)
    action = forms.ChoiceField(choices=StepAction.choices, label="What the step does")
    component = ComponentChoice(queryset=Component.objects.none(), required=False, empty_label="— no component —")
    owner_duty = forms.ChoiceField(choices=[(Duty.IMPLEMENTER.value, Duty.IMPLEMENTER.label),
                                            (Duty.VALIDATOR.value, Duty.VALIDATOR.label)], label="Owner")
    expected_minutes = forms.CharField(max_length=5, label="Expected duration (minutes)")
    depends_on = forms.CharField(required=False, max_length=2000, label="Waits for",
                                 help_text="Keys of the steps that must finish first, separated by commas.")
    wave = forms.ChoiceField(required=False, choices=[("", "— first wave —")])
    is_outage = forms.BooleanField(required=False, label="The service is down during this step")
    instructions = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 3}),
                                   help_text="The command to run or what to do.")
    verification = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}),
                                   help_text="How to tell the step worked.")

    def __init__(self, *args, request=None, waves=(), **kwargs):
        super().__init__(*args, **kwargs)
        if request is not None:
            self.fields["component"].queryset = component_choices(request)
        self.fields["wave"].choices = [("", "— first wave —")] + [(str(w.pk), f"Wave {w.position}: {w.name}")
                                                                  for w in waves]

    def clean(self):
        data = super().clean()
        _no_nul(self, "key", "title", "instructions", "verification", "depends_on")
        return data

    def service_data(self) -> dict:
        d = dict(self.cleaned_data)
        d["component"] = d["component"].pk if d.get("component") else None
        d["wave"] = int(d["wave"]) if d.get("wave") else None
        d["depends_on"] = [k.strip() for k in (d.get("depends_on") or "").replace(";", ",").split(",") if k.strip()]
        return d


class FallbackForm(forms.Form):
    integration = forms.IntegerField(widget=forms.HiddenInput)
    procedure = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 2}),
                                label="Fallback procedure",
                                help_text="What happens to this integration if the upgrade goes wrong.")
    contact = forms.CharField(required=False, max_length=200, label="Contact at the partner")


class DiffForm(forms.Form):
    a = forms.IntegerField(min_value=1, label="From version")
    b = forms.IntegerField(min_value=1, label="To version")
