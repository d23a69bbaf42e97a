"""Reads shared by the pages, the API, the gates and the tasks of configuration control."""

from django.db.models import Count, F, Max, Prefetch, Q, QuerySet
from django.http import Http404

from apps.accounts.choices import Role
from apps.core import clock
from apps.inventory.choices import EnvironmentKind
from apps.inventory.models import BusinessWorkflow, Environment, System
from apps.rollouts.models import ExceptionStatus as FreezeExceptionStatus
from apps.rollouts.models import Freeze, FreezeException, FreezeScope
from apps.upgrades.models import UpgradeRequest
from apps.upgrades.selectors import upgrade_visible

from . import documents
from .choices import CaseOutcome, ExceptionStatus, SnapshotPurpose
from .models import (Baseline, ConfigException, MaskingRecord, PerformanceFigure, RegressionReport, Snapshot,
                     TestCaseResult, TopologyItem, UatSignoff)

# --- environments and systems -------------------------------------------------------------------------


def production_environment() -> Environment | None:
    return Environment.objects.filter(kind=EnvironmentKind.PRODUCTION).order_by("order", "pk").first()


def staging_environment() -> Environment | None:
    return Environment.objects.filter(kind=EnvironmentKind.STAGING).order_by("order", "pk").first()


def affected_system_ids(request: UpgradeRequest) -> set[int]:
    return set(request.items.values_list("system_id", flat=True))


def affected_systems(request: UpgradeRequest) -> list[System]:
    return list(System.objects.filter(pk__in=request.items.values("system_id")).select_related("owner_team")
                .order_by("name"))


# --- who may open a request's configuration page --------------------------------------------------------


def workflows_of(request: UpgradeRequest) -> list[BusinessWorkflow]:
    return list(BusinessWorkflow.objects.filter(system_id__in=request.items.values("system_id"))
                .select_related("system", "owner", "owner_team").order_by("system__name", "name"))


def may_sign(user, workflow: BusinessWorkflow) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if workflow.owner_id:
        return workflow.owner_id == user.pk
    return bool(workflow.owner_team_id) and user.teams.filter(pk=workflow.owner_team_id).exists()


def request_for(*, user, reference: str) -> UpgradeRequest:
    """A request the user may see, or whose business workflow they own (to sign off); else 404."""
    if user is None or not user.is_authenticated:
        raise Http404
    request = upgrade_visible(user).filter(reference=reference).select_related("requester").first()
    if request is not None:
        return request
    owns = BusinessWorkflow.objects.filter(Q(owner=user) | Q(owner__isnull=True, owner_team__members=user))
    request = (UpgradeRequest.objects.filter(reference=reference, items__system__workflows__in=owns)
               .select_related("requester").first())
    if request is None:
        raise Http404("No such upgrade request.")
    return request


# --- freezes --------------------------------------------------------------------------------------------


def freezes_blocking_now(*, system: System, request: UpgradeRequest | None = None, now=None) -> list[Freeze]:
    """Freezes active now for this system that no approved, unexpired freeze exception of `request` covers."""
    now = now or clock.now()
    candidates = (Freeze.objects.filter(lifted_at__isnull=True, starts_at__lte=now, ends_at__gt=now)
                  .filter(Q(scope=FreezeScope.ORGANISATION) | Q(scope=FreezeScope.REGION, region=system.region)
                          | Q(scope=FreezeScope.SYSTEMS, systems=system))
                  .distinct().order_by("starts_at"))
    candidates = list(candidates)
    if not candidates or request is None:
        return candidates
    exempt = set(FreezeException.objects.filter(request=request, status=FreezeExceptionStatus.APPROVED)
                 .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)).values_list("freeze_id", flat=True))
    return [f for f in candidates if f.pk not in exempt]


# --- snapshots ------------------------------------------------------------------------------------------


def latest_snapshots(system_ids, environment_ids) -> dict[tuple[int, int], Snapshot]:
    """{(system, environment): latest snapshot} in two queries."""
    last = (Snapshot.objects.filter(system_id__in=system_ids, environment_id__in=environment_ids)
            .values("system_id", "environment_id").annotate(last=Max("id")).values_list("last", flat=True))
    rows = Snapshot.objects.filter(pk__in=list(last)).select_related("environment", "taken_by", "system")
    return {(s.system_id, s.environment_id): s for s in rows}


def snapshot_list(*, system: System | None = None, environment: Environment | None = None,
                  request: UpgradeRequest | None = None) -> QuerySet:
    qs = Snapshot.objects.select_related("system", "environment", "taken_by", "request").defer("content")
    if system is not None:
        qs = qs.filter(system=system)
    if environment is not None:
        qs = qs.filter(environment=environment)
    if request is not None:
        qs = qs.filter(request=request)
    return qs.order_by("-taken_at", "-id")


def snapshot_get(pk) -> Snapshot:
    snapshot = Snapshot.objects.select_related("system", "environment", "taken_by", "request").filter(pk=pk).first()
    if snapshot is None:
        raise Http404("No such snapshot.")
    return snapshot


def visible_references(user, snapshots) -> set[int]:
    """Which of these snapshots' requests the user may see (one query)."""
    ids = {s.request_id for s in snapshots if s.request_id}
    if not ids:
        return set()
    return set(upgrade_visible(user).filter(pk__in=ids).values_list("pk", flat=True))


def pre_upgrade_system_ids(request: UpgradeRequest, production: Environment) -> set[int]:
    return set(Snapshot.objects.filter(request=request, environment=production,
                                       purpose=SnapshotPurpose.PRE_UPGRADE).values_list("system_id", flat=True))


def backout_snapshots(request: UpgradeRequest) -> list[Snapshot]:
    """The configuration a backout restores: the pre-upgrade snapshots of the request."""
    return list(Snapshot.objects.filter(request=request, purpose=SnapshotPurpose.PRE_UPGRADE)
                .select_related("system", "environment", "taken_by").defer("content").order_by("system__name"))


def compare(a: Snapshot, b: Snapshot) -> dict:
    changes = documents.diff(a.content, b.content)
    return {"from": a, "to": b, "changes": changes, "summary": documents.diff_summary(changes)}


# --- baselines and exceptions ----------------------------------------------------------------------------


def baseline_list(*, system: System | None = None, active_only: bool = True) -> QuerySet:
    qs = Baseline.objects.select_related("system", "environment", "snapshot", "approved_by").defer(
        "snapshot__content")
    if system is not None:
        qs = qs.filter(system=system)
    if active_only:
        qs = qs.filter(active=True)
    return qs.order_by("system__name", "environment__order", "-approved_at")


def exception_list(*, system: System | None = None, status: str = "") -> QuerySet:
    qs = ConfigException.objects.select_related("system", "environment", "requested_by", "decided_by")
    if system is not None:
        qs = qs.filter(system=system)
    if status == "in_force":
        qs = qs.filter(status=ExceptionStatus.APPROVED, expires_at__gt=clock.now())
    elif status == "expired":
        qs = qs.filter(status=ExceptionStatus.APPROVED, expires_at__lte=clock.now())
    elif status in ExceptionStatus.values:
        qs = qs.filter(status=status)
    return qs.order_by("-requested_at", "-id")


def exceptions_in_force(*, system: System, environment: Environment, now=None) -> list[ConfigException]:
    now = now or clock.now()
    return list(ConfigException.objects.filter(system=system, status=ExceptionStatus.APPROVED, expires_at__gt=now)
                .filter(Q(environment__isnull=True) | Q(environment=environment)).order_by("pk"))


# --- staging evidence of a request ------------------------------------------------------------------------


def parity(request: UpgradeRequest, systems: list[System], staging, production) -> list[dict]:
    """Per system: staging topology next to production's, with mismatches."""
    if staging is None or production is None:
        return []
    items = TopologyItem.objects.filter(system__in=systems, environment__in=[staging, production]).select_related(
        "recorded_by")
    by_system: dict[int, dict] = {}
    for item in items:
        row = by_system.setdefault(item.system_id, {}).setdefault((item.kind, item.name), {})
        row["staging" if item.environment_id == staging.pk else "production"] = item
    out = []
    for system in systems:
        rows = []
        for (kind, name), pair in sorted(by_system.get(system.pk, {}).items()):
            s, p = pair.get("staging"), pair.get("production")
            rows.append({"kind": kind, "kind_label": (s or p).get_kind_display(), "name": name,
                         "staging": s.value if s else None, "production": p.value if p else None,
                         "mismatch": s is None or p is None or s.value != p.value})
        out.append({"system": system, "rows": rows, "mismatches": sum(1 for r in rows if r["mismatch"])})
    return out


def masking_latest(request: UpgradeRequest) -> dict[int, MaskingRecord]:
    latest: dict[int, MaskingRecord] = {}
    for record in MaskingRecord.objects.filter(request=request).select_related("recorded_by").order_by(
            "recorded_at", "id"):
        latest[record.system_id] = record
    return latest


def reports_of(request: UpgradeRequest) -> list[RegressionReport]:
    return list(RegressionReport.objects.filter(request=request).select_related("imported_by", "wave")
                .prefetch_related(Prefetch("cases", queryset=TestCaseResult.objects.select_related("accepted_by")))
                .order_by("-imported_at", "-id"))


def unaccepted_failures(request: UpgradeRequest) -> QuerySet:
    return (TestCaseResult.objects.filter(report__request=request, accepted_at__isnull=True,
                                          outcome__in=[CaseOutcome.FAILED, CaseOutcome.ERROR])
            .select_related("report").order_by("report_id", "id"))


def performance_of(request: UpgradeRequest) -> list[PerformanceFigure]:
    return list(PerformanceFigure.objects.filter(request=request).select_related("system", "recorded_by")
                .order_by("metric", "id"))


def signoff_evidence(request: UpgradeRequest, workflow: BusinessWorkflow, base: dict | None = None) -> dict:
    """Exactly what a UAT sign-off signs: the request, the workflow and the staging evidence as it stands."""
    base = _evidence_base(request) if base is None else base
    return {"request": request.reference,
            "workflow": {"id": workflow.pk, "name": workflow.name, "system": workflow.system.name}, **base}


def _evidence_base(request: UpgradeRequest) -> dict:
    reports = (RegressionReport.objects.filter(request=request).order_by("id")
               .values_list("id", "sha256", "tests", "failures", "errors"))
    accepted = (TestCaseResult.objects.filter(report__request=request, accepted_at__isnull=False).order_by("id")
                .values_list("id", "justification"))
    masking = MaskingRecord.objects.filter(request=request).order_by("id").values_list("id", "masked")
    figures = PerformanceFigure.objects.filter(request=request).order_by("id").values_list("id", "before", "after")
    return {
        "regression_reports": [list(r) for r in reports],
        "accepted_failures": [list(a) for a in accepted],
        "masking": [list(m) for m in masking],
        "performance": [[i, str(b), str(a)] for i, b, a in figures],
    }


def signoff_status(request: UpgradeRequest, workflows: list[BusinessWorkflow] | None = None) -> list[dict]:
    """Per workflow: the latest sign-off and whether it still matches the evidence."""
    workflows = workflows_of(request) if workflows is None else workflows
    latest: dict[int, UatSignoff] = {}
    for signoff in UatSignoff.objects.filter(request=request).select_related("signed_by").order_by("signed_at", "id"):
        latest[signoff.workflow_id] = signoff
    out = []
    base = _evidence_base(request) if latest else {}
    for workflow in workflows:
        signoff = latest.get(workflow.pk)
        current = (documents.sha256(documents.canonical(signoff_evidence(request, workflow, base)))
                   if signoff else None)
        out.append({"workflow": workflow, "signoff": signoff,
                    "current": bool(signoff) and signoff.evidence_sha256 == current})
    return out


# --- patching order -------------------------------------------------------------------------------------


LAYER_RANK = {"infrastructure": 0, "database": 1, "middleware": 2, "application": 3, "frontend": 4, "other": 5}


def patching_order(request: UpgradeRequest) -> list[dict]:
    """Dependencies the planned tiers apply in the wrong order: a system patched before (or together with,
    in a lower layer) a system it depends on."""
    from apps.inventory.models import Dependency
    from apps.rollouts.models import WaveTier

    tiers = list(WaveTier.objects.filter(wave__plan__request=request).select_related("wave")
                 .prefetch_related("systems").order_by("wave__position", "position"))
    if not tiers:
        return []
    placed: dict[int, dict[int, tuple]] = {}  # wave -> system -> (tier position, layer, tier)
    names = {}
    for tier in tiers:
        for system in tier.systems.all():
            names[system.pk] = system.name
            placed.setdefault(tier.wave_id, {}).setdefault(system.pk, (tier.position, tier.layer, tier))
    system_ids = set(names)
    deps = list(Dependency.objects.filter(source_system_id__in=system_ids, target_system_id__in=system_ids)
                .exclude(source_system_id=F("target_system_id")))
    problems = []
    for wave_id, where in placed.items():
        wave = next(t.wave for t in tiers if t.wave_id == wave_id)
        for dep in deps:
            s, t = where.get(dep.source_system_id), where.get(dep.target_system_id)
            if s is None or t is None:
                continue
            wrong = t[0] > s[0] or (t[0] == s[0] and LAYER_RANK.get(t[1], 5) < LAYER_RANK.get(s[1], 5))
            if not wrong:
                continue
            dependent, dependency = names[dep.source_system_id], names[dep.target_system_id]
            s_label, t_label = s[2].get_layer_display().lower(), t[2].get_layer_display().lower()
            detail = (f"{dependent} ({s_label}) is in tier {s[0]}, {dependency} ({t_label}) in tier {t[0]}"
                      + (" — the same tier." if t[0] == s[0] else "."))
            problems.append({
                "key": f"{wave_id}:{dep.pk}", "system_id": dep.source_system_id, "wave": wave.name,
                "dependent": dependent, "dependency": dependency, "detail": detail,
                "message": f"{dependent} ({s_label}) is patched before {dependency} ({t_label}), which it "
                           f"depends on",
            })
    return problems


# --- what still blocks ---------------------------------------------------------------------------------------


def submit_reasons(request: UpgradeRequest) -> list[str]:
    """The configuration gate on submit to CAB: failed tests not accepted, unmasked staging data, UAT sign-offs."""
    reasons = []
    failures = list(unaccepted_failures(request))
    if failures:
        names = ", ".join(f"“{c.name}”" for c in failures[:5]) + (" …" if len(failures) > 5 else "")
        reasons.append(f"{len(failures)} failing regression test{'s' if len(failures) != 1 else ''} not accepted "
                       f"({names}): fix them and import a new report, or accept each with a justification.")
    systems = {s.pk: s for s in affected_systems(request)}
    for system_id, record in masking_latest(request).items():
        if not record.masked and system_id in systems:
            reasons.append(f"Staging data of {systems[system_id].name} is an unmasked copy of production data "
                           f"(recorded {record.recorded_at:%Y-%m-%d}): mask it and record the masked copy.")
    for row in signoff_status(request):
        workflow = row["workflow"]
        owner = workflow.owner.display_name if workflow.owner_id else (
            workflow.owner_team.name if workflow.owner_team_id else "its owner")
        if row["signoff"] is None:
            reasons.append(f"UAT sign-off missing for “{workflow.name}” ({workflow.system.name}) from {owner}.")
        elif not row["current"]:
            reasons.append(f"UAT sign-off for “{workflow.name}” was given on earlier staging evidence; {owner} "
                           f"signs again.")
    return reasons


def start_reasons(request: UpgradeRequest) -> list[str]:
    """The configuration gate on start: a pre-upgrade snapshot of every affected system in production."""
    production = production_environment()
    if production is None:
        return ["Define a production environment in the inventory, then take the pre-upgrade snapshots."]
    have = pre_upgrade_system_ids(request, production)
    return [f"Take the pre-upgrade configuration snapshot of {s.name} in {production.name}."
            for s in affected_systems(request) if s.pk not in have]


def request_summary(request: UpgradeRequest) -> dict:
    """Everything the request-level page and API show, in a number of queries that does not grow with rows."""
    systems = affected_systems(request)
    staging, production = staging_environment(), production_environment()
    envs = [e for e in (production, staging) if e is not None]
    latest = latest_snapshots([s.pk for s in systems], [e.pk for e in envs])
    drift = []
    for system in systems:
        a = latest.get((system.pk, production.pk)) if production else None
        b = latest.get((system.pk, staging.pk)) if staging else None
        drift.append({"system": system, "production": a, "staging": b,
                      "comparison": compare(a, b) if a and b else None})
    masking = masking_latest(request)
    figures = performance_of(request)
    workflows = workflows_of(request)
    return {
        "systems": systems,
        "staging": staging,
        "production": production,
        "drift": drift,
        "snapshots": list(snapshot_list(request=request)[:100]),
        "backout": backout_snapshots(request),
        "parity": parity(request, systems, staging, production),
        "masking": [{"system": s, "record": masking.get(s.pk)} for s in systems],
        "reports": reports_of(request),
        "performance": figures,
        "regressions": [f for f in figures if f.regressed],
        "signoffs": signoff_status(request, workflows),
        "patching_order": patching_order(request),
        "submit_reasons": submit_reasons(request),
        "start_reasons": start_reasons(request),
    }


def system_summary(system: System) -> dict:
    envs = list(Environment.objects.order_by("order", "name"))
    latest = latest_snapshots([system.pk], [e.pk for e in envs])
    baselines = list(baseline_list(system=system))
    return {
        "environments": [{"environment": e, "latest": latest.get((system.pk, e.pk)),
                          "baseline": next((b for b in baselines if b.environment_id == e.pk), None)}
                         for e in envs],
        "baselines": baselines,
        "exceptions": list(exception_list(system=system)[:50]),
        "counts": Snapshot.objects.filter(system=system).aggregate(n=Count("id")),
    }


def can_decide_exceptions(user) -> bool:
    return bool(user and user.is_authenticated and user.has_role(Role.CAB_MEMBER, Role.ADMIN))
