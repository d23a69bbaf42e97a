from django import forms

from apps.cab.models import StandardTemplate, TemplateStatus
from apps.inventory.models import System

from .models import AdvisorySeverity


class ScheduleForm(forms.Form):
    name = forms.CharField(max_length=160, help_text="e.g. “Ledger database monthly patching”.")
    system = forms.ModelChoiceField(queryset=System.objects.order_by("name"))
    template = forms.ModelChoiceField(
        queryset=StandardTemplate.objects.filter(status=TemplateStatus.APPROVED).order_by("name"),
        label="Standard change template",
        help_text="An approved template: the requests it raises are standard changes approved by it.")
    target_version = forms.CharField(max_length=40, help_text="The version each window patches to; the template "
                                                              "must cover it.")
    rrule = forms.CharField(max_length=500, label="Recurrence rule (RFC 5545)", initial="FREQ=MONTHLY;BYDAY=2TU",
                            help_text="FREQ=MONTHLY;BYDAY=2TU is the second Tuesday of every month; "
                                      "FREQ=WEEKLY;BYDAY=SU every Sunday.")
    first_date = forms.DateField(label="First date", widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="The rule counts from this date.")
    start_time = forms.TimeField(label="Local start time", widget=forms.TimeInput(attrs={"type": "time"}))
    time_zone = forms.CharField(max_length=64, initial="Europe/Berlin",
                                help_text="The zone the start time is in, e.g. Europe/Berlin. The window keeps "
                                          "its local time across daylight-saving changes.")
    duration_minutes = forms.IntegerField(label="Window length (minutes)", initial=120, min_value=15,
                                          max_value=24 * 60)
    lead_days = forms.IntegerField(label="Raise the request this many days ahead", initial=7, min_value=0,
                                   max_value=60)


class ImportForm(forms.Form):
    kind = forms.ChoiceField(choices=[("csaf", "CSAF 2.0 JSON document"), ("csv", "CSV file")], label="Format")
    file = forms.FileField(help_text="CSV columns: product, affected_versions, severity, title, id, url "
                                     "(versions separated by “;”, or a range like >=1.0,<1.4).")


class RecordForm(forms.Form):
    identifier = forms.CharField(max_length=120, label="Advisory id", help_text="e.g. VENDOR-2026-0042.")
    title = forms.CharField(max_length=300)
    severity = forms.ChoiceField(choices=AdvisorySeverity.choices)
    product = forms.CharField(max_length=200, help_text="As the inventory names it, e.g. postgresql.")
    affected_versions = forms.CharField(max_length=500, required=False,
                                        help_text="e.g. 13.14; 13.15 or >=13,<13.16. Empty: every version.")
    url = forms.CharField(max_length=500, required=False, label="Web address")


class OpenRequestForm(forms.Form):
    target_version = forms.CharField(max_length=40, label="Upgrade to version")
