"""Reads of the CAB board: the queue of requests awaiting the CAB and the one review page per request.

Everything is scoped by `apps.upgrades.selectors.upgrade_visible`; the queue is one
query whatever its length (counts come from subqueries, not from per-row reads).
Other apps' parts of the review page come from their selectors (assessments, R1's
plan summary, R2's conflicts, C1's review and vote panel); C2 only reads them.
"""

import importlib

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from apps.accounts.choices import Role
from apps.upgrades.choices import State
from apps.upgrades.models import UpgradeRequest
from apps.upgrades.selectors import upgrade_visible

from .models import Review, ReviewOutcome, Vote

BOARD_ROLES = (Role.CAB_MEMBER, Role.ADMIN, Role.AUDITOR)
WRITE_ROLES = (Role.CAB_MEMBER, Role.ADMIN)


def can_see_board(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_role(*BOARD_ROLES))


def can_run_board(user) -> bool:
    """Schedules meetings, records minutes (the auditor reads only)."""
    return bool(user and user.is_authenticated and user.is_active and user.has_role(*WRITE_ROLES))


VOTE_PANEL = "cab/partials/vote_panel.html"


def _template_exists(name: str) -> bool:
    from django.template import TemplateDoesNotExist
    from django.template.loader import get_template

    try:
        get_template(name)
    except TemplateDoesNotExist:
        return False
    return True


def _optional(module: str, name: str):
    """Another helper's selector, or None while its part has not landed."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def _count(qs: QuerySet, field: str = "request") -> Coalesce:
    counted = qs.order_by().values(field).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted[:1], output_field=IntegerField()), Value(0))


def queue_list(*, user, filters: dict | None = None) -> QuerySet:
    """Requests awaiting the CAB (in CAB review) that `user` may see, with what the queue shows per row."""
    from apps.rollouts.models import Conflict, RunbookStep, Wave

    filters = filters or {}
    qs = upgrade_visible(user).filter(state=State.CAB_REVIEW)
    open_reviews = Review.objects.filter(request=OuterRef("pk"), outcome=ReviewOutcome.OPEN)
    live = Vote.objects.filter(review__request=OuterRef("pk"), review__outcome=ReviewOutcome.OPEN, stale=False)
    qs = qs.annotate(
        review_pk=Subquery(open_reviews.values("pk")[:1]),
        review_emergency=Subquery(open_reviews.values("emergency")[:1]),
        approvals=_count(live.filter(decision="approve"), "review__request"),
        rejections=_count(live.filter(decision="reject"), "review__request"),
        open_conflict_count=_count(Conflict.objects.filter(request=OuterRef("pk"), status="open")),
        backout_step_count=_count(RunbookStep.objects.filter(plan__request=OuterRef("pk"), runbook="backout"),
                                  "plan__request"),
        wave_count=_count(Wave.objects.filter(plan__request=OuterRef("pk")), "plan__request"),
    )
    if filters.get("risk_class"):
        qs = qs.filter(risk_class=filters["risk_class"])
    if filters.get("awaiting") and user.has_role(Role.CAB_MEMBER):
        ids = awaiting_request_ids(user)
        qs = qs.filter(pk__in=ids)
    return qs.select_related("requester", "assessment", "plan").order_by("state_changed_at", "pk")


def awaiting_request_ids(user) -> set[int]:
    """Requests whose open review still waits for this user's vote (C1's rule), in one query."""
    awaiting = _optional("apps.cab.selectors", "awaiting_vote")
    if awaiting is None or not user.has_role(Role.CAB_MEMBER):
        return set()
    return set(awaiting(user).values_list("request_id", flat=True))


def queue_rows(*, user, filters: dict | None = None) -> list[UpgradeRequest]:
    """The queue with an `awaiting_you` flag per row (two queries whatever the length)."""
    rows = list(queue_list(user=user, filters=filters))
    waiting = awaiting_request_ids(user) if rows else set()
    for row in rows:
        row.awaiting_you = row.pk in waiting
    return rows


# --- the review page ----------------------------------------------------------------------------------


def _policy_of(review: Review | None) -> dict:
    if review is None:
        return {}
    snap = review.policy_snapshot or {}
    return {
        "name": snap.get("name") or (review.policy.name if review.policy_id and review.policy else ""),
        "quorum": snap.get("quorum"),
        "veto": snap.get("veto"),
        "voter_team": snap.get("voter_team") or snap.get("voter_team_name"),
        "required_teams": snap.get("required_teams") or [],
        "require_critical_owner_teams": snap.get("require_critical_owner_teams"),
        "retrospective_days": snap.get("retrospective_days"),
    }


def review_votes(review: Review | None) -> list[Vote]:
    if review is None:
        return []
    return list(review.votes.select_related("voter", "on_behalf_of", "plan_version")
                .prefetch_related("conditions").order_by("signed_at", "pk"))


def _line(value) -> str:
    if isinstance(value, dict):
        return " — ".join(str(v) for v in value.values() if v not in (None, ""))
    return str(value)


def _pairs(value) -> list[tuple[str, str]]:
    if not isinstance(value, dict):
        return []
    return [(str(k).replace("_", " ").capitalize(), _line(v) if isinstance(v, dict) else str(v))
            for k, v in value.items() if v not in (None, "", [], {})]


def review_context(*, request: UpgradeRequest, user) -> dict:
    """Everything the one review page shows about `request` (the caller has checked visibility)."""
    from apps.assessments import selectors as assessment_selectors

    assessment = assessment_selectors.assessment_for(request)
    findings = []
    if assessment is not None:
        findings = [f for f in assessment_selectors.findings_of(assessment) if f.resolution == "open"]
        findings += list(assessment_selectors.system_findings(request))

    review_current = _optional("apps.cab.selectors", "review_current")
    review = review_current(request) if review_current else (
        Review.objects.filter(request=request).select_related("plan_version", "policy").order_by("-opened_at").first())
    plan_summary = _optional("apps.rollouts.selectors", "plan_summary")
    current_version = _optional("apps.rollouts.selectors", "current_version")
    open_conflicts = _optional("apps.rollouts.calendar.selectors", "open_conflicts")
    vote_panel = _optional("apps.cab.selectors", "vote_panel") if _template_exists(VOTE_PANEL) else None

    version = review.plan_version if review is not None and review.plan_version_id else None
    if version is None and current_version is not None:
        version = current_version(request)
    summary = plan_summary(request) if plan_summary else None
    votes = review_votes(review)
    from apps.rollouts.models import FreezeException

    exceptions = list(FreezeException.objects.filter(request=request)
                      .select_related("freeze", "requested_by", "decided_by").order_by("-requested_at"))
    from .exceptions import can_decide_reasons

    for exc in exceptions:
        exc.decide_blockers = can_decide_reasons(exception=exc, user=user) if exc.status == "requested" else []
    return {
        "upgrade": request,
        "items": list(request.items.select_related("system", "component")),
        "assessment": assessment,
        "factors": assessment.risk_factors if assessment else [],
        "findings": findings,
        "review": review,
        "policy": _policy_of(review),
        "votes": votes,
        "stale_votes": [v for v in votes if v.stale],
        "plan": summary,
        "plan_data_migration": _pairs((summary or {}).get("data_migration")),
        "plan_fallbacks": [_line(f) for f in (summary or {}).get("fallbacks") or []],
        "plan_version": version,
        "conflicts": list(open_conflicts(request)) if open_conflicts else [],
        "vote_panel": vote_panel(review=review, user=user) if (vote_panel and review is not None) else None,
        "comments": list(request.comments.select_related("author").order_by("created_at", "pk")),
        "freeze_exceptions": exceptions,
    }
