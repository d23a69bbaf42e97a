"""Files of a region land in that region's storage; downloads and exports respect the regions."""

import os
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.core.storage import RegionRoutedStorage, region_storage
from apps.reporting.evidence import evidence_pack_request
from apps.reporting.models import EvidencePack
from apps.upgrades.models import Attachment
from apps.upgrades.services import attachment_add

from .conftest import limit


def attach(upgrade, by, name="notes.txt", body=b"hello"):
    return attachment_add(request=upgrade, by=by, upload=SimpleUploadedFile(name, body))


def test_an_attachment_lands_in_the_folder_of_its_region(settings, requester, eu_request, us_request):
    eu, us = attach(eu_request, requester), attach(us_request, requester)
    assert eu.file.name.startswith(f"regions/eu-central/attachments/{eu_request.reference}/")
    assert us.file.name.startswith(f"regions/us-east/attachments/{us_request.reference}/")
    rest = eu.file.name.removeprefix("regions/eu-central/")
    assert os.path.isfile(os.path.join(settings.MEDIA_ROOT, "regions", "eu-central", rest))
    assert not os.path.exists(os.path.join(settings.MEDIA_ROOT, "attachments"))
    with Attachment.objects.get(pk=us.pk).file.open("rb") as handle:
        assert handle.read() == b"hello"


def test_a_request_spanning_regions_stores_in_the_first_region_alphabetically(requester, mixed_request):
    assert attach(mixed_request, requester).file.name.startswith("regions/eu-central/")


def test_a_region_with_its_own_storage_stores_there(settings, tmp_path, requester, us_request, eu_request,
                                                    login):
    vault = tmp_path / "us-vault"
    settings.TOLLGATE_REGION_STORAGES = {"us-east": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(vault)}}}
    us = attach(us_request, requester, body=b"us data")
    rest = us.file.name.removeprefix("regions/us-east/")
    assert (vault / rest).read_bytes() == b"us data"
    assert not os.path.exists(os.path.join(settings.MEDIA_ROOT, "regions", "us-east"))
    eu = attach(eu_request, requester)  # other regions keep the default folders
    assert os.path.isfile(os.path.join(settings.MEDIA_ROOT, "regions", "eu-central",
                                       eu.file.name.removeprefix("regions/eu-central/")))
    response = login(requester).get(reverse("upgrades:attachment", args=[us_request.reference, us.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"us data"


def test_files_stored_before_regions_still_open(settings, requester):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    name = default_storage.save("attachments/OLD-1/old.txt", ContentFile(b"old"))
    with region_storage().open(name) as handle:
        assert handle.read() == b"old"
    assert isinstance(region_storage(), RegionRoutedStorage)


def test_a_limited_user_cannot_download_an_attachment_of_another_region(auditor, requester, eu_request,
                                                                        us_request, login):
    eu, us = attach(eu_request, requester), attach(us_request, requester)
    client = login(limit(auditor, "eu-central"))
    assert client.get(reverse("upgrades:attachment", args=[eu_request.reference, eu.pk])).status_code == 200
    before = AuditEvent.objects.filter(action="upgrade.denied").count()
    response = client.get(reverse("upgrades:attachment", args=[us_request.reference, us.pk]))
    assert response.status_code == 404
    assert AuditEvent.objects.filter(action="upgrade.denied").count() == before + 1
    # nor through the reference of a request they may see
    assert client.get(reverse("upgrades:attachment", args=[eu_request.reference, us.pk])).status_code == 404


def test_a_limited_user_cannot_reach_the_evidence_of_another_region(auditor, us_request, login):
    client = login(limit(auditor, "eu-central"))
    assert client.get(reverse("reporting:evidence", args=[us_request.reference])).status_code == 404
    assert client.post(reverse("reporting:evidence-request", args=[us_request.reference])).status_code == 404
    assert not EvidencePack.objects.exists()


def test_an_evidence_pack_mixing_regions_is_refused_and_audited(auditor, mixed_request, eu_request, login):
    client = login(auditor)
    response = client.post(reverse("reporting:evidence-request", args=[mixed_request.reference]))
    assert response.status_code == 400
    assert "does not allow an export mixing regions" in response.content.decode()
    assert not EvidencePack.objects.exists()
    refused = AuditEvent.objects.filter(action="evidence_pack.refused").get()
    assert refused.data["regions"] == ["eu-central", "us-east"]
    # one region is fine
    assert client.post(reverse("reporting:evidence-request", args=[eu_request.reference])).status_code == 302
    assert EvidencePack.objects.count() == 1


def test_the_api_refuses_a_mixed_pack_with_400_and_a_limited_user_gets_404(auditor, mixed_request, api):
    response = api(auditor).post(f"/api/v1/reports/evidence/{mixed_request.reference}/")
    assert response.status_code == 400 and "request" in response.json()
    assert not EvidencePack.objects.exists()
    with pytest.raises(Exception) as exc:
        evidence_pack_request(request=mixed_request, by=auditor, dispatch=False)
    assert "mixing regions" in str(exc.value)
    limit(auditor, "eu-central")
    assert api(auditor).post(f"/api/v1/reports/evidence/{mixed_request.reference}/").status_code == 404
    assert not EvidencePack.objects.exists()


def test_the_policy_can_allow_cross_region_exports(settings, auditor, mixed_request):
    settings.TOLLGATE_CROSS_REGION_EXPORTS = True
    pack, created = evidence_pack_request(request=mixed_request, by=auditor, dispatch=False)
    assert created and pack.request == mixed_request


def test_an_evidence_pack_lands_in_the_folder_of_its_region(settings, auditor, us_request):
    from apps.reporting.evidence import evidence_pack_build

    pack, _ = evidence_pack_request(request=us_request, by=auditor, dispatch=False)
    pack = evidence_pack_build(pack.pk)
    assert pack.file.name.startswith("regions/us-east/evidence/")
    assert (Path(settings.MEDIA_ROOT) / "regions" / "us-east").exists()
