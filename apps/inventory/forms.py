"""Admin forms of the inventory. They validate only; saving goes through services.inventory_object_save."""

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.html import escape

from .choices import ImportKind
from .models import Component, Dependency, Endpoint, Environment, System

RESERVED_SLUGS = {"new"}


class _SlugCheck:
    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError(
                f"“{slug}” is reserved for the page that adds one; choose another slug."
            )
        return slug


class SystemForm(_SlugCheck, forms.ModelForm):
    class Meta:
        model = System
        fields = ["name", "slug", "description", "owner_team", "criticality", "region", "business_workflows"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "business_workflows": forms.Textarea(attrs={"rows": 4}),
        }


class EnvironmentForm(_SlugCheck, forms.ModelForm):
    class Meta:
        model = Environment
        fields = ["name", "slug", "kind", "order"]


def _system_choices():
    return System.objects.order_by("name")


def _component_choices():
    return Component.objects.select_related("system", "environment").order_by(
        "system__name", "environment__order", "name"
    )


class ComponentForm(forms.ModelForm):
    class Meta:
        model = Component
        fields = ["system", "environment", "name", "product", "version"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].queryset = _system_choices()


class _ComponentChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.system.name} / {obj.environment.name}: {obj.name} ({obj.product} {obj.version})"


class DependencyForm(forms.ModelForm):
    source_component = _ComponentChoice(
        queryset=Component.objects.none(),
        required=False,
        help_text="Leave empty when the whole system depends on the target.",
    )
    target_component = _ComponentChoice(
        queryset=Component.objects.none(),
        required=False,
        help_text="The component whose version the constraint is about.",
    )

    class Meta:
        model = Dependency
        fields = [
            "source_system",
            "source_component",
            "target_system",
            "target_component",
            "constraint",
            "constraint_kind",
            "description",
        ]
        # Django renders help text unescaped; these contain "<"
        help_texts = {
            "constraint": escape("e.g. >=13 <17, ^1.4, ~2.3, 14.*, or a PEP 440 specifier such as >=4.2,<6.")
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source_system"].queryset = _system_choices()
        self.fields["target_system"].queryset = _system_choices()
        self.fields["source_component"].queryset = _component_choices()
        self.fields["target_component"].queryset = _component_choices()


class EndpointForm(forms.ModelForm):
    class Meta:
        model = Endpoint
        fields = ["system", "environment", "name", "kind", "target", "expected"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].queryset = _system_choices()


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(choices=ImportKind.choices, label="The file contains")
    file = forms.FileField(label="CSV file", help_text="UTF-8 text with a header row.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {filesizeformat(upload.size)}; "
                f"at most {filesizeformat(settings.IMPORT_MAX_BYTES)} "
                "can be imported at once."
            )
        return upload


FORMS = {
    "system": SystemForm,
    "environment": EnvironmentForm,
    "component": ComponentForm,
    "dependency": DependencyForm,
    "endpoint": EndpointForm,
}
