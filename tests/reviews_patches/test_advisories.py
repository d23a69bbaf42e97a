"""Vendor advisories: CSAF import of real documents, CSV, bad input, findings, opening an upgrade request."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.assessments.models import Finding
from apps.audit.models import AuditEvent
from apps.reviews import advisories, csaf
from apps.reviews.models import Advisory, AdvisoryMatch, AdvisoryProduct
from apps.upgrades.models import UpgradeRequest

from ..factories import ComponentFactory
from .conftest import read

pytestmark = pytest.mark.django_db


@pytest.fixture
def inventory(system_a, system_b, production):
    """Components running products the real advisories name, and some that are safe."""
    make = lambda system, name, product, version: ComponentFactory(  # noqa: E731
        system=system, environment=production, name=name, product=product, version=version)
    return {
        "converter": make(system_a, "csaf-converter", "cvrf-csaf-converter", "1.0.0-dev1"),
        "converter_ok": make(system_b, "csaf-converter", "CVRF-CSAF-Converter", "1.0.0"),
        "switch": make(system_a, "core-switch", "ios", "12.2(55)SE"),
        "switch_ok": make(system_b, "edge-switch", "IOS", "15.2(7)E3"),
        "telnet": make(system_a, "telnet", "telnet", "0.17-64.el7"),
        "telnet_ok": make(system_b, "telnet", "telnet", "0.17-66.el7"),
        "openshift": make(system_b, "cluster", "Red Hat OpenShift Enterprise", "3.11"),
    }


def counts():
    return (Advisory.objects.count(), AdvisoryProduct.objects.count(), AdvisoryMatch.objects.count(),
            Finding.objects.count(), AuditEvent.objects.filter(action__startswith="reviews.advisory").count())


@pytest.mark.parametrize("name,identifier,affected,safe,severity", [
    ("bsi-2022-0001.json", "BSI-2022-0001", "converter", "converter_ok", "medium"),
    ("cisco-sa-20180328-smi2.json", "cisco-sa-20180328-smi2", "switch", "switch_ok", "high"),
    ("rhsa-2022_0011.json", "RHSA-2022:0011", "telnet", "telnet_ok", "high"),
    ("rhsa-2019_1862.json", "RHSA-2019:1862", "openshift", "converter", "low"),
])
def test_real_csaf_documents_import_and_raise_system_findings(inventory, requester, name, identifier, affected,
                                                              safe, severity):
    advisory = advisories.advisory_import_csaf(raw=read(name), by=requester)
    assert advisory.identifier == identifier and advisory.source == "csaf"
    assert advisory.document["document"]["tracking"]["id"] == identifier
    component = inventory[affected]
    [match] = advisory.matches.all()
    assert match.component == component and match.version == component.version
    finding = match.finding
    assert finding.system == component.system and finding.assessment is None
    assert finding.category == "security" and finding.severity == severity and finding.resolution == "open"
    assert identifier in finding.title and component.version in finding.title
    assert not Finding.objects.filter(system=inventory[safe].system, key__startswith="reviews:advisory").exists() \
        or inventory[safe].system == component.system
    assert AuditEvent.objects.filter(action="reviews.advisory_import", object_id=str(advisory.pk)).exists()
    assert AuditEvent.objects.filter(action="reviews.advisory_finding_raise").count() == 1


def test_cisco_product_tree_is_read_down_to_the_service_packs():
    entries = csaf.products(csaf.parse(read("cisco-sa-20180328-smi2.json")))
    assert {"product": "IOS", "version": "12.2(55)SE", "version_range": "", "status": "affected"} in entries
    assert len(entries) > 200


def _broken(mutate):
    document = json.loads(read("bsi-2022-0001.json"))
    mutate(document)
    return json.dumps(document).encode()


@pytest.mark.parametrize("raw,message", [
    (b"{ this is not json", "This is not JSON"),
    (b"\xff\xfe\x00", "not UTF-8"),
    (b"[1, 2]", "a JSON object"),
    (_broken(lambda d: d["document"].pop("tracking")), "document: 'tracking' is a required property"),
    (_broken(lambda d: d["document"].update(csaf_version="1.2")), "document/csaf_version"),
    (_broken(lambda d: d["vulnerabilities"][0]["scores"][0]["cvss_v3"].update(version="9.9")),
     "vulnerabilities/0/scores/0/cvss_v3"),
])
def test_malformed_csaf_is_refused_with_a_clear_error_and_nothing_written(inventory, requester, raw, message):
    before = counts()
    with pytest.raises(ValidationError) as exc:
        advisories.advisory_import_csaf(raw=raw, by=requester)
    assert message in " ".join(exc.value.message_dict["document"])
    assert counts() == before


def test_the_schema_refs_are_never_fetched(monkeypatch):
    import urllib.request

    def no_network(*args, **kwargs):
        raise AssertionError("the CSAF schema must validate without network access")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    csaf._validator.cache_clear()
    csaf.parse(read("cisco-sa-20180328-smi2.json"))


def test_importing_the_same_advisory_twice_is_refused(inventory, requester):
    advisories.advisory_import_csaf(raw=read("bsi-2022-0001.json"), by=requester)
    before = counts()
    with pytest.raises(ValidationError) as exc:
        advisories.advisory_import_csaf(raw=read("bsi-2022-0001.json"), by=requester)
    assert "recorded already" in str(exc.value)
    assert counts() == before


CSV = ("product,affected_versions,severity,title,id,url\n"
       "postgresql,13.14; 13.15,high,PostgreSQL memory disclosure,PGSA-2026-01,https://example.org/pg\n"
       "telnet,>=0.17.0,medium,telnet overflow,TN-1,\n"
       "django,,low,Django advisory,DJ-1,\n")


def test_csv_import_matches_versions_ranges_and_every_version(inventory, component_a, component_b, requester):
    imported = advisories.advisory_import_csv(raw=CSV.encode(), by=requester)
    assert [a.identifier for a in imported] == ["PGSA-2026-01", "TN-1", "DJ-1"]
    pg = Advisory.objects.get(identifier="PGSA-2026-01")
    assert pg.severity == "high" and pg.source == "csv" and pg.url == "https://example.org/pg"
    assert [m.component for m in pg.matches.all()] == [component_a]
    assert [m.component for m in Advisory.objects.get(identifier="DJ-1").matches.all()] == [component_b]
    assert Finding.objects.filter(system=component_a.system, key__startswith="reviews:advisory:").exists()


@pytest.mark.parametrize("text,message", [
    ("product,severity,title\npostgresql,high,x\n", "missing: affected_versions, id, url"),
    ("product,affected_versions,severity,title,id,url\n", "no advisories"),
    ("product,affected_versions,severity,title,id,url\npostgresql,13.14,urgent,x,A-1,\n", "Line 2: severity"),
    ("product,affected_versions,severity,title,id,url\npostgresql,13.14,high,x,A-1,\n"
     ",13.14,high,y,A-2,ftp://x\n", "Line 3: product"),
    ("product,affected_versions,severity,title,id,url\npostgresql,13.14,high,x\x00,A-1,\n", "NUL"),
])
def test_bad_csv_is_refused_and_nothing_written(component_a, requester, text, message):
    before = counts()
    with pytest.raises(ValidationError) as exc:
        advisories.advisory_import_csv(raw=text.encode(), by=requester)
    assert message in " ".join(exc.value.message_dict["file"])
    assert counts() == before


def test_only_change_managers_and_admins_import(auditor, approver):
    for user in (auditor, approver):
        with pytest.raises(PermissionDenied):
            advisories.advisory_import_csaf(raw=read("bsi-2022-0001.json"), by=user)
    assert not Advisory.objects.exists()
    assert AuditEvent.objects.filter(action="reviews.denied").count() == 2


def test_open_an_upgrade_request_from_an_advisory(inventory, requester, admin_user):
    advisory = advisories.advisory_import_csaf(raw=read("bsi-2022-0001.json"), by=requester)
    match = advisory.matches.get()
    with pytest.raises(ValidationError) as exc:
        advisories.advisory_open_request(match=match, target_version="1.0.0-dev1", by=requester)
    assert "runs 1.0.0-dev1 already" in str(exc.value)
    with pytest.raises(PermissionDenied):
        advisories.advisory_open_request(match=match, target_version="1.0.0", by=admin_user)
    assert not UpgradeRequest.objects.exists()
    request = advisories.advisory_open_request(match=match, target_version="1.0.0", by=requester)
    [item] = request.items.all()
    assert (item.component, item.current_version, item.target_version) == (inventory["converter"], "1.0.0-dev1",
                                                                            "1.0.0")
    assert request.external_ref == "BSI-2022-0001" and request.state == "draft"
    match.refresh_from_db()
    assert match.request == request
    with pytest.raises(ValidationError):  # once per affected component
        advisories.advisory_open_request(match=match, target_version="1.0.1", by=requester)
    assert UpgradeRequest.objects.count() == 1
