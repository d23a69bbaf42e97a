"""The explained risk score and the verdict of an assessment.

Every factor is shown with its weight (the most points it can give) and the
points it gave, so a reader can see why a request scored what it did. The sum
(capped at 100) maps to low / moderate / high by TOLLGATE_RISK_THRESHOLDS.
"""

from django.conf import settings
from django.db.models import Q

from apps.inventory.choices import CRITICALITY_RANK
from apps.inventory.models import Dependency, System

from .choices import Category, ChecklistKind, Resolution, RiskLevel, Severity, Verdict

DEFAULT_THRESHOLDS = (30, 60)
CRITICALITY_POINTS = {"low": 5, "medium": 10, "high": 15, "critical": 20}
RISK_CLASS_POINTS = {"standard": 0, "normal": 5, "emergency": 10}
LIFECYCLE_POINTS = {"blocking": 15, "high": 15, "medium": 8, "low": 3, "info": 0}


def thresholds() -> tuple[int, int]:
    low, high = getattr(settings, "TOLLGATE_RISK_THRESHOLDS", DEFAULT_THRESHOLDS)
    return int(low), int(high)


def level_for(score: int) -> str:
    low, high = thresholds()
    if score < low:
        return RiskLevel.LOW
    if score < high:
        return RiskLevel.MODERATE
    return RiskLevel.HIGH


def affected_systems(request) -> list[System]:
    ids = request.items.values_list("system_id", flat=True)
    return list(System.objects.filter(pk__in=ids).order_by("name"))


def _blast_count(request, systems, depth: int) -> tuple[int, str]:
    try:
        from .graph import blast_radius
    except ImportError:
        blast_radius = None
    if blast_radius is not None:
        try:
            blast = blast_radius(request, depth=depth)
            n = getattr(blast, "systems_total", None)
            if n is not None:
                return n, f"{n} system{'' if n == 1 else 's'} within {depth} steps of the change, either direction"
        except Exception:  # noqa: BLE001 — the map is a view; a failure there must not stop the score
            pass
    ids = [s.pk for s in systems]
    n = (Dependency.objects.filter(target_system_id__in=ids).exclude(source_system_id__in=ids)
         .values("source_system").distinct().count())
    return n, f"{n} systems depend directly on the affected ones"


def _rollbacks(request, systems) -> int:
    from apps.upgrades.models import UpgradeRequest

    return (UpgradeRequest.objects.filter(items__system__in=systems)
            .filter(Q(state__in=["rolled_back", "failed"]))
            .exclude(pk=request.pk).distinct().count())


def compute(assessment, findings: list) -> tuple[int, str, list[dict]]:
    """(score, level, factors) from the request, its inventory and the open findings given."""
    request = assessment.request
    systems = affected_systems(request)
    open_findings = [f for f in findings if f.resolution == Resolution.OPEN]
    factors = []

    def factor(name, weight, points, explanation):
        factors.append({"name": name, "weight": weight, "points": min(weight, points),
                        "explanation": explanation})

    worst = max(systems, key=lambda s: CRITICALITY_RANK.get(s.criticality, 0), default=None)
    factor("Criticality", 20, CRITICALITY_POINTS.get(worst.criticality, 0) if worst else 0,
           f"most critical affected system: {worst.name} ({worst.get_criticality_display().lower()})"
           if worst else "no system named")
    n, why = _blast_count(request, systems, assessment.depth)
    factor("Blast radius", 15, 3 * n, why)
    lifecycle = [f for f in open_findings if f.category == Category.LIFECYCLE]
    worst_life = max((LIFECYCLE_POINTS.get(f.severity, 0) for f in lifecycle), default=0)
    factor("Lifecycle urgency", 15, worst_life, f"{len(lifecycle)} open lifecycle findings")
    blocking = [f for f in open_findings if f.severity == Severity.BLOCKING]
    factor("Open blocking findings", 20, 10 * len(blocking), f"{len(blocking)} open blocking findings")
    custom = assessment.checklist.filter(kind=ChecklistKind.CUSTOMIZATION, answered=False).count()
    factor("Customizations", 10, 2 * custom, f"{custom} unanswered customization checklist items")
    factor("Risk class", 10, RISK_CLASS_POINTS.get(request.risk_class, 5), request.get_risk_class_display())
    rollbacks = _rollbacks(request, systems)
    factor("Rollback history", 10, 5 * rollbacks,
           f"{rollbacks} earlier requests on these systems rolled back or failed")
    from .workflows import workflow_count

    workflows = workflow_count(request)
    factor("Business workflows", 10, 2 * workflows,
           f"{workflows} business-critical workflows on these systems")
    score = min(100, sum(f["points"] for f in factors))
    return score, level_for(score), factors


def verdict_for(assessment, findings: list) -> str:
    from .choices import AssessmentStatus

    open_findings = [f for f in findings if f.resolution == Resolution.OPEN]
    if assessment.status != AssessmentStatus.COMPLETED:
        return Verdict.NOT_READY
    if any(f.severity in (Severity.BLOCKING, Severity.HIGH) for f in open_findings):
        return Verdict.NOT_READY
    if any(f.resolution == Resolution.ACCEPTED for f in findings):
        return Verdict.READY_WITH_RISKS
    return Verdict.READY
