"""Forms of the CAB decision pages. They only shape input; the services decide and validate again."""

from django import forms

from apps.accounts.choices import Role
from apps.accounts.models import Team, User
from apps.inventory.models import System
from apps.upgrades.choices import RiskClass
from apps.upgrades.forms import LocalDateTimeField

from .models import Decision, RiskLevelScope


class _UserChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.display_name} ({obj.username})"


class PasswordField(forms.CharField):
    widget = forms.PasswordInput(attrs={"autocomplete": "current-password"})

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Your password (to sign)")
        kwargs.setdefault("help_text", "Signing re-checks who you are; the signature goes into the audit trail.")
        super().__init__(max_length=4096, strip=False, **kwargs)


class VoteForm(forms.Form):
    decision = forms.ChoiceField(choices=Decision.choices, widget=forms.RadioSelect, label="Your vote")
    conditions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10000, label="Conditions (approval only)",
        help_text="One per line. The implementer must acknowledge each before execution starts.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000,
                             label="Reason", help_text="Required to reject; the requester reads it.")
    on_behalf_of = forms.ChoiceField(required=False, label="Vote as",
                                     help_text="Only when a CAB member named you their delegate.")
    password = PasswordField()

    def __init__(self, *args, principals=(), user=None, **kwargs):
        super().__init__(*args, **kwargs)
        me = f"Myself ({user.display_name})" if user is not None else "Myself"
        self.fields["on_behalf_of"].choices = [("", me)] + [
            (str(p.pk), f"Delegate for {p.display_name} ({p.username})") for p in principals]
        if not principals:
            self.fields["on_behalf_of"].widget = forms.HiddenInput()

    def conditions_list(self) -> list[str]:
        return [line.strip() for line in (self.cleaned_data.get("conditions") or "").splitlines() if line.strip()]


class SignForm(forms.Form):
    password = PasswordField()


class RetrospectiveForm(forms.Form):
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=20000,
                            label="Retrospective review",
                            help_text="What was done under emergency, whether it was justified, what follows.")


class PolicyForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="e.g. Normal change, high risk")
    risk_class = forms.ChoiceField(choices=RiskClass.choices, label="Risk class")
    risk_level = forms.ChoiceField(choices=RiskLevelScope.choices, label="Assessed risk level",
                                   help_text="“Any risk level” applies when no policy for the exact level exists.")
    quorum = forms.IntegerField(min_value=1, max_value=20, initial=2, label="Approvals needed (quorum)")
    veto = forms.BooleanField(required=False, initial=True, label="Any rejection rejects the request (veto)")
    voter_team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False,
                                        label="Only this team votes (emergency CAB)",
                                        empty_label="Every CAB member may vote")
    required_teams = forms.ModelMultipleChoiceField(queryset=Team.objects.none(), required=False,
                                                    label="Teams that must approve",
                                                    help_text="At least one approval from a member of each.")
    require_critical_owner_teams = forms.BooleanField(
        required=False, label="The owner team of every affected critical system must approve")
    retrospective_days = forms.IntegerField(min_value=1, max_value=90, required=False,
                                            label="Retrospective review due within (days)",
                                            help_text="Emergency changes only: a full review after the fact.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["voter_team"].queryset = Team.objects.order_by("name")
        self.fields["required_teams"].queryset = Team.objects.order_by("name")

    @staticmethod
    def initial_from(policy) -> dict:
        return {"name": policy.name, "risk_class": policy.risk_class, "risk_level": policy.risk_level,
                "quorum": policy.quorum, "veto": policy.veto, "voter_team": policy.voter_team,
                "required_teams": list(policy.required_teams.all()),
                "require_critical_owner_teams": policy.require_critical_owner_teams,
                "retrospective_days": policy.retrospective_days}


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=160, help_text="e.g. nginx patch release on the web edge")
    description = forms.CharField(widget=forms.Textarea, max_length=5000,
                                  help_text="What the routine change is and why it is safe to pre-approve.")
    product = forms.CharField(max_length=80, help_text="The product as named on components, e.g. nginx.")
    systems = forms.ModelMultipleChoiceField(queryset=System.objects.none(), required=False,
                                             help_text="Leave empty to cover the product on any system.")
    version_constraint = forms.CharField(max_length=120, label="Target versions covered",
                                         help_text="e.g. >=1.26,<1.27")
    constraint_kind = forms.ChoiceField(choices=[("semver", "semver"), ("pep440", "PEP 440")],
                                        label="Constraint syntax")
    runbook = forms.CharField(widget=forms.Textarea, max_length=20000, help_text="The steps, one per line.")
    valid_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Valid from")
    valid_until = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Valid until")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["systems"].queryset = System.objects.order_by("name")


class DelegationForm(forms.Form):
    delegate = _UserChoice(queryset=User.objects.none(), label="Delegate",
                           help_text="Another CAB member who may vote for you during the period.")
    valid_from = LocalDateTimeField(label="From")
    valid_until = LocalDateTimeField(label="Until")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        qs = User.objects.filter(is_active=True, groups__name=Role.CAB_MEMBER).distinct().order_by("username")
        if user is not None:
            qs = qs.exclude(pk=user.pk)
        self.fields["delegate"].queryset = qs
        tz = getattr(user, "timezone", "UTC")
        self.fields["valid_from"].help_text = f"In your time zone ({tz})."
