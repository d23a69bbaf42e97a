"""The request list's count for a reader who sees requests through duties and owner teams: the visible ids are
remembered per person (TOLLGATE_VISIBLE_IDS_SECONDS) so the unfiltered list counts exactly without walking the
requests, and any write — a new request, a revoked duty — forgets them at once."""

import pytest
from django.core.cache import cache

from apps.accounts.choices import Duty
from apps.upgrades import selectors, views
from apps.upgrades.services import upgrade_duty_assign, upgrade_duty_revoke

from ..conftest import make_request
from .test_list_large import _page

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def remembered(settings, monkeypatch, requester, assessor, component_a):
    settings.TOLLGATE_VISIBLE_IDS_SECONDS = 60
    cache.clear()
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    monkeypatch.setattr(views, "COUNT_CAP", 3)
    made = [make_request(requester, component_a, title=f"Request {n}") for n in range(5)]
    for request in made:
        upgrade_duty_assign(request=request, by=requester, user=assessor, duty=Duty.ASSESSOR)
    return made


def test_the_unfiltered_list_counts_exactly_past_the_cap(remembered, assessor, login):
    text, refs = _page(login(assessor))
    assert "5 requests" in text and "More than" not in text and "Page 1 of 3" in text
    assert len(refs) == 2
    assert selectors.visible_count(assessor, {}) == 5


def test_without_the_setting_the_count_is_capped(remembered, assessor, login, settings):
    settings.TOLLGATE_VISIBLE_IDS_SECONDS = 0
    text, _ = _page(login(assessor))
    assert "More than 3 requests" in text


def test_a_filter_counts_the_rows_as_before(remembered, assessor, login):
    text, refs = _page(login(assessor), q="Request 3")
    assert "1 request" in text and len(refs) == 1
    assert selectors.visible_count(assessor, {"q": "Request 3"}) is None


def test_a_revoked_duty_is_forgotten_at_once(remembered, requester, assessor, login):
    client = login(assessor)
    assert "5 requests" in _page(client)[0]
    upgrade_duty_revoke(request=remembered[0], by=requester, user=assessor, duty=Duty.ASSESSOR)
    text, refs = _page(client)
    assert "4 requests" in text and remembered[0].reference not in refs
    assert len(selectors.visible_ids(assessor)) == 4


def test_a_new_duty_is_seen_at_once(remembered, requester, assessor, component_a, login):
    client = login(assessor)
    assert "5 requests" in _page(client)[0]
    another = make_request(requester, component_a, title="Request six")
    upgrade_duty_assign(request=another, by=requester, user=assessor, duty=Duty.ASSESSOR)
    assert "6 requests" in _page(client)[0]


def test_readers_who_see_everything_or_the_cab_queue_are_counted_as_before(remembered, approver, auditor):
    assert selectors.visible_ids(auditor) is None and selectors.visible_ids(approver) is None


def test_the_page_reads_the_chain_head_once(remembered, assessor, login, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.TOLLGATE_INBOX_COUNT_SECONDS = 60  # both caches key on the chain head's shown number
    client = login(assessor)
    client.get("/upgrades/")
    with CaptureQueriesContext(connection) as ctx:
        assert "5 requests" in client.get("/upgrades/").content.decode()
    seq_reads = [q for q in ctx.captured_queries if 'FROM "audit_chainhead"' in q["sql"]]
    assert len(seq_reads) == 1, seq_reads


def test_pages_of_the_remembered_ids_are_the_pages_of_the_rule(remembered, assessor, requester, component_a,
                                                               login, settings):
    """In the list's default order a page is a slice of the remembered ids: the same rows, in the same order,
    on every page, as the rule itself gives (a request the assessor holds no duty on is on neither)."""
    make_request(requester, component_a, title="Not the assessor's")
    client = login(assessor)
    remembered_pages = [_page(client, page=n)[1] for n in (1, 2, 3)]
    settings.TOLLGATE_VISIBLE_IDS_SECONDS = 0
    ruled_pages = [_page(client, page=n)[1] for n in (1, 2, 3)]
    assert remembered_pages == ruled_pages
    assert sum(remembered_pages, []) == [r.reference for r in reversed(remembered)]


def test_a_page_of_the_remembered_ids_does_not_walk_the_requests(remembered, assessor, login):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(assessor)
    client.get("/upgrades/")
    with CaptureQueriesContext(connection) as ctx:
        text, refs = _page(client, page=2)
    assert len(refs) == 2 and "5 requests" in text
    walks = [q["sql"] for q in ctx.captured_queries
             if 'ORDER BY "upgrades_upgraderequest"."created_at" DESC' in q["sql"]]
    assert walks == []  # the ids came from the remembered list; only the page's rows are read
    # another order still asks the database, and pages the same rows as the rule
    assert _page(client, sort="created")[1] == [r.reference for r in remembered[:2]]


def test_a_request_is_opened_through_the_remembered_ids(remembered, requester, assessor, component_a, login):
    """The detail page looks the request up by reference and in the remembered ids: a request the reader
    holds no duty on is 404 (and the denial audited), a revoked duty is 404 at once."""
    from apps.audit.models import AuditEvent

    client = login(assessor)
    mine = remembered[0]
    assert client.get(f"/upgrades/{mine.reference}/").status_code == 200
    other = make_request(requester, component_a, title="Not the assessor's")
    assert client.get(f"/upgrades/{other.reference}/").status_code == 404
    assert AuditEvent.objects.filter(action="upgrade.denied", object_id=str(other.pk)).exists()
    upgrade_duty_revoke(request=mine, by=requester, user=assessor, duty=Duty.ASSESSOR)
    assert client.get(f"/upgrades/{mine.reference}/").status_code == 404
    assert client.get("/upgrades/UPG-1999-0001/").status_code == 404


def test_opening_a_request_through_the_remembered_ids_builds_no_rule(remembered, assessor, login):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(assessor)
    url = f"/upgrades/{remembered[0].reference}/"
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    probes = [q["sql"] for q in ctx.captured_queries
              if '"upgrades_upgraderequest"."reference" =' in q["sql"] and "EXISTS" in q["sql"]]
    assert probes == []


def test_a_comment_keeps_the_remembered_ids(remembered, requester, assessor, component_a, login):
    """A comment changes no one's list: the ids are not read again; a new request (a write that may change
    the list) makes them be read again at once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.upgrades.services import comment_add

    def ids_read(client) -> int:
        with CaptureQueriesContext(connection) as ctx:
            _page(client)
        return sum("UNION ALL" in q["sql"] for q in ctx.captured_queries)

    client = login(assessor)
    assert ids_read(client) == 1
    assert ids_read(client) == 0
    comment_add(request=remembered[0], by=requester, body="Looks fine to me.")
    assert ids_read(client) == 0
    make_request(requester, component_a, title="Request after the comment")
    assert ids_read(client) == 1
