"""The drills' own services: a PostgreSQL cluster, a Redis, Celery workers, gunicorn and a slow HTTP server.

Nothing here touches the machine's shared PostgreSQL or Redis: every service is started on a port of its
own (PostgreSQL 55400-55419, Redis 56400-56419, web 8301-8319, fake HTTP 8320-8339), in a temporary
folder under TOLLGATE_VAR_DIR (or the system's temporary folder), and stopped when the session ends —
also when the process ends early (atexit). The drill process itself uses Django on the session's
database to prepare data and to check what the workers and the web processes wrote.
"""

import asyncio
import atexit
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG_PORTS = range(55400, 55420)
REDIS_PORTS = range(56400, 56420)
WEB_PORTS = range(8301, 8320)
FAKE_PORTS = range(8320, 8340)
DB_NAME = "tollgate_drills"
DB_USER = "tollgate"
DB_PASSWORD = "tollgate"


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    """Poll until `predicate()` is truthy; returns its value or raises TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Ports:
    """Claims free ports of our ranges with lock files, so two drill sessions never share one."""

    def __init__(self):
        self.locks = []

    def take(self, candidates: range) -> int:
        for port in candidates:
            lock = open(Path(tempfile.gettempdir()) / f"tollgate-drill-port-{port}.lock", "w")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock.close()
                continue
            if port_free(port):
                self.locks.append(lock)
                return port
            lock.close()
        raise RuntimeError(f"no free port in {candidates.start}-{candidates.stop - 1}")

    def release(self):
        for lock in self.locks:
            lock.close()
        self.locks = []


def _pg_bindir() -> Path:
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if not versions:
        raise RuntimeError("PostgreSQL server programs (initdb, pg_ctl) are not installed")
    return versions[0].parent


class Cluster:
    """An own PostgreSQL cluster (initdb, pg_ctl). As root it runs as the `postgres` system user."""

    def __init__(self, root: Path, port: int):
        self.bindir = _pg_bindir()
        self.root = root
        self.data = root / "pgdata"
        self.log = root / "postgres.log"
        self.port = port
        self.as_root = os.geteuid() == 0

    def _run(self, *args, check=True, timeout=120):
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {(done.stderr or done.stdout)[-800:]}")
        return done

    def init(self):
        self.root.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
            os.chmod(self.root, 0o755)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    @property
    def options(self) -> str:
        # durability is not what the drills are about (a fast restart checkpoints anyway)
        return (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")

    def start(self):
        self._run("pg_ctl", "-D", str(self.data), "-o", self.options, "-l", str(self.log), "-w", "start")

    def stop(self, mode: str = "fast"):
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self, mode: str = "fast"):
        self._run("pg_ctl", "-D", str(self.data), "-o", self.options, "-l", str(self.log), "-m", mode, "-w",
                  "restart")

    def psql(self, sql: str, db: str = "postgres"):
        return self._run("psql", "-h", str(self.root), "-p", str(self.port), "-U", "postgres", "-d", db,
                         "-v", "ON_ERROR_STOP=1", "-c", sql)

    def url(self, db: str = DB_NAME) -> str:
        return f"postgres://{DB_USER}:{DB_PASSWORD}@127.0.0.1:{self.port}/{db}"


class Redis:
    """An own redis-server. It keeps its data in an append-only file in `folder`, as a production broker
    must: stopping and starting it (the Redis drill) loses no message."""

    def __init__(self, port: int, folder: Path):
        self.port = port
        self.folder = folder
        self.proc = None

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self):
        exe = shutil.which("redis-server")
        if not exe:
            raise RuntimeError("redis-server is not installed")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--appendfsync", "always", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for(self.ping, 10, f"our Redis on port {self.port}")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None
        wait_for(lambda: not self.ping(), 5, "our Redis to stop")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class SlowHttp:
    """GET /slow/<ms> answers 200 after <ms> milliseconds; counts the requests per path."""

    def __init__(self, port: int):
        self.port = port
        self.hits: dict[str, int] = {}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="slow-http")
        self.server = None

    async def _handle(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b"\r\n", 1)[0].split()[1].decode()
            self.hits[path] = self.hits.get(path, 0) + 1
            parts = path.split("?", 1)[0].strip("/").split("/")
            if parts[0] == "slow" and len(parts) > 1 and parts[1].isdigit():
                await asyncio.sleep(int(parts[1]) / 1000)
            body = b'{"status": "ok"}'
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    def start(self):
        self.thread.start()

        async def serve():
            return await asyncio.start_server(self._handle, "127.0.0.1", self.port, backlog=1024)

        self.server = asyncio.run_coroutine_threadsafe(serve(), self.loop).result(10)

    def stop(self):
        if not self.thread.is_alive():
            return
        if self.server is not None:
            self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


class Session:
    """Everything one run of drills needs, started once and shared by the drills."""

    def __init__(self):
        self.ports = Ports()
        base = os.environ.get("TOLLGATE_VAR_DIR") or tempfile.gettempdir()
        Path(base).mkdir(parents=True, exist_ok=True)
        self.base = Path(base)
        self.root = Path(tempfile.mkdtemp(prefix="tollgate-drills-", dir=base))
        os.chmod(self.root, 0o755)  # the postgres system user must reach its data folder inside
        self.var = self.root / "var"
        self.var.mkdir()
        self.cluster = Cluster(self.root / "pg", self.ports.take(PG_PORTS))
        self.redis = Redis(self.ports.take(REDIS_PORTS), self.root / "redis")
        self.web_port = self.ports.take(WEB_PORTS)
        self.fake = SlowHttp(self.ports.take(FAKE_PORTS))
        self.workers: list[subprocess.Popen] = []
        self.web: subprocess.Popen | None = None
        self.secret_key = secrets.token_urlsafe(60)
        self._closed = False
        self.timings: dict[str, float] = {}
        atexit.register(self.close)

    # --- environment -------------------------------------------------------------------------------------

    def env(self, **extra) -> dict:
        env = {**os.environ, "DATABASE_URL": self.cluster.url(), "REDIS_URL": self.redis.url,
               "TOLLGATE_VAR_DIR": str(self.var), "DJANGO_SETTINGS_MODULE": "config.settings",
               "CELERY_TASK_ALWAYS_EAGER": "false", "TOLLGATE_ESTATE_HTTP_PORT": str(self.fake.port),
               "PYTHONUNBUFFERED": "1", "MEDIA_ROOT": str(self.var / "media"),
               "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
               # sign-ins and signed votes check passwords: the production hasher's cost is not what the
               # drills are about, and it would take most of their time on a small machine
               "PASSWORD_HASHERS": "django.contrib.auth.hashers.MD5PasswordHasher"}
        env.pop("PYTEST_XDIST_WORKER", None)
        env.update(extra)
        return env

    def web_env(self) -> dict:
        """Production-like: DEBUG off, a real secret key, the compressed static manifest."""
        return self.env(DEBUG="false", SECRET_KEY=self.secret_key, ALLOWED_HOSTS="127.0.0.1,localhost",
                        SECURE_SSL_REDIRECT="false", SESSION_COOKIE_SECURE="false",
                        CSRF_COOKIE_SECURE="false",
                        SECURE_HSTS_SECONDS="0", LOG_LEVEL="WARNING", STATIC_ROOT=str(self.static_root))

    # --- start / stop ------------------------------------------------------------------------------------

    def open(self) -> "Session":
        started = time.monotonic()
        self.cluster.init()
        self.cluster.start()
        self.cluster.psql(f"CREATE ROLE {DB_USER} LOGIN CREATEDB PASSWORD '{DB_PASSWORD}'")
        self.cluster.psql(f"CREATE DATABASE {DB_NAME} OWNER {DB_USER}")
        self.redis.start()
        self.fake.start()
        self.timings["services"] = time.monotonic() - started
        os.environ.update(self.env())
        import django

        django.setup()
        from django.core.management import call_command

        started = time.monotonic()
        call_command("migrate", verbosity=0, interactive=False)
        self.timings["migrate"] = time.monotonic() - started
        started = time.monotonic()
        self.collectstatic()
        self.timings["collectstatic"] = time.monotonic() - started
        return self

    @property
    def static_root(self) -> Path:
        """Collected static files are kept between sessions (compressing them takes a while), one folder per
        version of the sources."""
        import hashlib

        digest = hashlib.sha256()
        sources = [ROOT / "static", *sorted((ROOT / "apps").glob("*/static"))]
        import drf_spectacular_sidecar

        sources.append(Path(drf_spectacular_sidecar.__file__).parent / "static")
        for folder in sources:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    stat = path.stat()
                    digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        return self.base / "tollgate-drill-static" / digest.hexdigest()[:16]

    def collectstatic(self):
        root = self.static_root
        if (root / "staticfiles.json").exists():
            return
        root.parent.mkdir(parents=True, exist_ok=True)
        partial = root.with_name(root.name + f".{os.getpid()}")
        env = self.web_env()
        env["STATIC_ROOT"] = str(partial)
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT,
                       env=env, check=True, capture_output=True, timeout=900)
        try:
            partial.rename(root)
        except OSError:  # another session collected them meanwhile
            shutil.rmtree(partial, ignore_errors=True)

    def close(self):
        if self._closed:
            return
        self._closed = True
        self.stop_web()
        for proc in self.workers:
            self._kill(proc)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001 — Django may never have been set up
            pass
        self.fake.stop()
        if self.redis.proc is not None:
            self.redis.stop()
        self.cluster.stop("immediate")
        self.ports.release()
        if not os.environ.get("DRILL_KEEP"):
            shutil.rmtree(self.root, ignore_errors=True)

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        """Stop one process we started and its children (its own process group), never anything else."""
        from benchmarks.server import stop

        stop(proc, timeout=15)

    @staticmethod
    def sigkill(proc: subprocess.Popen):
        """SIGKILL one worker process (the drill's fault): no chance to finish or acknowledge anything."""
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    # --- Celery workers -----------------------------------------------------------------------------------

    def start_worker(self, name: str = "w", *options: str) -> subprocess.Popen:
        log = open(self.root / f"worker-{name}-{len(self.workers)}.log", "w")
        proc = subprocess.Popen([sys.executable, "-m", "benchmarks.drills.worker", name, *options], cwd=ROOT,
                                env=self.web_env(),
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.workers.append(proc)
        return proc

    def stop_workers(self):
        for proc in self.workers:
            self._kill(proc)
        self.workers = []

    # --- web ------------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start_web(self, workers: int = 3, threads: int = 8) -> str:
        if self.web is not None:
            return self.base_url
        gunicorn = Path(sys.executable).with_name("gunicorn")
        log = open(self.root / "gunicorn.log", "w")
        self.web = subprocess.Popen([str(gunicorn), "config.wsgi", "-b", f"127.0.0.1:{self.web_port}", "-w",
                                     str(workers), "--threads", str(threads), "--timeout", "120",
                                     "--graceful-timeout", "5", "--keep-alive", "5", "--log-level", "warning"],
                                    cwd=ROOT, env=self.web_env(), stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        import httpx

        def healthy():
            if self.web.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.root / 'gunicorn.log'}")
            try:
                return httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, 60, "gunicorn to answer /healthz", interval=0.3)
        return self.base_url

    def stop_web(self):
        if self.web is not None:
            self._kill(self.web)
            self.web = None

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.root / name
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def dumps(rows) -> str:
    return json.dumps(rows, indent=2, default=str)
