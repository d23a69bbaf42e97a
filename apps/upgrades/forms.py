import datetime as dt

from django import forms
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.choices import CallableChoiceIterator
from django.utils.text import format_lazy

from apps.accounts.choices import Duty, Role
from apps.accounts.models import User
from apps.core.widgets import FastDateInput, FastSelect, FastTextInput
from apps.inventory.models import Component, Environment, System

from .choices import RiskClass, State


class LocalDateTimeField(forms.DateTimeField):
    """A date and time typed in the reader's own time zone; cleaned to an aware datetime."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def __init__(self, **kwargs):
        super().__init__(input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"], **kwargs)

    def prepare_value(self, value):
        if isinstance(value, dt.datetime) and timezone.is_aware(value):
            value = timezone.localtime(value)
        return super().prepare_value(value)


class UpgradeRequestForm(forms.Form):
    title = forms.CharField(max_length=200, help_text="What changes, in one line a CAB member understands.")
    justification = forms.CharField(
        widget=forms.Textarea, required=False, max_length=20000,
        help_text="Why this upgrade, why now: end of life, security advisory, feature needed …")
    risk_class = forms.ChoiceField(choices=RiskClass.choices, initial=RiskClass.NORMAL,
                                   help_text="Standard = pre-approved routine change; emergency = urgent fix.")
    window_start = LocalDateTimeField(required=False, label="Requested window start")
    window_end = LocalDateTimeField(required=False, label="Requested window end")
    external_ref = forms.CharField(max_length=80, required=False, label="External reference",
                                   help_text="e.g. the change number in another ITSM tool")
    external_url = forms.URLField(max_length=500, required=False, label="External link", assume_scheme="https")

    def __init__(self, *args, tzname: str = "UTC", **kwargs):
        super().__init__(*args, **kwargs)
        zone = f" (your time zone: {tzname})"
        self.fields["window_start"].help_text = "Entered in your own time zone" + zone
        self.fields["window_end"].help_text = "Stored in UTC and shown to everyone in theirs."

    def clean(self):
        data = super().clean()
        for name in ("title", "justification", "external_ref"):
            if "\x00" in (data.get(name) or ""):
                self.add_error(name, "The text contains a NUL character; remove it.")
        start, end = data.get("window_start"), data.get("window_end")
        if (start is None) != (end is None):
            self.add_error("window_end" if start else "window_start", "Give both the start and the end.")
        if start and end and end <= start:
            self.add_error("window_end", "The window must end after it starts.")
        return data


class WindowForm(forms.Form):
    """The requested window alone: it may still move while the request is assessed and planned."""

    window_start = LocalDateTimeField(label="Requested window start")
    window_end = LocalDateTimeField(label="Requested window end")

    def __init__(self, *args, tzname: str = "UTC", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["window_start"].help_text = f"In your time zone ({tzname}); stored in UTC."

    def clean(self):
        data = super().clean()
        start, end = data.get("window_start"), data.get("window_end")
        if start and end and end <= start:
            self.add_error("window_end", "The window must end after it starts.")
        return data


class ItemForm(forms.Form):
    system = forms.ModelChoiceField(queryset=System.objects.order_by("name"), empty_label="— system —")
    component = forms.ModelChoiceField(
        queryset=Component.objects.select_related("system", "environment").order_by("system__name", "name"),
        required=False, empty_label="— whole system / pick a component —",
        help_text="The component's product and current version are filled in from the inventory.")
    product = forms.CharField(max_length=80, required=False, help_text="Only when no component is picked.")
    current_version = forms.CharField(max_length=40, required=False)
    target_version = forms.CharField(max_length=40)

    def clean(self):
        data = super().clean()
        system, component = data.get("system"), data.get("component")
        if component and system and component.system_id != system.pk:
            self.add_error("component", f"{component.name} belongs to {component.system.name}, not {system.name}.")
        if not component and not data.get("product"):
            self.add_error("product", "Name the product or pick a component.")
        if not component and not data.get("current_version"):
            self.add_error("current_version", "Give the current version or pick a component.")
        for name in ("product", "current_version", "target_version"):
            if "\x00" in (data.get(name) or ""):
                self.add_error(name, "Remove the NUL character.")
        return data

    def as_item(self) -> dict:
        d = self.cleaned_data
        return {"system": d["system"].pk, "component": d["component"].pk if d.get("component") else None,
                "product": d.get("product") or "", "current_version": d.get("current_version") or "",
                "target_version": d["target_version"]}


ItemFormSet = forms.formset_factory(ItemForm, extra=1, min_num=1, validate_min=True, max_num=50,
                                    validate_max=True, can_delete=True)


class TransitionForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=5000)


class AssignForm(forms.Form):
    duty = forms.ChoiceField(choices=[(d, Duty(d).label) for d in (Duty.ASSESSOR, Duty.IMPLEMENTER, Duty.VALIDATOR)])
    user = forms.ModelChoiceField(queryset=User.objects.filter(is_active=True, is_service_account=False),
                                  to_field_name="username", widget=FastSelect)

    def __init__(self, *args, duty: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if duty:
            # the duty comes from the People panel row (a hidden field outside this prefixed form)
            del self.fields["duty"]
            role = {Duty.ASSESSOR: Role.CHANGE_MANAGER, Duty.IMPLEMENTER: Role.IMPLEMENTER,
                    Duty.VALIDATOR: Role.VALIDATOR}[duty]
            self.fields["user"].queryset = self.fields["user"].queryset.filter(groups__name=role).order_by("username")


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10000, label="Comment")


class AttachmentForm(forms.Form):
    file = forms.FileField()


def system_suggest_input(placeholder: str = "Any system") -> forms.TextInput:
    """A text box for a system's slug with a datalist (#system-options, on the page) that the request list
    fills as the reader types: a <select> of every system is thousands of options in a large organisation."""
    url = format_lazy("{}?suggest=system", reverse_lazy("upgrades:list"))
    return FastTextInput(attrs={"list": "system-options", "autocomplete": "off", "placeholder": placeholder,
                                  "hx-get": url, "hx-trigger": "focus once, input changed delay:300ms",
                                  "hx-target": "#system-options", "hx-swap": "innerHTML", "hx-push-url": "false"})


def environment_options() -> list[tuple[str, str]]:
    """The environments as (slug, name) in their order, for the list's filter on every page view: remembered
    for TOLLGATE_FORM_OPTIONS_SECONDS and forgotten at the next write that may change them
    (audit.selectors.newest_shown_seq is in the key); 0 = read every time (the test suite)."""
    from django.conf import settings
    from django.core.cache import cache

    from apps.audit.selectors import newest_shown_seq

    seconds = getattr(settings, "TOLLGATE_FORM_OPTIONS_SECONDS", 0)
    if not seconds:
        return list(Environment.objects.values_list("slug", "name"))
    key = f"tollgate:environment-options:{newest_shown_seq()}"
    options = cache.get(key)
    if options is None:
        options = list(Environment.objects.values_list("slug", "name"))
        cache.set(key, options, seconds)
    return options


class FilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", max_length=200, widget=FastTextInput)
    state = forms.ChoiceField(choices=[("", "Any state")] + list(State.choices), required=False,
                              widget=FastSelect)
    risk_class = forms.ChoiceField(choices=[("", "Any risk")] + list(RiskClass.choices), required=False,
                                   label="Risk class", widget=FastSelect)
    # typed, with suggestions fetched as the reader types: a <select> of every system (thousands in a large
    # organisation) made the list page slow to render and to use
    system = forms.ModelChoiceField(
        queryset=System.objects.order_by("name"), required=False, to_field_name="slug",
        widget=system_suggest_input())
    environment = forms.ModelChoiceField(queryset=Environment.objects.all(), required=False,
                                         to_field_name="slug", empty_label="Any environment", widget=FastSelect)
    requester = forms.CharField(required=False, max_length=150, widget=FastTextInput)
    created_from = forms.DateField(required=False, label="Created from",
                                   widget=FastDateInput(attrs={"type": "date"}))
    created_to = forms.DateField(required=False, label="to", widget=FastDateInput(attrs={"type": "date"}))
    sort = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # the options as (slug, name), remembered until the next write (the field's queryset still validates)
        # (read when the form is drawn: an htmx request redraws the table alone)
        self.fields["environment"].widget.choices = CallableChoiceIterator(
            lambda: [("", "Any environment"), *environment_options()])

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        d = dict(self.cleaned_data)
        d["system"] = d["system"].slug if d.get("system") else ""
        d["environment"] = d["environment"].slug if d.get("environment") else ""
        return {k: v for k, v in d.items() if v}
