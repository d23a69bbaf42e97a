"""Capacity: what the target release needs against what each system has free, per environment.

A `ReleaseRequirement` names a product and the target versions it applies to (`version_spec`, a semver-style
range such as ">=16 <17"), optionally one environment, and the extra CPU, memory and storage the release
needs.
A `CapacityRecord` is one measurement of a system in an environment; the latest one counts.
For each upgrade item and environment: free = capacity − used, and the headroom left after the upgrade is
(free − required) / capacity. A requirement above the free capacity is a shortfall; headroom under the margin
(setting TOLLGATE_CAPACITY_MARGIN, a fraction, default 0.2) is a warning; no measurement is
"capacity unknown".
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from apps.inventory.choices import EnvironmentKind
from apps.inventory.models import CapacityRecord, ReleaseRequirement
from apps.inventory.versions import ConstraintError, satisfies

from . import checks
from .choices import Category, Severity

RESOURCES = (
    # (key, label, unit, capacity field, used field)
    ("cpu", "CPU", "cores", "cpu_cores", "cpu_used_cores"),
    ("memory", "Memory", "GB", "memory_gb", "memory_used_gb"),
    ("storage", "Storage", "GB", "storage_gb", "storage_used_gb"),
)
ZERO = Decimal(0)


def margin() -> Decimal:
    """The headroom (a fraction of capacity) that must remain after the upgrade."""
    return Decimal(str(getattr(settings, "TOLLGATE_CAPACITY_MARGIN", 0.2)))


def _pct(value: Decimal) -> Decimal:
    return (value * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _num(value: Decimal) -> str:
    """12.50 -> "12.5", 8.00 -> "8"."""
    return f"{value.normalize():f}"


@dataclass
class ResourceLine:
    key: str
    label: str
    unit: str
    required: Decimal
    capacity: Decimal | None = None
    used: Decimal | None = None
    free: Decimal | None = None
    headroom_now: Decimal | None = None  # percent of capacity free today
    headroom_after: Decimal | None = None  # percent of capacity free after the upgrade
    status: str = "unknown"  # ok / warn / bad / unknown

    def describe(self) -> str:
        if self.capacity is None:
            return f"{self.label}: needs {_num(self.required)} {self.unit}, not measured"
        return (
            f"{self.label}: needs {_num(self.required)} {self.unit}, capacity {_num(self.capacity)}, "
            f"used {_num(self.used)}, free {_num(self.free)} {self.unit} "
            f"(headroom {self.headroom_now}% now, {self.headroom_after}% after the upgrade)"
        )


@dataclass
class CapacityRow:
    item: object
    system: object
    environment: object | None
    requirements: list = field(default_factory=list)
    record: CapacityRecord | None = None
    lines: list[ResourceLine] = field(default_factory=list)
    status: str = "unknown"

    @property
    def production(self) -> bool:
        return self.environment is not None and self.environment.kind == EnvironmentKind.PRODUCTION

    @property
    def status_label(self) -> str:
        return {
            "ok": "Enough headroom",
            "warn": "Headroom under the margin",
            "bad": "Shortfall",
            "unknown": "Capacity unknown",
        }[self.status]


def _applies(requirement, product: str, version: str) -> bool:
    if requirement.product.strip().lower() != (product or "").strip().lower():
        return False
    try:
        return satisfies(requirement.version_spec, "semver", version)
    except ConstraintError:
        return False  # a target version we cannot read matches no range rather than all of them


def _measure(row: CapacityRow, needed: dict, limit: Decimal) -> None:
    record = row.record
    worst = "ok"
    for key, label, unit, cap_field, used_field in RESOURCES:
        required = needed[key]
        if not required:
            continue
        line = ResourceLine(key=key, label=label, unit=unit, required=required)
        if record is not None:
            capacity = getattr(record, cap_field)
            used = getattr(record, used_field)
            free = capacity - used
            line.capacity, line.used, line.free = capacity, used, free
            if capacity > 0:
                line.headroom_now = _pct(free / capacity)
                line.headroom_after = _pct((free - required) / capacity)
            else:
                line.headroom_now = line.headroom_after = Decimal("0.0")
            if required > free:
                line.status = "bad"
            elif capacity <= 0 or (free - required) / capacity < limit:
                line.status = "warn"
            else:
                line.status = "ok"
            if line.status == "bad" or (line.status == "warn" and worst == "ok"):
                worst = line.status
        row.lines.append(line)
    row.status = "unknown" if record is None else worst


def capacity_rows(request) -> list[CapacityRow]:
    """One row per upgrade item and environment that a requirement applies to, in three queries."""
    items = list(request.items.select_related("system", "component__environment").order_by("id"))
    if not items:
        return []
    products = {i.product.strip().lower() for i in items}
    requirements = [
        r
        for r in ReleaseRequirement.objects.select_related("environment").order_by("id")
        if r.product.strip().lower() in products
    ]
    if not requirements:
        return []
    latest: dict[tuple[int, int], CapacityRecord] = {}
    for record in (
        CapacityRecord.objects.filter(system__in={i.system_id for i in items})
        .select_related("environment")
        .order_by("-measured_at", "-id")
    ):
        latest.setdefault((record.system_id, record.environment_id), record)
    limit = margin()
    rows: list[CapacityRow] = []
    seen: set[tuple] = set()
    for item in items:
        matching = [r for r in requirements if _applies(r, item.product, item.target_version)]
        if not matching:
            continue
        environments = {}
        if item.component_id:
            environments[item.component.environment_id] = item.component.environment
        for (system_id, _), record in latest.items():
            if system_id == item.system_id:
                environments.setdefault(record.environment_id, record.environment)
        for r in matching:
            if r.environment_id and not item.component_id:
                environments.setdefault(r.environment_id, r.environment)
        if not environments:
            environments = {None: None}
        for env_id, environment in sorted(
            environments.items(), key=lambda kv: (kv[1].order if kv[1] else 0, kv[1].name if kv[1] else "")
        ):
            key = (item.system_id, env_id, item.product.strip().lower(), item.target_version)
            if key in seen:
                continue
            seen.add(key)
            specific = [r for r in matching if env_id is not None and r.environment_id == env_id]
            chosen = specific or [r for r in matching if r.environment_id is None]
            if not chosen:
                continue  # only requirements for other environments
            # a requirement names the same fields as a measurement's capacity; several applying: the largest
            needed = {
                key: max((getattr(r, cap_field) for r in chosen), default=ZERO)
                for key, _, _, cap_field, _ in RESOURCES
            }
            if not any(needed.values()):
                continue
            row = CapacityRow(
                item=item,
                system=item.system,
                environment=environment,
                requirements=chosen,
                record=latest.get((item.system_id, env_id)) if env_id is not None else None,
            )
            _measure(row, needed, limit)
            rows.append(row)
    return rows


def capacity_summary(request) -> dict:
    """What the assessment page's capacity partial shows."""
    rows = capacity_rows(request)
    return {
        "rows": rows,
        "margin_percent": _pct(margin()),
        "shortfalls": sum(1 for r in rows if r.status == "bad"),
        "warnings": sum(1 for r in rows if r.status == "warn"),
        "unknown": sum(1 for r in rows if r.status == "unknown"),
    }


def _where(row: CapacityRow) -> str:
    return f"{row.system.name} ({row.environment.name})" if row.environment else row.system.name


def _key(row: CapacityRow, what: str) -> str:
    env = row.environment.slug if row.environment else "-"
    return f"capacity:{what}:{row.system.pk}:{env}:{row.item.product.strip().lower()}"


def capacity_check(request) -> list[checks.FindingSpec]:
    specs = []
    limit = _pct(margin())
    for row in capacity_rows(request):
        target = f"{row.item.product} {row.item.target_version}"
        needs = "; ".join(r.note or f"{r.product} {r.version_spec}" for r in row.requirements)
        evidence_lines = [line.describe() for line in row.lines]
        evidence_lines.append(f"Requirement: {needs}.")
        if row.record is not None:
            evidence_lines.append(f"Measured {row.record.measured_at:%Y-%m-%d %H:%M} UTC.")
        numbers = {
            line.key: {
                "required": str(line.required),
                "capacity": str(line.capacity),
                "used": str(line.used),
                "free": str(line.free),
                "headroom_after_percent": str(line.headroom_after),
            }
            for line in row.lines
        }
        extra = {"environment": row.environment.slug if row.environment else None, "resources": numbers}
        if row.status == "unknown":
            specs.append(
                checks.FindingSpec(
                    key=_key(row, "unknown"),
                    category=Category.CAPACITY,
                    severity=Severity.LOW,
                    title=f"Capacity unknown: no measurement of {_where(row)} for {target}",
                    evidence="\n".join(evidence_lines),
                    system_id=row.system.pk,
                    extra=extra,
                )
            )
        elif row.status == "bad":
            short = ", ".join(
                f"{line.label.lower()} needs {_num(line.required)} {line.unit} but "
                f"{_num(line.free)} {line.unit} free"
                for line in row.lines
                if line.status == "bad"
            )
            specs.append(
                checks.FindingSpec(
                    key=_key(row, "shortfall"),
                    category=Category.CAPACITY,
                    severity=Severity.BLOCKING if row.production else Severity.HIGH,
                    title=f"Capacity shortfall on {_where(row)} for {target}: {short}"[:300],
                    evidence="\n".join(evidence_lines),
                    system_id=row.system.pk,
                    extra=extra,
                )
            )
        elif row.status == "warn":
            low = ", ".join(
                f"{line.label.lower()} {line.headroom_after}%" for line in row.lines if line.status == "warn"
            )
            specs.append(
                checks.FindingSpec(
                    key=_key(row, "margin"),
                    category=Category.CAPACITY,
                    severity=Severity.MEDIUM,
                    title=f"Headroom under {limit}% after upgrading {_where(row)} to {target}: {low}"[:300],
                    evidence="\n".join(evidence_lines),
                    system_id=row.system.pk,
                    extra=extra,
                )
            )
    return specs


def register_checks() -> None:
    checks.register("capacity", capacity_check)
