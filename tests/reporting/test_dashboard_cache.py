"""The dashboard under load: its figures cached as HTML, recounted only when what they count changes (not for
a comment), one recount at a time with the previous figures shown meanwhile, the system filter typed with
suggestions instead of a <select> of every system, and the time the figures were counted shown in UTC."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.core import clock

from tests.conftest import client_for

from .conftest import OCTOBER, at, make_upgrade

QUERY = f"start={OCTOBER['start']}&end={OCTOBER['end']}"
NINE = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


def ended_on_page(client, query: str = QUERY) -> tuple[int, str]:
    html = client.get(f"/reports/?{query}").content.decode()
    as_of = re.search(r'id="figures-as-of">Figures as of ([^<]+) UTC', html).group(1)
    return int(re.search(r"Upgrades ended in the period: <strong>(\d+)</strong>", html).group(1)), as_of


def kpi_queries(queries) -> list[str]:
    """The queries that count the figures (the outage steps of the period), not the page's own."""
    return [q["sql"] for q in queries.captured_queries
            if "execution_stepevent" in q["sql"] and "GROUP BY" in q["sql"]]


def test_a_comment_does_not_recount_the_figures(october, executive, requester):
    from guardian.shortcuts import assign_perm

    from apps.upgrades.models import Comment

    assign_perm("upgrades.duty_requester", requester, october["R1"])
    page = client_for(Client(), executive)
    with clock.frozen(NINE):
        assert ended_on_page(page) == (7, "28 Nov 2026 09:00:00")
    with clock.frozen(NINE + dt.timedelta(minutes=1)):
        posted = client_for(Client(), requester).post("/upgrades/UPG-2026-0901/comments/",
                                                      {"body": "Went well, thanks all."})
        assert posted.status_code == 302 and Comment.objects.filter(request=october["R1"]).exists()
        with CaptureQueriesContext(connection) as queries:
            assert ended_on_page(page) == (7, "28 Nov 2026 09:00:00")
        assert not kpi_queries(queries)


def test_a_deleted_draft_recounts_the_figures(october, executive, requester, component_a):
    """A deleted draft leaves no row behind: its audit event is what the dashboard notices."""
    from guardian.shortcuts import assign_perm

    from apps.upgrades.services import upgrade_delete_draft

    draft = make_upgrade(requester, component_a, ref="UPG-2026-0960", outcome="", created=at(2))
    assign_perm("upgrades.duty_requester", requester, draft)
    page = client_for(Client(), executive)
    with clock.frozen(NINE):
        assert ended_on_page(page) == (7, "28 Nov 2026 09:00:00")
    with clock.frozen(NINE + dt.timedelta(minutes=1)):
        upgrade_delete_draft(request=draft, by=requester)
        assert ended_on_page(page) == (7, "28 Nov 2026 09:01:00")


@pytest.mark.parametrize("elsewhere", [False, True], ids=["in this process", "in another process"])
def test_while_one_request_recounts_the_others_see_the_previous_figures(october, executive, auditor,
                                                                        requester, component_a, elsewhere):
    from django.core.cache import cache

    from apps.reporting import selectors
    from apps.reporting.kpis import Period

    with clock.frozen(NINE):
        assert ended_on_page(client_for(Client(), executive)) == (7, "28 Nov 2026 09:00:00")
    make_upgrade(requester, component_a, ref="UPG-2026-0950", created=at(2), finished=at(3))
    key = selectors.dashboard_cache_key(executive, Period.from_params(OCTOBER))
    lock = selectors._recount_lock(key)
    auditor_page = client_for(Client(), auditor)  # sees every request: the executive's cached figures
    with clock.frozen(NINE + dt.timedelta(minutes=1)):
        # another request is recounting them: one of this process, or one of another sharing the cache
        assert cache.add(key + ":recounting", True) if elsewhere else lock.acquire(blocking=False)
        try:
            with CaptureQueriesContext(connection) as queries:
                assert ended_on_page(auditor_page) == (7, "28 Nov 2026 09:00:00")  # with the time they show
            assert not kpi_queries(queries)
        finally:
            cache.delete(key + ":recounting") if elsewhere else lock.release()
        assert ended_on_page(auditor_page) == (8, "28 Nov 2026 09:01:00")


def test_the_cached_figures_are_the_counted_ones(october, executive):
    page = client_for(Client(), executive)
    first = page.get(f"/reports/?{QUERY}").content.decode()
    with CaptureQueriesContext(connection) as queries:
        again = page.get(f"/reports/?{QUERY}").content.decode()
    assert not kpi_queries(queries)

    def figures(html):
        start = html.index('<section aria-labelledby="h-headline">')
        return html[start:html.index('<section aria-labelledby="h-report"')]

    assert figures(again) == figures(first)
    assert 'data-figure="completed">5<' in first and "core-banking" in figures(first)


def test_the_time_of_the_figures_is_shown_in_utc_to_a_reader_elsewhere(october, executive):
    executive.timezone = "America/New_York"
    executive.save(update_fields=["timezone"])
    with clock.frozen(NINE):
        assert ended_on_page(client_for(Client(), executive)) == (7, "28 Nov 2026 09:00:00")


def test_the_system_filter_is_typed_with_suggestions(october, executive):
    page = client_for(Client(), executive)
    html = page.get(f"/reports/?{QUERY}").content.decode()
    assert '<select name="system"' not in html
    box = re.search(r'<input[^>]*name="system"[^>]*>', html).group(0)
    assert 'list="system-options"' in box and "suggest=system" in box
    assert '<datalist id="system-options"></datalist>' in html
    assert ended_on_page(page, f"{QUERY}&system=core-ledger")[0] == 5  # R1, R2, R5, R6, H1
    assert 'value="core-ledger"' in page.get(f"/reports/?{QUERY}&system=core-ledger").content.decode()
    unknown = page.get(f"/reports/?{QUERY}&system=no-such-system")
    assert unknown.status_code == 400
    assert "No system has the short name “no-such-system”" in unknown.content.decode()
    listed = page.get(f"/reports/kpi/completed/?{QUERY}&system=core-ledger")
    assert listed.status_code == 200 and '<select name="system"' not in listed.content.decode()


def test_the_fast_select_writes_djangos_html(october, team_a):
    from django import forms

    from apps.accounts.models import Team
    from apps.reporting.forms import FastSelect, PeriodForm

    Team.objects.create(name='R&D <"labs">', slug="rnd-labs")
    for data in (None, {"team": "rnd-labs", "risk_class": "emergency", "preset": "30d"}, {"team": "nope"}):
        form = PeriodForm(data)
        form.is_valid() if data else None
        for name in ("preset", "team", "environment", "region", "risk_class"):
            field = form[name]
            assert isinstance(field.field.widget, FastSelect)
            django_html = field.as_widget(widget=forms.Select(choices=field.field.widget.choices,
                                                              attrs=field.field.widget.attrs))
            assert str(field) == django_html, name
    assert "R&amp;D &lt;&quot;labs&quot;&gt;" in str(PeriodForm()["team"])


def test_the_previous_periods_figures_need_no_owner_teams(october, executive, requester):
    from apps.reporting.kpis import Data, Period

    october_period = Period(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31))
    for user in (executive, requester):
        full = Data(user, october_period)
        lean = Data(user, october_period, csv=False, teams=False)
        assert lean.figures == full.figures and lean.by_risk() == full.by_risk()
        assert lean.monthly() == full.monthly()
        with pytest.raises(RuntimeError):
            lean.teams()


def test_with_no_figures_yet_a_first_count_elsewhere_is_waited_for_not_repeated(october, executive):
    """Several web processes starting cold share the cache: while one counts the figures for the first time,
    the others wait for them instead of counting the same figures at once."""
    import threading

    from django.core.cache import cache

    from apps.reporting import selectors
    from apps.reporting.kpis import Period

    key = selectors.dashboard_cache_key(executive, Period.from_params(OCTOBER))
    cache.delete(key)
    assert cache.add(key + ":recounting", True)  # another process is counting them
    with clock.frozen(NINE):
        stamp = selectors._data_stamp()

        def stored_elsewhere():
            cache.set(key, {"stamp": stamp, "figures_html": "<p>Counted by another process</p>",
                            "computed_at": NINE})
            cache.delete(key + ":recounting")

        threading.Timer(0.3, stored_elsewhere).start()
        with CaptureQueriesContext(connection) as queries:
            html = client_for(Client(), executive).get(f"/reports/?{QUERY}").content.decode()
    assert "Counted by another process" in html
    assert not kpi_queries(queries)


def test_a_first_count_that_another_process_gave_up_is_done_here(october, executive):
    import threading

    from django.core.cache import cache

    from apps.reporting import selectors
    from apps.reporting.kpis import Period

    key = selectors.dashboard_cache_key(executive, Period.from_params(OCTOBER))
    cache.delete(key)
    cache.add(key + ":recounting", True)
    threading.Timer(0.2, lambda: cache.delete(key + ":recounting")).start()  # it stopped without storing them
    with clock.frozen(NINE):
        assert ended_on_page(client_for(Client(), executive)) == (7, "28 Nov 2026 09:00:00")
