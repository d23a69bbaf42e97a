"""The request list (page and API): search, filters, sorting, pagination, and query counts that do not grow."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core import clock
from apps.upgrades.choices import State
from apps.upgrades.models import UpgradeRequest
from apps.upgrades.services import attachment_add, comment_add, upgrade_duty_assign, upgrade_transition

from ..conftest import make_request
from ..factories import ComponentFactory, EnvironmentFactory

ROW = re.compile(r'<td class="mono"><a href="/upgrades/(UPG-\d{4}-\d{4})/">')
BASE = "/api/v1/upgrades/"


def at(day: str):
    return clock.frozen(dt.datetime.fromisoformat(day).replace(hour=9, tzinfo=dt.UTC))


@pytest.fixture
def catalogue(requester, outsider, assessor, component_a, component_b, system_a):
    """Three requests that differ in every column the list filters and sorts on."""
    staging = EnvironmentFactory(name="Staging", slug="staging", kind="staging", order=1)
    rehearsal = ComponentFactory(system=system_a, environment=staging, name="ledger-db-staging",
                                 product="postgresql", version="13.14")
    with at("2026-03-01"):
        ledger = make_request(requester, component_a, title="Upgrade ledger database to PostgreSQL 16")
    with at("2026-04-15"):
        portal = make_request(outsider, component_b, title="Patch retail portal Django", risk_class="standard",
                              justification="Security advisory for the admin site.",
                              window_start=dt.datetime(2026, 11, 1, 2, tzinfo=dt.UTC),
                              window_end=dt.datetime(2026, 11, 1, 4, tzinfo=dt.UTC))
    with at("2026-05-20"):
        drill = make_request(requester, rehearsal, title="Rehearse ledger upgrade in staging",
                             risk_class="emergency", window_start=None, window_end=None)
        upgrade_duty_assign(request=drill, by=requester, user=assessor, duty="assessor")
        drill = upgrade_transition(request=drill, by=requester, transition="start_assessment")
    return {"ledger": ledger, "portal": portal, "drill": drill}


def page_refs(client, **params):
    response = client.get(reverse("upgrades:list"), params)
    assert response.status_code == 200
    return ROW.findall(response.content.decode())


def api_refs(client, **params):
    response = client.get(BASE, params)
    assert response.status_code == 200, response.content
    return [r["reference"] for r in response.json()["results"]]


FILTERS = [
    ({"q": "portal"}, ["portal"]),
    ({"q": "ledger"}, ["drill", "ledger"]),
    ({"q": "LEDGER database"}, ["ledger"]),
    ({"q": "advisory"}, ["portal"]),
    ({"q": "nothing-like-this"}, []),
    ({"state": "assessing"}, ["drill"]),
    ({"state": "draft"}, ["portal", "ledger"]),
    ({"system": "retail-portal"}, ["portal"]),
    ({"system": "core-ledger"}, ["drill", "ledger"]),
    ({"environment": "staging"}, ["drill"]),
    ({"environment": "production"}, ["portal", "ledger"]),
    ({"risk_class": "emergency"}, ["drill"]),
    ({"risk_class": "standard"}, ["portal"]),
    ({"requester": "outsider"}, ["portal"]),
    ({"requester": "requester"}, ["drill", "ledger"]),
    ({"created_from": "2026-04-01"}, ["drill", "portal"]),
    ({"created_to": "2026-04-30"}, ["portal", "ledger"]),
    ({"created_from": "2026-04-01", "created_to": "2026-04-30"}, ["portal"]),
    ({"q": "ledger", "risk_class": "normal", "state": "draft"}, ["ledger"]),
]


@pytest.mark.parametrize(("params", "expected"), FILTERS, ids=[str(p) for p, _ in FILTERS])
def test_search_and_filters_on_page_and_api(catalogue, admin_user, login, api, params, expected):
    refs = [catalogue[name].reference for name in expected]  # newest first by default
    assert page_refs(login(admin_user), **params) == refs
    assert api_refs(api(admin_user), **params) == refs


def test_search_by_reference(catalogue, admin_user, login, api):
    ref = catalogue["portal"].reference
    assert page_refs(login(admin_user), q=ref) == [ref]
    assert api_refs(api(admin_user), q=ref) == [ref]


def test_an_unknown_filter_value_matches_nothing_and_says_why(catalogue, admin_user, login):
    response = login(admin_user).get(reverse("upgrades:list"), {"system": "no-such-system"})
    assert ROW.findall(response.content.decode()) == []
    assert "Select a valid choice." in response.content.decode()


SORT_KEYS = {
    "reference": lambda r: r.reference,
    "title": lambda r: r.title,
    "state": lambda r: r.state,
    "risk": lambda r: r.risk_class,
    "requester": lambda r: r.requester.username,
    "created": lambda r: r.created_at,
    "window": lambda r: r.window_start,
}


@pytest.mark.parametrize("column", SORT_KEYS)
@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
def test_sort_by_each_column(catalogue, admin_user, login, api, column, descending):
    rows = sorted(catalogue.values(), key=lambda r: -r.pk)  # ties stay newest first
    key = SORT_KEYS[column]
    with_value = sorted((r for r in rows if key(r) is not None), key=key, reverse=descending)
    expected = [r.reference for r in with_value] + [r.reference for r in rows if key(r) is None]  # unset last
    sort = f"-{column}" if descending else column
    assert page_refs(login(admin_user), sort=sort) == expected
    assert api_refs(api(admin_user), sort=sort) == expected


def test_sort_links_toggle_the_direction_and_keep_the_filters(catalogue, admin_user, login):
    text = login(admin_user).get(reverse("upgrades:list"), {"q": "ledger", "sort": "title"}).content.decode()
    assert 'href="?q=ledger&amp;sort=-title"' in text
    assert 'href="?q=ledger&amp;sort=reference"' in text


def test_pagination_on_page_and_api(requester, component_a, login, api):
    for n in range(55):
        make_request(requester, component_a, title=f"Request number {n:02d}")
    newest_first = list(UpgradeRequest.objects.order_by("-created_at", "-pk").values_list("reference", flat=True))
    client = login(requester)
    assert page_refs(client) == newest_first[:25]
    assert page_refs(client, page=2) == newest_first[25:50]
    assert page_refs(client, page=3) == newest_first[50:]
    text = client.get(reverse("upgrades:list"), {"page": 2, "q": "number"}).content.decode()
    assert "Page 2 of 3" in text and "page=3" in text and "q=number" in text
    data = api(requester).get(BASE, {"page": 2}).json()
    assert data["count"] == 55
    assert [r["reference"] for r in data["results"]] == newest_first[50:]
    assert api(requester).get(BASE, {"page": 9}).status_code == 404


# --- query counts ---------------------------------------------------------------------------


def _count_queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = fn()
        assert response.status_code == 200
    return len(ctx.captured_queries)


def _grow_to(n, requester, component_a, first):
    while UpgradeRequest.objects.count() < n:
        # every row links to another one, so a missing select_related on revised_from would show
        make_request(requester, component_a, title=f"Request {UpgradeRequest.objects.count()}", revised_from=first)


def test_list_page_and_api_query_counts_do_not_grow_with_rows(requester, component_a, login, api):
    first = make_request(requester, component_a)
    client = login(requester)
    api_client = api(requester)
    _grow_to(10, requester, component_a, first)
    page_small = _count_queries(lambda: client.get(reverse("upgrades:list")))
    api_small = _count_queries(lambda: api_client.get(BASE))
    search_small = _count_queries(lambda: api_client.get(BASE, {"q": "Request", "sort": "-title"}))
    _grow_to(200, requester, component_a, first)
    assert len(page_refs(client)) == 25 and api_client.get(BASE).json()["count"] == 200
    assert _count_queries(lambda: client.get(reverse("upgrades:list"))) == page_small
    assert _count_queries(lambda: api_client.get(BASE)) == api_small
    assert _count_queries(lambda: api_client.get(BASE, {"q": "Request", "sort": "-title"})) == search_small


def test_detail_page_query_count_does_not_grow_with_items_comments_and_files(requester, component_a, system_a,
                                                                                production, login):
    from django.core.files.uploadedfile import SimpleUploadedFile

    def build(n):
        components = [component_a] + [ComponentFactory(system=system_a, environment=production, name=f"c{n}-{i}")
                                      for i in range(n - 1)]
        items = [{"system": system_a.pk, "component": c.pk, "target_version": "99"} for c in components]
        upgrade = make_request(requester, component_a, items=items)
        for i in range(n):
            comment_add(request=upgrade, by=requester, body=f"Comment {i}")
            attachment_add(request=upgrade, by=requester, upload=SimpleUploadedFile(f"f{i}.txt", b"x"))
        return upgrade

    one, ten = build(1), build(10)
    assert ten.items.count() == 10 and ten.comments.count() == 10
    client = login(requester)
    small = _count_queries(lambda: client.get(one.get_absolute_url()))
    assert _count_queries(lambda: client.get(ten.get_absolute_url())) == small


def test_the_state_filter_accepts_only_states(catalogue, admin_user, api):
    assert api_refs(api(admin_user), state="bogus") == []
    assert api_refs(api(admin_user), state=State.ASSESSING) == [catalogue["drill"].reference]


@pytest.mark.parametrize("q", ["'\"&|!():*", "-", "ledger & | !portal", "a" * 200, "UPG-", "%_", "ledger OR"])
def test_odd_search_text_answers_normally(catalogue, admin_user, login, api, q):
    page = login(admin_user).get(reverse("upgrades:list"), {"q": q})
    assert page.status_code == 200
    response = api(admin_user).get(BASE, {"q": q})
    assert response.status_code == 200
    if q == "%_":  # LIKE wildcards are matched literally
        assert response.json()["count"] == 0
