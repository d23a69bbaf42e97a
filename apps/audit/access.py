"""Role checks for pages and API views; every refusal ends up on the audit trail.

`role_required(*roles)` is the page-side door: anonymous visitors are sent to the
login page, signed-in people without one of the roles get PermissionDenied, which
the project's 403 handler (`apps.core.views.permission_denied`, wired as
`handler403`) records as an ``access.denied`` event with the path and the reason.
`HasRole.of(*roles)` is the API-side equivalent; its 403 is recorded by
`apps.core.api.exception_handler` (``api.denied``).
"""

import functools

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission


def _role_words(roles) -> str:
    names = [str(r).replace("_", " ") for r in roles]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def role_required(*roles: str):
    """Let a view through only for people holding one of `roles`."""
    if not roles:
        raise ValueError("role_required() needs at least one role")

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.has_role(*roles):
                raise PermissionDenied(f"This page is for the {_role_words(roles)} role only.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class HasRole(BasePermission):
    """DRF permission: authenticated and holding one of the roles (use `HasRole.of(...)`)."""

    roles: tuple[str, ...] = ()
    message = "Your roles do not allow this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_role(*self.roles))

    @classmethod
    def of(cls, *roles: str) -> type["HasRole"]:
        message = f"Only the {_role_words(roles)} role may use this endpoint."
        return type(f"HasRole_{'_'.join(roles)}", (cls,), {"roles": tuple(roles), "message": message})
