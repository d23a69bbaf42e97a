"""Lessons reach later assessments; follow-ups, accepted risks and expiring exceptions fill the backlog."""

import datetime as dt

import pytest
from django.urls import reverse

from apps.assessments.models import Finding
from apps.assessments.services import assessment_start
from apps.configuration.models import ConfigException
from apps.core import clock, inbox
from apps.reviews import backlog, pir, selectors
from apps.reviews.models import BacklogItem
from apps.upgrades.services import upgrade_duty_assign

from ..conftest import make_request
from .conftest import REVIEW

pytestmark = pytest.mark.django_db


def _later(requester, assessor, component, drive):
    later = make_request(requester, component, title="Ledger database to PostgreSQL 17")
    upgrade_duty_assign(request=later, by=requester, user=assessor, duty="assessor")
    later = drive(later, "assessing")
    assessment_start(request=later, by=assessor)
    return later


def test_lessons_of_an_earlier_upgrade_show_on_the_later_assessment(completed, requester, assessor, component_a,
                                                                    component_b, drive, login):
    pir.pir_save(request=completed, by=requester, complete=True,
                 **{**REVIEW, "lessons": "Last time the replica lagged: pause replication first."})
    later = _later(requester, assessor, component_a, drive)
    page = login(assessor).get(reverse("assessments:detail", args=[later.reference]))
    assert page.status_code == 200
    assert "pause replication first" in page.content.decode()
    assert completed.reference in page.content.decode()

    # a request on another system and another product learns nothing from it
    other = _later(requester, assessor, component_b, drive)
    assert selectors.lessons_for(other) == []
    assert "pause replication first" not in login(assessor).get(
        reverse("assessments:detail", args=[other.reference])).content.decode()


def test_lessons_are_searchable_and_scoped_to_what_the_user_sees(completed, requester, outsider, login):
    pir.pir_save(request=completed, by=requester, complete=True, **REVIEW)
    page = login(requester).get(reverse("reviews:lessons"), {"q": "postgres"})
    assert "Warm the ledger caches" in page.content.decode()
    assert "Warm the ledger caches" not in login(requester).get(
        reverse("reviews:lessons"), {"q": "kubernetes"}).content.decode()
    assert "Warm the ledger caches" not in login(outsider).get(reverse("reviews:lessons")).content.decode()


def test_backlog_takes_follow_ups_accepted_risks_and_expiring_exceptions(completed, requester, implementer,
                                                                        assessor, system_a):
    now = clock.now()
    Finding.objects.create(assessment=completed.assessment, category="capacity", severity="high",
                           title="Disk headroom under 20 %", resolution="accepted", owner=assessor,
                           justification="Disks arrive in January.", created_at=now, updated_at=now)
    ConfigException.objects.create(system=system_a, key_pattern="db.pool.*", reason_kind="performance_tuning",
                                   reason="Pool raised for month end.", expires_at=now + dt.timedelta(days=20),
                                   status="approved", requested_by=implementer, requested_at=now)
    ConfigException.objects.create(system=system_a, key_pattern="db.old", reason_kind="performance_tuning",
                                   reason="Expired already.", expires_at=now - dt.timedelta(days=1),
                                   status="approved", requested_by=implementer, requested_at=now)
    pir.followup_add(request=completed, by=requester, title="Automate the replica check", owner=implementer,
                     due_date=now.date() + dt.timedelta(days=14), priority="high")
    created = backlog.backlog_import(request=completed, by=requester)
    assert backlog.backlog_import(request=completed, by=requester) == []  # each source only once

    kinds = {i.kind: i for i in BacklogItem.objects.filter(request=completed)}
    assert set(kinds) == {"follow_up", "accepted_risk", "config_exception"} and len(created) == 2
    assert kinds["accepted_risk"].owner == assessor and kinds["accepted_risk"].priority == "high"
    assert kinds["config_exception"].due_date == (now + dt.timedelta(days=20)).date()
    assert kinds["config_exception"].priority == "high"  # expires within a month
    assert kinds["follow_up"].review is not None


def test_overdue_items_show_in_my_work_and_on_the_backlog_page(completed, requester, implementer, login):
    today = clock.now().date()
    late = pir.followup_add(request=completed, by=requester, title="Rotate the replication keys",
                            owner=implementer, due_date=today - dt.timedelta(days=3))
    pir.followup_add(request=completed, by=requester, title="Tidy the old tablespace", owner=implementer,
                     due_date=today + dt.timedelta(days=30))
    titles = [i.title for i in inbox.items_for(implementer) if i.kind == "Overdue backlog item"]
    assert titles == ["Rotate the replication keys"]
    assert "Rotate the replication keys" in login(implementer).get(reverse("core:my-work")).content.decode()

    page = login(implementer).get(reverse("reviews:backlog"), {"overdue": "on"}).content.decode()
    assert "Rotate the replication keys" in page and "Tidy the old tablespace" not in page

    login(implementer).post(reverse("reviews:backlog_done", args=[late.pk]))
    late.refresh_from_db()
    assert late.status == "done" and late.done_by == implementer
    assert not [i for i in inbox.items_for(implementer) if i.kind == "Overdue backlog item"]


def test_review_to_write_shows_in_the_requesters_my_work(completed, requester):
    items = [i for i in inbox.items_for(requester) if i.kind == "Post-implementation review to complete"]
    assert [i.url for i in items] == [reverse("reviews:request", args=[completed.reference])]
    pir.pir_save(request=completed, by=requester, complete=True, **REVIEW)
    assert not [i for i in inbox.items_for(requester) if i.kind == "Post-implementation review to complete"]


def test_only_owner_requester_or_admin_marks_an_item_done(completed, requester, implementer, assessor):
    item = pir.followup_add(request=completed, by=requester, title="x", owner=implementer,
                            due_date=clock.now().date())
    with pytest.raises(pir.ReviewRefused):
        backlog.backlog_done(item=item, by=assessor)
    item.refresh_from_db()
    assert item.status == "open"
