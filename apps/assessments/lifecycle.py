"""Vendor lifecycle check and timeline for an upgrade request, from the imported ProductRelease rows.

Severity rules (today is apps.core.clock.now(), the warning window is TOLLGATE_LIFECYCLE_WARN_DAYS, 180 days):
- current version past end of life → HIGH, not BLOCKING: the upgrade is what fixes it, so it must not stop
  the upgrade; it raises the urgency (and the risk score) instead;
- current version within the window of end of life or end of active support → MEDIUM;
- current version past end of active support (security fixes only) → LOW;
- target already past end of life → HIGH; target ending within the window → MEDIUM (naming a newer supported
  cycle when one exists); a newer supported cycle than the target exists → LOW naming it;
- product or cycle unknown → INFO "no lifecycle data".
"""

import datetime as dt
import re

from django.conf import settings

from apps.core import clock
from apps.inventory.lifecycle import cycle_of
from apps.inventory.models import ProductRelease

from .checks import FindingSpec, register
from .choices import Category, Severity

TIMELINE_ROWS = 10
SVG_WIDTH, SVG_LABEL, SVG_ROW = 640, 70, 22


def warn_days() -> int:
    return int(getattr(settings, "TOLLGATE_LIFECYCLE_WARN_DAYS", 180))


def _cycle_key(release: ProductRelease):
    parts = tuple(int(p) if p.isdigit() else 0 for p in re.split(r"[.\-]", release.cycle))
    return (release.release_date or dt.date.min, parts)


def _releases_by_product(items) -> dict[str, dict[str, ProductRelease]]:
    products = {(item.product or "").strip().lower() for item in items}
    found: dict[str, dict[str, ProductRelease]] = {p: {} for p in products}
    for release in ProductRelease.objects.filter(product__in=products):
        found[release.product][release.cycle] = release
    return found


def _ended(date, today) -> bool:
    return date is not None and date <= today


def _fmt(date) -> str:
    return date.isoformat() if date else "—"


def _newer_supported(release: ProductRelease, releases: dict, today) -> ProductRelease | None:
    newer = [r for r in releases.values()
             if _cycle_key(r) > _cycle_key(release) and not _ended(r.end_of_life, today)
             and (r.release_date is None or r.release_date <= today)]
    return max(newer, key=_cycle_key) if newer else None


def _current_spec(item, release, today, window) -> FindingSpec | None:
    name, base = f"{item.product} {release.cycle}", f"lifecycle:current:{item.system_id}:{item.component_id}"
    evidence = (f"{item.system.name}: {item.product} {item.current_version} is in cycle {release.cycle}; "
                f"end of active support {_fmt(release.end_of_active_support)}, end of life "
                f"{_fmt(release.end_of_life)}, extended support {_fmt(release.end_of_extended_support)} "
                f"(source: {release.source or 'imported'}; today {today}).")
    if _ended(release.end_of_life, today):
        extra = ""
        if release.end_of_extended_support and release.end_of_extended_support > today:
            extra = f" Paid extended support runs until {release.end_of_extended_support}."
        return FindingSpec(key=base, category=Category.LIFECYCLE, severity=Severity.HIGH,
                           title=f"{name} is past end of life since {release.end_of_life}",
                           evidence=evidence + extra, system_id=item.system_id)
    soon = today + dt.timedelta(days=window)
    for label, date in (("end of life", release.end_of_life),
                        ("end of active support", release.end_of_active_support)):
        if date is not None and today < date <= soon:
            return FindingSpec(key=base, category=Category.LIFECYCLE, severity=Severity.MEDIUM,
                               title=f"{name} reaches {label} on {date} ({(date - today).days} days)",
                               evidence=evidence, system_id=item.system_id)
    if _ended(release.end_of_active_support, today):
        return FindingSpec(key=base, category=Category.LIFECYCLE, severity=Severity.LOW,
                           title=f"{name} is past end of active support: security fixes only",
                           evidence=evidence, system_id=item.system_id)
    return None


def _target_spec(item, release, releases, today, window) -> FindingSpec | None:
    name, base = f"{item.product} {release.cycle}", f"lifecycle:target:{item.system_id}:{item.component_id}"
    newer = _newer_supported(release, releases, today)
    hint = f" A newer supported cycle exists: {item.product} {newer.cycle}" + (
        f" (end of life {newer.end_of_life})." if newer and newer.end_of_life else ".") if newer else ""
    evidence = (f"{item.system.name}: target {item.product} {item.target_version} is in cycle {release.cycle}; "
                f"end of life {_fmt(release.end_of_life)}; today {today}.{hint}")
    if _ended(release.end_of_life, today):
        return FindingSpec(key=base, category=Category.LIFECYCLE, severity=Severity.HIGH,
                           title=f"Target {name} is already past end of life ({release.end_of_life})",
                           evidence=evidence, system_id=item.system_id)
    if release.end_of_life and release.end_of_life <= today + dt.timedelta(days=window):
        return FindingSpec(key=base, category=Category.LIFECYCLE, severity=Severity.MEDIUM,
                           title=f"Target {name} has only {(release.end_of_life - today).days} days of life left",
                           evidence=evidence, system_id=item.system_id)
    if newer is not None:
        return FindingSpec(key=base, category=Category.LIFECYCLE, severity=Severity.LOW,
                           title=f"Target {name} is not the newest supported cycle: {item.product} {newer.cycle}",
                           evidence=evidence, system_id=item.system_id)
    return None


def lifecycle_check(request) -> list[FindingSpec]:
    items = list(request.items.select_related("system"))
    by_product = _releases_by_product(items)
    today, window = clock.now().date(), warn_days()
    specs = []
    for item in items:
        releases = by_product.get((item.product or "").strip().lower(), {})
        missing = []
        for side, version in (("current", item.current_version), ("target", item.target_version)):
            cycle = cycle_of(version, releases)
            if cycle is None:
                missing.append(f"{side} {version}")
                continue
            spec = (_current_spec(item, releases[cycle], today, window) if side == "current"
                    else _target_spec(item, releases[cycle], releases, today, window))
            if spec is not None:
                specs.append(spec)
        if missing:
            what = "the product" if not releases else ", ".join(missing)
            specs.append(FindingSpec(
                key=f"lifecycle:unknown:{item.system_id}:{item.component_id}", category=Category.LIFECYCLE,
                severity=Severity.INFO, title=f"No lifecycle data for {item.product} ({what})",
                evidence=f"{item.system.name}: no imported vendor lifecycle covers {item.product} "
                         f"{' / '.join(missing)}. Import it under Inventory → Lifecycle.",
                system_id=item.system_id))
    return specs


def _status(release, today, window) -> str:
    if _ended(release.end_of_life, today):
        return "eol"
    if release.end_of_life and release.end_of_life <= today + dt.timedelta(days=window):
        return "ending"
    if _ended(release.end_of_active_support, today):
        return "security"
    return "supported"


def _svg(rows, today) -> dict:
    dates = [d for r in rows for d in (r["release_date"], r["end_of_life"], r["end_of_extended_support"]) if d]
    start = min(dates + [today]) - dt.timedelta(days=30)
    end = max(dates + [today + dt.timedelta(days=365)]) + dt.timedelta(days=30)
    span = max((end - start).days, 1)
    plot = SVG_WIDTH - SVG_LABEL - 10

    def x(date):
        return round(SVG_LABEL + plot * (date - start).days / span, 1)

    bars = []
    for i, r in enumerate(rows):
        y = 8 + i * SVG_ROW
        begin = r["release_date"] or start
        stop = r["end_of_life"] or (end if r["supported_indefinitely"] else None)
        bar = {"y": y, "label": r["cycle"], "row": r, "text_y": y + 12}
        if stop is not None:
            bar.update(x=x(begin), width=max(x(stop) - x(begin), 1))
        if r["end_of_active_support"] and r["end_of_active_support"] > begin:
            bar.update(active_width=max(min(x(r["end_of_active_support"]), x(stop or end)) - x(begin), 1))
        if r["end_of_extended_support"] and stop and r["end_of_extended_support"] > stop:
            bar.update(ext_x=x(stop), ext_width=x(r["end_of_extended_support"]) - x(stop))
        bars.append(bar)
    height = 8 + len(rows) * SVG_ROW + 20
    years = [dt.date(y, 1, 1) for y in range(start.year + 1, end.year + 1)]
    step = max(1, len(years) // 8)
    return {"width": SVG_WIDTH, "height": height, "bars": bars, "today_x": x(today), "axis_y": height - 14,
            "ticks": [{"x": x(d), "label": d.year} for d in years[::step]], "plot_bottom": height - 20}


def timeline(request) -> list[dict]:
    """Per item: the cycles from the current one to the newest, with their dates and where current/target sit."""
    items = list(request.items.select_related("system"))
    by_product = _releases_by_product(items)
    today, window = clock.now().date(), warn_days()
    result = []
    for item in items:
        releases = by_product.get((item.product or "").strip().lower(), {})
        current = cycle_of(item.current_version, releases)
        target = cycle_of(item.target_version, releases)
        entry = {"item": item, "system": item.system.name, "product": item.product,
                 "current_version": item.current_version, "target_version": item.target_version,
                 "current_cycle": current, "target_cycle": target, "rows": [], "svg": None}
        if releases:
            ordered = sorted(releases.values(), key=_cycle_key)
            anchor = releases.get(current) or releases.get(target)
            if anchor is not None:
                ordered = [r for r in ordered if _cycle_key(r) >= _cycle_key(anchor)]
            ordered = [r for r in ordered if r.release_date is None or r.release_date <= today
                       or r.cycle in (current, target)]
            keep = {current, target}
            while len(ordered) > TIMELINE_ROWS:
                # drop the middle cycles first: the current, the target and the newest stay
                drop = next((r for r in ordered[1:-1] if r.cycle not in keep), None)
                if drop is None:
                    break
                ordered.remove(drop)
            entry["rows"] = [{
                "cycle": r.cycle, "release_date": r.release_date, "end_of_active_support": r.end_of_active_support,
                "end_of_life": r.end_of_life, "end_of_extended_support": r.end_of_extended_support,
                "supported_indefinitely": r.supported_indefinitely, "lts": r.lts, "latest": r.latest,
                "is_current": r.cycle == current, "is_target": r.cycle == target,
                "status": _status(r, today, window)} for r in ordered]
            if entry["rows"]:
                entry["svg"] = _svg(entry["rows"], today)
        result.append(entry)
    return result


def register_checks() -> None:
    register("lifecycle", lifecycle_check)
