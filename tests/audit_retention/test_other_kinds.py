"""Reports (two files each) and health-check results follow their own policies; a hold on a request keeps its
health results."""

import hashlib
import json
from pathlib import Path

from django.core.files.base import ContentFile

from apps.audit import retention
from apps.audit.models import ArchivedArtifact
from apps.core import clock
from apps.execution.models import CheckResult, CheckRun, HealthCheck
from apps.reporting.models import Report

from ..conftest import FIXED_NOW
from ..factories import EndpointFactory
from .conftest import OLD


def _report(by):
    pdf, csv = b"%PDF-1.7 quarterly", b"month,upgrades\n2025-05,4\n"
    report = Report.objects.create(requested_by=by, params={}, params_key="k" * 64, fingerprint="f" * 64,
                                   status="done", created_at=OLD, pdf_sha256=hashlib.sha256(pdf).hexdigest(),
                                   csv_sha256=hashlib.sha256(csv).hexdigest())
    report.pdf.save("kpi.pdf", ContentFile(pdf), save=False)
    report.csv.save("kpi.csv", ContentFile(csv), save=False)
    Report.objects.filter(pk=report.pk).update(pdf=report.pdf.name, csv=report.csv.name)
    return report


def _result(system, production, request=None):
    endpoint = EndpointFactory(system=system, environment=production)
    check = HealthCheck.objects.create(endpoint=endpoint, name="ping", created_at=OLD)
    run = CheckRun.objects.create(request=request, requested_at=OLD)
    return CheckResult.objects.create(run=run, health_check=check, status="ok", checked_at=OLD)


def test_reports_and_health_results_are_archived_and_held_ones_kept(world, hold_a, admin_user, requester,
                                                                    production, archive_root,
                                                                    django_capture_on_commit_callbacks):
    report = _report(requester)
    pdf_path = Path(report.pdf.path)
    held = _result(world["req_a"].items.first().system, production, request=world["req_a"])
    loose = _result(world["req_b"].items.first().system, production)
    for kind in ("reports", "health_results"):
        retention.retention_policy_set(kind=kind, days=365, by=admin_user)
    clock.set_to(FIXED_NOW)

    go = {(i.kind, i.object_id) for i in retention.retention_plan().go}
    assert go == {("reports", str(report.pk)), ("health_results", str(loose.pk))}

    with django_capture_on_commit_callbacks(execute=True):
        retention.retention_run()
    assert not Report.objects.filter(pk=report.pk).exists() and not pdf_path.exists()
    record = json.loads((archive_root / ArchivedArtifact.objects.get(kind="reports").path).read_text())
    hashes = {f["field"]: f["sha256"] for f in record["files"]}
    assert hashes == {"pdf": report.pdf_sha256, "csv": report.csv_sha256}
    for f in record["files"]:
        assert hashlib.sha256((archive_root / f["archive_path"]).read_bytes()).hexdigest() == f["sha256"]
    assert not CheckResult.objects.filter(pk=loose.pk).exists()
    assert CheckResult.objects.filter(pk=held.pk).exists()


def test_a_file_that_no_longer_matches_its_hash_is_kept_not_archived(world, admin_user, requester):
    report = _report(requester)
    Path(report.pdf.path).write_bytes(b"changed behind Tollgate's back")
    retention.retention_policy_set(kind="reports", days=365, by=admin_user)
    clock.set_to(FIXED_NOW)
    result = retention.retention_run()
    assert Report.objects.filter(pk=report.pk).exists()
    assert not ArchivedArtifact.objects.filter(kind="reports").exists()
    assert any("no longer matches" in k["reason"] for k in result.kept)
