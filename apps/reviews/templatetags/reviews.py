"""{% reviews_lessons upgrade %}: the lessons of earlier upgrades on the same systems or products."""

from django import template

register = template.Library()


@register.inclusion_tag("reviews/partials/lessons.html", takes_context=True)
def reviews_lessons(context, upgrade):
    from apps.reviews.selectors import lessons_for

    request = context.get("request")
    user = getattr(request, "user", None)
    return {"lessons": lessons_for(upgrade, user=user) if upgrade is not None else [], "request": request}
