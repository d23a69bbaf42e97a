"""Gates this app registers on upgrade transitions, and what it hooks into the lifecycle.

`approve` needs the CAB: a valid standard change template covering the request, or the
policy's quorum of live approvals on the plan version under review with no veto. A CAB
member pressing "approve" without those votes is refused with the count.
"""


def cab_quorum(request) -> list[str]:
    from . import policies
    from .models import Review, ReviewOutcome
    from .services import template_valid

    review = (Review.objects.select_related("template", "plan_version", "request")
              .filter(request=request, outcome=ReviewOutcome.OPEN).first())
    if review is None:
        return ["No CAB review is open for this request; it opens when the request is submitted to the CAB."]
    if review.template_id and template_valid(review.template):
        return []
    result = policies.tally(review)
    if result.decision == "approve":
        return []
    return result.reasons or ["The CAB has not approved it yet."]


def register_gates() -> None:
    from apps.core import inbox
    from apps.upgrades import gates

    from . import selectors, services

    gates.register("approve", "cab_quorum", "cab", cab_quorum)
    services.register_effects()
    inbox.register("cab.votes", selectors.inbox_votes)
    inbox.register("cab.conditions", selectors.inbox_conditions)
    inbox.register("cab.retrospectives", selectors.inbox_retrospectives)
