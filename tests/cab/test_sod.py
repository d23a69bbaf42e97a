"""Segregation of duties on every path: each duty pair with the approver × vote and assignment × service, page, API.

Every person here is also a CAB member (or holds the roles the duty needs), so the only
thing that can refuse them is the segregation-of-duties rule — and each refusal must name it.
"""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from apps.accounts.duties import DutyRefused
from apps.accounts.models import SodRule
from apps.audit.models import AuditEvent
from apps.cab import policies, services
from apps.cab.models import Vote
from apps.upgrades.services import TransitionRefused, upgrade_duty_assign, upgrade_transition
from tests.factories import PASSWORD

from .conftest import review_of, vote

pytestmark = pytest.mark.django_db

EXCLUDED = ("requester", "assessor", "implementer", "validator")


def _rule(duty: str, other: str = "approver") -> str:
    return f"Segregation of duties: the {duty} of a normal request may not also be its {other}."


def _grant(user, *roles):
    user.groups.add(*Group.objects.filter(name__in=roles))
    user.__dict__.pop("role_names", None)


@pytest.fixture
def everyone_on_the_cab(personas):
    for name in EXCLUDED:
        _grant(personas[name], "cab_member")
    return personas


@pytest.fixture
def sod_review(upgrade, drive, everyone_on_the_cab, cab2, admin_user):
    # quorum 2 so that one vote leaves the review open for the next attempt
    services.policy_save(by=admin_user, name="Normal", risk_class="normal", risk_level="any", quorum=2)
    req = drive(upgrade, "cab_review")
    return review_of(req)


def _token(api_client, user) -> str:
    response = api_client.post("/api/v1/auth/step-up/", {"password": PASSWORD}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["token"]


def test_duty_holders_cannot_vote_on_any_path(sod_review, everyone_on_the_cab, login, api, cab2):
    """requester, assessor, implementer, validator × service, page, API, direct approve: refused, rule named,
    audited."""
    for duty in EXCLUDED:
        user = everyone_on_the_cab[duty]
        rule = _rule(duty)
        # service
        with pytest.raises(services.CabRefused) as exc:
            vote(sod_review, user)
        assert rule in exc.value.reasons and "segregation_of_duties" in exc.value.rules
        # page
        client = login(user)
        response = client.post(reverse("cab:vote", args=[sod_review.pk]),
                               {"decision": "approve", "password": PASSWORD}, follow=True)
        text = response.content.decode()
        assert response.status_code == 200 and "Your vote was refused." in text and rule in text, duty
        # API, signed with a step-up token
        c = api(user)
        response = c.post(f"/api/v1/cab/reviews/{sod_review.pk}/votes/",
                          {"decision": "approve", "step_up_token": _token(c, user)}, format="json")
        assert response.status_code == 403, duty
        assert rule in response.json()["reasons"] and "segregation_of_duties" in response.json()["rules"]
        refused = AuditEvent.objects.filter(action="cab.vote_refused", actor_username=user.username)
        assert refused.count() == 3 and all(rule in e.data["reasons"] for e in refused)
    assert not Vote.objects.exists()
    # nor may they take "approve" directly once a vote is in
    vote(sod_review, cab2)
    for duty in EXCLUDED:
        with pytest.raises(TransitionRefused) as exc:
            upgrade_transition(request=sod_review.request, by=everyone_on_the_cab[duty], transition="approve")
        assert _rule(duty) in exc.value.reasons


@pytest.fixture
def voter(sod_review, cab2):
    """cab2 has voted (approver duty) and also holds every other role, so only segregation of duties refuses."""
    _grant(cab2, "implementer", "validator", "change_manager")
    vote(sod_review, cab2)
    return cab2


ASSIGNABLE = ("assessor", "implementer", "validator")


def test_approver_cannot_be_assigned_another_duty_on_any_path(voter, sod_review, requester, login, api):
    """After voting, the approver cannot become assessor, implementer or validator: service, page, API."""
    reference = sod_review.request.reference
    for duty in ASSIGNABLE:
        rule = _rule("approver", duty)
        with pytest.raises(DutyRefused) as exc:
            upgrade_duty_assign(request=sod_review.request, by=requester, user=voter, duty=duty)
        assert rule in exc.value.reasons
        response = login(requester).post(reverse("upgrades:assign", args=[reference]),
                                         {"duty": duty, f"{duty}-user": voter.username})
        assert response.status_code == 403 and rule in response.content.decode(), duty
        response = api(requester).post(f"/api/v1/upgrades/{reference}/duties/",
                                       {"duty": duty, "user": voter.username}, format="json")
        assert response.status_code == 403 and rule in response.json()["reasons"], duty
        assert AuditEvent.objects.filter(action="duty.assign_refused", data__duty=duty).count() == 3


def test_a_later_change_of_duties_is_rechecked_at_decision_time(voter, sod_review, requester, admin_user, approver):
    """An override let the voter become implementer after voting; once the override goes, the vote stops counting."""
    rule = SodRule.objects.create(risk_class="normal", duty_a="approver", duty_b="implementer", allowed=True)
    upgrade_duty_assign(request=sod_review.request, by=requester, user=voter, duty="implementer")
    rule.delete()
    result = policies.tally(sod_review)
    assert result.approvals == []
    assert any(r.startswith("The vote of cab2 no longer counts: ") and _rule("implementer", "approver") in r
               for r in result.reasons)
    vote(sod_review, approver)  # 1 counted approval of 2: still open
    sod_review.request.refresh_from_db()
    assert sod_review.request.state == "cab_review"


def test_cannot_vote_twice_page_and_api(sod_review, approver, login, api):
    client = login(approver)
    url = reverse("cab:vote", args=[sod_review.pk])
    assert client.post(url, {"decision": "approve", "password": PASSWORD}).status_code == 302
    response = client.post(url, {"decision": "approve", "password": PASSWORD}, follow=True)
    assert "One vote per person" in response.content.decode()
    with pytest.raises(services.CabRefused) as exc:
        vote(sod_review, approver)
    assert exc.value.rules == ["one_vote"]
    c = api(approver)
    response = c.post(f"/api/v1/cab/reviews/{sod_review.pk}/votes/",
                      {"decision": "approve", "step_up_token": _token(c, approver)}, format="json")
    assert response.status_code == 403 and response.json()["rules"] == ["one_vote"]
    assert Vote.objects.count() == 1
    assert AuditEvent.objects.filter(action="cab.vote_refused", data__rules=["one_vote"]).count() == 3
