"""The dependency map: both directions, depth, cycles, curation, queries, SVG and the dependents check."""

import itertools
import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext

from apps.assessments.graph import DEPENDENCIES, DEPENDENTS, blast_radius, dependents_check, parse_depth
from apps.core import clock
from apps.inventory.models import Component, Dependency, Sbom, SbomEdge, SbomPackage, System

from ..conftest import make_request
from ..factories import ComponentFactory, SystemFactory

SVG = "{http://www.w3.org/2000/svg}"


def comp(name, criticality="medium", system=None, team=None, production=None):
    system = system or SystemFactory(name=f"{name} system", slug=f"{name}-system", criticality=criticality,
                                     **({"owner_team": team} if team else {}))
    return ComponentFactory(system=system, name=name, **({"environment": production} if production else {}))


def dep(source, target, constraint=""):
    """`source` depends on `target`; each a Component or a System (whole system)."""
    fields = {"constraint": constraint, "constraint_kind": "semver"}
    for side, end in (("source", source), ("target", target)):
        if isinstance(end, Component):
            fields[f"{side}_system"], fields[f"{side}_component"] = end.system, end
        else:
            fields[f"{side}_system"] = end
    return Dependency.objects.create(**fields)


def keys(side):
    return [(n.system_name, n.component_name, n.distance) for g in side.all_groups for n in g.nodes]


@pytest.fixture
def request_a(requester, component_a):
    return make_request(requester, component_a)


def test_walks_dependents_and_dependencies_with_paths(request_a, component_a, production):
    portal = comp("portal", "high", production=production)
    mobile = comp("mobile", "low", production=production)
    storage = comp("storage", production=production)
    backup = comp("backup", production=production)
    dep(portal, component_a, ">=13 <17")  # portal can break
    dep(mobile, portal)  # mobile can break through portal
    dep(component_a, storage)  # the ledger relies on storage
    dep(storage.system, backup)  # storage as a whole relies on backup

    blast = blast_radius(request_a, depth=2)

    assert sorted(keys(blast.dependents)) == [("mobile system", "mobile", 2), ("portal system", "portal", 1)]
    assert sorted(keys(blast.dependencies)) == [("backup system", "backup", 2), ("storage system", "storage", 1)]
    portal_node = blast.dependents.all_groups[0].nodes[0]
    assert portal_node.direction == DEPENDENTS and portal_node.owner_team
    assert portal_node.constraint == ">=13 <17"
    mobile_node = next(n for g in blast.dependents.all_groups for n in g.nodes if n.component_name == "mobile")
    assert mobile_node.path == ("Core Ledger / ledger-db", "portal system / portal", "mobile system / mobile")
    backup_node = blast.dependencies.all_groups[0].nodes[0] if blast.dependencies.all_groups[0].name.startswith(
        "backup") else blast.dependencies.all_groups[1].nodes[0]
    assert backup_node.direction == DEPENDENCIES and backup_node.distance == 2
    assert blast.dependents.direct_count == 1 and blast.dependents.transitive_count == 1


def test_depth_limits_the_walk_and_the_parameter_is_clamped(request_a, component_a, production):
    chain = [component_a] + [comp(f"hop{i}", production=production) for i in range(1, 7)]
    for near, far in itertools.pairwise(chain):
        dep(far, near)  # hop1 depends on the ledger, hop2 on hop1, ...
    for depth in (1, 2, 3, 4):
        blast = blast_radius(request_a, depth=depth)
        assert [d for _, _, d in sorted(keys(blast.dependents), key=lambda k: k[2])] == list(range(1, depth + 1))
    assert blast_radius(request_a, depth=9).depth == 4
    assert parse_depth("3") == 3
    assert parse_depth("0") == 2 and parse_depth("5") == 2 and parse_depth("x") == 2 and parse_depth(None, 1) == 1


def test_cycle_terminates_without_duplicates(request_a, component_a, production):
    b = comp("b", production=production)
    c = comp("c", production=production)
    dep(component_a, b)
    dep(b, c)
    dep(c, component_a)  # a → b → c → a

    blast = blast_radius(request_a, depth=4)

    assert sorted(keys(blast.dependencies)) == [("b system", "b", 1), ("c system", "c", 2)]
    assert sorted(keys(blast.dependents)) == [("b system", "b", 2), ("c system", "c", 1)]
    for side in blast.sides:
        names = [n.key for g in side.all_groups for n in g.nodes]
        assert len(names) == len(set(names))
        assert component_a.system_id not in {g.system_id for g in side.all_groups}


def test_whole_system_dependency_is_reached_when_a_component_of_it_changes(request_a, component_a, production):
    crm = comp("crm", production=production)
    dep(crm.system, component_a.system)  # the CRM depends on the ledger as a whole
    blast = blast_radius(request_a, depth=1)
    [node] = blast.dependents.all_groups[0].nodes
    assert node.component_id is None and node.system_name == "crm system" and node.short_label == "(whole system)"


def test_curated_map_caps_systems_and_components_and_counts_the_rest(request_a, component_a, production):
    for s in range(30):
        system = SystemFactory(name=f"Consumer {s:02d}", slug=f"consumer-{s:02d}", criticality="medium")
        for c in range(8):
            dep(ComponentFactory(system=system, environment=production, name=f"svc-{c}"), component_a)

    blast = blast_radius(request_a, depth=2, limit_per_group=5, limit_groups=10)

    side = blast.dependents
    assert side.node_count == 240 and len(side.all_groups) == 30
    assert len(side.groups) == 10 and side.more_systems == 20
    assert all(len(g.nodes) == 5 and g.more == 3 for g in side.groups)
    assert len(side.shown_nodes) == 50 and side.hidden_count == 190
    assert blast.totals == [("medium", "Medium", 30)]
    html = render_to_string("assessments/partials/dependency_map.html", {"blast": blast})
    assert "and 3 more in Consumer 00" in html
    assert "and 20 more systems" in html
    assert "Consumer 29" not in html  # the map never floods the page
    assert html.count('class="node ') == 51  # 50 curated dependents + the changed component


def test_groups_sorted_by_criticality_then_distance(request_a, component_a, production):
    low = comp("low", "low", production=production)
    high = comp("high", "high", production=production)
    near_critical = comp("crit1", "critical", production=production)
    far_critical = comp("crit2", "critical", production=production)
    medium = comp("medium", "medium", production=production)
    for c in (low, high, near_critical, medium):
        dep(c, component_a)
    dep(far_critical, low)

    blast = blast_radius(request_a, depth=2)

    assert [g.name for g in blast.dependents.groups] == [
        "crit1 system", "crit2 system", "high system", "medium system", "low system"]
    assert [g.distance for g in blast.dependents.groups] == [1, 2, 1, 1, 1]
    assert blast.totals[0] == ("critical", "Critical", 2)


def _graph(component_a, production, width, prefix="L"):
    """Layers of `width` components, 6 deep on each side of the ledger, every one linked to the layer before."""
    previous_in, previous_out = [component_a], [component_a]
    for layer in range(6):
        now_in, now_out = [], []
        for i in range(width):
            system = System.objects.create(name=f"{prefix}{layer}-{i}", slug=f"{prefix.lower()}{layer}-{i}", criticality="high",
                                           owner_team=component_a.system.owner_team, region="eu")
            a = ComponentFactory(system=system, environment=production, name="in")
            b = ComponentFactory(system=system, environment=production, name="out")
            dep(a, previous_in[i % len(previous_in)])
            dep(previous_out[i % len(previous_out)], b)
            now_in.append(a)
            now_out.append(b)
        previous_in, previous_out = now_in, now_out


def _queries(request, depth):
    with CaptureQueriesContext(connection) as ctx:
        blast_radius(request, depth=depth).svg  # noqa: B018 — rendering must not query either
    return len(ctx.captured_queries)


@pytest.mark.parametrize("depth", [1, 3])
def test_query_count_does_not_grow_with_the_inventory(request_a, requester, component_a, production,
                                                       system_b, depth):
    _graph(component_a, production, width=2)
    small = _queries(request_a, depth)
    other = ComponentFactory(system=system_b, environment=production, name="big-root")
    _graph(other, production, width=25, prefix="W")  # a second, much wider graph behind another request
    big_request = make_request(requester, other)
    assert _queries(big_request, depth) == small
    assert blast_radius(big_request, depth=depth).dependents.node_count == 25 * depth


def test_query_count_grows_with_depth_only(request_a, component_a, production):
    _graph(component_a, production, width=3)
    counts = [_queries(request_a, d) for d in (1, 2, 3, 4)]
    assert counts[1] - counts[0] == counts[2] - counts[1] == counts[3] - counts[2] == 1


def test_svg_is_well_formed_accessible_and_escapes_names(request_a, component_a, production):
    evil = SystemFactory(name='<script>x</script> & Co', slug="evil", criticality="critical")
    dep(ComponentFactory(system=evil, environment=production, name="a\x01b'<i>"), component_a)
    dep(component_a, comp("storage", production=production))

    blast = blast_radius(request_a, depth=2)
    svg = blast.svg

    assert "<script" not in svg and "<i>" not in svg
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert int(root.get("width")) > 0 and int(root.get("height")) > 0
    assert root.find(f"{SVG}title").text == f"Dependency map of {request_a.reference}"
    assert "1 dependents" in root.find(f"{SVG}desc").text
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert '<script>x</script> & Co' in texts  # the name shown as text, never as markup
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert any('<script>x</script> & Co' in t for t in titles)
    assert "href" not in svg.replace('url(#', '')  # nothing external for the PDF
    assert len([g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]) == 2


def test_long_names_truncated_with_full_name_in_title(request_a, component_a, production):
    long = SystemFactory(name="A very long system name that does not fit in a box", slug="long")
    dep(ComponentFactory(system=long, environment=production, name="x"), component_a)
    root = ET.fromstring(blast_radius(request_a, depth=1).svg)
    assert "A very long system name t…" in [t.text for t in root.iter(f"{SVG}text")]
    assert any(t.text.startswith("A very long system name that does not fit in a box / x")
               for t in root.iter(f"{SVG}title"))


def test_template_shows_depth_selector_and_direct_and_transitive(request_a, component_a, production):
    a = comp("alpha", "high", production=production)
    dep(a, component_a, "^13")
    dep(comp("beta", production=production), a)
    html = render_to_string("assessments/partials/dependency_map.html",
                            {"blast": blast_radius(request_a, depth=3)})
    assert 'name="depth"' in html and '<option value="3" selected>' in html
    assert "direct" in html and "transitive · 2 hops" in html and "^13" in html
    assert "<svg" in html and "owner team" in html


def test_empty_map_says_so(request_a):
    blast = blast_radius(request_a, depth=2)
    assert blast.is_empty
    html = render_to_string("assessments/partials/dependency_map.html", {"blast": blast})
    assert "Nothing in the inventory depends on" in html
    ET.fromstring(blast.svg)


def test_sbom_direct_packages_reported_without_walking_them(request_a, component_a, requester):
    sbom = Sbom.objects.create(component=component_a, spec_version="1.4", filename="bom.json", sha256="0" * 64,
                               package_count=4, edge_count=3, imported_by=requester, imported_at=clock.now())
    root, p1, p2, p3 = (SbomPackage.objects.create(sbom=sbom, bom_ref=n, name=n, version="1.0")
                        for n in ("app", "libz", "liba", "deep"))
    for s, t in ((root, p1), (root, p2), (p1, p3)):
        SbomEdge.objects.create(sbom=sbom, source=s, target=t)

    blast = blast_radius(request_a, depth=2)

    [summary] = blast.sboms
    assert summary.package_count == 4 and summary.direct == ["liba 1.0", "libz 1.0"] and summary.more == 0
    assert blast.is_empty  # packages are not systems of the map
    html = render_to_string("assessments/partials/dependency_map.html", {"blast": blast})
    assert "4 packages" in html and "liba 1.0" in html and "deep 1.0" not in html


def test_dependents_check_flags_critical_and_high_systems(request_a, component_a, production, team_b):
    critical = comp("payments", "critical", team=team_b, production=production)
    high = comp("reports", "high", production=production)
    medium = comp("intranet", "medium", production=production)
    for c in (critical, high, medium):
        dep(c, component_a, ">=13")

    specs = {s.key: s for s in dependents_check(request_a)}

    assert set(specs) == {f"dependency:dependent:{critical.system_id}", f"dependency:dependent:{high.system_id}"}
    spec = specs[f"dependency:dependent:{critical.system_id}"]
    assert spec.severity == "medium" and spec.category == "dependency" and spec.system_id == critical.system_id
    assert spec.title == ("payments system (critical, owner team Retail Web) depends on Core Ledger / ledger-db "
                          "which changes")
    assert "Core Ledger / ledger-db ← payments system / payments" in spec.evidence and ">=13" in spec.evidence
    assert specs[f"dependency:dependent:{high.system_id}"].severity == "info"
    assert dependents_check(request_a) == list(specs.values())  # stable keys: a re-run finds the same


def test_direct_systems_keep_their_place_among_many_critical_transitive_ones(request_a, component_a, production):
    direct = [comp(f"direct{i}", "low", production=production) for i in range(3)]
    for d in direct:
        dep(d, component_a)
    for i in range(12):
        dep(comp(f"far{i:02d}", "critical", production=production), direct[0])

    blast = blast_radius(request_a, depth=2, limit_groups=10)

    shown = [g.name for g in blast.dependents.groups]
    assert len(shown) == 10 and blast.dependents.more_systems == 5
    assert {"direct0 system", "direct1 system", "direct2 system"} <= set(shown)
    assert shown[:7] == [f"far{i:02d} system" for i in range(7)]  # still listed by criticality first
    root = ET.fromstring(blast.svg)
    edges = [g for g in root.iter(f"{SVG}g") if (g.get("class") or "").startswith("edge")]
    assert len(edges) == 10  # one per drawn node; the far ones hang from direct0, which is drawn
    assert "+ 5 more" in [t.text for t in root.iter(f"{SVG}text")]


def test_a_node_whose_parent_is_not_drawn_gets_a_stub_with_its_path(request_a, component_a, production):
    d0, d1 = comp("direct0", "low", production=production), comp("direct1", "low", production=production)
    dep(d0, component_a)
    dep(d1, component_a)
    dep(comp("far", "critical", production=production), d1)

    blast = blast_radius(request_a, depth=2, limit_groups=2)

    assert [g.name for g in blast.dependents.groups] == ["far system", "direct0 system"]
    root = ET.fromstring(blast.svg)
    [stub] = [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge stub"]
    assert stub.find(f"{SVG}title").text == (
        "Core Ledger / ledger-db ← direct1 system / direct1 ← far system / far (through systems not drawn)")


def test_dependents_check_stays_small_when_many_critical_systems_depend(request_a, component_a, production):
    for i in range(25):
        dep(comp(f"crit{i:02d}", "critical", production=production), component_a)

    specs = dependents_check(request_a)

    assert len(specs) == 21
    summary = specs[-1]
    assert summary.key == "dependency:dependents:more" and summary.severity == "medium"
    assert summary.title.startswith("5 more critical or high systems depend on what changes")
    assert summary.evidence.count("\n") == 4 and "crit24 system" in summary.evidence
