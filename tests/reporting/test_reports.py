"""PDF reports: generated on a real worker from the dashboard's numbers, idempotent, fetching nothing,
audited."""

import datetime as dt
import hashlib
import http.server
import subprocess
import threading
import time
import urllib.request

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.reporting.choices import ReportStatus
from apps.reporting.kpis import Period
from apps.reporting.models import Report, Subscription
from apps.reporting.services import (report_generate, report_request, subscription_save,
                                     subscriptions_send_due)

from .conftest import at, incident, make_upgrade

OCT = Period(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31))


def pdf_text(data: bytes, tmp_path, pages: tuple[int, int] | None = None) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    span = ["-f", str(pages[0]), "-l", str(pages[1])] if pages else []
    return subprocess.run(["pdftotext", *span, str(path), "-"], capture_output=True, check=True,
                          text=True).stdout


def wait_until(predicate, timeout=60.0, what="the worker"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"{what} did not finish within {timeout:.0f} s")


def generated(user, period=OCT) -> Report:
    report, created = report_request(by=user, period=period, dispatch=False)
    assert created
    return report_generate(report.pk)


# --- a real worker --------------------------------------------------------------------------------


def test_pdf_is_generated_on_a_real_worker_with_the_dashboard_figures(celery_worker, october, executive,
                                                                      login, tmp_path):
    client = login(executive)
    response = client.post("/reports/reports/request/", {"start": "2026-10-01", "end": "2026-10-31"})
    report = Report.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/reports/reports/{report.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "KPI report 1 Oct 2026 – 31 Oct 2026" in page

    wait_until(lambda: Report.objects.get(pk=report.pk).status == ReportStatus.DONE, what="the report task")
    report.refresh_from_db()
    assert report.progress == 100 and report.pdf_sha256 and report.csv_sha256
    status = client.get(f"/reports/reports/{report.pk}/status/").content.decode()
    assert "Download the PDF" in status

    pdf = client.get(f"/reports/reports/{report.pk}/pdf/")
    body = b"".join(pdf.streaming_content)
    assert body.startswith(b"%PDF-") and hashlib.sha256(body).hexdigest() == report.pdf_sha256
    text = pdf_text(body, tmp_path)
    squashed = " ".join(text.split())
    assert "1 Oct 2026 – 31 Oct 2026" in squashed
    summary = " ".join(pdf_text(body, tmp_path, (1, 2)).split())
    for figure in ("7 upgrades ended: 3 successful, 2 successful with issues, 2 unsuccessful",
                   "Change failure rate 57.1 %", "DORA band: Low (> 45 %)", "Median lead time 219.0 h",
                   "Success rate", "42.9 %", "71.4 %", "Freeze violations prevented",
                   "P1 1, P2 0, P3 1, P4 1",
                   "Notable incidents and rollbacks", "UPG-2026-0904", "Upcoming high-risk upgrades"):
        assert figure in summary, figure
    # the executive summary is two pages; the appendices follow
    assert " ".join(pdf_text(body, tmp_path, (3, 3)).split()).startswith("Appendix A — Per-team table")
    for heading in ("Appendix B — Notable upgrades", "Appendix C — Definitions", "Team change success score"):
        assert heading in squashed, heading
    csv_response = client.get(f"/reports/reports/{report.pk}/csv/")
    csv_body = b"".join(csv_response.streaming_content).decode("utf-8-sig")
    assert csv_body.count("\n") == 1 + 7 and "UPG-2026-0907" in csv_body
    downloads = AuditEvent.objects.filter(action="report.downloaded", object_id=str(report.pk))
    assert sorted(e.data["kind"] for e in downloads) == ["csv", "pdf"]


# --- idempotency ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_same_parameters_on_the_same_data_offer_the_existing_report(october, executive, requester, login):
    first = generated(executive)
    client = login(executive)
    response = client.post("/reports/reports/request/", {"start": "2026-10-01", "end": "2026-10-31"},
                           follow=True)
    assert Report.objects.count() == 1
    assert "already exists" in response.content.decode()
    again, created = report_request(by=executive, period=OCT, dispatch=False)
    assert again.pk == first.pk and not created

    # other filters: another report
    retail = Period(start=OCT.start, end=OCT.end, team="retail-web")
    other, created = report_request(by=executive, period=retail, dispatch=False)
    assert created and other.pk != first.pk
    # the same parameters after the data changed: another report
    incident(october["R1"], "P2", at(6), requester, impact=10)
    changed, created = report_request(by=executive, period=OCT, dispatch=False)
    assert created and changed.pk != first.pk
    # another reader's report is theirs: the executive's does not count for the auditor
    assert report_request(by=requester, period=OCT, dispatch=False)[1] is True


@pytest.mark.django_db
def test_a_redelivered_task_renders_once(october, executive):
    report, _ = report_request(by=executive, period=OCT, dispatch=False)
    assert report_generate(report.pk).status == ReportStatus.DONE
    assert report_generate(report.pk) is None
    assert AuditEvent.objects.filter(action="report.generated").count() == 1


@pytest.mark.django_db
def test_the_csv_is_written_in_a_child_process_while_the_pdf_is_drawn(october, executive, monkeypatch,
                                                                      tmp_path):
    """The same CSV as written in the worker itself, made by another process (the worker draws the PDF
    meanwhile); with TOLLGATE_FORK_WORK off it is written in the worker."""
    import os

    from django.conf import settings

    from apps.reporting import services
    from apps.reporting.kpis import Data

    monkeypatch.setattr(settings, "TOLLGATE_KPI_FACTS", False)  # counted from the rows (test_facts.py: facts)
    writers = tmp_path / "writers"
    real = services.upgrades_csv

    def noted(data):
        with open(writers, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        return real(data)

    monkeypatch.setattr(services, "upgrades_csv", noted)
    report = generated(executive)
    by = [int(pid) for pid in writers.read_text().split()]
    assert len(by) == 1 and by[0] != os.getpid()
    expected = real(Data(executive, OCT))
    assert report.csv.open("rb").read() == expected
    assert report.csv_sha256 == hashlib.sha256(expected).hexdigest()

    monkeypatch.setattr(settings, "TOLLGATE_FORK_WORK", False)
    writers.unlink()
    incident(october["R1"], "P2", at(6), executive, impact=10)  # other data: a new report
    again = generated(executive)
    assert [int(pid) for pid in writers.read_text().split()] == [os.getpid()]
    assert again.status == ReportStatus.DONE


@pytest.mark.django_db
def test_bad_report_requests_write_nothing(executive, login, frozen_now):
    client = login(executive)
    response = client.post("/reports/reports/request/", {"start": "2026-10-31", "end": "2026-10-01"})
    assert response.status_code == 400 and "must not be before" in response.content.decode()
    response = client.post("/reports/reports/request/", {"start": "2026-10-01", "risk_class": "reckless"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert client.get("/reports/reports/request/").status_code == 405
    assert Report.objects.count() == 0 and not AuditEvent.objects.filter(action="report.requested").exists()


# --- fetching nothing -----------------------------------------------------------------------------


@pytest.fixture
def listener():
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", hits
    finally:
        server.shutdown()


@pytest.mark.django_db
def test_a_forbidden_url_in_report_content_is_not_fetched(listener, executive, requester, component_a,
                                                          tmp_path):
    base, hits = listener
    urllib.request.urlopen(f"{base}/control").read()  # the listener does record what reaches it
    assert hits == ["/control"]
    hits.clear()
    title = f'<img src="{base}/title.png"><link rel="stylesheet" href="{base}/title.css">'
    make_upgrade(requester, component_a, ref="UPG-2026-0950", title=title, created=at(1), finished=at(3))
    report = generated(executive)
    assert report.status == ReportStatus.DONE
    assert hits == []

    # the renderer itself, fed raw markup pointing outside (network, file system, CSS imports)
    from apps.core.pdf import render_pdf

    pdf = render_pdf(f'<html><head><link rel="stylesheet" href="{base}/x.css">'
                     f'<style>@import url("{base}/i.css");'
                     f'body {{ background: url("{base}/bg.png") }}</style>'
                     f'</head><body><img src="{base}/img.png"><img src="file:///etc/passwd">'
                     f'<p>Still rendered</p></body></html>')
    assert pdf.startswith(b"%PDF-") and "Still rendered" in pdf_text(pdf, tmp_path)
    assert hits == []


# --- who may download -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_executive_downloads_their_report_others_get_404(october, personas, login, api):
    report = generated(personas["executive"])
    expected = {"executive": 200, "auditor": 200, "admin": 200, "requester": 404, "assessor": 404,
                "approver": 404, "outsider": 404, "implementer": 403, "validator": 403}
    for name, user in personas.items():
        client = login(user)
        for path in (f"/reports/reports/{report.pk}/", f"/reports/reports/{report.pk}/pdf/",
                     f"/reports/reports/{report.pk}/status/"):
            response = client.get(path)
            if user is None:
                assert response.status_code == 302, (name, path)
            else:
                assert response.status_code == expected[name], (name, path)
        if user is not None:
            assert api(user).get(f"/api/v1/reports/{report.pk}/pdf/").status_code == expected[name], name
    downloads = AuditEvent.objects.filter(action="report.downloaded")
    downloaders = set(downloads.values_list("actor_username", flat=True))
    assert downloaders == {"executive", "auditor", "admin"}


@pytest.mark.django_db
def test_a_report_not_ready_cannot_be_downloaded(october, executive, login):
    report, _ = report_request(by=executive, period=OCT, dispatch=False)
    client = login(executive)
    assert client.get(f"/reports/reports/{report.pk}/pdf/").status_code == 404
    page = client.get(f"/reports/reports/{report.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' in page and "Waiting for a background worker" in page
    assert not AuditEvent.objects.filter(action="report.downloaded").exists()


# --- scheduled reports ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_monthly_subscription_is_generated_and_emailed_once(october, executive, auditor):
    subscription_save(user=executive, by=executive, frequency="monthly")
    subscription_save(user=auditor, by=auditor, frequency="monthly", delivery="attachment")
    assert subscriptions_send_due(today=dt.date(2026, 11, 1)) == 2
    assert subscriptions_send_due(today=dt.date(2026, 11, 1)) == 0  # a second beat run sends nothing
    by_to = {m.to[0]: m for m in mail.outbox}
    link_mail = by_to["executive@example.test"]
    assert "1 Oct 2026 – 31 Oct 2026" in link_mail.subject
    report = Report.objects.get(requested_by=executive)
    assert f"/reports/reports/{report.pk}/" in link_mail.body
    assert "Change failure rate: 57.1 %" in link_mail.body
    assert link_mail.attachments == []
    attached = by_to["auditor@example.test"]
    assert [a[2] for a in attached.attachments] == ["application/pdf", "text/csv"]
    assert attached.attachments[0][1].startswith(b"%PDF-")
    assert Subscription.objects.get(user=executive).last_period_end == dt.date(2026, 10, 31)
    assert AuditEvent.objects.filter(action="report.sent").count() == 2


@pytest.mark.django_db
def test_subscriptions_page_subscribes_and_unsubscribes(executive, login, frozen_now):
    client = login(executive)
    response = client.post("/reports/subscriptions/", {"frequency": "weekly", "delivery": "attachment"})
    assert response.status_code == 302
    sub = Subscription.objects.get(user=executive)
    assert sub.frequency == "weekly" and sub.active
    page = client.get("/reports/subscriptions/").content.decode()
    assert "Weekly" in page and "Unsubscribe" in page
    client.post(f"/reports/subscriptions/{sub.pk}/cancel/")
    sub.refresh_from_db()
    assert not sub.active
    events = AuditEvent.objects.filter(object_type="reporting.subscription")
    assert set(events.values_list("action", flat=True)) == {
        "report_subscription.saved", "report_subscription.cancelled"}


@pytest.mark.django_db
def test_bad_subscription_writes_nothing(executive, outsider, login, frozen_now):
    client = login(executive)
    response = client.post("/reports/subscriptions/", {"frequency": "hourly", "delivery": "link"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    executive.email = ""
    executive.save()
    response = client.post("/reports/subscriptions/", {"frequency": "monthly", "delivery": "link"})
    assert response.status_code == 400 and "e-mail address" in response.content.decode()
    assert Subscription.objects.count() == 0
    other = subscription_save(user=outsider, by=outsider, frequency="monthly")
    assert client.post(f"/reports/subscriptions/{other.pk}/cancel/").status_code == 404
    other.refresh_from_db()
    assert other.active


def test_beat_schedules_the_subscriptions():
    from config.celery import app

    assert app.conf.beat_schedule["reporting-subscriptions-daily"]["task"] == "reporting.subscriptions_send"


@pytest.mark.django_db
def test_the_demo_seed_hook_subscribes_the_executives_once(upgrade, personas, frozen_now):
    from apps.core.seed import run_before

    users = {k: v for k, v in personas.items() if v is not None}
    run_before("close", request=upgrade, by=personas["requester"], users=users)
    run_before("close", request=upgrade, by=personas["requester"], users=users)
    assert list(Subscription.objects.values_list("user__username", "frequency", "active")) == [
        ("executive", "monthly", True)]


@pytest.mark.django_db
def test_a_report_still_queued_is_sent_to_the_workers_again_when_asked_again(
        october, executive, django_capture_on_commit_callbacks):
    from apps.core import clock

    with clock.frozen(at(1, 9, month=11)):
        report, _ = report_request(by=executive, period=OCT, dispatch=False)
    with django_capture_on_commit_callbacks() as callbacks:
        again, created = report_request(by=executive, period=OCT)
    assert again.pk == report.pk and not created
    assert len(callbacks) == 1  # re-dispatched; the worker's claim makes a duplicate message harmless
    fresh, _ = report_request(by=executive, period=OCT.previous(), dispatch=False)
    with django_capture_on_commit_callbacks() as callbacks:
        assert report_request(by=executive, period=OCT.previous())[0].pk == fresh.pk
    assert callbacks == []  # just asked: the first message is still on its way


@pytest.mark.parametrize("path", ["/reports/reports/", "/api/v1/reports/", "/reports/subscriptions/"])
@pytest.mark.django_db
def test_report_lists_query_count_does_not_grow(path, executive, login, api, frozen_now):
    from apps.core import clock

    def add(n, offset):
        for i in range(n):
            Report.objects.create(requested_by=executive, params={"start": "2026-10-01", "end": "2026-10-31"},
                                  params_key=f"{offset + i:064d}", fingerprint="f", created_at=clock.now(),
                                  status=ReportStatus.DONE)

    client = api(executive) if path.startswith("/api/") else login(executive)
    add(3, 0)
    client.get(path)
    with CaptureQueriesContext(connection) as small:
        assert client.get(path).status_code == 200
    add(30, 100)
    with CaptureQueriesContext(connection) as large:
        assert client.get(path).status_code == 200
    assert len(small) == len(large)
