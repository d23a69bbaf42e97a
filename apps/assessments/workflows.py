"""Business-critical workflows of the systems a request touches, with their owners.

The workflows are `BusinessWorkflow` rows (owner, owner team, stakeholder interview); lines of the older
`System.business_workflows` text that have no row yet still count, without an owner. The check "workflows"
lists them per system: MEDIUM for a critical system, INFO otherwise. `workflow_count` feeds the risk score.
"""

from dataclasses import dataclass

from apps.inventory.choices import Criticality
from apps.inventory.models import BusinessWorkflow, System

from . import checks
from .choices import Category, Severity


@dataclass
class Flow:
    name: str
    owner: str = ""
    team: str = ""
    interviewed_at: object = None
    notes: str = ""

    def describe(self) -> str:
        who = ", ".join(p for p in (self.owner, self.team) if p) or "no owner recorded"
        when = (
            f"stakeholders interviewed {self.interviewed_at:%Y-%m-%d}"
            if self.interviewed_at
            else "stakeholders not interviewed yet"
        )
        text = f"- {self.name} — owner: {who}; {when}"
        if self.notes:
            text += f"\n  Notes: {' '.join(self.notes.split())[:500]}"
        return text


def workflows_by_system(request) -> list[tuple[System, list[Flow]]]:
    """The affected systems that carry workflows, each with its workflows, in two queries."""
    system_ids = set(request.items.values_list("system_id", flat=True))
    if not system_ids:
        return []
    rows: dict[int, list[Flow]] = {}
    for wf in (
        BusinessWorkflow.objects.filter(system_id__in=system_ids)
        .select_related("owner", "owner_team")
        .order_by("name", "id")
    ):
        rows.setdefault(wf.system_id, []).append(
            Flow(
                name=wf.name,
                owner=wf.owner.get_username() if wf.owner_id else "",
                team=wf.owner_team.name if wf.owner_team_id else "",
                interviewed_at=wf.interviewed_at,
                notes=wf.stakeholder_notes,
            )
        )
    result = []
    for system in System.objects.filter(pk__in=system_ids).select_related("owner_team").order_by("name"):
        flows = rows.get(system.pk, [])
        known = {f.name.lower() for f in flows}
        for line in system.workflow_list:
            if line.lower() not in known:
                known.add(line.lower())
                flows.append(Flow(name=line[:200], team=system.owner_team.name))
        if flows:
            result.append((system, flows))
    return result


def workflow_count(request) -> int:
    """How many business-critical workflows the request touches (a factor of the risk score)."""
    return sum(len(flows) for _, flows in workflows_by_system(request))


def workflow_findings(request) -> list[checks.FindingSpec]:
    specs = []
    for system, flows in workflows_by_system(request):
        critical = system.criticality == Criticality.CRITICAL
        named = ", ".join(f"{f.name} ({f.owner or f.team or 'no owner'})" for f in flows)
        count = f"{len(flows)} business-critical workflow{'s' if len(flows) != 1 else ''}"
        specs.append(
            checks.FindingSpec(
                key=f"workflow:{system.pk}",
                category=Category.WORKFLOW,
                severity=Severity.MEDIUM if critical else Severity.INFO,
                title=f"{system.name} carries {count}: {named}"[:300],
                evidence=(
                    f"{system.name} is {system.get_criticality_display().lower()}; owner team "
                    f"{system.owner_team.name}. Tell the workflow owners before planning a window.\n"
                    + "\n".join(f.describe() for f in flows)
                ),
                system_id=system.pk,
                extra={"workflows": [{"name": f.name, "owner": f.owner, "team": f.team} for f in flows]},
            )
        )
    return specs


def register_checks() -> None:
    # replaces the simpler text-based check of the same name in risk.py
    checks.register("workflows", workflow_findings)
