"""The CAB board API: persona matrix, bad input with nothing written, query counts."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.cab import meetings
from apps.cab.models import AgendaItem
from apps.rollouts.calendar.services import freeze_create, freeze_exception_request

from .conftest import counts

SOON = dt.datetime(2026, 12, 3, 14, 0, tzinfo=dt.UTC)
BOARD = {"approver": 200, "auditor": 200, "admin": 200}


@pytest.fixture
def meeting(approver, in_review, frozen_now):
    m = meetings.meeting_create(by=approver, title="Weekly CAB", scheduled_at=SOON, chair=approver)
    meetings.agenda_add(meeting=m, by=approver, reference=in_review.reference)
    meetings.attendance_record(meeting=m, by=approver, user=approver)
    return m


@pytest.mark.django_db
def test_persona_matrix_of_the_read_endpoints(meeting, personas, api):
    paths = ["/api/v1/cab/queue/", "/api/v1/cab/meetings/", f"/api/v1/cab/meetings/{meeting.pk}/",
             f"/api/v1/cab/meetings/{meeting.pk}/agenda/", f"/api/v1/cab/meetings/{meeting.pk}/attendance/",
             f"/api/v1/cab/meetings/{meeting.pk}/minutes.pdf", "/api/v1/cab/freeze-exceptions/"]
    for name, user in personas.items():
        for path in paths:
            if path.endswith(".pdf") and name in ("approver", "admin"):
                continue  # rendering is slow: the auditor's download shows the board may read it
            response = api(user).get(path)
            expected = BOARD.get(name, 401 if user is None else 403)
            assert response.status_code in ((expected,) if expected != 401 else (401, 403)), (name, path)
    # what the board reads
    approver, in_review = personas["approver"], meeting.items.get().request
    body = api(approver).get(f"/api/v1/cab/meetings/{meeting.pk}/").json()
    assert body["title"] == "Weekly CAB" and body["chair"] == "approver"
    assert body["items"][0]["request"] == in_review.reference and body["items"][0]["decision"] == "pending"
    assert body["attendance"] == [{"id": body["attendance"][0]["id"], "user": "approver", "delegate_for": None,
                                   "present": True}]
    queue = api(approver).get("/api/v1/cab/queue/").json()["results"]
    assert queue[0]["reference"] == in_review.reference
    assert queue[0]["risk_score"] == in_review.assessment.risk_score
    assert queue[0]["review_url"] == f"/cab/review/{in_review.reference}/"


@pytest.mark.django_db
def test_persona_matrix_of_the_write_endpoints(meeting, personas, api, in_review):
    item = meeting.items.get()
    writes = [
        ("/api/v1/cab/meetings/", {"title": "Extra CAB", "scheduled_at": "2026-12-04T10:00:00Z",
                                   "chair": "approver"}, 201),
        (f"/api/v1/cab/meetings/{meeting.pk}/minutes/", {"notes": "Quorum present."}, 200),
        (f"/api/v1/cab/meetings/{meeting.pk}/attendance/", {"user": "approver", "present": False}, 200),
        (f"/api/v1/cab/meetings/{meeting.pk}/agenda/{item.pk}/decision/", {"decision": "deferred"}, 200),
        (f"/api/v1/cab/meetings/{meeting.pk}/agenda/from-queue/", {}, 201),
    ]
    for name, user in personas.items():
        for path, body, ok in writes:
            response = api(user).post(path, body, format="json")
            if name in ("approver", "admin"):
                assert response.status_code == ok, (name, path, response.content)
            elif user is None:
                assert response.status_code in (401, 403), (name, path)
            else:
                assert response.status_code == 403, (name, path)


@pytest.mark.django_db
def test_bad_api_input_is_400_with_the_field_and_nothing_is_written(meeting, approver, requester, api, upgrade):
    client = api(approver)
    item = meeting.items.get()
    before = counts()
    cases = [
        ("/api/v1/cab/meetings/", {"title": "", "scheduled_at": "2026-12-04T10:00:00Z", "chair": "approver"},
         "title"),
        ("/api/v1/cab/meetings/", {"title": "A\x00B", "scheduled_at": "2026-12-04T10:00:00Z", "chair": "approver"},
         "title"),
        ("/api/v1/cab/meetings/", {"title": "Past", "scheduled_at": "2026-01-04T10:00:00Z", "chair": "approver"},
         "scheduled_at"),
        ("/api/v1/cab/meetings/", {"title": "No chair", "scheduled_at": "2026-12-04T10:00:00Z",
                                   "chair": "requester"}, "chair"),
        ("/api/v1/cab/meetings/", {"title": "Long", "scheduled_at": "2026-12-04T10:00:00Z", "chair": "approver",
                                   "duration_minutes": 100000}, "duration_minutes"),
        (f"/api/v1/cab/meetings/{meeting.pk}/agenda/", {"request": "UPG-2031-0001"}, "request"),
        (f"/api/v1/cab/meetings/{meeting.pk}/agenda/", {"request": "UPG\x00"}, "request"),
        (f"/api/v1/cab/meetings/{meeting.pk}/agenda/", {"request": upgrade.reference}, "request"),  # already on it
        (f"/api/v1/cab/meetings/{meeting.pk}/agenda/{item.pk}/decision/", {"decision": "returned"}, "notes"),
        (f"/api/v1/cab/meetings/{meeting.pk}/agenda/{item.pk}/decision/", {"decision": "pending"}, "decision"),
        (f"/api/v1/cab/meetings/{meeting.pk}/attendance/", {"user": "requester"}, "user"),
        (f"/api/v1/cab/meetings/{meeting.pk}/attendance/", {"user": "nobody"}, "user"),
        (f"/api/v1/cab/meetings/{meeting.pk}/minutes/", {"notes": "x", "status": "exploded"}, "status"),
    ]
    for path, body, field in cases:
        response = client.post(path, body, format="json")
        assert response.status_code == 400, (path, body, response.content)
        assert field in response.json(), (path, body, response.json())
    assert counts() == before
    assert api(approver).get("/api/v1/cab/meetings/999999/").status_code == 404
    assert api(approver).post(f"/api/v1/cab/meetings/{meeting.pk}/agenda/999999/decision/",
                              {"decision": "noted"}, format="json").status_code == 404
    assert AgendaItem.objects.count() == 1


@pytest.mark.django_db
def test_freeze_exception_list_queries_do_not_grow(in_review, requester, admin_user, approver, api, frozen_now,
                                                  login):
    def make(n, offset):
        for i in range(n):
            start = dt.datetime(2027, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=10 * (i + offset))
            freeze = freeze_create(by=admin_user, name=f"Freeze {i + offset}", reason="Close.", starts_at=start,
                                   ends_at=start + dt.timedelta(days=2))
            freeze_exception_request(request=in_review, freeze=freeze, by=requester, reason="Needed.")

    client = login(approver)

    def measure():
        with CaptureQueriesContext(connection) as ctx:
            response = api(approver).get("/api/v1/cab/freeze-exceptions/")
        with CaptureQueriesContext(connection) as page:
            assert client.get("/cab/freeze-exceptions/").status_code == 200
        assert response.status_code == 200
        return (len(ctx), len(page)), response.json()["count"]

    make(2, 0)
    small, n = measure()
    assert n == 2
    make(10, 2)
    large, n = measure()
    assert n == 12 and large == small
