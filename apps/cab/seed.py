"""What the CAB adds to the demo seed and to the test driver (apps.core.seed.register_before hooks).

- before `submit_to_cab`: the demo's approval policies (normal: quorum 2 with veto; standard:
  quorum 1; emergency: an emergency CAB team of two with a five-day retrospective), installed
  once, by an administrator, and only when the people exist to satisfy them (two CAB members
  or more) — the tests' single `approver` keeps the built-in default (quorum 1).
- before `approve`: eligible CAB members among `users` cast signed approving votes until the
  policy's quorum is met; the deciding vote approves the request (so the caller skips it).
  They sign with the demo's published password (the tests' personas share it); a member
  whose password it is not cannot sign, so no vote is cast for them.
"""

from django.db import transaction

from apps.accounts.choices import Role

from apps.core.seed.data import PASSWORD as DEMO_PASSWORD
EMERGENCY_TEAM = ("emergency-cab", "Emergency CAB")
_password_known: dict[tuple[int, str], bool] = {}


def _by_role(users: dict, role: str) -> list:
    return sorted((u for u in users.values() if u is not None and u.is_active and u.has_role(role)),
                  key=lambda u: u.username)


def _emergency_team(members: list, by):
    from apps.accounts.models import Team
    from apps.audit.services import audit_append

    slug, name = EMERGENCY_TEAM
    team = Team.objects.filter(slug=slug).first()
    if team is not None:
        return team
    team = Team(name=name, slug=slug)
    team.full_clean()
    with transaction.atomic():
        team.save()
        team.members.add(*members)
        audit_append(action="team.create", actor=by, obj=team,
                     after={"name": name, "slug": slug, "members": [m.username for m in members]})
    return team


def seed_policies(*, request, by, users: dict) -> None:
    from .models import ApprovalPolicy
    from .services import policy_save

    admins, cab = _by_role(users, Role.ADMIN), _by_role(users, Role.CAB_MEMBER)
    if ApprovalPolicy.objects.exists() or not admins or len(cab) < 2:
        return
    admin = admins[0]
    policy_save(by=admin, name="Normal change", risk_class="normal", risk_level="any", quorum=2, veto=True)
    policy_save(by=admin, name="Standard change", risk_class="standard", risk_level="any", quorum=1, veto=True)
    team = _emergency_team(cab[:2], admin)
    policy_save(by=admin, name="Emergency change (emergency CAB)", risk_class="emergency", risk_level="any",
                quorum=2, veto=True, voter_team=team, retrospective_days=5)


def _signs_with_demo_password(user) -> bool:
    key = (user.pk, user.password)
    if key not in _password_known:
        _password_known[key] = user.check_password(DEMO_PASSWORD)
    return _password_known[key]


def seed_votes(*, request, by, users: dict) -> None:
    from apps.upgrades.choices import State

    from . import policies
    from .models import Decision, Review, ReviewOutcome
    from .services import template_valid, vote_blockers, vote_cast

    request.refresh_from_db()
    if request.state != State.CAB_REVIEW:
        return
    review = Review.objects.select_related("request", "template").filter(
        request=request, outcome=ReviewOutcome.OPEN).first()
    if review is None or (review.template_id and template_valid(review.template)):
        return
    # the person driving the transition first (the tests' approver), then the others
    candidates = _by_role(users, Role.CAB_MEMBER)
    if by is not None and by in candidates:
        candidates.remove(by)
        candidates.insert(0, by)
    for voter in candidates:
        review.refresh_from_db()
        if review.outcome != ReviewOutcome.OPEN or policies.tally(review).decision:
            break
        reasons, _ = vote_blockers(review=review, voter=voter)
        if reasons:
            continue
        if _signs_with_demo_password(voter):  # others cannot sign: their vote is not cast for them
            vote_cast(review=review, voter=voter, decision=Decision.APPROVE, password=DEMO_PASSWORD)


def seed_retrospective(*, request, by, users: dict) -> None:
    """An emergency change that goes on to be scheduled had its retrospective review by then (the full CAB,
    someone outside the emergency CAB when possible)."""
    from .models import Review
    from .services import retrospective_blockers, retrospective_complete

    review = (Review.objects.filter(request=request, emergency=True, retrospective_due__isnull=False,
                                    retrospective_done_at__isnull=True).order_by("-opened_at").first())
    if review is None:
        return
    team = (review.policy_snapshot or {}).get("voter_team") or {}
    cab = _by_role(users, Role.CAB_MEMBER)
    cab.sort(key=lambda u: team.get("id") in {t.pk for t in u.teams.all()})
    for reviewer in cab:
        if retrospective_blockers(request=request, user=reviewer):
            continue
        retrospective_complete(review=review, by=reviewer, notes=(
            "Retrospective review: the emergency was real (exploitable vulnerability on an internet-facing "
            "system); the emergency CAB's approval and the runbook were appropriate. Follow-up: add the "
            "component to the monthly patch schedule."))
        return


def register() -> None:
    from apps.core.seed import register_before

    register_before("submit_to_cab", seed_policies)
    register_before("approve", seed_votes)
    register_before("schedule", seed_retrospective)
