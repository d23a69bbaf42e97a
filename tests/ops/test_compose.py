"""docker-compose.yml runs the production topology, and the image it builds is safe to run."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "worker", "beat")
SERVICES = (*APP_SERVICES, "postgres", "redis")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> list[str]:
    path = ROOT / "Dockerfile"
    assert path.exists(), "docker-compose.yml builds from a Dockerfile at the root"
    # join continuation lines, drop comments
    text = re.sub(r"\\\n", " ", path.read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def _command(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def _healthcheck_test(service: dict) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


def _env(service: dict) -> dict:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def test_the_five_services_exist(compose):
    assert set(SERVICES) <= set(compose["services"])


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_has_a_healthcheck(compose, name):
    service = compose["services"][name]
    assert "healthcheck" in service, f"{name} has no healthcheck"
    assert not service["healthcheck"].get("disable", False)
    assert _healthcheck_test(service).strip() not in ("", "NONE")


def test_healthchecks_ask_the_right_question(compose):
    services = compose["services"]
    assert "/healthz" in _healthcheck_test(services["web"])
    assert "inspect ping" in _healthcheck_test(services["worker"])
    assert "pg_isready" in _healthcheck_test(services["postgres"])
    assert "redis-cli" in _healthcheck_test(services["redis"]) and "ping" in _healthcheck_test(services["redis"])


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_start_only_when_postgres_and_redis_are_healthy(compose, name):
    depends_on = compose["services"][name].get("depends_on")
    assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions, not a plain list"
    for dependency in ("postgres", "redis"):
        assert depends_on.get(dependency, {}).get("condition") == "service_healthy", (name, dependency)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_get_database_redis_and_production_settings(compose, name):
    env = _env(compose["services"][name])
    assert env.get("DATABASE_URL", "").startswith("postgres://"), name
    assert "@postgres:5432/" in env["DATABASE_URL"]
    assert env.get("REDIS_URL", "").startswith("redis://redis:6379/"), name
    assert str(env.get("DEBUG")).lower() == "false", name
    assert "SECRET_KEY" in env and "ALLOWED_HOSTS" in env, name
    # the secret comes from outside and is required, never a value written in the file
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]*\}", str(env["SECRET_KEY"])), env["SECRET_KEY"]


def test_exactly_one_beat(compose):
    beats = [name for name, service in compose["services"].items() if re.search(r"\bbeat\b", _command(service))]
    assert beats == ["beat"]
    replicas = compose["services"]["beat"].get("deploy", {}).get("replicas", 1)
    assert replicas == 1
    worker_command = _command(compose["services"]["worker"])
    assert "celery -A config worker" in worker_command
    assert not re.search(r"(^|\s)(-B|--beat)(\s|$)", worker_command), "the worker must not embed a second beat"


def test_data_outlives_the_containers(compose):
    volumes = compose.get("volumes", {})
    postgres_mounts = compose["services"]["postgres"].get("volumes", [])
    assert any(str(m).endswith(":/var/lib/postgresql/data") and str(m).split(":")[0] in volumes
               for m in postgres_mounts)
    media_volume = {str(m).split(":")[0] for m in compose["services"]["web"].get("volumes", [])
                    if str(m).endswith(":/app/media")}
    assert media_volume and media_volume <= set(volumes)
    # the worker writes reports and evidence where the web process serves them from
    assert any(str(m).endswith(":/app/media") for m in compose["services"]["worker"].get("volumes", []))


def test_postgres_and_redis_are_not_published_on_the_host(compose):
    assert "ports" not in compose["services"]["postgres"]
    assert "ports" not in compose["services"]["redis"]


def test_image_is_python_311_slim_and_does_not_run_as_root(dockerfile):
    assert dockerfile[0].startswith("FROM python:3.11-slim")
    users = [line.split(None, 1)[1].strip() for line in dockerfile if line.startswith("USER ")]
    assert users, "the Dockerfile has no USER line: the container would run as root"
    assert users[-1] not in ("root", "0", "0:0")


def test_image_installs_the_project_gunicorn_and_collects_static_files(dockerfile):
    runs = " ".join(line for line in dockerfile if line.startswith("RUN "))
    assert re.search(r"pip install[^&]*\s(-e\s+)?\.(\s|$)", runs)
    # gunicorn and whitenoise come with the project's own dependencies
    dependencies = (ROOT / "pyproject.toml").read_text().split("[project.optional-dependencies]")[0]
    assert "gunicorn" in dependencies and "whitenoise" in dependencies
    assert "collectstatic --noinput" in runs
    assert any(line.startswith("CMD") and "gunicorn" in line for line in dockerfile)


def test_secrets_and_local_state_stay_out_of_the_image():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".env", ".venv", "var"} <= ignored
