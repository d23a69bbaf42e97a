"""The request list in a large organisation: a capped count that says so, pages past the cap, the same rows
whichever way the database is asked (list, count, one request), and the fast widgets' markup."""

import re

import pytest
from django import forms
from django.urls import reverse

from apps.upgrades import selectors, views
from apps.upgrades.forms import AssignForm, FastSelect, FilterForm
from apps.upgrades.models import UpgradeRequest
from apps.upgrades.services import upgrade_duty_assign

from ..conftest import make_request

ROW = re.compile(r'<td class="mono"><a href="/upgrades/(UPG-\d{4}-\d{4})/">')


@pytest.fixture
def seven(requester, component_a, monkeypatch):
    """Seven requests, pages of 2, a count capped at 4: the list of 100,000 in miniature."""
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    monkeypatch.setattr(views, "COUNT_CAP", 4)
    for name in ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"):
        make_request(requester, component_a, title=f"Request {name}")
    return list(UpgradeRequest.objects.order_by("-created_at", "-pk").values_list("reference", flat=True))


def _page(client, **params):
    text = client.get(reverse("upgrades:list"), params).content.decode()
    return text, ROW.findall(text)


def test_a_count_past_the_cap_says_more_than_and_still_pages(seven, requester, login):
    client = login(requester)
    text, refs = _page(client)
    assert refs == seven[:2]
    assert "More than 4 requests" in text and "7 requests" not in text
    assert "Page 1 of more than 2" in text and "page=2" in text and "Previous" not in text
    text, refs = _page(client, page=2)
    assert refs == seven[2:4]
    # the last page the capped count vouches for still offers the next one
    assert "Page 2 of more than 2" in text and "page=3" in text and "page=1" in text


def test_a_page_past_the_cap_counts_exactly(seven, requester, login):
    client = login(requester)
    text, refs = _page(client, page=3)
    assert refs == seven[4:6]
    assert "7 requests" in text and "Page 3 of 4" in text and "page=4" in text
    text, refs = _page(client, page=4)
    assert refs == seven[6:] and "Next" not in text
    text, refs = _page(client, page=99)  # past the end: the last page, as before
    assert refs == seven[6:] and "Page 4 of 4" in text


def test_a_count_under_the_cap_is_exact(seven, requester, login):
    text, refs = _page(login(requester), q="charlie")
    assert refs == [seven[4]] and "1 request" in text and "More than" not in text


def test_a_search_counts_up_to_its_own_cap(seven, requester, login, monkeypatch):
    monkeypatch.setattr(views, "SEARCH_COUNT_CAP", 2)
    text, refs = _page(login(requester), q="request")
    assert refs == seven[:2] and "More than 2 requests" in text and "Page 1 of more than 1" in text
    text, refs = _page(login(requester), q="request", page=2)
    assert refs == seven[2:4] and "7 requests" in text and "Page 2 of 4" in text


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Auckland", "America/Los_Angeles"])
def test_the_rows_dates_read_as_the_date_filter_writes_them(zone):
    import datetime as dt

    from django.template import Context, Template
    from django.utils import timezone

    with timezone.override(zone):
        for when in (dt.datetime(2026, 1, 4, 23, 5, tzinfo=dt.UTC), dt.datetime(2027, 9, 30, 0, 59, tzinfo=dt.UTC)):
            expected = Template('{{ w|date:"D j M Y H:i" }}|{{ w|date:"j M Y" }}').render(Context({"w": when}))
            local = timezone.localtime(when)
            assert f"{views._day_time(local)}|{views._day(local)}" == expected


def test_every_shape_of_the_visibility_rule_gives_the_same_rows(requester, outsider, assessor, approver,
                                                                 admin_user, component_a, component_b):
    mine = make_request(requester, component_a, title="Team A's")
    theirs = make_request(outsider, component_b, title="Team B's")
    granted = make_request(outsider, component_b, title="Team B's, assessed by a person of no team")
    upgrade_duty_assign(request=granted, by=outsider, user=assessor, duty="assessor")
    expected = {
        requester: {mine.pk}, outsider: {theirs.pk, granted.pk}, assessor: {granted.pk},
        approver: set(), admin_user: {mine.pk, theirs.pk, granted.pk},
    }
    for user, pks in expected.items():
        for shape in ("", "hashed", "array", "row"):
            assert set(selectors.upgrade_visible(user, shape=shape).values_list("pk", flat=True)) == pks, (
                user.username, shape)
        assert {r.reference for r in [mine, theirs, granted]
                if _visible_by_reference(user, r.reference)} == {r.reference for r in [mine, theirs, granted]
                                                                 if r.pk in pks}


def _visible_by_reference(user, reference) -> bool:
    from django.http import Http404

    try:
        selectors.upgrade_get(user=user, reference=reference)
    except Http404:
        return False
    return True


def _options(html: str) -> list[tuple[str, bool, str]]:
    return [(v, bool(s), label) for v, s, label in
            re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', html)]


@pytest.mark.parametrize("data", [None, {"state": "draft", "risk_class": ""}, {"state": "<bogus>"}])
def test_the_fast_select_renders_what_django_s_select_renders(data):
    fast = FilterForm(data)
    plain = FilterForm(data)
    for name in ("state", "risk_class"):
        plain.fields[name].widget = forms.Select(choices=plain.fields[name].choices)
        assert _options(str(fast[name])) == _options(str(plain[name])), name
        assert f'name="{name}"' in str(fast[name]) and f'id="id_{name}"' in str(fast[name])


def test_the_assign_form_lists_the_people_of_the_role_with_the_choice_kept(requester, assessor, outsider):
    form = AssignForm({"assessor-user": "assessor"}, duty="assessor", prefix="assessor")
    assert isinstance(form.fields["user"].widget, FastSelect)
    options = _options(str(form["user"]))
    assert options[0] == ("", False, "---------")
    assert ("assessor", True, str(assessor)) in options and ("outsider", False, str(outsider)) in options
    assert [v for v, selected, _ in options if selected] == ["assessor"]
    assert 'name="assessor-user"' in str(form["user"]) and " required" in str(form["user"])


def test_the_search_index_is_the_expression_the_search_asks_for(admin_user):
    """Migration 0007 indexes the text vector that selectors._search builds: if either changes, PostgreSQL
    silently computes the vector of every request again (2 s per search at 100,000 requests)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the search indexes are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone() is None:
            pytest.skip("no pg_trgm here: the substring branches of the search cannot use an index")
        qs = selectors.upgrade_list(user=admin_user, filters={"q": "kafka"}).order_by().values_list("pk")
        sql, params = qs.query.sql_with_params()
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    for index in ("upgrade_search_idx", "upgrade_reference_trgm_idx", "upgrade_title_trgm_idx"):
        assert index in plan, plan
