"""A small inventory shared by the inventory tests."""

import pytest

from tests.factories import ComponentFactory, DependencyFactory, EndpointFactory, EnvironmentFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Personas are made per test and full-strength PBKDF2 costs a second each; no test here checks hashes."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staging(db):
    return EnvironmentFactory(name="Staging", slug="staging", kind="staging", order=1)


@pytest.fixture
def inventory(system_a, system_b, production, staging, component_a, component_b):
    """Two systems of two teams: the portal's app depends on the ledger database with ">=13 <17"."""
    ledger_staging = ComponentFactory(
        system=system_a, environment=staging, name="ledger-db", product="postgresql", version="16.4"
    )
    dependency = DependencyFactory(
        source_system=system_b,
        source_component=component_b,
        target_system=system_a,
        target_component=component_a,
        constraint=">=13 <17",
        constraint_kind="semver",
        description="Reads balances",
    )
    endpoint = EndpointFactory(
        system=system_a,
        environment=production,
        name="ledger-health",
        kind="http",
        target="https://ledger.example.test/health",
        expected="status 200",
    )
    return {
        "system_a": system_a,
        "system_b": system_b,
        "production": production,
        "staging": staging,
        "component_a": component_a,
        "component_b": component_b,
        "ledger_staging": ledger_staging,
        "dependency": dependency,
        "endpoint": endpoint,
    }
