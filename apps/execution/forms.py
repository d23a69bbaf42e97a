from django import forms

from .incidents import MAX_TEXT
from .models import Severity, StepOutcome
from .runs import MAX_OUTPUT, MAX_REASON


class StepFinishForm(forms.Form):
    outcome = forms.ChoiceField(choices=StepOutcome.choices, label="Outcome")
    output = forms.CharField(max_length=MAX_OUTPUT, required=False, label="Output or notes",
                             widget=forms.Textarea(attrs={"rows": 2}))
    reason = forms.CharField(max_length=MAX_REASON, required=False, label="Why skipped",
                             help_text="Required when you skip the step.")

    def clean(self):
        data = super().clean()
        if data.get("outcome") == StepOutcome.SKIPPED and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why the step is skipped.")
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=MAX_REASON, required=False, label="Reason",
                             widget=forms.Textarea(attrs={"rows": 2}))


class SignForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
                               label="Your password", help_text="Re-enter your password to sign the validation.")


class IncidentForm(forms.Form):
    title = forms.CharField(max_length=200)
    severity = forms.ChoiceField(choices=Severity.choices)
    started_at = forms.DateTimeField(label="Started", help_text="In your time zone, e.g. 2026-12-06 02:15.")
    ended_at = forms.DateTimeField(label="Ended", required=False, help_text="Leave empty while it is open.")
    impact = forms.CharField(max_length=MAX_TEXT, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    impact_minutes = forms.IntegerField(min_value=0, max_value=100000, initial=0,
                                        label="Unplanned downtime (minutes)")
    escalation_path = forms.CharField(max_length=MAX_TEXT, required=False, label="Escalation path",
                                      widget=forms.Textarea(attrs={"rows": 2}))
    contacts = forms.CharField(max_length=MAX_TEXT, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    runbook_url = forms.URLField(max_length=500, required=False, label="Runbook link", assume_scheme="https")


class IncidentCloseForm(forms.Form):
    ended_at = forms.DateTimeField(label="Ended")
    impact_minutes = forms.IntegerField(min_value=0, max_value=100000, label="Unplanned downtime (minutes)")
