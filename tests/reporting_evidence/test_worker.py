"""An evidence pack of a completed request, built on a real Celery worker, verified like an auditor would:
`sha256sum -c`, the audit chain up to the checkpoint, the PDF summary."""

import json

import pytest

from apps.audit.models import AuditCheckpoint, AuditEvent
from apps.audit.services import checkpoint_signature
from apps.reporting.choices import ReportStatus
from apps.reporting.models import EvidencePack

from .conftest import pdf_text, sha256, sha256sum_check, unzip, verify_events, wait_until


@pytest.mark.redis
def test_pack_of_a_completed_request_is_built_on_a_worker_and_verifies(completed, celery_worker, auditor,
                                                                       login, tmp_path):
    from apps.cab.models import Vote
    from apps.execution.models.runs import StepEvent
    from apps.rollouts.models import PlanVersion

    upgrade = completed
    client = login(auditor)
    page = client.get(f"/reports/evidence/{upgrade.reference}/")
    assert page.status_code == 200 and "Build a new evidence pack" in page.content.decode()

    response = client.post(f"/reports/evidence/{upgrade.reference}/request/")
    assert response.status_code == 302 and response["Location"] == f"/reports/evidence/{upgrade.reference}/"
    pack = EvidencePack.objects.get()
    assert pack.request == upgrade and pack.requested_by == auditor
    finished = (ReportStatus.DONE, ReportStatus.FAILED)
    wait_until(lambda: EvidencePack.objects.get(pk=pack.pk).status in finished, what="the evidence task")
    pack.refresh_from_db()
    assert pack.status == ReportStatus.DONE, pack.error
    assert pack.progress == 100 and pack.finished_at

    status = client.get(f"/reports/evidence/{upgrade.reference}/{pack.pk}/status/")
    assert status["HX-Trigger"] == "evidence-finished"
    assert "Download the evidence pack" in status.content.decode()

    before = AuditEvent.objects.filter(action="evidence_pack.downloaded").count()
    download = client.get(f"/reports/evidence/{upgrade.reference}/{pack.pk}/download/")
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    data = b"".join(download.streaming_content)
    assert sha256(data) == pack.sha256
    event = AuditEvent.objects.filter(action="evidence_pack.downloaded").order_by("-seq").first()
    assert AuditEvent.objects.filter(action="evidence_pack.downloaded").count() == before + 1
    assert event.actor == auditor and event.data["sha256"] == pack.sha256

    root = unzip(data, tmp_path / "unzipped")
    check = sha256sum_check(root)
    assert check.returncode == 0, check.stdout + check.stderr
    manifest = (root / "MANIFEST.sha256").read_text().splitlines()
    listed = {line.split("  ", 1)[1] for line in manifest}
    for name in ("request/request.json", "assessment/assessment.json", "assessment/findings.json",
                 "assessment/risk_factors.json", "plan/versions.json", "cab/reviews.json", "cab/votes.json",
                 "cab/signatures.json", "decisions/conflicts.json", "decisions/freeze_exceptions.json",
                 "execution/step_log.json", "health/check_results.json", "configuration/snapshots.json",
                 "configuration/junit_reports.json", "audit/events.jsonl", "audit/chain.jsonl",
                 "audit/checkpoint.json", "summary.pdf", "README.txt"):
        assert name in listed, name
    assert check.stdout.count(": OK") == len(manifest)
    for name in ("assessment/findings.json", "cab/reviews.json", "execution/step_log.json",
                 "health/check_results.json", "configuration/snapshots.json",
                 "configuration/junit_reports.json"):
        assert json.loads((root / name).read_text()), f"{name} is empty for a request driven to completed"
    exported_steps = json.loads((root / "execution" / "step_log.json").read_text())
    assert {r["pk"] for r in exported_steps} == set(
        StepEvent.objects.filter(run__request=upgrade).values_list("pk", flat=True))

    # every plan version with its content and sha256, every vote with the audit event holding its signature
    for version in PlanVersion.objects.filter(plan__request=upgrade):
        exported = json.loads((root / "plan" / f"version-{version.number}.json").read_text())
        assert exported["sha256"] == version.sha256 and exported["content"] == json.loads(
            json.dumps(version.content))
    votes = list(Vote.objects.filter(review__request=upgrade))
    assert votes, "the driven request went through the CAB"
    signatures = json.loads((root / "cab" / "signatures.json").read_text())
    assert {s["vote"] for s in signatures} == {v.pk for v in votes}
    for s in signatures:
        assert s["audit_hash"] == AuditEvent.objects.get(seq=s["audit_seq"]).hash
        assert s["signature"]["who"] == s["voter"]

    # the events of the request recompute and chain up to the checkpoint, which Tollgate signed
    checked, checkpoint = verify_events(root)
    transitions = AuditEvent.objects.filter(object_type="upgrades.upgraderequest", object_id=str(upgrade.pk),
                                            seq__lte=checkpoint["seq"]).count()
    assert checked >= transitions > 5
    stored = AuditCheckpoint.objects.get(seq=checkpoint["seq"], hash=checkpoint["hash"])
    assert checkpoint["signature"] == stored.signature == checkpoint_signature(stored.seq, stored.hash,
                                                                                stored.created_at)
    assert pack.checkpoint["hash"] == checkpoint["hash"]

    text = " ".join(pdf_text(root / "summary.pdf").split())
    assert f"Evidence pack {upgrade.reference}" in text and upgrade.title in text
    assert "Completed" in text and "Signatures" in text

    # a tampered file fails the check
    findings = root / "assessment" / "findings.json"
    findings.write_text(findings.read_text().replace('"', "'", 1))
    tampered = sha256sum_check(root)
    assert tampered.returncode != 0 and "assessment/findings.json: FAILED" in tampered.stdout
