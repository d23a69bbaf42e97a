"""Twenty CAB members approve the same request at the same moment: one decision, one transition, clean refusals."""

import threading

import pytest
from django.db import connection

from apps.audit.models import AuditEvent
from apps.audit.services import audit_verify
from apps.cab.models import Review, Vote
from apps.cab.services import CabRefused, vote_cast
from apps.upgrades.models import UpgradeRequest
from tests.factories import PASSWORD, UserFactory

VOTERS = 20


@pytest.mark.postgres
def test_twenty_concurrent_approvals_take_one_transition(transactional_db, upgrade, drive):
    req = drive(upgrade, "cab_review")
    review = Review.objects.get(request=req, outcome="open")
    voters = [UserFactory(username=f"cab{n:02d}", roles=["cab_member"]) for n in range(VOTERS)]
    barrier = threading.Barrier(VOTERS, timeout=30)
    accepted, refused, errors = [], [], []

    def cast(user) -> None:
        try:
            barrier.wait()
            vote_cast(review=Review.objects.get(pk=review.pk), voter=user, decision="approve", password=PASSWORD)
            accepted.append(user.username)
        except CabRefused as exc:
            refused.append(exc)
        except Exception as exc:  # noqa: BLE001  (reported by the main thread below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=cast, args=(u,)) for u in voters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(accepted) == 1 and len(refused) == VOTERS - 1
    # the rest were answered cleanly: the review was closed by then
    assert all(exc.rules == ["review_closed"] and exc.conflict for exc in refused)
    req.refresh_from_db()
    assert req.state == "approved"
    assert Vote.objects.filter(review=review).count() == 1
    ours = AuditEvent.objects.filter(object_type="upgrades.upgraderequest", object_id=str(req.pk))
    assert ours.filter(action="upgrade.transition", data__transition="approve").count() == 1
    assert ours.filter(action="cab.vote").count() == 1
    assert ours.filter(action="cab.review_decided").count() == 1
    assert ours.filter(action="cab.vote_refused").count() == VOTERS - 1
    assert Review.objects.get(pk=review.pk).outcome == "approved"
    assert UpgradeRequest.objects.filter(pk=req.pk, state="approved").exists()
    result = audit_verify()
    assert result.ok, result
