"""Freeze exception decisions: who decides, segregation of duties, signatures, the emergency CAB."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group

from apps.accounts.models import User
from apps.accounts.stepup import stepup_token_create
from apps.cab import exceptions
from apps.cab.models import ApprovalPolicy
from apps.core import clock
from apps.rollouts.calendar.services import freeze_create, freeze_exception_request
from apps.rollouts.models import FreezeException

from ..factories import PASSWORD, TeamFactory, UserFactory
from .conftest import audit_actions

FREEZE_START = dt.datetime(2026, 12, 20, 0, 0, tzinfo=dt.UTC)
PAGE_STATUS = {"requester": 200, "assessor": 200, "approver": 200, "implementer": 200, "validator": 200,
               "executive": 200, "auditor": 200, "admin": 200, "outsider": 404}
LIST_STATUS = {"requester": 403, "assessor": 403, "approver": 200, "implementer": 403, "validator": 403,
               "executive": 403, "auditor": 200, "admin": 200, "outsider": 403}


@pytest.fixture
def freeze(admin_user, frozen_now):
    return freeze_create(by=admin_user, name="Year-end freeze", reason="Financial close.",
                         starts_at=FREEZE_START, ends_at=FREEZE_START + dt.timedelta(days=14))


@pytest.fixture
def requested(in_review, freeze, requester):
    return freeze_exception_request(request=in_review, freeze=freeze, by=requester,
                                    reason="The vendor's fix must land before the close.")


@pytest.fixture
def draft_exception(upgrade, freeze, requester):
    """A freeze exception of a draft request: for the rules that do not depend on the request's state."""
    return freeze_exception_request(request=upgrade, freeze=freeze, by=requester, reason="Vendor deadline.")


def as_cab_member(user) -> User:
    user.groups.add(Group.objects.get_or_create(name="cab_member")[0])
    return User.objects.get(pk=user.pk)  # role names are cached per instance


def url(exc, suffix=""):
    return f"/cab/freeze-exceptions/{exc.pk}/{suffix}"


@pytest.mark.django_db
def test_persona_matrix_of_the_freeze_exception_pages(requested, personas, login):
    for name, user in personas.items():
        for path, expected in ((url(requested), PAGE_STATUS), ("/cab/freeze-exceptions/", LIST_STATUS)):
            response = login(user).get(path)
            if user is None:
                assert response.status_code == 302, (name, path)
            else:
                assert response.status_code == expected[name], (name, path)
    page = login(personas["approver"]).get(url(requested)).content.decode()
    assert "Sign and record" in page and 'name="password"' in page
    page = login(personas["requester"]).get(url(requested)).content.decode()
    assert "Sign and record" not in page and "Rule: only CAB members decide freeze exceptions." in page


@pytest.mark.django_db
def test_a_cab_member_approves_with_their_password(requested, approver, login):
    from apps.core.inbox import items_for

    kinds = [(i.kind, i.url) for i in items_for(approver)]
    assert ("Freeze exception to decide", f"/cab/freeze-exceptions/{requested.pk}/") in kinds  # My work
    client = login(approver)
    listing = client.get("/cab/freeze-exceptions/").content.decode()
    assert "Year-end freeze" in listing and ">Decide<" in listing
    response = client.post(url(requested), {"decision": "approve", "reason": "", "password": PASSWORD})
    assert response.status_code == 302
    requested.refresh_from_db()
    assert requested.status == "approved" and requested.decided_by == approver
    assert requested.signature["method"] == "password" and len(requested.signature["sha256"]) == 64
    assert requested.signature["signed"]["request"] == requested.request.reference
    event = audit_actions("freeze_exception.approved").get()
    assert event.data["signature"]["sha256"] == requested.signature["sha256"]
    assert "Signed (password)" in client.get(url(requested)).content.decode()
    assert "Freeze exception to decide" not in [i.kind for i in items_for(approver)]


@pytest.mark.django_db
def test_wrong_password_is_refused_and_nothing_is_decided(requested, approver, login):
    client = login(approver)
    response = client.post(url(requested), {"decision": "approve", "password": "not-my-password"})
    assert response.status_code == 400 and "The password is not correct." in response.content.decode()
    requested.refresh_from_db()
    assert requested.status == "requested" and requested.decided_by is None
    assert audit_actions("signature.failed").filter(actor=approver).exists()
    response = client.post(url(requested), {"decision": "refuse", "reason": "", "password": PASSWORD})
    assert response.status_code == 400 and "Say why the exception is refused." in response.content.decode()
    response = client.post(url(requested), {"decision": "refuse", "reason": "bad\x00", "password": PASSWORD})
    assert response.status_code == 400
    requested.refresh_from_db()
    assert requested.status == "requested"


@pytest.mark.django_db
def test_segregation_of_duties_refuses_the_request_s_own_people(requested, personas, login, api):
    for n, duty_holder in enumerate(["requester", "assessor", "implementer", "validator"], 1):
        person = as_cab_member(personas[duty_holder])
        response = login(person).post(url(requested), {"decision": "approve", "password": PASSWORD})
        assert response.status_code == 403
        rule = (f"Segregation of duties: the {duty_holder} of {requested.request.reference} may not decide its "
                f"freeze exception.")
        assert rule in response.content.decode()
        requested.refresh_from_db()
        assert requested.status == "requested"
        event = audit_actions("freeze_exception.decide_refused").last()
        assert audit_actions("freeze_exception.decide_refused").count() == n
        assert event.actor == person and rule in event.data["reasons"]
    # their own request's exception is not in their "My work"
    from apps.core.inbox import items_for

    person = User.objects.get(pk=personas["requester"].pk)
    assert "Freeze exception to decide" not in [i.kind for i in items_for(person)]
    # the API refuses the same way, with the rule
    token, _ = stepup_token_create(user=person, password=PASSWORD)
    response = api(person).post(f"/api/v1/cab/freeze-exceptions/{requested.pk}/decision/",
                                {"decision": "approve", "step_up_token": token}, format="json")
    assert response.status_code == 403
    assert any("Segregation of duties: the requester" in r for r in response.json()["reasons"])
    assert FreezeException.objects.get(pk=requested.pk).status == "requested"


@pytest.mark.django_db
def test_only_cab_members_decide(draft_exception, executive, admin_user):
    requested = draft_exception
    for person in (executive, admin_user):
        with pytest.raises(exceptions.duties.DutyRefused) as err:
            exceptions.freeze_exception_decide(exception=requested, by=person, approve=True, password=PASSWORD)
        assert err.value.reasons == ["Rule: only CAB members decide freeze exceptions."]
    assert audit_actions("freeze_exception.decide_refused").count() == 2
    requested.refresh_from_db()
    assert requested.status == "requested"


@pytest.fixture
def emergency_cab(db, team_a, frozen_now):
    team = TeamFactory(name="Emergency CAB", slug="ecab")
    ApprovalPolicy.objects.create(name="Emergency", risk_class="emergency", quorum=1, voter_team=team,
                                  retrospective_days=5, updated_at=clock.now())
    member = UserFactory(username="ecab1", roles=["cab_member"], teams=[team, team_a])
    plain = UserFactory(username="cab9", roles=["cab_member"], teams=[team_a])
    return member, plain


@pytest.mark.django_db
def test_the_emergency_cab_decides_emergency_changes_only(emergency_cab, requester, component_a, freeze):
    from tests.conftest import make_request

    member, plain = emergency_cab
    urgent = make_request(requester, component_a, title="Emergency patch", risk_class="emergency")
    exc = freeze_exception_request(request=urgent, freeze=freeze, by=requester, reason="Actively exploited CVE.")
    # a CAB member outside the emergency CAB may not decide an emergency change's exception
    assert exceptions.can_decide_reasons(exception=exc, user=plain) == [
        "Rule: freeze exceptions of emergency changes are decided by the emergency CAB (Emergency CAB); "
        "you are not a member."]
    with pytest.raises(exceptions.duties.DutyRefused):
        exceptions.freeze_exception_decide(exception=exc, by=plain, approve=True, password=PASSWORD)
    # the normal change's exception is not in the emergency CAB's inbox unless they are a CAB member anyway
    mine = exceptions.awaiting_decision(member)
    assert exc in mine
    assert exc not in exceptions.awaiting_decision(plain)
    decided = exceptions.freeze_exception_decide(exception=exc, by=member, approve=True, password=PASSWORD)
    assert decided.status == "approved" and decided.emergency is True
    assert audit_actions("freeze_exception.decide_refused").get().actor == plain


@pytest.mark.django_db
def test_an_emergency_cab_member_without_the_cab_role_may_not_decide_normal_changes(emergency_cab,
                                                                                     draft_exception):
    member, _ = emergency_cab
    requested = draft_exception
    member.groups.clear()
    member = User.objects.get(pk=member.pk)
    assert exceptions.can_decide_reasons(exception=requested, user=member) == [
        f"Rule: the emergency CAB decides freeze exceptions of emergency changes only; "
        f"{requested.request.reference} is a normal change."]


@pytest.mark.django_db
def test_the_api_signs_with_a_step_up_token(requested, approver, api):
    client = api(approver)
    response = client.post(f"/api/v1/cab/freeze-exceptions/{requested.pk}/decision/",
                           {"decision": "refuse", "reason": "Wait until January."}, format="json")
    assert response.status_code == 400 and "password" in response.json()
    response = client.post(f"/api/v1/cab/freeze-exceptions/{requested.pk}/decision/",
                           {"decision": "refuse", "reason": "Wait until January.", "step_up_token": "su_forged"},
                           format="json")
    assert response.status_code == 400
    requested.refresh_from_db()
    assert requested.status == "requested"
    token, _ = stepup_token_create(user=approver, password=PASSWORD)
    response = client.post(f"/api/v1/cab/freeze-exceptions/{requested.pk}/decision/",
                           {"decision": "refuse", "reason": "Wait until January.", "step_up_token": token},
                           format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "refused" and body["signature"]["method"] == "step_up_token"
    response = client.post(f"/api/v1/cab/freeze-exceptions/{requested.pk}/decision/",
                           {"decision": "approve", "step_up_token": token}, format="json")
    assert response.status_code == 403  # already decided: nobody may decide it again
