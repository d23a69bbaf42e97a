"""Pages and API of retention: who may see and change what, bad input, and query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit import retention
from apps.audit.models import AuditEvent, LegalHold, RetentionPolicy
from apps.core import clock

from ..conftest import FIXED_NOW

PAGES = ["/audit/retention/", "/audit/retention/holds/", "/audit/retention/dry-run/"]
ALLOWED = {"auditor", "admin"}
POLICIES_API = "/api/v1/audit/retention-policies/"
HOLDS_API = "/api/v1/audit/legal-holds/"


def _counts():
    return RetentionPolicy.objects.count(), LegalHold.objects.count()


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_persona_matrix_of_the_pages(page, personas, login):
    for name, user in personas.items():
        response = login(user).get(page)
        if user is None:
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], name
        else:
            assert response.status_code == (200 if name in ALLOWED else 403), name


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", [POLICIES_API, HOLDS_API])
def test_persona_matrix_of_the_api(endpoint, personas, api):
    for name, user in personas.items():
        status = api(user).get(endpoint).status_code
        assert status == (200 if name in ALLOWED else (401 if user is None else 403)), name


@pytest.mark.django_db
def test_only_admins_set_policies_and_an_auditors_attempt_is_audited(personas, login, api):
    body = {"kind": "attachments", "region": "", "days": 400}
    assert login(personas["auditor"]).post("/audit/retention/", body).status_code == 403
    assert api(personas["auditor"]).post(POLICIES_API, body, format="json").status_code == 403
    assert RetentionPolicy.objects.count() == 0
    assert AuditEvent.objects.filter(action="retention.policy_refused", actor_username="auditor").count() == 2
    page = login(personas["auditor"]).get("/audit/retention/").content.decode()
    assert "Only administrators can change retention policies." in page and "Save policy" not in page

    response = login(personas["admin"]).post("/audit/retention/", body)
    assert response.status_code == 302
    policy = RetentionPolicy.objects.get()
    assert (policy.kind, policy.region, policy.days) == ("attachments", "", 400)
    assert policy.updated_by == personas["admin"]
    # the same kind and region again changes the days, with a diff on the trail
    response = api(personas["admin"]).post(POLICIES_API, {"kind": "attachments", "days": 500}, format="json")
    assert response.status_code == 201 and response.json()["days"] == 500
    assert RetentionPolicy.objects.get().days == 500
    event = AuditEvent.objects.filter(action="retention.policy_update").get()
    assert (event.before, event.after) == ({"days": 400}, {"days": 500})
    page = login(personas["admin"]).get("/audit/retention/").content.decode()
    assert "Attachments" in page and "500 days" in page and "All regions" in page
    # removal
    assert api(personas["admin"]).delete(f"{POLICIES_API}{policy.pk}/").status_code == 204
    assert not RetentionPolicy.objects.exists()
    assert AuditEvent.objects.filter(action="retention.policy_delete").exists()


BAD_POLICIES = [
    ({"kind": "attachments", "days": -5}, "days"),
    ({"kind": "attachments", "days": 0}, "days"),
    ({"kind": "photos", "days": 30}, "kind"),
    ({"kind": "attachments", "region": "eu\x00", "days": 30}, "region"),
    ({"kind": "reports", "region": "eu-central", "days": 30}, "region"),  # reports have no region
]


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "field"), BAD_POLICIES)
def test_bad_policy_input_is_refused_and_nothing_is_written(body, field, admin_user, login, api):
    client, page_client = api(admin_user), login(admin_user)
    before = _counts(), AuditEvent.objects.count()
    response = client.post(POLICIES_API, body, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    response = page_client.post("/audit/retention/", body)
    assert response.status_code == 400
    assert response.context["form"].errors, body
    assert (_counts(), AuditEvent.objects.count()) == before


@pytest.mark.django_db
def test_holds_set_and_lifted_with_a_reason_by_auditors(world, personas, login, api):
    auditor, admin = personas["auditor"], personas["admin"]
    ref = world["req_a"].reference
    response = login(auditor).post("/audit/retention/holds/",
                                   {"target_type": "request", "target": ref, "reason": "Inquiry 17"})
    assert response.status_code == 302
    hold = LegalHold.objects.get()
    assert (hold.object_type, hold.object_id, hold.set_by) == (
        "upgrades.upgraderequest", str(world["req_a"].pk), auditor)
    assert AuditEvent.objects.filter(action="retention.hold_set", actor_username="auditor").exists()
    page = login(auditor).get("/audit/retention/holds/").content.decode()
    assert ref in page and "Inquiry 17" in page and "Lift hold" in page
    # lifting needs a reason
    lift = f"/audit/retention/holds/{hold.pk}/lift/"
    assert login(auditor).post(lift, {"lift_reason": " "}).status_code == 400
    assert LegalHold.objects.get().lifted_at is None
    response = api(admin).post(f"{HOLDS_API}{hold.pk}/lift/", {"lift_reason": "Closed"}, format="json")
    assert response.status_code == 200 and response.json()["active"] is False
    assert response.json()["lifted_by"] == "admin"
    assert AuditEvent.objects.filter(action="retention.hold_lift", actor_username="admin").exists()
    # lifting twice is refused
    again = api(admin).post(f"{HOLDS_API}{hold.pk}/lift/", {"lift_reason": "x"}, format="json")
    assert again.status_code == 400 and "lift_reason" in again.json()
    # one artifact through the API
    response = api(auditor).post(HOLDS_API, {"target_type": "attachments", "target": str(world["att_b"].pk),
                                             "reason": "Keep"}, format="json")
    assert response.status_code == 201 and response.json()["object_type"] == "upgrades.attachment"
    # others may not
    for name in ("requester", "executive"):
        assert api(personas[name]).post(HOLDS_API, {"target_type": "request", "target": ref, "reason": "x"},
                                        format="json").status_code == 403
    assert LegalHold.objects.count() == 2


BAD_HOLDS = [
    ({"target_type": "request", "target": "UPG-1999-9999", "reason": "x"}, "target"),
    ({"target_type": "photos", "target": "1", "reason": "x"}, "target_type"),
    ({"target_type": "attachments", "target": "abc", "reason": "x"}, "target"),
    ({"target_type": "request", "target": "REF", "reason": "bad\x00reason"}, "reason"),
    ({"target_type": "request", "target": "REF", "reason": "   "}, "reason"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "field"), BAD_HOLDS)
def test_bad_hold_input_is_refused_and_nothing_is_written(body, field, world, auditor, login, api):
    body = {k: (v.replace("REF", world["req_a"].reference)) for k, v in body.items()}
    client, page_client = api(auditor), login(auditor)
    before = _counts(), AuditEvent.objects.count()
    response = client.post(HOLDS_API, body, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    response = page_client.post("/audit/retention/holds/", body)
    assert response.status_code == 400 and response.context["form"].errors
    assert (_counts(), AuditEvent.objects.count()) == before


@pytest.mark.django_db
def test_dry_run_page_lists_what_would_go_and_what_is_held(world, policies, hold_a, auditor, login):
    page = login(auditor).get("/audit/retention/dry-run/").content.decode()
    assert "plan-b.txt" in page and "Retail Portal / Production: nightly" in page
    assert "Past retention but kept by a legal hold (3)" in page and "plan-a.txt" in page
    assert "fresh.txt" not in page
    assert "is under legal hold" in page


def _make(n, admin, auditor, world):
    from apps.audit.models import RetentionPolicy as P

    start = P.objects.count()
    for i in range(start, start + n):
        P.objects.create(kind="snapshots", region=f"region-{i}", days=100 + i, updated_by=admin,
                         updated_at=FIXED_NOW)
        retention.legal_hold_set(target_type="request", target=world["req_a"].reference, reason=f"r{i}",
                                 by=auditor)


@pytest.mark.django_db
@pytest.mark.parametrize("target", ["/audit/retention/", "/audit/retention/holds/", POLICIES_API, HOLDS_API])
def test_query_counts_do_not_grow_with_the_lists(target, world, admin_user, auditor, login, api):
    client = api(admin_user) if target.startswith("/api/") else login(admin_user)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(target).status_code == 200
        return len(ctx)

    _make(10, admin_user, auditor, world)
    count()  # warm up: the forced API user caches its roles after the first request
    small = count()
    _make(40, admin_user, auditor, world)
    assert count() == small


def test_the_audit_page_links_to_retention(db, auditor, login):
    page = login(auditor).get("/audit/").content.decode()
    assert 'href="/audit/retention/"' in page and 'href="/audit/retention/holds/"' in page


@pytest.mark.django_db
def test_dry_run_page_query_count_does_not_grow(world, policies, admin_user, requester, login):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.upgrades.services import attachment_add

    from .conftest import OLD

    client = login(admin_user)

    def add_old(n):
        clock.set_to(OLD)
        for i in range(n):
            attachment_add(request=world["req_b"], by=requester, upload=SimpleUploadedFile(f"f{i}.txt", b"x"))
        clock.set_to(FIXED_NOW)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/audit/retention/dry-run/")
        assert response.status_code == 200
        return len(ctx), response.content.decode().count(".txt (UPG-")

    add_old(5)
    small, listed = count()
    add_old(30)
    large, listed_large = count()
    assert large == small and listed_large == listed + 30
