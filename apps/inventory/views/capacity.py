"""Capacity, release requirement and business workflow pages: lists for everyone signed in, changes for
admins.

The forms here only validate; `services.inventory_object_save` saves and audits (the API uses the same forms).
"""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.core.validators import MaxLengthValidator, MinValueValidator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import escape

from apps.accounts.models import Team
from apps.core import clock

from .. import selectors, services
from ..models import BusinessWorkflow, CapacityRecord, ReleaseRequirement, System
from ..versions import ConstraintError, validate_constraint
from .common import PAGE_SIZE, admin_required, delete_page, is_admin

CAPACITY_FIELDS = (
    ("cpu_cores", "cpu_used_cores", "CPU"),
    ("memory_gb", "memory_used_gb", "memory"),
    ("storage_gb", "storage_used_gb", "storage"),
)

# --- forms ----------------------------------------------------------------------------------------------


class _NonNegative:
    """Amounts of CPU, memory and storage are never negative."""

    amount_fields: tuple[str, ...] = ()

    def _non_negative(self):
        for name in self.amount_fields:
            if name in self.fields:
                self.fields[name].widget.attrs["min"] = "0"
                self.fields[name].validators.append(
                    MinValueValidator(0, message="Enter zero or more; an amount cannot be negative.")
                )


class CapacityRecordForm(_NonNegative, forms.ModelForm):
    amount_fields = (
        "cpu_cores",
        "memory_gb",
        "storage_gb",
        "cpu_used_cores",
        "memory_used_gb",
        "storage_used_gb",
    )

    class Meta:
        model = CapacityRecord
        fields = [
            "system",
            "environment",
            "cpu_cores",
            "cpu_used_cores",
            "memory_gb",
            "memory_used_gb",
            "storage_gb",
            "storage_used_gb",
            "measured_at",
        ]
        labels = {
            "cpu_cores": "CPU capacity (cores)",
            "cpu_used_cores": "CPU used (cores)",
            "memory_gb": "Memory capacity (GB)",
            "memory_used_gb": "Memory used (GB)",
            "storage_gb": "Storage capacity (GB)",
            "storage_used_gb": "Storage used (GB)",
            "measured_at": "Measured at",
        }
        help_texts = {"measured_at": "When the numbers were measured, in your time zone."}
        widgets = {
            "measured_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].queryset = System.objects.order_by("name")
        self._non_negative()
        if not self.instance.pk and not self.is_bound:
            self.initial.setdefault("measured_at", clock.now().replace(second=0, microsecond=0))

    def clean_measured_at(self):
        value = self.cleaned_data["measured_at"]
        if value and value > clock.now():
            raise forms.ValidationError("A measurement cannot be in the future.")
        return value

    def clean(self):
        data = super().clean()
        for capacity, used, label in CAPACITY_FIELDS:
            if data.get(capacity) is not None and data.get(used) is not None and data[used] > data[capacity]:
                self.add_error(used, f"More {label} is used than the capacity recorded.")
        return data


class ReleaseRequirementForm(_NonNegative, forms.ModelForm):
    amount_fields = ("cpu_cores", "memory_gb", "storage_gb")

    class Meta:
        model = ReleaseRequirement
        fields = ["product", "version_spec", "environment", "cpu_cores", "memory_gb", "storage_gb", "note"]
        labels = {
            "version_spec": "Target versions",
            "cpu_cores": "Extra CPU (cores)",
            "memory_gb": "Extra memory (GB)",
            "storage_gb": "Extra storage (GB)",
        }
        # Django renders help text unescaped; these contain "<"
        help_texts = {
            "product": "Product name as the components list it, e.g. postgresql.",
            "version_spec": escape("The target versions this applies to, e.g. >=16 <17, ^4.2 or 16.*."),
            "environment": "Leave empty when it applies in every environment.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._non_negative()

    def clean_product(self):
        return self.cleaned_data["product"].strip()

    def clean_version_spec(self):
        spec = self.cleaned_data["version_spec"].strip()
        try:
            validate_constraint(spec, "semver")
        except ConstraintError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return spec

    def clean(self):
        data = super().clean()
        amounts = [data.get(name) for name in self.amount_fields]
        if all(a is not None for a in amounts) and not any(amounts):
            raise forms.ValidationError("Give at least one of CPU, memory or storage.")
        return data


class BusinessWorkflowForm(forms.ModelForm):
    class Meta:
        model = BusinessWorkflow
        fields = ["system", "name", "owner", "owner_team", "stakeholder_notes", "interviewed_at"]
        widgets = {
            "stakeholder_notes": forms.Textarea(attrs={"rows": 4}),
            "interviewed_at": forms.DateInput(attrs={"type": "date"}),
        }
        labels = {
            "name": "Workflow",
            "owner": "Owner (person)",
            "interviewed_at": "Stakeholders interviewed on",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].queryset = System.objects.order_by("name")
        self.fields["owner"].queryset = (
            get_user_model().objects.filter(is_active=True, is_service_account=False).order_by("username")
        )
        self.fields["owner_team"].queryset = Team.objects.order_by("name")
        self.fields["stakeholder_notes"].max_length = 10000
        self.fields["stakeholder_notes"].widget.attrs["maxlength"] = "10000"
        self.fields["stakeholder_notes"].validators.append(MaxLengthValidator(10000))

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean_interviewed_at(self):
        value = self.cleaned_data["interviewed_at"]
        if value and value > clock.now().date():
            raise forms.ValidationError("The interview date cannot be in the future.")
        return value


# --- shared page plumbing --------------------------------------------------------------------------------


def _edit(request, *, form_class, instance=None, initial=None, heading: str, cancel_url: str, success):
    if request.method == "POST":
        form = form_class(request.POST, instance=instance)
        if form.is_valid():
            obj = services.inventory_object_save(form=form, by=request.user)
            messages.success(request, f"Saved {obj._meta.verbose_name} “{obj}”.")
            return redirect(success(obj))
        status = 400
    else:
        form = form_class(instance=instance, initial=initial)
        status = 200
    context = {"form": form, "heading": heading, "cancel_url": cancel_url, "object": instance}
    return render(request, "inventory/object_form.html", context, status=status)


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _system_from_query(request):
    slug = request.GET.get("system", "")
    if not slug or "\x00" in slug or len(slug) > 120:
        return None
    return System.objects.filter(slug=slug).first()


# --- capacity records -----------------------------------------------------------------------------------


def capacity_queryset():
    return CapacityRecord.objects.select_related("system", "environment").order_by(
        "system__name", "environment__order", "-measured_at", "-id"
    )


@login_required
def capacity_list(request):
    qs = selectors.of_visible_systems(capacity_queryset(), request.user)
    system = _system_from_query(request)
    if system is not None:
        qs = qs.filter(system=system)
    return render(
        request,
        "inventory/capacity_list.html",
        {"page": _page(request, qs), "system": system, "can_edit": is_admin(request.user)},
    )


@admin_required
def capacity_create(request):
    system = _system_from_query(request)
    url = reverse("inventory:capacity")
    return _edit(
        request,
        form_class=CapacityRecordForm,
        initial={"system": system.pk} if system else None,
        heading="Record measured capacity",
        cancel_url=url,
        success=lambda obj: url,
    )


@admin_required
def capacity_edit(request, pk):
    record = get_object_or_404(capacity_queryset(), pk=pk)
    url = reverse("inventory:capacity")
    return _edit(
        request,
        form_class=CapacityRecordForm,
        instance=record,
        heading=f"Edit capacity of {record.system.name} in {record.environment.name}",
        cancel_url=url,
        success=lambda obj: url,
    )


@admin_required
def capacity_delete(request, pk):
    record = get_object_or_404(capacity_queryset(), pk=pk)
    url = reverse("inventory:capacity")
    return delete_page(request, obj=record, cancel_url=url, success_url=url)


# --- release requirements --------------------------------------------------------------------------------


def requirement_queryset():
    return ReleaseRequirement.objects.select_related("environment").order_by("product", "version_spec", "id")


@login_required
def requirement_list(request):
    return render(
        request,
        "inventory/capacity_requirements.html",
        {"page": _page(request, requirement_queryset()), "can_edit": is_admin(request.user)},
    )


@admin_required
def requirement_create(request):
    url = reverse("inventory:requirements")
    return _edit(
        request,
        form_class=ReleaseRequirementForm,
        heading="Add a release requirement",
        cancel_url=url,
        success=lambda obj: url,
    )


@admin_required
def requirement_edit(request, pk):
    requirement = get_object_or_404(requirement_queryset(), pk=pk)
    url = reverse("inventory:requirements")
    return _edit(
        request,
        form_class=ReleaseRequirementForm,
        instance=requirement,
        heading=f"Edit requirement of {requirement.product} {requirement.version_spec}",
        cancel_url=url,
        success=lambda obj: url,
    )


@admin_required
def requirement_delete(request, pk):
    requirement = get_object_or_404(requirement_queryset(), pk=pk)
    url = reverse("inventory:requirements")
    return delete_page(request, obj=requirement, cancel_url=url, success_url=url)


# --- business workflows ----------------------------------------------------------------------------------


def workflow_queryset():
    return BusinessWorkflow.objects.select_related("system", "owner", "owner_team").order_by(
        "system__name", "name", "id"
    )


@login_required
def workflow_list(request):
    return render(
        request,
        "inventory/workflow_list.html",
        {"page": _page(request, selectors.of_visible_systems(workflow_queryset(), request.user)), "system": None, "can_edit": is_admin(request.user)},
    )


@login_required
def system_workflows(request, slug):
    system = selectors.system_get(slug=slug, user=request.user)
    return render(
        request,
        "inventory/workflow_list.html",
        {
            "page": _page(request, workflow_queryset().filter(system=system)),
            "system": system,
            "can_edit": is_admin(request.user),
        },
    )


def _workflow_url(obj) -> str:
    return reverse("inventory:system-workflows", args=[obj.system.slug])


def _system_workflows_url(system) -> str:
    return (
        reverse("inventory:system-workflows", args=[system.slug])
        if system
        else reverse("inventory:workflows")
    )


@admin_required
def workflow_create(request):
    system = _system_from_query(request)
    initial = {"system": system.pk, "owner_team": system.owner_team_id} if system else None
    return _edit(
        request,
        form_class=BusinessWorkflowForm,
        initial=initial,
        heading="Add a business-critical workflow",
        cancel_url=_system_workflows_url(system),
        success=_workflow_url,
    )


@admin_required
def workflow_edit(request, pk):
    workflow = get_object_or_404(workflow_queryset(), pk=pk)
    return _edit(
        request,
        form_class=BusinessWorkflowForm,
        instance=workflow,
        heading=f"Edit workflow {workflow.name}",
        cancel_url=_workflow_url(workflow),
        success=_workflow_url,
    )


@admin_required
def workflow_delete(request, pk):
    workflow = get_object_or_404(workflow_queryset(), pk=pk)
    url = _workflow_url(workflow)
    return delete_page(request, obj=workflow, cancel_url=url, success_url=url)
