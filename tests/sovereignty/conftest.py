"""Two regions: a system in eu-central and one in us-east, both of team A, and a request on each and on both."""

import pytest

from tests.conftest import make_request
from tests.factories import ComponentFactory, SystemFactory


@pytest.fixture
def eu_component(team_a, production):
    system = SystemFactory(name="EU Ledger", slug="eu-ledger", owner_team=team_a, region="eu-central")
    return ComponentFactory(system=system, environment=production, name="eu-db")


@pytest.fixture
def us_component(team_a, production):
    system = SystemFactory(name="US Ledger", slug="us-ledger", owner_team=team_a, region="us-east")
    return ComponentFactory(system=system, environment=production, name="us-db")


@pytest.fixture
def eu_request(requester, eu_component):
    return make_request(requester, eu_component, title="Upgrade the EU ledger")


@pytest.fixture
def us_request(requester, us_component):
    return make_request(requester, us_component, title="Upgrade the US ledger")


@pytest.fixture
def mixed_request(requester, eu_component, us_component):
    items = [{"system": c.system_id, "component": c.pk, "target_version": "16.4"}
             for c in (eu_component, us_component)]
    return make_request(requester, eu_component, title="Upgrade both ledgers", items=items)


def limit(user, regions: str):
    user.regions = regions
    user.save(update_fields=["regions"])
    return user
