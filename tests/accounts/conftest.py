"""Helpers for the accounts tests: persona matrices and query counting."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

PERSONAS = ["requester", "assessor", "approver", "implementer", "validator", "executive", "auditor", "admin",
            "outsider", "anonymous"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Ten personas per test: with the production hasher their set-up dominates the run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def everyone(status: int, anonymous: int = 302) -> dict[str, int]:
    return {name: (anonymous if name == "anonymous" else status) for name in PERSONAS}


def admin_only(status: int, others: int = 403, anonymous: int = 302) -> dict[str, int]:
    return {name: status if name == "admin" else anonymous if name == "anonymous" else others
            for name in PERSONAS}


@pytest.fixture
def page_matrix(personas, client):
    """Assert each persona's status on a page; anonymous visitors must be sent to the sign-in page."""

    def check(url: str, expected: dict[str, int], method: str = "get", data=None):
        got = {}
        for name in PERSONAS:
            client.logout()
            user = personas[name]
            if user is not None:
                client.force_login(user)
            response = getattr(client, method)(url(name) if callable(url) else url, data or {})
            got[name] = response.status_code
            if user is None and response.status_code == 302:
                assert response["Location"].startswith(reverse("login")), response["Location"]
        client.logout()
        assert got == expected

    return check


@pytest.fixture
def api_matrix(personas, api):
    def check(url: str, expected: dict[str, int], method: str = "get", data=None):
        got = {}
        for name in PERSONAS:
            client = api(personas[name])
            target = url(name) if callable(url) else url
            response = getattr(client, method)(target, data, format="json") if data is not None else getattr(
                client, method)(target)
            got[name] = response.status_code
        assert got == expected

    return check


def count_queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = fn()
    assert response.status_code == 200, response.status_code
    return len(ctx.captured_queries)
