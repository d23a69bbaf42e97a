"""The dependency map as a self-contained SVG string, the same in the browser and in a PDF.

Columns left to right: dependents (farthest first), the changed components in the
middle, dependencies (nearest first). Arrows point at what is depended upon. Only
the curated nodes are drawn; each column ends with "+ N more" for what was left out.
No script, no external reference; every text is XML-escaped.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict

from .graph import DEPENDENCIES, DEPENDENTS, BlastRadius, Node

BOX_W, BOX_H, GAP_Y, COL_W = 190, 38, 12, 260
TOP, LEFT, BOTTOM, STUB = 46, 16, 56, 24
SYSTEM_CHARS, LINE2_CHARS = 26, 30

# stroke, fill per criticality (the stylesheet's palette)
COLOURS = {
    "critical": ("#b3261e", "#fbe0de"),
    "high": ("#a86400", "#fff1d6"),
    "medium": ("#3c5a8a", "#e3ecfb"),
    "low": ("#5b6575", "#eef1f6"),
}
AFFECTED_STROKE = "#1f5fbf"
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def esc(value) -> str:
    """Text or attribute value safe in XML 1.0 (characters XML cannot hold are dropped)."""
    return html.escape(_INVALID_XML.sub("", str(value)), quote=True)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _columns(blast: BlastRadius) -> list[tuple[str, int, list[Node]]]:
    """(direction, distance, nodes) per column, left to right; affected is ("", 0, ...)."""
    by = {DEPENDENTS: defaultdict(list), DEPENDENCIES: defaultdict(list)}
    for side in (blast.dependents, blast.dependencies):
        for node in side.shown_nodes:
            by[side.direction][node.distance].append(node)
    cols = [(DEPENDENTS, d, by[DEPENDENTS][d]) for d in sorted(by[DEPENDENTS], reverse=True)]
    cols.append(("", 0, list(blast.affected)))
    cols += [(DEPENDENCIES, d, by[DEPENDENCIES][d]) for d in sorted(by[DEPENDENCIES])]
    return cols


def _hidden_at(blast: BlastRadius) -> dict[tuple[str, int], int]:
    hidden: dict[tuple[str, int], int] = defaultdict(int)
    for side in (blast.dependents, blast.dependencies):
        shown = {id(n) for n in side.shown_nodes}
        for group in side.all_groups:
            for node in group.nodes:
                if id(node) not in shown:
                    hidden[(side.direction, node.distance)] += 1
    return hidden


def _heading(direction: str, distance: int) -> str:
    if not direction:
        return "Changes"
    hops = "direct" if distance == 1 else f"{distance} hops"
    return f"{'Dependents' if direction == DEPENDENTS else 'Dependencies'} · {hops}"


def _box(node: Node, x: int, y: int, affected: bool) -> str:
    stroke, fill = COLOURS.get(node.criticality, COLOURS["low"])
    if affected:
        line2 = f"{node.product} {node.version} → {node.target_version}".strip()
        if node.component_id:
            line2 = f"{node.component_name}: {line2}"
        tip = f"{node.label} changes: {line2} ({node.criticality_label} criticality, owner team {node.owner_team})"
    else:
        line2 = node.short_label + (f" {node.version}" if node.version else "")
        how = "direct" if node.direct else f"transitive, {node.distance} hops"
        tip = (f"{node.label} — {node.criticality_label} criticality, owner team {node.owner_team}, {how}: "
               f"{node.path_text}" + (f" [{node.constraint}]" if node.constraint else ""))
    width = 3 if affected else 1.5
    return (
        f'<g class="node node-{esc(node.criticality)}"><title>{esc(tip)}</title>'
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="5" fill="{fill}" stroke="'
        f'{AFFECTED_STROKE if affected else stroke}" stroke-width="{width}"/>'
        f'<text x="{x + 8}" y="{y + 15}" font-weight="600" fill="#1d2430">'
        f"{esc(truncate(node.system_name, SYSTEM_CHARS))}</text>"
        f'<text x="{x + 8}" y="{y + 30}" fill="#5b6575">{esc(truncate(line2, LINE2_CHARS))}</text></g>'
    )


def _nearest_drawn(node: Node, pos: dict, everything: dict) -> tuple[tuple | None, bool]:
    """The drawn node this one hangs from, and whether hidden nodes were skipped on the way."""
    key, skipped = node.parent, False
    while key is not None:
        if (node.direction, key) in pos or ("", key) in pos:
            return key, skipped
        parent = everything.get((node.direction, key))
        if parent is None:
            return None, skipped
        key, skipped = parent.parent, True
    return None, skipped


def render(blast: BlastRadius) -> str:
    cols = _columns(blast)
    hidden = _hidden_at(blast)
    rows = max([len(nodes) + (1 if hidden.get((d, dist)) else 0) for d, dist, nodes in cols] + [1])
    width = LEFT * 2 + COL_W * (len(cols) - 1) + BOX_W
    height = TOP + rows * (BOX_H + GAP_Y) + BOTTOM
    uid = f"depmap-{blast.request_id}-{blast.depth}"

    everything = {}
    for side in (blast.dependents, blast.dependencies):
        for group in side.all_groups:
            for node in group.nodes:
                everything[(side.direction, node.key)] = node

    pos: dict[tuple, tuple[int, int]] = {}
    boxes, headings = [], []
    for index, (direction, distance, nodes) in enumerate(cols):
        x = LEFT + index * COL_W
        headings.append(f'<text x="{x}" y="{TOP - 14}" font-weight="700" fill="#1d2430">'
                        f"{esc(_heading(direction, distance))}</text>")
        for row, node in enumerate(nodes):
            y = TOP + row * (BOX_H + GAP_Y)
            pos[(direction, node.key)] = (x, y)
            boxes.append(_box(node, x, y, affected=not direction))
        more = hidden.get((direction, distance))
        if more:
            y = TOP + len(nodes) * (BOX_H + GAP_Y) + 20
            boxes.append(f'<text x="{x + 8}" y="{y}" fill="#5b6575" font-style="italic">+ {more} more</text>')

    edges = []
    for (direction, key), (x, y) in pos.items():
        if not direction:
            continue
        node = everything[(direction, key)]
        parent_key, skipped = _nearest_drawn(node, pos, everything)
        if parent_key is None:
            continue
        if skipped:  # its parent is not drawn: a short dashed stub towards it, the path in the tooltip
            if direction == DEPENDENTS:
                x1, x2 = x + BOX_W, x + BOX_W + STUB
            else:
                x1, x2 = x - STUB, x - 2
            tip = f"{node.path_text} (through systems not drawn)"
            edges.append(f'<g class="edge stub"><title>{esc(tip)}</title><line x1="{x1}" y1="{y + BOX_H / 2:g}" '
                         f'x2="{x2}" y2="{y + BOX_H / 2:g}" stroke="#8a94a6" stroke-width="1.5" '
                         f'stroke-dasharray="4 3" marker-end="url(#{uid}-arrow)"/></g>')
            continue
        px, py = pos.get((direction, parent_key)) or pos[("", parent_key)]
        # arrows point at what is depended upon: dependents → parent, parent → dependencies
        if direction == DEPENDENTS:
            x1, y1, x2, y2 = x + BOX_W, y + BOX_H / 2, px, py + BOX_H / 2
            tip = f"{node.label} depends on {node.path[-2] if len(node.path) > 1 else ''}"
        else:
            x1, y1, x2, y2 = px + BOX_W, py + BOX_H / 2, x, y + BOX_H / 2
            tip = f"{node.path[-2] if len(node.path) > 1 else ''} depends on {node.label}"
        if node.constraint:
            tip += f" ({node.constraint})"
        edges.append(f'<g class="edge"><title>{esc(tip)}</title><line x1="{x1:g}" y1="{y1:g}" x2="{x2 - 2:g}" '
                     f'y2="{y2:g}" stroke="#8a94a6" stroke-width="1.5" marker-end="url(#{uid}-arrow)"/></g>')

    legend_y = height - 18
    legend = []
    for i, (crit, (stroke, fill)) in enumerate(COLOURS.items()):
        lx = LEFT + i * 110
        legend.append(f'<rect x="{lx}" y="{legend_y - 11}" width="14" height="14" rx="3" fill="{fill}" '
                      f'stroke="{stroke}"/><text x="{lx + 20}" y="{legend_y}" fill="#1d2430">{esc(crit)}</text>')

    dependents, dependencies = blast.dependents, blast.dependencies
    desc = (f"{len(blast.affected)} changing, {dependents.node_count} dependents "
            f"({dependents.direct_count} direct) in {len(dependents.all_groups)} systems, "
            f"{dependencies.node_count} dependencies ({dependencies.direct_count} direct) in "
            f"{len(dependencies.all_groups)} systems, up to {blast.depth} hops; "
            f"{dependents.hidden_count + dependencies.hidden_count} not drawn.")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="depmap" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="{uid}-title {uid}-desc" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12">'
        f'<title id="{uid}-title">{esc(f"Dependency map of {blast.reference}")}</title>'
        f'<desc id="{uid}-desc">{esc(desc)}</desc>'
        f'<defs><marker id="{uid}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#8a94a6"/></marker></defs>'
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>'
        + "".join(headings) + "".join(edges) + "".join(boxes) + "".join(legend) + "</svg>"
    )
