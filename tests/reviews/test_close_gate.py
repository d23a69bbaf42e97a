"""Closing a request needs a completed post-implementation review and a confirmed readiness list."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from apps.audit.models import AuditEvent
from apps.execution.incidents import incident_open
from apps.reviews import pir, readiness
from apps.reviews.models import PostImplementationReview, ReadinessItem
from apps.upgrades.services import TransitionRefused, upgrade_transition

from .conftest import REVIEW

pytestmark = pytest.mark.django_db


def test_close_is_refused_until_review_and_readiness_are_done(completed, requester, implementer):
    with pytest.raises(TransitionRefused) as exc:
        upgrade_transition(request=completed, by=requester, transition="close")
    reasons = " ".join(exc.value.reasons)
    assert "post-implementation review" in reasons
    assert "runbooks, service documentation and training" in reasons

    runbook = readiness.readiness_add(request=completed, by=requester, kind=ReadinessItem.Kind.DR_RUNBOOK,
                                      title="DR runbook for the ledger database")
    pir.pir_save(request=completed, by=requester, **REVIEW)  # a draft is not enough
    with pytest.raises(TransitionRefused) as exc:
        upgrade_transition(request=completed, by=requester, transition="close")
    reasons = " ".join(exc.value.reasons)
    assert "Complete the post-implementation review" in reasons
    assert "DR runbook for the ledger database" in reasons

    pir.pir_save(request=completed, by=requester, complete=True)
    readiness.readiness_confirm(item=runbook, by=implementer, link="https://wiki.example.com/dr/ledger")
    closed = upgrade_transition(request=completed, by=requester, transition="close")
    assert closed.state == "closed"
    runbook.refresh_from_db()
    assert runbook.done and runbook.confirmed_by == implementer
    assert AuditEvent.objects.filter(action="pir.complete").count() == 1
    assert AuditEvent.objects.filter(action="readiness.confirm").count() == 1


def test_drive_reaches_closed_through_the_seed_hook(upgrade, drive):
    closed = drive(upgrade, "closed")
    review = PostImplementationReview.objects.get(request=closed)
    assert review.status == "completed" and review.lessons
    assert ReadinessItem.objects.filter(request=closed, done=False).count() == 0


def test_review_is_due_after_a_rollback_and_prefills_downtime_from_incidents(upgrade, drive, requester, implementer):
    rolled = drive(upgrade, "rolled_back")
    incident_open(request=rolled, by=implementer, title="Ledger writes failed", severity="P2", impact_minutes=17)
    review = pir.pir_save(request=rolled, by=requester, went_well="Backout was quick.")
    assert review.downtime_minutes >= 17
    assert "Ledger writes failed" in review.incidents_summary
    assert review.due_at == rolled.state_changed_at + dt.timedelta(days=pir.due_days())


def test_review_cannot_be_written_before_the_upgrade_ran(upgrade, requester):
    with pytest.raises(pir.ReviewRefused):
        pir.pir_save(request=upgrade, by=requester, **REVIEW)
    assert PostImplementationReview.objects.count() == 0
    assert AuditEvent.objects.filter(action="pir.refused").count() == 1


def test_only_the_requester_writes_the_review(completed, assessor, implementer):
    for who in (assessor, implementer):
        with pytest.raises(pir.ReviewRefused):
            pir.pir_save(request=completed, by=who, **REVIEW)
    assert PostImplementationReview.objects.count() == 0


def test_completing_an_incomplete_review_names_the_missing_fields_and_writes_nothing(completed, requester):
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as exc:
        pir.pir_save(request=completed, by=requester, complete=True, went_well="ok", downtime_minutes=0)
    assert {"success_criteria", "went_badly", "lessons"} <= set(exc.value.message_dict)
    assert PostImplementationReview.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_a_completed_review_is_final(completed, requester):
    pir.pir_save(request=completed, by=requester, complete=True, **REVIEW)
    with pytest.raises(pir.ReviewRefused):
        pir.pir_save(request=completed, by=requester, lessons="rewritten")
    assert PostImplementationReview.objects.get().lessons == REVIEW["lessons"]
