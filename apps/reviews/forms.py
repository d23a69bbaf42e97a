"""Forms of the review pages; every write still goes through the services, which re-check everything."""

from django import forms
from django.contrib.auth import get_user_model

from .models import BacklogItem, PostImplementationReview, ReadinessItem


def _people():
    return get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.display_name} ({obj.username})"


class DateInput(forms.DateInput):
    input_type = "date"


class IdForm(forms.Form):
    """Several forms share one page: each gets its own element ids (the field names stay plain)."""

    id_prefix = "id"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class ReviewForm(IdForm):
    id_prefix = "review"
    success_criteria = forms.ChoiceField(
        label="Were the success criteria met?", required=False,
        choices=[("", "— choose —"), *PostImplementationReview.Criteria.choices])
    success_notes = forms.CharField(label="Notes on the success criteria", required=False, max_length=4000,
                                    widget=forms.Textarea(attrs={"rows": 2}))
    downtime_minutes = forms.IntegerField(label="Downtime (minutes)", required=False, min_value=0,
                                          max_value=525600,
                                          help_text="Prefilled from the execution log and incidents; correct it "
                                                    "if users saw more or less.")
    incidents_summary = forms.CharField(label="Incidents", required=False, max_length=4000,
                                        widget=forms.Textarea(attrs={"rows": 3}),
                                        help_text="Prefilled from the incidents recorded during the upgrade.")
    went_well = forms.CharField(label="What went well", required=False, max_length=4000,
                                widget=forms.Textarea(attrs={"rows": 3}))
    went_badly = forms.CharField(label="What went badly", required=False, max_length=4000,
                                 widget=forms.Textarea(attrs={"rows": 3}))
    lessons = forms.CharField(label="Lessons learned", required=False, max_length=4000,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              help_text="Shown on the assessment of later upgrades of the same systems or products.")


class FollowUpForm(IdForm):
    id_prefix = "followup"
    title = forms.CharField(label="Follow-up action", max_length=300)
    owner = PersonChoiceField(label="Owner", queryset=_people())
    due_date = forms.DateField(label="Due date", widget=DateInput)
    priority = forms.ChoiceField(label="Priority", choices=BacklogItem.Priority.choices,
                                 initial=BacklogItem.Priority.MEDIUM)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _people()


class ReadinessAddForm(IdForm):
    id_prefix = "readiness"
    kind = forms.ChoiceField(label="What must be updated", choices=ReadinessItem.Kind.choices)
    title = forms.CharField(label="Name of the runbook, document or training", max_length=200,
                            help_text="e.g. DR runbook for the ledger database, operator guide, on-call training")


class ReadinessConfirmForm(forms.Form):
    link = forms.CharField(label="Link to the updated document", required=False, max_length=500)
    file = forms.FileField(label="or the file", required=False)


class TrainingForm(IdForm):
    id_prefix = "training"
    trainee = PersonChoiceField(label="Who was trained", queryset=_people())
    trained_on = forms.DateField(label="Trained on", widget=DateInput)
    topic = forms.CharField(label="Topic", max_length=200, help_text="e.g. operating PostgreSQL 16")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["trainee"].queryset = _people()


class BacklogFilterForm(forms.Form):
    status = forms.ChoiceField(label="Status", required=False,
                               choices=[("open", "Open"), ("done", "Done"), ("all", "All")])
    kind = forms.ChoiceField(label="Kind", required=False, choices=[("", "Any"), *BacklogItem.Kind.choices])
    overdue = forms.BooleanField(label="Overdue only", required=False)
    mine = forms.BooleanField(label="Mine only", required=False)


class LessonSearchForm(forms.Form):
    q = forms.CharField(label="Search lessons", required=False, max_length=200,
                        help_text="A product, a system, a request reference or any word")
