"""Patch schedules and vendor advisories: the beat task, the inbox provider and the seed hook."""

from celery import shared_task
from celery.schedules import crontab

PATCH_GENERATION = "reviews-patch-schedule-generation"


@shared_task(name="reviews.patch_generate_due", acks_late=True, max_retries=3, default_retry_delay=300,
             soft_time_limit=600, time_limit=660)
def patch_generate_due_task() -> int:
    """Raise the standard requests due; a re-run raises nothing twice (one PatchOccurrence per window)."""
    from .patches import generate_due

    return generate_due()


def advisories_to_act_on(user) -> list:
    """Affected components with an open finding and no upgrade request yet, for change managers."""
    from django.urls import reverse

    from apps.assessments.choices import Resolution
    from apps.core.inbox import InboxItem

    from .models import AdvisoryMatch

    if not user.has_role("change_manager"):
        return []
    rows = (AdvisoryMatch.objects.filter(request__isnull=True, finding__resolution=Resolution.OPEN)
            .select_related("advisory", "component__system").order_by("-advisory__imported_at", "pk")[:50])
    return [InboxItem(kind="Vendor advisory to act on",
                      title=f"{m.advisory.identifier}: {m.component.system.name} {m.component.product} {m.version}",
                      url=reverse("patches:advisory", args=[m.advisory_id]),
                      detail="Open an upgrade request to a fixed version, or resolve the finding.")
            for m in rows]


def seed_demo(*, users: dict) -> dict:
    """Demo material: a signed standard template for PostgreSQL 13 patching, a monthly schedule on the first
    system running PostgreSQL 13 (second Tuesday, 22:00 Europe/Berlin), the requests now due, and a vendor
    advisory for the OpenSSL release the demo runs. Through the services; people found by role.

    Not a transition hook (the advisory raises system-level findings, which `drive()` in other tests must not
    see): the demo build calls it once after the history (`seed_demo(users=self.users)`).
    """
    import datetime as dt

    from apps.cab import services as cab
    from apps.core import clock
    from apps.core.seed.data import PASSWORD
    from apps.inventory.models import Component

    from . import advisories, patches
    from .models import Advisory, PatchSchedule

    people = list(users.values())
    manager = next((u for u in people if u.has_role("change_manager")), None)
    member = next((u for u in people if u.has_role("cab_member") and u != manager), None)
    component = Component.objects.filter(product__iexact="postgresql", version__startswith="13.",
                                         environment__kind="production").select_related("system").first()
    done = {"schedules": 0, "requests": 0, "advisories": 0}
    if manager is None or member is None or component is None or PatchSchedule.objects.exists():
        return done
    today = clock.now().date()
    template = cab.template_create(
        by=manager, name="PostgreSQL 13 monthly minor release", product="postgresql",
        description="Apply the PostgreSQL 13 minor release of the month on a patched standby first, then fail over.",
        version_constraint=">=13.0,<14", runbook="1. Patch the standby. 2. Switch over. 3. Patch the old primary.",
        valid_from=today - dt.timedelta(days=1), valid_until=today + dt.timedelta(days=365),
        systems=[component.system])
    template = cab.template_approve(template=template, by=member, password=PASSWORD)
    schedule = patches.schedule_create(
        by=manager, system=component.system, template=template, name=f"{component.system.name} monthly patching",
        rrule="FREQ=MONTHLY;BYDAY=2TU", first_date=today, start_time=dt.time(22, 0), time_zone="Europe/Berlin",
        target_version="13.16", duration_minutes=120, lead_days=14)
    done["schedules"] = 1
    done["requests"] = len(patches.schedule_generate(schedule=schedule))
    if not Advisory.objects.exists() and Component.objects.filter(product__iexact="openssl").exists():
        version = Component.objects.filter(product__iexact="openssl").values_list("version", flat=True).first()
        advisories.advisory_record(
            by=manager, identifier="DEMO-OPENSSL-0001", severity="high", product="openssl",
            affected_versions=version,
            title=f"Demo advisory: OpenSSL {version} is past the end of upstream support",
            url="")
        done["advisories"] = 1
    return done


def schedule() -> None:
    from config.celery import app

    app.conf.beat_schedule = {
        **(app.conf.beat_schedule or {}),
        PATCH_GENERATION: {"task": "reviews.patch_generate_due", "schedule": crontab(minute=5)},
    }


def register() -> None:
    """Registers gates, effects, inbox providers, beat schedules and seed hooks."""
    from apps.core import inbox

    inbox.register("reviews.advisories", advisories_to_act_on)
    schedule()
