"""Third-party integration pages: lists for everyone signed in, changes for admins.

A rollout plan needs a fallback procedure for every integration of the systems a request changes, so these
are recorded here. The form only validates; `services.inventory_object_save` saves and audits (the API uses
the same form).
"""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.validators import MaxLengthValidator
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from .. import selectors
from ..models import Endpoint, Integration, System
from .capacity import _edit, _page, _system_from_query
from .common import admin_required, delete_page, is_admin

NOTES_MAX = 10000


def _endpoint_label(endpoint) -> str:
    return f"{endpoint.system.name} · {endpoint.environment.name} · {endpoint}"


class IntegrationForm(forms.ModelForm):
    class Meta:
        model = Integration
        fields = ["system", "name", "partner", "protocol", "endpoint", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}
        labels = {
            "name": "Integration",
            "partner": "Third party",
            "endpoint": "Health endpoint",
        }
        help_texts = {
            "name": "What flows over it, e.g. Outgoing payments or Card authorisations.",
            "partner": "The third party on the other side, e.g. SWIFT or Visa.",
            "protocol": "e.g. SWIFT FIN, ISO 8583, REST, SFTP batch.",
            "endpoint": "Optional: the health endpoint of this system that shows the link is up.",
            "notes": "How the link fails over, who to call at the partner, anything the fallback plan needs.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].queryset = System.objects.order_by("name")
        self.fields["endpoint"].queryset = Endpoint.objects.select_related("system", "environment").order_by(
            "system__name", "environment__order", "name"
        )
        self.fields["endpoint"].label_from_instance = _endpoint_label
        self.fields["notes"].max_length = NOTES_MAX
        self.fields["notes"].widget.attrs["maxlength"] = str(NOTES_MAX)
        self.fields["notes"].validators.append(MaxLengthValidator(NOTES_MAX))

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean_partner(self):
        return self.cleaned_data["partner"].strip()

    def clean_protocol(self):
        return self.cleaned_data["protocol"].strip()

    def clean(self):
        data = super().clean()
        system, endpoint = data.get("system"), data.get("endpoint")
        if system is not None and endpoint is not None and endpoint.system_id != system.pk:
            self.add_error("endpoint", f"Choose a health endpoint of {system.name}, or none.")
        return data

    def validate_unique(self):
        # the (system, name) constraint: say it on the name field, in words
        system, name = self.cleaned_data.get("system"), self.cleaned_data.get("name")
        if system is not None and name:
            clash = Integration.objects.filter(system=system, name__iexact=name)
            if self.instance.pk:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("name", f"{system.name} already has an integration named “{name}”.")
                return
        super().validate_unique()


def integration_queryset():
    return Integration.objects.select_related("system", "endpoint", "endpoint__environment").order_by(
        "system__name", "name", "id"
    )


@login_required
def integration_list(request):
    return render(
        request,
        "inventory/integration_list.html",
        {"page": _page(request, selectors.of_visible_systems(integration_queryset(), request.user)), "system": None, "can_edit": is_admin(request.user)},
    )


@login_required
def system_integrations(request, slug):
    system = selectors.system_get(slug=slug, user=request.user)
    return render(
        request,
        "inventory/integration_list.html",
        {
            "page": _page(request, integration_queryset().filter(system=system)),
            "system": system,
            "can_edit": is_admin(request.user),
        },
    )


def _integration_url(obj) -> str:
    return reverse("inventory:system-integrations", args=[obj.system.slug])


def _system_integrations_url(system) -> str:
    return (
        reverse("inventory:system-integrations", args=[system.slug])
        if system
        else reverse("inventory:integrations")
    )


@admin_required
def integration_create(request):
    system = _system_from_query(request)
    return _edit(
        request,
        form_class=IntegrationForm,
        initial={"system": system.pk} if system else None,
        heading=f"Add a third-party integration{f' of {system.name}' if system else ''}",
        cancel_url=_system_integrations_url(system),
        success=_integration_url,
    )


@admin_required
def integration_edit(request, pk):
    integration = get_object_or_404(integration_queryset(), pk=pk)
    return _edit(
        request,
        form_class=IntegrationForm,
        instance=integration,
        heading=f"Edit integration {integration.name} of {integration.system.name}",
        cancel_url=_integration_url(integration),
        success=_integration_url,
    )


@admin_required
def integration_delete(request, pk):
    integration = get_object_or_404(integration_queryset(), pk=pk)
    url = _integration_url(integration)
    return delete_page(
        request,
        obj=integration,
        cancel_url=url,
        success_url=url,
        consequences="Rollout plans stop asking for a fallback procedure for this integration.",
    )
