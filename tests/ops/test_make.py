"""The two commands a newcomer types: the README starts with them, and `make test` never passes by accident."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def _make_test(pytest_args: str, **env_overrides: str | None) -> subprocess.CompletedProcess:
    """`make test` with this interpreter and without the install step, so the test runs in seconds."""
    env = dict(os.environ)
    for name, value in env_overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    test_var_dir = os.environ.get("TOLLGATE_VAR_DIR", str(ROOT / "var" / "test"))
    return subprocess.run(
        ["make", "--no-print-directory", "test", "TEST_DEPS=", "TEST_WORKERS=0", f"PY={sys.executable}",
         f"TEST_VAR_DIR={test_var_dir}", f"PYTEST_ARGS={pytest_args}"],
        check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )


def test_readme_starts_with_the_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    fence = next(i for i, line in enumerate(lines) if line.startswith("```"))
    assert fence <= 2, "the README opens with at most a one-line introduction before the commands"
    end = next(i for i in range(fence + 1, len(lines)) if lines[i].startswith("```"))
    assert [line.strip() for line in lines[fence + 1:end] if line.strip()] == ["make demo", "make test"]


@needs_make
def test_make_test_passes_when_the_tests_pass():
    result = _make_test("-p no:cacheprovider tests/ops/test_make.py -k starts_with_the_two_commands")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


@needs_make
def test_make_test_fails_when_no_test_runs():
    result = _make_test("-p no:cacheprovider tests/ops/test_make.py -k no_test_is_called_like_this")
    assert result.returncode != 0
    assert "ran no test" in result.stdout


@needs_make
def test_make_test_fails_when_a_test_fails(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_broken.py").write_text("def test_broken():\n    assert 1 + 1 == 3\n")
    result = _make_test(
        f"-p no:cacheprovider -p no:django -c {tmp_path / 'pytest.ini'} --rootdir {tmp_path} {tmp_path}",
        DJANGO_SETTINGS_MODULE=None,
    )
    assert result.returncode != 0
    assert "1 failed" in result.stdout
