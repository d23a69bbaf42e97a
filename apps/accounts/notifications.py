"""Tell people things: in-app always, by e-mail when they want it (sent by a worker after commit)."""

from django.db import transaction

from apps.core import clock

from .choices import NotificationChannel
from .models import Notification

_DECISION_VERBS = {"returned", "decided", "rejected", "approved", "cancelled"}


def notify(*, user, verb: str, message: str, url: str = "") -> Notification | None:
    if not user.is_active or user.is_service_account:
        return None
    note = Notification.objects.create(user=user, verb=verb, message=message[:500], url=url, created_at=clock.now())
    wants_mail = user.email and user.notify_channel == NotificationChannel.EMAIL_AND_APP
    if verb == "assigned":
        wants_mail = wants_mail and user.notify_on_assignment
    elif verb in _DECISION_VERBS:
        wants_mail = wants_mail and user.notify_on_decision
    if wants_mail:
        from .tasks import notification_email_send

        transaction.on_commit(lambda: notification_email_send.delay(note.pk))
    return note


def notification_email(notification_id: int) -> bool:
    """Send one notification's e-mail once; a redelivered task finds it sent and does nothing."""
    from django.conf import settings
    from django.core.mail import send_mail

    claimed = Notification.objects.filter(pk=notification_id, emailed=False).update(emailed=True)
    if not claimed:
        return False
    note = Notification.objects.select_related("user").get(pk=notification_id)
    send_mail(
        subject=f"[Tollgate] {note.message[:80]}",
        message=f"{note.message}\n\n{note.url}\n\nYou get this because of your notification preferences in Tollgate.",
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[note.user.email],
    )
    return True
