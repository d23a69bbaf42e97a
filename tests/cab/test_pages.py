"""Persona × page and endpoint matrix for the CAB decision pages and API, and query counts at two sizes."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.cab import services
from apps.cab.models import Review, StandardTemplate
from apps.core import clock
from tests.conftest import make_request
from tests.factories import PASSWORD, UserFactory
from tests.upgrades.conftest import PERSONAS

pytestmark = pytest.mark.django_db

ALL = (*PERSONAS, "anonymous")
READERS = ("requester", "assessor", "approver", "auditor", "admin", "outsider")
CAB = ("approver", "auditor", "admin")
CHANGE_MANAGERS = ("requester", "assessor", "outsider")
VISIBLE_DRAFT = ("requester", "assessor", "implementer", "validator", "executive", "auditor", "admin")


def table(default, allowed=(), status=200, anonymous=302):
    got = {p: (status if p in allowed else default) for p in PERSONAS}
    got["anonymous"] = anonymous
    return got


@pytest.fixture
def matrix(personas, client, api):
    def check(url, expected, method="get", data=None, *, use_api=False):
        got = {}
        for name in ALL:
            user = personas.get(name)
            if use_api:
                c = api(user)
                response = getattr(c, method)(url, data or {}, format="json") if method != "get" else c.get(url, data)
            else:
                client.logout()
                if user is not None:
                    client.force_login(user)
                response = getattr(client, method)(url, data or {})
            got[name] = response.status_code
        client.logout()
        assert got == expected

    return check


def test_page_matrix(matrix, upgrade):
    matrix(reverse("cab:policies"), table(403, READERS))
    matrix(reverse("cab:policy_create"), table(403, ("admin",)))
    matrix(reverse("cab:templates"), table(403, READERS))
    matrix(reverse("cab:template_create"), table(403, CHANGE_MANAGERS))
    matrix(reverse("cab:delegations"), table(403, CAB))
    matrix(reverse("cab:retrospectives"), table(403, CAB))
    matrix(reverse("cab:conditions", args=[upgrade.reference]), table(404, VISIBLE_DRAFT))


def test_vote_and_condition_pages_answer_404_for_what_one_may_not_see(matrix, upgrade, drive):
    req = drive(upgrade, "cab_review")
    review = Review.objects.get(request=req)
    visible = (*VISIBLE_DRAFT, "approver")
    # a vote without a password is refused with the form's message and a redirect to the review page
    matrix(reverse("cab:vote", args=[review.pk]), table(404, visible, status=302), method="post")
    matrix(reverse("cab:retrospective", args=[review.pk]), table(404, visible, status=302), method="post")
    assert not review.votes.exists()
    matrix(f"/api/v1/cab/reviews/{review.pk}/", table(404, visible, anonymous=401), use_api=True)
    matrix(f"/api/v1/cab/reviews/{review.pk}/votes/", table(404, visible, anonymous=401), use_api=True)


def test_api_matrix(matrix, upgrade):
    matrix("/api/v1/cab/policies/", table(403, READERS, anonymous=401), use_api=True)
    matrix("/api/v1/cab/templates/", table(403, READERS, anonymous=401), use_api=True)
    matrix("/api/v1/cab/reviews/", table(200, anonymous=401), use_api=True)
    matrix("/api/v1/cab/delegations/", table(403, CAB, anonymous=401), use_api=True)
    matrix(f"/api/v1/cab/requests/{upgrade.reference}/conditions/", table(404, VISIBLE_DRAFT, anonymous=401),
           use_api=True)
    # the gate: a draft is pending (423) for those who see it, 404 for the others
    matrix("/api/v1/gate/", table(404, VISIBLE_DRAFT, status=423, anonymous=401), data={"request": upgrade.reference},
           use_api=True)
    matrix("/api/v1/cab/policies/", table(403, ("admin",), status=400, anonymous=401), method="post", use_api=True)
    matrix("/api/v1/cab/templates/", table(403, CHANGE_MANAGERS, status=400, anonymous=401), method="post",
           use_api=True)
    matrix("/api/v1/auth/step-up/", table(400, anonymous=401), method="post", use_api=True)


# --- query counts at two sizes ---------------------------------------------------------------------------


def fresh(user):
    """The user as a new request loads it (no roles cached from an earlier call)."""
    return type(user).objects.get(pk=user.pk)


def _count(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = fn()
    assert response.status_code == 200, response.status_code
    return len(ctx.captured_queries)


def _policies(admin, n):
    from apps.cab.models import ApprovalPolicy, RiskLevelScope
    from apps.upgrades.choices import RiskClass
    from tests.factories import TeamFactory

    team = TeamFactory(name="Infrastructure", slug="infrastructure")
    have = ApprovalPolicy.objects.count()
    scopes = [(rc, lvl) for rc in RiskClass.values for lvl in RiskLevelScope.values][have:n]
    for rc, lvl in scopes:
        services.policy_save(by=admin, name=f"{rc} {lvl}", risk_class=rc, risk_level=lvl, quorum=1,
                             required_teams=[team], require_critical_owner_teams=True)


def _templates(requester, system, n):
    have = StandardTemplate.objects.count()
    today = clock.now().date()
    for i in range(have, n):
        services.template_create(by=requester, name=f"Template {i}", description="d", product="nginx",
                                 version_constraint=">=1.26,<1.27", runbook="r", valid_from=today,
                                 valid_until=today + dt.timedelta(days=30), systems=[system])


def _delegations(principal, n):
    from apps.cab.models import Delegation

    now = clock.now()
    have = Delegation.objects.count()
    for i in range(have, n):
        delegate = UserFactory(username=f"deputy{i}", roles=["cab_member"])
        services.delegation_create(principal=principal, delegate=delegate, valid_from=now + dt.timedelta(days=i),
                                   valid_until=now + dt.timedelta(days=i + 1), by=principal)


def _reviews(requester, component, n, **fields):
    """Requests with an open (or emergency, approved) review. Test data only: the state is set directly so that
    two hundred reviews do not need two hundred trips through the whole lifecycle."""
    from apps.upgrades.models import UpgradeRequest

    have = Review.objects.count()
    for _ in range(have, n):
        req = make_request(requester, component)
        Review.objects.create(request=req, opened_at=clock.now(), policy_snapshot={"quorum": 1, "veto": True,
                                                                                    "voter_team": None}, **fields)
    UpgradeRequest.objects.filter(cab_reviews__outcome="open").update(state="cab_review")


def test_query_counts_do_not_grow_with_rows(client, api, admin_user, approver, requester, auditor, system_a,
                                            component_a):
    client.force_login(admin_user)
    sizes = []
    for n in (2, 12):
        _policies(admin_user, n)
        sizes.append((_count(lambda: client.get(reverse("cab:policies"))),
                      _count(lambda: api(fresh(admin_user)).get("/api/v1/cab/policies/"))))
    assert sizes[0] == sizes[1]

    sizes = []
    for n in (5, 40):
        _templates(requester, system_a, n)
        sizes.append((_count(lambda: client.get(reverse("cab:templates"))),
                      _count(lambda: api(fresh(admin_user)).get("/api/v1/cab/templates/"))))
    assert sizes[0] == sizes[1]

    sizes = []
    client.force_login(approver)
    for n in (5, 40):
        _delegations(approver, n)
        sizes.append((_count(lambda: client.get(reverse("cab:delegations"))),
                      _count(lambda: api(fresh(approver)).get("/api/v1/cab/delegations/"))))
    assert sizes[0] == sizes[1]


def test_review_lists_and_my_work_query_counts(client, api, approver, requester, auditor, admin_user, component_a):
    client.force_login(approver)
    sizes = []
    for n in (5, 40):
        _reviews(requester, component_a, n)
        sizes.append((_count(lambda: client.get(reverse("core:my-work"))),
                      _count(lambda: api(fresh(approver)).get("/api/v1/cab/reviews/")),
                      _count(lambda: api(fresh(approver)).get("/api/v1/cab/reviews/", {"awaiting": "1"}))))
    assert sizes[0] == sizes[1]
    page = client.get(reverse("core:my-work")).content.decode()
    assert page.count("Vote awaited") >= 1

    Review.objects.all().delete()
    client.force_login(auditor)
    today = clock.now().date()
    sizes = []
    for n in (5, 40):
        _reviews(requester, component_a, n, outcome="approved", emergency=True, decided_at=clock.now(),
                 retrospective_due=today + dt.timedelta(days=5))
        sizes.append(_count(lambda: client.get(reverse("cab:retrospectives"))))
    assert sizes[0] == sizes[1]


def test_delegation_page_names_a_delegate(login, approver):
    deputy = UserFactory(username="deputy", roles=["cab_member"])
    client = login(approver)
    bad = client.post(reverse("cab:delegations"), {"delegate": deputy.pk, "valid_from": "2026-12-10T09:00",
                                                   "valid_until": "2026-12-01T09:00"})
    assert bad.status_code == 400 and "must end after it starts" in bad.content.decode()
    ok = client.post(reverse("cab:delegations"), {"delegate": deputy.pk, "valid_from": "2026-12-01T09:00",
                                                  "valid_until": "2026-12-10T09:00"})
    assert ok.status_code == 302
    page = client.get(reverse("cab:delegations")).content.decode()
    assert "deputy" in page.lower() and "End now" in page
    assert PASSWORD


def test_votes_of_a_review_query_counts(upgrade, drive, admin_user, approver, api):
    """The review's votes (API detail and the vote panel the review page includes) at 2 and 8 votes."""
    from django.template.loader import render_to_string

    from apps.cab.selectors import vote_panel

    services.policy_save(by=admin_user, name="Big board", risk_class="normal", risk_level="any", quorum=20)
    req = drive(upgrade, "cab_review")
    review = Review.objects.get(request=req)
    voters = [UserFactory(username=f"member{i}", roles=["cab_member"]) for i in range(8)]

    def measure():
        def panel():
            from django.http import HttpResponse

            fresh_review = Review.objects.select_related("request", "plan_version", "template").get(pk=review.pk)
            html = render_to_string("cab/partials/vote_panel.html",
                                    {"panel": vote_panel(review=fresh_review, user=fresh(approver))})
            return HttpResponse(html)

        return (_count(lambda: api(fresh(approver)).get(f"/api/v1/cab/reviews/{review.pk}/")), _count(panel))

    sizes = []
    for n in (2, 8):
        for voter in voters[len(review.votes.all()):n]:
            services.vote_cast(review=review, voter=voter, decision="approve", conditions=["c1", "c2"],
                               password=PASSWORD)
        sizes.append(measure())
    assert sizes[0] == sizes[1]
