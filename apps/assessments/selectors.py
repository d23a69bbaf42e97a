"""Reads of assessments and findings shared by the page, the API and the inbox."""

from collections import OrderedDict

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.urls import reverse

from apps.accounts.choices import Duty
from apps.core.inbox import InboxItem
from apps.upgrades.choices import State
from apps.upgrades.models import UpgradeRequest, UpgradeRequestUserObjectPermission

from .choices import SEVERITY_RANK, Category, Resolution
from .models import Assessment, AssessmentRun, Finding

SEVERITY_ORDER = Case(*[When(severity=k, then=Value(v)) for k, v in SEVERITY_RANK.items()],
                      default=Value(0), output_field=IntegerField())


def _ordered(qs: QuerySet) -> QuerySet:
    return (qs.select_related("owner", "resolved_by", "system")
            .annotate(rank=SEVERITY_ORDER).order_by("-rank", "category", "title", "pk"))


def system_findings(request: UpgradeRequest) -> QuerySet:
    """Open system-level findings of every system the request touches."""
    systems = request.items.values("system_id")
    return _ordered(Finding.objects.filter(assessment__isnull=True, system_id__in=systems,
                                           resolution=Resolution.OPEN))


def assessment_for(request: UpgradeRequest) -> Assessment | None:
    return Assessment.objects.filter(request=request).select_related("started_by", "completed_by").first()


def findings_of(assessment: Assessment, *, include_stale: bool = False) -> QuerySet:
    qs = assessment.findings.all()
    if not include_stale:
        qs = qs.filter(stale=False)
    return _ordered(qs)


def grouped(findings) -> list[tuple[str, list[Finding]]]:
    """[(category label, findings)] in the order of the categories."""
    labels = dict(Category.choices)
    groups: OrderedDict = OrderedDict((value, []) for value in Category.values)
    for f in findings:
        groups.setdefault(f.category, []).append(f)
    return [(labels.get(k, k), v) for k, v in groups.items() if v]


def last_run(assessment: Assessment) -> AssessmentRun | None:
    return assessment.runs.select_related("run_by").order_by("-run_at", "-pk").first()


def finding_visible_get(*, user, pk) -> Finding:
    """A finding of a request the user may see (or a system-level one of a visible request), else 404."""
    from django.http import Http404

    from apps.upgrades.selectors import upgrade_visible

    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404("No such finding.") from None
    finding = Finding.objects.select_related("assessment__request", "system").filter(pk=pk).first()
    if finding is None:
        raise Http404("No such finding.")
    visible = upgrade_visible(user)
    if finding.assessment_id:
        if not visible.filter(pk=finding.assessment.request_id).exists():
            raise Http404("No such finding.")
    elif not visible.filter(items__system_id=finding.system_id).exists():
        raise Http404("No such finding.")
    return finding


# --- inbox -----------------------------------------------------------------------------------------


def inbox_findings(user) -> list[InboxItem]:
    rows = (Finding.objects.filter(owner=user, resolution=Resolution.OPEN, stale=False,
                                   assessment__request__state=State.ASSESSING)
            .select_related("assessment__request").annotate(rank=SEVERITY_ORDER).order_by("-rank", "pk")[:50])
    return [InboxItem(kind="Finding to resolve", title=f.title,
                      url=reverse("assessments:detail", args=[f.assessment.request.reference]),
                      detail=f"{f.get_severity_display()} · {f.assessment.request.reference}")
            for f in rows]


def inbox_assessments(user) -> list[InboxItem]:
    """Requests in `assessing` where the user is assessor and the assessment is not yet complete."""
    rows = (UpgradeRequestUserObjectPermission.objects
            .filter(user=user, permission__codename=f"duty_{Duty.ASSESSOR}",
                    content_object__state=State.ASSESSING)
            .filter(Q(content_object__assessment__isnull=True)
                    | ~Q(content_object__assessment__status="completed"))
            .select_related("content_object").order_by("content_object__window_start"))
    return [InboxItem(kind="Assessment to run", title=str(r.content_object),
                      url=reverse("assessments:detail", args=[r.content_object.reference]),
                      due=r.content_object.window_start)
            for r in rows]


def visible_request_for_system_finding(*, user, finding: Finding) -> UpgradeRequest | None:
    """The request being assessed, visible to the user, whose assessment shows this system-level finding
    and on which the user holds a duty (the context a resolution is checked in)."""
    from apps.upgrades.selectors import upgrade_visible

    return (upgrade_visible(user).filter(items__system_id=finding.system_id, state=State.ASSESSING,
                                         assessment__isnull=False)
            .filter(Exists(UpgradeRequestUserObjectPermission.objects.filter(content_object=OuterRef("pk"),
                                                                              user=user)))
            .distinct().order_by("pk").first())
