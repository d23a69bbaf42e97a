"""The dashboard, its drill-down lists and CSVs: who may open them, every figure equals its list, query
counts."""

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.reporting.selectors import CARDS

from .conftest import OCTOBER, at, make_upgrade

QUERY = "start=2026-10-01&end=2026-10-31"
DASHBOARD_STATUS = {"requester": 200, "assessor": 200, "approver": 200, "implementer": 403, "validator": 403,
                    "executive": 200, "auditor": 200, "admin": 200, "outsider": 200}

pytestmark = pytest.mark.django_db


def counted(html: str) -> int:
    return int(re.search(r'<strong data-count="(\d+)">', html).group(1))


@pytest.mark.parametrize("path", ["/reports/", f"/reports/kpi/completed/?{QUERY}",
                                  f"/reports/export/teams.csv?{QUERY}",
                                  "/reports/reports/", "/reports/subscriptions/"])
def test_persona_matrix(path, personas, login, frozen_now):
    for name, user in personas.items():
        response = login(user).get(path)
        if user is None:
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], name
        else:
            assert response.status_code == DASHBOARD_STATUS[name], (name, path)


def test_the_navigation_links_to_the_dashboard(executive, login, frozen_now):
    page = login(executive).get("/upgrades/").content.decode()
    assert 'href="/reports/"' in page


def test_every_dashboard_figure_equals_the_length_of_its_list(october, executive, login):
    client = login(executive)
    page = client.get(f"/reports/?{QUERY}").content.decode()
    assert "1 Oct 2026 – 31 Oct 2026" in page
    found = re.findall(r'href="/reports/kpi/([a-z_]+)/\?([^"]+)" data-count="(\d+)"', page)
    links = {kpi: int(n) for kpi, _, n in found}
    assert all("start=2026-10-01" in q and "end=2026-10-31" in q for _, q, _ in found)
    assert set(links) == {kpi for kpi, *_ in CARDS}
    expected = {"completed": 5, "successful": 3, "change_failures": 4, "rollbacks": 1, "hotfixed": 1,
                "on_time": 5, "emergency": 2, "lead_time": 5, "cab_cycle": 3, "planned_downtime": 2,
                "unplanned_downtime": 2,
                "incidents": 3, "freeze_prevented": 1, "automatic_rollbacks": 1}
    assert links == expected
    for kpi, figure in links.items():
        listing = client.get(f"/reports/kpi/{kpi}/?{QUERY}")
        assert listing.status_code == 200, kpi
        html = listing.content.decode()
        assert counted(html) == figure, kpi
        rows = html.count("<tr>") - 1  # minus the header row
        assert rows == figure, kpi
    # the cards' own figures: counts equal their list, rates are list ÷ ended, minutes the list's total
    assert re.search(r'data-figure="completed">5<', page)
    assert re.search(r'data-figure="successful">42.9 <span class="unit">%', page)
    assert re.search(r'data-figure="change_failures">57.1 <span class="unit">%', page)
    assert re.search(r'data-figure="incidents">3<', page)
    assert re.search(r'data-figure="freeze_prevented">1<', page)
    planned = client.get(f"/reports/kpi/planned_downtime/?{QUERY}").content.decode()
    assert "45 minutes in total" in planned and re.search(r'data-figure="planned_downtime">45 ', page)
    assert "High performing" not in page and "Low (&gt; 45 %)" in page


def test_a_figure_list_counts_only_what_the_reader_may_see(october, requester, login):
    html = login(requester).get(f"/reports/kpi/unsuccessful/?{QUERY}").content.decode()
    assert counted(html) == 1 and "UPG-2026-0905" in html and "UPG-2026-0904" not in html


def test_lists_and_tables_download_as_csv(october, executive, login):
    client = login(executive)
    response = client.get(f"/reports/kpi/change_failures/?{QUERY}&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 1 + 4 and rows[0][0] == "Reference"
    for table, header in [("figures", "Figure"), ("teams", "team"), ("monthly", "month"),
                          ("risk-classes", "risk_class"), ("severity", "severity"),
                          ("upgrades", "Reference")]:
        response = client.get(f"/reports/export/{table}.csv?{QUERY}")
        assert response.status_code == 200, table
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0][0] == header, table
    figures = {r[0]: r[1] for r in csv.reader(io.StringIO(client.get(f"/reports/export/figures.csv?{QUERY}")
                                                          .content.decode("utf-8-sig")))}
    assert figures["change_failure_rate"] == "57.1" and figures["completed"] == "5"
    assert figures["incidents_P1"] == "1"
    upgrades = list(csv.reader(io.StringIO(client.get(f"/reports/export/upgrades.csv?{QUERY}").content
                                           .decode("utf-8-sig"))))
    assert len(upgrades) == 1 + 7


def test_csv_cells_cannot_become_formulas(executive, requester, component_a, login, frozen_now):
    make_upgrade(requester, component_a, ref="UPG-2026-0999", title="=HYPERLINK(\"http://evil\")",
                 created=at(1), finished=at(2))
    body = login(executive).get(f"/reports/export/upgrades.csv?{QUERY}").content.decode("utf-8-sig")
    assert "'=HYPERLINK" in body


@pytest.mark.parametrize("query, field", [("start=2026-10-31&end=2026-10-01", "must not be before"),
                                          ("start=not-a-date", "Enter a valid date"),
                                          ("start=2020-01-01&end=2026-10-01", "at most three years"),
                                          ("team=nobody", "Select a valid choice")])
def test_bad_period_is_explained(query, field, executive, login, frozen_now):
    client = login(executive)
    response = client.get(f"/reports/?{query}")
    assert response.status_code == 400 and field in response.content.decode()
    assert client.get(f"/reports/export/teams.csv?{query}").status_code == 400
    assert client.get(f"/reports/kpi/completed/?{query}").status_code == 400


def test_unknown_figure_and_table_are_404(executive, login, frozen_now):
    client = login(executive)
    assert client.get("/reports/kpi/nope/").status_code == 404
    assert client.get("/reports/export/nope.csv").status_code == 404


def _grow(requester, component, n, offset):
    for i in range(n):
        make_upgrade(requester, component, ref=f"UPG-2026-{offset + i:04d}", created=at(1),
                     finished=at(2 + i % 20, 3), window=(at(2 + i % 20, 1), at(2 + i % 20, 5)))


@pytest.mark.parametrize("path", [f"/reports/?{QUERY}", f"/reports/kpi/completed/?{QUERY}",
                                  f"/reports/export/upgrades.csv?{QUERY}", f"/api/v1/reports/kpis/?{QUERY}"])
def test_query_count_does_not_grow_with_rows(path, october, executive, requester, component_a, login):
    from django.core.cache import cache

    client = login(executive)
    _grow(requester, component_a, 10, 2000)
    client.get(path)
    cache.clear()  # the dashboard's figures are counted each time (they are cached otherwise)
    with CaptureQueriesContext(connection) as small:
        assert client.get(path).status_code == 200
    _grow(requester, component_a, 190, 3000)
    cache.clear()
    with CaptureQueriesContext(connection) as large:
        assert client.get(path).status_code == 200
    assert len(small) == len(large), path


def test_dashboard_reads_well_with_nothing_to_count(executive, login, frozen_now):
    page = login(executive).get("/reports/").content.decode()
    assert "No upgrade ended in the period" in page
    assert "Generate the PDF report" in page and "<svg" in page


__all__ = ["OCTOBER"]


def test_breakdown_figures_link_to_their_lists(october, executive, login):
    client = login(executive)
    page = client.get(f"/reports/?{QUERY}").content.decode()
    found = re.findall(r'href="/reports/kpi/incidents/\?([^"]+)&amp;severity=(P\d)" '
                       r'data-severity-count="(\d+)"', page)
    assert {s: int(n) for _, s, n in found} == {"P1": 1, "P2": 0, "P3": 1, "P4": 1}
    for _, severity, n in found:
        html = client.get(f"/reports/kpi/incidents/?{QUERY}&severity={severity}").content.decode()
        assert counted(html) == int(n), severity
    assert client.get(f"/reports/kpi/incidents/?{QUERY}&severity=P9").status_code == 400
    # a team's name leads to the dashboard of that team alone
    assert f'href="/reports/?start=2026-10-01&amp;end=2026-10-31&amp;team=retail-web"' in page
    team_page = client.get(f"/reports/?{QUERY}&team=retail-web").content.decode()
    assert re.search(r'data-figure="completed">1<', team_page)  # R3 is the only completed one of Retail Web


def test_a_short_period_still_shows_six_months_of_trend(october, executive, login):
    response = login(executive).get("/reports/export/monthly.csv?start=2026-10-15&end=2026-10-31")
    body = response.content.decode()
    months = [line.split(",")[0] for line in body.strip().splitlines()[1:]]
    assert months == ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    assert body.splitlines()[-2].startswith("2026-09,1,")  # R8, September: outside the period, in the trend


def test_with_no_period_given_the_period_select_says_last_12_months(executive, login, frozen_now):
    """The default period is the last 12 months: the select says so, not "Custom dates" beside empty dates;
    dates typed next to it are still the period (its value stays empty)."""
    client = login(executive)
    page = client.get("/reports/").content.decode()
    assert re.search(r'<option value="" selected>Last 12 months, or the dates you give</option>', page)
    assert "Custom dates" not in page
    custom = client.get("/reports/?preset=&start=2026-01-01&end=2026-01-31").content.decode()
    assert re.search(r'<option value="" selected>Custom dates</option>', custom)
    assert "1 Jan 2026 – 31 Jan 2026" in custom
