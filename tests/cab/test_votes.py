"""Signed votes, the automatic decision, conditions, staleness after a replan, delegations, policies."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.accounts.models import Notification
from apps.audit.models import AuditEvent
from apps.cab import policies, services
from apps.cab.models import ApprovalPolicy, Review, Vote
from apps.cab.selectors import awaiting_vote, conditions_unacknowledged, review_current
from apps.core import clock
from apps.upgrades.services import TransitionRefused, upgrade_transition
from tests.factories import PASSWORD, TeamFactory, UserFactory
from tests.upgrades.conftest import events

from .conftest import cab_counts, review_of, vote

pytestmark = pytest.mark.django_db


def _policy(admin, **fields):
    fields.setdefault("name", "Normal change")
    fields.setdefault("risk_class", "normal")
    fields.setdefault("risk_level", "any")
    fields.setdefault("quorum", 2)
    return services.policy_save(by=admin, **fields)


def test_review_votes_decision_conditions_and_inbox(in_review, approver, requester, implementer, validator,
                                                    admin_user, login, api):
    review = review_of(in_review)
    # the review opened at submit with the built-in default policy frozen onto it
    assert review.policy is None and review.policy_snapshot["source"] == "default"
    assert review.policy_snapshot["quorum"] == 1 and review.policy_snapshot["veto"] is True
    assert events(in_review, "cab.review_open").count() == 1
    assert review_current(in_review) == review
    # a policy made later does not change an open review
    _policy(admin_user, quorum=2)
    # the vote is awaited in the approver's My work, not in the requester's
    from apps.core.inbox import items_for

    assert list(awaiting_vote(approver)) == [review] and list(awaiting_vote(requester)) == []
    assert [i.kind for i in items_for(approver)].count("Vote awaited") == 1
    # a direct approve without votes is refused with the count
    with pytest.raises(TransitionRefused) as exc:
        upgrade_transition(request=in_review, by=approver, transition="approve")
    assert "Quorum not reached: 0 of 1 approval on the current plan version." in exc.value.reasons

    v = vote(review, approver, conditions=["Keep the DBA on call", "  ", "Notify the service desk"])
    in_review.refresh_from_db()
    review.refresh_from_db()
    assert in_review.state == "approved"
    assert review.outcome == "approved" and review.decided_at is not None
    assert [c.text for c in v.conditions.all()] == ["Keep the DBA on call", "Notify the service desk"]
    # the signature lives in the audit chain, and the vote points at it
    event = AuditEvent.objects.get(seq=v.audit_seq)
    assert event.action == "cab.vote"
    signature = event.data["signature"]
    assert signature["who"] == "approver" and signature["how"] == "password" and signature["when"]
    assert signature["plan_sha256"] == (review.plan_version.sha256 if review.plan_version_id else None)
    assert v.plan_sha256 == (signature["plan_sha256"] or "")
    assert events(in_review, "upgrade.transition").filter(data__transition="approve").count() == 1
    # requester and implementer are told
    assert Notification.objects.filter(user=requester, verb="decided").exists()
    assert Notification.objects.filter(user=implementer, verb="decided", message__contains="2 conditions").exists()
    assert list(awaiting_vote(approver)) == []
    # conditions: only the implementer acknowledges, once — service, page and API
    waiting = conditions_unacknowledged(in_review)
    assert len(waiting) == 2
    with pytest.raises(services.duties.DutyRefused):
        services.condition_acknowledge(condition=waiting[0], by=validator)
    page = login(implementer).get(reverse("cab:conditions", args=[in_review.reference])).content.decode()
    assert "Keep the DBA on call" in page and page.count(">Acknowledge</button>") == 2
    done = login(implementer).post(reverse("cab:condition_acknowledge", args=[waiting[0].pk]), follow=True)
    assert "Condition acknowledged." in done.content.decode()
    again = login(implementer).post(reverse("cab:condition_acknowledge", args=[waiting[0].pk]), follow=True)
    assert "Acknowledged already by implementer." in again.content.decode()
    assert api(validator).post(f"/api/v1/cab/conditions/{waiting[1].pk}/acknowledge/").status_code == 403
    refusals = events(in_review, "cab.condition_refused")
    assert refusals.count() == 3 and all(e.actor_username in ("validator", "implementer") for e in refusals)
    ok = api(implementer).post(f"/api/v1/cab/conditions/{waiting[1].pk}/acknowledge/")
    assert ok.status_code == 200 and ok.json()["acknowledged_by"] == "implementer"
    assert conditions_unacknowledged(in_review) == []
    assert events(in_review, "cab.condition_acknowledge").count() == 2
    listed = api(implementer).get(f"/api/v1/cab/requests/{in_review.reference}/conditions/").json()
    assert [c["acknowledged_by"] for c in listed] == ["implementer", "implementer"]


def test_policy_is_frozen_when_the_review_opens(upgrade, drive, approver, cab2, admin_user):
    _policy(admin_user, quorum=2)
    req = drive(upgrade, "cab_review")
    review = review_of(req)
    assert review.policy_snapshot["quorum"] == 2
    ApprovalPolicy.objects.all().delete()  # even gone, the review keeps it
    vote(review, approver)
    req.refresh_from_db()
    assert req.state == "cab_review"
    # a direct approve by a CAB member is refused with the count
    with pytest.raises(TransitionRefused) as exc:
        upgrade_transition(request=req, by=cab2, transition="approve")
    assert "Quorum not reached: 1 of 2 approvals on the current plan version." in exc.value.reasons
    vote(review, cab2)
    req.refresh_from_db()
    assert req.state == "approved"


def test_policy_matches_the_assessed_risk_level_before_any_level(upgrade, drive, admin_user):
    from apps.assessments.models import Assessment

    _policy(admin_user, name="Normal any", quorum=2)
    _policy(admin_user, name="Normal high", risk_level="high", quorum=3, veto=False)
    req = drive(upgrade, "planning")
    assert Assessment.objects.filter(request=req).exists()
    Assessment.objects.filter(request=req).update(risk_level="high")
    assert policies.policy_for(req).name == "Normal high"
    Assessment.objects.filter(request=req).update(risk_level="low")
    assert policies.policy_for(req).name == "Normal any"


def test_bad_votes_write_nothing_and_a_veto_rejects(in_review, approver):
    review = review_of(in_review)
    before = cab_counts()
    for kwargs in ({"decision": "maybe"}, {"decision": "approve", "conditions": ["x\x00y"]},
                   {"decision": "abstain", "conditions": ["a condition"]},
                   {"decision": "approve", "conditions": [f"c{i}" for i in range(11)]},
                   {"decision": "approve", "reason": "x" * 5001},
                   {"decision": "reject", "reason": "  "}):
        with pytest.raises(ValidationError):
            vote(review, approver, **kwargs)
    assert cab_counts() == before
    # a wrong or missing password: refused, nothing written but the audited failure
    for password in ("wrong", ""):
        with pytest.raises(ValidationError) as exc:
            vote(review, approver, password=password)
        assert "password" in exc.value.message_dict
    assert not Vote.objects.exists()
    assert AuditEvent.objects.filter(action="signature.failed", actor_username="approver").count() == 2
    vote(review, approver, decision="reject", reason="The backout plan is untested.")
    in_review.refresh_from_db()
    assert in_review.state == "rejected"
    assert in_review.state_reason == "The backout plan is untested."
    assert review_of_outcome(in_review) == "rejected"


def review_of_outcome(req):
    return Review.objects.filter(request=req).latest("opened_at").outcome


def test_without_veto_a_rejection_only_counts(upgrade, drive, approver, cab2, cab3, admin_user):
    _policy(admin_user, quorum=2, veto=False)
    req = drive(upgrade, "cab_review")
    review = review_of(req)
    vote(review, cab3, decision="reject", reason="Not convinced.")
    vote(review, approver, decision="abstain")
    req.refresh_from_db()
    assert req.state == "cab_review"
    vote(review, cab2)
    req.refresh_from_db()
    assert req.state == "cab_review"  # one approval of two


def test_replan_makes_votes_stale_and_the_new_version_needs_its_own(upgrade, drive, approver, requester):
    req = drive(upgrade, "approved")
    old = Vote.objects.get()
    req = upgrade_transition(request=req, by=requester, transition="replan", reason="Window moved.")
    old.refresh_from_db()
    assert old.stale is True
    assert events(req, "cab.votes_stale").count() == 1
    req = drive(req, "cab_review")
    review = review_of(req)
    assert review.pk != old.review_id
    with pytest.raises(TransitionRefused) as exc:
        upgrade_transition(request=req, by=approver, transition="approve")
    assert any("0 of 1" in r for r in exc.value.reasons)
    # the approver may vote again on the new version
    vote(review, approver)
    req.refresh_from_db()
    assert req.state == "approved"
    assert Vote.objects.filter(stale=False).count() == 1 and Vote.objects.count() == 2


def test_return_and_cancel_close_the_review(upgrade, drive, approver, requester):
    req = drive(upgrade, "cab_review")
    req = upgrade_transition(request=req, by=approver, transition="return_to_planning", reason="Add a backout.")
    assert review_of_outcome(req) == "returned"
    req = drive(req, "cab_review")
    req = upgrade_transition(request=req, by=requester, transition="cancel", reason="Not needed.")
    assert review_of_outcome(req) == "withdrawn"
    assert not Review.objects.filter(outcome="open").exists()


def test_delegate_votes_for_an_absent_member(upgrade, drive, approver, cab2, cab3, admin_user, login):
    _policy(admin_user, quorum=2)
    req = drive(upgrade, "cab_review")
    review = review_of(req)
    now = clock.now()
    with pytest.raises(services.CabRefused) as exc:
        vote(review, cab3, on_behalf_of=cab2)
    assert "delegation" in exc.value.rules
    services.delegation_create(principal=cab2, delegate=cab3, valid_from=now - dt.timedelta(hours=1),
                               valid_until=now + dt.timedelta(days=3), by=cab2)
    # the delegate votes for cab2 on the review page
    client = login(cab3)
    from apps.cab.selectors import vote_panel

    assert [p["user"] for p in vote_panel(review=review, user=cab3)["principals"]] == [cab2]
    response = client.post(reverse("cab:vote", args=[review.pk]),
                           {"decision": "approve", "on_behalf_of": str(cab2.pk), "password": PASSWORD}, follow=True)
    assert "Your signed vote (approve)" in response.content.decode()
    assert Vote.objects.get().on_behalf_of == cab2 and Vote.objects.get().voter == cab3
    with pytest.raises(services.CabRefused) as exc:
        vote(review, cab2)
    assert "one_vote" in exc.value.rules
    vote(review, approver)
    req.refresh_from_db()
    assert req.state == "approved"


def test_delegate_cannot_vote_for_an_excluded_member(upgrade, drive, cab3, requester):
    # the requester also sits on the CAB and names a delegate: the delegate may not vote for them
    from django.contrib.auth.models import Group

    requester.groups.add(Group.objects.get(name="cab_member"))
    requester.__dict__.pop("role_names", None)
    req = drive(upgrade, "cab_review")
    now = clock.now()
    services.delegation_create(principal=requester, delegate=cab3, valid_from=now - dt.timedelta(hours=1),
                               valid_until=now + dt.timedelta(days=1), by=requester)
    with pytest.raises(services.CabRefused) as exc:
        vote(review_of(req), cab3, on_behalf_of=requester)
    assert "segregation_of_duties" in exc.value.rules
    assert any("A delegate cannot vote for someone who is excluded" in r for r in exc.value.reasons)
    assert not Vote.objects.exists()


def test_delegation_bad_input_writes_nothing(cab2, cab3, requester):
    now = clock.now()
    from apps.cab.models import Delegation

    for kwargs in ({"delegate": cab2}, {"delegate": requester},
                   {"delegate": cab3, "valid_until": now - dt.timedelta(days=1)}):
        data = {"principal": cab2, "valid_from": now, "valid_until": now + dt.timedelta(days=1), "by": cab2, **kwargs}
        with pytest.raises(ValidationError):
            services.delegation_create(**data)
    with pytest.raises(services.CabRefused):
        services.delegation_create(principal=cab2, delegate=cab3, valid_from=now,
                                   valid_until=now + dt.timedelta(days=1), by=cab3)
    assert not Delegation.objects.exists()


def test_required_team_and_critical_owner_team(upgrade, drive, approver, cab2, admin_user, team_a):
    infra = TeamFactory(name="Infrastructure", slug="infrastructure")
    _policy(admin_user, quorum=1, required_teams=[infra], require_critical_owner_teams=True)
    req = drive(upgrade, "cab_review")
    review = review_of(req)
    assert review.policy_snapshot["critical_owner_teams"][0]["name"] == "Core Banking"
    vote(review, approver)
    req.refresh_from_db()
    assert req.state == "cab_review"
    reasons = policies.tally(review).reasons
    assert "An approval from a member of Infrastructure is still needed." in reasons
    assert "An approval from a member of Core Banking is still needed." in reasons
    vote(review, cab2)  # cab2 is in Infrastructure
    owner = UserFactory(username="ledger-owner", roles=["cab_member"], teams=[team_a])
    vote(review, owner)
    req.refresh_from_db()
    assert req.state == "approved"


def test_emergency_path_and_its_retrospective_deadline(requester, assessor, implementer, validator, component_a,
                                                       drive, approver, cab2, cab3, admin_user, frozen_now, api):
    from apps.upgrades.services import upgrade_duty_assign
    from tests.conftest import make_request

    ecab = TeamFactory(name="Emergency CAB", slug="emergency-cab")
    ecab.members.add(approver, cab2)
    _policy(admin_user, name="Emergency", risk_class="emergency", quorum=2, voter_team=ecab,
            retrospective_days=5)
    req = make_request(requester, component_a, risk_class="emergency")
    for user, duty in ((assessor, "assessor"), (implementer, "implementer"), (validator, "validator")):
        upgrade_duty_assign(request=req, by=requester, user=user, duty=duty)
    req = drive(req, "cab_review")
    review = review_of(req)
    assert review.emergency and review.policy_snapshot["voter_team"]["name"] == "Emergency CAB"
    with pytest.raises(services.CabRefused) as exc:
        vote(review, cab3)
    assert exc.value.rules == ["voter_team"]
    assert list(awaiting_vote(cab3)) == [] and list(awaiting_vote(cab2)) == [review]
    vote(review, approver)
    vote(review, cab2)
    req.refresh_from_db()
    review.refresh_from_db()
    assert req.state == "approved"
    assert review.retrospective_due == (frozen_now + dt.timedelta(days=5)).date()
    from apps.cab.selectors import inbox_retrospectives, retrospective_state

    assert retrospective_state(review) == "due"
    with clock.frozen(frozen_now + dt.timedelta(days=6)):
        assert retrospective_state(review) == "overdue"
        assert inbox_retrospectives(cab3)[0].kind == "Emergency retrospective overdue"
        for involved in (requester, approver):  # the requester, and a member who approved it
            with pytest.raises(services.CabRefused) as exc:
                services.retrospective_complete(review=review, by=involved, notes="Looks fine.")
            assert exc.value.rules == ["segregation_of_duties"] or "CAB members" in exc.value.reasons[0]
        with pytest.raises(ValidationError):
            services.retrospective_complete(review=review, by=cab3, notes="   ")
        assert api(requester).post(f"/api/v1/cab/reviews/{review.pk}/retrospective/",
                                   {"notes": "x"}, format="json").status_code == 403
        response = api(cab3).post(f"/api/v1/cab/reviews/{review.pk}/retrospective/",
                                  {"notes": "Justified: CVE exploited in the wild."}, format="json")
        assert response.status_code == 200 and response.json()["retrospective"] == "done"
    review.refresh_from_db()
    assert retrospective_state(review) == "done"
    assert events(req, "cab.retrospective_complete").get().after["late"] is True


def test_seed_hook_installs_demo_policies_only_with_enough_cab_members(upgrade, drive, personas, approver, cab2,
                                                                       admin_user):
    from apps.cab.seed import seed_policies

    seed_policies(request=upgrade, by=admin_user, users=personas)
    assert not ApprovalPolicy.objects.exists()  # one CAB member: the built-in default stays
    seed_policies(request=upgrade, by=admin_user, users={**personas, "cab2": cab2})
    names = {p.risk_class: p for p in ApprovalPolicy.objects.all()}
    assert names["normal"].quorum == 2 and names["normal"].veto
    assert names["emergency"].voter_team.members.count() == 2 and names["emergency"].retrospective_days == 5
    assert AuditEvent.objects.filter(action="cab.policy_create").count() == 3
    # and the approve hook casts the two votes the normal policy needs
    req = drive(upgrade, "cab_review")
    from apps.cab.seed import seed_votes

    # a member whose password is not the demo's cannot sign: the hook casts no vote for them
    cab2.set_password("something only cab2 knows")
    cab2.save(update_fields=["password"])
    seed_votes(request=req, by=approver, users={**personas, "cab2": cab2})
    req.refresh_from_db()
    assert req.state == "cab_review"  # one of two approvals
    assert dict(Vote.objects.values_list("voter__username", "signature_method")) == {"approver": "password"}
    # with the password they sign like everyone else, and the second vote decides
    cab2.set_password(PASSWORD)
    cab2.save(update_fields=["password"])
    seed_votes(request=req, by=approver, users={**personas, "cab2": cab2})
    req.refresh_from_db()
    assert req.state == "approved"
    assert set(Vote.objects.values_list("signature_method", flat=True)) == {"password"}


def test_seed_hook_records_the_retrospective_when_an_emergency_change_is_scheduled(
        requester, assessor, implementer, validator, component_a, drive, personas, approver, cab3):
    from apps.cab.seed import seed_retrospective
    from apps.upgrades.services import upgrade_duty_assign
    from tests.conftest import make_request

    req = make_request(requester, component_a, risk_class="emergency")
    for user, duty in ((assessor, "assessor"), (implementer, "implementer"), (validator, "validator")):
        upgrade_duty_assign(request=req, by=requester, user=user, duty=duty)
    req = drive(req, "approved")
    review = Review.objects.get(request=req)
    assert review.retrospective_done_at is None
    # the default policy has no retrospective: give it the date a policy would
    Review.objects.filter(pk=review.pk).update(retrospective_due=clock.now().date() + dt.timedelta(days=5))
    seed_retrospective(request=req, by=requester, users={**personas, "cab3": cab3})
    review.refresh_from_db()
    assert review.retrospective_by == cab3  # the approver voted; cab3 was not involved
    assert not AuditEvent.objects.filter(action="cab.retrospective_refused").exists()


def test_the_approve_hook_lets_drive_reach_approved_with_the_single_approver(upgrade, drive):
    """tests/upgrades' drive() and the demo seed call the CAB's hook: one signed vote under the default policy."""
    req = drive(upgrade, "approved")
    vote = Vote.objects.get(review__request=req)
    # the personas have the demo's published password: the hook signs with it
    assert vote.voter.username == "approver" and vote.signature_method == "password"
    assert AuditEvent.objects.get(seq=vote.audit_seq).data["signature"]["how"] == "password"
