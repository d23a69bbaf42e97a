from celery import shared_task

from .notifications import notification_email


@shared_task(bind=True, max_retries=3, autoretry_for=(ConnectionError, OSError), retry_backoff=True)
def notification_email_send(self, notification_id: int) -> bool:
    return notification_email(notification_id)
