"""Who may see and download evidence packs (pages and API), bad input, audited downloads, query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.reporting.choices import ReportStatus
from apps.reporting.evidence import evidence_pack_build, evidence_pack_request
from apps.reporting.models import EvidencePack

from .conftest import sha256, sha256sum_check, unzip

# auditors, administrators, change managers who see the request, and the request's own people (duty holders);
# the executive sees the request but not its evidence; the outsider does not see the request at all
ALLOWED = {"requester": True, "assessor": True, "approver": False, "implementer": True, "validator": True,
           "executive": False, "auditor": True, "admin": True, "outsider": False}


@pytest.fixture
def built(upgrade, auditor):
    pack, created = evidence_pack_request(request=upgrade, by=auditor, dispatch=False)
    assert created
    return evidence_pack_build(pack.pk)


def urls(upgrade, pack):
    base = f"/reports/evidence/{upgrade.reference}/"
    return [base, f"{base}{pack.pk}/status/", f"{base}{pack.pk}/download/"]


def api_urls(upgrade, pack):
    base = f"/api/v1/reports/evidence/{upgrade.reference}/"
    return [base, f"{base}{pack.pk}/", f"{base}{pack.pk}/download/"]


@pytest.mark.django_db
def test_persona_matrix_of_the_pages(built, upgrade, personas, login):
    for name, user in personas.items():
        client = login(user)
        for url in urls(upgrade, built):
            response = client.get(url)
            if user is None:
                assert response.status_code == 302 and "/accounts/login/" in response["Location"], (name, url)
            elif ALLOWED[name]:
                assert response.status_code == 200, (name, url)
            else:
                assert response.status_code == 404, (name, url)
                assert upgrade.title not in response.content.decode(), (name, url)
        response = client.post(f"/reports/evidence/{upgrade.reference}/request/")
        expected = 302 if user is None else (302 if ALLOWED[name] else 404)
        assert response.status_code == expected, name
    # every allowed persona reused the pack still being built, or queued one after it was done
    assert not EvidencePack.objects.filter(requested_by__username__in=["executive", "outsider", "approver"])


@pytest.mark.django_db
def test_persona_matrix_of_the_api(built, upgrade, personas, api):
    for name, user in personas.items():
        client = api(user)
        for url in api_urls(upgrade, built):
            response = client.get(url)
            if user is None:
                assert response.status_code in (401, 403), (name, url)
            elif ALLOWED[name]:
                assert response.status_code == 200, (name, url)
            else:
                assert response.status_code == 404, (name, url)
                assert upgrade.title not in response.content.decode(), (name, url)
        response = client.post(f"/api/v1/reports/evidence/{upgrade.reference}/")
        if user is None:
            assert response.status_code in (401, 403), name
        else:
            assert response.status_code in ((200, 201) if ALLOWED[name] else (404,)), name
    assert not EvidencePack.objects.filter(requested_by__username__in=["executive", "outsider", "approver"])


@pytest.mark.django_db
def test_the_api_requests_reports_progress_and_downloads_an_audited_pack(upgrade, auditor, api, tmp_path):
    client = api(auditor)
    response = client.post(f"/api/v1/reports/evidence/{upgrade.reference}/")
    assert response.status_code == 201 and response.data["status"] == "queued"
    assert response.data["download_url"] is None
    pk = response.data["id"]
    again = client.post(f"/api/v1/reports/evidence/{upgrade.reference}/")
    assert again.status_code == 200 and again.data["id"] == pk  # still waiting: the same pack
    assert client.get(f"/api/v1/reports/evidence/{upgrade.reference}/{pk}/download/").status_code == 404
    assert not AuditEvent.objects.filter(action="evidence_pack.downloaded").exists()

    evidence_pack_build(pk)
    detail = client.get(f"/api/v1/reports/evidence/{upgrade.reference}/{pk}/").data
    assert detail["status"] == "done" and detail["progress"] == 100 and len(detail["sha256"]) == 64
    download = client.get(detail["download_url"])
    data = b"".join(download.streaming_content)
    assert download.status_code == 200 and sha256(data) == detail["sha256"]
    event = AuditEvent.objects.get(action="evidence_pack.downloaded")
    assert event.actor == auditor and event.object_id == str(pk) and event.data["sha256"] == detail["sha256"]
    assert sha256sum_check(unzip(data, tmp_path)).returncode == 0


@pytest.mark.django_db
def test_a_redelivered_task_does_nothing(built):
    assert built.status == ReportStatus.DONE
    assert evidence_pack_build(built.pk) is None
    assert AuditEvent.objects.filter(action="evidence_pack.built").count() == 1


@pytest.mark.django_db
def test_a_pack_left_running_by_a_killed_worker_is_built_by_the_redelivered_task(upgrade, auditor):
    # a worker SIGKILLed mid-build leaves the pack `running`; the broker hands the message out again
    pack, _ = evidence_pack_request(request=upgrade, by=auditor, dispatch=False)
    EvidencePack.objects.filter(pk=pack.pk).update(status=ReportStatus.RUNNING, progress=40)
    assert evidence_pack_build(pack.pk).status == ReportStatus.DONE
    assert evidence_pack_build(pack.pk) is None  # and once done, a further delivery does nothing
    assert AuditEvent.objects.filter(action="evidence_pack.built").count() == 1


@pytest.mark.django_db
def test_a_report_left_running_by_a_killed_worker_is_rendered_by_the_redelivered_task(executive):
    import datetime as dt

    from apps.reporting.kpis import Period
    from apps.reporting.models import Report
    from apps.reporting.services import report_generate, report_request

    period = Period(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31))
    report, _ = report_request(by=executive, period=period, dispatch=False)
    Report.objects.filter(pk=report.pk).update(status=ReportStatus.RUNNING, progress=40)
    assert report_generate(report.pk).status == ReportStatus.DONE
    assert report_generate(report.pk) is None
    assert AuditEvent.objects.filter(action="report.generated").count() == 1


@pytest.mark.django_db
def test_bad_input_writes_nothing(upgrade, built, auditor, executive, login, api):
    client = login(auditor)
    packs, events = EvidencePack.objects.count(), AuditEvent.objects.count()
    for ref in ("NOPE-1", "x" * 40, "UPG%00"):
        assert client.get(f"/reports/evidence/{ref}/").status_code == 404
        assert client.post(f"/reports/evidence/{ref}/request/").status_code == 404
        assert api(auditor).post(f"/api/v1/reports/evidence/{ref}/").status_code == 404
    assert client.get(f"/reports/evidence/{upgrade.reference}/999999/download/").status_code == 404
    assert client.get(f"/reports/evidence/{upgrade.reference}/abc/status/").status_code == 404
    assert api(auditor).get(f"/api/v1/reports/evidence/{upgrade.reference}/999999/").status_code == 404
    assert client.get(f"/reports/evidence/{upgrade.reference}/request/").status_code == 405
    assert EvidencePack.objects.count() == packs and AuditEvent.objects.count() == events
    # the service itself refuses someone who may not have the evidence
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        evidence_pack_request(request=upgrade, by=executive, dispatch=False)
    assert "request" in refused.value.message_dict
    assert EvidencePack.objects.count() == packs
    assert AuditEvent.objects.filter(action="evidence_pack.refused", actor=executive).count() == 1
    # a pack of another request is not reachable through this one's address
    assert built.request == upgrade


@pytest.mark.django_db
def test_a_hidden_request_is_a_404_and_the_denial_is_audited(upgrade, built, outsider, executive, login):
    response = login(outsider).get(f"/reports/evidence/{upgrade.reference}/{built.pk}/download/")
    assert response.status_code == 404 and upgrade.title not in response.content.decode()
    assert AuditEvent.objects.filter(action="upgrade.denied", actor=outsider).exists()
    response = login(executive).get(f"/reports/evidence/{upgrade.reference}/")
    assert response.status_code == 404 and upgrade.title not in response.content.decode()
    assert AuditEvent.objects.filter(action="evidence_pack.denied", actor=executive).exists()
    assert not AuditEvent.objects.filter(action="evidence_pack.downloaded").exists()


def _packs(upgrade, user, n):
    EvidencePack.objects.filter(request=upgrade).delete()
    EvidencePack.objects.bulk_create([
        EvidencePack(request=upgrade, requested_by=user, status=ReportStatus.DONE, progress=100,
                     sha256="a" * 64, file=f"evidence/{i}/x.zip", created_at=clock.now(),
                     finished_at=clock.now())
        for i in range(n)])


@pytest.mark.django_db
def test_query_counts_do_not_grow_with_the_packs(upgrade, auditor, login, api):
    counts = []
    for n in (3, 30):
        _packs(upgrade, auditor, n)
        client, rest = login(auditor), api(auditor)
        client.get("/"), rest.get(f"/api/v1/reports/evidence/{upgrade.reference}/")  # sessions, caches
        with CaptureQueriesContext(connection) as page:
            assert client.get(f"/reports/evidence/{upgrade.reference}/").status_code == 200
        with CaptureQueriesContext(connection) as listed:
            response = rest.get(f"/api/v1/reports/evidence/{upgrade.reference}/")
        assert response.status_code == 200 and len(response.data) == min(n, 20)
        counts.append((len(page), len(listed)))
    assert counts[0] == counts[1], counts


@pytest.mark.django_db
def test_the_page_shows_progress_while_waiting_and_polls(upgrade, auditor, login):
    pack, _ = evidence_pack_request(request=upgrade, by=auditor, dispatch=False)
    client = login(auditor)
    page = client.get(f"/reports/evidence/{upgrade.reference}/").content.decode()
    assert f'hx-get="/reports/evidence/{upgrade.reference}/{pack.pk}/status/"' in page
    assert "Waiting for a background worker" in page
    status = client.get(f"/reports/evidence/{upgrade.reference}/{pack.pk}/status/")
    assert "HX-Trigger" not in status and "every 1s" in status.content.decode()


@pytest.mark.django_db
def test_a_pack_is_only_reachable_through_its_own_request(upgrade, built, requester, auditor, component_a, login):
    from tests.conftest import make_request

    other = make_request(requester, component_a, title="Another upgrade of the ledger")
    client = login(auditor)
    for suffix in ("status/", "download/"):
        assert client.get(f"/reports/evidence/{other.reference}/{built.pk}/{suffix}").status_code == 404
    assert client.get(f"/reports/evidence/{upgrade.reference}/{built.pk}/download/").status_code == 200
