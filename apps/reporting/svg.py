"""Charts drawn on the server as SVG: the page and the PDF show the same picture, no JavaScript."""

from django.utils.html import escape
from django.utils.safestring import mark_safe

COLOURS = {"successful": "#1e7a3c", "with_issues": "#a86400", "unsuccessful": "#b3261e", "line": "#1f5fbf",
           "bar": "#3c5a8a", "negative": "#b3261e", "axis": "#5b6575", "grid": "#d8dde5"}
W, H, LEFT, BOTTOM, TOP = 640, 220, 44, 34, 14


def _svg(body: list[str], title: str, desc: str, width: int = W, height: int = H) -> str:
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" class="chart">'
        f'<title>{escape(title)}</title><desc>{escape(desc)}</desc>' + "".join(body) + "</svg>")


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000):
        if value <= step * 4:
            return step * 4
    return value


def _axis(top: float, unit: str = "") -> list[str]:
    out = []
    plot_h = H - BOTTOM - TOP
    for i in range(5):
        v = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        out.append(f'<line x1="{LEFT}" x2="{W - 6}" y1="{y:.1f}" y2="{y:.1f}" stroke="{COLOURS["grid"]}"/>')
        label = f"{v:g}{unit}"
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                   f'fill="{COLOURS["axis"]}">{escape(label)}</text>')
    return out


def stacked_bars(rows: list[dict], series: list[tuple[str, str]], title: str) -> str:
    """One stacked bar per row (a month), `series` = [(key, label)], with a legend."""
    top = _nice_max(max((sum(r[k] for k, _ in series) for r in rows), default=0))
    plot_h, n = H - BOTTOM - TOP, max(len(rows), 1)
    slot = (W - LEFT - 6) / n
    body = _axis(top)
    desc = []
    for i, r in enumerate(rows):
        x, y = LEFT + i * slot + slot * 0.15, TOP + plot_h
        parts = []
        for key, label in series:
            h = plot_h * r[key] / top
            y -= h
            if h > 0:
                body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
                            f'fill="{COLOURS.get(key, COLOURS["bar"])}"><title>{escape(r["label"])}: '
                            f'{r[key]} {escape(label.lower())}</title></rect>')
            parts.append(f"{r[key]} {label.lower()}")
        body.append(f'<text x="{x + slot * 0.35:.1f}" y="{H - BOTTOM + 14}" text-anchor="middle" '
                    f'font-size="10" fill="{COLOURS["axis"]}">{escape(r["label"])}</text>')
        desc.append(f"{r['label']}: " + ", ".join(parts))
    lx = LEFT
    for key, label in series:
        colour = COLOURS.get(key, COLOURS["bar"])
        body.append(f'<rect x="{lx}" y="{H - 12}" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{lx + 14}" y="{H - 3}" font-size="11" fill="{COLOURS["axis"]}">'
                    f'{escape(label)}</text>')
        lx += 24 + 7 * len(label)
    return _svg(body, title, "; ".join(desc) or "No data in the period.")


def line(rows: list[dict], key: str, title: str, unit: str = "%", top: float | None = None) -> str:
    """A line over the rows (months); missing values (None) break the line."""
    values = [r[key] for r in rows]
    top = top or _nice_max(max((v for v in values if v is not None), default=0))
    plot_h, n = H - BOTTOM - TOP, max(len(rows), 1)
    slot = (W - LEFT - 6) / n
    body = _axis(top, unit)
    points, desc = [], []
    for i, r in enumerate(rows):
        x = LEFT + i * slot + slot / 2
        body.append(f'<text x="{x:.1f}" y="{H - BOTTOM + 14}" text-anchor="middle" font-size="10" '
                    f'fill="{COLOURS["axis"]}">{escape(r["label"])}</text>')
        v = r[key]
        desc.append(f"{r['label']}: {'no data' if v is None else f'{v:g}{unit}'}")
        if v is None:
            if len(points) > 1:
                body.append(f'<polyline fill="none" stroke="{COLOURS["line"]}" stroke-width="2" '
                            f'points="{" ".join(points)}"/>')
            points = []
            continue
        y = TOP + plot_h - plot_h * min(v, top) / top
        points.append(f"{x:.1f},{y:.1f}")
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{COLOURS["line"]}">'
                    f'<title>{escape(r["label"])}: {v:g}{escape(unit)}</title></circle>')
    if len(points) > 1:
        body.append(f'<polyline fill="none" stroke="{COLOURS["line"]}" stroke-width="2" '
                    f'points="{" ".join(points)}"/>')
    return _svg(body, title, "; ".join(desc) or "No data in the period.")


def hbars(items: list[tuple[str, float]], title: str, unit: str = "") -> str:
    """Horizontal bars, negative values to the left of the zero line (team scores)."""
    items = items[:12]
    height = 24 + 22 * max(len(items), 1)
    label_w = 170
    low = min([0] + [v for _, v in items])
    high = max([0] + [v for _, v in items])
    span = (high - low) or 1
    plot_w = W - label_w - 50
    zero = label_w + plot_w * (-low) / span
    body = [f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="6" y2="{height - 10}" stroke="{COLOURS["axis"]}"/>']
    for i, (label, v) in enumerate(items):
        y = 10 + 22 * i
        w = plot_w * abs(v) / span
        x = zero if v >= 0 else zero - w
        colour = COLOURS["bar"] if v >= 0 else COLOURS["negative"]
        body.append(f'<text x="{label_w - 8}" y="{y + 13}" text-anchor="end" font-size="11" '
                    f'fill="{COLOURS["axis"]}">{escape(label[:28])}</text>')
        body.append(f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="16" fill="{colour}"/>')
        tx = (x + w + 4) if v >= 0 else (x - 4)
        anchor = "start" if v >= 0 else "end"
        body.append(f'<text x="{tx:.1f}" y="{y + 13}" text-anchor="{anchor}" font-size="11" '
                    f'fill="{COLOURS["axis"]}">{v:g}{escape(unit)}</text>')
    desc = "; ".join(f"{label}: {v:g}{unit}" for label, v in items)
    return _svg(body, title, desc or "No data in the period.", W, height)
