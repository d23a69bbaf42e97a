"""Drill: SIGKILL the Celery worker while it draws a 12-month KPI PDF, start another one.

The executive requests the report; as soon as the worker reports "Drawing the PDF" it is killed with
SIGKILL. Found after a new worker takes the redelivered message: the report is ready exactly once — one
stored PDF and one CSV, one `report.generated` audit event, status done — or, if it is left `running`
for good, the drill says so.
"""

import datetime as dt
import hashlib
import time

from .harness import wait_for

NAME = "SIGKILL worker during KPI PDF generation"
STUCK_AFTER = 60  # seconds after the restart with no progress: the report is left behind


def run(session) -> list[dict]:
    from apps.audit.models import AuditEvent
    from apps.core import clock
    from apps.reporting.kpis import Period
    from apps.reporting.models import Report
    from apps.reporting.services import report_request

    from . import data

    w = data.world()
    executive = w["people"]["executive"]
    today = clock.now().date()
    period = Period(start=today - dt.timedelta(days=365), end=today)
    first = session.start_worker("pdf-a")
    time.sleep(1.0)  # let it connect, so the message is taken at once
    report, _ = report_request(by=executive, period=period)
    print(f"  requested KPI report #{report.pk} ({period.start} – {period.end}) on worker pid {first.pid}")

    def drawing():
        row = Report.objects.filter(pk=report.pk).values("status", "progress", "stage").first()
        started = row["status"] != "queued" and (row["progress"] >= 40 or row["status"] != "running")
        return row if started else None

    state = wait_for(drawing, 120, "the worker to start drawing the PDF", interval=0.01)
    mid_way = state["status"] == "running"
    session.sigkill(first)
    killed_at = time.monotonic()
    print(f"  SIGKILL worker pid {first.pid} at {state['progress']} % ({state['stage']}, {state['status']})")

    second = session.start_worker("pdf-b")
    print(f"  started worker pid {second.pid}")
    last = None
    deadline = time.monotonic() + STUCK_AFTER
    while time.monotonic() < deadline:
        row = Report.objects.filter(pk=report.pk).values("status", "progress", "stage").first()
        if row["status"] in ("done", "failed"):
            break
        if row != last:
            last, deadline = row, time.monotonic() + STUCK_AFTER
        time.sleep(0.2)
    recovered = time.monotonic() - killed_at
    time.sleep(3)  # a late duplicate delivery would show up now
    session.stop_workers()

    report.refresh_from_db()
    folder = session.var / "media" / "reports" / str(report.pk)
    files = sorted(p.name for p in folder.glob("*")) if folder.exists() else []
    pdfs = [f for f in files if f.endswith(".pdf")]
    csvs = [f for f in files if f.endswith(".csv")]
    events = AuditEvent.objects.filter(object_type="reporting.report", object_id=str(report.pk))
    generated = events.filter(action="report.generated").count()
    failed = events.filter(action="report.failed").count()
    pdf_ok = bool(pdfs) and report.pdf_sha256 == hashlib.sha256((folder / pdfs[0]).read_bytes()).hexdigest()
    ok = (mid_way and report.status == "done" and len(pdfs) == 1 and len(csvs) == 1 and generated == 1
          and failed == 0 and pdf_ok)
    if report.status == "running":
        found = (f"report left '{report.status}' at {report.progress} % ({report.stage}) {recovered:.0f} s "
                 f"after the kill: the redelivered task found it claimed and did nothing; files "
                 f"{len(files)}, report.generated events {generated}")
    else:
        found = (f"report {report.status} {recovered:.1f} s after the kill; {len(pdfs)} PDF + {len(csvs)} "
                 f"CSV stored (sha256 matches: {'yes' if pdf_ok else 'NO'}); report.generated events "
                 f"{generated}, "
                 f"report.failed {failed}")
    if not mid_way:
        found += "; the worker finished before it could be killed (not a mid-way kill)"
    print(f"  found: {found}")
    return [{"drill": NAME, "did": f"12-month KPI report, SIGKILL while {state['stage'].lower()}, new worker",
             "found": found, "ok": ok}]
