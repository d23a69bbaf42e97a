"""The Django admin shows the trail to auditors and administrators, and offers no way to change it."""

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent


@pytest.fixture
def staff(auditor, executive):
    for user in (auditor, executive):
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return auditor, executive


def test_admin_is_view_only_for_auditors(client, staff, chain):
    auditor, _ = staff
    client.force_login(auditor)
    event = chain[1]
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    change = client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))
    assert change.status_code == 200 and event.hash in change.content.decode()
    assert b'name="_save"' not in change.content
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:audit_auditevent_change", args=[event.pk]),
                       {"action": "rewritten"}).status_code == 403
    delete_url = reverse("admin:audit_auditevent_delete", args=[event.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"
    assert AuditEvent.objects.filter(action="test.event").count() == 5
    assert AuditEvent.objects.filter(action="access.denied").count() == 3


def test_admin_hides_the_trail_from_other_staff(client, staff, chain):
    _, executive = staff
    client.force_login(executive)
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 403
