"""The one door for duties: assign, revoke, look up, and require them.

Duties are django-guardian object permissions (`<app>.duty_<duty>`) held in the
governed model's direct foreign-key permission table. Pages, API and tasks all
call `duty_required`, so they cannot disagree.
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm
from guardian.utils import get_user_obj_perms_model

from apps.audit.services import audit_append
from apps.core.memo import per_page

from . import sod
from .choices import DUTY_ROLE, Duty


class DutyRefused(PermissionDenied):
    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__(" ".join(reasons))


def _codename(duty: str) -> str:
    return f"duty_{duty}"


def _perm_rows(obj):
    model = get_user_obj_perms_model(obj)
    return model.objects.filter(content_object=obj, permission__codename__startswith="duty_")


@per_page
def duty_holders(obj) -> dict[str, list]:
    """{duty: [users]} for one governed object, in two queries."""
    holders: dict[str, list] = {d.value: [] for d in Duty}
    for row in _perm_rows(obj).select_related("user", "permission").order_by("user__username"):
        holders[row.permission.codename.removeprefix("duty_")].append(row.user)
    return holders


@per_page
def duties_of(user, obj) -> set[str]:
    if user is None or not user.is_authenticated:
        return set()
    codenames = _perm_rows(obj).filter(user=user).values_list("permission__codename", flat=True)
    return {c.removeprefix("duty_") for c in codenames}


def assignment_blockers(*, obj, user, duty: str) -> list[str]:
    if duty not in Duty.values:
        return [f"“{duty}” is not a duty."]
    reasons = []
    if not user.is_active:
        reasons.append(f"{user.get_username()} is deactivated.")
    if user.is_service_account and duty != Duty.REQUESTER:
        reasons.append("Service accounts cannot hold a person's duty.")
    role = DUTY_ROLE[Duty(duty)]
    if not user.has_role(role):
        reasons.append(f"{user.get_username()} is not in the {role.label} role needed to be {Duty(duty).label.lower()}.")
    held = duties_of(user, obj) - {duty}
    reasons.extend(sod.conflicts(held, duty, obj.risk_class))
    return reasons


def duty_assign(*, obj, user, duty: str, by=None, exclusive: bool = False) -> None:
    """Give `user` a duty on `obj`; refuses what breaks segregation of duties, with the rule.

    `exclusive` replaces the current holders of that duty (one assessor, say).
    """
    reasons = assignment_blockers(obj=obj, user=user, duty=duty)
    if reasons:
        audit_append(
            action="duty.assign_refused",
            actor=by,
            obj=obj,
            data={"duty": duty, "user": user.get_username(), "reasons": reasons},
        )
        raise DutyRefused(reasons)
    with transaction.atomic():
        previous = []
        if exclusive:
            for other in duty_holders(obj)[duty]:
                if other.pk != user.pk:
                    remove_perm(f"{obj._meta.app_label}.{_codename(duty)}", other, obj)
                    previous.append(other.get_username())
        assign_perm(f"{obj._meta.app_label}.{_codename(duty)}", user, obj)
        audit_append(
            action="duty.assign",
            actor=by,
            obj=obj,
            before={"duty": duty, "holders": previous} if previous else None,
            after={"duty": duty, "user": user.get_username()},
        )
    from .notifications import notify

    if by is None or by.pk != user.pk:
        notify(
            user=user,
            verb="assigned",
            message=f"You are now {Duty(duty).label.lower()} of {obj}.",
            url=obj.get_absolute_url() if hasattr(obj, "get_absolute_url") else "",
        )


def duty_revoke(*, obj, user, duty: str, by=None) -> None:
    with transaction.atomic():
        remove_perm(f"{obj._meta.app_label}.{_codename(duty)}", user, obj)
        audit_append(action="duty.revoke", actor=by, obj=obj, before={"duty": duty, "user": user.get_username()})


def duty_check(user, obj, *duties: str) -> list[str]:
    """Reasons why `user` may not act as one of `duties` on `obj` now (empty: may)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return ["You must be signed in."]
    held = duties_of(user, obj)
    if not held.intersection(duties):
        names = " or ".join(Duty(d).label.lower() for d in duties)
        return [f"Only the {names} of {obj} may do this."]
    return sod.violations(held, obj.risk_class)


def duty_required(user, obj, *duties: str) -> None:
    """Raise (and audit) unless `user` holds one of `duties` on `obj` without a policy violation."""
    reasons = duty_check(user, obj, *duties)
    if reasons:
        audit_append(action="duty.denied", actor=user if user and user.is_authenticated else None, obj=obj,
                     data={"duties": list(duties), "reasons": reasons})
        raise DutyRefused(reasons)
