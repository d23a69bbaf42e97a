"""A request's address is built without resolving the URL pattern per row, and is exactly what reverse() gives."""

import pytest
from django.urls import reverse, set_script_prefix

from apps.upgrades.models import UpgradeRequest


@pytest.mark.parametrize("reference", ["UR-2026-00001", "a b?d#%", "é:@!$&'()*+,;=~"])
def test_a_requests_address_is_what_reverse_gives(reference):
    assert UpgradeRequest(reference=reference).get_absolute_url() == reverse("upgrades:detail", args=[reference])


def test_a_requests_address_follows_the_script_prefix():
    try:
        set_script_prefix("/tollgate/")
        assert UpgradeRequest(reference="X-1").get_absolute_url() == "/tollgate/upgrades/X-1/"
    finally:
        set_script_prefix("/")
    assert UpgradeRequest(reference="X-1").get_absolute_url() == "/upgrades/X-1/"
