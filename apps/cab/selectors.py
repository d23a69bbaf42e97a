"""Reads of the CAB's decisions shared by the pages, the API, the inbox and other apps."""

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.urls import reverse

from apps.accounts import sod
from apps.accounts.choices import Duty, Role
from apps.core import clock
from apps.core.inbox import InboxItem
from apps.core.memo import per_page
from apps.upgrades.choices import RiskClass, State
from apps.upgrades.models import UpgradeRequest, UpgradeRequestUserObjectPermission

from . import policies
from .models import (ApprovalPolicy, Condition, Decision, Delegation, Review, ReviewOutcome, StandardTemplate,
                     Vote)


@per_page
def review_current(request: UpgradeRequest) -> Review | None:
    """The open review of a request, else its most recent one (None before it was ever submitted)."""
    reviews = Review.objects.filter(request=request).select_related("plan_version", "template", "retrospective_by")
    return reviews.filter(outcome=ReviewOutcome.OPEN).first() or reviews.order_by("-opened_at", "-pk").first()


def review_get(pk) -> Review | None:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return Review.objects.select_related("request", "plan_version", "template").filter(pk=pk).first()


def review_visible_get(*, user, pk) -> Review:
    """A review of a request the user may see, else 404."""
    from django.http import Http404

    from apps.upgrades.selectors import upgrade_visible

    review = review_get(pk)
    if review is None or not upgrade_visible(user).filter(pk=review.request_id).exists():
        raise Http404("No such review.")
    return review


def votes_of(review: Review) -> list[Vote]:
    return list(review.votes.select_related("voter", "on_behalf_of", "plan_version")
                .prefetch_related("conditions__acknowledged_by", "voter__groups", "voter__teams",
                                  "on_behalf_of__groups", "on_behalf_of__teams")
                .order_by("signed_at", "pk"))


def delegators_of(user) -> list:
    """The CAB members who named `user` their delegate for now."""
    if user is None or not user.is_authenticated:
        return []
    now = clock.now()
    return [d.principal for d in Delegation.objects.filter(delegate=user, valid_from__lte=now, valid_until__gt=now)
            .select_related("principal").order_by("principal__username")]


def retrospective_state(review: Review) -> str | None:
    """"due", "overdue", "done" or None (no retrospective for this review)."""
    if review.retrospective_due is None:
        return None
    if review.retrospective_done_at is not None:
        return "done"
    return "overdue" if clock.now().date() > review.retrospective_due else "due"


def vote_panel(*, review: Review, user) -> dict:
    """What the vote panel of the review page shows to `user`, and what they may do there."""
    from apps.accounts import duties

    from .services import template_valid, vote_blockers

    request = review.request
    votes = votes_of(review)
    live = [v for v in votes if not v.stale]
    stale = [v for v in votes if v.stale]
    result = policies.tally(review, votes=live)
    snap = review.policy_snapshot or policies.DEFAULT
    is_cab = user.is_authenticated and user.has_role(Role.CAB_MEMBER)
    blockers, _ = vote_blockers(review=review, voter=user) if is_cab else ([], [])
    principals = []
    if is_cab and review.outcome == ReviewOutcome.OPEN:
        for principal in delegators_of(user):
            reasons, _ = vote_blockers(review=review, voter=user, on_behalf_of=principal)
            principals.append({"user": principal, "reasons": reasons})
    held = duties.duties_of(user, request)
    conditions = [c for v in live for c in v.conditions.all()]
    retro = retrospective_state(review)
    retro_blockers = []
    if retro in ("due", "overdue"):
        if not is_cab:
            retro_blockers = ["Only CAB members complete the retrospective review."]
        else:
            from .services import retrospective_blockers

            retro_blockers = retrospective_blockers(request=request, user=user)
    mine = next((v for v in live if v.voter_id == getattr(user, "pk", None)), None)
    return {
        "review": review,
        "request": request,
        "my_vote": mine,
        "snapshot": snap,
        "open": review.outcome == ReviewOutcome.OPEN,
        "template_valid": template_valid(review.template),
        "votes": live,
        "stale_votes": stale,
        "tally": result,
        "approvals": len(result.approvals),
        "quorum": result.quorum,
        "reasons": result.reasons,
        "is_cab": is_cab,
        "can_vote": is_cab and review.outcome == ReviewOutcome.OPEN and not blockers,
        "blockers": blockers,
        "principals": principals,
        "decisions": Decision.choices,
        "conditions": conditions,
        "can_acknowledge": Duty.IMPLEMENTER in held and review.outcome == ReviewOutcome.APPROVED,
        "retrospective": retro,
        "can_retrospective": retro in ("due", "overdue") and not retro_blockers,
        "retrospective_blockers": retro_blockers,
    }


def conditions_unacknowledged(request: UpgradeRequest) -> list[Condition]:
    """Conditions of the live votes of the request's current review still waiting for the implementer."""
    review = review_current(request)
    if review is None:
        return []
    return list(Condition.objects.filter(vote__review=review, vote__stale=False, acknowledged_at__isnull=True)
                .select_related("vote__voter").order_by("pk"))


def conditions_of(request: UpgradeRequest) -> list[Condition]:
    review = review_current(request)
    if review is None:
        return []
    return list(Condition.objects.filter(vote__review=review, vote__stale=False)
                .select_related("vote__voter", "acknowledged_by").order_by("pk"))


def _conflicting_duties() -> dict[str, list[str]]:
    """Per risk class, the duties whose holder may not also approve (the configured policy)."""
    overrides = {rc: sod._overrides(rc) for rc in RiskClass.values}
    return {rc: [d for d in Duty.values if d != Duty.APPROVER
                 and not sod.pair_allowed(d, Duty.APPROVER, rc, overrides[rc])]
            for rc in RiskClass.values}


def awaiting_vote(user) -> QuerySet:
    """Open reviews this user may still vote on: CAB member, no live vote, no conflicting duty, voter team."""
    if user is None or not user.is_authenticated or not user.is_active or not user.has_role(Role.CAB_MEMBER):
        return Review.objects.none()
    qs = Review.objects.filter(outcome=ReviewOutcome.OPEN, request__state=State.CAB_REVIEW)
    live = Vote.objects.filter(review=OuterRef("pk"), stale=False)
    qs = qs.exclude(Exists(live.filter(Q(voter=user) | Q(on_behalf_of=user))))
    for risk_class, conflicting in _conflicting_duties().items():
        if conflicting:
            held = UpgradeRequestUserObjectPermission.objects.filter(
                content_object=OuterRef("request_id"), user=user,
                permission__codename__in=[f"duty_{d}" for d in conflicting])
            qs = qs.exclude(Q(request__risk_class=risk_class) & Exists(held))
    team_ids = list(user.teams.values_list("pk", flat=True))
    qs = qs.filter(Q(policy_snapshot__voter_team=None) | Q(policy_snapshot__voter_team__isnull=True)
                   | Q(policy_snapshot__voter_team__id__in=team_ids))
    return qs.select_related("request").order_by("opened_at", "pk")


def _review_url(request: UpgradeRequest) -> str:
    from django.urls import NoReverseMatch

    try:
        return reverse("cab_board:review", args=[request.reference])
    except NoReverseMatch:
        return request.get_absolute_url()


def inbox_votes(user) -> list[InboxItem]:
    rows = list(awaiting_vote(user)[:100])
    return [InboxItem(kind="Vote awaited", title=str(r.request), url=_review_url(r.request),
                      detail=("Emergency CAB · " if r.emergency else "") + r.request.get_risk_class_display(),
                      due=r.request.window_start)
            for r in rows]


def inbox_conditions(user) -> list[InboxItem]:
    """Approval conditions the user, as implementer, has to acknowledge before execution."""
    if user is None or not user.is_authenticated:
        return []
    requests = (UpgradeRequestUserObjectPermission.objects
                .filter(user=user, permission__codename=f"duty_{Duty.IMPLEMENTER}",
                        content_object__state__in=[State.APPROVED, State.SCHEDULED])
                .values("content_object_id"))
    rows = (Condition.objects.filter(vote__review__request_id__in=requests, vote__stale=False,
                                     vote__review__outcome=ReviewOutcome.APPROVED, acknowledged_at__isnull=True)
            .select_related("vote__review__request").order_by("pk")[:100])
    return [InboxItem(kind="Approval condition to acknowledge", title=c.text[:120],
                      url=reverse("cab:conditions", args=[c.vote.review.request.reference]),
                      detail=c.vote.review.request.reference, due=c.vote.review.request.window_start)
            for c in rows]


def retrospectives(*, user=None) -> QuerySet:
    """Emergency reviews with a retrospective due, overdue first, then by due date."""
    qs = Review.objects.filter(retrospective_due__isnull=False).select_related("request", "retrospective_by")
    if user is not None:
        from apps.upgrades.selectors import upgrade_visible

        qs = qs.filter(request__in=upgrade_visible(user))
    return qs.order_by(F("retrospective_done_at").asc(nulls_first=True), "retrospective_due", "pk")


def inbox_retrospectives(user) -> list[InboxItem]:
    if user is None or not user.is_authenticated or not user.has_role(Role.CAB_MEMBER):
        return []
    rows = Review.objects.filter(retrospective_due__isnull=False, retrospective_done_at__isnull=True) \
        .select_related("request").order_by("retrospective_due", "pk")[:100]
    today = clock.now().date()
    return [InboxItem(kind="Emergency retrospective " + ("overdue" if r.retrospective_due < today else "due"),
                      title=str(r.request), url=_review_url(r.request),
                      detail=f"Due {r.retrospective_due:%d %b %Y}")
            for r in rows]


# --- lists -------------------------------------------------------------------------------------------------


def policy_list() -> QuerySet:
    return ApprovalPolicy.objects.select_related("voter_team", "updated_by").prefetch_related("required_teams") \
        .order_by("risk_class", "risk_level", "pk")


def template_list() -> QuerySet:
    return StandardTemplate.objects.select_related("created_by", "approved_by").prefetch_related("systems") \
        .order_by("status", "name", "pk")


def delegation_list(user) -> QuerySet:
    qs = Delegation.objects.select_related("principal", "delegate", "created_by")
    if not user.has_role(Role.ADMIN, Role.AUDITOR):
        qs = qs.filter(Q(principal=user) | Q(delegate=user))
    return qs.order_by("-valid_from", "pk")


def review_list(*, user) -> QuerySet:
    from apps.upgrades.selectors import upgrade_visible

    return (Review.objects.filter(request__in=upgrade_visible(user))
            .select_related("request", "plan_version", "template")
            .prefetch_related(Prefetch("votes", queryset=Vote.objects.filter(stale=False)
                                       .select_related("voter", "on_behalf_of")))
            .order_by("-opened_at", "-pk"))
