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
    timezone = models.CharField(
        max_length=64, default="UTC",
        help_text="IANA time zone of the system's region (e.g. Europe/Berlin): windows are also shown in it.",
    )
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


class ProductRelease(models.Model):
    """Vendor lifecycle of one release cycle of a product (endoflife.date's vocabulary)."""

    product = models.CharField(max_length=80, db_index=True, help_text="As endoflife.date spells it, e.g. postgresql.")
    cycle = models.CharField(max_length=40, help_text="Release cycle, e.g. 16 or 22.04.")
    release_date = models.DateField(null=True, blank=True)
    end_of_active_support = models.DateField(null=True, blank=True)
    end_of_life = models.DateField(null=True, blank=True)
    end_of_extended_support = models.DateField(null=True, blank=True)
    supported_indefinitely = models.BooleanField(default=False, help_text="The vendor gives no end-of-life date.")
    lts = models.BooleanField(default=False)
    latest = models.CharField(max_length=40, blank=True)
    latest_release_date = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=200, blank=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["product", "-release_date"]
        constraints = [models.UniqueConstraint(fields=["product", "cycle"], name="product_release_unique_cycle")]

    def __str__(self) -> str:
        return f"{self.product} {self.cycle}"


class Sbom(models.Model):
    """A CycloneDX bill of materials imported for one component."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="sboms")
    spec_version = models.CharField(max_length=10)
    serial_number = models.CharField(max_length=200, blank=True)
    filename = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    package_count = models.PositiveIntegerField(default=0)
    edge_count = models.PositiveIntegerField(default=0)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField()

    class Meta:
        ordering = ["-imported_at"]

    def __str__(self) -> str:
        return f"SBOM of {self.component} ({self.package_count} packages)"


class SbomPackage(models.Model):
    sbom = models.ForeignKey(Sbom, on_delete=models.CASCADE, related_name="packages")
    bom_ref = models.CharField(max_length=500)
    name = models.CharField(max_length=300)
    group = models.CharField(max_length=300, blank=True)
    version = models.CharField(max_length=100, blank=True)
    purl = models.CharField(max_length=1000, blank=True)
    kind = models.CharField(max_length=40, blank=True, help_text="CycloneDX component type, e.g. library.")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["sbom", "bom_ref"], name="sbom_package_unique_ref")]

    def __str__(self) -> str:
        return f"{self.group + '/' if self.group else ''}{self.name} {self.version}".strip()


class SbomEdge(models.Model):
    """`source` depends on `target`, both packages of the same SBOM."""

    sbom = models.ForeignKey(Sbom, on_delete=models.CASCADE, related_name="edges")
    source = models.ForeignKey(SbomPackage, on_delete=models.CASCADE, related_name="depends_on")
    target = models.ForeignKey(SbomPackage, on_delete=models.CASCADE, related_name="required_by")


class CapacityRecord(models.Model):
    """Measured capacity of a system in an environment."""

    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="capacity_records")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="capacity_records")
    cpu_cores = models.DecimalField(max_digits=8, decimal_places=2)
    memory_gb = models.DecimalField(max_digits=10, decimal_places=2)
    storage_gb = models.DecimalField(max_digits=12, decimal_places=2)
    cpu_used_cores = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    memory_used_gb = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    storage_used_gb = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    measured_at = models.DateTimeField()

    class Meta:
        ordering = ["system__name", "environment__order", "-measured_at"]


class ReleaseRequirement(models.Model):
    """What a target release needs to run (optionally only in one environment)."""

    product = models.CharField(max_length=80)
    version_spec = models.CharField(max_length=120, help_text="Which target versions this applies to, e.g. >=16 <17.")
    environment = models.ForeignKey(Environment, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="release_requirements")
    cpu_cores = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    memory_gb = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    storage_gb = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["product", "version_spec"]


class BusinessWorkflow(models.Model):
    """A business-critical workflow that must stay uninterrupted while a system changes."""

    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="workflows")
    name = models.CharField(max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="owned_workflows", help_text="The person who answers for it.")
    owner_team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="owned_workflows")
    stakeholder_notes = models.TextField(blank=True, help_text="What the stakeholder interview found.")
    interviewed_at = models.DateField(null=True, blank=True, help_text="When the stakeholders were interviewed.")

    class Meta:
        ordering = ["system__name", "name"]
        constraints = [models.UniqueConstraint(fields=["system", "name"], name="workflow_unique_per_system")]

    def __str__(self) -> str:
        return f"{self.system.name}: {self.name}"


class Integration(models.Model):
    """A third-party integration of a system (payment network, market data feed, partner API ...).

    A rollout plan needs a fallback procedure for every integration of the systems it changes.
    """

    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="integrations")
    name = models.CharField(max_length=120)
    partner = models.CharField(max_length=120, help_text="The third party on the other side.")
    protocol = models.CharField(max_length=60, blank=True, help_text="e.g. SWIFT FIN, REST, SFTP batch.")
    endpoint = models.ForeignKey(Endpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["system__name", "name"]
        constraints = [models.UniqueConstraint(fields=["system", "name"], name="integration_unique_per_system")]

    def __str__(self) -> str:
        return f"{self.system.name} ↔ {self.partner}: {self.name}"
