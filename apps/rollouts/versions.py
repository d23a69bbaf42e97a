"""Plan versions: the plan as canonical JSON, its SHA-256, and the differences between two versions.

The content names things by what a reader knows them by (wave position and name,
step key, trigger name, integration), never by database ids, so two versions of an
unchanged plan have the same hash and a diff reads as a list of real changes.
"""

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from django.db.models import Prefetch

from .models import Plan, RunbookStep, Wave, WaveTier


def _iso(value):
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def plan_content(plan: Plan) -> dict:
    """Everything the CAB votes on, as plain JSON."""
    from .recommend import recommend

    request = plan.request
    waves = (plan.waves.select_related("environment").prefetch_related(
        "systems", Prefetch("tiers", queryset=WaveTier.objects.prefetch_related("systems"))))
    steps = plan.steps.select_related("component__system", "component__environment", "wave") \
        .prefetch_related(Prefetch("depends_on", queryset=RunbookStep.objects.only("key")))
    return {
        "request": request.reference,
        "strategy": plan.strategy,
        "recommended": recommend(request).strategy,
        "strategy_justification": plan.strategy_justification,
        "planner_timezone": plan.planner_timezone,
        "data_migration": {
            "scope": plan.data_migration_scope,
            "volume": plan.data_migration_volume,
            "method": plan.data_migration_method,
            "verification": plan.data_migration_verification,
        },
        "waves": [
            {
                "position": w.position,
                "name": w.name,
                "environment": w.environment.slug if w.environment_id else None,
                "systems": sorted(s.slug for s in w.systems.all()),
                "window_start": _iso(w.window_start),
                "window_end": _iso(w.window_end),
                "entry_criteria": w.entry_criteria,
                "exit_criteria": w.exit_criteria,
                "tiers": [
                    {"position": t.position, "layer": t.layer, "mode": t.mode, "reason": t.reason,
                     "systems": sorted(s.slug for s in t.systems.all())}
                    for t in w.tiers.all()
                ],
            }
            for w in waves
        ],
        "triggers": sorted(
            ({"name": t.name, "kind": t.kind, "threshold": None if t.threshold is None else str(t.threshold),
              "evaluation_window_minutes": t.evaluation_window_minutes,
              "system": t.system.slug if t.system_id else None,
              "endpoint": t.endpoint.name if t.endpoint_id else None,
              "action": t.action, "notes": t.notes}
             for t in plan.triggers.select_related("system", "endpoint")),
            key=lambda t: t["name"]),
        "steps": [
            {"runbook": s.runbook, "key": s.key, "position": s.position, "title": s.title,
             "owner_duty": s.owner_duty, "expected_minutes": s.expected_minutes, "instructions": s.instructions,
             "verification": s.verification, "action": s.action,
             "component": (f"{s.component.system.slug}/{s.component.environment.slug}/{s.component.name}"
                           if s.component_id else None),
             "wave": s.wave.position if s.wave_id else None, "is_outage": s.is_outage,
             "depends_on": sorted(d.key for d in s.depends_on.all())}
            for s in steps
        ],
        "fallbacks": sorted(
            ({"integration": f"{f.integration.system.slug}/{f.integration.name}", "partner": f.integration.partner,
              "procedure": f.procedure, "contact": f.contact}
             for f in plan.fallbacks.select_related("integration__system")),
            key=lambda f: f["integration"]),
    }


def canonical_json(content: dict) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_of(content: dict) -> str:
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


# --- differences ----------------------------------------------------------------------------------

# how the items of each list are recognised from one version to the next
_IDENTITY = {
    "waves": lambda w: f"wave {w['position']}",
    "tiers": lambda t: f"tier {t['position']}",
    "triggers": lambda t: f"trigger “{t['name']}”",
    "steps": lambda s: f"{s['runbook']} step “{s['key']}”",
    "fallbacks": lambda f: f"fallback for {f['integration']}",
}
_LABELS = {"data_migration": "data migration"}


@dataclass(frozen=True)
class Change:
    path: str
    kind: str  # added, removed, changed
    before: object = None
    after: object = None


def _flatten(value, path: str, out: dict) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{path} › {_LABELS.get(key, key)}" if path else _LABELS.get(key, key), out)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        name = path.rsplit(" › ", 1)[-1]
        ident = _IDENTITY.get(name)
        for index, item in enumerate(value):
            label = ident(item) if ident else f"{name} {index + 1}"
            _flatten(item, f"{path} › {label}", out)
    else:
        out[path] = value


def diff(before: dict, after: dict) -> list[Change]:
    """What changed from one version's content to another's, field by field."""
    a, b = {}, {}
    _flatten(before, "", a)
    _flatten(after, "", b)
    changes = []
    for path in sorted(set(a) | set(b), key=lambda p: (p.split(" › ")[0], p)):
        if path not in a:
            changes.append(Change(path, "added", None, b[path]))
        elif path not in b:
            changes.append(Change(path, "removed", a[path], None))
        elif a[path] != b[path]:
            changes.append(Change(path, "changed", a[path], b[path]))
    return changes


def wave_identity(wave: Wave) -> str:
    return f"wave {wave.position}"
