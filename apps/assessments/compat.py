"""The version-compatibility check: every dependency's constraint against the target version.

A dependency says which versions of its TARGET it works with. For each item of a
request (a component, or a whole system), every dependency on that component (or,
for a whole-system item, on that system with no component named) is checked:
a target outside the constraint is a blocking finding naming both sides; a
constraint or version that cannot be read is a high finding.
"""

from django.db.models import Q

from apps.inventory.models import Dependency
from apps.inventory.versions import ConstraintError, satisfies

from . import checks
from .choices import Category, Severity


def _side(system, component) -> str:
    return f"{system.slug}/{component.name}" if component is not None else system.slug


def _evidence(dep) -> str:
    lines = [
        f"Dependency: {_side(dep.source_system, dep.source_component)} → "
        f"{_side(dep.target_system, dep.target_component)}",
        f"Constraint: {dep.constraint} ({dep.get_constraint_kind_display()})",
    ]
    if dep.description:
        lines.append(f"Why: {dep.description}")
    return "\n".join(lines)


def dependencies_on(item):
    """The constrained dependencies whose target is what this item changes."""
    if item.component_id:
        rule = Q(target_component_id=item.component_id)
    else:
        rule = Q(target_system_id=item.system_id, target_component__isnull=True)
    return (Dependency.objects.filter(rule).exclude(constraint="")
            .select_related("source_system", "source_component", "target_system", "target_component")
            .order_by("pk"))


def compatibility(request) -> list[checks.FindingSpec]:
    specs = []
    for item in request.items.select_related("system", "component").order_by("pk"):
        for dep in dependencies_on(item):
            key = f"compat:dep{dep.pk}:{item.system_id}:{item.component_id or '-'}"
            source = _side(dep.source_system, dep.source_component)
            target = f"{dep.target_system.slug} {item.product}"
            try:
                ok = satisfies(dep.constraint, dep.constraint_kind, item.target_version)
            except ConstraintError as exc:
                specs.append(checks.FindingSpec(
                    key=key, category=Category.COMPATIBILITY, severity=Severity.HIGH,
                    title=(f"Cannot check {source}'s constraint “{dep.constraint}” on {target} "
                           f"against the target {item.target_version}"),
                    evidence=f"{_evidence(dep)}\nError: {exc}", system_id=dep.source_system_id))
                continue
            if not ok:
                specs.append(checks.FindingSpec(
                    key=key, category=Category.COMPATIBILITY, severity=Severity.BLOCKING,
                    title=(f"{source} requires {target} {dep.constraint}; "
                           f"the target {item.target_version} is outside it"),
                    evidence=f"{_evidence(dep)}\nTarget version: {item.target_version} "
                             f"(now {item.current_version})",
                    system_id=dep.source_system_id))
    return specs


def register_checks() -> None:
    checks.register("compatibility", compatibility)
