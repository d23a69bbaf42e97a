"""The navigation's "My work" count: right after every write, and not recomputed on every page when cached."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ..conftest import make_request

pytestmark = pytest.mark.django_db
BADGE = re.compile(r'<span class="badge" aria-label="(\d+) items waiting">')


def _count(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(reverse("upgrades:list")).content.decode()
    found = BADGE.search(page)
    return (int(found.group(1)) if found else 0), len(ctx.captured_queries)


@pytest.fixture
def cached(settings):
    settings.TOLLGATE_INBOX_COUNT_SECONDS = 60
    from django.core.cache import cache

    cache.clear()


def test_the_cached_count_is_reused_while_nothing_is_written(cached, upgrade, requester, login):
    client = login(requester)
    first, first_queries = _count(client)
    second, second_queries = _count(client)
    assert first == second >= 1
    assert second_queries < first_queries  # the providers' queries are not run again


def test_the_cached_count_follows_every_write(cached, upgrade, requester, component_a, login):
    client = login(requester)
    before, _ = _count(client)
    make_request(requester, component_a, title="Another draft to finish")  # a service: an audit event
    after, _ = _count(client)
    assert after == before + 1


def test_without_the_setting_the_count_is_computed_on_every_page(upgrade, requester, component_a, login):
    client = login(requester)
    before, first_queries = _count(client)
    assert _count(client)[1] == first_queries
    make_request(requester, component_a, title="Another draft to finish")
    assert _count(client)[0] == before + 1


def test_a_comment_does_not_make_everyone_count_again(cached, upgrade, requester, login):
    """A comment changes no one's work: the count stays cached (the providers' queries are not run), while
    the next write that may change it (a new request) is counted at once."""
    from apps.upgrades.services import comment_add

    client = login(requester)
    before, first_queries = _count(client)
    comment_add(request=upgrade, by=requester, body="Checked with the database team.")
    after, queries = _count(client)
    assert after == before and queries < first_queries


def test_refusals_downloads_and_sign_ins_leave_the_shown_number_alone(upgrade, requester):
    from apps.audit.models import ChainHead
    from apps.audit.selectors import newest_shown_seq
    from apps.audit.services import audit_append

    shown = newest_shown_seq()
    for action in ("upgrade.comment", "upgrade.transition_refused", "duty.denied", "report.downloaded",
                   "auth.login", "auth.login_failed", "duty.assign_refused"):
        audit_append(action=action, actor=requester, obj=upgrade)
    head = ChainHead.objects.get(pk=1)
    assert newest_shown_seq() == head.shown_seq == shown < head.seq
    audit_append(action="upgrade.update", actor=requester, obj=upgrade)
    assert newest_shown_seq() == ChainHead.objects.get(pk=1).seq
