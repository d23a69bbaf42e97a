"""Every KPI of the issue on the hand-built October of conftest.py, where each number is known."""

import datetime as dt

import pytest

from apps.reporting.kpis import KPIS, Data, Period, band_cfr, band_lead, percentile

OCT = Period(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31))

pytestmark = pytest.mark.django_db


def refs(rows):
    return sorted(r["reference"] for r in rows)


def test_outcome_categories_follow_the_definitions(october, executive):
    data = Data(executive, OCT)
    f = data.figures
    assert f["ended"] == 7
    assert f["completed"] == 5
    assert refs(data.rows("successful")) == ["UPG-2026-0901", "UPG-2026-0906", "UPG-2026-0907"]
    # R2: a P3 incident two days later; R3: a step failed and was retried
    # (R3's P4 incident came 15 days later: it does not count)
    assert refs(data.rows("with_issues")) == ["UPG-2026-0902", "UPG-2026-0903"]
    assert refs(data.rows("unsuccessful")) == ["UPG-2026-0904", "UPG-2026-0905"]
    assert f["success_rate"] == 42.9  # 3 of 7


def test_change_failure_rate_counts_rollbacks_failures_hotfixes_and_incidents(october, executive):
    data = Data(executive, OCT)
    assert refs(data.rows("change_failures")) == ["UPG-2026-0902", "UPG-2026-0904", "UPG-2026-0905",
                                                   "UPG-2026-0906"]
    assert data.figures["change_failure_rate"] == 57.1
    assert band_cfr(57.1)[0].startswith("Low") and band_cfr(15)[0].startswith("High") and \
        band_cfr(30)[0].startswith("Medium")
    assert refs(data.rows("rollbacks")) == ["UPG-2026-0904"]
    assert data.figures["rollback_rate"] == 14.3
    assert refs(data.rows("hotfixed")) == ["UPG-2026-0906"]


def test_incident_window_is_configurable(october, executive, settings):
    settings.REPORTING_INCIDENT_WINDOW_DAYS = 20  # now R3's P4, 15 days after, counts against it
    data = Data(executive, OCT)
    assert "UPG-2026-0903" in refs(data.rows("change_failures"))
    assert data.figures["score"] == -17  # a P4 costs nothing in the score


def test_downtime_planned_from_outage_steps_and_unplanned_from_incidents(october, executive):
    f = Data(executive, OCT).figures
    assert f["planned_downtime_minutes"] == 45  # 30 (R1) + 15 (R4)
    assert f["unplanned_downtime_minutes"] == 110  # 20 (R2's P3) + 90 (R4's P1)
    assert f["downtime_minutes"] == 155
    assert f["downtime_per_upgrade"] == 22.1


def test_incidents_by_severity_are_those_started_in_the_period(october, executive):
    data = Data(executive, OCT)
    assert data.figures["incidents_by_severity"] == {"P1": 1, "P2": 0, "P3": 1, "P4": 1}
    assert data.figures["incidents"] == 3


def test_lead_time_and_cab_cycle_median_and_p90(october, executive):
    f = Data(executive, OCT).figures
    # completed lead times: 26, 74, 219, 342, 818 hours
    assert f["lead_time_median_hours"] == 219
    assert f["lead_time_p90_hours"] == 818
    assert band_lead(219)[0].startswith("Medium")
    # decisions in October: 2 h (R4), 24 h (R2), 48 h (R3); R1 was decided in September
    assert f["cab_decisions"] == 3
    assert f["cab_cycle_median_hours"] == 24
    assert f["cab_cycle_p90_hours"] == 48
    assert percentile([1, 2, 3, 4], 50) == 2 and percentile([], 50) is None


def test_on_time_uses_wave_windows_then_the_requested_window(october, executive):
    data = Data(executive, OCT)
    # R3 ended after its requested window but inside its plan's wave window; R5 and H1 had no window
    assert refs(data.rows("on_time")) == ["UPG-2026-0901", "UPG-2026-0902", "UPG-2026-0903", "UPG-2026-0904",
                                          "UPG-2026-0906"]
    assert data.figures["on_time_rate"] == 71.4


def test_emergency_share_freeze_refusals_and_automatic_rollbacks(october, executive):
    data = Data(executive, OCT)
    assert refs(data.rows("emergency")) == ["UPG-2026-0904", "UPG-2026-0907"]
    assert data.figures["emergency_share"] == 28.6
    # one freeze refusal in October; the other October refusal is not about a freeze, the third is in November
    assert data.figures["freeze_violations_prevented"] == 1
    # the rollback trigger counts, the pausing one does not
    assert [r["trigger__name"] for r in data.rows("automatic_rollbacks")] == ["Error rate above 5 %"]


def test_team_change_success_score_uses_the_servicenow_weights(october, executive):
    data = Data(executive, OCT)
    assert data.figures["score"] == 3 - 4 - 2 - 15 - 5 + 3 + 3
    teams = {t["team"]: t for t in data.teams()}
    assert teams["Core Banking"]["score"] == 0  # R1 +3, R2 -2-2, R5 -5, R6 +3, H1 +3
    assert teams["Retail Web"]["score"] == -17  # R3 -2, R4 -5-10
    assert teams["Retail Web"]["P1"] == 1


def test_previous_period_and_monthly_trend(october, executive):
    data = Data(executive, OCT)
    previous = Data(executive, OCT.previous())
    assert OCT.previous() == Period(start=dt.date(2026, 8, 31), end=dt.date(2026, 9, 30))
    assert previous.figures["completed"] == 1  # R8
    year = Data(executive, Period(start=dt.date(2026, 9, 1), end=dt.date(2026, 10, 31)))
    months = {m["month"]: m for m in year.monthly()}
    assert months["2026-09"]["ended"] == 1 and months["2026-10"]["ended"] == 7
    assert months["2026-10"]["change_failure_rate"] == 57.1


def test_every_figure_counts_only_what_the_reader_may_see(october, requester, outsider):
    mine = Data(requester, OCT)  # team A
    assert mine.figures["ended"] == 5
    assert refs(mine.rows("unsuccessful")) == ["UPG-2026-0905"]
    assert mine.figures["automatic_rollbacks"] == 0  # R4 is team B's
    theirs = Data(outsider, OCT)  # team B
    assert refs(theirs.rows("completed")) == ["UPG-2026-0903"]
    assert theirs.figures["freeze_violations_prevented"] == 0  # refused on R2 (team A)


def test_filters_narrow_every_figure(october, executive, system_b):
    by_team = Data(executive, Period(start=OCT.start, end=OCT.end, team="retail-web"))
    assert refs(by_team.ended) == ["UPG-2026-0903", "UPG-2026-0904"]
    by_system = Data(executive, Period(start=OCT.start, end=OCT.end, system="core-ledger"))
    assert by_system.figures["ended"] == 5
    by_risk = Data(executive, Period(start=OCT.start, end=OCT.end, risk_class="emergency"))
    assert by_risk.figures["ended"] == 2
    by_env = Data(executive, Period(start=OCT.start, end=OCT.end, environment="staging"))
    assert by_env.figures["ended"] == 0
    system_b.region = "us-east"
    system_b.save()
    by_region = Data(executive, Period(start=OCT.start, end=OCT.end, region="us-east"))
    assert refs(by_region.ended) == ["UPG-2026-0903", "UPG-2026-0904"]


def test_every_kpi_has_a_definition(october, executive):
    from apps.reporting.kpis import definitions

    terms = dict(definitions())
    for k in KPIS.values():
        assert terms[k.label]
    assert "7 days" in terms["Successful"]
    formula = "3 × successful − 2 × successful with issues − 5 × unsuccessful"
    assert formula in terms["Team change success score"]
