import functools

from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse


def _maybe(nav: list, label: str, name: str) -> None:
    """Add a page that an app provides, when that app is installed and routes it."""
    try:
        nav.append((label, reverse(name)))
    except NoReverseMatch:
        pass


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": []}
    from apps.core import inbox

    roles = user.role_names
    from apps.accounts.choices import Role

    labels = [Role(r).label for r in Role.values if r in roles]
    return {"nav": _nav(frozenset(roles), get_script_prefix(), get_urlconf()),
            "inbox_count": inbox.count_for_request(request), "user_roles": roles, "role_labels": labels}


@functools.lru_cache(maxsize=64)
def _nav(roles: frozenset, prefix: str, urlconf) -> tuple:
    """The pages a person with these roles reaches from the navigation (a dozen reverse() calls, once per role
    set, script prefix and URLconf rather than on every page)."""
    nav = [
        ("My work", reverse("core:my-work")),
        ("Upgrade requests", reverse("upgrades:list")),
        ("Inventory", reverse("inventory:systems")),
    ]
    if roles & {"executive", "change_manager", "admin", "auditor", "cab_member"}:
        _maybe(nav, "Dashboard", "reporting:dashboard")
    _maybe(nav, "Calendar", "calendar:month")
    if roles & {"change_manager", "cab_member", "auditor", "admin"}:
        _maybe(nav, "Patching", "patches:schedules")
    if "cab_member" in roles or "admin" in roles or "auditor" in roles:
        _maybe(nav, "CAB", "cab_board:queue")
    if roles & {"implementer", "validator", "admin", "change_manager", "auditor"}:
        _maybe(nav, "Health checks", "health:checks")
    if "auditor" in roles or "admin" in roles:
        nav.append(("Audit trail", reverse("audit:list")))
    if "admin" in roles:
        nav.append(("Users", reverse("accounts:user-list")))
        nav.append(("Import", reverse("inventory:import")))
    nav.append(("API", reverse("api-docs")))
    return tuple(nav)
