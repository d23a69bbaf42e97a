"""The runbook as a DAG: order, cycles, critical path, and the start order the inventory demands.

Every function works on steps already loaded (with `depends_on` prefetched), so a page
that shows 200 steps asks the database a fixed number of questions.
"""

from dataclasses import dataclass, field

from .models import RunbookStep, StepAction


def predecessors(step: RunbookStep) -> list[RunbookStep]:
    """The steps `step` directly waits for."""
    return list(step.depends_on.all())


def _edges(steps) -> tuple[dict[int, RunbookStep], dict[int, list[int]]]:
    by_id = {s.pk: s for s in steps}
    preds = {s.pk: [p.pk for p in s.depends_on.all() if p.pk in by_id] for s in steps}
    return by_id, preds


def _sort_key(step: RunbookStep):
    return (step.position, step.pk)


def topological_order(steps) -> list[RunbookStep]:
    """Kahn's order, ties broken by the order the steps were entered; raises CycleError on a cycle."""
    steps = list(steps)
    by_id, preds = _edges(steps)
    remaining = {pk: len(p) for pk, p in preds.items()}
    succ: dict[int, list[int]] = {pk: [] for pk in by_id}
    for pk, ps in preds.items():
        for p in ps:
            succ[p].append(pk)
    ready = sorted((by_id[pk] for pk, n in remaining.items() if n == 0), key=_sort_key)
    order: list[RunbookStep] = []
    while ready:
        step = ready.pop(0)
        order.append(step)
        for nxt in succ[step.pk]:
            remaining[nxt] -= 1
            if remaining[nxt] == 0:
                ready.append(by_id[nxt])
        ready.sort(key=_sort_key)
    if len(order) != len(steps):
        raise CycleError(find_cycle(steps))
    return order


class CycleError(ValueError):
    def __init__(self, cycle: list[RunbookStep]):
        self.cycle = cycle
        super().__init__(" → ".join(s.key for s in cycle))


def find_cycle(steps) -> list[RunbookStep]:
    """One cycle as a closed path [a, b, ..., a], or [] when there is none."""
    steps = list(steps)
    by_id, preds = _edges(steps)
    colour: dict[int, int] = {}
    stack: list[int] = []

    def visit(pk: int) -> list[int] | None:
        colour[pk] = 1
        stack.append(pk)
        for p in preds[pk]:
            if colour.get(p) == 1:
                return stack[stack.index(p):] + [p]
            if p not in colour:
                found = visit(p)
                if found:
                    return found
        stack.pop()
        colour[pk] = 2
        return None

    for step in sorted(steps, key=_sort_key):
        if step.pk not in colour:
            found = visit(step.pk)
            if found:
                # the walk follows "depends on" backwards; show it in execution direction
                return [by_id[pk] for pk in reversed(found)]
    return []


def would_cycle(*, graph: dict[str, set[str]], key: str, depends_on: set[str]) -> list[str]:
    """With `key` depending on `depends_on`, the path of keys closing a cycle, or []."""
    graph = {k: set(v) for k, v in graph.items()}
    graph[key] = set(depends_on)
    # a cycle through `key`: some dependency reaches `key` again by following depends-on edges
    for start in sorted(depends_on):
        path = _path(graph, start, key)
        if path:
            return [*reversed(path), key]  # in execution order: key runs first ... and again
    return []


def _path(graph: dict[str, set[str]], start: str, goal: str) -> list[str]:
    """A depends-on path start → ... → goal, or []."""
    seen, stack = set(), [(start, [start])]
    while stack:
        node, path = stack.pop()
        if node == goal:
            return path
        if node in seen:
            continue
        seen.add(node)
        for nxt in sorted(graph.get(node, ())):
            stack.append((nxt, [*path, nxt]))
    return []


@dataclass
class CriticalPath:
    minutes: int = 0
    steps: list[RunbookStep] = field(default_factory=list)
    earliest_start: dict[int, int] = field(default_factory=dict)  # step id -> minutes from the start


def critical_path(steps) -> CriticalPath:
    """The longest chain of expected durations; raises CycleError on a cycle."""
    order = topological_order(steps)
    _, preds = _edges(order)
    by_id = {s.pk: s for s in order}
    finish: dict[int, int] = {}
    start: dict[int, int] = {}
    via: dict[int, int | None] = {}
    for step in order:
        best, best_pred = 0, None
        for p in preds[step.pk]:
            if finish[p] > best:
                best, best_pred = finish[p], p
        start[step.pk] = best
        via[step.pk] = best_pred
        finish[step.pk] = best + step.expected_minutes
    if not order:
        return CriticalPath()
    end = max(order, key=lambda s: (finish[s.pk], -s.position))
    chain = []
    pk: int | None = end.pk
    while pk is not None:
        chain.append(by_id[pk])
        pk = via[pk]
    return CriticalPath(minutes=finish[end.pk], steps=list(reversed(chain)), earliest_start=start)


def ancestors(steps) -> dict[int, set[int]]:
    """Every step's transitive predecessors (by id); steps on a cycle get what is reachable."""
    _, preds = _edges(steps)
    memo: dict[int, set[int]] = {}

    def walk(pk: int, seen: frozenset) -> set[int]:
        if pk in memo:
            return memo[pk]
        found: set[int] = set()
        for p in preds[pk]:
            if p in seen:
                continue
            found.add(p)
            found |= walk(p, seen | {p})
        memo[pk] = found
        return found

    return {s.pk: walk(s.pk, frozenset({s.pk})) for s in steps}


@dataclass(frozen=True)
class StartOrderViolation:
    step: RunbookStep
    needs: RunbookStep
    dependency: str

    def __str__(self) -> str:
        return (f"Step “{self.step.key}” starts {self.step.component.name} without waiting for step "
                f"“{self.needs.key}”, which starts {self.needs.component.name} it depends on "
                f"({self.dependency}).")


def start_order_violations(steps, dependencies) -> list[StartOrderViolation]:
    """A `start_service` step must come after the start of every component its component depends on.

    `dependencies` are inventory Dependency rows (source depends on target) with their components
    loaded; a dependency on a whole system counts for every component of that system started here.
    """
    starts = [s for s in steps if s.action == StepAction.START_SERVICE and s.component_id]
    if len(starts) < 2:
        return []
    reach = ancestors(steps)
    by_component: dict[int, list[RunbookStep]] = {}
    for s in starts:
        by_component.setdefault(s.component_id, []).append(s)
    violations = []
    for step in starts:
        comp = step.component
        for dep in dependencies:
            applies = dep.source_component_id == comp.pk or (
                dep.source_component_id is None and dep.source_system_id == comp.system_id)
            if not applies:
                continue
            targets = [t for t in starts if t.pk != step.pk and (
                t.component_id == dep.target_component_id
                or (dep.target_component_id is None and t.component.system_id == dep.target_system_id))]
            for target in targets:
                if target.component_id == comp.pk:
                    continue
                if target.pk not in reach[step.pk]:
                    violations.append(StartOrderViolation(step=step, needs=target, dependency=str(dep)))
    seen, unique = set(), []
    for v in violations:
        if (v.step.pk, v.needs.pk) not in seen:
            seen.add((v.step.pk, v.needs.pk))
            unique.append(v)
    return unique
