"""Wires the post-implementation review into the rest of Tollgate: the close gates, My work, the seed."""

import datetime as dt


def seed_before_close(*, request, by, users) -> None:
    """Before a request closes (demo seed and tests' drive()): list and confirm the readiness items,
    record a follow-up and complete the review, through the services."""
    from apps.accounts.duties import duty_holders
    from apps.core import clock

    from . import backlog, pir, readiness
    from .models import PostImplementationReview, ReadinessItem

    if request.state not in pir.REVIEW_STATES:  # nothing to review yet
        return
    item = request.items.first()
    what = f"{item.product} {item.target_version}" if item else request.title
    if not ReadinessItem.objects.filter(request=request).exists():
        doc = readiness.readiness_add(request=request, by=by, kind=ReadinessItem.Kind.SERVICE_DOC,
                                      title=f"Service documentation for {what}")
        readiness.readiness_confirm(item=doc, by=by,
                                    link=f"https://wiki.example.com/{request.reference}/service")
        runbook = readiness.readiness_add(request=request, by=by, kind=ReadinessItem.Kind.DR_RUNBOOK,
                                          title=f"Disaster-recovery runbook for {what}")
        readiness.readiness_confirm(item=runbook, by=by,
                                    link=f"https://wiki.example.com/{request.reference}/dr-runbook")
    review = PostImplementationReview.objects.filter(request=request).first()
    if review is not None and review.status == PostImplementationReview.Status.COMPLETED:
        return
    owner = (duty_holders(request).get("implementer") or [by])[0]
    pir.followup_add(request=request, by=by, title=f"Automate the post-checks used for {what}", owner=owner,
                     due_date=clock.now().date() + dt.timedelta(days=30), priority="medium")
    backlog.backlog_import(request=request, by=by)
    rolled_back = request.state != "completed"
    pir.pir_save(
        request=request, by=by, complete=True,
        success_criteria="not_met" if rolled_back else "met",
        success_notes=("The upgrade did not reach its target version." if rolled_back
                       else "Target version running, checks green."),
        went_well="The runbook steps ran in order and the health checks answered within seconds.",
        went_badly="The maintenance page went up late; users saw errors for a few minutes.",
        lessons=f"For {what}: put the maintenance page up before the first outage step and warm the caches "
                "before handing to validation.",
    )


def register() -> None:
    """Registers gates, effects, inbox providers, beat schedules and seed hooks."""
    from apps.core import inbox
    from apps.core.seed import register_before
    from apps.upgrades import gates

    from . import pir, readiness, selectors

    gates.register("close", "post_implementation_review", "reviews", pir.close_reasons)
    gates.register("close", "operational_readiness", "reviews", readiness.readiness_reasons)
    inbox.register("reviews.overdue_backlog", selectors.inbox_overdue_backlog)
    inbox.register("reviews.pir", selectors.inbox_reviews)
    register_before("close", seed_before_close)
