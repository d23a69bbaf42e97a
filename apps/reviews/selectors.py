"""Reads shared by the review pages, the API, the assessment page and My work."""

import datetime as dt

from django.db.models import Q, QuerySet
from django.urls import reverse

from apps.core import clock
from apps.core.inbox import InboxItem
from apps.upgrades.models import UpgradeItem, UpgradeRequest
from apps.upgrades.selectors import upgrade_visible

from .models import BacklogItem, PostImplementationReview, ReadinessItem, TrainingRecord
from .pir import REVIEW_STATES, due_days


def review_of(request: UpgradeRequest) -> PostImplementationReview | None:
    return (PostImplementationReview.objects.filter(request=request)
            .select_related("created_by", "completed_by").first())


def follow_ups_of(request: UpgradeRequest) -> QuerySet:
    return (BacklogItem.objects.filter(request=request).select_related("request", "owner", "done_by")
            .order_by("due_date", "pk"))


def readiness_of(request: UpgradeRequest) -> QuerySet:
    return ReadinessItem.objects.filter(request=request).select_related("confirmed_by")


def training_of(request: UpgradeRequest) -> QuerySet:
    return TrainingRecord.objects.filter(request=request).select_related("trainee", "recorded_by")


def _completed_reviews(user=None) -> QuerySet:
    qs = PostImplementationReview.objects.filter(status=PostImplementationReview.Status.COMPLETED)
    if user is not None:
        qs = qs.filter(request__in=upgrade_visible(user).values("pk"))
    return qs.select_related("request", "completed_by").order_by("-completed_at", "-pk")


def lessons_for(request: UpgradeRequest, *, user=None, limit: int = 10) -> list[PostImplementationReview]:
    """Completed reviews of earlier requests on the same systems or products ("last time this upgrade ...").

    With `user`, only reviews of requests that user may see."""
    items = list(UpgradeItem.objects.filter(request=request).values_list("system_id", "product"))
    systems = {s for s, _ in items}
    products = {p for _, p in items if p}
    if not items:
        return []
    touching = (UpgradeItem.objects.filter(Q(system_id__in=systems) | Q(product__in=products))
                .values("request_id"))
    qs = _completed_reviews(user).filter(request_id__in=touching).exclude(request=request).exclude(lessons="")
    return list(qs[:limit])


def lesson_search(*, user, text: str = "") -> QuerySet:
    """Lessons of the completed reviews the user may see, searched in every free-text field."""
    qs = _completed_reviews(user).exclude(lessons="")
    text = (text or "").strip()[:200]
    if text:
        qs = qs.filter(Q(lessons__icontains=text) | Q(went_well__icontains=text)
                       | Q(went_badly__icontains=text)
                       | Q(request__title__icontains=text) | Q(request__reference__iexact=text)
                       | Q(request__items__product__icontains=text)
                       | Q(request__items__system__name__icontains=text)).distinct()
    return qs


def backlog_list(*, user, filters: dict | None = None) -> QuerySet:
    """Backlog items of the requests the user may see, plus those the user owns."""
    filters = filters or {}
    qs = BacklogItem.objects.filter(Q(request__in=upgrade_visible(user).values("pk")) | Q(owner=user))
    status = filters.get("status", "open")
    if status in BacklogItem.Status.values:
        qs = qs.filter(status=status)
    if filters.get("overdue"):
        qs = qs.filter(status=BacklogItem.Status.OPEN, due_date__lt=clock.now().date())
    if filters.get("mine"):
        qs = qs.filter(owner=user)
    if filters.get("kind") in BacklogItem.Kind.values:
        qs = qs.filter(kind=filters["kind"])
    return qs.select_related("request", "owner").order_by("due_date", "pk")


# --- My work ---------------------------------------------------------------------------------


def inbox_overdue_backlog(user) -> list[InboxItem]:
    rows = (BacklogItem.objects.filter(owner=user, status=BacklogItem.Status.OPEN,
                                       due_date__lt=clock.now().date())
            .select_related("request").order_by("due_date", "pk")[:50])
    url = reverse("reviews:backlog") + "?mine=1&overdue=1"
    return [InboxItem(kind="Overdue backlog item", title=i.title, url=url,
                      detail=f"{i.get_priority_display()} priority · {i.request.reference} · due "
                             f"{i.due_date:%d %b %Y}")
            for i in rows]


def inbox_reviews(user) -> list[InboxItem]:
    """Reviews the user (as requester) still has to complete."""
    from apps.accounts.choices import Duty
    from apps.upgrades.models import UpgradeRequestUserObjectPermission

    requests = (UpgradeRequestUserObjectPermission.objects
                .filter(user=user, permission__codename=f"duty_{Duty.REQUESTER}",
                        content_object__state__in=REVIEW_STATES)
                .exclude(content_object__pir__status=PostImplementationReview.Status.COMPLETED)
                .select_related("content_object__pir").order_by("content_object__state_changed_at"))
    items = []
    for row in requests[:50]:
        req = row.content_object
        pir = getattr(req, "pir", None)
        due = pir.due_at if pir else req.state_changed_at + dt.timedelta(days=due_days())
        items.append(InboxItem(kind="Post-implementation review to complete", title=str(req),
                               url=reverse("reviews:request", args=[req.reference]), due=due))
    return items
