import datetime as dt

from django import forms

from apps.core.widgets import FastSelect
from apps.upgrades.choices import RiskClass
from apps.upgrades.forms import system_suggest_input

from .choices import Delivery, Frequency
from .kpis import Period
from .selectors import default_period

MAX_DAYS = 3 * 366
PRESETS = [("", "Custom dates"), ("30d", "Last 30 days"), ("quarter", "Last 3 months"),
           ("12m", "Last 12 months"), ("last_month", "Previous calendar month")]
DEFAULT_LABEL = "Last 12 months, or the dates you give"


class PeriodForm(forms.Form):
    """The period and filters of the dashboard, its lists, the exports, the reports and the API."""

    preset = forms.ChoiceField(label="Period", choices=PRESETS, required=False, widget=FastSelect)
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            help_text="First day (UTC).")
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}),
                          help_text="Last day, included (UTC).")
    team = forms.ChoiceField(label="Team", required=False, widget=FastSelect)
    # typed, with suggestions fetched as the reader types (as on the request list): a <select> of every
    # system is thousands of options in a large organisation, and rendering them was most of the page's time
    system = forms.CharField(label="System", required=False, max_length=100,
                             widget=system_suggest_input("All systems"))
    environment = forms.ChoiceField(label="Environment", required=False, widget=FastSelect)
    region = forms.ChoiceField(label="Region", required=False, widget=FastSelect)
    risk_class = forms.ChoiceField(label="Risk class", required=False, widget=FastSelect,
                                   choices=[("", "All risk classes"), *RiskClass.choices])

    def __init__(self, *args, today: dt.date | None = None, **kwargs):
        from apps.accounts.models import Team
        from apps.inventory.models import Environment, System

        super().__init__(*args, **kwargs)
        self.today = today
        # no period given is the last 12 months (default_period): the select says so instead of "Custom dates"
        # next to two empty date fields; its value stays "" so dates typed next to it are the period
        if not self.is_bound or not any(self.data.get(k) for k in ("preset", "start", "end")):
            self.fields["preset"].choices = [("", DEFAULT_LABEL), *PRESETS[1:]]
        self.fields["team"].choices = [("", "All teams"), *Team.objects.values_list("slug", "name")]
        self.fields["environment"].choices = [("", "All environments"), *Environment.objects
                                              .values_list("slug", "name")]
        regions = System.objects.order_by("region").values_list("region", flat=True).distinct()
        self.fields["region"].choices = [("", "All regions"), *((r, r) for r in regions if r)]

    def clean_system(self) -> str:
        from apps.inventory.models import System

        slug = self.cleaned_data.get("system", "").strip()
        if slug and not System.objects.filter(slug=slug).exists():
            raise forms.ValidationError("No system has the short name “%(slug)s”: choose one of the "
                                        "suggestions.", params={"slug": slug}, code="invalid_choice")
        return slug

    def clean(self):
        data = super().clean()
        from apps.core import clock

        today = self.today or clock.now().date()
        preset = data.get("preset")
        if preset == "30d":
            data["start"], data["end"] = today - dt.timedelta(days=29), today
        elif preset == "quarter":
            data["start"], data["end"] = today - dt.timedelta(days=90), today
        elif preset == "12m":
            data["start"], data["end"] = today - dt.timedelta(days=364), today
        elif preset == "last_month":
            end = today.replace(day=1) - dt.timedelta(days=1)
            data["start"], data["end"] = end.replace(day=1), end
        default = default_period(today)
        start, end = data.get("start") or default.start, data.get("end") or default.end
        if "start" in self.errors or "end" in self.errors:
            return data
        if end < start:
            self.add_error("end", "The last day must not be before the first day.")
        elif (end - start).days + 1 > MAX_DAYS:
            self.add_error("start", "Choose a period of at most three years.")
        data["start"], data["end"] = start, end
        return data

    def period(self) -> Period:
        d = self.cleaned_data
        return Period(start=d["start"], end=d["end"], **{k: d.get(k) or "" for k in Period.FILTERS})


class SubscriptionForm(forms.Form):
    frequency = forms.ChoiceField(label="How often", choices=Frequency.choices)
    delivery = forms.ChoiceField(label="What the e-mail contains", choices=Delivery.choices)
