"""A database that does not answer is a clean 503 page (API: JSON), never a 500 trace.

The database really is unreachable here: the connection is pointed at a port nobody listens on, so every
query of the request fails — loading the session, the user, the view's own queries and the 500 handler's.
"""

import socket

import pytest
from django.db import connection
from django.test import Client

MESSAGE = "cannot reach its database"


@pytest.fixture
def unreachable_database(transactional_db):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free now, and nobody listens on it
    saved = connection.settings_dict["HOST"], connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["HOST"], connection.settings_dict["PORT"] = "127.0.0.1", str(port)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["HOST"], connection.settings_dict["PORT"] = saved


@pytest.fixture
def signed_in(transactional_db, requester):
    client = Client(raise_request_exception=False)
    client.force_login(requester)
    return client


@pytest.mark.postgres
def test_a_page_answers_503_with_a_readable_message(signed_in, unreachable_database):
    response = signed_in.get("/upgrades/")
    assert response.status_code == 503
    page = response.content.decode()
    assert MESSAGE in page and "Traceback" not in page
    assert response["Retry-After"] == "30"
    assert "unsafe-inline" not in response["Content-Security-Policy"]  # the page still gets the policy


@pytest.mark.postgres
def test_a_form_post_answers_503(signed_in, unreachable_database):
    response = signed_in.post("/upgrades/UPG-2026-0001/transition/start_assessment/", {})
    assert response.status_code == 503 and MESSAGE in response.content.decode()


@pytest.mark.postgres
def test_the_api_answers_503_in_json(signed_in, unreachable_database):
    response = signed_in.get("/api/v1/upgrades/", HTTP_ACCEPT="application/json")
    assert response.status_code == 503
    assert MESSAGE in response.json()["detail"]


@pytest.mark.postgres
def test_other_errors_stay_500(signed_in, transactional_db):
    """Only the database's absence is a 503: a bug in a view is still a 500."""
    from django.urls import path

    from config import urls

    def broken(request):
        raise ValueError("a bug")

    saved = list(urls.urlpatterns)
    urls.urlpatterns.append(path("drill-broken/", broken))
    from django.urls import clear_url_caches

    clear_url_caches()
    try:
        assert signed_in.get("/drill-broken/").status_code == 500
    finally:
        urls.urlpatterns[:] = saved
        clear_url_caches()
