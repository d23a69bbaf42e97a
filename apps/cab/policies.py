"""Which approval policy applies to a request, its frozen snapshot, and the tally of a review's votes.

A policy row matches on risk class and the assessment's risk level; a row for "any risk
level" is the fallback of its class; with no row at all the built-in default applies
(quorum 1, veto on). The snapshot frozen onto a review is what the tally reads, so an
admin editing the policy later does not change a review already open.
"""

from dataclasses import dataclass, field

from apps.accounts import duties, sod
from apps.accounts.choices import Duty, Role
from apps.upgrades.choices import RiskClass

from .models import ApprovalPolicy, Decision, RiskLevelScope

DEFAULT = {"source": "default", "policy_id": None, "name": "Built-in default (no policy configured)",
           "quorum": 1, "veto": True, "voter_team": None, "required_teams": [],
           "require_critical_owner_teams": False, "critical_owner_teams": [], "retrospective_days": None}


def risk_level_of(request) -> str:
    from apps.assessments.models import Assessment

    level = Assessment.objects.filter(request=request).values_list("risk_level", flat=True).first()
    return level or RiskLevelScope.ANY


def policy_for(request) -> ApprovalPolicy | None:
    level = risk_level_of(request)
    rows = {p.risk_level: p for p in ApprovalPolicy.objects.filter(risk_class=request.risk_class,
                                                                   risk_level__in=[level, RiskLevelScope.ANY])
            .select_related("voter_team")}
    return rows.get(level) or rows.get(RiskLevelScope.ANY)


def critical_owner_teams(request) -> list[dict]:
    teams: dict[int, dict] = {}
    for item in request.items.select_related("system__owner_team"):
        system = item.system
        if system.criticality == "critical" and system.owner_team_id:
            entry = teams.setdefault(system.owner_team_id, {"id": system.owner_team_id,
                                                            "name": system.owner_team.name, "systems": []})
            if system.name not in entry["systems"]:
                entry["systems"].append(system.name)
    return sorted(teams.values(), key=lambda t: t["name"])


def snapshot(request, policy: ApprovalPolicy | None) -> dict:
    """The policy as it stands now, with what it means for this request (the critical owner teams)."""
    if policy is None:
        snap = dict(DEFAULT, risk_class=request.risk_class, risk_level=risk_level_of(request))
    else:
        snap = {
            "source": "policy", "policy_id": policy.pk, "name": policy.name, "risk_class": policy.risk_class,
            "risk_level": policy.risk_level, "quorum": policy.quorum, "veto": policy.veto,
            "voter_team": ({"id": policy.voter_team_id, "name": policy.voter_team.name}
                           if policy.voter_team_id else None),
            "required_teams": [{"id": t.pk, "name": t.name} for t in policy.required_teams.order_by("name")],
            "require_critical_owner_teams": policy.require_critical_owner_teams,
            "critical_owner_teams": [], "retrospective_days": policy.retrospective_days,
        }
    if snap["require_critical_owner_teams"]:
        snap["critical_owner_teams"] = critical_owner_teams(request)
    if request.risk_class != RiskClass.EMERGENCY:
        snap["retrospective_days"] = None
    return snap


def approver_conflicts(held: set[str], risk_class: str, overrides: dict | None = None) -> list[str]:
    """sod.conflicts for the approver duty, with the policy's overrides read once for many people."""
    if overrides is None:
        return sod.conflicts(held - {Duty.APPROVER}, Duty.APPROVER, risk_class)
    return [f"Segregation of duties: the {Duty(d).label.lower()} of a {risk_class} request may not also be its "
            f"approver." for d in sorted(held - {Duty.APPROVER})
            if not sod.pair_allowed(d, Duty.APPROVER, risk_class, overrides)]


def voter_blockers(*, request, review, person, team_ids: set[int] | None = None, held: set[str] | None = None,
                   overrides: dict | None = None) -> list[str]:
    """Why `person` may not be counted as a voter on this review now (role, team, segregation of duties)."""
    reasons = []
    name = person.get_username()
    if not person.is_active:
        reasons.append(f"{name} is deactivated.")
    if not person.has_role(Role.CAB_MEMBER):
        reasons.append(f"{name} is not a CAB member.")
    team = (review.policy_snapshot or {}).get("voter_team")
    if team:
        ids = team_ids if team_ids is not None else set(person.teams.values_list("pk", flat=True))
        if team["id"] not in ids:
            reasons.append(f"Only members of {team['name']} may vote on this {review.request.risk_class} "
                           f"request (policy: voter team); {name} is not one.")
    if held is None:
        held = duties.duties_of(person, request)
    reasons.extend(approver_conflicts(held, request.risk_class, overrides))
    return reasons


@dataclass
class Tally:
    quorum: int
    veto: bool
    approvals: list = field(default_factory=list)  # counted votes
    rejections: list = field(default_factory=list)
    abstentions: list = field(default_factory=list)
    not_counted: list = field(default_factory=list)  # (vote, reasons)
    missing_teams: list = field(default_factory=list)  # team names still without an approval
    decision: str | None = None  # "approve" | "reject" | None

    @property
    def reasons(self) -> list[str]:
        """Why the request is not (yet) approved by its votes."""
        out = []
        if self.decision == "reject":
            out.append("The CAB rejected it" + (" (veto)." if self.veto else "."))
        if len(self.approvals) < self.quorum:
            out.append(f"Quorum not reached: {len(self.approvals)} of {self.quorum} approval"
                       f"{'s' if self.quorum != 1 else ''} on the current plan version.")
        for name in self.missing_teams:
            out.append(f"An approval from a member of {name} is still needed.")
        for vote, why in self.not_counted:
            out.append(f"The vote of {vote.voter.get_username()} no longer counts: {' '.join(why)}")
        return out


def tally(review, votes=None) -> Tally:
    """Count the live votes on the review's plan version, re-checking each voter against the policy now."""
    snap = review.policy_snapshot or DEFAULT
    result = Tally(quorum=int(snap.get("quorum") or 1), veto=bool(snap.get("veto")))
    if votes is None:
        votes = list(review.votes.filter(stale=False).select_related("voter", "on_behalf_of")
                     .prefetch_related("voter__groups", "voter__teams", "on_behalf_of__groups",
                                       "on_behalf_of__teams"))
    request = review.request
    teams_of: dict[int, set[int]] = {}
    held_by: dict[int, set[str]] = {}
    for duty, holders in duties.duty_holders(request).items():  # one query for everyone's duties
        for holder in holders:
            held_by.setdefault(holder.pk, set()).add(duty)
    overrides = sod._overrides(request.risk_class)
    for vote in votes:
        if vote.stale or vote.plan_version_id != review.plan_version_id:
            continue
        person = vote.on_behalf_of or vote.voter
        ids = {t.pk for t in person.teams.all()}
        teams_of[vote.pk] = ids
        why = voter_blockers(request=request, review=review, person=person, team_ids=ids,
                             held=held_by.get(person.pk, set()), overrides=overrides)
        if vote.on_behalf_of_id:
            why += voter_blockers(request=request, review=review, person=vote.voter,
                                  team_ids={t.pk for t in vote.voter.teams.all()},
                                  held=held_by.get(vote.voter_id, set()), overrides=overrides)
        if why:
            result.not_counted.append((vote, why))
            continue
        {Decision.APPROVE: result.approvals, Decision.REJECT: result.rejections,
         Decision.ABSTAIN: result.abstentions}[vote.decision].append(vote)
    needed = list(snap.get("required_teams") or []) + list(snap.get("critical_owner_teams") or [])
    seen = set()
    for team in needed:
        if team["id"] in seen:
            continue
        seen.add(team["id"])
        if not any(team["id"] in teams_of[v.pk] for v in result.approvals):
            result.missing_teams.append(team["name"])
    if result.rejections and (result.veto or len(result.rejections) >= result.quorum):
        result.decision = "reject"
    elif len(result.approvals) >= result.quorum and not result.missing_teams:
        result.decision = "approve"
    return result
