"""Writes of the reporting app: report requests and generation, audited downloads, subscriptions."""

import csv
import datetime as dt
import hashlib
import io
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import DatabaseError, transaction
from django.template.loader import render_to_string
from django.urls import reverse

from apps.audit.services import audit_append
from apps.core import clock
from apps.core.forked import InChild

from .choices import Delivery, Frequency, ReportStatus
from .kpis import Data, Period, definitions, fingerprint, gc_paused
from .models import Report, Subscription

log = logging.getLogger(__name__)
REDISPATCH_AFTER = dt.timedelta(minutes=5)

UPGRADE_COLUMNS = [
    ("reference", "Reference"), ("title", "Title"), ("risk_class", "Risk class"), ("outcome", "Outcome"),
    ("category", "Success category"), ("teams", "Owner teams"), ("created_at", "Created (UTC)"),
    ("submitted_at", "Submitted to CAB (UTC)"), ("decided_at", "CAB decision (UTC)"),
    ("started_at", "Started (UTC)"), ("finished_at", "Ended (UTC)"), ("lead_hours", "Lead time (h)"),
    ("on_time", "On time"), ("failure", "Change failure"), ("hotfixes", "Hotfixes"),
    ("incidents", "Incidents (severity)"), ("retried", "Step failed and retried"),
    ("planned_minutes", "Planned downtime (min)"), ("unplanned_minutes", "Unplanned downtime (min)"),
    ("score", "Change success score"),
]


def _cell(key: str, value):
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
    if key == "teams":
        return "; ".join(value)
    if key == "hotfixes":
        return "; ".join(h["reference"] for h in value)
    if key == "incidents":
        return "; ".join(i["severity"] for i in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    return "" if value is None else value


FORMULA_STARTS = frozenset("=+-@\t\r")


def _safe(value):
    """Spreadsheets run cells that start with = + - @ as formulas: quote them (CSV injection)."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def csv_bytes(header: list[str], rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe(v) for v in row])
    return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


def _when(value) -> str:
    """`_cell` of a datetime, faster (a 12-month CSV has ~150,000 of them)."""
    if value is None:
        return ""
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    return value.isoformat(" ", "minutes")[:16]


def _upgrade_rows(rows: list[dict], texts: list | None = None):
    """The lines of the per-upgrade CSV: what `_safe(_cell(key, value))` makes of each of UPGRADE_COLUMNS,
    written out per column and inline (a 12-month CSV has ~27,000 lines: per-cell type tests and calls were
    most of its time). The timestamps come written from PostgreSQL, else from the rows (in UTC when read from
    the database: `_when` only for any other zone)."""
    utc, starts = dt.UTC, FORMULA_STARTS
    for n, r in enumerate(rows):
        ref, title, risk, outcome = r["reference"], r["title"], r["risk_class"], r["outcome"]
        category = r["category"]
        teams = "; ".join(r["teams"])
        fixes = "; ".join(h["reference"] for h in r["hotfixes"]) if r["hotfixes"] else ""
        severities = "; ".join(i["severity"] for i in r["incidents"]) if r["incidents"] else ""
        lead = r["lead_hours"]
        lead = "" if lead is None else f"{lead:.1f}"
        if texts is not None:  # written by the database (`kpis.UtcMinutes`)
            times = texts[n]
        else:
            times = [r["created_at"], r["submitted_at"], r["decided_at"], r["started_at"], r["finished_at"]]
            times = ["" if t is None else t.isoformat(" ", "minutes")[:16] if t.tzinfo is utc else _when(t)
                     for t in times]
        yield [ref if ref[:1] not in starts else "'" + ref, title if title[:1] not in starts else "'" + title,
               risk if risk[:1] not in starts else "'" + risk,
               outcome if outcome[:1] not in starts else "'" + outcome,
               category if category[:1] not in starts else "'" + category,
               teams if teams[:1] not in starts else "'" + teams, *times,
               lead if lead[:1] not in starts else "'" + lead, "yes" if r["on_time"] else "no",
               "yes" if r["failure"] else "no", fixes if fixes[:1] not in starts else "'" + fixes,
               severities if severities[:1] not in starts else "'" + severities,
               "yes" if r["retried"] else "no", r["planned_minutes"], r["unplanned_minutes"], r["score"]]


def upgrades_csv(data: Data) -> bytes:
    """The full per-upgrade list of a period: every upgrade that ended, with what the KPIs made of it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([label for _, label in UPGRADE_COLUMNS])
    with gc_paused():
        writer.writerows(_upgrade_rows(data.ended, getattr(data, "csv_times", None)))
    return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


# --- reports ---------------------------------------------------------------------------------------------


def report_request(*, by, period: Period, dispatch: bool = True) -> tuple[Report, bool]:
    """A report of `period` for `by`: the existing one when the parameters and the data are the same
    (ready or still being generated), else a new one queued for a worker. Returns (report, created)."""
    if period.end < period.start:
        raise ValidationError({"end": "The end of the period must not be before its start."})
    key, print_ = period.key(), fingerprint(by, period)
    with transaction.atomic():
        existing = (Report.objects.select_for_update()
                    .filter(requested_by=by, params_key=key, fingerprint=print_)
                    .exclude(status=ReportStatus.FAILED).order_by("-created_at").first())
        if existing is not None:
            if dispatch and existing.status == ReportStatus.QUEUED and \
                    existing.created_at < clock.now() - REDISPATCH_AFTER:
                # still waiting: the broker may have been down when it was requested; the claim makes a
                # second message harmless
                transaction.on_commit(lambda: _dispatch(existing.pk))
            return existing, False
        report = Report.objects.create(requested_by=by, params=period.as_params(), params_key=key,
                                       fingerprint=print_, created_at=clock.now(),
                                       stage="Waiting for a worker")
        audit_append(action="report.requested", actor=by, obj=report, after=period.as_params())
        if dispatch:
            transaction.on_commit(lambda: _dispatch(report.pk))
    return report, True


def dispatch_task(task_name: str, pk: int) -> None:
    """Hand a report or evidence pack to the workers (called on commit). If the broker is down the row stays
    queued, and asking again re-sends it."""
    from . import tasks

    try:
        getattr(tasks, task_name).delay(pk)
    except Exception:
        log.exception("could not queue %s for %s", task_name, pk)


def _dispatch(report_id: int) -> None:
    dispatch_task("report_generate_task", report_id)


def _progress(report_id: int, progress: int, stage: str) -> None:
    # a progress line is bookkeeping the page polls, not a governed change: no audit event
    Report.objects.filter(pk=report_id, status=ReportStatus.RUNNING).update(progress=progress, stage=stage)


def report_html(*, user, period: Period, facts: bool = False, beside=None) -> tuple[str, Data, dict]:
    """The report's HTML, from the same selectors as the dashboard (`facts`: from the stored facts, the
    previous period on another connection where `beside` is given)."""
    from .selectors import dashboard, upcoming

    context = dashboard(user, period, parallel=not facts, facts=facts, beside=beside)
    context.update(upcoming=upcoming(user), definitions=definitions(), notable=context["data"].notable(),
                   generated_at=clock.now(), reader=user)
    return render_to_string("reporting/report_pdf.html", context), context["data"], context["figures"]


def report_generate(report_id: int) -> Report | None:
    """Render one queued report. A redelivered task of a report that is done (or failed) does nothing; one
    left `running` is rendered again: the message is handed out again only when its worker died (SIGKILL,
    OOM; the broker's visibility timeout exceeds the task's time limit), and the final write re-checks the
    status under a row lock, so the files and the audit event are stored once."""
    from apps.core.pdf import render_pdf

    claimable = (ReportStatus.QUEUED, ReportStatus.RUNNING)
    claimed = Report.objects.filter(pk=report_id, status__in=claimable).update(
        status=ReportStatus.RUNNING, started_at=clock.now(), progress=5, stage="Counting the upgrades")
    if not claimed:
        return None
    report = Report.objects.select_related("requested_by").get(pk=report_id)
    try:
        period = Period.from_params(report.params)
        drawn = _from_facts(report_id, report.requested_by, period)
        if drawn is None:
            html, data, figures = report_html(user=report.requested_by, period=period)
            _progress(report_id, 40, "Drawing the PDF and writing the CSV of every upgrade")
            # the CSV is written in a child process on the other core while WeasyPrint draws here (it was a
            # fifth of the task's time); the rows are frozen out of the garbage collector meanwhile, which
            # would otherwise walk them again and again while WeasyPrint lays out the pages
            with InChild(lambda rows=data: upgrades_csv(rows)) as csv_job:
                pdf = render_pdf(html)
                table = csv_job.result()
            del data, csv_job
        else:
            pdf, table, figures = drawn
        stem = f"tollgate-kpi-{period.start}-{period.end}"
        with transaction.atomic():
            report = Report.objects.select_for_update().get(pk=report_id)
            if report.status != ReportStatus.RUNNING:
                return report
            report.pdf.save(f"{stem}.pdf", ContentFile(pdf), save=False)
            report.csv.save(f"{stem}.csv", ContentFile(table), save=False)
            report.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
            report.csv_sha256 = hashlib.sha256(table).hexdigest()
            report.headline = {k: figures[k] for k in ("completed", "success_rate", "change_failure_rate",
                                                       "incidents", "downtime_minutes")}
            report.status, report.progress, report.stage = ReportStatus.DONE, 100, "Ready"
            report.finished_at = clock.now()
            report.save()
            audit_append(action="report.generated", actor=report.requested_by, obj=report,
                         data={"pdf_sha256": report.pdf_sha256, "csv_sha256": report.csv_sha256,
                               "params": report.params})
        return report
    except Exception as exc:  # the page must say it failed rather than spin forever
        log.exception("report %s failed", report_id)
        with transaction.atomic():
            Report.objects.filter(pk=report_id).update(status=ReportStatus.FAILED, finished_at=clock.now(),
                                                       stage="Failed", error=str(exc)[:2000])
            report.refresh_from_db()
            audit_append(action="report.failed", actor=report.requested_by, obj=report,
                         data={"error": str(exc)[:500]})
        raise


def _from_facts(report_id: int, user, period: Period) -> tuple[bytes, bytes, dict] | None:
    """The PDF, the CSV and the figures from the stored facts of each upgrade (`apps.reporting.facts`): the
    facts of upgrades that ended or changed since the last report are counted first, then everything is read
    in one snapshot — the figures here, the CSV's rows in a child process on the other core while WeasyPrint
    draws. None where there are no facts (not PostgreSQL, TOLLGATE_KPI_FACTS off) or one is missing (written
    meanwhile): the report is then counted from the rows (`kpis.Data`)."""
    from apps.core.pdf import render_pdf
    from apps.core.snapshot import one_snapshot

    from . import facts

    if not facts.usable():
        return None
    try:
        facts.refresh()
    except DatabaseError as exc:  # e.g. chosen as a deadlock's victim by a write touching the same facts
        log.warning("report %s counted from the rows: the facts could not be counted: %s", report_id, exc)
        return None
    _progress(report_id, 40, "Drawing the PDF and writing the CSV of every upgrade")
    with one_snapshot() as beside:
        try:
            html, _, figures = report_html(user=user, period=period, facts=True, beside=beside)
        except facts.FactsIncomplete as exc:
            log.warning("report %s counted from the rows: %s", report_id, exc)
            return None
        snapshot = getattr(beside, "snapshot", None)
        with InChild(lambda: facts.upgrades_csv(user, period), database=True, snapshot=snapshot) as csv_job:
            pdf = render_pdf(html)
            table = csv_job.result()
    return pdf, table, figures


def report_download(*, report: Report, by, kind: str):
    """Open the PDF or the CSV of a ready report for `by` (visibility checked by the caller) and audit it."""
    if kind not in ("pdf", "csv"):
        raise ValidationError({"kind": "Choose pdf or csv."})
    if report.status != ReportStatus.DONE:
        raise ValidationError({"report": "The report is not ready yet."})
    field = report.pdf if kind == "pdf" else report.csv
    audit_append(action="report.downloaded", actor=by, obj=report,
                 data={"kind": kind, "sha256": report.pdf_sha256 if kind == "pdf" else report.csv_sha256})
    return field.open("rb")


# --- subscriptions ---------------------------------------------------------------------------------------


def subscription_save(*, user, by, frequency: str, delivery: str = Delivery.LINK,
                      filters: dict | None = None) -> Subscription:
    if frequency not in Frequency.values:
        raise ValidationError({"frequency": "Choose monthly or weekly."})
    if delivery not in Delivery.values:
        raise ValidationError({"delivery": "Choose a link or an attachment."})
    if by != user and not by.has_role("admin"):
        raise ValidationError({"user": "You may only subscribe yourself."})
    if not user.email:
        raise ValidationError({"user": "Add an e-mail address to your profile first: the report is "
                                       "e-mailed."})
    filters = {k: v for k, v in (filters or {}).items() if k in Period.FILTERS and v}
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().filter(user=user, frequency=frequency).first()
        before = None
        if sub is None:
            sub = Subscription(user=user, frequency=frequency, created_at=clock.now())
        else:
            before = {"delivery": sub.delivery, "filters": sub.filters, "active": sub.active}
        sub.delivery, sub.filters, sub.active = delivery, filters, True
        sub.save()
        audit_append(action="report_subscription.saved", actor=by, obj=sub, before=before,
                     after={"frequency": frequency, "delivery": delivery, "filters": filters,
                            "user": user.username})
    return sub


def subscription_cancel(*, subscription: Subscription, by) -> Subscription:
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if sub.user_id != by.pk and not by.has_role("admin"):
            raise ValidationError({"subscription": "This subscription is not yours."})
        if sub.active:
            sub.active = False
            sub.save(update_fields=["active"])
            audit_append(action="report_subscription.cancelled", actor=by, obj=sub,
                         data={"frequency": sub.frequency})
    return sub


def due_period(frequency: str, today: dt.date) -> Period:
    """The last complete period before `today`: the previous calendar month, or the previous Monday–Sunday."""
    if frequency == Frequency.WEEKLY:
        end = today - dt.timedelta(days=today.weekday() + 1)
        return Period(start=end - dt.timedelta(days=6), end=end)
    end = today.replace(day=1) - dt.timedelta(days=1)
    return Period(start=end.replace(day=1), end=end)


def subscriptions_send_due(*, today: dt.date | None = None) -> int:
    """Generate and e-mail every subscription's last complete period not sent yet; returns the e-mails
    sent."""
    from django.core.mail import EmailMessage

    today = today or clock.now().date()
    sent = 0
    for sub in Subscription.objects.filter(active=True).select_related("user").order_by("pk"):
        period = due_period(sub.frequency, today)
        period = Period(start=period.start, end=period.end,
                        **{k: sub.filters.get(k, "") for k in Period.FILTERS})
        # claim the period first: a second beat run (or a redelivery) finds it sent
        claimed = Subscription.objects.filter(pk=sub.pk).exclude(last_period_end__gte=period.end).update(
            last_period_end=period.end)
        if not claimed or not sub.user.is_active or not sub.user.email:
            continue
        report, _ = report_request(by=sub.user, period=period, dispatch=False)
        if report.status == ReportStatus.QUEUED:
            report = report_generate(report.pk) or report
        report.refresh_from_db()
        if report.status != ReportStatus.DONE:
            continue
        base = getattr(settings, "TOLLGATE_BASE_URL", "").rstrip("/")
        link = base + reverse("reporting:report", args=[report.pk])
        h = report.headline
        body = (f"Your {sub.get_frequency_display().split(' (')[0].lower()} Tollgate KPI report for "
                f"{period.label()} is ready.\n\n"
                f"Upgrades completed: {h.get('completed')}\nSuccess rate: {h.get('success_rate')} %\n"
                f"Change failure rate: {h.get('change_failure_rate')} %\nIncidents: {h.get('incidents')}\n\n"
                f"Open it here (sign in first): {link}\n\n"
                "You get this because you subscribed to scheduled reports in Tollgate "
                "(Dashboard → Get the report by e-mail).")
        message = EmailMessage(subject=f"[Tollgate] KPI report {period.label()}", body=body,
                               from_email=settings.DEFAULT_FROM_EMAIL, to=[sub.user.email])
        if sub.delivery == Delivery.ATTACHMENT:
            message.attach(report.pdf.name.rsplit("/", 1)[-1], report.pdf.open("rb").read(),
                           "application/pdf")
            message.attach(report.csv.name.rsplit("/", 1)[-1], report.csv.open("rb").read(), "text/csv")
        message.send()
        audit_append(action="report.sent", actor=None, obj=report,
                     data={"to": sub.user.username, "subscription": sub.pk, "delivery": sub.delivery})
        sent += 1
    return sent


# --- demo seed ---------------------------------------------------------------------------------------------


def seed_subscription(*, request, by, users: dict) -> None:
    """Seed hook: every executive of the demo gets a monthly report by e-mail (once)."""
    for user in users.values():
        if user is None or not getattr(user, "email", "") or not user.has_role("executive"):
            continue
        if not Subscription.objects.filter(user=user).exists():
            subscription_save(user=user, by=user, frequency=Frequency.MONTHLY, delivery=Delivery.LINK)
