"""The dependency map on a 5,000-component inventory: 500 systems × 10 components, ~10,000 dependencies.

Two requests: one changing an ordinary component (about two dependents and two
dependencies per component, random), and one changing a hub that 600 components
depend on directly (the iTop case: the map must stay curated and fast).
"""

import random

SYSTEMS, COMPONENTS_PER_SYSTEM, EDGES_PER_COMPONENT, HUB_DEPENDENTS = 500, 10, 2, 600
RUNS = 7


def build():
    from django.contrib.auth.models import Group
    from django.db import transaction

    from apps.accounts.models import Team, User
    from apps.inventory.models import Component, Dependency, Environment, System

    rng = random.Random(42)
    criticalities = ["low", "medium", "medium", "high", "critical"]
    with transaction.atomic():
        teams = Team.objects.bulk_create(Team(name=f"Bench team {i}", slug=f"bench-team-{i}") for i in range(20))
        env = Environment.objects.create(name="Bench production", slug="bench-production", kind="production")
        systems = System.objects.bulk_create(
            System(name=f"System {i:03d}", slug=f"bench-system-{i:03d}", owner_team=teams[i % len(teams)],
                   criticality=rng.choice(criticalities), region="eu-central")
            for i in range(SYSTEMS))
        components = Component.objects.bulk_create(
            Component(system=s, environment=env, name=f"svc-{c}", product="postgresql", version="13.14")
            for s in systems for c in range(COMPONENTS_PER_SYSTEM))
        deps = []
        for source in components:
            for _ in range(EDGES_PER_COMPONENT):
                target = rng.choice(components)
                while target.system_id == source.system_id:
                    target = rng.choice(components)
                whole = rng.random() < 0.1  # one in ten names only the target system
                deps.append(Dependency(source_system_id=source.system_id, source_component=source,
                                       target_system_id=target.system_id,
                                       target_component=None if whole else target, constraint=">=13 <17"))
        # the ordinary change: a component something depends on by name, away from the hub
        ordinary = next(c for c in (d.target_component for d in deps[len(deps) // 2:]) if c is not None)
        hub = components[0]
        for source in rng.sample(components[COMPONENTS_PER_SYSTEM:], HUB_DEPENDENTS):
            deps.append(Dependency(source_system_id=source.system_id, source_component=source,
                                   target_system_id=hub.system_id, target_component=hub, constraint=">=13"))
        Dependency.objects.bulk_create(deps, batch_size=2000)
        user = User.objects.create(username="bench-manager")
        user.groups.add(Group.objects.get(name="change_manager"))
    return user, ordinary, hub, len(components), len(deps)


def _request(user, component, title):
    from apps.upgrades.services import upgrade_create

    return upgrade_create(by=user, title=title, justification="Benchmark.", items=[{
        "system": component.system_id, "component": component.pk, "current_version": "13.14",
        "target_version": "16.4"}])


def run() -> list[dict]:
    from benchmarks import django_db, measure

    connection = django_db()
    from apps.assessments.graph import blast_radius

    user, ordinary, hub, n_components, n_deps = build()
    rows = []
    for label, component in (("ordinary", ordinary), ("hub, 600 direct dependents", hub)):
        request = _request(user, component, f"Benchmark {label}")
        for depth in (1, 2, 3, 4):
            median, queries = measure(lambda r=request, d=depth: blast_radius(r, depth=d), RUNS)
            svg_median, _ = measure(lambda r=request, d=depth: blast_radius(r, depth=d).svg, RUNS)
            blast = blast_radius(request, depth=depth)
            reached = blast.dependents.node_count + blast.dependencies.node_count
            shown = len(blast.dependents.shown_nodes) + len(blast.dependencies.shown_nodes)
            rows.append({
                "name": f"graph walk, {label}, depth {depth}",
                "n": f"{n_components} components / {n_deps} deps",
                "runs": RUNS,
                "median ms": round(median, 1),
                "with SVG ms": round(svg_median, 1),
                "queries": queries,
                "reached": reached,
                "shown": shown,
                "database": connection.vendor,
            })
    return rows
