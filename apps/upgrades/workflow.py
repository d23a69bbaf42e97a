"""The request lifecycle of DESIGN.md as data: every transition, who may take it, what it needs."""

from dataclasses import dataclass

from apps.accounts.choices import Duty, Role

from .choices import State as S


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    duties: tuple[str, ...] = ()  # any of these duties on the request may take it
    roles: tuple[str, ...] = ()  # ... or any of these roles
    needs_reason: bool = False
    takes_duty: str = ""  # acting grants this duty (a CAB member who decides becomes approver)
    help: str = ""


_BEFORE_IN_PROGRESS = (S.DRAFT, S.ASSESSING, S.PLANNING, S.CAB_REVIEW, S.APPROVED, S.SCHEDULED)

TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        Transition("start_assessment", "Start assessment", (S.DRAFT,), S.ASSESSING, duties=(Duty.REQUESTER,),
                   help="Hands the request to its assessor for the readiness assessment."),
        Transition("finish_assessment", "Finish assessment", (S.ASSESSING,), S.PLANNING, duties=(Duty.ASSESSOR,)),
        Transition("submit_to_cab", "Submit to CAB", (S.PLANNING,), S.CAB_REVIEW, duties=(Duty.REQUESTER,)),
        Transition("return_to_planning", "Return to planning", (S.CAB_REVIEW,), S.PLANNING,
                   roles=(Role.CAB_MEMBER,), needs_reason=True),
        Transition("approve", "Approve", (S.CAB_REVIEW,), S.APPROVED, roles=(Role.CAB_MEMBER,),
                   takes_duty=Duty.APPROVER),
        Transition("reject", "Reject", (S.CAB_REVIEW,), S.REJECTED, roles=(Role.CAB_MEMBER,), needs_reason=True,
                   takes_duty=Duty.APPROVER),
        Transition("schedule", "Schedule", (S.APPROVED,), S.SCHEDULED, duties=(Duty.REQUESTER, Duty.IMPLEMENTER)),
        Transition("start", "Start execution", (S.SCHEDULED,), S.IN_PROGRESS, duties=(Duty.IMPLEMENTER,)),
        Transition("hand_to_validation", "Hand to validation", (S.IN_PROGRESS,), S.VALIDATING,
                   duties=(Duty.IMPLEMENTER,)),
        Transition("roll_back", "Roll back", (S.IN_PROGRESS, S.VALIDATING), S.ROLLED_BACK,
                   duties=(Duty.IMPLEMENTER,), needs_reason=True),
        Transition("fail", "Mark failed", (S.IN_PROGRESS, S.VALIDATING), S.FAILED,
                   duties=(Duty.IMPLEMENTER, Duty.VALIDATOR), needs_reason=True),
        Transition("complete", "Complete", (S.VALIDATING,), S.COMPLETED, duties=(Duty.VALIDATOR,)),
        Transition("close", "Close", (S.COMPLETED, S.ROLLED_BACK, S.FAILED), S.CLOSED, duties=(Duty.REQUESTER,)),
        Transition("replan", "Replan", (S.APPROVED, S.SCHEDULED), S.PLANNING, duties=(Duty.REQUESTER,),
                   needs_reason=True),
        Transition("cancel", "Cancel", _BEFORE_IN_PROGRESS, S.CANCELLED, duties=(Duty.REQUESTER,),
                   roles=(Role.ADMIN,), needs_reason=True),
    ]
}


def available_from(state: str) -> list[Transition]:
    return [t for t in TRANSITIONS.values() if state in t.sources]
