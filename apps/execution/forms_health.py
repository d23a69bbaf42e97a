"""Forms of the health-check pages. They only collect input; the services validate and write."""

from django import forms

from apps.inventory.models import Endpoint

from . import estate
from .models import CheckPurpose, HealthCheck

PASSWORD_SET = "Set — enter a new one to replace it, or leave empty to keep it."
PASSWORD_NOT_SET = "Not set. Only SQL probes use it; it is stored encrypted and never shown again."


class EndpointChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Endpoint) -> str:
        return f"{obj.system.name} · {obj.environment.name} · {obj.name} ({obj.get_kind_display()} {obj.target})"


class HealthCheckForm(forms.Form):
    endpoint = EndpointChoice(queryset=Endpoint.objects.select_related("system", "environment")
                              .order_by("system__name", "environment__order", "name"),
                              help_text="The inventory endpoint to probe; its kind decides the probe.")
    name = forms.CharField(max_length=120, help_text="What people read in run results, e.g. “Ledger API health”.")
    timeout_seconds = forms.DecimalField(label="Timeout (seconds)", min_value=0.1, max_value=60, decimal_places=2,
                                         initial=5)
    max_latency_ms = forms.IntegerField(label="Latency limit (ms)", required=False, min_value=1, max_value=60_000,
                                        help_text="Slower answers count as failed. Empty: no limit.")
    expect_status = forms.IntegerField(label="Expected HTTP status", required=False, min_value=100, max_value=599,
                                       help_text="HTTP only. Empty: any status below 400 passes.")
    body_contains = forms.CharField(label="Body contains", max_length=200, required=False,
                                    help_text="HTTP only: text the answer must contain.")
    json_path = forms.CharField(label="JSON field", max_length=200, required=False,
                                help_text="HTTP only: a field of the JSON answer, e.g. status or checks.db.state.")
    json_expected = forms.CharField(label="Expected JSON value", max_length=200, required=False)
    sql_query = forms.CharField(label="SQL query", required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                help_text="SQL probes only: one read-only query, e.g. SELECT 1. It runs in a "
                                          "read-only transaction with the timeout above.")
    sql_username = forms.CharField(label="SQL user name", max_length=120, required=False)
    sql_password = forms.CharField(label="SQL password", required=False, strip=False,
                                   widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))
    tls_min_days = forms.IntegerField(label="Certificate must stay valid for (days)", min_value=0, max_value=3650,
                                      initial=14,
                                      help_text="TLS only: fail when the certificate expires sooner.")
    enabled = forms.BooleanField(required=False, initial=True,
                                 help_text="Disabled checks are kept but not run by pre-checks or monitoring.")

    def __init__(self, *args, check: HealthCheck | None = None, **kwargs):
        if check is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: getattr(check, name) for name in
                                 ("endpoint", "name", "timeout_seconds", "max_latency_ms", "expect_status",
                                  "body_contains", "json_path", "json_expected", "sql_query", "sql_username",
                                  "tls_min_days", "enabled")}
        super().__init__(*args, **kwargs)
        has_password = check is not None and bool(check.sql_password_encrypted)
        self.fields["sql_password"].help_text = PASSWORD_SET if has_password else PASSWORD_NOT_SET


class RunForm(forms.Form):
    checks = forms.ModelMultipleChoiceField(queryset=HealthCheck.objects.all(), widget=forms.CheckboxSelectMultiple,
                                            error_messages={"required": "Choose at least one health check to run."})
    purpose = forms.ChoiceField(choices=[(CheckPurpose.ADHOC, CheckPurpose.ADHOC.label)], initial=CheckPurpose.ADHOC,
                                required=False)


class AllowedTargetForm(forms.Form):
    value = forms.CharField(label="Host, address or network", max_length=200,
                            help_text="A host name (db1.bank.example), an IP address (10.0.0.5) or a network in "
                                      "CIDR form (10.20.0.0/16).")
    ports = forms.CharField(max_length=200, required=False,
                            help_text="e.g. 443 or 80,443,8000-8100. Empty: any port.")
    note = forms.CharField(max_length=200, required=False, help_text="Why probes may reach it.")


class EstateForm(forms.Form):
    name = forms.CharField(max_length=60, widget=forms.HiddenInput)
    mode = forms.ChoiceField(choices=list(estate.MODES.items()))
