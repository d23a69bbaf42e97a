"""System-level findings this app raises: staging↔production drift, baseline deviations, patching order.

They are `apps.assessments` Finding rows without an assessment (DESIGN.md "Findings and exceptions"), so
every assessment and the CAB review show them. apps/assessments has no service for system-level findings
yet; these two helpers are the only place this app writes them, audited, inside the caller's transaction.
"""

from apps.assessments.choices import Category, Resolution, Severity, Source
from apps.assessments.models import Finding
from apps.audit.services import audit_append
from apps.core import clock

from . import documents, selectors

MAX_LISTED = 40


def _upsert(*, system, key: str, severity: str, title: str, evidence: str, by=None) -> Finding:
    now = clock.now()
    finding = Finding.objects.select_for_update().filter(assessment__isnull=True, system=system, key=key).first()
    fields = {"severity": severity, "title": title[:300], "evidence": evidence}
    if finding is None:
        finding = Finding.objects.create(system=system, key=key, category=Category.CONFIGURATION,
                                         source=Source.COMPUTED, created_at=now, updated_at=now, **fields)
        audit_append(action="configuration.finding_raise", actor=by, obj=system,
                     after={"finding": finding.pk, "key": key, "title": finding.title, "severity": severity})
        return finding
    changed = {k: v for k, v in fields.items() if getattr(finding, k) != v}
    reopened = finding.resolution == Resolution.RESOLVED and finding.resolved_by_id is None
    if not changed and not reopened and not finding.stale:
        return finding
    for k, v in changed.items():
        setattr(finding, k, v)
    if reopened or finding.stale:
        finding.resolution, finding.resolved_at, finding.justification, finding.stale = Resolution.OPEN, None, "", False
    finding.updated_at = now
    finding.save()
    audit_append(action="configuration.finding_update", actor=by, obj=system,
                 after={"finding": finding.pk, "key": key, "title": finding.title, "severity": severity,
                        "reopened": reopened})
    return finding


def _resolve(qs, *, why: str, by=None) -> int:
    now, count = clock.now(), 0
    for finding in qs.select_for_update(of=("self",)).filter(resolution=Resolution.OPEN).select_related("system"):
        finding.resolution, finding.resolved_at, finding.justification = Resolution.RESOLVED, now, why
        finding.stale, finding.updated_at = True, now
        finding.save()
        audit_append(action="configuration.finding_resolve", actor=by, obj=finding.system,
                     after={"finding": finding.pk, "key": finding.key, "why": why})
        count += 1
    return count


def _listing(changes) -> str:
    lines = []
    for c in changes[:MAX_LISTED]:
        if c["kind"] == "added":
            lines.append(f"+ {c['path']} = {c['after']}")
        elif c["kind"] == "removed":
            lines.append(f"- {c['path']} (was {c['before']})")
        else:
            lines.append(f"~ {c['path']}: {c['before']} → {c['after']}")
    if len(changes) > MAX_LISTED:
        lines.append(f"… and {len(changes) - MAX_LISTED} more.")
    return "\n".join(lines)


def drift_refresh(*, system, by=None) -> Finding | None:
    """Drift between the latest staging and production snapshots of a system, as one finding."""
    staging, production = selectors.staging_environment(), selectors.production_environment()
    key = f"configuration:drift:{system.pk}"
    if staging is None or production is None:
        return None
    latest = selectors.latest_snapshots([system.pk], [staging.pk, production.pk])
    a, b = latest.get((system.pk, production.pk)), latest.get((system.pk, staging.pk))
    if a is None or b is None:
        return None
    changes = [c.as_dict() for c in documents.diff(a.content, b.content)]
    qs = Finding.objects.filter(assessment__isnull=True, system=system, key=key)
    if not changes:
        _resolve(qs, why="Staging matches production again.", by=by)
        return None
    summary = documents.diff_summary(documents.diff(a.content, b.content))
    title = (f"{system.name}: staging configuration differs from production "
             f"({summary['changed']} changed, {summary['added']} only in staging, "
             f"{summary['removed']} only in production)")
    evidence = (f"Production “{a.tag}” ({a.taken_at:%Y-%m-%d %H:%M} UTC, sha256 {a.sha256[:12]}) against staging "
                f"“{b.tag}” ({b.taken_at:%Y-%m-%d %H:%M} UTC, sha256 {b.sha256[:12]}). Secrets are masked.\n"
                + _listing(changes))
    return _upsert(system=system, key=key, severity=Severity.MEDIUM, title=title, evidence=evidence, by=by)


def baseline_finding(*, baseline, latest, uncovered: list[dict]) -> Finding | None:
    key = f"configuration:baseline:{baseline.system_id}:{baseline.environment_id}"
    qs = Finding.objects.filter(assessment__isnull=True, system_id=baseline.system_id, key=key)
    if not uncovered:
        _resolve(qs, why="The latest snapshot matches the baseline, or every deviation is covered by an "
                          "approved configuration exception.")
        return None
    title = (f"{baseline.system.name} ({baseline.environment.name}): {len(uncovered)} setting"
             f"{'s' if len(uncovered) != 1 else ''} deviate from the approved baseline")
    evidence = (f"Baseline “{baseline.snapshot.tag}” (approved {baseline.approved_at:%Y-%m-%d}) against the latest "
                f"snapshot “{latest.tag}” ({latest.taken_at:%Y-%m-%d %H:%M} UTC). Correct the configuration, "
                f"approve a new baseline, or request a configuration exception.\n" + _listing(uncovered))
    return _upsert(system=baseline.system, key=key, severity=Severity.HIGH, title=title, evidence=evidence)


def order_findings(*, request, problems: list[dict], by=None) -> None:
    prefix = f"configuration:order:{request.pk}:"
    keep = set()
    from apps.inventory.models import System

    systems = System.objects.in_bulk({p["system_id"] for p in problems})
    for p in problems:
        key = prefix + p["key"]
        keep.add(key)
        _upsert(system=systems[p["system_id"]], key=key, severity=Severity.HIGH,
                title=f"{request.reference}: {p['message']}"[:300],
                evidence=(f"Planned order in {p['wave']}: {p['detail']} The inventory says "
                          f"{p['dependent']} depends on {p['dependency']}; apply {p['dependency']} first."), by=by)
    stale = Finding.objects.filter(assessment__isnull=True, key__startswith=prefix).exclude(key__in=keep)
    _resolve(stale, why="The planned order now applies the dependency first.", by=by)
