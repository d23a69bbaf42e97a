"""Freeze exceptions: the CAB (the emergency CAB for emergency changes) approves or refuses them, signed.

The CAB-side checks happen here, before R2's `freeze_exception_record_decision`
writes the decision: who may decide (CAB role, or the emergency policy's voter team
for emergency-class requests), segregation of duties (the requester, assessor,
implementer or validator of the request may not decide it) and the signature
(password on the form or a step-up token in the API). Every refusal is audited
with the rule that refused it.
"""

import hashlib
import json

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse

from apps.accounts import duties
from apps.accounts.choices import Duty, Role
from apps.audit.services import audit_append
from apps.core import clock
from apps.core.inbox import InboxItem
from apps.core.validation import clean_text
from apps.rollouts.models import FreezeException
from apps.upgrades.choices import RiskClass
from apps.upgrades.models import UpgradeRequestUserObjectPermission
from apps.upgrades.selectors import upgrade_visible

from .models import ApprovalPolicy

# the duties on a request that exclude deciding its freeze exception
EXCLUDED_DUTIES = (Duty.REQUESTER, Duty.ASSESSOR, Duty.IMPLEMENTER, Duty.VALIDATOR)


def emergency_team(risk_level: str | None = None):
    """The emergency CAB: the voter team of the emergency approval policy (None when not set up)."""
    policy = (ApprovalPolicy.objects.filter(risk_class=RiskClass.EMERGENCY, voter_team__isnull=False)
              .select_related("voter_team").order_by("risk_level").first())
    return policy.voter_team if policy else None


def _in_team(user, team) -> bool:
    return team is not None and user.teams.filter(pk=team.pk).exists()


def in_emergency_team(user) -> bool:
    return _in_team(user, emergency_team())


def can_decide_reasons(*, exception: FreezeException, user) -> list[str]:
    """Why `user` may not decide `exception` now (empty: may). Each reason names its rule."""
    if user is None or not user.is_authenticated or not user.is_active:
        return ["You must be signed in."]
    request = exception.request
    reasons = []
    if exception.status != "requested":
        return [f"This freeze exception is already {exception.get_status_display().lower()}."]
    if request.risk_class == RiskClass.EMERGENCY:
        team = emergency_team()
        if team is not None:
            if not _in_team(user, team):
                reasons.append(f"Rule: freeze exceptions of emergency changes are decided by the emergency CAB "
                               f"({team.name}); you are not a member.")
        elif not user.has_role(Role.CAB_MEMBER):
            reasons.append("Rule: only CAB members decide freeze exceptions.")
    elif not user.has_role(Role.CAB_MEMBER):
        team = emergency_team()
        if _in_team(user, team):
            reasons.append("Rule: the emergency CAB decides freeze exceptions of emergency changes only; "
                           f"{request.reference} is a {request.get_risk_class_display().lower()} change.")
        else:
            reasons.append("Rule: only CAB members decide freeze exceptions.")
    held = duties.duties_of(user, request)
    for duty in EXCLUDED_DUTIES:
        if duty in held:
            reasons.append(f"Segregation of duties: the {Duty(duty).label.lower()} of {request.reference} may not "
                           f"decide its freeze exception.")
    return reasons


def signed_content(exception: FreezeException, approve: bool) -> dict:
    freeze = exception.freeze
    return {
        "freeze_exception": exception.pk,
        "request": exception.request.reference,
        "freeze": {"id": freeze.pk, "name": freeze.name, "starts_at": freeze.starts_at.isoformat(),
                   "ends_at": freeze.ends_at.isoformat()},
        "reason": exception.reason,
        "decision": "approve" if approve else "refuse",
    }


def _sha256(content: dict) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def freeze_exception_decide(*, exception: FreezeException, by, approve: bool, reason: str = "",
                            password: str = "", token: str = "") -> FreezeException:
    """Check who decides, segregation of duties and the signature; then R2 records the decision."""
    from apps.accounts.stepup import signature_verify
    from apps.rollouts.calendar.services import freeze_exception_record_decision

    exception = FreezeException.objects.select_related("request", "freeze").get(pk=exception.pk)
    reasons = can_decide_reasons(exception=exception, user=by)
    if reasons:
        audit_append(action="freeze_exception.decide_refused", actor=by if by.is_authenticated else None,
                     obj=exception.request,
                     data={"freeze_exception": exception.pk, "approve": bool(approve), "reasons": reasons})
        raise duties.DutyRefused(reasons)
    errors: dict = {}
    reason = clean_text(errors, "reason", reason, required=not approve, max_length=5000)
    if not approve and errors.get("reason") == "This field is required.":
        errors["reason"] = "Say why the exception is refused."
    if errors:
        raise ValidationError(errors)
    method = signature_verify(user=by, password=password or "", token=token or "")
    content = signed_content(exception, approve)
    signature = {"by": by.get_username(), "at": clock.now().isoformat(), "method": method,
                 "sha256": _sha256(content), "signed": content}
    emergency = exception.request.risk_class == RiskClass.EMERGENCY
    return freeze_exception_record_decision(exception=exception, by=by, approve=bool(approve), reason=reason,
                                            signature=signature, emergency=emergency)


# --- reads -----------------------------------------------------------------------------------------------


def exceptions_list(*, user, status: str | None = "requested") -> QuerySet:
    qs = FreezeException.objects.filter(request__in=upgrade_visible(user))
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("request", "freeze", "requested_by", "decided_by").order_by("requested_at", "pk")


def exception_get(*, user, pk) -> FreezeException:
    from django.http import Http404

    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404("No such freeze exception.") from None
    found = exceptions_list(user=user, status=None).filter(pk=pk).first()
    if found is None:
        raise Http404("No such freeze exception.")
    return found


def awaiting_decision(user) -> QuerySet:
    """Requested freeze exceptions this user may decide (role or emergency team; no excluded duty)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return FreezeException.objects.none()
    qs = exceptions_list(user=user)
    team = emergency_team()
    in_team = _in_team(user, team)
    if team is not None:
        qs = qs.exclude(request__risk_class=RiskClass.EMERGENCY) if not in_team else qs
    if not user.has_role(Role.CAB_MEMBER):
        if not in_team:
            return FreezeException.objects.none()
        qs = qs.filter(request__risk_class=RiskClass.EMERGENCY)
    held = UpgradeRequestUserObjectPermission.objects.filter(
        content_object=OuterRef("request"), user=user,
        permission__codename__in=[f"duty_{d}" for d in EXCLUDED_DUTIES])
    return qs.filter(~Exists(held))


def inbox_freeze_exceptions(user) -> list[InboxItem]:
    if not user.has_role(Role.CAB_MEMBER) and not _in_team(user, emergency_team()):
        return []
    return [InboxItem(kind="Freeze exception to decide", title=f"{e.request.reference}: {e.freeze.name}",
                      url=reverse("cab_board:exception", args=[e.pk]),
                      detail=e.reason[:120], due=e.freeze.starts_at)
            for e in awaiting_decision(user)[:50]]
