from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from .choices import ConstraintKind, Criticality, EndpointKind, EnvironmentKind, ImportKind, ImportStatus
from .versions import ConstraintError, validate_constraint


class Environment(models.Model):
    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=EnvironmentKind.choices)
    order = models.PositiveSmallIntegerField(default=0, help_text="Position in lists; production first.")

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class System(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    owner_team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="systems")
    criticality = models.CharField(max_length=20, choices=Criticality.choices, default=Criticality.MEDIUM)
    region = models.CharField(max_length=40, help_text="Where the system runs and its data lives, e.g. eu-central.")
    business_workflows = models.TextField(
        blank=True, help_text="Business-critical workflows that depend on it, one per line."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("inventory:system-detail", args=[self.slug])

    @property
    def workflow_list(self) -> list[str]:
        return [w.strip() for w in self.business_workflows.splitlines() if w.strip()]


class Component(models.Model):
    """A product at a version, running on a system in one environment."""

    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="components")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="components")
    name = models.CharField(max_length=120, help_text="What the team calls it, e.g. “ledger database”.")
    product = models.CharField(max_length=80, help_text="Product name as vendors list it, e.g. postgresql.")
    version = models.CharField(max_length=40)

    class Meta:
        ordering = ["system__name", "environment__order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["system", "environment", "name"], name="component_unique_per_env")
        ]

    def __str__(self) -> str:
        return f"{self.system.name}/{self.environment.slug}: {self.name} ({self.product} {self.version})"


class Dependency(models.Model):
    """`source` depends on `target`; the constraint says which target versions it works with."""

    source_system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="dependencies")
    source_component = models.ForeignKey(
        Component, null=True, blank=True, on_delete=models.CASCADE, related_name="dependencies"
    )
    target_system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="dependents")
    target_component = models.ForeignKey(
        Component, null=True, blank=True, on_delete=models.CASCADE, related_name="dependents"
    )
    constraint = models.CharField(max_length=120, blank=True, help_text="e.g. >=13,<17 or ^4.2")
    constraint_kind = models.CharField(max_length=10, choices=ConstraintKind.choices, default=ConstraintKind.SEMVER)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["source_system__name", "target_system__name"]
        verbose_name_plural = "dependencies"

    def __str__(self) -> str:
        src = self.source_component.name if self.source_component_id else self.source_system.name
        dst = self.target_component.name if self.target_component_id else self.target_system.name
        return f"{src} → {dst} {self.constraint}".strip()

    def clean(self) -> None:
        errors = {}
        if self.source_component_id and self.source_component.system_id != self.source_system_id:
            errors["source_component"] = "This component does not belong to the source system."
        if self.target_component_id and self.target_component.system_id != self.target_system_id:
            errors["target_component"] = "This component does not belong to the target system."
        if self.source_system_id and self.source_system_id == self.target_system_id and (
            self.source_component_id == self.target_component_id
        ):
            errors["target_system"] = "A system or component cannot depend on itself."
        try:
            validate_constraint(self.constraint, self.constraint_kind)
        except ConstraintError as exc:
            errors["constraint"] = str(exc)
        if errors:
            raise ValidationError(errors)


class Endpoint(models.Model):
    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="endpoints")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="endpoints")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=EndpointKind.choices)
    target = models.CharField(max_length=300, help_text="URL for HTTP, host:port for TCP/TLS, DSN host for SQL.")
    expected = models.CharField(max_length=200, blank=True, help_text="e.g. status 200, body contains “ok”.")

    class Meta:
        ordering = ["system__name", "environment__order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["system", "environment", "name"], name="endpoint_unique_per_env")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()} {self.target})"


class ImportJob(models.Model):
    """A CSV import: previewed, then run on a worker; the row the progress bar polls."""

    kind = models.CharField(max_length=20, choices=ImportKind.choices)
    filename = models.CharField(max_length=200)
    content = models.TextField()
    status = models.CharField(max_length=20, choices=ImportStatus.choices, default=ImportStatus.PREVIEWED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Import of {self.get_kind_display().lower()} from {self.filename}"

    @property
    def percent(self) -> int:
        return int(100 * self.processed / self.total) if self.total else (100 if self.status == "done" else 0)
