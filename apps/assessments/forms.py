from django import forms

from .choices import Category, Resolution, Severity
from .services import MAX_TEXT, MAX_TITLE, RESOLUTIONS


class FindingForm(forms.Form):
    category = forms.ChoiceField(choices=Category.choices)
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MEDIUM)
    title = forms.CharField(max_length=MAX_TITLE)
    evidence = forms.CharField(max_length=MAX_TEXT, required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(choices=[(r.value, r.label) for r in RESOLUTIONS])
    justification = forms.CharField(max_length=MAX_TEXT, required=False,
                                    widget=forms.Textarea(attrs={"rows": 2}),
                                    help_text="Required when you accept the risk.")

    def clean(self):
        data = super().clean()
        if data.get("resolution") == Resolution.ACCEPTED and not (data.get("justification") or "").strip():
            self.add_error("justification", "Accepting a risk needs a justification.")
        return data
