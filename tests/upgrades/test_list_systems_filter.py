"""The request list's system filter at scale: typed with suggestions, never a <select> of every system."""

import re

import factory
import pytest
from django.urls import reverse

from ..factories import SystemFactory

pytestmark = pytest.mark.django_db
OPTION = re.compile(r'<option value="([^"]+)">')


def factory_name(prefix):
    return factory.Sequence(lambda n: f"{prefix} {n:03d}")


def test_the_list_page_does_not_list_every_system(requester, login, upgrade, system_b):
    SystemFactory.create_batch(40, name=factory_name("Unrelated"))
    page = login(requester).get(reverse("upgrades:list")).content.decode()
    assert not re.search(r'<select[^>]*name="system"', page)
    assert re.search(r'<input[^>]*name="system"[^>]*list="system-options"|<input[^>]*list="system-options"'
                     r'[^>]*name="system"', page)
    # the datalist starts with the systems of the rows shown, not with the inventory
    assert OPTION.findall(page.split('<datalist id="system-options">')[1].split("</datalist>")[0]) == [
        "core-ledger"]
    assert "Unrelated" not in page


def test_suggestions_match_the_typed_text_and_are_bounded(requester, login, system_a, system_b):
    SystemFactory.create_batch(30, name=factory_name("Ledger shard"), slug=factory_name("ledger-shard"))
    client = login(requester)
    found = OPTION.findall(client.get(reverse("upgrades:list"), {"suggest": "system", "system": "portal"})
                           .content.decode())
    assert found == ["retail-portal"]
    found = OPTION.findall(client.get(reverse("upgrades:list"), {"suggest": "system", "system": "LEDGER"})
                           .content.decode())
    assert len(found) == 20 and found[0] == "core-ledger"  # by name: "Core Ledger" before "Ledger shard …"


def test_suggestions_keep_to_the_readers_regions(requester, login, system_a):
    SystemFactory(name="Ledger in the US", slug="ledger-us", region="us-east")
    requester.regions = "eu-central"
    requester.save(update_fields=["regions"])
    found = OPTION.findall(login(requester).get(reverse("upgrades:list"), {"suggest": "system", "system": "ledger"})
                           .content.decode())
    assert found == ["core-ledger"]


def test_a_suggestion_is_a_fragment_without_the_page(requester, login, system_a):
    body = login(requester).get(reverse("upgrades:list"), {"suggest": "system", "system": "core\x00"}).content
    assert b"<html" not in body and b"<nav" not in body
