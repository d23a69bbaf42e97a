"""Helpers to play the attacker: change the trail behind the trigger's back."""

import contextlib

import pytest
from django.db import connection

from apps.audit import triggers
from apps.audit.models import AuditEvent, ChainHead
from apps.audit.services import audit_append, canonical, link_hash


@contextlib.contextmanager
def triggers_disabled():
    """Drop the append-only triggers (as someone with DDL rights could) and put them back afterwards."""
    triggers.uninstall(connection)
    try:
        yield
    finally:
        triggers.install(connection)


def raw(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def recompute_chain(from_seq: int = 1) -> None:
    """Rewrite every hash from `from_seq` on, so each link is consistent again (needs triggers disabled)."""
    fields = ("seq", "created_at", "actor_id", "actor_username", "action", "object_type", "object_id",
              "object_repr", "ip", "before", "after", "data")
    previous = AuditEvent.objects.filter(seq=from_seq - 1).values_list("hash", flat=True).first() or "0" * 64
    for row in AuditEvent.objects.filter(seq__gte=from_seq).order_by("seq").values_list(*fields):
        record = dict(zip(fields, row, strict=True))
        digest = link_hash(previous, canonical(**record))
        raw("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE seq = %s",
            [previous, digest, record["seq"]])
        previous = digest
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    ChainHead.objects.filter(pk=1).update(seq=last, hash=previous)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Personas are hashed with a cheap hasher here: these tests are about the trail, not passwords."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def chain(db):
    """Five events appended through the service; returns them oldest first."""
    return [
        audit_append(action="test.event", object_type="tests.thing", object_id=str(n),
                     object_repr=f"Thing {n}", before={"n": n - 1}, after={"n": n})
        for n in range(1, 6)
    ]
