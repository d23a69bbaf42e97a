"""Forms of the calendar pages; they only shape input, the services validate and write."""

import datetime as dt

from django import forms

from apps.accounts.models import Team
from apps.core.widgets import FastSelect
from apps.inventory.models import System
from apps.upgrades.choices import RiskClass
from apps.upgrades.forms import system_suggest_input

from ..models import FreezeScope

DAYS = [("MO", "Monday"), ("TU", "Tuesday"), ("WE", "Wednesday"), ("TH", "Thursday"), ("FR", "Friday"),
        ("SA", "Saturday"), ("SU", "Sunday")]
REPEATS = [("weekly", "Every week, on the days ticked"), ("daily", "Every day"),
           ("custom", "A custom recurrence rule (RFC 5545)")]


def _regions() -> list[tuple[str, str]]:
    names = System.objects.order_by("region").values_list("region", flat=True).distinct()
    return [(r, r) for r in names if r]


class DateTimeLocal(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self):
        super().__init__(format="%Y-%m-%dT%H:%M")


class FreezeForm(forms.Form):
    name = forms.CharField(max_length=120, label="Name", help_text="e.g. Year-end freeze 2026.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000,
                             label="Why nothing may change", help_text="Shown to everybody whose change it blocks.")
    scope = forms.ChoiceField(choices=FreezeScope.choices, label="Applies to")
    region = forms.ChoiceField(required=False, label="Region", help_text="Only when it applies to a region.")
    systems = forms.ModelMultipleChoiceField(queryset=System.objects.all(), required=False, label="Systems",
                                             help_text="Only when it applies to named systems.")
    starts_at = forms.DateTimeField(widget=DateTimeLocal(), label="Starts",
                                    help_text="In your time zone.")
    ends_at = forms.DateTimeField(widget=DateTimeLocal(), label="Ends", help_text="In your time zone.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", "—")] + _regions()


class LiftForm(forms.Form):
    reason = forms.CharField(max_length=5000, label="Why the freeze ends early",
                             widget=forms.Textarea(attrs={"rows": 2}))


class ApprovedWindowForm(forms.Form):
    system = forms.ModelChoiceField(queryset=System.objects.all(), label="System")
    label = forms.CharField(max_length=120, label="Name", help_text="e.g. Sunday early morning.")
    repeats = forms.ChoiceField(choices=REPEATS, label="Repeats", initial="weekly")
    days = forms.MultipleChoiceField(choices=DAYS, required=False, widget=forms.CheckboxSelectMultiple,
                                     label="Days")
    rrule = forms.CharField(max_length=300, required=False, label="Custom rule",
                            help_text="Only for a custom rule, e.g. FREQ=MONTHLY;BYDAY=1SU (first Sunday).")
    start_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                                 label="Starts at (local time)")
    duration_minutes = forms.IntegerField(min_value=1, max_value=1440, label="Length in minutes", initial=240)
    timezone = forms.CharField(max_length=64, label="Time zone",
                               help_text="Where the local time applies, e.g. Europe/Berlin.")
    valid_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="First day")
    valid_until = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), required=False,
                                  label="Last day", help_text="Leave empty if it has no end.")

    def clean(self):
        data = super().clean()
        repeats = data.get("repeats")
        if repeats == "weekly":
            if not data.get("days"):
                self.add_error("days", "Tick at least one day.")
            else:
                data["rrule"] = "FREQ=WEEKLY;BYDAY=" + ",".join(data["days"])
        elif repeats == "daily":
            data["rrule"] = "FREQ=DAILY"
        elif repeats == "custom" and not (data.get("rrule") or "").strip():
            self.add_error("rrule", "Give the rule, e.g. FREQ=WEEKLY;BYDAY=SU.")
        return data

    def service_data(self) -> dict:
        keys = ("system", "label", "rrule", "start_time", "duration_minutes", "timezone", "valid_from", "valid_until")
        return {k: self.cleaned_data.get(k) for k in keys}


class AcceptForm(forms.Form):
    justification = forms.CharField(max_length=5000, label="Why this conflict is acceptable",
                                    widget=forms.Textarea(attrs={"rows": 2}))


class ExceptionForm(forms.Form):
    freeze = forms.ModelChoiceField(queryset=None, label="Freeze")
    reason = forms.CharField(max_length=5000, label="Why this change cannot wait for the freeze to end",
                             widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, freezes=None, **kwargs):
        super().__init__(*args, **kwargs)
        from ..models import Freeze

        self.fields["freeze"].queryset = freezes if freezes is not None else Freeze.objects.none()
        choices = list(self.fields["freeze"].queryset[:2])
        if len(choices) == 1:
            self.fields["freeze"].initial = choices[0].pk


class FeedForm(forms.Form):
    name = forms.CharField(max_length=80, label="Name of the feed", help_text="e.g. My team's changes.")
    # typed, with suggestions (like the request list's filter): a <select> of every system is thousands of
    # options in a large organisation
    system = forms.CharField(required=False, label="System", max_length=100, widget=system_suggest_input("Any"),
                             help_text="Type part of its name and pick it from the suggestions.")
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, label="Team", empty_label="Any",
                                  widget=FastSelect)
    region = forms.ChoiceField(required=False, label="Region", widget=FastSelect)
    risk = forms.ChoiceField(choices=[("", "Any")] + list(RiskClass.choices), required=False, label="Risk class",
                             widget=FastSelect)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", "Any")] + _regions()
        # drawn from (id, name) pairs, not a Team instance each (a team is shown by its name)
        self.fields["team"].widget.choices = [("", "Any")] + list(
            Team.objects.order_by("name").values_list("pk", "name"))

    def clean_system(self):
        """The typed system: its slug (as suggested) or its id; "" for any."""
        value = (self.cleaned_data.get("system") or "").strip()
        if not value:
            return None
        qs = System.objects.filter(pk=int(value)) if value.isdigit() and len(value) < 10 else \
            System.objects.filter(slug=value)
        system = qs.first() if "\x00" not in value else None
        if system is None:
            raise forms.ValidationError("Choose a system from the suggestions.")
        return system

    def filters(self) -> dict:
        d = self.cleaned_data
        out = {}
        if d.get("system"):
            out["system"] = str(d["system"].pk)
        if d.get("team"):
            out["team"] = str(d["team"].pk)
        if d.get("region"):
            out["region"] = d["region"]
        if d.get("risk"):
            out["risk"] = d["risk"]
        return out


class FilterForm(FeedForm):
    """The calendar's filters (the feed form without a name); the system is typed (its slug, with
    suggestions) instead of picked from every system of the inventory; calendar_filters checks it."""

    name = None
    system = forms.CharField(required=False, label="System", max_length=100, widget=system_suggest_input("Any"))

    def clean_system(self):
        return self.cleaned_data.get("system")  # calendar_filters checks it (and says why it is refused)


def month_start(value: str | None, today: dt.date) -> dt.date:
    try:
        year, month = (int(x) for x in (value or "").split("-", 1))
        if 1900 <= year <= 2999:
            return dt.date(year, month, 1)
    except (ValueError, TypeError):
        pass
    return today.replace(day=1)
