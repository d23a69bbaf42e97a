"""Administrators limit a person to regions on the user page, through an audited service; bad input writes
nothing."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.accounts.models import User
from apps.accounts.services import user_regions_set
from apps.audit.models import AuditEvent


def page(account):
    return reverse("accounts:user-detail", args=[account.username])


def test_an_admin_limits_a_person_to_regions_on_the_user_page(admin_user, auditor, login):
    client = login(admin_user)
    assert "Limited to regions" in client.get(page(auditor)).content.decode()
    response = client.post(page(auditor), {"regions": " us-east, eu-central ,eu-central"})
    assert response.status_code == 302
    auditor.refresh_from_db()
    assert auditor.regions == "eu-central,us-east"
    event = AuditEvent.objects.get(action="user.regions_update")
    assert event.actor == admin_user and event.before == {"regions": ""} \
        and event.after == {"regions": "eu-central,us-east"}
    html = client.get(page(auditor)).content.decode()
    assert "eu-central" in html and "us-east" in html
    assert client.post(page(auditor), {"regions": ""}).status_code == 302  # lifted again
    auditor.refresh_from_db()
    assert auditor.regions == "" and AuditEvent.objects.filter(action="user.regions_update").count() == 2


@pytest.mark.parametrize("value, message", [
    ("eu central", "is not a region name"),
    ("eu-central,../etc", "is not a region name"),
    ("eu\x00central", "Null characters are not allowed"),
    ("x" * 41, "is not a region name"),
    (",".join(f"region-{i:03d}" for i in range(30)), "at most 200 characters"),
])
def test_bad_regions_are_refused_and_nothing_is_written(admin_user, auditor, login, value, message):
    client = login(admin_user)
    events = AuditEvent.objects.count()
    response = client.post(page(auditor), {"regions": value})
    assert response.status_code == 400
    assert message in response.content.decode()
    auditor.refresh_from_db()
    assert auditor.regions == "" and AuditEvent.objects.count() == events


def test_only_administrators_set_regions(auditor, requester, executive, login):
    assert login(executive).post(page(auditor), {"regions": "eu-central"}).status_code == 403
    with pytest.raises(ValidationError):
        user_regions_set(user=auditor, by=requester, regions="eu-central")
    assert User.objects.get(pk=auditor.pk).regions == ""
    assert AuditEvent.objects.filter(action="user.regions_refused").count() == 1
