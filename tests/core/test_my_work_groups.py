"""My work with many items: each kind shows its first items and a link to all of them, a page at a time.

A change manager who owns hundreds of requests to close still gets a page that reads in a glance (and that
renders in milliseconds, not the hundreds it took to draw 900 rows)."""

import re

import pytest
from django.urls import reverse

from apps.core.views import GROUP_PREVIEW, KIND_PAGE_SIZE

from ..conftest import make_request

pytestmark = pytest.mark.django_db
ROW = re.compile(r'<td><a href="/upgrades/[^"]+/">')


@pytest.fixture
def drafts(requester, component_a):
    return [make_request(requester, component_a, title=f"Draft number {n:02d}") for n in range(GROUP_PREVIEW + 3)]


def test_a_busy_kind_shows_its_first_items_and_links_to_all(drafts, requester, login):
    page = login(requester).get(reverse("core:my-work")).content.decode()
    assert f"{len(drafts)} things waiting for you" in page
    assert "Draft to finish <span class=\"muted small\">(13)</span>" in page
    assert len(ROW.findall(page)) == GROUP_PREVIEW
    assert 'href="?kind=Draft%20to%20finish">Show all 13 — 3 more</a>' in page


def test_the_kind_page_lists_every_item_of_that_kind(drafts, requester, login):
    page = login(requester).get(reverse("core:my-work"), {"kind": "Draft to finish"}).content.decode()
    assert len(ROW.findall(page)) == len(drafts)
    for draft in drafts:
        assert draft.title in page
    assert "← My work" in page


def test_the_kind_page_is_paginated(requester, component_a, login, settings, monkeypatch):
    monkeypatch.setattr("apps.core.views.KIND_PAGE_SIZE", 2)
    for n in range(5):
        make_request(requester, component_a, title=f"Draft {n}")
    client = login(requester)
    first = client.get(reverse("core:my-work"), {"kind": "Draft to finish"}).content.decode()
    assert len(ROW.findall(first)) == 2 and "1–2 of 5" in first and "Next →" in first
    last = client.get(reverse("core:my-work"), {"kind": "Draft to finish", "page": "3"}).content.decode()
    assert len(ROW.findall(last)) == 1 and "5–5 of 5" in last and "← Previous" in last
    assert KIND_PAGE_SIZE == 50  # the real page size, for the record


def test_a_kind_with_nothing_waiting_says_so(requester, login):
    page = login(requester).get(reverse("core:my-work"), {"kind": "No such kind\x00"}).content.decode()
    assert "Nothing of this kind is waiting for you now." in page
