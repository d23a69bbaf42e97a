"""Production settings pass Django's deployment checklist, and refuse to start without a real secret."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env_overrides: str | None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    for name, value in env_overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "manage.py", *args], check=False, cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300,
    )


def test_production_settings_pass_the_deploy_checklist_without_warnings():
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(48),  # 64 characters
        ALLOWED_HOSTS="tollgate.example.org",
        CSRF_TRUSTED_ORIGINS="https://tollgate.example.org",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output
    assert "ERRORS" not in output


def test_debug_off_without_a_secret_key_refuses_to_start():
    result = _manage("check", DEBUG="false", SECRET_KEY=None, ALLOWED_HOSTS="tollgate.example.org")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_debug_off_with_a_short_secret_key_refuses_to_start():
    result = _manage("check", DEBUG="false", SECRET_KEY="x" * 20, ALLOWED_HOSTS="tollgate.example.org")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
