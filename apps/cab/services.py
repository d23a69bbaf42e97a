"""Every write of the CAB's decisions: policies, standard change templates, reviews, signed votes,
delegations, condition acknowledgements and emergency retrospectives.

Each runs in one transaction, locks the request (then the review) and re-reads them after
the lock, checks the policy and segregation of duties at the moment of acting, and appends
its audit event in the same transaction. Refusals are audited after the rolled-back
transaction, with the rule that refused them. A signature is verified before the
transaction opens, so a failed one stays on the audit trail.
"""

import datetime as dt
import hashlib
import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from apps.accounts import duties, sod
from apps.accounts.choices import Duty, Role
from apps.accounts.notifications import notify
from apps.accounts.stepup import signature_verify
from apps.audit.services import audit_append, field_diff
from apps.core import clock
from apps.core.validation import clean_text
from apps.upgrades.choices import RiskClass, State
from apps.upgrades.models import UpgradeRequest

from . import policies
from .models import (ApprovalPolicy, Condition, Decision, Delegation, Review, ReviewOutcome, RiskLevelScope,
                     SignatureMethod, StandardTemplate, TemplateStatus, Vote)

MAX_TEXT = 5000
MAX_CONDITIONS = 10


class CabRefused(PermissionDenied):
    """A refusal with the rule(s) that refused it; `conflict` marks a state problem (409) rather than 403."""

    def __init__(self, reasons: list[str], *, rules: list[str] | None = None, conflict: bool = False):
        self.reasons = reasons
        self.rules = rules or []
        self.conflict = conflict
        super().__init__(" ".join(reasons))


def _actor(by):
    return by if by is not None and getattr(by, "is_authenticated", False) else None


# --- policies ---------------------------------------------------------------------------------------


def _policy_snapshot(policy: ApprovalPolicy) -> dict:
    return {
        "name": policy.name, "risk_class": policy.risk_class, "risk_level": policy.risk_level,
        "quorum": policy.quorum, "veto": policy.veto,
        "voter_team": policy.voter_team.name if policy.voter_team_id else None,
        "required_teams": sorted(t.name for t in policy.required_teams.all()) if policy.pk else [],
        "require_critical_owner_teams": policy.require_critical_owner_teams,
        "retrospective_days": policy.retrospective_days,
    }


def _clean_policy(fields: dict, policy: ApprovalPolicy | None) -> dict:
    errors: dict = {}
    out = {}
    out["name"] = clean_text(errors, "name", fields.get("name"), required=True, max_length=120)
    if fields.get("risk_class") not in RiskClass.values:
        errors["risk_class"] = f"Choose one of: {', '.join(RiskClass.values)}."
    out["risk_class"] = fields.get("risk_class")
    level = fields.get("risk_level") or RiskLevelScope.ANY
    if level not in RiskLevelScope.values:
        errors["risk_level"] = f"Choose one of: {', '.join(RiskLevelScope.values)}."
    out["risk_level"] = level
    quorum = fields.get("quorum")
    if isinstance(quorum, bool) or not isinstance(quorum, int) or not 1 <= quorum <= 20:
        errors["quorum"] = "Give the number of approvals needed, from 1 to 20."
    out["quorum"] = quorum
    out["veto"] = bool(fields.get("veto", True))
    out["require_critical_owner_teams"] = bool(fields.get("require_critical_owner_teams", False))
    days = fields.get("retrospective_days")
    if days in ("", None):
        days = None
    elif isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 90:
        errors["retrospective_days"] = "Give a number of days from 1 to 90, or leave it empty."
    out["retrospective_days"] = days
    if days is not None and out["risk_class"] != RiskClass.EMERGENCY and "retrospective_days" not in errors:
        errors["retrospective_days"] = "A retrospective review applies to the emergency path only."
    team = fields.get("voter_team")
    out["voter_team"] = team
    if team is not None and isinstance(quorum, int) and "quorum" not in errors:
        members = team.members.filter(is_active=True, groups__name=Role.CAB_MEMBER).distinct().count()
        if members < quorum:
            errors["quorum"] = (f"{team.name} has {members} active CAB member{'s' if members != 1 else ''}; "
                                f"a quorum of {quorum} could never be reached.")
    out["required_teams"] = list(fields.get("required_teams") or [])
    if not errors:
        clash = ApprovalPolicy.objects.filter(risk_class=out["risk_class"], risk_level=out["risk_level"])
        if policy is not None:
            clash = clash.exclude(pk=policy.pk)
        if clash.exists():
            errors["risk_level"] = (f"A policy for {out['risk_class']} requests at this risk level exists "
                                    "already; edit that one.")
    if errors:
        raise ValidationError(errors)
    return out


def _admin_only(by, what: str, obj=None) -> None:
    if by is None or not by.is_authenticated or not by.has_role(Role.ADMIN):
        audit_append(action="cab.denied", actor=_actor(by), obj=obj, data={"what": what, "rule": "admin role"})
        raise CabRefused([f"Only administrators may {what}."], rules=["role"])


def policy_save(*, by, policy: ApprovalPolicy | None = None, **fields) -> ApprovalPolicy:
    """Create or edit an approval policy (administrators). Reviews already open keep their frozen copy."""
    _admin_only(by, "edit approval policies", policy)
    cleaned = _clean_policy(fields, policy)
    required = cleaned.pop("required_teams")
    with transaction.atomic():
        if policy is None:
            before = None
            policy = ApprovalPolicy(updated_by=by, updated_at=clock.now(), **cleaned)
        else:
            policy = ApprovalPolicy.objects.select_for_update().get(pk=policy.pk)
            before = _policy_snapshot(policy)
            for key, value in cleaned.items():
                setattr(policy, key, value)
            policy.updated_by, policy.updated_at = by, clock.now()
        try:
            with transaction.atomic():
                policy.save()
        except IntegrityError:
            raise ValidationError({"risk_level": "A policy for this risk class and level exists already."}) from None
        policy.required_teams.set(required)
        after = _policy_snapshot(policy)
        if before is None:
            audit_append(action="cab.policy_create", actor=by, obj=policy, after=after)
        else:
            b, a = field_diff(before, after)
            if a:
                audit_append(action="cab.policy_update", actor=by, obj=policy, before=b, after=a)
    return policy


def policy_delete(*, by, policy: ApprovalPolicy) -> None:
    _admin_only(by, "delete approval policies", policy)
    with transaction.atomic():
        policy = ApprovalPolicy.objects.select_for_update().get(pk=policy.pk)
        audit_append(action="cab.policy_delete", actor=by, obj=policy, before=_policy_snapshot(policy))
        policy.delete()


# --- standard change templates ------------------------------------------------------------------------


def _template_content(template: StandardTemplate) -> dict:
    return {
        "name": template.name, "description": template.description, "product": template.product,
        "systems": sorted(s.slug for s in template.systems.all()) if template.pk else [],
        "version_constraint": template.version_constraint, "constraint_kind": template.constraint_kind,
        "runbook": template.runbook, "valid_from": template.valid_from.isoformat(),
        "valid_until": template.valid_until.isoformat(),
    }


def template_sha256(template: StandardTemplate) -> str:
    text = json.dumps(_template_content(template), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def template_create(*, by, name, description, product, version_constraint, runbook, valid_from, valid_until,
                    systems=(), constraint_kind: str = "semver") -> StandardTemplate:
    """A change manager describes a routine upgrade; it is a draft until the CAB approves it (signed)."""
    from apps.inventory.versions import ConstraintError, satisfies

    if by is None or not by.is_authenticated or not by.has_role(Role.CHANGE_MANAGER, Role.ADMIN):
        audit_append(action="cab.denied", actor=_actor(by), data={"what": "create a standard change template",
                                                                  "rule": "change manager role"})
        raise CabRefused(["Only change managers describe standard change templates."], rules=["role"])
    errors: dict = {}
    name = clean_text(errors, "name", name, required=True, max_length=160)
    description = clean_text(errors, "description", description, required=True, max_length=MAX_TEXT)
    product = clean_text(errors, "product", product, required=True, max_length=80)
    version_constraint = clean_text(errors, "version_constraint", version_constraint, required=True,
                                    max_length=120)
    runbook = clean_text(errors, "runbook", runbook, required=True, max_length=20000)
    if constraint_kind not in ("semver", "pep440"):
        errors["constraint_kind"] = "Choose semver or pep440."
    elif "version_constraint" not in errors:
        try:
            satisfies(version_constraint, constraint_kind, "0.0.1")
        except ConstraintError as exc:
            errors["version_constraint"] = f"Tollgate cannot read this constraint: {exc}"
    for key, value in (("valid_from", valid_from), ("valid_until", valid_until)):
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            errors[key] = "Enter a date."
    if "valid_from" not in errors and "valid_until" not in errors and valid_until < valid_from:
        errors["valid_until"] = "The template must stay valid at least until the day it starts."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        template = StandardTemplate.objects.create(
            name=name, description=description, product=product, version_constraint=version_constraint,
            constraint_kind=constraint_kind, runbook=runbook, valid_from=valid_from, valid_until=valid_until,
            created_by=by, created_at=clock.now())
        template.systems.set(list(systems))
        audit_append(action="cab.template_create", actor=by, obj=template, after=_template_content(template))
    return template


def template_approve(*, template: StandardTemplate, by, password: str = "", token: str = "") -> StandardTemplate:
    """A CAB member approves a template, signed: password (page) or step-up token (API)."""
    if by is None or not by.is_authenticated or not by.has_role(Role.CAB_MEMBER):
        audit_append(action="cab.denied", actor=_actor(by), obj=template,
                     data={"what": "approve a standard change template", "rule": "CAB member role"})
        raise CabRefused(["Only CAB members approve standard change templates."], rules=["role"])
    method = signature_verify(user=by, password=password, token=token)
    try:
        with transaction.atomic():
            template = StandardTemplate.objects.select_for_update().get(pk=template.pk)
            if template.status != TemplateStatus.DRAFT:
                raise CabRefused([f"“{template.name}” is {template.get_status_display().lower()} already."],
                                 rules=["state"], conflict=True)
            if template.created_by_id == by.pk:
                raise CabRefused(["Segregation of duties: the author of a standard change template may not "
                                  "also approve it."], rules=["segregation_of_duties"])
            now = clock.now()
            template.status, template.approved_by, template.approved_at = TemplateStatus.APPROVED, by, now
            template.save(update_fields=["status", "approved_by", "approved_at"])
            audit_append(action="cab.template_approve", actor=by, obj=template,
                         after={"status": template.status},
                         data={"signature": {"who": by.get_username(), "user_id": by.pk,
                                             "when": now.isoformat(), "how": method,
                                             "sha256": template_sha256(template)}})
    except CabRefused as exc:
        audit_append(action="cab.template_refused", actor=by, obj=template,
                     data={"reasons": exc.reasons, "rules": exc.rules})
        raise
    return template


def template_retire(*, template: StandardTemplate, by) -> StandardTemplate:
    if by is None or not by.is_authenticated or not by.has_role(Role.CAB_MEMBER, Role.ADMIN):
        audit_append(action="cab.denied", actor=_actor(by), obj=template,
                     data={"what": "retire a standard change template", "rule": "CAB member role"})
        raise CabRefused(["Only CAB members or administrators retire standard change templates."], rules=["role"])
    with transaction.atomic():
        template = StandardTemplate.objects.select_for_update().get(pk=template.pk)
        if template.status == TemplateStatus.RETIRED:
            raise CabRefused([f"“{template.name}” is retired already."], rules=["state"], conflict=True)
        before = template.status
        template.status = TemplateStatus.RETIRED
        template.save(update_fields=["status"])
        audit_append(action="cab.template_retire", actor=by, obj=template, before={"status": before},
                     after={"status": template.status})
    return template


def template_valid(template: StandardTemplate | None, on: dt.date | None = None) -> bool:
    on = on or clock.now().date()
    return (template is not None and template.status == TemplateStatus.APPROVED
            and template.valid_from <= on <= template.valid_until)


def template_covering(request: UpgradeRequest) -> StandardTemplate | None:
    """The valid approved template that covers every change of a standard request, if any."""
    from apps.inventory.versions import ConstraintError, satisfies

    if request.risk_class != RiskClass.STANDARD:
        return None
    items = list(request.items.all())
    if not items:
        return None
    today = clock.now().date()
    candidates = (StandardTemplate.objects.filter(status=TemplateStatus.APPROVED, valid_from__lte=today,
                                                  valid_until__gte=today)
                  .prefetch_related("systems").order_by("name", "pk"))
    for template in candidates:
        system_ids = {s.pk for s in template.systems.all()}
        ok = True
        for item in items:
            if item.product.lower() != template.product.lower() or (system_ids and item.system_id not in system_ids):
                ok = False
                break
            try:
                if not satisfies(template.version_constraint, template.constraint_kind, item.target_version):
                    ok = False
                    break
            except ConstraintError:
                ok = False
                break
        if ok:
            return template
    return None


# --- reviews: opened and closed by the request's transitions -------------------------------------------


def _current_version(request):
    try:
        from apps.rollouts.selectors import current_version
    except ImportError:  # the rollout plan is not there yet: the review names no plan version
        return None
    return current_version(request)


def review_open(*, request, by, transition: str = "submit_to_cab", reason: str = "") -> Review:
    """Effect of submit_to_cab: open the review with the policy frozen and the plan version under review."""
    policy = policies.policy_for(request)
    snap = policies.snapshot(request, policy)
    template = template_covering(request)
    if template is not None:
        snap = dict(snap, source="template", template={"id": template.pk, "name": template.name,
                                                       "sha256": template_sha256(template)})
    now = clock.now()
    review = Review.objects.create(
        request=request, plan_version=_current_version(request), policy=policy, policy_snapshot=snap,
        template=template, emergency=request.risk_class == RiskClass.EMERGENCY, opened_at=now)
    audit_append(action="cab.review_open", actor=by, obj=request,
                 after={"review": review.pk, "policy": snap["name"], "quorum": snap["quorum"],
                        "veto": snap["veto"], "template": template.name if template else None,
                        "plan_version": review.plan_version.number if review.plan_version_id else None,
                        "plan_sha256": review.plan_version.sha256 if review.plan_version_id else None})
    if template is not None:
        approver_id, review_id = template.approved_by_id, review.pk
        transaction.on_commit(lambda: _approve_from_template(review_id, approver_id))
    return review


def _approve_from_template(review_id: int, approver_id: int) -> None:
    """A standard request covered by a valid template is approved at submit, in the name of the
    CAB member who signed the template. Runs after the submit commits (its audit event comes first)."""
    from apps.accounts.models import User
    from apps.upgrades.services import TransitionRefused, upgrade_transition

    review = Review.objects.select_related("request", "template").filter(pk=review_id).first()
    if review is None or review.outcome != ReviewOutcome.OPEN or review.request.state != State.CAB_REVIEW:
        return
    approver = User.objects.filter(pk=approver_id).first()
    try:
        upgrade_transition(request=review.request, by=approver, transition="approve")
    except (TransitionRefused, PermissionDenied) as exc:
        # the template cannot carry it (its signer left the CAB, say): the request waits for votes
        audit_append(action="cab.template_not_applied", actor=None, obj=review.request,
                     data={"template": review.template.name if review.template else None,
                           "reasons": getattr(exc, "reasons", [str(exc)])})


def _open_review(request) -> Review | None:
    return Review.objects.select_for_update().filter(request=request, outcome=ReviewOutcome.OPEN).first()


def _notify_decision(request, message: str) -> None:
    for user in duties.duty_holders(request)[Duty.IMPLEMENTER]:
        notify(user=user, verb="decided", message=message, url=request.get_absolute_url())


def review_decided(*, request, by, transition: str, reason: str = "") -> None:
    """Effect of approve / reject: close the open review; the emergency path gets its retrospective date."""
    review = _open_review(request)
    if review is None:
        return
    now = clock.now()
    review.outcome = ReviewOutcome.APPROVED if transition == "approve" else ReviewOutcome.REJECTED
    review.decided_at = now
    fields = ["outcome", "decided_at"]
    days = (review.policy_snapshot or {}).get("retrospective_days")
    if review.outcome == ReviewOutcome.APPROVED and review.emergency and days:
        review.retrospective_due = (now + dt.timedelta(days=int(days))).date()
        fields.append("retrospective_due")
    review.save(update_fields=fields)
    audit_append(action="cab.review_decided", actor=by, obj=request,
                 after={"review": review.pk, "outcome": review.outcome,
                        "retrospective_due": review.retrospective_due.isoformat()
                        if review.retrospective_due else None})
    if review.outcome == ReviewOutcome.APPROVED:
        n = Condition.objects.filter(vote__review=review, vote__stale=False).count()
        extra = f" {n} condition{'s' if n != 1 else ''} to acknowledge before execution." if n else ""
        _notify_decision(request, f"{request.reference} was approved by the CAB.{extra}")
    else:
        _notify_decision(request, f"{request.reference} was rejected by the CAB: {reason}")


def review_close(*, request, by, transition: str, reason: str = "") -> None:
    """Effect of return_to_planning / cancel: the open review ends without a decision."""
    review = _open_review(request)
    if review is None:
        return
    review.outcome = ReviewOutcome.RETURNED if transition == "return_to_planning" else ReviewOutcome.WITHDRAWN
    review.decided_at = clock.now()
    review.save(update_fields=["outcome", "decided_at"])
    audit_append(action="cab.review_closed", actor=by, obj=request,
                 after={"review": review.pk, "outcome": review.outcome}, data={"reason": reason})


def votes_stale(*, request, by, transition: str = "replan", reason: str = "") -> int:
    """Effect of replan: every live vote on the request names a plan version that is no longer the plan."""
    live = Vote.objects.filter(review__request=request, stale=False)
    ids = list(live.values_list("pk", flat=True))
    if ids:
        Vote.objects.filter(pk__in=ids).update(stale=True)
        audit_append(action="cab.votes_stale", actor=by, obj=request,
                     data={"votes": ids, "reason": reason or "The plan changed (replan)."})
    return len(ids)


# --- votes ----------------------------------------------------------------------------------------------


def _clean_vote(decision, reason, conditions) -> tuple[str, list[str]]:
    errors: dict = {}
    if decision not in Decision.values:
        errors["decision"] = "Choose approve, reject or abstain."
    reason = clean_text(errors, "reason", reason, required=decision == Decision.REJECT, max_length=MAX_TEXT)
    if decision == Decision.REJECT and "reason" in errors and errors["reason"] == "This field is required.":
        errors["reason"] = "Say why you reject it: the requester reads this."
    cleaned = []
    if conditions is None:
        conditions = []
    if isinstance(conditions, str):
        conditions = [line for line in conditions.splitlines()]
    if not isinstance(conditions, list | tuple):
        errors["conditions"] = "Give the conditions as a list of texts."
        conditions = []
    for index, text in enumerate(conditions, start=1):
        sub: dict = {}
        value = clean_text(sub, "c", text, required=False, max_length=1000)
        if sub:
            errors["conditions"] = f"Condition {index}: {sub['c']}"
        elif value:
            cleaned.append(value)
    if len(cleaned) > MAX_CONDITIONS:
        errors["conditions"] = f"At most {MAX_CONDITIONS} conditions per approval."
    if cleaned and decision != Decision.APPROVE and "decision" not in errors:
        errors["conditions"] = "Conditions belong to an approval; leave them empty to reject or abstain."
    if errors:
        raise ValidationError(errors)
    return reason, cleaned


def _active_delegation(principal, delegate, now) -> Delegation | None:
    return (Delegation.objects.filter(principal=principal, delegate=delegate, valid_from__lte=now,
                                      valid_until__gt=now).first())


def vote_blockers(*, review: Review, voter, on_behalf_of=None) -> tuple[list[str], list[str]]:
    """(reasons, rules) why `voter` may not vote now on this review (for `on_behalf_of`, if given)."""
    request = review.request
    reasons, rules = [], []
    if review.outcome != ReviewOutcome.OPEN or request.state != State.CAB_REVIEW:
        return ([f"The CAB review of {request.reference} is closed ({review.get_outcome_display().lower()}); "
                 "votes are no longer taken."], ["review_closed"])
    if voter is None or not voter.is_authenticated or not voter.is_active:
        return ["You must be signed in."], ["signed_in"]
    person = on_behalf_of or voter
    if on_behalf_of is not None:
        if on_behalf_of.pk == voter.pk:
            return ["You cannot be your own delegate."], ["delegation"]
        if _active_delegation(on_behalf_of, voter, clock.now()) is None:
            reasons.append(f"Delegation: {on_behalf_of.get_username()} has not named you as their delegate "
                           "for today.")
            rules.append("delegation")
        for why in policies.voter_blockers(request=request, review=review, person=voter):
            reasons.append(f"You may not vote as a delegate yourself: {why}")
            rules.append("segregation_of_duties" if why.startswith("Segregation") else "eligibility")
    for why in policies.voter_blockers(request=request, review=review, person=person):
        if on_behalf_of is not None:
            why = f"A delegate cannot vote for someone who is excluded: {why}"
        reasons.append(why)
        rules.append("segregation_of_duties" if "Segregation of duties" in why
                     else "voter_team" if "voter team" in why else "eligibility")
    live = Vote.objects.filter(review=review, stale=False)
    mine = live.filter(voter=voter).first()
    if mine is not None:
        reasons.append(f"One vote per person: you already voted ({mine.get_decision_display().lower()}) "
                       "on this plan version.")
        rules.append("one_vote")
    elif live.filter(on_behalf_of=voter).exists() and on_behalf_of is None:
        reasons.append("One vote per person: your delegate already voted for you on this plan version.")
        rules.append("one_vote")
    if on_behalf_of is not None and (live.filter(voter=on_behalf_of).exists()
                                     or live.filter(on_behalf_of=on_behalf_of).exists()):
        reasons.append(f"One vote per person: {on_behalf_of.get_username()} has a vote on this plan version "
                       "already.")
        rules.append("one_vote")
    return reasons, rules


def vote_cast(*, review: Review, voter, decision: str, reason: str = "", conditions=None, on_behalf_of=None,
              password: str = "", token: str = "") -> Vote:
    """A CAB member's signed vote; the vote that reaches quorum (or vetoes) decides, in this transaction.

    There is no way to vote without re-authenticating: the demo seed and the tests' driver sign
    with the demo's published password, like a person would.
    """
    reason, cleaned_conditions = _clean_vote(decision, reason, conditions)
    method = signature_verify(user=voter, password=password, token=token)
    request = review.request
    try:
        with transaction.atomic():
            # the request's row lock serialises every vote and transition of this request
            request = UpgradeRequest.objects.select_for_update().get(pk=review.request_id)
            review = Review.objects.select_for_update(of=("self",)).select_related("plan_version").get(pk=review.pk)
            review.request = request
            reasons, rules = vote_blockers(review=review, voter=voter, on_behalf_of=on_behalf_of)
            if reasons:
                raise CabRefused(reasons, rules=rules, conflict=rules == ["review_closed"])
            for person in filter(None, [voter, on_behalf_of]):
                if Duty.APPROVER not in duties.duties_of(person, request):
                    duties.duty_assign(obj=request, user=person, duty=Duty.APPROVER, by=voter)
            now = clock.now()
            version = review.plan_version
            signature = {"who": voter.get_username(), "user_id": voter.pk, "when": now.isoformat(),
                         "how": method, "plan_version": version.number if version else None,
                         "plan_sha256": version.sha256 if version else None}
            event = audit_append(
                action="cab.vote", actor=voter, obj=request,
                after={"decision": decision, "conditions": cleaned_conditions, "reason": reason},
                data={"review": review.pk, "on_behalf_of": on_behalf_of.get_username() if on_behalf_of else None,
                      "signature": signature})
            vote = Vote.objects.create(
                review=review, voter=voter, on_behalf_of=on_behalf_of, decision=decision, reason=reason,
                plan_version=version, plan_sha256=version.sha256 if version else "",
                signature_method=method, signed_at=now, audit_seq=event.seq)
            Condition.objects.bulk_create(Condition(vote=vote, text=t) for t in cleaned_conditions)
            _decide(review=review, request=request, by=voter, reason=reason)
    except CabRefused as exc:
        audit_append(action="cab.vote_refused", actor=_actor(voter), obj=request,
                     data={"review": review.pk, "decision": decision, "reasons": exc.reasons, "rules": exc.rules,
                           "on_behalf_of": on_behalf_of.get_username() if on_behalf_of else None})
        raise
    except IntegrityError:
        # the unique constraints are the last line behind the checks above
        raise CabRefused(["One vote per person: a vote on this plan version exists already."],
                         rules=["one_vote"], conflict=True) from None
    return vote


def _decide(*, review: Review, request, by, reason: str) -> None:
    from apps.upgrades.services import TransitionRefused, upgrade_transition

    result = policies.tally(review)
    if result.decision is None:
        return
    transition = result.decision
    why = "" if transition == "approve" else (reason or "Rejected by the CAB.")
    try:
        with transaction.atomic():
            upgrade_transition(request=request, by=by, transition=transition, reason=why)
    except TransitionRefused:
        # another gate still holds it (the refusal is on the audit trail); the vote stands
        return


# --- conditions, delegations, retrospectives -----------------------------------------------------------


def condition_acknowledge(*, condition: Condition, by) -> Condition:
    """The request's implementer confirms an approval condition before execution starts."""
    request = condition.vote.review.request
    try:
        with transaction.atomic():
            request = UpgradeRequest.objects.select_for_update().get(pk=request.pk)
            condition = (Condition.objects.select_for_update(of=("self",)).select_related("vote__review")
                         .get(pk=condition.pk))
            duties.duty_required(by, request, Duty.IMPLEMENTER)
            if condition.vote.stale or condition.vote.review.outcome != ReviewOutcome.APPROVED:
                raise CabRefused(["This condition belongs to a vote that no longer stands (the plan changed or "
                                  "the review was not approved)."], rules=["state"], conflict=True)
            if condition.acknowledged_at is not None:
                raise CabRefused([f"Acknowledged already by {condition.acknowledged_by.get_username()}."],
                                 rules=["state"], conflict=True)
            condition.acknowledged_by, condition.acknowledged_at = by, clock.now()
            condition.save(update_fields=["acknowledged_by", "acknowledged_at"])
            audit_append(action="cab.condition_acknowledge", actor=by, obj=request,
                         after={"condition": condition.pk, "text": condition.text[:500]})
    except (CabRefused, duties.DutyRefused) as exc:
        # duty_required's own audit event went down with the rolled-back transaction: record it here
        audit_append(action="cab.condition_refused", actor=_actor(by), obj=request,
                     data={"condition": condition.pk, "reasons": exc.reasons})
        raise
    return condition


def delegation_create(*, principal, delegate, valid_from: dt.datetime, valid_until: dt.datetime, by) -> Delegation:
    """A CAB member (or an admin for them) names a delegate who may vote for them for a period."""
    if by is None or not by.is_authenticated or not (by.pk == principal.pk or by.has_role(Role.ADMIN)):
        audit_append(action="cab.denied", actor=_actor(by), data={"what": "name a delegate", "rule": "own"})
        raise CabRefused(["Only the CAB member themselves (or an administrator) names their delegate."],
                         rules=["role"])
    errors: dict = {}
    if not principal.has_role(Role.CAB_MEMBER):
        errors["principal"] = f"{principal.get_username()} is not a CAB member."
    if delegate is None:
        errors["delegate"] = "Choose the delegate."
    elif delegate.pk == principal.pk:
        errors["delegate"] = "Choose someone else as your delegate."
    elif not delegate.is_active or not delegate.has_role(Role.CAB_MEMBER):
        errors["delegate"] = f"{delegate.get_username()} is not an active CAB member; only CAB members vote."
    for key, value in (("valid_from", valid_from), ("valid_until", valid_until)):
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            errors[key] = "Enter a date and time."
    if not errors and valid_until <= valid_from:
        errors["valid_until"] = "The delegation must end after it starts."
    if not errors and valid_until - valid_from > dt.timedelta(days=92):
        errors["valid_until"] = "A delegation lasts at most three months."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        delegation = Delegation.objects.create(principal=principal, delegate=delegate, valid_from=valid_from,
                                               valid_until=valid_until, created_by=by, created_at=clock.now())
        audit_append(action="cab.delegation_create", actor=by, obj=principal,
                     after={"delegation": delegation.pk, "principal": principal.get_username(),
                            "delegate": delegate.get_username(), "valid_from": valid_from.isoformat(),
                            "valid_until": valid_until.isoformat()})
    notify(user=delegate, verb="assigned",
           message=f"{principal.display_name} named you as their CAB delegate until "
                   f"{valid_until:%d %b %Y %H:%M} UTC.")
    return delegation


def delegation_end(*, delegation: Delegation, by) -> Delegation:
    if by is None or not by.is_authenticated or not (by.pk == delegation.principal_id or by.has_role(Role.ADMIN)):
        audit_append(action="cab.denied", actor=_actor(by), data={"what": "end a delegation", "rule": "own"})
        raise CabRefused(["Only the CAB member who named the delegate (or an administrator) ends it."],
                         rules=["role"])
    with transaction.atomic():
        delegation = Delegation.objects.select_for_update().get(pk=delegation.pk)
        now = clock.now()
        if delegation.valid_until <= now:
            raise CabRefused(["This delegation has ended already."], rules=["state"], conflict=True)
        before = delegation.valid_until
        delegation.valid_until = max(now, delegation.valid_from)
        delegation.save(update_fields=["valid_until"])
        audit_append(action="cab.delegation_end", actor=by, obj=delegation.principal,
                     before={"delegation": delegation.pk, "valid_until": before.isoformat()},
                     after={"valid_until": delegation.valid_until.isoformat()})
    return delegation


def retrospective_blockers(*, request, user) -> list[str]:
    """The retrospective is a second look: not by anyone who approved the change or holds a duty on it."""
    held = duties.duties_of(user, request)
    reasons = sod.conflicts(held - {Duty.APPROVER}, Duty.APPROVER, request.risk_class)
    if Duty.APPROVER in held:
        reasons.append("Segregation of duties: the retrospective review is by a CAB member who did not approve "
                       "the emergency change.")
    return reasons


def retrospective_complete(*, review: Review, by, notes: str) -> Review:
    """The full review of an emergency change, after the fact, by a CAB member not involved in it."""
    errors: dict = {}
    notes = clean_text(errors, "notes", notes, required=True, max_length=20000)
    if errors:
        raise ValidationError(errors)
    request = review.request
    try:
        with transaction.atomic():
            request = UpgradeRequest.objects.select_for_update().get(pk=request.pk)
            review = Review.objects.select_for_update().get(pk=review.pk)
            if not review.emergency or review.retrospective_due is None:
                raise CabRefused(["Only an approved emergency change has a retrospective review."],
                                 rules=["state"], conflict=True)
            if review.retrospective_done_at is not None:
                raise CabRefused(["The retrospective review is done already."], rules=["state"], conflict=True)
            if by is None or not by.is_authenticated or not by.has_role(Role.CAB_MEMBER):
                raise CabRefused(["Only CAB members complete the retrospective review."], rules=["role"])
            conflicts = retrospective_blockers(request=request, user=by)
            if conflicts:
                raise CabRefused(conflicts, rules=["segregation_of_duties"])
            now = clock.now()
            review.retrospective_done_at, review.retrospective_by, review.retrospective_notes = now, by, notes
            review.save(update_fields=["retrospective_done_at", "retrospective_by", "retrospective_notes"])
            audit_append(action="cab.retrospective_complete", actor=by, obj=request,
                         after={"review": review.pk, "notes": notes[:2000],
                                "late": now.date() > review.retrospective_due})
    except CabRefused as exc:
        audit_append(action="cab.retrospective_refused", actor=_actor(by), obj=request,
                     data={"review": review.pk, "reasons": exc.reasons, "rules": exc.rules})
        raise
    return review


# --- registration -------------------------------------------------------------------------------------------


def _effect_open(*, request, by, transition, reason):
    review_open(request=request, by=by, transition=transition, reason=reason)


def register_effects() -> None:
    from apps.upgrades import effects

    effects.register("submit_to_cab", "cab.review_open", "cab", _effect_open)
    effects.register("approve", "cab.review_decided", "cab", review_decided)
    effects.register("reject", "cab.review_decided", "cab", review_decided)
    effects.register("return_to_planning", "cab.review_close", "cab", review_close)
    effects.register("cancel", "cab.review_close", "cab", review_close)
    effects.register("replan", "cab.votes_stale", "cab", votes_stale)


__all__ = ["CabRefused", "SignatureMethod"]
