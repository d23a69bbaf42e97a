"""The CAB queue and the one review page per request."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.upgrades.models import Comment

from .conftest import audit_actions

QUEUE_STATUS = {"requester": 403, "assessor": 403, "approver": 200, "implementer": 403, "validator": 403,
                "executive": 403, "auditor": 200, "admin": 200, "outsider": 403}
# visibility: the CAB sees requests from cab_review on, duty holders and the owner team see theirs
REVIEW_STATUS = {"requester": 200, "assessor": 200, "approver": 200, "implementer": 200, "validator": 200,
                 "executive": 200, "auditor": 200, "admin": 200, "outsider": 404}


def review_url(upgrade, suffix=""):
    return f"/cab/review/{upgrade.reference}/{suffix}"


@pytest.mark.django_db
def test_persona_matrix_of_the_queue_and_the_review_page(in_review, personas, login):
    for name, user in personas.items():
        for url, expected in (("/cab/queue/", QUEUE_STATUS), (review_url(in_review), REVIEW_STATUS)):
            response = login(user).get(url)
            if user is None:
                assert response.status_code == 302 and "/accounts/login/" in response["Location"], (name, url)
            else:
                assert response.status_code == expected[name], (name, url)
                if response.status_code != 200:
                    assert in_review.title not in response.content.decode(), (name, url)


@pytest.mark.django_db
def test_persona_matrix_of_the_review_page_s_forms(in_review, personas, login):
    # comments: anyone who works on the request or the CAB (not the auditor, not those who cannot see it)
    comment = {"requester": 302, "assessor": 302, "approver": 302, "implementer": 302, "validator": 302,
               "executive": 403, "auditor": 403, "admin": 302, "outsider": 404}
    for name, user in personas.items():
        response = login(user).post(review_url(in_review, "comment/"), {"body": f"Question from {name}"})
        if user is None:
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
            continue
        assert response.status_code == comment[name], name
        if name not in ("approver",):  # only a CAB member returns it
            response = login(user).post(review_url(in_review, "return/"), {"reason": "Back."})
            assert response.status_code == (404 if name == "outsider" else 400), name
    in_review.refresh_from_db()
    assert in_review.state == "cab_review"
    assert Comment.objects.count() == 6


@pytest.mark.django_db
def test_the_review_page_is_404_for_a_cab_member_before_cab_review(upgrade, approver, login, drive):
    drive(upgrade, "planning")
    assert login(approver).get(review_url(upgrade)).status_code == 404
    assert login(approver).get("/cab/review/UPG-1999-0001/").status_code == 404


@pytest.mark.django_db
def test_queue_queries_do_not_grow_with_the_rows(in_review, more_in_review, approver, login, api):
    client = login(approver)
    page = client.get("/cab/queue/").content.decode()
    assessment = in_review.assessment
    for text in (in_review.reference, in_review.title, f"<strong>{assessment.risk_score}</strong>/100",
                 assessment.get_verdict_display(), in_review.plan.get_strategy_display(), "0 approvals",
                 f'href="/cab/review/{in_review.reference}/"', "Backout", "Open conflicts"):
        assert text in page, text

    def measure():
        with CaptureQueriesContext(connection) as page:
            assert client.get("/cab/queue/").status_code == 200
        with CaptureQueriesContext(connection) as endpoint:
            assert api(approver).get("/api/v1/cab/queue/").status_code == 200
        return len(page), len(endpoint)

    small = measure()
    more = more_in_review(2)
    large = measure()
    assert small == large
    assert api(approver).get("/api/v1/cab/queue/").json()["count"] == 3
    # only requests in CAB review: one returned to planning leaves the queue
    from apps.upgrades.services import upgrade_transition

    upgrade_transition(request=more[0], by=approver, transition="return_to_planning", reason="Needs a canary.")
    page = client.get("/cab/queue/").content.decode()
    assert in_review.reference in page and more[1].reference in page and more[0].reference not in page


@pytest.mark.django_db
def test_the_review_page_shows_everything_the_cab_decides_on(in_review, approver, login):
    from apps.rollouts.selectors import current_version, plan_summary

    page = login(approver).get(review_url(in_review)).content.decode()
    assessment = in_review.assessment
    summary = plan_summary(in_review)
    version = current_version(in_review)
    for text in (in_review.title, "Readiness assessment", f"<strong>{assessment.risk_score}</strong> / 100",
                 assessment.get_verdict_display(), "Risk factors", "Rollout plan", summary["strategy"],
                 f"Plan version <strong>{version.number}</strong>", version.sha256, "Backout plan",
                 "Rollback triggers", "Conflicts", "Votes and policy", "Return to planning",
                 "Questions and comments"):
        assert text, text
        assert text in page, text
    for title in summary["backout"]:
        assert title in page, title
    for trigger in summary["triggers"]:
        assert trigger["name"] in page
    assert 'name="password"' in page  # C1's vote panel (the signed vote form) is included


@pytest.mark.django_db
def test_a_cab_member_asks_a_question(in_review, approver, auditor, login):
    client = login(approver)
    response = client.post(review_url(in_review, "comment/"), {"body": "Is the standby patched first?"})
    assert response.status_code == 302
    assert Comment.objects.filter(request=in_review, author=approver, body="Is the standby patched first?").exists()
    assert "Is the standby patched first?" in client.get(review_url(in_review)).content.decode()
    # bad input: refused, nothing written
    for body in ("", "   ", "with a \x00 NUL"):
        response = client.post(review_url(in_review, "comment/"), {"body": body})
        assert response.status_code == 400
    assert Comment.objects.count() == 1
    assert 'name="body"' not in login(auditor).get(review_url(in_review)).content.decode()  # reads only


@pytest.mark.django_db
def test_return_to_planning_with_reasons(in_review, approver, requester, login):
    # only the CAB returns a request: the requester's attempt is refused with the rule, and audited
    response = login(requester).get(review_url(in_review))
    assert response.status_code == 200 and "Return to planning</button>" not in response.content.decode()
    response = login(requester).post(review_url(in_review, "return/"), {"reason": "I want it back."})
    assert response.status_code == 400 and "Only the CAB member may return to planning." in \
        response.content.decode()
    in_review.refresh_from_db()
    assert in_review.state == "cab_review"
    assert audit_actions("upgrade.transition_refused").exists()
    client = login(approver)
    response = client.post(review_url(in_review, "return/"), {"reason": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    in_review.refresh_from_db()
    assert in_review.state == "cab_review"
    response = client.post(review_url(in_review, "return/"), {"reason": "Add a canary wave before production."})
    assert response.status_code == 302
    in_review.refresh_from_db()
    assert in_review.state == "planning" and in_review.state_reason == "Add a canary wave before production."
    event = audit_actions("upgrade.transition").last()
    assert event.data["transition"] == "return_to_planning"


