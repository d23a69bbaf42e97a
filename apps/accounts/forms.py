"""Account forms: they check input and hand clean values to services; they never save."""

import zoneinfo

from django import forms
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError

from .choices import NotificationChannel, Role
from .models import Team

TOKEN_EXPIRY_CHOICES = [("30", "30 days"), ("90", "90 days"), ("365", "365 days"), ("none", "Never expires")]


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


def apply_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: on the field it names, else on top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            messages = [m for e in errors for m in e.messages]
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, exc.messages)


class ProfileForm(forms.Form):
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(max_length=254, required=False, label="E-mail",
                             help_text="Password-reset links and notifications go here.")
    timezone = forms.ChoiceField(
        label="Time zone", choices=timezone_choices,
        error_messages={"invalid_choice": "Choose a time zone from the list, e.g. Europe/Berlin."},
        help_text="Every time in Tollgate is shown in this time zone.",
    )
    notify_channel = forms.ChoiceField(label="Notifications by", choices=NotificationChannel.choices)
    notify_on_assignment = forms.BooleanField(required=False, label="E-mail me when I am given a duty")
    notify_on_decision = forms.BooleanField(
        required=False, label="E-mail me when a request I work on is returned or decided"
    )

    @classmethod
    def initial_for(cls, user) -> dict:
        return {name: getattr(user, name) for name in cls.base_fields}


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “deploy pipeline”.",
                           error_messages={"max_length": "Use at most 100 characters."})
    expires_in_days = forms.ChoiceField(
        label="Expires after", choices=TOKEN_EXPIRY_CHOICES, initial="90",
        error_messages={"invalid_choice": "Choose one of the listed periods."},
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name.isprintable():
            raise ValidationError("Use printable characters only.")
        return name

    def clean_expires_in_days(self) -> int | None:
        value = self.cleaned_data["expires_in_days"]
        return None if value == "none" else int(value)


class DeactivateForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Recorded on the audit trail, e.g. “left the company on 30 November”.",
                             error_messages={"required": "Say why the account is deactivated."})


class ServiceAccountForm(forms.Form):
    username = forms.CharField(
        max_length=150, validators=[UnicodeUsernameValidator()],
        help_text="Letters, digits and @/./+/-/_ only, e.g. “ci-pipeline”.",
    )
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False,
                                  empty_label="— no team —")
    roles = forms.MultipleChoiceField(choices=Role.choices, required=False,
                                      widget=forms.CheckboxSelectMultiple)


class RegionsForm(forms.Form):
    regions = forms.CharField(
        max_length=200, required=False, label="Limited to regions",
        help_text="Region names separated by commas, e.g. “eu-central, eu-west”. This person then sees only "
                  "upgrade requests and systems of these regions. Leave empty for no limit.",
        error_messages={"max_length": "Use at most 200 characters."},
    )

    def clean_regions(self) -> list[str]:
        from .services import regions_parse

        try:
            return regions_parse(self.cleaned_data["regions"])
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None
