"""Account writes: profile, API tokens, service accounts, deactivation — atomic and audited."""

import datetime as dt

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from knox.models import AuthToken

from apps.audit.services import audit_append, field_diff
from apps.core import clock

from .choices import Role
from .models import ApiTokenInfo, Team, User

PROFILE_FIELDS = ("first_name", "last_name", "email", "timezone", "notify_channel", "notify_on_assignment",
                  "notify_on_decision")
TOKEN_MAX_DAYS = 366


def profile_update(*, user: User, by: User, **fields) -> User:
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError({k: "This field cannot be changed here." for k in unknown})
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        before = {k: getattr(user, k) for k in fields}
        for key, value in fields.items():
            setattr(user, key, value)
        user.full_clean(exclude=["password", "username"])
        user.save(update_fields=list(fields))
        b, a = field_diff(before, {k: getattr(user, k) for k in fields})
        if a:
            audit_append(action="user.profile_update", actor=by, obj=user, before=b, after=a)
    return user


def token_create(*, user: User, by: User, name: str, expires_in_days: int | None) -> tuple[AuthToken, str]:
    """Create an API token; the secret is returned once and only its hash is kept."""
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = "Give the token a name, e.g. “deploy pipeline”."
    elif len(name) > 100 or "\x00" in name:
        errors["name"] = "Use at most 100 printable characters."
    if expires_in_days is not None and not (1 <= expires_in_days <= TOKEN_MAX_DAYS):
        errors["expires_in_days"] = f"Choose between 1 and {TOKEN_MAX_DAYS} days."
    if not user.is_active:
        errors["user"] = "The account is deactivated."
    if errors:
        raise ValidationError(errors)
    if by.pk != user.pk and not (by.has_role(Role.ADMIN) and user.is_service_account):
        raise ValidationError({"user": "Only an administrator can create tokens for a service account."})
    expiry = dt.timedelta(days=expires_in_days) if expires_in_days else None
    with transaction.atomic():
        instance, secret = AuthToken.objects.create(user=user, expiry=expiry)
        ApiTokenInfo.objects.create(token=instance, name=name, created_by=by)
        audit_append(
            action="token.create",
            actor=by,
            obj=user,
            after={"name": name, "token_key": instance.token_key, "expiry": instance.expiry},
        )
    return instance, secret


def token_revoke(*, token: AuthToken, by: User) -> None:
    if token.user_id != by.pk and not by.has_role(Role.ADMIN):
        raise ValidationError("You can revoke only your own tokens.")
    with transaction.atomic():
        name = getattr(getattr(token, "info", None), "name", "")
        audit_append(action="token.revoke", actor=by, obj=token.user,
                     before={"name": name, "token_key": token.token_key})
        token.delete()


def service_account_create(*, username: str, team: Team | None, roles: list[str], by: User) -> User:
    if not by.has_role(Role.ADMIN):
        raise ValidationError("Only administrators create service accounts.")
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "That name is taken."})
    bad = set(roles) - set(Role.values)
    if bad:
        raise ValidationError({"roles": f"Unknown roles: {', '.join(sorted(bad))}."})
    with transaction.atomic():
        account = User(username=username, is_service_account=True, service_owner=by)
        account.set_unusable_password()
        account.full_clean(exclude=["password"])
        account.save()
        if team:
            account.teams.add(team)
        account.groups.set(Group.objects.filter(name__in=roles))
        audit_append(action="user.service_account_create", actor=by, obj=account,
                     after={"username": username, "roles": sorted(roles), "team": str(team or "")})
    return account


def user_deactivate(*, user: User, by: User, reason: str) -> list:
    """Deactivate a person, revoke their tokens, and return the open duties that need a new holder."""
    from .duties_registry import open_duties

    if not by.has_role(Role.ADMIN):
        raise ValidationError("Only administrators deactivate users.")
    if user.pk == by.pk:
        raise ValidationError("You cannot deactivate yourself.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the account is deactivated."})
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not locked.is_active:
            raise ValidationError("The account is already deactivated.")
        locked.is_active = False
        locked.save(update_fields=["is_active"])
        revoked = AuthToken.objects.filter(user=locked).delete()[0]
        pending = open_duties(locked)
        audit_append(
            action="user.deactivate",
            actor=by,
            obj=locked,
            before={"is_active": True},
            after={"is_active": False},
            data={"reason": reason, "tokens_revoked": revoked,
                  "duties_to_reassign": [f"{d.duty} of {d.obj}" for d in pending]},
        )
    return pending


def user_reactivate(*, user: User, by: User) -> None:
    if not by.has_role(Role.ADMIN):
        raise ValidationError("Only administrators reactivate users.")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=True)
        audit_append(action="user.reactivate", actor=by, obj=user, before={"is_active": False},
                     after={"is_active": True})


REGIONS_MAX = 200


def regions_parse(value) -> list[str]:
    """Regions from "eu-central, eu-west" or a list: each slug-like (letters, digits, '.', '_', '-', at most 40),
    deduplicated and sorted; empty = not limited. Any such name is accepted, known to the inventory or not."""
    from apps.core.storage import region_slug_ok

    if value is None:
        return []
    parts = value.split(",") if isinstance(value, str) else list(value)
    regions = []
    for part in parts:
        if not isinstance(part, str):
            raise ValidationError({"regions": "Give the regions as names separated by commas."})
        part = part.strip()
        if not part:
            continue
        if not region_slug_ok(part):
            raise ValidationError({"regions": f"“{part[:40].replace(chr(0), '')}” is not a region name: use "
                                              "letters, digits, '.', '_' and '-' (at most 40), e.g. eu-central."})
        regions.append(part)
    regions = sorted(set(regions))
    if len(",".join(regions)) > REGIONS_MAX:
        raise ValidationError({"regions": f"Too many regions: at most {REGIONS_MAX} characters in all."})
    return regions


def user_regions_set(*, user: User, by: User, regions) -> User:
    """Limit `user` to `regions` (empty: not limited); administrators only, audited (refusals too)."""
    if by is None or not by.has_role(Role.ADMIN):
        audit_append(action="user.regions_refused", actor=by, obj=user,
                     data={"reason": "only administrators limit users to regions"})
        raise ValidationError("Only administrators limit users to regions.")
    value = ",".join(regions_parse(regions))
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        before = locked.regions
        if before != value:
            locked.regions = value
            locked.save(update_fields=["regions"])
            audit_append(action="user.regions_update", actor=by, obj=locked,
                         before={"regions": before}, after={"regions": value})
    return locked


def token_list(user: User):
    return (
        AuthToken.objects.filter(user=user)
        .select_related("info")
        .order_by("-created")
    )


def password_change(*, user: User, by: User, new_password: str) -> User:
    """Set a new password (validated by the form) and audit it; the password never enters the trail."""
    if by.pk != user.pk and not by.has_role(Role.ADMIN):
        raise ValidationError("You can change only your own password.")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.set_password(new_password)
        locked.save(update_fields=["password"])
        audit_append(action="user.password_change", actor=by, obj=locked)
    # the caller's object must carry the new hash too, or update_session_auth_hash signs the old one
    user.password = locked.password
    return user


def notification_mark_all_read(*, user: User) -> int:
    """Mark every unread notification of `user` read; returns how many changed."""
    from .models import Notification

    with transaction.atomic():
        return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=clock.now())
