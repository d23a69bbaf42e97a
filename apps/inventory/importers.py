"""CSV import: one row form per kind, validated in full before anything is written."""

import csv
import io

from django import forms
from django.core.exceptions import ValidationError

from apps.accounts.models import Team

from .choices import ImportKind
from .models import Component, Dependency, Endpoint, Environment, System

MAX_ROWS = 20000


class _SlugChoice(forms.ModelChoiceField):
    def __init__(self, queryset, label, **kwargs):
        super().__init__(queryset=queryset, to_field_name="slug", **kwargs)
        self.error_messages["invalid_choice"] = f"No {label} with this slug exists."


class SystemRow(forms.ModelForm):
    owner_team = _SlugChoice(Team.objects.all(), "team")

    class Meta:
        model = System
        fields = ["name", "slug", "description", "owner_team", "criticality", "region", "business_workflows"]

    def clean_business_workflows(self):
        # in CSV, workflows are separated by semicolons
        return "\n".join(w.strip() for w in self.cleaned_data["business_workflows"].split(";") if w.strip())


class EnvironmentRow(forms.ModelForm):
    class Meta:
        model = Environment
        fields = ["name", "slug", "kind", "order"]


class ComponentRow(forms.ModelForm):
    system = _SlugChoice(System.objects.all(), "system")
    environment = _SlugChoice(Environment.objects.all(), "environment")

    class Meta:
        model = Component
        fields = ["system", "environment", "name", "product", "version"]


def _component(system: System | None, environment: Environment | None, name: str, field: str):
    if not name:
        return None
    if system is None:
        return None
    qs = Component.objects.filter(system=system, name=name)
    if environment is not None:
        qs = qs.filter(environment=environment)
    found = qs.order_by("environment__order").first()
    if found is None:
        raise ValidationError({field: f"{system.slug} has no component named “{name}”."})
    return found


class DependencyRow(forms.Form):
    source_system = _SlugChoice(System.objects.all(), "system")
    source_component = forms.CharField(required=False, max_length=120)
    target_system = _SlugChoice(System.objects.all(), "system")
    target_component = forms.CharField(required=False, max_length=120)
    environment = _SlugChoice(Environment.objects.all(), "environment", required=False)
    constraint = forms.CharField(required=False, max_length=120)
    constraint_kind = forms.ChoiceField(choices=Dependency._meta.get_field("constraint_kind").choices, required=False)
    description = forms.CharField(required=False, max_length=200)

    def __init__(self, data=None, instance=None):
        super().__init__(data)
        self.instance = instance

    def clean(self):
        data = super().clean()
        env = data.get("environment")
        data["source_component"] = _component(data.get("source_system"), env, data.get("source_component"),
                                              "source_component")
        data["target_component"] = _component(data.get("target_system"), env, data.get("target_component"),
                                              "target_component")
        data["constraint_kind"] = data.get("constraint_kind") or "semver"
        if self.errors:
            return data
        dep = self._build(data)
        dep.clean()
        return data

    def _build(self, data) -> Dependency:
        dep = self.instance or Dependency()
        for key in ("source_system", "source_component", "target_system", "target_component", "constraint",
                    "constraint_kind", "description"):
            setattr(dep, key, data.get(key) or ("" if key in ("constraint", "description") else None))
        return dep

    def save(self) -> Dependency:
        dep = self._build(self.cleaned_data)
        dep.save()
        return dep


class EndpointRow(forms.ModelForm):
    system = _SlugChoice(System.objects.all(), "system")
    environment = _SlugChoice(Environment.objects.all(), "environment")

    class Meta:
        model = Endpoint
        fields = ["system", "environment", "name", "kind", "target", "expected"]


def _existing_system(row):
    return System.objects.filter(slug=row.get("slug", "")).first()


def _existing_environment(row):
    return Environment.objects.filter(slug=row.get("slug", "")).first()


def _existing_component(row):
    return Component.objects.filter(
        system__slug=row.get("system", ""), environment__slug=row.get("environment", ""), name=row.get("name", "")
    ).first()


def _existing_dependency(row):
    qs = Dependency.objects.filter(
        source_system__slug=row.get("source_system", ""), target_system__slug=row.get("target_system", "")
    )
    qs = qs.filter(source_component__name=row["source_component"]) if row.get("source_component") else qs.filter(
        source_component__isnull=True)
    qs = qs.filter(target_component__name=row["target_component"]) if row.get("target_component") else qs.filter(
        target_component__isnull=True)
    return qs.first()


def _existing_endpoint(row):
    return Endpoint.objects.filter(
        system__slug=row.get("system", ""), environment__slug=row.get("environment", ""), name=row.get("name", "")
    ).first()


SPECS = {
    ImportKind.SYSTEMS: (SystemRow, _existing_system, "slug"),
    ImportKind.ENVIRONMENTS: (EnvironmentRow, _existing_environment, "slug"),
    ImportKind.COMPONENTS: (ComponentRow, _existing_component, ("system", "environment", "name")),
    ImportKind.DEPENDENCIES: (
        DependencyRow, _existing_dependency, ("source_system", "source_component", "target_system", "target_component")
    ),
    ImportKind.ENDPOINTS: (EndpointRow, _existing_endpoint, ("system", "environment", "name")),
}


def columns(kind: str) -> list[str]:
    form_class = SPECS[kind][0]
    return list(form_class.base_fields)


class CsvError(ValueError):
    pass


def read_csv(raw: bytes) -> list[dict]:
    if b"\x00" in raw:
        raise CsvError("The file contains NUL bytes; save it as plain CSV text.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvError("The file is not UTF-8 text; save it as “CSV UTF-8”.") from exc
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise CsvError("The file is empty: it needs a header row.")
    rows = []
    try:
        for row in reader:
            if None in row:
                raise CsvError(f"Line {reader.line_num} has more values than the header has columns.")
            rows.append({(k or "").strip(): (v or "").strip() for k, v in row.items()})
            if len(rows) > MAX_ROWS:
                raise CsvError(f"At most {MAX_ROWS} rows can be imported at once.")
    except csv.Error as exc:
        # e.g. a value longer than the csv module's field limit, or a stray quote in strict dialects
        raise CsvError(f"Line {reader.line_num} is not valid CSV ({exc}).") from exc
    if not rows:
        raise CsvError("The file has a header but no rows.")
    return rows


def check_header(kind: str, rows: list[dict]) -> None:
    expected = set(columns(kind))
    present = set(rows[0])
    unknown = present - expected
    required = {name for name, f in SPECS[kind][0].base_fields.items() if f.required}
    missing = required - present
    problems = []
    if missing:
        problems.append(f"missing columns: {', '.join(sorted(missing))}")
    if unknown:
        problems.append(f"unknown columns: {', '.join(sorted(unknown))}")
    if problems:
        raise CsvError(f"The header does not fit {kind} ({'; '.join(problems)}). Expected: {', '.join(columns(kind))}.")


def _key(spec_key, row) -> tuple:
    keys = (spec_key,) if isinstance(spec_key, str) else spec_key
    return tuple(row.get(k, "") for k in keys)


def _unique_columns(form_class) -> list[str]:
    """Columns that must be unique on their own (a system's name and slug): checked across the file too."""
    meta = getattr(form_class, "_meta", None)
    model = getattr(meta, "model", None)
    if model is None:
        return []
    fields = form_class.base_fields
    return [f.name for f in model._meta.fields if f.unique and not f.primary_key and f.name in fields]


def validate_rows(kind: str, rows: list[dict], progress=None) -> tuple[list, list[dict]]:
    """Returns (forms, errors). Errors: [{"row": n, "errors": {field: [messages]}}], n counting data rows from 1."""
    form_class, finder, spec_key = SPECS[kind]
    seen: dict[tuple, int] = {}
    unique_seen: dict[str, dict[str, int]] = {name: {} for name in _unique_columns(form_class)}
    valid_forms, errors = [], []
    for index, row in enumerate(rows, start=1):
        key = _key(spec_key, row)
        if key in seen:
            errors.append({"row": index, "errors": {"__all__": [f"Same key as row {seen[key]}."]}})
            continue
        seen[key] = index
        clashes = {}
        for name, values in unique_seen.items():
            value = row.get(name, "")
            if value and value in values:
                clashes[name] = [f"Row {values[value]} has the same {name}; it must be unique."]
            elif value:
                values[value] = index
        form = form_class(data=row, instance=finder(row))
        if form.is_valid() and not clashes:
            valid_forms.append(form)
        else:
            found = {k: [str(m) for m in v] for k, v in form.errors.items()}
            for name, messages in clashes.items():
                found.setdefault(name, []).extend(messages)
            errors.append({"row": index, "errors": found})
        if progress and index % 50 == 0:
            progress(index)
    return valid_forms, errors
