"""Start Tollgate as it runs in production (gunicorn + a Celery worker on Redis) for benchmarks and drills.

    with serving(database_url=..., redis_url=..., port=8201) as base_url:
        ...  # http://127.0.0.1:8201, DEBUG off, static files collected, the worker consuming the queue

The processes get a production-like environment (DEBUG=false, a fresh SECRET_KEY, no HTTPS redirect or secure
cookies since the benchmark speaks plain HTTP on 127.0.0.1). Their output goes to gunicorn.log and celery.log
in the var dir. Each runs in its own process group, which is stopped (TERM, then KILL) at the end.

The yielded value is the base URL; it also carries `.var_dir`, `.env`, `.web_pid` and `.worker_pid` for a
drill that wants to kill or restart one of them (`start_worker(served)` starts another worker like it).
"""

import fcntl
import hashlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# gthread, one process per core + 1, 4 threads each: see config/gunicorn.py for why, and `python -m
# benchmarks.load --compare-workers` for the figures behind it
DEFAULT_THREADS = 4


class Served(str):
    """The base URL of a running server, with what a drill needs to act on its processes."""

    var_dir: Path
    env: dict
    web_pid: int
    worker_pid: int | None
    port: int


def server_env(*, database_url: str, redis_url: str, settings: str, var_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
    env.update({
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": settings,
        "TOLLGATE_VAR_DIR": str(var_dir),
        "MEDIA_ROOT": str(var_dir / "media"),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    })
    return env


def _fingerprint() -> str:
    """What collectstatic's output depends on: our static files and the installed packages' versions."""
    digest = hashlib.sha256(sys.prefix.encode())
    sources = [ROOT / "static", *sorted((ROOT / "apps").glob("*/static"))]
    for base in sources:
        for path in sorted(base.rglob("*")):
            if path.is_file():
                st = path.stat()
                digest.update(f"{path}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    for site in {Path(p) for p in sys.path if p.endswith("site-packages")}:
        digest.update("\n".join(sorted(d.name for d in site.glob("*.dist-info"))).encode())
    return digest.hexdigest()


def collect_static(env: dict) -> str:
    """Collect (and compress) the static files once into a shared folder; later servers reuse it.

    Compressing every file costs ~45 s of CPU, too much to repeat for each server a benchmark starts.
    The folder is BENCH_STATIC_ROOT, else tollgate-bench-static in the temporary directory; a lock keeps two
    starters from writing it at once, and a fingerprint of the sources says when to collect again.
    """
    base = Path(os.environ.get("BENCH_STATIC_ROOT") or Path(tempfile.gettempdir()) / "tollgate-bench-static")
    root = base / "files"  # collectstatic --clear empties it: the lock and the stamp live beside it
    base.mkdir(parents=True, exist_ok=True)
    stamp = base / "fingerprint"
    with open(base / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        fingerprint = _fingerprint()
        if not stamp.exists() or stamp.read_text() != fingerprint:
            stamp.unlink(missing_ok=True)
            subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "--clear", "-v0"],
                           cwd=ROOT, env={**env, "STATIC_ROOT": str(root)}, check=True, stdout=subprocess.DEVNULL)
            stamp.write_text(fingerprint)
    return str(root)


def _popen(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        # own session: stopping it stops every child (gunicorn workers, Celery pool processes), nothing else
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def stop(proc: subprocess.Popen | None, timeout: float = 20) -> None:
    """TERM the process group (a graceful shutdown), KILL it if it is still there after `timeout` seconds."""
    if proc is None or proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode} before answering:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s:\n{_tail(log)}")


def _wait_worker(proc: subprocess.Popen, log: Path, offset: int, timeout: float) -> None:
    """Celery logs 'ready.' once it consumes the queue (at INFO level, which the worker is started with)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the Celery worker exited with {proc.returncode}:\n{_tail(log)}")
        with open(log, "rb") as f:
            f.seek(offset)
            if b" ready." in f.read():
                return
        time.sleep(0.2)
    raise RuntimeError(f"the Celery worker was not ready within {timeout:.0f} s:\n{_tail(log)}")


def start_worker(served: Served, *, concurrency: int = 2, name: str | None = None,
                 timeout: float = 60) -> subprocess.Popen:
    """Start a Celery worker with the server's environment and wait until it consumes the queue."""
    log = served.var_dir / "celery.log"
    offset = log.stat().st_size if log.exists() else 0
    node = name or f"bench-{served.port}-{secrets.token_hex(3)}@%h"
    proc = _popen([sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "-n", node,
                   f"--concurrency={concurrency}", "--without-gossip", "--without-mingle"], served.env, log)
    try:
        _wait_worker(proc, log, offset, timeout)
    except BaseException:
        stop(proc)
        raise
    return proc


def _port_free(port: int) -> None:
    """Refuse to start when something already listens on 127.0.0.1:`port`: the new gunicorn would fail to bind
    while the readiness check got its answer from the other server, and the figures would be that server's
    (another run's, or an older checkout's)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"127.0.0.1:{port} is already in use: stop what listens there (an earlier benchmark "
                               f"or drill?) or choose another port, so the figures are this server's")


def _terminated(signum, frame):
    raise SystemExit(128 + signum)


@contextmanager
def serving(*, database_url: str, redis_url: str, port: int, settings: str = "benchmarks.settings",
            web_workers: int | None = None, celery: bool = True, var_dir: str | None = None,
            threads: int | None = None, worker_concurrency: int = 2, migrate: bool = True):
    """Run gunicorn (config/gunicorn.py) on 127.0.0.1:`port` and a Celery worker; yield the base URL.

    `web_workers` / `threads` override the gunicorn defaults (threads=1 means sync workers).
    """
    _port_free(port)
    own_dir = var_dir is None
    previous = None
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        # a benchmark stopped with SIGTERM still stops its servers (they run in sessions of their own)
        previous = signal.signal(signal.SIGTERM, _terminated)
    vdir = Path(var_dir or tempfile.mkdtemp(prefix="tollgate-serve-"))
    vdir.mkdir(parents=True, exist_ok=True)
    env = server_env(database_url=database_url, redis_url=redis_url, settings=settings, var_dir=vdir)
    env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
    env["GUNICORN_ACCESSLOG"] = ""  # an access log line per request would cost the benchmark a write
    env["GUNICORN_THREADS"] = str(threads if threads is not None else DEFAULT_THREADS)
    if web_workers is not None:
        env["WEB_CONCURRENCY"] = str(web_workers)
    env["STATIC_ROOT"] = collect_static(env)
    if migrate:  # as a deployment does before it starts the web processes (a no-op when up to date)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    web = worker = None
    try:
        web_log = vdir / "gunicorn.log"
        web = _popen([sys.executable, "-m", "gunicorn", "config.wsgi:application", "-c",
                      str(ROOT / "config" / "gunicorn.py")], env, web_log)
        served = Served(f"http://127.0.0.1:{port}")
        served.var_dir, served.env, served.web_pid, served.port = vdir, env, web.pid, port
        served.worker_pid = None
        if celery:
            worker = start_worker(served, concurrency=worker_concurrency)
            served.worker_pid = worker.pid
        _wait_http(f"{served}/healthz", web, web_log, timeout=90)
        yield served
    finally:
        stop(worker)
        stop(web)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if own_dir:
            import shutil

            shutil.rmtree(vdir, ignore_errors=True)
