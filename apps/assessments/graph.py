"""The dependency map: who can break when a request's components change, and what they rely on.

`blast_radius(request, depth=2)` walks the inventory's Dependency graph from the
request's items in both directions, breadth first, one query per level (the
frontier's systems in, the next level's edges out), so the number of queries
depends on the depth and never on the size of the inventory:

- dependents: who depends on what changes (those that can break), and who
  depends on them, up to `depth` hops;
- dependencies: what the changed components rely on, and so on.

A node is a component of a system, or a whole system when the dependency names
no component. A dependency on a whole system is reached when any of its
components changes. Each direction keeps its own visited set, so cycles end and
no node is listed twice in one direction.

The result is curated: grouped by system, sorted by criticality then distance,
with at most `limit_per_group` nodes per system and `limit_groups` systems per
direction (up to half of them the direct ones, which break first; the rest the
most critical); what is left out is counted ("and N more"), never listed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q

from apps.inventory.choices import CRITICALITY_RANK, Criticality
from apps.inventory.models import Component, Dependency, Sbom, SbomEdge, SbomPackage, System

from . import checks
from .choices import SEVERITY_RANK, Category, Severity

MIN_DEPTH, MAX_DEPTH = 1, 4
DEPENDENTS, DEPENDENCIES = "dependents", "dependencies"
SBOM_TOP = 8
MAX_IN = 5000  # ids in one IN list (SQLite and PostgreSQL take far more; the query plan suffers first)

# one level of the walk reads ids only; names, criticality and owners come in two queries at the end
_EDGE_FIELDS = ("source_system_id", "source_component_id", "target_system_id", "target_component_id",
                "constraint", "constraint_kind")
# per direction: the column of the end that touches the frontier, and of the end reached
_NEAR_FAR = ((DEPENDENTS, 2, 0), (DEPENDENCIES, 0, 2))


def parse_depth(value, default: int = 2) -> int:
    """The `depth` GET parameter of the map (1–4); anything else gives the default."""
    try:
        depth = int(str(value).strip())
    except (TypeError, ValueError):
        return default
    return depth if MIN_DEPTH <= depth <= MAX_DEPTH else default


@dataclass
class Node:
    key: tuple  # (system_id, component_id or None)
    system_id: int
    system_name: str = ""
    system_slug: str = ""
    criticality: str = ""
    owner_team: str = ""
    component_id: int | None = None
    component_name: str = ""
    product: str = ""
    version: str = ""
    distance: int = 0
    direction: str = ""  # dependents / dependencies; "" for an affected node
    constraint: str = ""  # of the edge that reached this node (it applies to the edge's target)
    constraint_kind: str = ""
    parent: tuple | None = None
    path: tuple = ()  # labels from the affected node to this one
    path_keys: tuple = ()
    target_version: str = ""  # affected nodes only

    @property
    def label(self) -> str:
        return f"{self.system_name} / {self.component_name}" if self.component_id else self.system_name

    @property
    def short_label(self) -> str:
        return self.component_name if self.component_id else "(whole system)"

    @property
    def direct(self) -> bool:
        return self.distance == 1

    @property
    def criticality_rank(self) -> int:
        return CRITICALITY_RANK.get(self.criticality, 0)

    @property
    def criticality_label(self) -> str:
        return Criticality(self.criticality).label if self.criticality in Criticality.values else self.criticality

    @property
    def path_text(self) -> str:
        return " → ".join(self.path) if self.direction == DEPENDENCIES else " ← ".join(self.path)


@dataclass
class SystemGroup:
    system_id: int
    name: str
    slug: str
    criticality: str
    owner_team: str
    nodes: list[Node] = field(default_factory=list)  # shown, after the cap
    total: int = 0
    distance: int = 0  # nearest of its nodes

    @property
    def more(self) -> int:
        return self.total - len(self.nodes)

    @property
    def direct(self) -> bool:
        return self.distance == 1

    @property
    def criticality_rank(self) -> int:
        return CRITICALITY_RANK.get(self.criticality, 0)

    @property
    def criticality_label(self) -> str:
        return Criticality(self.criticality).label if self.criticality in Criticality.values else self.criticality


@dataclass
class Side:
    """One direction of the walk, curated for showing."""

    direction: str
    groups: list[SystemGroup] = field(default_factory=list)  # shown systems
    all_groups: list[SystemGroup] = field(default_factory=list)  # every system reached (not capped)
    node_count: int = 0
    direct_count: int = 0

    @property
    def title(self) -> str:
        return "Dependents" if self.direction == DEPENDENTS else "Dependencies"

    @property
    def explanation(self) -> str:
        if self.direction == DEPENDENTS:
            return "Who depends on what changes: these can break."
        return "What the changing components rely on."

    @property
    def more_systems(self) -> int:
        return len(self.all_groups) - len(self.groups)

    @property
    def transitive_count(self) -> int:
        return self.node_count - self.direct_count

    @property
    def shown_nodes(self) -> list[Node]:
        return [n for g in self.groups for n in g.nodes]

    @property
    def hidden_count(self) -> int:
        return self.node_count - len(self.shown_nodes)


@dataclass
class SbomSummary:
    component_id: int
    label: str
    package_count: int
    edge_count: int
    direct: list[str] = field(default_factory=list)  # top SBOM_TOP direct packages, "name version"
    direct_total: int = 0

    @property
    def more(self) -> int:
        return self.direct_total - len(self.direct)


@dataclass
class BlastRadius:
    reference: str
    request_id: int
    depth: int
    affected: list[Node]
    dependents: Side
    dependencies: Side
    totals: list[tuple[str, str, int]]  # (criticality, label, distinct systems reached) critical first
    sboms: list[SbomSummary] = field(default_factory=list)
    queries_levels: int = 0
    depth_choices: tuple = tuple(range(MIN_DEPTH, MAX_DEPTH + 1))

    @property
    def sides(self) -> tuple[Side, Side]:
        return (self.dependents, self.dependencies)

    @property
    def systems_total(self) -> int:
        return sum(count for _, _, count in self.totals)

    @property
    def is_empty(self) -> bool:
        return not (self.dependents.node_count or self.dependencies.node_count)

    @cached_property
    def svg(self) -> str:
        from .svg import render

        return render(self)


def _affected(request) -> list[Node]:
    nodes: dict[tuple, Node] = {}
    for item in request.items.select_related("system__owner_team", "component").order_by("pk"):
        key = (item.system_id, item.component_id)
        if key in nodes:
            continue
        system, comp = item.system, item.component
        nodes[key] = Node(
            key=key, system_id=system.pk, system_name=system.name, system_slug=system.slug,
            criticality=system.criticality, owner_team=system.owner_team.name,
            component_id=item.component_id, component_name=comp.name if comp else "",
            product=item.product, version=item.current_version, target_version=item.target_version,
        )
    for node in nodes.values():
        node.path, node.path_keys = (node.label,), (node.key,)
    return list(nodes.values())


def _parent_in(frontier: dict[int, list[tuple]], system_id: int, component_id: int | None) -> tuple | None:
    """The frontier node an edge end (system, component) touches, if any.

    A whole-system end touches any node of that system; a whole-system node is touched by any end in it."""
    keys = frontier.get(system_id)
    if not keys:
        return None
    if component_id is None:
        return (system_id, None) if (system_id, None) in keys else keys[0]
    if (system_id, component_id) in keys:
        return (system_id, component_id)
    if (system_id, None) in keys:
        return (system_id, None)
    return None


def _level_rule(index: dict[int, list[tuple]], near: str) -> Q:
    """The edges whose `near` end touches a frontier node: that component, or its whole system."""
    if not index:
        return Q(pk__in=[])
    whole = [system_id for system_id, keys in index.items() if (system_id, None) in keys]
    components = [k[1] for keys in index.values() for k in keys if k[1] is not None]
    if len(components) > MAX_IN:  # a list this long costs more than reading the systems' edges
        return Q(**{f"{near}_system_id__in": list(index)})
    rule = Q(**{f"{near}_system_id__in": list(index), f"{near}_component__isnull": True})
    if whole:
        rule |= Q(**{f"{near}_system_id__in": whole})
    if components:
        rule |= Q(**{f"{near}_component_id__in": components})
    return rule


def _walk(affected: list[Node], depth: int) -> tuple[dict[str, dict[tuple, Node]], int]:
    seeds = {n.key: n for n in affected}
    directions = (DEPENDENTS, DEPENDENCIES)
    found: dict[str, dict[tuple, Node]] = {DEPENDENTS: {}, DEPENDENCIES: {}}
    frontier = {DEPENDENTS: list(seeds), DEPENDENCIES: list(seeds)}
    levels = 0
    for distance in range(1, depth + 1):
        index: dict[str, dict[int, list[tuple]]] = {}
        for direction, keys in frontier.items():
            by_system: dict[int, list[tuple]] = defaultdict(list)
            for key in sorted(keys, key=lambda k: (k[0], k[1] is not None, k[1] or 0)):
                by_system[key[0]].append(key)
            index[direction] = by_system
        if not index[DEPENDENTS] and not index[DEPENDENCIES]:
            break
        rule = _level_rule(index[DEPENDENTS], "target") | _level_rule(index[DEPENDENCIES], "source")
        rows = Dependency.objects.filter(rule).order_by("pk").values_list(*_EDGE_FIELDS)
        levels += 1
        new: dict[str, dict[tuple, Node]] = {DEPENDENTS: {}, DEPENDENCIES: {}}
        for row in rows:
            for direction, near_col, far_col in _NEAR_FAR:
                parent_key = _parent_in(index[direction], row[near_col], row[near_col + 1])
                if parent_key is None:
                    continue
                key = (row[far_col], row[far_col + 1])
                if key in seeds or key in found[direction] or key in new[direction]:
                    continue
                parent = seeds.get(parent_key) or found[direction][parent_key]
                new[direction][key] = Node(
                    key=key, system_id=key[0], component_id=key[1], distance=distance, direction=direction,
                    parent=parent_key, constraint=row[4], constraint_kind=row[5],
                    path_keys=parent.path_keys + (key,))
        for direction in directions:
            found[direction].update(new[direction])
            frontier[direction] = list(new[direction])
    return found, levels


def _label(found: dict[str, dict[tuple, Node]], affected: list[Node]) -> None:
    """Names, criticality and owner teams of every node reached: two queries, whatever the depth."""
    nodes = [n for direction in found.values() for n in direction.values()]
    system_ids = {n.system_id for n in nodes}
    if not system_ids:
        return
    systems = {pk: row for pk, *row in System.objects.filter(pk__in=system_ids)
               .values_list("pk", "name", "slug", "criticality", "owner_team__name")}
    components = {pk: row for pk, *row in Component.objects.filter(system_id__in=system_ids)
                  .values_list("pk", "name", "product", "version")}
    for node in nodes:
        node.system_name, node.system_slug, node.criticality, node.owner_team = systems[node.system_id]
        if node.component_id:
            node.component_name, node.product, node.version = components[node.component_id]
    labels = {n.key: n.label for n in affected}
    for direction in found.values():
        labels.update((key, n.label) for key, n in direction.items())
        for node in direction.values():
            node.path = tuple(labels[k] for k in node.path_keys)


def _node_order(node: Node):
    return (node.distance, node.component_name.lower(), node.key[1] or 0)


def _group_order(group: SystemGroup):
    return (-group.criticality_rank, group.distance, group.name.lower(), group.system_id)


def _side(direction: str, nodes: dict[tuple, Node], limit_per_group: int, limit_groups: int) -> Side:
    groups: dict[int, SystemGroup] = {}
    for node in nodes.values():
        group = groups.get(node.system_id)
        if group is None:
            group = groups[node.system_id] = SystemGroup(
                system_id=node.system_id, name=node.system_name, slug=node.system_slug,
                criticality=node.criticality, owner_team=node.owner_team, distance=node.distance)
        group.nodes.append(node)
        group.distance = min(group.distance, node.distance)
    ordered = sorted(groups.values(), key=_group_order)
    for group in ordered:
        group.nodes.sort(key=_node_order)
        group.total = len(group.nodes)
    # half the places go to direct systems first (they break first), the rest to the most critical
    direct = [g for g in ordered if g.distance == 1][: max(1, limit_groups // 2)]
    chosen = {g.system_id for g in direct}
    chosen.update(g.system_id for g in [g for g in ordered if g.system_id not in chosen][
        : limit_groups - len(chosen)])
    shown = [
        SystemGroup(system_id=g.system_id, name=g.name, slug=g.slug, criticality=g.criticality,
                    owner_team=g.owner_team, nodes=g.nodes[:limit_per_group], total=g.total, distance=g.distance)
        for g in ordered if g.system_id in chosen
    ]
    return Side(direction=direction, groups=shown, all_groups=ordered, node_count=len(nodes),
                direct_count=sum(1 for n in nodes.values() if n.distance == 1))


def _sboms(affected: list[Node]) -> list[SbomSummary]:
    """Package counts and the direct packages of the affected components' latest SBOMs (two queries)."""
    component_ids = [n.component_id for n in affected if n.component_id]
    if not component_ids:
        return []
    latest: dict[int, Sbom] = {}
    for sbom in Sbom.objects.filter(component_id__in=component_ids).order_by("component_id", "-imported_at", "-pk"):
        latest.setdefault(sbom.component_id, sbom)
    if not latest:
        return []
    sbom_ids = [s.pk for s in latest.values()]
    # direct packages: what the SBOM's roots (packages nothing else requires) depend on
    direct: dict[int, dict[int, str]] = defaultdict(dict)
    required = SbomEdge.objects.filter(sbom_id__in=sbom_ids).values("target_id")
    edges = (SbomEdge.objects.filter(sbom_id__in=sbom_ids).exclude(source_id__in=required)
             .order_by("target__name", "target_id")
             .values_list("sbom_id", "target_id", "target__group", "target__name", "target__version"))
    for sbom_id, package_id, group, name, version in edges:
        direct[sbom_id][package_id] = _package_label(group, name, version)
    no_edges = [s.pk for s in latest.values() if not direct[s.pk]]
    if no_edges:  # no dependency graph in the file: every package is direct
        for sbom_id, package_id, group, name, version in (
                SbomPackage.objects.filter(sbom_id__in=no_edges).order_by("name", "pk")
                .values_list("sbom_id", "pk", "group", "name", "version")):
            direct[sbom_id][package_id] = _package_label(group, name, version)
    labels = {n.component_id: n.label for n in affected if n.component_id}
    out = []
    for component_id in component_ids:
        sbom = latest.get(component_id)
        if sbom is None:
            continue
        packages = list(direct[sbom.pk].values())
        out.append(SbomSummary(component_id=component_id, label=labels[component_id],
                               package_count=sbom.package_count, edge_count=sbom.edge_count,
                               direct=packages[:SBOM_TOP], direct_total=len(packages)))
    return out


def _package_label(group: str, name: str, version: str) -> str:
    full = f"{group}/{name}" if group else name
    return f"{full} {version}".strip()


def blast_radius(request, depth: int = 2, limit_per_group: int = 5, limit_groups: int = 10) -> BlastRadius:
    """The curated blast radius of an upgrade request, `depth` hops (1–4) in both directions."""
    depth = max(MIN_DEPTH, min(MAX_DEPTH, int(depth)))
    affected = _affected(request)
    found, levels = _walk(affected, depth)
    _label(found, affected)
    dependents = _side(DEPENDENTS, found[DEPENDENTS], limit_per_group, limit_groups)
    dependencies = _side(DEPENDENCIES, found[DEPENDENCIES], limit_per_group, limit_groups)
    systems: dict[int, str] = {}
    for direction in (DEPENDENTS, DEPENDENCIES):
        for node in found[direction].values():
            systems[node.system_id] = node.criticality
    counts = defaultdict(int)
    for criticality in systems.values():
        counts[criticality] += 1
    totals = [(c.value, c.label, counts[c.value])
              for c in sorted(Criticality, key=lambda c: -CRITICALITY_RANK[c.value]) if counts[c.value]]
    return BlastRadius(reference=request.reference, request_id=request.pk, depth=depth, affected=affected,
                       dependents=dependents, dependencies=dependencies, totals=totals,
                       sboms=_sboms(affected), queries_levels=levels)


# --- the computed check ----------------------------------------------------------------------

CHECK_SEVERITY = {Criticality.CRITICAL: Severity.MEDIUM, Criticality.HIGH: Severity.INFO}
CHECK_MAX = 20  # systems named one by one; the rest share one summary finding


def _request_depth(request) -> int:
    try:
        return request.assessment.depth
    except ObjectDoesNotExist:  # no assessment yet
        return 2


def dependents_check(request) -> list[checks.FindingSpec]:
    """One finding per critical or high system among the dependents, naming what it depends on.

    The most critical and nearest CHECK_MAX are named one by one; any others share one summary finding."""
    blast = blast_radius(request, depth=_request_depth(request))
    specs = []
    flagged = [g for g in blast.dependents.all_groups if g.criticality in CHECK_SEVERITY]
    for group in flagged[:CHECK_MAX]:
        severity = CHECK_SEVERITY[group.criticality]
        nearest = group.nodes[0]
        changed = nearest.path[0]
        lines = [f"{'Direct' if nearest.direct else f'Transitive, {nearest.distance} hops'}: {nearest.path_text}"]
        for node in group.nodes[:5]:
            constraint = f" [{node.constraint}]" if node.constraint else ""
            lines.append(f"- {node.label}: {node.path_text}{constraint}")
        if group.total > 5:
            lines.append(f"- and {group.total - 5} more")
        specs.append(checks.FindingSpec(
            key=f"dependency:dependent:{group.system_id}", category=Category.DEPENDENCY, severity=severity,
            title=(f"{group.name} ({group.criticality_label.lower()}, owner team {group.owner_team}) "
                   f"depends on {changed} which changes")[:300],
            evidence="\n".join(lines), system_id=group.system_id,
            extra={"distance": group.distance, "components": group.total}))
    rest = flagged[CHECK_MAX:]
    if rest:
        specs.append(checks.FindingSpec(
            key="dependency:dependents:more", category=Category.DEPENDENCY,
            severity=max((CHECK_SEVERITY[g.criticality] for g in rest), key=SEVERITY_RANK.get),
            title=f"{len(rest)} more critical or high systems depend on what changes (see the dependency map)",
            evidence="\n".join(f"- {g.name} ({g.criticality_label.lower()}, owner team {g.owner_team}), "
                               f"{'direct' if g.direct else f'{g.distance} hops'}" for g in rest),
            extra={"systems": len(rest)}))
    return specs


def register_checks() -> None:
    checks.register("dependency_blast_radius", dependents_check)
