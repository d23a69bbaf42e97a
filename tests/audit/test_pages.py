"""Auditor pages: who may see them, what they show, filters, verification box, checkpoint export."""

import datetime as dt
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.models import AuditCheckpoint, AuditEvent
from apps.audit.services import audit_append, field_diff
from apps.core import clock

from .conftest import raw, triggers_disabled

ALLOWED = {"auditor", "admin"}


def expected_status(persona: str) -> int:
    if persona == "anonymous":
        return 302
    return 200 if persona in ALLOWED else 403


def test_persona_matrix(client, personas):
    audit_append(action="test.event")
    pages = [("get", reverse("audit:list")), ("get", reverse("audit:detail", args=[1])),
             ("post", reverse("audit:checkpoint"))]
    for name, user in personas.items():
        client.logout()
        if user is not None:
            client.force_login(user)
        for method, url in pages:
            response = getattr(client, method)(url)
            assert response.status_code == expected_status(name), (name, url, response.status_code)
            if name == "anonymous":
                assert response["Location"].startswith(reverse("login"))


def test_a_refused_visit_is_itself_audited(client, executive):
    client.force_login(executive)
    response = client.get(reverse("audit:list") + "?action=auth.login", REMOTE_ADDR="192.0.2.50")
    assert response.status_code == 403
    assert "auditor or admin" in response.content.decode()
    event = AuditEvent.objects.get(action="access.denied")  # exactly one
    assert event.actor_username == "executive" and event.ip == "192.0.2.50"
    assert event.data["path"] == "/audit/" and event.data["method"] == "GET"
    assert "auditor or admin" in event.data["reason"]


def test_anonymous_visits_are_sent_to_login_without_an_event(client, db):
    response = client.get(reverse("audit:list"))
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action="access.denied").exists()


def test_list_shows_newest_first_with_times_in_the_readers_zone_and_a_readable_diff(
    client, auditor, requester
):
    auditor.timezone = "Europe/Berlin"
    auditor.save(update_fields=["timezone"])
    before, after = field_diff({"title": "Old title", "risk_class": "normal"},
                               {"title": "New title", "risk_class": "normal"})
    with clock.frozen(dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)):
        audit_append(action="upgrade.update", actor=requester, object_type="upgrades.upgraderequest",
                     object_id="42", object_repr="UPG-2026-0042 Ledger", before=before, after=after,
                     ip="198.51.100.7")
    client.force_login(auditor)  # event #2 (auth.login)
    page = client.get(reverse("audit:list")).content.decode()
    assert page.index("#2</a>") < page.index("#1</a>")
    assert "28 Nov 2026, 10:00:00 CET" in page
    assert "UPG-2026-0042 Ledger" in page and "198.51.100.7" in page
    assert re.search(r"<strong>title</strong>: <span class=\"old\">Old title</span> → "
                     r"<span class=\"new\">New title</span>", page)
    assert "risk_class" not in page  # unchanged fields are not part of the diff


def test_list_paginates_by_fifty(client, auditor):
    for n in range(60):
        audit_append(action="test.event", data={"n": n})
    client.force_login(auditor)
    first = client.get(reverse("audit:list")).content.decode()
    second = client.get(reverse("audit:list") + "?page=2").content.decode()
    assert "#61</a>" in first and "#12</a>" in first and "#11</a>" not in first
    assert "#11</a>" in second and "#1</a>" in second and "Page 2 of 2" in second


def _seqs(response) -> list[int]:
    return [int(s) for s in re.findall(r'aria-label="Event (\d+)"', response.content.decode())]


@pytest.fixture
def varied(db, requester, approver):
    with clock.frozen(dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)):
        a = audit_append(action="upgrade.create", actor=requester, object_type="upgrades.upgraderequest",
                         object_id="7", object_repr="UPG-2026-0007 Portal")
    with clock.frozen(dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)):
        b = audit_append(action="cab.vote", actor=approver, object_type="upgrades.upgraderequest",
                         object_id="8", object_repr="UPG-2026-0008 Ledger")
        c = audit_append(action="inventory.import", actor=requester, object_type="inventory.system",
                         object_id="3", object_repr="Core Ledger")
    return a, b, c


@pytest.mark.parametrize("query,expected", [
    ("action=cab.vote", ["b"]),
    ("actor=REQUESTER", ["c", "a"]),
    ("object_type=upgrades.upgraderequest", ["b", "a"]),
    ("object=8", ["b"]),
    ("object=ledger", ["c", "b"]),
    ("date_from=2026-11-15&date_to=2026-11-20", ["c", "b"]),
    ("date_from=2026-10-01&date_to=2026-11-01", ["a"]),
    ("actor=requester&object_type=inventory.system", ["c"]),
    ("action=nothing.like.this", []),
])
def test_filters(client, auditor, varied, query, expected):
    seqs = {"a": varied[0].seq, "b": varied[1].seq, "c": varied[2].seq}
    client.force_login(auditor)
    response = client.get(reverse("audit:list") + "?" + query)
    assert response.status_code == 200
    assert _seqs(response) == [seqs[k] for k in expected]


def test_date_filters_use_the_readers_time_zone(client, auditor, db):
    auditor.timezone = "Pacific/Auckland"  # UTC+13 in November
    auditor.save(update_fields=["timezone"])
    with clock.frozen(dt.datetime(2026, 11, 28, 20, 0, tzinfo=dt.UTC)):  # 29 Nov 09:00 in Auckland
        event = audit_append(action="test.late")
    client.force_login(auditor)
    assert _seqs(client.get(reverse("audit:list") + "?action=test.late&date_from=2026-11-29")) == [event.seq]
    assert _seqs(client.get(reverse("audit:list") + "?action=test.late&date_to=2026-11-28")) == []


@pytest.mark.parametrize("query,field,message", [
    ("actor=bad%00name", "actor", "Null characters are not allowed."),
    ("action=" + "x" * 81, "action", "at most 80 characters"),
    ("date_from=yesterday", "date_from", "Enter a valid date."),
    ("date_from=2026-11-20&date_to=2026-11-01", "date_to", "must not be before"),
    ("date_to=9999-12-31", "date_to", "Use a date between"),
])
def test_bad_filters_get_a_field_message_and_list_nothing(client, auditor, varied, query, field, message):
    client.force_login(auditor)
    response = client.get(reverse("audit:list") + "?" + query)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert _seqs(response) == []
    assert "Fix the filters above" in response.content.decode()


def test_the_verification_box_says_ok(client, auditor, varied):
    client.force_login(auditor)
    page = client.get(reverse("audit:list")).content.decode()
    assert re.search(r'class="msg success".*<strong class="ok">OK</strong> — 4 events verified, '
                     r'chain head #4', page)
    assert "BROKEN" not in page


def test_the_verification_box_points_to_the_first_broken_link(client, auditor, varied):
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET object_repr = 'nothing to see' WHERE seq = %s", [varied[1].seq])
    client.force_login(auditor)
    page = client.get(reverse("audit:list")).content.decode()
    broken = varied[1].seq
    assert re.search(rf'class="msg error".*<strong class="bad">BROKEN</strong> at event\s*'
                     rf'<a href="{reverse("audit:detail", args=[broken])}">#{broken}</a>', page, re.DOTALL)
    assert "its content does not match its hash" in page


def test_exporting_a_checkpoint_shows_the_signed_json(client, auditor, varied):
    client.force_login(auditor)  # event #4
    response = client.post(reverse("audit:checkpoint"))
    assert response.status_code == 200
    checkpoint = AuditCheckpoint.objects.get()
    assert checkpoint.seq == 4
    page = html.unescape(response.content.decode())
    assert f'"hash": "{checkpoint.hash}"' in page and f'"signature": "{checkpoint.signature}"' in page
    assert AuditEvent.objects.get(seq=5).action == "audit.checkpoint"
    assert AuditEvent.objects.get(seq=5).actor_username == "auditor"
    assert client.get(reverse("audit:checkpoint")).status_code == 405
    assert AuditCheckpoint.objects.count() == 1


def test_detail_shows_the_full_event_with_hashes(client, auditor, varied):
    event = varied[1]
    client.force_login(auditor)
    page = client.get(reverse("audit:detail", args=[event.seq])).content.decode()
    for text in (event.hash, event.prev_hash, "cab.vote", "approver", "UPG-2026-0008 Ledger"):
        assert text in page


@pytest.mark.parametrize("seq", [999, 2**63])
def test_detail_of_an_unknown_event_is_404(client, auditor, varied, seq):
    client.force_login(auditor)
    assert client.get(reverse("audit:detail", args=[seq])).status_code == 404


def _count_list_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_page_queries_do_not_grow_with_events(client, auditor, requester):
    client.force_login(auditor)
    _count_list_queries(client, reverse("audit:list"))  # the first view walks the chain, later ones what is new
    for n in range(10):
        audit_append(action="test.event", actor=requester, before={"n": n}, after={"n": n + 1})
    small = _count_list_queries(client, reverse("audit:list"))
    for n in range(50):
        audit_append(action="test.other", actor=requester, before={"n": n}, after={"n": n + 1})
    large = _count_list_queries(client, reverse("audit:list"))
    assert AuditEvent.objects.count() >= 60
    assert small == large
