"""Which rollout strategy Tollgate recommends for a request, and why.

Read from the readiness assessment and the inventory: the risk level, the blast
radius (systems that depend on the changed ones), interdependencies between the
changed systems themselves, and business-continuity needs (business-critical
workflows on a critical system). Each reason is a sentence a CAB member can check.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import F, Q

from apps.inventory.models import BusinessWorkflow, Dependency, System

from .models import Strategy

PHASED_BLAST = 3  # this many dependent systems or more: roll out in waves


@dataclass
class Recommendation:
    strategy: str
    reasons: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return Strategy(self.strategy).label


def recommend(request) -> Recommendation:
    system_ids = list(request.items.values_list("system_id", flat=True).distinct())
    systems = list(System.objects.filter(pk__in=system_ids).order_by("name"))
    try:
        assessment = request.assessment
    except ObjectDoesNotExist:
        assessment = None
    level = assessment.risk_level if assessment is not None else None
    dependents = (Dependency.objects.filter(target_system_id__in=system_ids)
                  .exclude(source_system_id__in=system_ids).values("source_system").distinct().count())
    inner = (Dependency.objects.filter(Q(source_system_id__in=system_ids) & Q(target_system_id__in=system_ids))
             .exclude(source_system_id=F("target_system_id")).count()) if len(system_ids) > 1 else 0
    critical = [s for s in systems if s.criticality == "critical"]
    workflows = BusinessWorkflow.objects.filter(system_id__in=system_ids).count() + sum(
        len(s.workflow_list) for s in systems)

    facts = []
    facts.append(f"Assessed risk: {assessment.get_risk_level_display().lower()} ({assessment.risk_score}/100)."
                 if assessment is not None else "No readiness assessment yet: the risk is not known.")
    verb = "depends" if dependents == 1 else "depend"
    facts.append(f"Blast radius: {dependents} other system{'s' if dependents != 1 else ''} {verb} on the "
                 f"changed ones.")
    if len(systems) > 1:
        facts.append(f"{len(systems)} systems change; {inner} dependenc{'ies' if inner != 1 else 'y'} "
                     f"between them.")
    if workflows:
        facts.append(f"{workflows} business-critical workflow{'s' if workflows != 1 else ''} run on them"
                     + (f" ({', '.join(s.name for s in critical)} is critical)." if critical else "."))

    if workflows and critical and level in ("moderate", "high"):
        why = ("Business-critical workflows on a critical system cannot afford an outage if the new version "
               "misbehaves: run old and new side by side and switch over when the new one proves itself.")
        return Recommendation(Strategy.PARALLEL_RUN, [*facts, why])
    if level in ("moderate", "high") or dependents >= PHASED_BLAST or inner or len(systems) > 2:
        why = ("Roll out in waves: a problem shows up in the first wave while most of the estate still runs "
               "the old version, and the later waves wait for the first wave's exit criteria.")
        return Recommendation(Strategy.PHASED, [*facts, why])
    why = ("Low risk, small blast radius and no interdependencies: one window for everything is the "
           "shortest outage and the simplest backout.")
    return Recommendation(Strategy.BIG_BANG, [*facts, why])

