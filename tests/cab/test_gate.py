"""The deployment gate for pipelines: 200 allowed, 423 pending or prevented, always with the reasons."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from apps.accounts.services import service_account_create, token_create
from apps.cab.selectors import conditions_unacknowledged
from apps.cab.services import condition_acknowledge
from apps.core import clock

from .conftest import review_of, vote

pytestmark = pytest.mark.django_db

INSIDE = dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.UTC)  # the plain request's window is 01:00–05:00 UTC
BEFORE = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
AFTER = dt.datetime(2026, 12, 6, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def pipeline(admin_user, team_a):
    """A service account of the owner team with an API token, as a CI pipeline uses it."""
    account = service_account_create(username="ci-ledger", team=team_a, roles=[], by=admin_user)
    _, secret = token_create(user=account, by=admin_user, name="gitlab", expires_in_days=30)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def _ask(client, upgrade, when, **params):
    with clock.frozen(when):
        return client.get("/api/v1/gate/", {"request": upgrade.reference, **params})


def test_gate_answers_through_the_life_of_a_request(upgrade, drive, pipeline, approver, implementer, admin_user,
                                                    requester, cab2):
    """One request walked through every answer: pending (no approval, a condition, the window not open),
    allowed, prevented (window over, inside a freeze)."""
    from apps.rollouts.calendar.services import freeze_exception_record_decision, freeze_exception_request
    from apps.rollouts.models import Freeze

    req = drive(upgrade, "cab_review")
    response = _ask(pipeline, req, INSIDE)
    assert response.status_code == 423 and response.json()["decision"] == "pending"
    assert "Not approved by the CAB yet: the request is cab review." in response.json()["reasons"]

    vote(review_of(req), approver, conditions=["DBA on call during the window"])
    response = _ask(pipeline, req, INSIDE)
    assert response.status_code == 423 and response.json()["decision"] == "pending"
    assert ("1 approval condition not acknowledged by the implementer: DBA on call during the window"
            in response.json()["reasons"])
    condition_acknowledge(condition=conditions_unacknowledged(req)[0], by=implementer)

    response = _ask(pipeline, req, INSIDE, environment="production")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["decision"] == "allowed" and body["allowed"] is True
    assert any(r.startswith("Approved by the CAB") for r in body["reasons"])
    assert any(r.startswith("Inside the approved window for Production") for r in body["reasons"])
    assert {c["name"] for c in body["checks"]} == {"approved", "conditions", "window", "freeze", "prechecks"}

    early = _ask(pipeline, req, BEFORE)
    assert early.status_code == 423 and early.json()["decision"] == "pending"
    assert any(r.startswith("Outside the approved window: it opens 2026-12-06 01:00 UTC")
               for r in early.json()["reasons"])
    late = _ask(pipeline, req, AFTER)
    assert late.status_code == 423 and late.json()["decision"] == "prevented"
    assert any(r.startswith("The approved window ended 2026-12-06 05:00 UTC") for r in late.json()["reasons"])

    freeze = Freeze.objects.create(name="Year-end freeze", reason="Closing the books.", scope="organisation",
                                   starts_at=INSIDE - dt.timedelta(minutes=30),
                                   ends_at=INSIDE + dt.timedelta(days=3), created_by=admin_user,
                                   created_at=clock.now())
    response = _ask(pipeline, req, INSIDE)
    assert response.status_code == 423 and response.json()["decision"] == "prevented"
    assert any(r.startswith("Inside a change freeze without an approved exception: Year-end freeze")
               for r in response.json()["reasons"])
    # an approved freeze exception of this request lets it through
    exception = freeze_exception_request(request=req, freeze=freeze, reason="Security fix.", by=requester)
    freeze_exception_record_decision(exception=exception, by=cab2, approve=True, reason="", emergency=False,
                                     signature={"who": "cab2", "how": "password"})
    response = _ask(pipeline, req, INSIDE)
    assert response.status_code == 200, response.json()
    assert "Outside every change freeze (or covered by an approved freeze exception)." in response.json()["reasons"]


def test_prevented_when_rejected(upgrade, drive, pipeline, approver):
    req = drive(upgrade, "cab_review")
    vote(review_of(req), approver, decision="reject", reason="No backout tested.")
    response = _ask(pipeline, req, INSIDE)
    assert response.status_code == 423
    assert response.json()["decision"] == "prevented"
    assert "The request is rejected; nothing may be deployed under it." in response.json()["reasons"]


def test_environment_prechecks_bad_input_and_visibility(upgrade, drive, pipeline, api, outsider, system_a,
                                                       production):
    from apps.execution.models import HealthCheck
    from apps.rollouts.models import Wave
    from tests.factories import EndpointFactory, EnvironmentFactory

    staging = EnvironmentFactory(slug="staging", name="Staging", kind="staging", order=1)
    req = drive(upgrade, "approved")
    assert _ask(pipeline, req, INSIDE).status_code == 200
    # bad input: 400 naming the parameter; unknown or invisible requests: 404
    missing = pipeline.get("/api/v1/gate/")
    assert missing.status_code == 400 and "request" in missing.json()
    unknown_env = pipeline.get("/api/v1/gate/", {"request": req.reference, "environment": "mars"})
    assert unknown_env.status_code == 400 and "environment" in unknown_env.json()
    assert pipeline.get("/api/v1/gate/", {"request": "UPG-1999-0001"}).status_code == 404
    assert api(outsider).get("/api/v1/gate/", {"request": req.reference}).status_code == 404
    assert APIClient().get("/api/v1/gate/", {"request": req.reference}).status_code in (401, 403)
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token tg_not-a-token")
    assert bad.get("/api/v1/gate/", {"request": req.reference}).status_code == 401
    # a wave window for production does not open staging
    assert Wave.objects.filter(plan__request=req, environment=production).exists()
    response = _ask(pipeline, req, INSIDE, environment=staging.slug)
    assert response.status_code == 423
    assert "No approved window for Staging in the plan." in response.json()["reasons"]
    # once the system has a health check, the pre-checks must be green
    endpoint = EndpointFactory(system=system_a, environment=production)
    HealthCheck.objects.create(endpoint=endpoint, name="ledger up", expect_status=200, created_at=clock.now())
    response = _ask(pipeline, req, INSIDE)
    assert response.status_code == 423 and response.json()["decision"] == "pending"
    assert any(r.startswith("Pre-checks not green: Run the pre-upgrade checks") for r in response.json()["reasons"])
