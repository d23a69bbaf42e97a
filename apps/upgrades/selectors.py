"""Reads of upgrade requests shared by pages, API, exports and reports — all scoped by visibility."""

from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.http import Http404
from django.urls import reverse

from apps.accounts.choices import Duty, Role
from apps.core.inbox import InboxItem

from .choices import CAB_VISIBLE_STATES, RiskClass, State
from .models import UpgradeItem, UpgradeRequest, UpgradeRequestUserObjectPermission

SORTS = {
    "reference": "reference",
    "title": "title",
    "state": "state",
    "risk": "risk_class",
    "created": "created_at",
    "window": "window_start",
    "requester": "requester__username",
}
SEES_EVERYTHING = (Role.EXECUTIVE, Role.AUDITOR, Role.ADMIN)


def upgrade_visible(user, *, shape: str = "") -> QuerySet:
    """The one rule of who sees which request (DESIGN.md, "Who sees what").

    `shape` only changes how the database is asked for the same rows: "row" for one request looked up by
    reference (the rule probed for that row alone); and for a paged list of 100,000 requests:
    "hashed" keeps the IN a hashed subplan (the visible ids hashed once) that filters a walk of the list's
    ordered index, so a page reads a few hundred index entries instead of joining every request with the
    visible ids and sorting them; "array" (for a capped count) looks the visible ids up by primary key and
    stops at the cap, instead of walking every request."""
    qs = UpgradeRequest.objects.all()
    if user is None or not user.is_authenticated or not user.is_active:
        return qs.none()
    qs = _in_user_regions(qs, user)
    if user.has_role(*SEES_EVERYTHING):
        return qs
    # one IN over the union of the few ids a duty or an owner team gives (not two correlated EXISTS OR-ed):
    # PostgreSQL then hashes those ids instead of probing both rules for each of 100,000 requests
    # (no ORDER BY inside the union: SQLite refuses one in a compound subquery)
    granted = UpgradeRequestUserObjectPermission.objects.filter(user=user).order_by().values("content_object_id")
    teams = get_user_model().teams.through.objects.filter(user_id=user.pk).values("team_id")
    owned = UpgradeItem.objects.filter(system__owner_team__in=teams).order_by().values("request_id")
    # the list's shapes take the ids as they come (duplicates change no IN or hash); the plain IN keeps UNION,
    # whose de-duplicated estimate lets PostgreSQL choose a hash join where other pages (the calendar) need one
    ids = granted.union(owned, all=shape in ("hashed", "array"))
    if shape == "row":
        # one request (by reference): two probes of that row's grants and items beat collecting every id
        rule = (Q(Exists(granted.filter(content_object=OuterRef("pk"))))
                | Q(Exists(owned.filter(request=OuterRef("pk")))))
        if user.has_role(Role.CAB_MEMBER):
            rule |= Q(state__in=CAB_VISIBLE_STATES)
        return qs.filter(rule)
    if user.has_role(Role.CAB_MEMBER):
        return qs.filter(Q(pk__in=ids) | Q(state__in=CAB_VISIBLE_STATES))  # an OR: a hashed subplan already
    if shape == "array" and connection.vendor == "postgresql":
        return qs.filter(_AnyOfArray(F("pk"), Subquery(ids)))
    if shape == "hashed":
        # "OR false": no row more, but the IN is no longer a bare top-level condition, which the planner
        # would turn into a join (the IN stays a subplan, hashed)
        return qs.filter(Q(pk__in=ids) | Q(ExpressionWrapper(Value(False), output_field=BooleanField())))
    return qs.filter(pk__in=ids)


def visible_ids(user) -> list[int] | None:
    """The ids of the requests `user` sees through a duty or an owner team (the IN of the rule for someone who
    does not see everything and is not on the CAB), in the list's own order (newest first), remembered per
    person until the next write that may change them: every write appends an audit event (the Django admin's
    too), and the newest such event's number (audit.selectors.newest_shown_seq: not a comment, a refusal, a
    download or a sign-in) is part of the key, read before the ids (a write in between leaves the entry under a key
    nobody asks for again). They give the unfiltered list its exact count and, in its default order, its pages
    (a slice, no walk of the requests). None when not remembered: TOLLGATE_VISIBLE_IDS_SECONDS = 0 (the test
    suite), not PostgreSQL, or another reader."""
    from django.conf import settings
    from django.core.cache import cache

    from apps.audit.selectors import newest_shown_seq
    from apps.core import clock

    seconds = getattr(settings, "TOLLGATE_VISIBLE_IDS_SECONDS", 0)
    if (not seconds or connection.vendor != "postgresql" or user is None or not user.is_authenticated
            or not user.is_active or user.has_role(*SEES_EVERYTHING) or user.has_role(Role.CAB_MEMBER)):
        return None
    newest = newest_shown_seq()
    key = f"tollgate:visible-ids:{user.pk}:{newest}:{int(clock.now().timestamp() // seconds)}"
    ids = cache.get(key)
    if ids is None:
        granted = UpgradeRequestUserObjectPermission.objects.filter(user=user).values_list("content_object_id")
        teams = get_user_model().teams.through.objects.filter(user_id=user.pk).values("team_id")
        owned = UpgradeItem.objects.filter(system__owner_team__in=teams).values_list("request_id")
        ids = list(UpgradeRequest.objects.filter(pk__in=granted.order_by().union(owned.order_by(), all=True))
                   .order_by(F("created_at").desc(nulls_last=True), "-pk").values_list("pk", flat=True))
        cache.set(key, ids, seconds)
    return ids


def _unfiltered(user, filters: dict) -> bool:
    return not any(v for k, v in filters.items() if k != "sort") and not user_regions(user)


def visible_count(user, filters: dict) -> int | None:
    """The exact number of requests the unfiltered list shows `user`, when it is known without counting rows:
    the remembered ids of visible_ids() (each is a request: grants and items cascade with it), for a reader
    the region rule does not narrow. None otherwise."""
    if not _unfiltered(user, filters):
        return None
    ids = visible_ids(user)
    return None if ids is None else len(ids)


def visible_in_list_order(user, filters: dict) -> list[int] | None:
    """The ids of the unfiltered list in its default order (newest first), when visible_ids() remembers them:
    a page is then a slice of them. None for a filter, another order or when they are not remembered."""
    if not _unfiltered(user, filters) or (filters.get("sort") or "-created") != "-created":
        return None
    return visible_ids(user)


class _AnyOfArray(Func):
    """`pk = ANY(ARRAY(subquery))` (PostgreSQL): the subquery runs once, its ids are looked up by index."""

    arg_joiner = " = ANY(ARRAY"
    template = "%(expressions)s)"
    output_field = BooleanField()
    conditional = True


def _in_user_regions(qs: QuerySet, user, ref: str = "pk") -> QuerySet:
    """Data sovereignty: a user limited to regions sees only requests with no system outside them, whatever
    their role (one correlated subquery, no per-row queries). `ref` names the request in `qs`."""
    regions = user_regions(user)
    if not regions:
        return qs
    return qs.filter(~Exists(UpgradeItem.objects.filter(request=OuterRef(ref))
                             .exclude(system__region__in=sorted(regions))))


def user_regions(user) -> frozenset[str]:
    """The regions `user` is limited to; empty = not limited."""
    return getattr(user, "region_list", frozenset())  # anonymous users have none


def request_regions(request: UpgradeRequest) -> set[str]:
    """The regions of the systems of the request's items (a request carries the regions of its systems)."""
    if request.pk is None:
        return set()
    return {r for r in UpgradeItem.objects.filter(request=request).values_list("system__region", flat=True) if r}


def can_contribute(user, request: UpgradeRequest) -> bool:
    """Who may comment and attach: people with a duty, the owner teams, the CAB once it reviews, admins."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.has_role(Role.ADMIN):
        return True
    if user.has_role(Role.CAB_MEMBER) and request.state in CAB_VISIBLE_STATES:
        return True
    if UpgradeRequestUserObjectPermission.objects.filter(content_object=request, user=user).exists():
        return True
    return request.items.filter(system__owner_team__members=user).exists()


def _search(qs: QuerySet, text: str) -> QuerySet:
    text = text.strip()[:200]
    if not text:
        return qs
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        vector = SearchVector("reference", "title", "justification", "external_ref", config="simple")
        query = SearchQuery(text, search_type="websearch", config="simple")
        # the cheap substring tests first: PostgreSQL evaluates an OR in order, and rechecks it for every row
        # a (lossy) trigram index returns, so the text vector is computed only for rows they do not match
        return qs.annotate(_search=vector).filter(
            Q(title__icontains=text) | Q(reference__icontains=text) | Q(_search=query)
        )
    for term in text.split():
        qs = qs.filter(
            Q(reference__icontains=term) | Q(title__icontains=term) | Q(justification__icontains=term)
            | Q(external_ref__icontains=term)
        )
    return qs


def upgrade_list(*, user, filters: dict | None = None, shape: str = "hashed") -> QuerySet:
    """The requests `user` sees, filtered and sorted as the list asks. `shape`: see upgrade_visible ("array"
    for the list's capped count)."""
    filters = filters or {}
    qs = upgrade_visible(user, shape=shape)
    if filters.get("q"):
        qs = _search(qs, filters["q"])
    if filters.get("state"):
        qs = qs.filter(state__in=filters["state"] if isinstance(filters["state"], list) else [filters["state"]])
    if filters.get("risk_class"):
        qs = qs.filter(risk_class=filters["risk_class"])
    if filters.get("requester"):
        qs = qs.filter(requester__username=filters["requester"])
    if filters.get("system"):
        qs = qs.filter(Exists(UpgradeItem.objects.filter(request=OuterRef("pk"), system__slug=filters["system"])))
    if filters.get("environment"):
        qs = qs.filter(Exists(UpgradeItem.objects.filter(
            request=OuterRef("pk"), component__environment__slug=filters["environment"])))
    if filters.get("created_from"):
        qs = qs.filter(created_at__date__gte=filters["created_from"])
    if filters.get("created_to"):
        qs = qs.filter(created_at__date__lte=filters["created_to"])
    sort = filters.get("sort") or "-created"
    field = SORTS.get(sort.lstrip("-"), "created_at")
    # "not set" sorts last both ways, on SQLite and PostgreSQL alike (their NULL defaults differ)
    order = F(field).desc(nulls_last=True) if sort.startswith("-") else F(field).asc(nulls_last=True)
    return (
        qs.select_related("requester", "revised_from")
        .prefetch_related(Prefetch("items", queryset=UpgradeItem.objects.select_related("system", "component")))
        .order_by(order, "-pk")
    )


class ListRow(NamedTuple):
    """One row of the request list: what its table shows, read as plain values (no model instances)."""

    reference: str
    title: str
    state: str
    state_label: str
    risk_class: str
    risk_label: str
    requester_name: str
    window_start: object
    window_end: object
    created_at: object
    systems: list  # (slug, name) of the items' systems, each once, in item order


def upgrade_list_rows(ids) -> list[ListRow]:
    """The rows of one page of the request list, in the order of `ids` (a page of `upgrade_list(...)` ids,
    so already visible to the reader): two queries of plain values, the columns the table shows and each
    item's system (building 25 requests and their items as model instances cost more than the queries)."""
    ids = list(ids)
    systems: dict[int, dict] = {pk: {} for pk in ids}
    for request_id, slug, name in (UpgradeItem.objects.filter(request_id__in=ids).order_by("id")
                                   .values_list("request_id", "system__slug", "system__name")):
        systems[request_id].setdefault(slug, name)
    states, risks = dict(State.choices), dict(RiskClass.choices)
    rows = {}
    for (pk, reference, title, state, risk, start, end, created, username, first, last) in (
            UpgradeRequest.objects.filter(pk__in=ids).order_by().values_list(
                "pk", "reference", "title", "state", "risk_class", "window_start", "window_end", "created_at",
                "requester__username", "requester__first_name", "requester__last_name")):
        rows[pk] = ListRow(reference, title, state, states.get(state, state), risk, risks.get(risk, risk),
                           f"{first} {last}".strip() or username,  # User.display_name
                           start, end, created, list(systems[pk].items()))
    return [rows[pk] for pk in ids if pk in rows]


def upgrade_api_rows(ids) -> list[UpgradeRequest]:
    """The API's rows for a page of `upgrade_list(...)` ids (already visible to the caller), in that order."""
    rows = (
        UpgradeRequest.objects.filter(pk__in=list(ids))
        .select_related("requester", "revised_from")
        .prefetch_related(Prefetch("items", queryset=UpgradeItem.objects.select_related("system").order_by("id")))
        .order_by()
    )
    by_pk = {r.pk: r for r in rows}
    return [by_pk[pk] for pk in ids if pk in by_pk]


def upgrade_get(*, user, reference: str) -> UpgradeRequest:
    """A request the user may see, or 404 (never 403 with its title)."""
    if not isinstance(reference, str) or "\x00" in reference or len(reference) > 20:
        raise Http404("No upgrade request with that reference.")  # PostgreSQL refuses NUL in a query
    remembered = visible_ids(user) if user is not None and user.is_authenticated and not user_regions(user) \
        else None
    if remembered is not None:
        # a reader by duties and teams whose visible ids are remembered: the request by its reference, then a
        # look in those ids (the rule's two probes cost more to build than to run)
        found = UpgradeRequest.objects.select_related("requester", "revised_from").filter(
            reference=reference).first()
        if found is not None and found.pk in remembered:
            return found
        hidden = found
    else:
        try:
            return upgrade_visible(user, shape="row").select_related("requester", "revised_from").get(
                reference=reference)
        except UpgradeRequest.DoesNotExist:
            hidden = UpgradeRequest.objects.filter(reference=reference).first()
    if hidden is not None:
        # an authorization denial: recorded, but answered like a missing request
        from apps.audit.services import audit_append

        audit_append(action="upgrade.denied", actor=user if user.is_authenticated else None, obj=hidden,
                     data={"reason": "not visible to this user"})
    raise Http404("No upgrade request with that reference.")


def upgrade_history(request: UpgradeRequest):
    from apps.audit.models import AuditEvent

    return AuditEvent.objects.filter(object_type="upgrades.upgraderequest", object_id=str(request.pk)).order_by("seq")


# --- inbox -----------------------------------------------------------------------------

_WAITING = {
    Duty.REQUESTER: {State.DRAFT: "Draft to finish", State.COMPLETED: "Request to close",
                     State.ROLLED_BACK: "Request to close", State.FAILED: "Request to close",
                     State.APPROVED: "Approved: schedule it"},
    Duty.ASSESSOR: {State.ASSESSING: "Assessment to do"},
    Duty.IMPLEMENTER: {State.SCHEDULED: "Upgrade to carry out", State.IN_PROGRESS: "Upgrade in progress"},
    Duty.VALIDATOR: {State.VALIDATING: "Validation to sign"},
}


def inbox_duties(user) -> list[InboxItem]:
    # Only the grants whose request waits on that duty, chosen by the database: a person with thousands of
    # grants on finished requests must not load them all on every page (the navigation shows this count).
    waiting = Q()
    for duty, states in _WAITING.items():
        waiting |= Q(permission__codename=f"duty_{duty}", content_object__state__in=list(states))
    rows = (
        _in_user_regions(UpgradeRequestUserObjectPermission.objects.filter(waiting, user=user), user,
                         ref="content_object")
        .order_by("content_object__window_start", "content_object__created_at")
        .values_list("permission__codename", "content_object__reference", "content_object__title",
                     "content_object__state", "content_object__window_start")
    )
    url = reverse("upgrades:detail", args=["0"])[:-2]  # once, not per item: references are URL-safe
    items = []
    for codename, reference, title, state, window_start in rows:
        duty = codename.removeprefix("duty_")
        items.append(InboxItem(kind=_WAITING[duty][state], title=f"{reference} {title}", url=f"{url}{reference}/",
                               detail=f"as {duty}", due=window_start))
    return items


def inbox_cab(user) -> list[InboxItem]:
    if not user.has_role(Role.CAB_MEMBER):
        return []
    waiting = _in_user_regions(UpgradeRequest.objects.filter(state=State.CAB_REVIEW), user).order_by("window_start")
    return [InboxItem(kind="CAB review", title=str(r), url=r.get_absolute_url(), due=r.window_start) for r in waiting]


def open_duties(user):
    from apps.accounts.duties_registry import OpenDuty

    from .choices import FINAL_STATES

    rows = (
        UpgradeRequestUserObjectPermission.objects.filter(user=user, permission__codename__startswith="duty_")
        .exclude(content_object__state__in=FINAL_STATES)
        .select_related("content_object", "permission")
    )
    return [
        OpenDuty(obj=r.content_object, duty=r.permission.codename.removeprefix("duty_"),
                 url=reverse("upgrades:detail", args=[r.content_object.reference]))
        for r in rows
    ]
