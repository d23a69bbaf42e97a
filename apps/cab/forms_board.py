"""Forms of the CAB board pages. They only shape input; the services decide and validate again."""

from django import forms

from apps.accounts.choices import Role
from apps.accounts.models import User

from .models import AgendaDecision, MeetingStatus


def cab_members():
    return User.objects.filter(is_active=True, groups__name=Role.CAB_MEMBER).distinct().order_by("username")


class _UserChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name


class MeetingForm(forms.Form):
    title = forms.CharField(max_length=160, label="Title", help_text="e.g. Weekly CAB, 3 December")
    scheduled_at = forms.DateTimeField(label="Date and time", help_text="In your time zone.",
                                       widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    duration_minutes = forms.IntegerField(label="Length (minutes)", initial=60, min_value=5, max_value=24 * 60)
    location = forms.CharField(max_length=200, required=False, label="Where",
                               help_text="A room or a video-call link.")
    chair = _UserChoice(queryset=User.objects.none(), label="Chair", help_text="A CAB member who runs the meeting.")
    emergency = forms.BooleanField(required=False, label="Emergency CAB meeting")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["chair"].queryset = cab_members()


class AgendaAddForm(forms.Form):
    request = forms.CharField(max_length=40, label="Request reference", help_text="e.g. UPG-2026-0042")


class AttendanceForm(forms.Form):
    user = _UserChoice(queryset=User.objects.none(), label="Attendee")
    delegate_for = _UserChoice(queryset=User.objects.none(), required=False, label="Sitting in for",
                               help_text="Leave empty when the attendee is there for themselves.")
    present = forms.BooleanField(required=False, initial=True, label="Present")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = cab_members()
        self.fields["delegate_for"].queryset = cab_members()


DECISION_CHOICES = [(v, label) for v, label in AgendaDecision.choices if v != AgendaDecision.PENDING]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("", "Choose what the board decided")] + DECISION_CHOICES,
                                 label="Board decision")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Notes",
                            help_text="Needed when the request is returned to planning: the requester reads it.")


class MinutesForm(forms.Form):
    notes = forms.CharField(widget=forms.Textarea, required=False, label="Minutes",
                            help_text="What was said beyond the decisions.")
    status = forms.ChoiceField(choices=MeetingStatus.choices, label="Meeting status")


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Your question or comment")


class ReturnForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Why it goes back to planning",
                             help_text="The requester reads this; say what must change.")


class ExceptionDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve the exception"), ("refuse", "Refuse the exception")],
                                 widget=forms.RadioSelect, label="Your decision")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Reason",
                             help_text="Required when you refuse.")
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
                               label="Your password (signs the decision)", strip=False)
