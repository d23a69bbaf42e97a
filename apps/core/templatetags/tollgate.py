"""Template helpers that turn audit events into sentences a change manager reads."""

import datetime as dt

from django import template
from django.utils import timezone

register = template.Library()

ACTION_LABELS = {
    "upgrade.create": "Created the request",
    "upgrade.update": "Edited the draft",
    "upgrade.delete": "Deleted the draft",
    "upgrade.transition": "Moved it on",
    "upgrade.transition_refused": "Was refused a transition",
    "upgrade.comment": "Commented",
    "upgrade.attachment": "Attached a file",
    "upgrade.denied": "Was denied access",
    "duty.assign": "Assigned a duty",
    "duty.revoke": "Removed a duty",
    "duty.assign_refused": "Was refused a duty assignment",
    "duty.denied": "Was refused an action",
}
_HIDDEN_EMPTY = (None, "", [], {})


@register.filter
def thousands(value) -> str:
    """A count as people read it: 4423 -> "4,423" (anything that is not a whole number is shown as is)."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return value


@register.filter
def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action.replace(".", " ").replace("_", " ").capitalize())


def _show(value):
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] in "T ":
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        if timezone.is_aware(moment):
            return timezone.localtime(moment).strftime("%a %d %b %Y %H:%M")
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


@register.filter
def audit_changes(event) -> list[dict]:
    """[{field, before, after}] without empty values, with times in the reader's zone."""
    before = event.before or {}
    after = event.after or {}
    rows = []
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        if b in _HIDDEN_EMPTY and a in _HIDDEN_EMPTY:
            continue
        rows.append({"field": key.replace("_", " "), "before": _show(b) if key in before else None,
                     "after": _show(a) if key in after else None})
    return rows


@register.filter
def unique_systems(items) -> list:
    """The systems of a request's items, each once, in item order (items are prefetched)."""
    seen, systems = set(), []
    for item in items:
        if item.system_id not in seen:
            seen.add(item.system_id)
            systems.append(item.system)
    return systems
