"""/healthz and /readyz: what a load balancer asks before it sends traffic."""

import socket

import pytest
from django.conf import settings

from config.celery import app as celery_app

from ..conftest import client_for

PERSONAS = ["requester", "assessor", "approver", "implementer", "validator", "executive", "auditor", "admin",
            "outsider", "anonymous"]


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_on_closed_port():
    port = _closed_port()
    saved = celery_app.conf.broker_url
    celery_app.conf.broker_url = f"redis://127.0.0.1:{port}/0"
    try:
        yield port
    finally:
        celery_app.conf.broker_url = saved


@pytest.mark.django_db
def test_healthz_answers_anonymous_visitors_without_touching_services(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@pytest.mark.django_db
def test_health_endpoints_answer_every_persona(client, personas):
    assert sorted(personas) == sorted(PERSONAS)
    seen = {}
    for name, user in personas.items():
        client.logout()
        c = client_for(client, user)
        seen[name] = (c.get("/healthz").status_code, c.get("/readyz").status_code)
    assert seen == {name: (200, 200) for name in PERSONAS}


@pytest.mark.django_db
def test_readyz_is_ready_when_database_and_configured_broker_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.redis
@pytest.mark.django_db
def test_readyz_checks_redis_when_redis_is_the_broker(client):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert celery_app.conf.broker_url.startswith("redis://")
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_readyz_is_unavailable_and_names_the_broker_when_the_broker_is_down(client, broker_on_closed_port):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] != "ok"
    assert str(broker_on_closed_port) in body["checks"]["broker"]


@pytest.mark.django_db
def test_readyz_recovers_when_the_broker_comes_back(client, broker_on_closed_port):
    assert client.get("/readyz").status_code == 503
    celery_app.conf.broker_url = settings.CELERY_BROKER_URL
    assert client.get("/readyz").status_code == 200
