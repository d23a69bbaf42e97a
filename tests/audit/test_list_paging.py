"""The audit log on a long trail: counting stops at a cap (said on the page, null in the API), every page
number still works, and the rows, verification box and checkpoint read as before."""

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit import paging, selectors, services
from apps.audit.models import AuditEvent
from apps.audit.services import audit_append, audit_checkpoint_export, audit_verify
from apps.audit.views import AuditFilterForm
from apps.core import clock

from .conftest import raw, triggers_disabled

LIST_API = "/api/v1/audit-events/"


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def small_cap(monkeypatch):
    """Counting stops after 10 events (the real cap is 1,000): 60 events are 'more than 10'."""
    monkeypatch.setattr(paging.CappedPaginator, "cap", 10)
    monkeypatch.setattr("apps.audit.views.PAGE_SIZE", 5)


def _append(n: int, action: str = "test.event") -> None:
    for i in range(n):
        audit_append(action=action, data={"i": i})


def _seqs(page: str) -> list[int]:
    return [int(s) for s in re.findall(r'aria-label="Event (\d+)"', page)]


@pytest.mark.django_db
def test_a_trail_longer_than_the_cap_says_more_than_and_the_pages_go_on(client, auditor, small_cap):
    _append(60)
    client.force_login(auditor)  # event #61
    first = client.get(reverse("audit:list")).content.decode()
    assert "(more than 10, newest first)" in first
    assert "Counting stops after 10 events" in first
    assert "Page 1 of more than 2" in first and 'rel="next"' in first
    assert _seqs(first) == [61, 60, 59, 58, 57]
    # past the cap: counting reaches one event past the page asked for, so "Older" is still offered
    deep = client.get(reverse("audit:list") + "?page=7").content.decode()
    assert _seqs(deep) == [31, 30, 29, 28, 27]
    assert "Page 7 of more than 7" in deep and 'rel="next"' in deep and 'rel="prev"' in deep
    last = client.get(reverse("audit:list") + "?page=13").content.decode()
    assert _seqs(last) == [1] and 'rel="next"' not in last and "Page 13 of 13" in last


@pytest.mark.django_db
@pytest.mark.parametrize("number,expected", [("0", 1), ("-3", 1), ("x", 1), ("999", 13)])
def test_a_page_number_out_of_range_shows_the_first_or_the_real_last_page(client, auditor, small_cap, number,
                                                                         expected):
    _append(60)
    client.force_login(auditor)  # 61 events, 5 a page: 13 pages
    page = client.get(reverse("audit:list") + f"?page={number}").content.decode()
    assert f"Page {expected} of " in page
    assert _seqs(page) == ([61, 60, 59, 58, 57] if expected == 1 else [1])


@pytest.mark.django_db
def test_below_the_cap_the_count_is_exact(client, auditor, small_cap):
    _append(6, action="rare.event")
    _append(30)
    client.force_login(auditor)
    page = client.get(reverse("audit:list") + "?action=rare.event").content.decode()
    assert "(6 matching, newest first)" in page and "Counting stops" not in page
    assert "Page 1 of 2" in page


@pytest.mark.django_db
def test_the_count_reads_at_most_the_cap(client, auditor, small_cap):
    _append(30)
    client.force_login(auditor)
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("audit:list"))
    counts = [q["sql"] for q in ctx.captured_queries
              if "COUNT(" in q["sql"].upper() and "audit_auditevent" in q["sql"]]
    assert len(counts) == 1 and "LIMIT 11" in counts[0]


@pytest.mark.django_db
def test_the_api_count_is_null_past_the_cap_and_exact_below(api, auditor, small_cap):
    _append(60)
    client = api(auditor)
    body = client.get(LIST_API).json()
    assert body["count"] is None and body["next"] and len(body["results"]) == 50
    assert [e["seq"] for e in client.get(LIST_API + "?page=2").json()["results"]] == list(range(10, 0, -1))
    assert client.get(LIST_API + "?action=test.event&actor=nobody").json()["count"] == 0
    last = client.get(LIST_API + "?page=last").json()  # the real last page: counted exactly
    assert last["next"] is None and [e["seq"] for e in last["results"]][-1] == 1


@pytest.mark.django_db
def test_the_api_schema_says_the_count_may_be_null(api, admin_user):
    schema = api(admin_user).get("/api/schema/?format=json").json()
    body = schema["paths"][LIST_API]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    ref = body["$ref"].split("/")[-1]
    count = schema["components"]["schemas"][ref]["properties"]["count"]
    assert count["nullable"] is True and "1,000" in count["description"]


@pytest.mark.django_db
def test_rows_link_to_the_event_and_show_the_time_in_the_readers_zone(client, auditor):
    auditor.timezone = "America/New_York"
    auditor.save(update_fields=["timezone"])
    with clock.frozen(dt.datetime(2026, 7, 4, 3, 5, 9, tzinfo=dt.UTC)):
        event = audit_append(action="test.event")
    client.force_login(auditor)
    page = client.get(reverse("audit:list") + "?action=test.event").content.decode()
    assert f'<a href="{reverse("audit:detail", args=[event.seq])}" aria-label="Event {event.seq}">' in page
    assert '<time datetime="2026-07-03T23:05:09-04:00">3 Jul 2026, 23:05:09 EDT</time>' in page


@pytest.mark.django_db
def test_the_box_shows_the_latest_checkpoint_whether_the_chain_is_ok_or_broken(client, auditor):
    _append(3)
    audit_checkpoint_export()
    latest = audit_checkpoint_export()  # at #4 (the first export appended an event)
    client.force_login(auditor)
    page = client.get(reverse("audit:list")).content.decode()
    assert f"Latest checkpoint: #{latest['seq']} " in page and "BROKEN" not in page
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET action = 'forged' WHERE seq = 2")
    cache.clear()  # nothing remembered: the page walks everything again
    page = client.get(reverse("audit:list")).content.decode()
    assert "BROKEN" in page and f"Latest checkpoint: #{latest['seq']} " in page


@pytest.mark.django_db
def test_a_new_action_is_suggested_in_the_filter_once_the_choices_expire(client, auditor):
    _append(1, action="first.kind")
    client.force_login(auditor)
    assert '<option value="first.kind">' in client.get(reverse("audit:list")).content.decode()
    _append(1, action="second.kind")
    cache.delete(selectors.FILTER_CHOICES_KEY.format(name=connection.settings_dict["NAME"]))  # a minute on
    assert '<option value="second.kind">' in client.get(reverse("audit:list")).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("few_links", [0, 2000])  # a long walk (server-side cursor) and a short one
def test_both_ways_of_reading_the_chain_find_a_forged_link(monkeypatch, few_links):
    monkeypatch.setattr(services, "_FEW_LINKS", few_links)
    _append(6)
    assert audit_verify().ok and audit_verify().checked == 6
    remembered = AuditEvent.objects.get(seq=2)
    assert audit_verify(after=2, after_hash=remembered.hash).checked == 4
    assert audit_verify(after=6, after_hash=AuditEvent.objects.get(seq=6).hash).checked == 0
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET data = '{\"i\": 99}' WHERE seq = 5")
    for result in (audit_verify(), audit_verify(after=2, after_hash=remembered.hash)):
        assert not result.ok and result.broken_seq == 5


@pytest.mark.django_db
def test_nothing_appended_since_the_remembered_head_reads_no_events(client, auditor):
    _append(3)
    head = AuditEvent.objects.get(seq=3)
    with CaptureQueriesContext(connection) as ctx:
        result = audit_verify(after=3, after_hash=head.hash)
    assert result.ok and result.checked == 0
    assert not [q for q in ctx.captured_queries if "ORDER BY seq" in q["sql"] and "seq >" in q["sql"]]


@pytest.mark.django_db
@pytest.mark.parametrize("query", [
    "", "actor=a%3Cb&object=UPG-2026-0042&date_from=2026-01-02", "object=" + "x" * 301 + "&actor=a%00",
    "date_from=yesterday&date_to=2026-11-01", "date_from=2026-11-20&date_to=2026-11-01", "actor=&object=",
])
def test_the_written_out_filter_inputs_are_what_django_renders(client, auditor, query):
    client.force_login(auditor)
    page = client.get(reverse("audit:list") + "?" + query).content.decode()
    form = AuditFilterForm(QueryDict(query) or None)
    form.is_bound and form.is_valid()
    for name in ("actor", "object", "date_from", "date_to"):
        assert str(form[name]) in page, name


@pytest.mark.django_db
def test_filter_indexes_exist_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL-only indexes")
    with connection.cursor() as cursor:
        names = set(connection.introspection.get_constraints(cursor, AuditEvent._meta.db_table))
    assert {"audit_action_seq_idx", "audit_actor_upper_seq_idx"} <= names
