"""The requested window is typed in the user's own time zone, stored in UTC, and shown in the reader's zone."""

import datetime as dt

from django.urls import reverse

from apps.upgrades.models import UpgradeRequest

from ..factories import UserFactory


def _form(component, start, end):
    return {"title": "Upgrade the ledger", "justification": "End of life.", "risk_class": "normal",
            "window_start": start, "window_end": end, "external_ref": "", "external_url": "",
            "items-TOTAL_FORMS": "1", "items-INITIAL_FORMS": "0", "items-MIN_NUM_FORMS": "1",
            "items-MAX_NUM_FORMS": "50", "items-0-system": str(component.system_id),
            "items-0-component": str(component.pk), "items-0-target_version": "16.4"}


def test_window_typed_in_kolkata_is_stored_in_utc_and_shown_in_each_readers_zone(team_a, component_a, auditor,
                                                                                   client, api):
    kolkata = UserFactory(username="priya", roles=["change_manager"], teams=[team_a])
    kolkata.timezone = "Asia/Kolkata"
    kolkata.save()
    client.force_login(kolkata)
    form_page = client.get(reverse("upgrades:create")).content.decode()
    assert "your time zone: Asia/Kolkata" in form_page
    response = client.post(reverse("upgrades:create"), _form(component_a, "2026-12-06T06:30", "2026-12-06T08:30"))
    assert response.status_code == 302
    upgrade = UpgradeRequest.objects.get()
    assert upgrade.window_start == dt.datetime(2026, 12, 6, 1, 0, tzinfo=dt.UTC)
    assert upgrade.window_end == dt.datetime(2026, 12, 6, 3, 0, tzinfo=dt.UTC)
    assert api(kolkata).get(f"/api/v1/upgrades/{upgrade.reference}/").json()["window_start"] == "2026-12-06T01:00:00Z"

    # the author reads it back in Kolkata time, in the page and in the edit form
    page = client.get(upgrade.get_absolute_url()).content.decode()
    assert "Sun 6 Dec 2026, 06:30 – Sun 6 Dec 2026, 08:30 IST" in page
    edit = client.get(reverse("upgrades:edit", args=[upgrade.reference])).content.decode()
    assert 'value="2026-12-06T06:30"' in edit

    # an auditor in UTC sees the same moment as 01:00; a reader in New York the evening before
    client.force_login(auditor)
    assert "Sun 6 Dec 2026, 01:00 – Sun 6 Dec 2026, 03:00 UTC" in client.get(upgrade.get_absolute_url()).content.decode()
    new_york = UserFactory(username="nyc", roles=["executive"])
    new_york.timezone = "America/New_York"
    new_york.save()
    client.force_login(new_york)
    page = client.get(upgrade.get_absolute_url()).content.decode()
    assert "Sat 5 Dec 2026, 20:00 – Sat 5 Dec 2026, 22:00 EST" in page
    listing = client.get(reverse("upgrades:list")).content.decode()
    assert "Sat 5 Dec 2026 20:00" in listing


def test_saving_the_edit_form_unchanged_keeps_the_utc_window(team_a, component_a, client):
    kolkata = UserFactory(username="priya", roles=["change_manager"], teams=[team_a])
    kolkata.timezone = "Asia/Kolkata"
    kolkata.save()
    client.force_login(kolkata)
    client.post(reverse("upgrades:create"), _form(component_a, "2026-12-06T06:30", "2026-12-06T08:30"))
    upgrade = UpgradeRequest.objects.get()
    data = _form(component_a, "2026-12-06T06:30", "2026-12-06T08:30")
    data["title"] = "Renamed"
    assert client.post(reverse("upgrades:edit", args=[upgrade.reference]), data).status_code == 302
    upgrade.refresh_from_db()
    assert upgrade.title == "Renamed"
    assert upgrade.window_start == dt.datetime(2026, 12, 6, 1, 0, tzinfo=dt.UTC)
