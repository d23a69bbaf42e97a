"""Health checks: define them, run them (concurrently, on a worker), keep their results, compare with baselines.

Writes are services (keyword-only, atomic, audited); reads that pages, API and the execution runs share
are selectors. A run is a row first and a message second (outbox): `checkrun_request` writes the row,
and after commit hands its id to the broker; when the broker is unreachable the row stays `queued`
with `dispatched_at` empty and the periodic dispatcher (and the next request) sends it later; a run
still queued long after it was sent (its message lost with a broker that keeps nothing) is sent again.
`checkrun_execute` claims the run with a conditional update, probes what has no result yet, and
writes each result once (unique per run and check), so a redelivered message after a killed worker
finishes the run without losing or repeating a result.
"""

import asyncio
import datetime as dt
import logging
import queue
import threading

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Count, Q, QuerySet

from apps.accounts.choices import Role
from apps.audit.services import audit_append, field_diff
from apps.core import clock
from apps.core.validation import clean_text

from . import allowlist, crypto, probes
from .models import AllowedTarget, Baseline, CheckPurpose, CheckResult, CheckRun, HealthCheck, ResultStatus, RunStatus

log = logging.getLogger(__name__)

DEFINE_ROLES = (Role.ADMIN, Role.CHANGE_MANAGER)
RUN_ROLES = (Role.IMPLEMENTER, Role.VALIDATOR, Role.ADMIN, Role.CHANGE_MANAGER)
VIEW_ROLES = (*RUN_ROLES, Role.AUDITOR)
ALLOWLIST_ROLES = (Role.ADMIN,)
BASELINE_SAMPLES = 5
# a post-upgrade figure is a regression when it is worse than the baseline by both of these
REGRESSION_ABS_MS = 50.0
REGRESSION_REL = 0.25
DISPATCH_BATCH = 50
# a run still queued this long after it was sent is sent again: its message was lost (a broker restarted
# without persistence); the worker's claim turns a duplicate delivery into a no-op
RESEND_AFTER = dt.timedelta(minutes=10)
SQL_FIRST_WORDS = ("select", "with", "show", "values", "table")


def register() -> None:
    """Beat schedule for the outbox dispatcher; the demo's estate in the seed and in drive()."""
    from apps.core.seed import register_before

    from . import estate, tasks_health

    tasks_health.schedule()
    register_before("schedule", estate.seed_before_schedule)
    register_before("start", seed_before_start)


def seed_before_start(*, request, by, users) -> None:
    """The seed's (and drive()'s) hook: a baseline of the request's checks just before the window opens,
    so the post-upgrade runs have something to be compared with."""
    from apps.accounts.choices import Duty
    from apps.accounts.duties import duty_holders
    from apps.inventory.models import System

    if Baseline.objects.filter(request=request).exists():
        return
    checks = list(checks_for(System.objects.filter(pk__in=request.items.values("system_id"))))
    if not checks:
        return
    implementers = duty_holders(request)[Duty.IMPLEMENTER]
    run = checkrun_request(checks=checks, purpose=CheckPurpose.BASELINE, request=request,
                           by=implementers[0] if implementers else None)
    checkrun_execute(run.pk)


# --- refusals -----------------------------------------------------------------------------------------


def _require(by, roles, *, action: str, what: str, obj=None) -> None:
    if by is not None and by.has_role(*roles):
        return
    words = ", ".join(r.label.lower() for r in roles)
    reason = f"Only people with the role {words} may {what}."
    audit_append(action="health.denied", actor=by, obj=obj, data={"action": action, "reason": reason})
    raise PermissionDenied(reason)


# --- health checks ----------------------------------------------------------------------------------------

CHECK_FIELDS = ("endpoint", "name", "expect_status", "body_contains", "json_path", "json_expected", "max_latency_ms",
                "sql_query", "sql_username", "tls_min_days", "timeout_seconds", "enabled")


def _clean_check(fields: dict, endpoint) -> dict:
    errors: dict = {}
    fields["name"] = clean_text(errors, "name", fields.get("name"), required=True, max_length=120)
    for name, limit in (("body_contains", 200), ("json_path", 200), ("json_expected", 200), ("sql_username", 120)):
        fields[name] = clean_text(errors, name, fields.get(name), required=False, max_length=limit)
    fields["sql_query"] = clean_text(errors, "sql_query", fields.get("sql_query"), required=False, max_length=2000)
    status = fields.get("expect_status")
    if status is not None and not (100 <= int(status) <= 599):
        errors["expect_status"] = "An HTTP status runs from 100 to 599."
    timeout = fields.get("timeout_seconds")
    if timeout is None or not (0.1 <= float(timeout) <= 60):
        errors["timeout_seconds"] = "Give a timeout between 0.1 and 60 seconds."
    if fields.get("max_latency_ms") is not None and int(fields["max_latency_ms"]) < 1:
        errors["max_latency_ms"] = "Give the latency limit in milliseconds (1 or more)."
    kind = getattr(endpoint, "kind", None)
    if kind == "sql":
        query = fields["sql_query"]
        if not query and "sql_query" not in errors:
            errors["sql_query"] = "A SQL probe needs a read-only query, e.g. SELECT 1."
        elif query and (query.split()[0].lower() not in SQL_FIRST_WORDS or ";" in query.rstrip().rstrip(";")):
            errors["sql_query"] = "Give one read-only query (SELECT, WITH, SHOW, VALUES or TABLE)."
    elif fields["sql_query"] or fields["sql_username"]:
        errors["sql_query"] = "Only SQL probe endpoints take a query and credentials."
    if kind != "http" and (fields["body_contains"] or fields["json_path"] or fields.get("expect_status")):
        errors["body_contains"] = "Status, body and JSON expectations apply to HTTP endpoints only."
    if fields["json_expected"] and not fields["json_path"]:
        errors["json_path"] = "Name the JSON field whose value is expected."
    if errors:
        raise ValidationError(errors)
    return fields


def _check_snapshot(check: HealthCheck) -> dict:
    data = {name: getattr(check, name if name != "endpoint" else "endpoint_id") for name in CHECK_FIELDS}
    data["timeout_seconds"] = str(data["timeout_seconds"])
    data["sql_password"] = "set" if check.sql_password_encrypted else "not set"
    return data


def healthcheck_save(*, by, check: HealthCheck | None = None, sql_password: str | None = None,
                     **fields) -> HealthCheck:
    """Create or change a health check. `sql_password=None` keeps the stored one; "" keeps it too."""
    _require(by, DEFINE_ROLES, action="healthcheck.save", what="define health checks", obj=check)
    unknown = set(fields) - set(CHECK_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields {sorted(unknown)}")
    endpoint = fields.get("endpoint", check.endpoint if check else None)
    if endpoint is None:
        raise ValidationError({"endpoint": "Choose the endpoint to check."})
    merged = {name: getattr(check, name) for name in CHECK_FIELDS} if check else {"enabled": True, "tls_min_days": 14,
                                                                                   "timeout_seconds": 5}
    merged.update(fields)
    merged = _clean_check(merged, endpoint)
    if sql_password and ("\x00" in sql_password or len(sql_password) > 200):
        raise ValidationError({"sql_password": "Use at most 200 characters, without NUL characters."})
    with transaction.atomic():
        if check is not None:
            check = HealthCheck.objects.select_for_update().get(pk=check.pk)
            before = _check_snapshot(check)
        else:
            check, before = HealthCheck(created_at=clock.now()), {}
        for name, value in merged.items():
            setattr(check, name, value)
        if sql_password:
            check.sql_password_encrypted = crypto.encrypt(sql_password)
        check.save()
        after = _check_snapshot(check)
        b, a = field_diff(before, after)
        audit_append(action="healthcheck.update" if before else "healthcheck.create", actor=by, obj=check,
                     before=b or None, after=a)
    return check


# --- allow-list -----------------------------------------------------------------------------------------------


def allowlist_add(*, value: str, ports: str = "", note: str = "", by) -> AllowedTarget:
    _require(by, ALLOWLIST_ROLES, action="allowlist.add", what="change the allow-list")
    errors: dict = {}
    value = clean_text(errors, "value", value, required=True, max_length=200)
    ports = clean_text(errors, "ports", ports, required=False, max_length=200)
    note = clean_text(errors, "note", note, required=False, max_length=200)
    if errors:
        raise ValidationError(errors)
    allowlist.validate_entry(value, ports)
    with transaction.atomic():
        target = AllowedTarget.objects.create(value=value, ports=ports.replace(" ", ""), note=note, created_by=by,
                                              created_at=clock.now())
        audit_append(action="allowlist.add", actor=by, obj=target,
                     after={"value": target.value, "ports": target.ports, "note": note})
    return target


def allowlist_remove(*, target: AllowedTarget, by) -> None:
    _require(by, ALLOWLIST_ROLES, action="allowlist.remove", what="change the allow-list", obj=target)
    with transaction.atomic():
        target = AllowedTarget.objects.select_for_update().get(pk=target.pk)
        before = {"value": target.value, "ports": target.ports, "note": target.note}
        pk, label = target.pk, target.value
        target.delete()
        audit_append(action="allowlist.remove", actor=by, object_type="execution.allowedtarget", object_id=str(pk),
                     object_repr=label, before=before)


# --- runs: request and dispatch (outbox) ---------------------------------------------------------------------


def checks_for(systems, environment=None) -> QuerySet:
    """Enabled checks of the systems' endpoints, in production unless another environment is named."""
    qs = HealthCheck.objects.filter(enabled=True, endpoint__system__in=systems)
    if environment is None:
        qs = qs.filter(endpoint__environment__kind="production")
    elif isinstance(environment, str):
        qs = qs.filter(endpoint__environment__slug=environment)
    else:
        qs = qs.filter(endpoint__environment=environment)
    return qs.select_related("endpoint__system", "endpoint__environment")


def checkrun_request(*, checks, purpose: str, by, request=None, execution_run=None) -> CheckRun:
    """Create a queued run of `checks`; it is handed to a worker after commit (or later, by the dispatcher)."""
    if by is not None:  # None: the system itself (monitoring during a run, the seed)
        _require(by, RUN_ROLES, action="checkrun.request", what="run health checks", obj=request)
    if purpose not in CheckPurpose.values:
        raise ValidationError({"purpose": "Choose what the run is for."})
    ids = sorted({c if isinstance(c, int) else c.pk for c in checks})
    if not ids:
        raise ValidationError({"checks": "Choose at least one health check to run."})
    found = set(HealthCheck.objects.filter(pk__in=ids).values_list("pk", flat=True))
    if found != set(ids):
        raise ValidationError({"checks": "Some of the chosen health checks do not exist (any more)."})
    with transaction.atomic():
        run = CheckRun.objects.create(purpose=purpose, request=request, execution_run=execution_run,
                                      requested_by=by, requested_at=clock.now(), total=len(ids))
        run.checks.set(ids)
        audit_append(action="checkrun.request", actor=by, obj=run,
                     data={"purpose": purpose, "checks": len(ids),
                           "request": getattr(request, "reference", None)})
        run_id = run.pk
        transaction.on_commit(lambda: checkruns_dispatch_pending(first=run_id))
    return run


def checkrun_dispatch(run_id: int) -> bool:
    """Hand one run to the broker; False (and the run stays undispatched) when the broker is unreachable."""
    from config.celery import app

    from .tasks_health import checkrun_execute_task

    try:
        # one quick connection attempt: a web request must not hang while the broker is away
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=2)
            checkrun_execute_task.apply_async(args=[run_id], connection=conn, retry=False)
    except Exception as exc:  # noqa: BLE001 — any broker failure: the row stays and is sent later
        log.warning("check run %s stays queued: the broker is unreachable (%s)", run_id, exc)
        return False
    CheckRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(dispatched_at=clock.now())
    return True


def checkruns_dispatch_pending(*, first: int | None = None, limit: int = DISPATCH_BATCH) -> int:
    """Send `first` and every queued run never handed to the broker, or sent more than RESEND_AFTER ago and
    still not started (oldest first); stops at the first failure."""
    unsent = Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=clock.now() - RESEND_AFTER)
    pending = list(CheckRun.objects.filter(unsent, status=RunStatus.QUEUED)
                   .order_by("requested_at", "pk").values_list("pk", flat=True)[:limit])
    if first is not None:
        pending = [first] + [pk for pk in pending if pk != first]
    sent = 0
    for pk in pending:
        if not checkrun_dispatch(pk):
            break
        sent += 1
    return sent


# --- runs: execution on the worker ---------------------------------------------------------------------------


def _spec(check: HealthCheck) -> probes.ProbeSpec:
    try:
        password = crypto.decrypt(check.sql_password_encrypted)
    except ValueError:
        password = ""
    return probes.ProbeSpec(
        check_id=check.pk, kind=check.endpoint.kind, target=check.endpoint.target,
        timeout=float(check.timeout_seconds), expect_status=check.expect_status, body_contains=check.body_contains,
        json_path=check.json_path, json_expected=check.json_expected, max_latency_ms=check.max_latency_ms,
        sql_query=check.sql_query, sql_username=check.sql_username, sql_password=password,
        tls_min_days=check.tls_min_days)


def _recount(run_id: int) -> dict:
    counts = CheckResult.objects.filter(run_id=run_id).aggregate(
        done=Count("id"), passed=Count("id", filter=Q(status=ResultStatus.OK)))
    counts["failed"] = counts["done"] - counts["passed"]
    return counts


def _write(run_id: int, batch: list[probes.ProbeResult], offset: dt.timedelta) -> None:
    CheckResult.objects.bulk_create(
        [CheckResult(run_id=run_id, health_check_id=r.check_id, status=r.status, latency_ms=r.latency_ms,
                     detail=r.detail, checked_at=r.checked_at + offset, samples=r.samples) for r in batch],
        ignore_conflicts=True)  # a result already written by an earlier delivery stays as it was
    counts = _recount(run_id)
    CheckRun.objects.filter(pk=run_id).update(passed=counts["passed"], failed=counts["failed"])


def _probe_and_write(run_id: int, specs: list[probes.ProbeSpec], samples: int) -> None:
    """Probe in an event loop on a helper thread; this thread writes results as they arrive."""
    arrived: queue.Queue = queue.Queue()
    failure: list[BaseException] = []
    rules = allowlist.Rules.load()
    # probes stamp results with the wall clock; under a frozen clock (the seed, tests) shift them onto it
    offset = clock.now() - dt.datetime.now(dt.UTC)
    if abs(offset) < dt.timedelta(seconds=2):
        offset = dt.timedelta(0)

    def loop() -> None:
        try:
            asyncio.run(probes.probe_all(specs, rules, samples=samples, on_result=arrived.put))
        except BaseException as exc:  # noqa: BLE001 — reported to the writing thread
            failure.append(exc)

    thread = threading.Thread(target=loop, name=f"checkrun-{run_id}", daemon=True)
    thread.start()
    while thread.is_alive() or not arrived.empty():
        batch = []
        try:
            batch.append(arrived.get(timeout=0.2))
            while len(batch) < 200:
                batch.append(arrived.get_nowait())
        except queue.Empty:
            pass
        if batch:
            _write(run_id, batch, offset)
    if failure:
        raise failure[0]


def checkrun_execute(run_id: int) -> CheckRun:
    """Claim the run, probe every check that has no result yet, write each result once, finish the run."""
    now = clock.now()
    claimed = CheckRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(status=RunStatus.RUNNING,
                                                                                started_at=now, attempts=1)
    run = CheckRun.objects.filter(pk=run_id).select_related("request", "requested_by").first()
    if run is None or run.status in (RunStatus.DONE, RunStatus.FAILED):
        return run  # a redelivered message for a finished (or deleted) run: nothing to do
    if not claimed:
        # still `running`: the worker that had it died (acks_late redelivered the message); finish its work
        CheckRun.objects.filter(pk=run_id).update(attempts=run.attempts + 1)
    missing = (HealthCheck.objects.filter(pk__in=run.checks.values("pk"))
               .exclude(pk__in=CheckResult.objects.filter(run_id=run_id).values("health_check_id"))
               .select_related("endpoint"))
    specs = [_spec(c) for c in missing]
    samples = BASELINE_SAMPLES if run.purpose == CheckPurpose.BASELINE else 1
    error = ""
    try:
        if specs:
            _probe_and_write(run_id, specs, samples)
    except DatabaseError:
        raise  # transient: the task retries, and the retry resumes with what is still missing
    except Exception as exc:  # noqa: BLE001 — includes Celery's soft time limit
        error = f"The run stopped before every check answered: {type(exc).__name__} {exc}"[:500]
        log.exception("check run %s stopped", run_id)
    return _finish(run_id, error=error)


def _finish(run_id: int, *, error: str = "") -> CheckRun:
    with transaction.atomic():
        run = CheckRun.objects.select_for_update().get(pk=run_id)
        if run.status != RunStatus.RUNNING:
            return run
        counts = _recount(run_id)
        run.passed, run.failed = counts["passed"], counts["failed"]
        run.status = RunStatus.FAILED if error or counts["done"] < run.total else RunStatus.DONE
        run.error = error or ("" if counts["done"] >= run.total else "Some checks have no result.")
        run.finished_at = clock.now()
        run.save(update_fields=["passed", "failed", "status", "error", "finished_at"])
        audit_append(action="checkrun.finish", actor=None, obj=run,
                     data={"status": run.status, "total": run.total, "passed": run.passed, "failed": run.failed,
                           "purpose": run.purpose, "attempts": run.attempts, "error": run.error})
        if run.purpose == CheckPurpose.BASELINE and run.request_id and run.status == RunStatus.DONE:
            baseline_capture(request=run.request, run=run, by=run.requested_by)
    return run


# --- metrics --------------------------------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (p50, p95, p99 of a handful of samples stay real observed values)."""
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    rank = max(1, -(-len(values) * pct // 100))
    return values[int(rank) - 1]


def run_is_green(run: CheckRun) -> bool:
    return run.status == RunStatus.DONE and run.total > 0 and run.passed == run.total


def run_metrics(run: CheckRun) -> dict[int, dict]:
    return {r["health_check_id"]: {"status": r["status"], "latency_ms": r["latency_ms"]}
            for r in CheckResult.objects.filter(run=run).values("health_check_id", "status", "latency_ms")}


def _summary(rows: list[dict]) -> dict:
    """rows: [{status, latency_ms}] oldest first."""
    failures = sum(1 for r in rows if r["status"] != ResultStatus.OK)
    consecutive = 0
    for r in reversed(rows):
        if r["status"] == ResultStatus.OK:
            break
        consecutive += 1
    latencies = [r["latency_ms"] for r in rows if r["latency_ms"] is not None]
    return {"samples": len(rows), "failures": failures, "consecutive_failures": consecutive,
            "error_rate": (failures / len(rows)) if rows else 0.0,
            "p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95),
            "p99_ms": percentile(latencies, 99)}


def window_metrics(checks, since: dt.datetime) -> dict[int, dict]:
    """Per check, over every result since `since`: samples, failures, consecutive failures, error rate, p50/95/99."""
    ids = [c if isinstance(c, int) else c.pk for c in checks]
    rows: dict[int, list[dict]] = {pk: [] for pk in ids}
    for r in (CheckResult.objects.filter(health_check_id__in=ids, checked_at__gte=since)
              .order_by("run_id", "checked_at", "pk").values("health_check_id", "status", "latency_ms", "samples")):
        target = rows[r["health_check_id"]]
        target.extend(r["samples"] or [r])
    return {pk: _summary(found) for pk, found in rows.items()}


# --- baselines ------------------------------------------------------------------------------------------------


def baseline_capture(*, request, run: CheckRun, by) -> list[Baseline]:
    """Per check of a finished run: latency percentiles and error rate over its samples (idempotent per run)."""
    if run.status != RunStatus.DONE:
        raise ValidationError({"run": "A baseline is taken from a finished run."})
    if run.request_id not in (None, request.pk):
        raise ValidationError({"run": "This run belongs to another request."})
    with transaction.atomic():
        existing = list(Baseline.objects.filter(request=request, run=run))
        if existing:
            return existing
        now = clock.now()
        made = []
        for result in CheckResult.objects.filter(run=run).order_by("health_check_id"):
            summary = _summary(result.samples or [{"status": result.status, "latency_ms": result.latency_ms}])
            made.append(Baseline(request=request, health_check_id=result.health_check_id, run=run,
                                 samples=summary["samples"], p50_ms=summary["p50_ms"], p95_ms=summary["p95_ms"],
                                 p99_ms=summary["p99_ms"], error_rate=summary["error_rate"], captured_at=now))
        Baseline.objects.bulk_create(made)
        audit_append(action="baseline.capture", actor=by, obj=request,
                     data={"run": run.pk, "checks": len(made),
                           "figures": {str(b.health_check_id): {"p50_ms": b.p50_ms, "p95_ms": b.p95_ms,
                                                                "error_rate": b.error_rate} for b in made}})
    return made


def baselines_current(request) -> dict[int, Baseline]:
    """The latest baseline of each check of a request."""
    latest: dict[int, Baseline] = {}
    for b in (Baseline.objects.filter(request=request).select_related("health_check")
              .order_by("health_check_id", "-captured_at", "-pk")):
        latest.setdefault(b.health_check_id, b)
    return latest


def baseline_compare(*, request, run: CheckRun) -> list[dict]:
    """Each result of `run` next to the request's baseline; `regression` when clearly worse (absolute and relative)."""
    baselines = baselines_current(request)
    rows = []
    for result in CheckResult.objects.filter(run=run).select_related("health_check__endpoint__system"):
        base = baselines.get(result.health_check_id)
        summary = _summary(result.samples or [{"status": result.status, "latency_ms": result.latency_ms}])
        now_ms = summary["p95_ms"]
        row = {"health_check_id": result.health_check_id, "check": result.health_check.name,
               "system": result.health_check.endpoint.system.name, "status": result.status,
               "latency_ms": now_ms, "error_rate": summary["error_rate"], "baseline": base is not None,
               "baseline_p50_ms": getattr(base, "p50_ms", None), "baseline_p95_ms": getattr(base, "p95_ms", None),
               "baseline_error_rate": getattr(base, "error_rate", None), "delta_ms": None, "delta_pct": None,
               "regression": False, "reasons": []}
        if base is not None:
            if now_ms is not None and base.p95_ms is not None:
                row["delta_ms"] = round(now_ms - base.p95_ms, 1)
                row["delta_pct"] = round((now_ms - base.p95_ms) / base.p95_ms * 100, 1) if base.p95_ms else None
                if (row["delta_ms"] > REGRESSION_ABS_MS
                        and (base.p95_ms == 0 or row["delta_ms"] / base.p95_ms > REGRESSION_REL)):
                    row["reasons"].append(f"latency {now_ms:.0f} ms against {base.p95_ms:.0f} ms "
                                          f"(+{row['delta_ms']:.0f} ms, +{row['delta_pct'] or 0:.0f}%)")
            if summary["error_rate"] > base.error_rate:
                row["reasons"].append(f"error rate {summary['error_rate']:.0%} against {base.error_rate:.0%}")
            row["regression"] = bool(row["reasons"])
        rows.append(row)
    rows.sort(key=lambda r: (not r["regression"], r["system"], r["check"]))
    return rows


# --- selectors for pages and the API --------------------------------------------------------------------------


def checks_list() -> QuerySet:
    return (HealthCheck.objects.select_related("endpoint__system", "endpoint__environment")
            .order_by("endpoint__system__name", "endpoint__environment__order", "name"))


def runs_visible(user) -> QuerySet:
    """Runs of requests the user may see, and runs not tied to a request."""
    from apps.upgrades.selectors import upgrade_visible

    return (CheckRun.objects.filter(Q(request__isnull=True) | Q(request__in=upgrade_visible(user).values("pk")))
            .select_related("request", "requested_by").order_by("-requested_at", "-pk"))


def results_of(run: CheckRun) -> QuerySet:
    return (CheckResult.objects.filter(run=run)
            .select_related("health_check__endpoint__system", "health_check__endpoint__environment")
            .order_by("health_check__endpoint__system__name", "health_check__name", "pk"))
