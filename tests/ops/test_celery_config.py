"""Background work is safe: tasks survive a killed worker, go out only after commit, and run on a real worker."""

import time

import pytest
from celery.signals import before_task_publish, task_postrun
from django.core import mail
from django.db import connection, transaction

from apps.accounts.models import Notification
from apps.accounts.notifications import notify
from apps.accounts.tasks import notification_email_send
from apps.core import clock
from apps.inventory.choices import ImportStatus
from apps.inventory.models import Environment, ImportJob
from apps.inventory.services import import_confirm, import_preview
from config.celery import app as celery_app

from ..factories import UserFactory

ENVIRONMENTS_CSV = b"name,slug,kind,order\nPre-production,pre-production,staging,5\n"


def wait_until(predicate, *, timeout: float = 30.0, what: str = "the worker") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"{what} did not finish within {timeout:.0f} s")


@pytest.fixture
def published():
    """Every task message handed to the broker, with whether a transaction was still open at that moment."""
    seen = []

    def record(sender=None, body=None, headers=None, **kwargs):
        args = list(body[0]) if isinstance(body, (list, tuple)) and body else list((headers or {}).get("argsrepr", []))
        seen.append({"task": sender, "args": args, "in_transaction": connection.in_atomic_block})

    before_task_publish.connect(record, weak=False)
    try:
        yield seen
    finally:
        before_task_publish.disconnect(record)


@pytest.fixture
def finished_runs():
    """(task name, args) of every task the worker finished."""
    runs = []

    def record(sender=None, args=None, **kwargs):
        runs.append((sender.name, list(args or [])))

    task_postrun.connect(record, weak=False)
    try:
        yield runs
    finally:
        task_postrun.disconnect(record)


# --- configuration --------------------------------------------------------------------------------------------


def test_a_killed_worker_does_not_lose_or_hoard_tasks():
    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1


def test_task_messages_are_json_only():
    conf = celery_app.conf
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert list(conf.accept_content) == ["json"]


def test_tasks_have_time_limits():
    conf = celery_app.conf
    assert conf.task_soft_time_limit and conf.task_soft_time_limit > 0
    assert conf.task_time_limit and conf.task_time_limit > conf.task_soft_time_limit


def test_every_tollgate_task_is_late_acked_with_bounded_retries():
    celery_app.loader.import_default_modules()  # runs autodiscovery, as a worker does at start
    ours = {name: task for name, task in celery_app.tasks.items() if name.startswith("apps.")}
    assert "apps.accounts.tasks.notification_email_send" in ours
    assert "apps.inventory.tasks.inventory_import_run" in ours
    for name, task in ours.items():
        assert task.acks_late, name
        assert task.reject_on_worker_lost is not False, name
        assert task.max_retries is not None, f"{name} retries without bound"


# --- enqueue on commit ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_import_confirm_enqueues_only_when_the_transaction_commits(
    admin_user, published, django_capture_on_commit_callbacks
):
    job = import_preview(kind="environments", filename="envs.csv", raw=ENVIRONMENTS_CSV, by=admin_user)
    assert job.errors == []

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = import_confirm(job=job, by=admin_user)
        assert published == [], "a task was published before the transaction committed"
    assert published == []
    assert len(callbacks) >= 1
    job.refresh_from_db()
    assert job.status == ImportStatus.QUEUED

    for callback in callbacks:  # what commit would run
        callback()
    assert [(p["task"], p["args"]) for p in published] == [("apps.inventory.tasks.inventory_import_run", [job.pk])]


@pytest.mark.django_db
def test_a_rolled_back_confirmation_enqueues_nothing(admin_user, published):
    job = import_preview(kind="environments", filename="envs.csv", raw=ENVIRONMENTS_CSV, by=admin_user)

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        import_confirm(job=job, by=admin_user)
        raise Abort
    assert published == []
    job.refresh_from_db()
    assert job.status == ImportStatus.PREVIEWED


# --- a real worker ----------------------------------------------------------------------------------------------


def test_a_confirmed_import_runs_on_the_worker_after_commit(celery_worker, admin_user, published):
    job = import_preview(kind="environments", filename="envs.csv", raw=ENVIRONMENTS_CSV, by=admin_user)
    import_confirm(job=job, by=admin_user)

    wait_until(lambda: Environment.objects.filter(slug="pre-production").exists(), what="the import")
    wait_until(lambda: ImportJob.objects.get(pk=job.pk).status == ImportStatus.DONE, what="the import job")
    mine = [p for p in published if p["task"] == "apps.inventory.tasks.inventory_import_run"]
    assert len(mine) == 1
    assert mine[0]["in_transaction"] is False


def test_notification_email_goes_out_through_a_real_worker_once(celery_worker, finished_runs):
    user = UserFactory(username="mailme", email="mailme@example.test")
    note = Notification.objects.create(
        user=user, verb="assigned", message="You are the validator of UPG-2026-0001", url="/upgrades/1/",
        created_at=clock.now(),
    )

    notification_email_send.delay(note.pk)
    notification_email_send.delay(note.pk)  # a redelivery must not send a second e-mail

    task_name = notification_email_send.name
    wait_until(lambda: finished_runs.count((task_name, [note.pk])) == 2, what="the two e-mail tasks")
    note.refresh_from_db()
    assert note.emailed is True
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["mailme@example.test"]
    assert "UPG-2026-0001" in message.subject
    assert "/upgrades/1/" in message.body


def test_notify_mails_after_commit_not_before(celery_worker, published):
    user = UserFactory(username="assignee", email="assignee@example.test")

    with transaction.atomic():
        note = notify(user=user, verb="assigned", message="You are the implementer of UPG-2026-0002")
        assert published == []
    assert note is not None

    wait_until(lambda: len(mail.outbox) == 1, what="the notification e-mail")
    assert mail.outbox[0].to == ["assignee@example.test"]
    assert [p["in_transaction"] for p in published if p["task"] == notification_email_send.name] == [False]
    note.refresh_from_db()
    assert note.emailed is True
