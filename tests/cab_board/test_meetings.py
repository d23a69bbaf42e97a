"""CAB meetings: schedule, agenda from the queue, attendance with delegates, decisions, minutes as PDF."""

import datetime as dt
import shutil
import subprocess

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.cab import meetings
from apps.cab.models import AgendaItem, Attendance, Meeting
from apps.core import clock

from ..factories import UserFactory
from .conftest import audit_actions, counts

LIST_STATUS = {"requester": 403, "assessor": 403, "approver": 200, "implementer": 403, "validator": 403,
               "executive": 403, "auditor": 200, "admin": 200, "outsider": 403}
WRITE_OK = {"approver", "admin"}
SOON = dt.datetime(2026, 12, 3, 14, 0, tzinfo=dt.UTC)


@pytest.fixture
def meeting(approver, frozen_now):
    return meetings.meeting_create(by=approver, title="Weekly CAB", scheduled_at=SOON, chair=approver,
                                   location="Room 4.12")


@pytest.fixture
def cab2(db):
    return UserFactory(username="cab2", roles=["cab_member"], first_name="Cara", last_name="Second")


def meeting_form(chair_user, **overrides):
    data = {"title": "Weekly CAB", "scheduled_at": "2026-12-03T15:00", "duration_minutes": "60",
            "location": "Room 4.12", "chair": str(chair_user.pk)}
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_persona_matrix_of_the_meeting_pages(meeting, personas, login):
    for name, user in personas.items():
        for url in ("/cab/meetings/", f"/cab/meetings/{meeting.pk}/", "/cab/meetings/new/",
                    f"/cab/meetings/{meeting.pk}/minutes.pdf"):
            if url.endswith(".pdf") and name in ("approver", "admin"):
                continue  # rendering is slow; the auditor's download below and the PDF test cover it
            response = login(user).get(url)
            if user is None:
                assert response.status_code == 302 and "/accounts/login/" in response["Location"], (name, url)
                continue
            expected = LIST_STATUS[name]
            if url.endswith("/new/") and name == "auditor":
                expected = 403  # reads only
            assert response.status_code == expected, (name, url)
    # writes: only CAB members and admins (the others never reach the form's validation)
    writes = ["/cab/meetings/new/", f"/cab/meetings/{meeting.pk}/agenda/",
              f"/cab/meetings/{meeting.pk}/agenda/from-queue/", f"/cab/meetings/{meeting.pk}/attendance/"]
    before = counts()
    for name, user in personas.items():
        for path in writes:
            response = login(user).post(path, {})
            if user is None:
                assert response.status_code == 302 and "/accounts/login/" in response["Location"], (name, path)
            elif name in WRITE_OK:
                assert response.status_code in (302, 400), (name, path)  # empty forms: refused with errors
            else:
                assert response.status_code == 403, (name, path)
        if user is None:
            continue
        response = login(user).post(f"/cab/meetings/{meeting.pk}/minutes/", {"notes": f"by {name}",
                                                                              "status": "planned"})
        assert response.status_code == (302 if name in WRITE_OK else 403), name
    assert counts()["meetings"] == before["meetings"] and counts()["items"] == before["items"]


@pytest.mark.django_db
def test_schedule_a_meeting_from_the_page(approver, login, frozen_now):
    client = login(approver)
    page = client.get("/cab/meetings/new/").content.decode()
    assert "Schedule a CAB meeting" in page and 'name="chair"' in page
    response = client.post("/cab/meetings/new/", meeting_form(approver))
    meeting = Meeting.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/cab/meetings/{meeting.pk}/"
    assert meeting.scheduled_at == dt.datetime(2026, 12, 3, 15, 0, tzinfo=dt.UTC)  # the user's zone is UTC
    assert meeting.chair == approver and meeting.created_by == approver
    assert audit_actions("meeting.create").count() == 1


@pytest.mark.django_db
def test_bad_meeting_input_is_refused_and_nothing_is_written(approver, requester, login, frozen_now):
    client = login(approver)
    before = counts()
    cases = [
        ({"title": ""}, "This field is required."),
        ({"title": "CAB \x00 night"}, "Null characters are not allowed."),
        ({"scheduled_at": "2026-11-27T15:00"}, "The meeting cannot be scheduled in the past."),
        ({"scheduled_at": "yesterday"}, "Enter a valid date/time."),
        ({"duration_minutes": "0"}, "Ensure this value is greater than or equal to 5."),
        ({"chair": str(requester.pk)}, "Select a valid choice."),
    ]
    for overrides, message in cases:
        response = client.post("/cab/meetings/new/", meeting_form(approver, **overrides))
        assert response.status_code == 400, overrides
        assert message in response.content.decode(), (overrides, message)
    assert counts() == before
    # the service refuses the same things itself (the API and tasks call it directly)
    for kwargs, field in (({"title": "  "}, "title"), ({"title": "A\x00"}, "title"),
                          ({"scheduled_at": clock.now() - dt.timedelta(hours=1)}, "scheduled_at"),
                          ({"chair": requester}, "chair")):
        args = {"title": "Weekly CAB", "scheduled_at": SOON, "chair": approver, **kwargs}
        with pytest.raises(Exception) as err:
            meetings.meeting_create(by=approver, **args)
        assert field in err.value.message_dict
    assert counts() == before


@pytest.mark.django_db
def test_agenda_from_the_queue_and_by_reference(meeting, in_review, more_in_review, approver, login, drive,
                                                upgrade):
    client = login(approver)
    page = client.get(f"/cab/meetings/{meeting.pk}/").content.decode()
    assert "Add the CAB queue (1 request not on the agenda yet)" in page
    response = client.post(f"/cab/meetings/{meeting.pk}/agenda/from-queue/")
    assert response.status_code == 302
    assert list(meeting.items.values_list("request__reference", flat=True)) == [in_review.reference]
    client.post(f"/cab/meetings/{meeting.pk}/agenda/from-queue/")  # again: nothing twice
    assert meeting.items.count() == 1
    later = more_in_review(1)[0]
    response = client.post(f"/cab/meetings/{meeting.pk}/agenda/", {"request": later.reference})
    assert response.status_code == 302
    assert list(meeting.items.values_list("request__reference", "position")) == [
        (in_review.reference, 1), (later.reference, 2)]
    page = client.get(f"/cab/meetings/{meeting.pk}/").content.decode()
    assert later.reference in page and "it is not a vote" in page
    assert "Every request in the CAB queue is on the agenda." in page


@pytest.mark.django_db
def test_bad_agenda_input_is_refused_and_nothing_is_written(meeting, in_review, approver, requester, login,
                                                           component_a):
    from tests.conftest import make_request

    draft = make_request(requester, component_a, title="Still a draft")
    client = login(approver)
    AgendaItem.objects.create(meeting=meeting, request=in_review, position=1)
    before = counts()
    for reference, message in (("UPG-2099-9999", "No request UPG-2099-9999 that you can see."),
                               (draft.reference, f"No request {draft.reference} that you can see."),
                               ("UPG-\x00", "Null characters are not allowed."),
                               ("", "This field is required."),
                               (in_review.reference, "is already on the agenda")):
        response = client.post(f"/cab/meetings/{meeting.pk}/agenda/", {"request": reference})
        assert response.status_code == 400, reference
        assert message in response.content.decode(), reference
    assert counts() == before


@pytest.mark.django_db
def test_a_request_not_in_cab_review_is_refused_even_when_visible(meeting, upgrade, admin_user, drive):
    drive(upgrade, "planning")
    with pytest.raises(Exception) as err:
        meetings.agenda_add(meeting=meeting, by=admin_user, reference=upgrade.reference)
    assert "only requests in CAB review go on the agenda" in err.value.message_dict["request"][0]
    assert AgendaItem.objects.count() == 0


@pytest.mark.django_db
def test_attendance_with_a_delegate(meeting, approver, cab2, requester, login):
    client = login(approver)
    assert client.post(f"/cab/meetings/{meeting.pk}/attendance/",
                       {"user": approver.pk, "present": "on"}).status_code == 302
    assert client.post(f"/cab/meetings/{meeting.pk}/attendance/",
                       {"user": cab2.pk, "delegate_for": approver.pk, "present": "on"}).status_code == 302
    row = Attendance.objects.get(user=cab2)
    assert row.delegate_for == approver and row.present
    before = counts()
    response = client.post(f"/cab/meetings/{meeting.pk}/attendance/",
                           {"user": cab2.pk, "delegate_for": cab2.pk, "present": "on"})
    assert response.status_code == 400 and "Someone cannot be their own delegate." in response.content.decode()
    response = client.post(f"/cab/meetings/{meeting.pk}/attendance/", {"user": requester.pk})
    assert response.status_code == 400
    assert counts() == before
    page = client.get(f"/cab/meetings/{meeting.pk}/").content.decode()
    assert "Cara Second" in page and "(delegate)" in page


@pytest.mark.django_db
def test_decisions_are_minutes_and_returned_takes_the_transition(meeting, in_review, more_in_review, approver,
                                                                 login):
    other = more_in_review(1)[0]
    meetings.agenda_from_queue(meeting=meeting, by=approver)
    first, second = meeting.items.order_by("position")
    client = login(approver)
    # "approved" is minuted, but the request is not approved by it: approval needs signed votes
    response = client.post(f"/cab/meetings/{meeting.pk}/items/{first.pk}/decide/",
                           {f"item{first.pk}-decision": "approved", f"item{first.pk}-notes": "Fine by all."})
    assert response.status_code == 302
    first.refresh_from_db()
    in_review.refresh_from_db()
    assert first.decision == "approved" and first.decided_at is not None
    assert in_review.state == "cab_review"
    # "returned" without notes is refused, with them it returns the request
    before = counts()
    response = client.post(f"/cab/meetings/{meeting.pk}/items/{second.pk}/decide/",
                           {f"item{second.pk}-decision": "returned", f"item{second.pk}-notes": ""})
    assert response.status_code == 400 and "Say why the request goes back to planning" in response.content.decode()
    assert counts() == before
    response = client.post(f"/cab/meetings/{meeting.pk}/items/{second.pk}/decide/",
                           {f"item{second.pk}-decision": "returned",
                            f"item{second.pk}-notes": "Split the data migration into its own change."})
    assert response.status_code == 302
    other.refresh_from_db()
    second.refresh_from_db()
    assert other.state == "planning" and other.state_reason == "Split the data migration into its own change."
    assert second.decision == "returned"
    assert audit_actions("meeting.agenda_decide").count() == 2


@pytest.mark.django_db
def test_returned_by_someone_the_transition_refuses_leaves_the_minute_unwritten(meeting, in_review, approver,
                                                                                 admin_user):
    item = meetings.agenda_add(meeting=meeting, by=approver, reference=in_review.reference)
    from apps.upgrades.services import TransitionRefused

    with pytest.raises(TransitionRefused):
        meetings.agenda_decide(item=item, by=admin_user, decision="returned", notes="Back you go.")
    item.refresh_from_db()
    in_review.refresh_from_db()
    assert item.decision == "pending" and in_review.state == "cab_review"
    assert audit_actions("upgrade.transition_refused").last().data["via"] == "cab meeting"


@pytest.mark.django_db
def test_minutes_pdf_names_title_attendees_and_decisions(meeting, in_review, approver, cab2, auditor, login,
                                                         tmp_path):
    item = meetings.agenda_add(meeting=meeting, by=approver, reference=in_review.reference)
    meetings.attendance_record(meeting=meeting, by=approver, user=approver)
    meetings.attendance_record(meeting=meeting, by=approver, user=cab2, delegate_for=approver)
    meetings.agenda_decide(item=item, by=approver, decision="deferred", notes="Await patch.")
    meetings.meeting_minutes_save(meeting=meeting, by=approver, notes="Quorum present.", status="held")
    response = login(auditor).get(f"/cab/meetings/{meeting.pk}/minutes.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    path = tmp_path / "minutes.pdf"
    path.write_bytes(response.content)
    text = subprocess.run([shutil.which("pdftotext"), str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    for expected in ("CAB minutes: Weekly CAB", approver.display_name, "Cara Second", "(delegate)",
                     in_review.reference, "Deferred", "Await patch.", "Quorum present.",
                     "not votes"):
        assert expected in text, expected
    event = audit_actions("meeting.minutes_downloaded").get()
    assert event.actor == auditor


@pytest.mark.django_db
def test_meeting_list_queries_do_not_grow(approver, login, api, frozen_now, cab2):
    client = login(approver)

    def make(n):
        for i in range(n):
            m = meetings.meeting_create(by=approver, title=f"CAB {i}", scheduled_at=SOON + dt.timedelta(days=i),
                                        chair=approver)
            meetings.attendance_record(meeting=m, by=approver, user=cab2)

    def measure():
        with CaptureQueriesContext(connection) as page:
            assert client.get("/cab/meetings/?when=all").status_code == 200
        with CaptureQueriesContext(connection) as endpoint:
            assert api(approver).get("/api/v1/cab/meetings/").status_code == 200
        return len(page), len(endpoint)

    make(2)
    small = measure()
    make(20)
    assert measure() == small
    assert api(approver).get("/api/v1/cab/meetings/").json()["count"] == 22


@pytest.mark.django_db
def test_the_chair_sees_upcoming_meetings_in_my_work(meeting, approver, cab2):
    from apps.core.inbox import items_for

    with clock.frozen(dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)):
        mine = [i for i in items_for(approver) if i.kind == "CAB meeting to chair"]
        assert [i.title for i in mine] == ["Weekly CAB"]
        assert not [i for i in items_for(cab2) if i.kind == "CAB meeting to chair"]
    with clock.frozen(SOON + dt.timedelta(hours=2)):  # once it is over, it leaves the inbox
        assert not [i for i in items_for(approver) if i.kind == "CAB meeting to chair"]


@pytest.mark.django_db
def test_the_demo_seed_minutes_a_meeting_before_the_cab_approves(in_review, approver, cab2, personas):
    from apps.core.seed.build import _before

    assert meetings.seed_meeting_before_approve in _before["approve"]
    meetings.seed_meeting_before_approve(request=in_review, by=approver, users=personas)
    assert Meeting.objects.count() == 0  # one CAB member (the tests' personas): no meeting
    users = {**personas, "cab2": cab2}
    meetings.seed_meeting_before_approve(request=in_review, by=approver, users=users)
    meeting = Meeting.objects.get()
    assert meeting.status == "held" and meeting.chair == approver
    assert list(meeting.items.values_list("request__reference", "decision")) == [(in_review.reference, "approved")]
    assert set(meeting.attendance.values_list("user__username", flat=True)) == {"approver", "cab2"}
    in_review.refresh_from_db()
    assert in_review.state == "cab_review"  # minutes never approve: the votes do


@pytest.mark.django_db
def test_meeting_times_are_shown_and_entered_in_the_user_s_time_zone(meeting, approver, login, frozen_now):
    approver.timezone = "Europe/Zurich"
    approver.save(update_fields=["timezone"])
    client = login(approver)
    page = client.get(f"/cab/meetings/{meeting.pk}/").content.decode()
    assert "Thursday 3 December 2026, 15:00 CET" in page  # 14:00 UTC
    client.post("/cab/meetings/new/", meeting_form(approver, title="Zurich CAB", scheduled_at="2026-12-10T09:30"))
    assert Meeting.objects.get(title="Zurich CAB").scheduled_at == dt.datetime(2026, 12, 10, 8, 30, tzinfo=dt.UTC)
