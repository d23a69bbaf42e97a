"""The stored facts of each ended upgrade (apps.reporting.facts): the same figures, lists and CSV as counting
the rows (kpis.Data), kept right by triggers whatever writes, never overwritten by a recount that raced a
write."""

import datetime as dt
import random
import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.test import override_settings

from apps.core import clock
from apps.reporting import facts, services
from apps.reporting.kpis import KPI_LIST, Data, Period
from apps.reporting.models import UpgradeFacts

from .conftest import at, event, incident, make_plan, make_run, make_step, make_upgrade
from .test_scale import OCT

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "postgresql", reason="the facts are PostgreSQL's")]

NOTABLE_KEYS = ("reference", "title", "risk_class", "outcome_label", "category", "finished_at", "severities",
                "teams", "planned_minutes", "unplanned_minutes", "score")


def random_organisation(seed, requester, implementer, components, n=60):
    """`n` upgrades ending in September–November with everything a fact depends on drawn at random: outcomes,
    risk classes, one or two teams, requested and wave windows, step logs with retries and outage steps whose
    spans end on half minutes, incidents inside and outside the window, hotfixes (emergency or not, in time
    or late), lead times of a quarter hour, CAB decisions."""
    from apps.rollouts.models import Wave
    from apps.upgrades.models import UpgradeItem

    rng = random.Random(seed)
    made = []
    for k in range(n):
        month = rng.choice([9, 10, 10, 10, 11])
        day = rng.randrange(1, 29)
        finished = at(day, rng.randrange(0, 23), rng.choice([0, 15, 30, 45, 7]), month=month)
        created = finished - dt.timedelta(hours=rng.randrange(1, 400), minutes=rng.choice([0, 15, 45, 3]))
        submitted = created + dt.timedelta(minutes=rng.randrange(1, 200)) if rng.random() < .8 else None
        decided = submitted + dt.timedelta(minutes=rng.randrange(1, 3000)) if submitted else None
        window = None
        if rng.random() < .6:
            start = finished - dt.timedelta(hours=rng.randrange(0, 4))
            window = (start, start + dt.timedelta(hours=rng.randrange(1, 5)))
        req = make_upgrade(requester, rng.choice(components), ref=f"UPG-2026-{seed}{k:03d}",
                           outcome=rng.choice(["completed", "completed", "rolled_back", "failed"]),
                           risk=rng.choice(["normal", "normal", "standard", "emergency"]), created=created,
                           finished=finished, submitted=submitted, decided=decided, window=window,
                           title=rng.choice([f"Upgrade {k}", f"=cmd|{k}", f"-{k} rollout", f"@{k}", f"+{k}",
                                             f"\t{k}", f"\r{k}", f"\"{k}\", quoted, one; two"]))
        if rng.random() < .3:  # a second team
            other = rng.choice(components)
            UpgradeItem.objects.create(request=req, system=other.system, component=other,
                                       product=other.product, current_version=other.version,
                                       target_version="99")
        if rng.random() < .4:
            start = finished - dt.timedelta(hours=rng.randrange(0, 3))
            Wave.objects.create(plan=make_plan(req), position=0, name="Production", window_start=start,
                                window_end=start + dt.timedelta(hours=rng.randrange(1, 3)))
        if rng.random() < .7:
            run = make_run(req, implementer)
            for _ in range(rng.randrange(1, 4)):
                step = make_step(req, outage=rng.random() < .6)
                t = finished - dt.timedelta(minutes=rng.randrange(30, 300), seconds=rng.choice([0, 30, 17]))
                for _ in range(rng.randrange(1, 3)):
                    event(run, step, "started", t, implementer)
                    t += dt.timedelta(minutes=rng.randrange(-2, 40), seconds=rng.choice([0, 30, 30, 41]))
                    if rng.random() < .85:
                        event(run, step, "finished", t, implementer, rng.choice(["done", "failed"]))
        for _ in range(rng.choice([0, 0, 0, 1, 2])):
            incident(req, rng.choice(["P1", "P2", "P3", "P4"]),
                     finished + dt.timedelta(hours=rng.randrange(-5, 300)), implementer,
                     impact=rng.randrange(0, 120))
        made.append(req)
    for k, fixed in enumerate(rng.sample(made, n // 6)):  # hotfixes: in time or late, emergency or not
        make_upgrade(requester, rng.choice(components), ref=f"UPG-2026-{seed}9{k:02d}",
                     risk=rng.choice(["emergency", "emergency", "normal"]),
                     created=fixed.finished_at + dt.timedelta(hours=rng.randrange(1, 240)),
                     fix_of=fixed, finished=rng.choice([None, fixed.finished_at + dt.timedelta(hours=241)]))
    return made


def same_figures(user, period: Period) -> None:
    """FactData equals Data for `user` and `period`: every figure, card count, table, month, notable row and
    the CSV byte for byte."""
    rows, stored = Data(user, period), facts.FactData(user, period)
    assert stored.figures == rows.figures
    for kpi in KPI_LIST:
        assert stored.count(kpi.key) == rows.count(kpi.key), kpi.key
    assert stored.teams() == rows.teams()
    assert stored.by_risk() == rows.by_risk()
    assert stored.monthly() == rows.monthly()
    assert [{k: r[k] for k in NOTABLE_KEYS} | {"hotfixes": [h["reference"] for h in r["hotfixes"]]}
            for r in stored.notable()] == \
        [{k: r[k] for k in NOTABLE_KEYS} | {"hotfixes": [h["reference"] for h in r["hotfixes"]]}
         for r in rows.notable()]
    assert facts.upgrades_csv(user, period) == services.upgrades_csv(rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_facts_give_the_figures_lists_and_csv_the_rows_give(seed, requester, implementer, executive,
                                                                  outsider, component_a, component_b,
                                                                  monkeypatch):
    random_organisation(seed, requester, implementer, [component_a, component_b])
    assert facts.refresh() > 0
    assert facts.refresh() == 0  # nothing changed: nothing counted again
    quarter = Period(start=dt.date(2026, 9, 1), end=dt.date(2026, 11, 30))
    for user in (executive, requester, outsider):
        for period in (OCT, quarter, Period(start=OCT.start, end=OCT.end, team="core-banking"),
                       Period(start=quarter.start, end=quarter.end, risk_class="emergency")):
            same_figures(user, period)
    monkeypatch.setattr(facts, "INLINE_IDS", 0)  # a reader seeing thousands: the rule as a subquery
    for user in (requester, outsider):
        same_figures(user, quarter)
        same_figures(user, Period(start=quarter.start, end=quarter.end, team="core-banking"))
    data = Data(executive, quarter)
    assert data.figures["ended"] >= 50 and data.figures["with_issues"] and data.figures["hotfixed"]
    assert data.figures["planned_downtime_minutes"] and data.figures["on_time"]


def test_the_report_from_the_facts_is_the_report_from_the_rows(requester, implementer, executive,
                                                                 component_a, component_b):
    from apps.reporting.selectors import dashboard

    random_organisation(4, requester, implementer, [component_a, component_b])
    facts.refresh()
    from_rows = dashboard(executive, OCT)
    from_facts = dashboard(executive, OCT, facts=True)
    assert isinstance(from_facts["data"], facts.FactData)
    for key in ("figures", "previous", "cards", "monthly", "teams", "by_risk", "charts"):
        assert from_facts[key] == from_rows[key], key

    report, _ = services.report_request(by=executive, period=OCT, dispatch=False)
    report = services.report_generate(report.pk)
    assert report.csv.open("rb").read() == services.upgrades_csv(Data(executive, OCT))
    with clock.frozen(at(30, month=11)):
        rows_html, _, _ = services.report_html(user=executive, period=OCT)
        facts_html, _, _ = services.report_html(user=executive, period=OCT, facts=True)
    assert facts_html == rows_html


@pytest.fixture
def october_facts(october):
    assert facts.refresh() >= 8
    assert not UpgradeFacts.objects.filter(stale=True).exists()
    return october


def _fact(req) -> UpgradeFacts:
    return UpgradeFacts.objects.get(request_id=req.pk)


def _writes(october, by, component_b):
    """Writes to every table a fact depends on, each with the request whose facts it changes."""
    from apps.execution.models import ExecutionRun, Incident, StepEvent
    from apps.inventory.models import System
    from apps.rollouts.models import RunbookStep, Wave
    from apps.upgrades.models import UpgradeItem, UpgradeRequest

    r = october

    def new_incident():
        incident(r["R1"], "P2", at(6), by, impact=33)
        return "R1"

    def moved_incident():
        Incident.objects.filter(request=r["R2"]).update(request=r["R6"])
        return "R2", "R6"

    def deleted_incident():
        Incident.objects.filter(request=r["R2"]).delete()
        return "R2"

    def retried_step():
        run, step = make_run(r["R6"], by), make_step(r["R6"])
        for kind, minute, outcome in (("started", 0, ""), ("finished", 5, "failed"), ("started", 6, "")):
            event(run, step, kind, at(25, 1, minute), by, outcome)
        return "R6"

    def outage_flag():
        RunbookStep.objects.filter(plan__request=r["R3"]).update(is_outage=True)
        return "R3"

    def step_log_deleted():
        StepEvent.objects.filter(run__request=r["R1"]).delete()
        return "R1"

    def run_deleted():
        StepEvent.objects.filter(run__request=r["R4"]).delete()
        ExecutionRun.objects.filter(request=r["R4"]).delete()
        return "R4"

    def wave_window():
        Wave.objects.filter(plan__request=r["R3"]).update(window_end=at(15, 5, 30))
        return "R3"

    def new_wave():
        Wave.objects.create(plan=make_plan(r["R5"]), position=0, name="Production", window_start=at(22, 1),
                            window_end=at(22, 6))
        return "R5"

    def other_team():
        UpgradeItem.objects.create(request=r["R1"], system=component_b.system, component=component_b,
                                   product="django", current_version="4", target_version="5")
        return "R1"

    def system_moved():
        System.objects.filter(pk=component_b.system_id).update(owner_team=r["R1"].items.first().system.owner_team)
        return "R3", "R4"

    def new_hotfix():
        make_upgrade(r["R1"].requester, component_b, ref="UPG-2026-0999", risk="emergency", created=at(6),
                     fix_of=r["R1"])
        return "R1"

    def hotfix_late():
        UpgradeRequest.objects.filter(pk=r["H1"].pk).update(created_at=at(29, month=11))
        return "R6", "H1"

    def outcome_corrected():
        UpgradeRequest.objects.filter(pk=r["R5"].pk).update(outcome="completed", state="completed")
        return "R5"

    def ended_later():
        UpgradeRequest.objects.filter(pk=r["R2"].pk).update(finished_at=at(30, 3))
        return "R2"

    return [new_incident, moved_incident, deleted_incident, retried_step, outage_flag, step_log_deleted,
            run_deleted, wave_window, new_wave, other_team, system_moved, new_hotfix, hotfix_late,
            outcome_corrected, ended_later]


WRITES = ["new_incident", "moved_incident", "deleted_incident", "retried_step", "outage_flag",
          "step_log_deleted", "run_deleted", "wave_window", "new_wave", "other_team", "system_moved",
          "new_hotfix", "hotfix_late", "outcome_corrected", "ended_later"]


@pytest.mark.parametrize("write", WRITES)
def test_a_write_to_anything_a_fact_counts_makes_it_stale_until_counted_again(write, october_facts,
                                                                             implementer, executive,
                                                                             component_b):
    fn = {f.__name__: f for f in _writes(october_facts, implementer, component_b)}[write]
    before = {name: _fact(req).version for name, req in october_facts.items()}
    assert not UpgradeFacts.objects.filter(stale=True).exists()
    changed = fn()
    changed = {changed} if isinstance(changed, str) else set(changed)
    stale = {name for name, req in october_facts.items() if _fact(req).stale}
    assert stale == changed  # the requests the write changes, and only those
    assert all(_fact(october_facts[name]).version > before[name] for name in changed)
    with pytest.raises(facts.FactsIncomplete):
        facts.FactData(executive, OCT)
    assert facts.refresh() >= 1
    same_figures(executive, OCT)


def test_a_different_incident_window_counts_every_fact_again(october_facts, executive):
    week = facts.FactData(executive, OCT).figures
    with override_settings(REPORTING_INCIDENT_WINDOW_DAYS=30):
        with pytest.raises(facts.FactsIncomplete):
            facts.FactData(executive, OCT)
        assert facts.refresh() >= 8
        same_figures(executive, OCT)
        month = facts.FactData(executive, OCT).figures
    # R3's P4 incident of day 30 (5 minutes) counts within 30 days, not within 7
    assert month["unplanned_downtime_minutes"] == week["unplanned_downtime_minutes"] + 5


def test_refusals_of_a_deleted_request_are_not_counted_either_way(october_facts, executive, outsider,
                                                                   requester, component_a):
    from apps.audit.services import audit_append

    draft = make_upgrade(requester, component_a, ref="UPG-2026-0990", created=at(2))
    with clock.frozen(at(9)):
        audit_append(action="upgrade.transition_refused", actor=requester, obj=draft,
                     data={"transition": "submit", "reasons": ["Change freeze “Audit week” covers it."]})
    assert facts.FactData(executive, OCT).figures["freeze_violations_prevented"] == 2
    draft.items.all().delete()
    draft.delete()
    facts.refresh()
    for user in (executive, outsider):
        assert facts.FactData(user, OCT).refusals == Data(user, OCT).refusals
    assert facts.FactData(executive, OCT).figures["freeze_violations_prevented"] == 1


def test_beat_counts_stale_facts_every_five_minutes(october_facts, implementer, executive):
    from apps.reporting.tasks import facts_refresh_task
    from config.celery import app

    entry = app.conf.beat_schedule["reporting-facts-refresh"]
    assert entry["task"] == "reporting.facts_refresh" and entry["schedule"] == 300.0
    incident(october_facts["R1"], "P2", at(6), implementer, impact=33)
    assert _fact(october_facts["R1"]).stale
    assert facts_refresh_task.apply().get() == 1
    assert not _fact(october_facts["R1"]).stale
    same_figures(executive, OCT)


def test_a_report_whose_facts_went_stale_meanwhile_is_counted_from_the_rows(october_facts, executive,
                                                                          implementer, monkeypatch, caplog):
    monkeypatch.setattr(facts, "refresh", lambda: 0)  # a write lands after the refresh, before the reading
    incident(october_facts["R1"], "P1", at(6), implementer, impact=45)
    report, _ = services.report_request(by=executive, period=OCT, dispatch=False)
    report = services.report_generate(report.pk)
    assert report.headline["change_failure_rate"] == Data(executive, OCT).figures["change_failure_rate"]
    assert report.csv.open("rb").read() == services.upgrades_csv(Data(executive, OCT))
    assert "counted from the rows" in caplog.text


def test_without_every_trigger_in_place_reports_are_counted_from_the_rows(october_facts, executive,
                                                                        implementer, caplog):
    assert facts.usable()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no foreign key check pending: the table may change
        cursor.execute("ALTER TABLE execution_incident "
                       "DISABLE TRIGGER reporting_facts_execution_incident_insert")
    incident(october_facts["R1"], "P1", at(6), implementer, impact=45)  # not seen by the facts
    assert not facts.usable() and "19 of their 20 triggers" in caplog.text
    report, _ = services.report_request(by=executive, period=OCT, dispatch=False)
    report = services.report_generate(report.pk)
    assert report.csv.open("rb").read() == services.upgrades_csv(Data(executive, OCT))
    assert report.headline["incidents"] == Data(executive, OCT).figures["incidents"]


@pytest.mark.django_db(transaction=True)
def test_a_recount_that_raced_a_write_leaves_the_fact_stale(requester, implementer, executive, component_a):
    """The recount's snapshot does not see an incident committed while it waits on the fact's row: it must
    not store the fact it counted without it (and mark it counted); the next recount sees the incident."""
    req = make_upgrade(requester, component_a, ref="UPG-2026-0001", created=at(1), finished=at(5, 2))
    facts.refresh()
    incident(req, "P3", at(6), implementer, impact=12)  # committed: the fact is stale
    blocked = threading.Event()
    done = {}

    def recount():
        try:
            done["stored"] = facts.refresh()
        except Exception as exc:
            done["error"] = exc
        finally:
            connections.close_all()

    with transaction.atomic():
        incident(req, "P1", at(7), implementer, impact=30)  # the trigger holds the fact's row until commit
        thread = threading.Thread(target=recount)
        thread.start()
        deadline = time.monotonic() + 10
        with connections["default"].cursor() as cursor:
            while time.monotonic() < deadline and not blocked.is_set():
                cursor.execute("SELECT pg_stat_clear_snapshot()")  # else read once per transaction
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                               "AND wait_event_type = 'Lock' AND query LIKE '%%reporting_upgradefacts%%'")
                if cursor.fetchone()[0]:
                    blocked.set()
                time.sleep(0.02)
        assert blocked.is_set(), f"the recount never waited on the fact's row: {done}"
    thread.join(10)
    assert done == {"stored": 0}
    fact = _fact(req)
    assert fact.stale and fact.severities == ""  # not "P3" alone, counted without the P1, marked counted
    assert facts.refresh() == 1
    fact = _fact(req)
    assert not fact.stale and fact.category == "with_issues" and fact.severities == "P3; P1"
    same_figures(executive, OCT)


@pytest.mark.django_db(transaction=True)
def test_the_report_csv_is_written_by_a_child_reading_in_the_reports_snapshot(requester, implementer,
                                                                             executive, component_a,
                                                                             component_b, monkeypatch,
                                                                             tmp_path):
    import os

    random_organisation(5, requester, implementer, [component_a, component_b], n=30)
    writers = tmp_path / "writers"
    real = facts.upgrades_csv

    def noted(user, period):
        with open(writers, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        return real(user, period)

    monkeypatch.setattr(facts, "upgrades_csv", noted)
    report, _ = services.report_request(by=executive, period=OCT, dispatch=False)
    report = services.report_generate(report.pk)
    by = [int(pid) for pid in writers.read_text().split()]
    assert len(by) == 1 and by[0] != os.getpid()
    assert report.csv.open("rb").read() == services.upgrades_csv(Data(executive, OCT))
    assert not UpgradeFacts.objects.filter(stale=True, request_id__in=[
        r["id"] for r in Data(executive, OCT).ended]).exists()
