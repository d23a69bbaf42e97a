"""Approval policies (admins, page and API) and standard change templates (approved at submit while valid)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.accounts.stepup import signature_verify, stepup_token_create
from apps.audit.models import AuditEvent
from apps.cab import services
from apps.cab.models import ApprovalPolicy, Review, StandardTemplate
from apps.core import clock
from tests.conftest import make_request
from tests.factories import PASSWORD, TeamFactory

pytestmark = pytest.mark.django_db


# --- step-up ------------------------------------------------------------------------------------------------


def test_step_up_token_signs_for_five_minutes(approver, api, frozen_now):
    client = api(approver)
    wrong = client.post("/api/v1/auth/step-up/", {"password": "nope"}, format="json")
    assert wrong.status_code == 400 and "password" in wrong.json()
    assert AuditEvent.objects.filter(action="signature.failed", actor_username="approver").count() == 1
    assert client.post("/api/v1/auth/step-up/", {"password": 12}, format="json").status_code == 400
    response = client.post("/api/v1/auth/step-up/", {"password": PASSWORD}, format="json")
    assert response.status_code == 201
    token = response.json()["token"]
    assert signature_verify(user=approver, token=token) == "step_up_token"
    assert signature_verify(user=approver, password=PASSWORD) == "password"
    from apps.accounts.models import StepUpToken

    assert token not in repr(list(StepUpToken.objects.values_list()))  # only the digest is kept
    with clock.frozen(frozen_now + dt.timedelta(minutes=5, seconds=1)):
        with pytest.raises(ValidationError) as exc:
            signature_verify(user=approver, token=token)
        assert "expired" in exc.value.message_dict["password"][0]
    with pytest.raises(ValidationError):
        signature_verify(user=approver)
    # someone else's token is not yours
    other, _ = stepup_token_create(user=approver, password=PASSWORD)
    from tests.factories import UserFactory

    someone = UserFactory(username="someone", roles=["cab_member"])
    with pytest.raises(ValidationError):
        signature_verify(user=someone, token=other)
    assert api().post("/api/v1/auth/step-up/", {"password": PASSWORD}, format="json").status_code in (401, 403)


def test_vote_through_the_api_needs_a_step_up_token(upgrade, drive, approver, api):
    from apps.cab.models import Vote

    req = drive(upgrade, "cab_review")
    review = Review.objects.get(request=req, outcome="open")
    client = api(approver)
    url = f"/api/v1/cab/reviews/{review.pk}/votes/"
    missing = client.post(url, {"decision": "approve"}, format="json")
    assert missing.status_code == 400 and "step_up_token" in missing.json()
    # the password itself is not a token
    bad = client.post(url, {"decision": "approve", "step_up_token": PASSWORD}, format="json")
    assert bad.status_code == 400 and "password" in bad.json()
    assert not Vote.objects.exists()
    token = client.post("/api/v1/auth/step-up/", {"password": PASSWORD}, format="json").json()["token"]
    response = client.post(url, {"decision": "approve", "conditions": ["Runbook printed"], "step_up_token": token},
                           format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["signature_method"] == "step_up_token"
    assert response.json()["conditions"][0]["text"] == "Runbook printed"
    detail = client.get(f"/api/v1/cab/reviews/{review.pk}/").json()
    assert detail["outcome"] == "approved" and detail["tally"]["approvals"] == 1
    closed = client.post(url, {"decision": "approve", "step_up_token": token}, format="json")
    assert closed.status_code == 409 and closed.json()["rules"] == ["review_closed"]


# --- policies ---------------------------------------------------------------------------------------------


def test_policy_pages_create_edit_and_refuse_bad_input(admin_user, login):
    client = login(admin_user)
    assert client.get(reverse("cab:policy_create")).status_code == 200
    bad = client.post(reverse("cab:policy_create"), {"name": "", "risk_class": "normal", "risk_level": "any",
                                                     "quorum": "0"})
    assert bad.status_code == 400 and not ApprovalPolicy.objects.exists()
    team = TeamFactory(name="Emergency CAB", slug="emergency-cab")
    # the emergency CAB has no members: a quorum of 2 could never be reached
    refused = client.post(reverse("cab:policy_create"), {
        "name": "Emergency", "risk_class": "emergency", "risk_level": "any", "quorum": "2", "veto": "on",
        "voter_team": team.pk, "retrospective_days": "5"})
    assert refused.status_code == 400 and "could never be reached" in refused.content.decode()
    ok = client.post(reverse("cab:policy_create"), {"name": "Normal", "risk_class": "normal", "risk_level": "any",
                                                    "quorum": "2", "veto": "on"})
    assert ok.status_code == 302
    policy = ApprovalPolicy.objects.get()
    dup = client.post(reverse("cab:policy_create"), {"name": "Again", "risk_class": "normal", "risk_level": "any",
                                                     "quorum": "1"})
    assert dup.status_code == 400 and "exists already" in dup.content.decode()
    retro = client.post(reverse("cab:policy_edit", args=[policy.pk]), {
        "name": "Normal", "risk_class": "normal", "risk_level": "any", "quorum": "3", "retrospective_days": "4"})
    assert retro.status_code == 400 and "emergency path only" in retro.content.decode()
    edit = client.post(reverse("cab:policy_edit", args=[policy.pk]), {
        "name": "Normal", "risk_class": "normal", "risk_level": "any", "quorum": "3"})
    assert edit.status_code == 302
    policy.refresh_from_db()
    assert policy.quorum == 3 and policy.veto is False
    update = AuditEvent.objects.get(action="cab.policy_update")
    assert update.before == {"quorum": 2, "veto": True} and update.after == {"quorum": 3, "veto": False}
    page = client.get(reverse("cab:policies")).content.decode()
    assert "Normal" in page and "every CAB member" in page
    assert client.post(reverse("cab:policy_delete", args=[policy.pk])).status_code == 302
    assert not ApprovalPolicy.objects.exists()


def test_policy_api(admin_user, approver, api):
    payload = {"name": "High risk", "risk_class": "normal", "risk_level": "high", "quorum": 3, "veto": True,
               "required_teams": ["infrastructure"]}
    TeamFactory(name="Infrastructure", slug="infrastructure")
    assert api(approver).post("/api/v1/cab/policies/", payload, format="json").status_code == 403
    assert api(admin_user).post("/api/v1/cab/policies/", {**payload, "quorum": "lots"},
                                format="json").status_code == 400
    assert not ApprovalPolicy.objects.exists()
    created = api(admin_user).post("/api/v1/cab/policies/", payload, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["required_teams"] == ["infrastructure"]
    pk = created.json()["id"]
    listed = api(approver).get("/api/v1/cab/policies/").json()
    assert [p["name"] for p in listed] == ["High risk"]
    changed = api(admin_user).put(f"/api/v1/cab/policies/{pk}/", {**payload, "quorum": 2}, format="json")
    assert changed.status_code == 200 and changed.json()["quorum"] == 2
    assert api(admin_user).delete(f"/api/v1/cab/policies/{pk}/").status_code == 204
    assert api(admin_user).get(f"/api/v1/cab/policies/{pk}/").status_code == 404


# --- standard change templates ---------------------------------------------------------------------------


def _template_fields(system, **overrides):
    today = clock.now().date()
    fields = dict(name="PostgreSQL 16 minor release", description="Minor releases of PostgreSQL 16 on the ledger.",
                  product="postgresql", version_constraint=">=16.0,<17", runbook="1. Failover\n2. Upgrade",
                  valid_from=today - dt.timedelta(days=1), valid_until=today + dt.timedelta(days=30),
                  systems=[system])
    fields.update(overrides)
    return fields


def test_template_is_signed_by_the_cab_and_approves_covered_standard_requests(
        requester, assessor, implementer, validator, approver, component_a, system_a, drive,
        django_capture_on_commit_callbacks):
    from apps.upgrades.services import upgrade_duty_assign

    with pytest.raises(ValidationError) as exc:
        services.template_create(by=requester, **_template_fields(system_a, version_constraint="not a constraint",
                                                                valid_until=clock.now().date() - dt.timedelta(days=9)))
    assert {"version_constraint", "valid_until"} <= set(exc.value.message_dict)
    with pytest.raises(services.CabRefused):
        services.template_create(by=approver, **_template_fields(system_a))
    assert not StandardTemplate.objects.exists()
    template = services.template_create(by=requester, **_template_fields(system_a))
    assert template.status == "draft"
    with pytest.raises(services.CabRefused):
        services.template_approve(template=template, by=requester, password=PASSWORD)  # not CAB
    with pytest.raises(ValidationError):
        services.template_approve(template=template, by=approver, password="wrong")
    services.template_approve(template=template, by=approver, password=PASSWORD)
    event = AuditEvent.objects.get(action="cab.template_approve")
    assert event.data["signature"]["how"] == "password"
    assert event.data["signature"]["sha256"] == services.template_sha256(template)

    def standard_request(target="16.4"):
        req = make_request(requester, component_a, risk_class="standard",
                           items=[{"system": system_a.pk, "component": component_a.pk, "target_version": target}])
        for user, duty in ((assessor, "assessor"), (implementer, "implementer"), (validator, "validator")):
            upgrade_duty_assign(request=req, by=requester, user=user, duty=duty)
        return req

    covered = standard_request()
    with django_capture_on_commit_callbacks(execute=True):
        covered = drive(covered, "cab_review")
    covered.refresh_from_db()
    review = Review.objects.get(request=covered)
    assert review.template == template and review.policy_snapshot["source"] == "template"
    assert covered.state == "approved"
    transitions = AuditEvent.objects.filter(action="upgrade.transition", object_id=str(covered.pk)).order_by("seq")
    assert [e.data["transition"] for e in transitions][-2:] == ["submit_to_cab", "approve"]

    # a version the template does not cover waits for votes
    outside = standard_request(target="17.1")
    with django_capture_on_commit_callbacks(execute=True):
        outside = drive(outside, "cab_review")
    assert outside.state == "cab_review" and Review.objects.get(request=outside).template is None

    # retired: no longer approves
    services.template_retire(template=template, by=approver)
    later = standard_request()
    with django_capture_on_commit_callbacks(execute=True):
        later = drive(later, "cab_review")
    later.refresh_from_db()
    assert later.state == "cab_review"


def test_template_pages(requester, approver, system_a, login):
    client = login(requester)
    assert client.get(reverse("cab:template_create")).status_code == 200
    bad = client.post(reverse("cab:template_create"), {"name": "x"})
    assert bad.status_code == 400 and not StandardTemplate.objects.exists()
    today = clock.now().date()
    response = client.post(reverse("cab:template_create"), {
        "name": "nginx patch", "description": "Patch releases of nginx.", "product": "nginx",
        "systems": [system_a.pk], "version_constraint": ">=1.26,<1.27", "constraint_kind": "semver",
        "runbook": "Drain, upgrade, undrain.", "valid_from": today.isoformat(),
        "valid_until": (today + dt.timedelta(days=90)).isoformat()})
    assert response.status_code == 302
    template = StandardTemplate.objects.get()
    page = client.get(reverse("cab:template", args=[template.pk])).content.decode()
    assert "Sign and approve" not in page  # the author cannot approve it
    cab = login(approver)
    page = cab.get(reverse("cab:template", args=[template.pk])).content.decode()
    assert "Sign and approve" in page
    wrong = cab.post(reverse("cab:template_approve", args=[template.pk]), {"password": "nope"})
    assert wrong.status_code == 400 and "The password is not correct." in wrong.content.decode()
    ok = cab.post(reverse("cab:template_approve", args=[template.pk]), {"password": PASSWORD})
    assert ok.status_code == 302
    template.refresh_from_db()
    assert template.status == "approved" and template.approved_by == approver
    assert "nginx patch" in cab.get(reverse("cab:templates")).content.decode()


def test_template_and_delegation_api(requester, approver, cab_team, system_a, api):
    from tests.factories import UserFactory

    today = clock.now().date()
    payload = {"name": "nginx patch", "description": "Patch releases.", "product": "nginx", "systems": [system_a.slug],
               "version_constraint": ">=1.26,<1.27", "runbook": "Drain, upgrade, undrain.",
               "valid_from": today.isoformat(), "valid_until": (today + dt.timedelta(days=90)).isoformat()}
    assert api(requester).post("/api/v1/cab/templates/", {**payload, "valid_from": "soon"},
                               format="json").status_code == 400
    created = api(requester).post("/api/v1/cab/templates/", payload, format="json")
    assert created.status_code == 201 and created.json()["status"] == "draft"
    pk = created.json()["id"]
    client = api(approver)
    url = f"/api/v1/cab/templates/{pk}/approve/"
    assert client.post(url, {}, format="json").status_code == 400
    token = client.post("/api/v1/auth/step-up/", {"password": PASSWORD}, format="json").json()["token"]
    approved = client.post(url, {"step_up_token": token}, format="json")
    assert approved.status_code == 200 and approved.json()["approved_by"] == "approver"
    assert client.post(url, {"step_up_token": token}, format="json").status_code == 409
    assert client.post(f"/api/v1/cab/templates/{pk}/retire/").json()["status"] == "retired"

    deputy = UserFactory(username="deputy", roles=["cab_member"])
    now = clock.now()
    bad = client.post("/api/v1/cab/delegations/", {"delegate": "requester", "valid_from": now.isoformat(),
                                                   "valid_until": (now + dt.timedelta(days=2)).isoformat()},
                      format="json")
    assert bad.status_code == 400 and "delegate" in bad.json()
    made = client.post("/api/v1/cab/delegations/", {"delegate": deputy.username, "valid_from": now.isoformat(),
                                                    "valid_until": (now + dt.timedelta(days=2)).isoformat()},
                       format="json")
    assert made.status_code == 201 and made.json()["principal"] == "approver"
    assert api(deputy).get("/api/v1/cab/delegations/").json()["count"] == 1
    assert api(deputy).post(f"/api/v1/cab/delegations/{made.json()['id']}/end/").status_code == 403
    assert client.post(f"/api/v1/cab/delegations/{made.json()['id']}/end/").status_code == 200
