"""The fault drills (benchmarks/drills) as tests: each drill's finding must be the good one.

The drills run once per test session, in a process of their own (`python -m benchmarks.drills`) with their
own PostgreSQL cluster, Redis, Celery workers and gunicorn on ports of their own; with pytest-xdist the
first process to get here runs them and the others read the same results. Redis is stopped for 20 s here
(DRILL_REDIS_DOWN_SECONDS; `make drills` stops it for 60 s). About four minutes of wall time in all.
"""

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import _missing

ROOT = Path(__file__).resolve().parents[2]
DRILLS = ["approvals", "pg_restart", "worker_health", "worker_pdf", "redis_down"]


def _prerequisites() -> str | None:
    from benchmarks.drills.harness import _pg_bindir

    try:
        _pg_bindir()
    except RuntimeError as exc:
        return str(exc)
    if not shutil.which("redis-server"):
        return "redis-server is not installed"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "as root the drills start PostgreSQL as the postgres user with runuser, which is missing"
    return None


@pytest.fixture(scope="session")
def drill_results(tmp_path_factory) -> dict:
    reason = _prerequisites()
    if reason:
        _missing(f"the fault drills need their own services: {reason}")
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the same folder for every xdist process of this session
    results, log = shared / "drills.json", shared / "drills.log"
    with open(shared / "drills.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not results.exists():
            env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_SETTINGS"))}
            env.setdefault("DRILL_REDIS_DOWN_SECONDS", "20")
            with open(log, "w") as out:
                subprocess.run([sys.executable, "-m", "benchmarks.drills", *DRILLS, "--json", str(results)],
                               cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=1800)
    output = log.read_text(errors="replace") if log.exists() else ""
    print(output)  # what each drill did and found, shown with -s or on a failure
    if not results.exists():
        pytest.fail(f"the drills did not finish:\n{output[-3000:]}", pytrace=False)
    return {"rows": json.loads(results.read_text()), "output": output}


def _check(drill_results, name: str) -> dict:
    rows = drill_results["rows"].get(name)
    assert rows, f"drill {name} did not run:\n{drill_results['output'][-3000:]}"
    for row in rows:
        assert row["ok"] == "yes", f"{row['drill']}: {row['found']}\n\n{drill_results['output'][-3000:]}"
    return rows[0]


def test_twenty_concurrent_approvals_over_http_take_one_transition(drill_results):
    row = _check(drill_results, "approvals")
    assert "approve transitions 1" in row["found"] and "'refused' 19" in row["found"]


def test_postgresql_restart_mid_transition_leaves_nothing_half_written_and_answers_503(drill_results):
    row = _check(drill_results, "pg_restart")
    assert "0 partial" in row["found"] and "{503: 12}" in row["found"]


def test_sigkill_worker_mid_health_check_run_leaves_every_result_exactly_once(drill_results):
    row = _check(drill_results, "worker_health")
    assert "24 results for 24 checks (max 1 per check)" in row["found"]


def test_sigkill_worker_mid_pdf_generation_completes_the_report_exactly_once(drill_results):
    row = _check(drill_results, "worker_pdf")
    assert "1 PDF + 1 CSV stored" in row["found"] and "report.generated events 1" in row["found"]


def test_redis_stopped_while_users_request_runs_loses_nothing(drill_results):
    row = _check(drill_results, "redis_down")
    assert "5xx 0" in row["found"] and "lost 0" in row["found"]


def test_a_server_is_not_started_on_a_port_something_already_listens_on():
    """A benchmark or drill must measure its own server: with another one already answering on the port, the
    new gunicorn would fail to bind while the readiness check was answered by the other server."""
    import socket

    from benchmarks.server import serving

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"127.0.0.1:{port} is already in use"):
            with serving(database_url="postgres://unused", redis_url="redis://127.0.0.1:1/0", port=port):
                pass  # pragma: no cover - never reached


def test_a_drill_client_does_not_send_on_a_connection_the_server_may_be_closing():
    """The drills' users keep connections alive as browsers do, but one idle for a while may be closed by
    gunicorn at the moment a request goes out on it (one of twenty approvals once got "Server disconnected
    without sending a response"). This server answers the first request on a connection and drops any later
    one unanswered, as gunicorn does when its keep-alive timeout and the request cross: a client that waited
    longer than KEEPALIVE_EXPIRY must open a new connection and get its answer."""
    import socket
    import threading
    import time

    from benchmarks.drills.web import KEEPALIVE_EXPIRY, Browser

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    connections = []

    def serve(conn):
        with conn:
            first = True
            while True:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                if not first:
                    return  # closed without an answer
                first = False
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")

    def accept():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            connections.append(conn)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    browser = Browser(f"http://127.0.0.1:{port}")
    try:
        assert browser.get("/").status_code == 200
        time.sleep(KEEPALIVE_EXPIRY + 0.3)
        assert browser.get("/").status_code == 200
        assert len(connections) == 2
    finally:
        browser.close()
        listener.close()
