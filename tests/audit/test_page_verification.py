"""The auditor pages' verification box on a long chain: later views walk only the links appended since."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.audit import selectors
from apps.audit.models import AuditEvent
from apps.audit.services import audit_append, audit_verify

from .conftest import raw, triggers_disabled


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def _append(n: int) -> None:
    for i in range(n):
        audit_append(action="test.event", data={"i": i})


@pytest.mark.django_db
def test_verifying_after_a_known_head_walks_only_the_new_links():
    _append(5)
    head = AuditEvent.objects.get(seq=3)
    result = audit_verify(after=3, after_hash=head.hash)
    assert result.ok and result.checked == 2 and result.head_seq == 5
    assert audit_verify(after=3, after_hash="0" * 64) is None  # not the event's hash: the caller starts over


@pytest.mark.django_db
def test_a_link_appended_after_the_remembered_head_is_still_checked(client, auditor):
    _append(3)
    client.force_login(auditor)
    assert "BROKEN" not in client.get(reverse("audit:list")).content.decode()  # remembers the head
    _append(2)
    newest = AuditEvent.objects.order_by("-seq").first()
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET object_repr = 'forged' WHERE seq = %s", [newest.seq])
    page = client.get(reverse("audit:list")).content.decode()
    assert "BROKEN" in page and f"#{newest.seq}" in page
    assert "its content does not match its hash" in page


@pytest.mark.django_db
def test_a_rewritten_remembered_event_makes_the_page_walk_everything_again():
    _append(4)
    first, _, _ = selectors.chain_verification()
    assert first.ok and first.checked == 4
    with triggers_disabled():
        raw("UPDATE audit_auditevent SET hash = %s WHERE seq = 4", ["f" * 64])
    result, verified_from, _ = selectors.chain_verification()
    assert not result.ok and verified_from == 1


@pytest.mark.django_db
def test_a_long_chain_is_walked_from_its_latest_links_on_the_first_view(monkeypatch, client, auditor):
    monkeypatch.setattr(selectors, "PAGE_WALK_LIMIT", 3)
    _append(6)
    client.force_login(auditor)  # one more event: auth.login
    result, verified_from, _ = selectors.chain_verification()
    head = AuditEvent.objects.order_by("-seq").first().seq
    assert result.ok and result.checked == 3 and verified_from == head - 2
    page = client.get(reverse("audit:list")).content.decode()
    assert f"from event #{head - 2} on" in page


@pytest.mark.django_db
def test_the_filter_choices_are_the_distinct_actions_and_object_types():
    _append(2)
    audit_append(action="other.event", object_type="upgrades.upgraderequest", object_id="1")
    assert selectors.audit_actions() == sorted(set(AuditEvent.objects.values_list("action", flat=True)))
    assert selectors.audit_object_types() == ["upgrades.upgraderequest"]
