"""The request list's rows (written in Python) escape what people typed, and the filter's environment options
are remembered until the next write."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.inventory.models import Environment

from ..conftest import make_request

pytestmark = pytest.mark.django_db


def test_the_rows_escape_titles_names_and_systems(requester, component_a, login):
    component_a.system.name = "Ledger & <Core>"
    component_a.system.save()
    requester.first_name, requester.last_name = "Ann", "<O'Neil>"
    requester.save()
    make_request(requester, component_a, title='Upgrade <script>alert("x")</script> & co')
    page = login(requester).get(reverse("upgrades:list")).content.decode()
    assert "<script>alert" not in page
    assert "Upgrade &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in page
    assert '<span class="tag">Ledger &amp; &lt;Core&gt;</span>' in page
    assert "<td>Ann &lt;O&#x27;Neil&gt;</td>" in page


def test_the_environment_options_are_remembered_until_the_next_write(requester, component_a, login, settings):
    settings.TOLLGATE_FORM_OPTIONS_SECONDS = 300
    cache.clear()
    client = login(requester)
    assert '<option value="production">' in client.get(reverse("upgrades:list")).content.decode()
    Environment.objects.create(name="Disaster recovery", slug="dr", order=9)  # not through a service: no event
    assert 'value="dr"' not in client.get(reverse("upgrades:list")).content.decode()
    make_request(requester, component_a, title="Any write")  # a write appends an audit event
    assert '<option value="dr">Disaster recovery</option>' in client.get(reverse("upgrades:list")).content.decode()


def test_without_the_setting_the_options_are_read_each_time(requester, login):
    client = login(requester)
    client.get(reverse("upgrades:list"))
    Environment.objects.create(name="Disaster recovery", slug="dr", order=9)
    assert '<option value="dr">Disaster recovery</option>' in client.get(reverse("upgrades:list")).content.decode()
