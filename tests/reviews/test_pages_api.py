"""Who sees and writes what (pages and API), bad input, and query counts that do not grow with rows."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.reviews import pir, readiness
from apps.reviews.models import BacklogItem, PostImplementationReview, ReadinessItem, TrainingRecord

from ..conftest import make_request
from .conftest import REVIEW

pytestmark = pytest.mark.django_db

SEES = {"requester": 200, "assessor": 200, "approver": 200, "implementer": 200, "validator": 200,
        "executive": 200, "auditor": 200, "admin": 200, "outsider": 404}
# the review: the requester (or an admin) writes it; people who cannot see the request get 404
WRITES_REVIEW = {"requester": 302, "admin": 302, "assessor": 403, "approver": 403, "implementer": 403,
                 "validator": 403, "executive": 403, "auditor": 403, "outsider": 404}
# the readiness list: requester, implementer or admin
WRITES_READINESS = {**WRITES_REVIEW, "implementer": 302}


def counts() -> dict:
    return {"reviews": PostImplementationReview.objects.count(), "backlog": BacklogItem.objects.count(),
            "readiness": ReadinessItem.objects.count(), "training": TrainingRecord.objects.count(),
            "audit": AuditEvent.objects.count()}


def test_page_matrix(completed, personas, login):
    for path in (reverse("reviews:request", args=[completed.reference]), reverse("reviews:backlog"),
                 reverse("reviews:lessons")):
        for name, user in personas.items():
            response = login(user).get(path)
            if user is None:
                assert response.status_code == 302 and "/accounts/login/" in response["Location"], (path, name)
            elif "requests/" in path:
                assert response.status_code == SEES[name], (path, name)
            else:
                assert response.status_code == 200, (path, name)


def test_write_matrix_of_the_pages(completed, personas, login):
    for name, user in personas.items():
        if user is None:
            continue
        response = login(user).post(reverse("reviews:save", args=[completed.reference]),
                                    {**REVIEW, "save": "1"})
        assert response.status_code == WRITES_REVIEW[name], name
        response = login(user).post(reverse("reviews:readiness_add", args=[completed.reference]),
                                    {"kind": "service_doc", "title": f"Operator guide ({name})"})
        assert response.status_code == WRITES_READINESS[name], name
    assert PostImplementationReview.objects.count() == 1
    assert set(ReadinessItem.objects.values_list("title", flat=True)) == {
        "Operator guide (requester)", "Operator guide (admin)", "Operator guide (implementer)"}


def test_the_page_says_what_is_missing_and_offers_the_forms(completed, requester, executive, login):
    page = login(requester).get(reverse("reviews:request", args=[completed.reference])).content.decode()
    for text in ("Before this request can be closed", "Write the post-implementation review", "Complete review",
                 "Add a follow-up action", "Add a readiness item", "Record training", "Downtime (minutes)"):
        assert text in page, text
    page = login(executive).get(reverse("reviews:request", args=[completed.reference])).content.decode()
    assert "Complete review" not in page and "The requester of the request writes the review." in page


def test_bad_input_on_the_pages_writes_nothing(completed, requester, implementer, login):
    item = readiness.readiness_add(request=completed, by=requester, kind="dr_runbook", title="DR runbook")
    client = login(requester)
    before = counts()
    base = reverse("reviews:request", args=[completed.reference])
    cases = [
        (base + "review/", {**REVIEW, "lessons": "", "complete": "1"}, "This field is required to complete"),
        (base + "review/", {**REVIEW, "downtime_minutes": "-5", "save": "1"}, "greater than or equal to 0"),
        (base + "review/", {**REVIEW, "went_well": "nul\x00byte", "save": "1"}, "Null characters"),
        (base + "follow-ups/", {"title": "x", "owner": implementer.pk, "due_date": "31/31/2026",
                                "priority": "high"}, "Enter a valid date"),
        (base + "follow-ups/", {"title": "", "owner": implementer.pk, "due_date": "2026-12-20",
                                "priority": "urgent"}, "This field is required"),
        (base + "readiness/", {"kind": "poster", "title": "x"}, "Select a valid choice"),
        (base + f"readiness/{item.pk}/confirm/", {"link": "javascript:alert(1)"}, "full web address"),
        (base + f"readiness/{item.pk}/confirm/", {"link": ""}, "Give the link"),
        (base + "training/", {"trainee": implementer.pk, "trained_on": "2999-01-01", "topic": "PG 16"},
         "cannot be in the future"),
    ]
    for path, data, message in cases:
        response = client.post(path, data)
        assert response.status_code == 400, (path, data)
        assert message in response.content.decode(), (path, message)
    assert counts() == before, list(AuditEvent.objects.order_by("-seq").values_list("action", flat=True)[:3])


def test_api_matrix(completed, personas, api):
    readiness.readiness_add(request=completed, by=personas["requester"], kind="training", title="On-call training")
    pir.pir_save(request=completed, by=personas["requester"], **REVIEW)
    ref = completed.reference
    for name, user in personas.items():
        client = api(user)
        for path in (f"/api/v1/reviews/{ref}/", f"/api/v1/reviews/{ref}/follow-ups/",
                     f"/api/v1/reviews/{ref}/readiness/", f"/api/v1/reviews/{ref}/training/"):
            expected = 401 if user is None else SEES[name]
            assert client.get(path).status_code == expected, (path, name)
        for path in ("/api/v1/backlog/", "/api/v1/lessons/"):
            assert client.get(path).status_code == (401 if user is None else 200), (path, name)
        if user is None:
            continue
        response = client.put(f"/api/v1/reviews/{ref}/", {"went_well": f"said by {name}"}, format="json")
        assert response.status_code == {302: 200}.get(WRITES_REVIEW[name], WRITES_REVIEW[name]), name
        response = client.post(f"/api/v1/reviews/{ref}/training/",
                               {"trainee": "validator", "trained_on": "2026-11-01", "topic": f"PG16 by {name}"},
                               format="json")
        assert response.status_code == {302: 201}.get(WRITES_READINESS[name], WRITES_READINESS[name]), name
    assert PostImplementationReview.objects.get().went_well == "said by admin"
    assert TrainingRecord.objects.count() == 3


def test_api_completes_the_review_and_refuses_bad_input(completed, requester, implementer, api):
    client = api(requester)
    ref = completed.reference
    before = counts()
    for body, field in [({"downtime_minutes": "many"}, "downtime_minutes"), ({"lessons": 5}, "lessons"),
                        ({"success_criteria": "great"}, "success_criteria"),
                        ({**REVIEW, "lessons": "", "complete": True}, "lessons")]:
        response = client.put(f"/api/v1/reviews/{ref}/", body, format="json")
        assert response.status_code == 400 and field in response.json(), body
    response = client.post(f"/api/v1/reviews/{ref}/follow-ups/",
                           {"title": "x", "owner": "nobody", "due_date": "2026-12-01"}, format="json")
    assert response.status_code == 400 and "owner" in response.json()
    assert counts() == before

    response = client.put(f"/api/v1/reviews/{ref}/", {**REVIEW, "complete": True}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "completed"
    response = client.post(f"/api/v1/reviews/{ref}/follow-ups/", {"title": "Check replica lag alerts",
                           "owner": implementer.username, "due_date": "2026-12-01"}, format="json")
    assert response.status_code == 201 and response.json()["overdue"] is False
    item = response.json()["id"]
    assert api(implementer).post(f"/api/v1/backlog/{item}/done/").json()["status"] == "done"

    response = client.post(f"/api/v1/reviews/{ref}/readiness/", {"kind": "dr_runbook", "title": "DR runbook"},
                           format="json")
    pk = response.json()["id"]
    response = client.post(f"/api/v1/reviews/{ref}/readiness/{pk}/confirm/", {"link": "ftp://x"}, format="json")
    assert response.status_code == 400 and "link" in response.json()
    response = client.post(f"/api/v1/reviews/{ref}/readiness/{pk}/confirm/",
                           {"link": "https://wiki.example.com/dr"}, format="json")
    assert response.status_code == 200 and response.json()["confirmed_by"] == requester.username


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_query_counts_do_not_grow(completed, requester, implementer, component_a, login, api):
    def add(n):
        today = clock.now().date()
        for i in range(n):
            BacklogItem.objects.create(request=completed, kind="follow_up", title=f"item {i}", owner=implementer,
                                       due_date=today - dt.timedelta(days=i % 3), created_by=requester,
                                       created_at=clock.now())
            ReadinessItem.objects.create(request=completed, kind="service_doc", title=f"doc {i}", done=bool(i % 2),
                                         confirmed_by=implementer if i % 2 else None, created_by=requester,
                                         created_at=clock.now(), link="https://wiki.example.com/x")
            TrainingRecord.objects.create(request=completed, trainee=implementer, trained_on=today,
                                          topic=f"topic {BacklogItem.objects.count()}", recorded_by=requester,
                                          recorded_at=clock.now())
            other = make_request(requester, component_a, title=f"Earlier upgrade {i}")
            PostImplementationReview.objects.create(
                request=other, status="completed", due_at=clock.now(), lessons=f"lesson {i}", success_criteria="met",
                downtime_minutes=i, created_by=requester, created_at=clock.now(), updated_at=clock.now(),
                completed_by=requester, completed_at=clock.now())

    ref = completed.reference
    paths = [reverse("reviews:backlog"), reverse("reviews:backlog") + "?overdue=on", reverse("reviews:lessons"),
             reverse("reviews:lessons") + "?q=lesson", reverse("reviews:request", args=[ref])]
    api_paths = ["/api/v1/backlog/", "/api/v1/lessons/", f"/api/v1/reviews/{ref}/follow-ups/",
                 f"/api/v1/reviews/{ref}/readiness/", f"/api/v1/reviews/{ref}/training/"]
    add(3)
    small = [_queries(login(requester), p) for p in paths] + [_queries(api(requester), p) for p in api_paths]
    add(30)
    large = [_queries(login(requester), p) for p in paths] + [_queries(api(requester), p) for p in api_paths]
    assert small == large
