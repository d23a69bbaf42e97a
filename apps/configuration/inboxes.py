"""What configuration control waits on a person for: UAT sign-offs and exceptions to decide."""

from django.db.models import Q
from django.urls import reverse

from apps.core.inbox import InboxItem
from apps.inventory.models import BusinessWorkflow
from apps.upgrades.choices import State
from apps.upgrades.models import UpgradeRequest

from .choices import ExceptionStatus
from .models import ConfigException, UatSignoff


def signoffs_waiting(user) -> list[InboxItem]:
    """Requests in planning touching a workflow this person owns, not signed off yet."""
    owned = list(BusinessWorkflow.objects.filter(Q(owner=user) | Q(owner__isnull=True, owner_team__members=user))
                 .values_list("pk", "system_id", "name"))
    if not owned:
        return []
    requests = (UpgradeRequest.objects.filter(state=State.PLANNING, items__system_id__in={s for _, s, _ in owned})
                .distinct().prefetch_related("items").order_by("window_start", "pk")[:50])
    signed = set(UatSignoff.objects.filter(request__in=requests).values_list("request_id", "workflow_id"))
    items = []
    for request in requests:
        systems = {i.system_id for i in request.items.all()}
        for pk, system_id, name in owned:
            if system_id in systems and (request.pk, pk) not in signed:
                items.append(InboxItem(kind="UAT sign-off", title=f"{request.reference}: {name}",
                                       url=reverse("configuration:request", args=[request.reference]),
                                       due=request.window_start))
    return items


def exceptions_to_decide(user) -> list[InboxItem]:
    if not user.has_role("cab_member", "admin"):
        return []
    rows = (ConfigException.objects.filter(status=ExceptionStatus.REQUESTED).exclude(requested_by=user)
            .select_related("system").order_by("requested_at")[:50])
    return [InboxItem(kind="Configuration exception to decide", title=f"{e.system.name}: {e.key_pattern}",
                      url=reverse("configuration:exceptions"), due=e.expires_at) for e in rows]
