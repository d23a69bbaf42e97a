"""Pages under /patches/: persona matrix, flows through the forms, bad input, query counts."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import clock
from apps.reviews import advisories, patches
from apps.reviews.models import Advisory, AdvisoryMatch, PatchSchedule
from apps.upgrades.models import UpgradeRequest

from ..factories import ComponentFactory, SystemFactory
from .conftest import BEFORE_DST, read

pytestmark = pytest.mark.django_db

READ = {"requester": 200, "assessor": 200, "approver": 200, "implementer": 403, "validator": 403,
        "executive": 403, "auditor": 200, "admin": 200, "outsider": 200}
WRITE = {"requester": 200, "assessor": 200, "approver": 403, "implementer": 403, "validator": 403,
         "executive": 403, "auditor": 403, "admin": 200, "outsider": 200}


def test_persona_matrix_of_the_pages(schedule, inventory_match, personas, login):
    advisory = inventory_match.advisory
    reads = ["/patches/", f"/patches/{schedule.pk}/", "/patches/advisories/", f"/patches/advisories/{advisory.pk}/"]
    writes = ["/patches/new/", "/patches/advisories/import/"]
    for name, user in personas.items():
        client = login(user)
        for path in reads + writes:
            response = client.get(path)
            if user is None:
                assert response.status_code == 302 and "/accounts/login/" in response["Location"], (name, path)
            else:
                expected = (READ if path in reads else WRITE)[name]
                assert response.status_code == expected, (name, path, response.status_code)


@pytest.fixture
def inventory_match(requester, system_a, production):
    ComponentFactory(system=system_a, environment=production, name="converter", product="CVRF-CSAF-Converter",
                     version="1.0.0-dev2")
    advisory = advisories.advisory_import_csaf(raw=read("bsi-2022-0001.json"), by=requester)
    return advisory.matches.get()


def test_schedule_page_shows_windows_ahead_in_local_time_and_the_requests_raised(schedule, requester, login):
    with clock.frozen(BEFORE_DST):
        patches.generate_due()
        page = login(requester).get(f"/patches/{schedule.pk}/").content.decode()
    raised = UpgradeRequest.objects.get()
    assert "Tue 10 Mar 2026, 22:00 Europe/Berlin" in page and "Tue 14 Apr 2026, 22:00 Europe/Berlin" in page
    assert raised.reference in page and "Pause" in page
    listing = login(requester).get("/patches/").content.decode()
    assert "Ledger DB monthly patching" in listing and "FREQ=MONTHLY;BYDAY=2TU" in listing


def test_create_a_schedule_through_the_form_and_bad_input(template, component_a, requester, login):
    client = login(requester)
    data = {"name": "Monthly", "system": component_a.system_id, "template": template.pk, "target_version": "13.16",
            "rrule": "FREQ=MONTHLY;BYDAY=2TU", "first_date": "2026-12-01", "start_time": "22:00",
            "time_zone": "Europe/Berlin", "duration_minutes": "120", "lead_days": "7"}
    response = client.post("/patches/new/", {**data, "rrule": "every second tuesday"})
    assert response.status_code == 400 and "The rule needs FREQ=DAILY" in response.content.decode()
    assert not PatchSchedule.objects.exists()
    response = client.post("/patches/new/", data)
    schedule = PatchSchedule.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/patches/{schedule.pk}/"
    response = client.post(f"/patches/{schedule.pk}/active/", {"active": "0"})
    schedule.refresh_from_db()
    assert not schedule.active


def test_import_csaf_through_the_page_then_open_an_upgrade_request(system_a, production, requester, login):
    component = ComponentFactory(system=system_a, environment=production, name="converter",
                                 product="CVRF-CSAF-Converter", version="1.0.0-alpha")
    client = login(requester)
    bad = SimpleUploadedFile("bad.json", b'{"document": {"category": "csaf_base"}}', "application/json")
    response = client.post("/patches/advisories/import/", {"kind": "csaf", "file": bad})
    assert response.status_code == 400
    assert "does not follow the CSAF 2.0 schema" in response.content.decode()
    assert not Advisory.objects.exists()
    good = SimpleUploadedFile("bsi.json", read("bsi-2022-0001.json"), "application/json")
    response = client.post("/patches/advisories/import/", {"kind": "csaf", "file": good})
    advisory = Advisory.objects.get()
    assert response["Location"] == f"/patches/advisories/{advisory.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "BSI-2022-0001" in page and "Open an upgrade request" in page and "1.0.0-alpha" in page
    match = AdvisoryMatch.objects.get(component=component)
    response = client.post(f"/patches/advisories/affected/{match.pk}/request/", {f"m{match.pk}-target_version": ""})
    assert response.status_code == 400 and not UpgradeRequest.objects.exists()
    response = client.post(f"/patches/advisories/affected/{match.pk}/request/",
                           {f"m{match.pk}-target_version": "1.0.0"})
    request = UpgradeRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == request.get_absolute_url()
    assert request.reference in client.get(f"/patches/advisories/{advisory.pk}/").content.decode()


def test_bad_csv_and_record_by_hand_on_the_page(component_a, requester, login):
    client = login(requester)
    bad = SimpleUploadedFile("a.csv", b"product,title\npostgresql,x\n", "text/csv")
    response = client.post("/patches/advisories/import/", {"kind": "csv", "file": bad})
    assert response.status_code == 400 and "missing: affected_versions" in response.content.decode()
    response = client.post("/patches/advisories/record/", {
        "record-identifier": "PG-1", "record-title": "PostgreSQL bug", "record-severity": "high",
        "record-product": "postgresql", "record-affected_versions": ">=13.0,<13.15", "record-url": ""})
    advisory = Advisory.objects.get()
    assert response["Location"] == f"/patches/advisories/{advisory.pk}/"
    assert advisory.matches.get().component == component_a


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _grow(n, template, requester, production):
    with clock.frozen(BEFORE_DST):
        for i in range(n):
            system = SystemFactory()
            template.systems.add(system)
            ComponentFactory(system=system, environment=production, product="postgresql", version="13.14")
            patches.schedule_create(by=requester, system=system, template=template, name=f"s{i}",
                                    rrule="FREQ=WEEKLY;BYDAY=SU", first_date=dt.date(2026, 1, 1),
                                    start_time=dt.time(2, 0), time_zone="Europe/Berlin", target_version="13.16")
            advisories.advisory_record(by=requester, identifier=f"ADV-{len(PatchSchedule.objects.all())}",
                                       title="t", severity="low", product="postgresql", affected_versions="13.14")


def test_list_pages_query_counts_do_not_grow(template, requester, production, login):
    client = login(requester)
    _grow(10, template, requester, production)
    small = (_queries(client, "/patches/"), _queries(client, "/patches/advisories/"))
    _grow(40, template, requester, production)
    assert (_queries(client, "/patches/"), _queries(client, "/patches/advisories/")) == small


def test_the_form_can_be_prefilled_from_an_upgrade(template, component_a, requester, login):
    page = login(requester).get(f"/patches/new/?system={component_a.system_id}&template={template.pk}"
                                f"&target_version=13.16").content.decode()
    assert f'<option value="{component_a.system_id}" selected>' in page and 'value="13.16"' in page


def test_schedule_page_warns_when_the_template_lapses_before_a_window(schedule, template, requester, login):
    with clock.frozen(dt.datetime(2027, 11, 1, 9, 0, tzinfo=dt.UTC)):
        page = login(requester).get(f"/patches/{schedule.pk}/").content.decode()
        assert "No request is raised for the window of Tue 11 Jan 2028, 22:00 Europe/Berlin" in page
        assert patches.generate_due(now=dt.datetime(2028, 1, 5, 9, 0, tzinfo=dt.UTC)) == 0
