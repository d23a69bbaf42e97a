"""Real servers on 127.0.0.1 for the probes: HTTP (slow or failing on demand), TCP, TLS with a fresh certificate."""

import asyncio
import datetime as dt
import json
import ssl
import threading

import pytest

from apps.execution import health
from apps.execution.models import AllowedTarget

from ..factories import EndpointFactory


class LoopThread:
    """An event loop on a background thread; servers started on it live until the fixture ends."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def stop(self):
        async def cancel_all():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class HttpServer:
    """GET /ok, /slow/<ms>, /status/<code>, /json, /var/<name> (delay and status set by the test); counts connections."""

    def __init__(self):
        self.connections = 0
        self.port = None
        self.delays: dict[str, int] = {}
        self.statuses: dict[str, int] = {}

    async def handle(self, reader, writer):
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b"\r\n", 1)[0].split()[1].decode()
            parts = path.strip("/").split("/")
            code, body = 200, {"status": "ok"}
            if parts[0] == "slow":
                await asyncio.sleep(int(parts[1]) / 1000)
            elif parts[0] == "status":
                code, body = int(parts[1]), {"status": "down"}
            elif parts[0] == "var":
                await asyncio.sleep(self.delays.get(parts[1], 0) / 1000)
                code = self.statuses.get(parts[1], 200)
                body = {"status": "ok" if code < 400 else "down"}
            elif parts[0] == "json":
                body = {"status": "ok", "checks": {"db": {"state": "degraded"}}, "version": "16.4"}
            payload = json.dumps(body).encode()
            writer.write(f"HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                         f"Connection: close\r\n\r\n".encode() + payload)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def loop_thread():
    lt = LoopThread()
    yield lt
    lt.stop()


@pytest.fixture
def http_server(loop_thread):
    server = HttpServer()

    async def start():
        s = await asyncio.start_server(server.handle, "127.0.0.1", 0, backlog=1024)
        server.port = s.sockets[0].getsockname()[1]
        return s

    s = loop_thread.run(start())
    yield server
    loop_thread.loop.call_soon_threadsafe(s.close)


class TcpListener:
    def __init__(self):
        self.accepted = 0
        self.port = None

    async def handle(self, reader, writer):
        self.accepted += 1
        writer.close()


@pytest.fixture
def tcp_listener(loop_thread):
    listener = TcpListener()

    async def start():
        s = await asyncio.start_server(listener.handle, "127.0.0.1", 0)
        listener.port = s.sockets[0].getsockname()[1]
        return s

    s = loop_thread.run(start())
    yield listener
    loop_thread.loop.call_soon_threadsafe(s.close)


def self_signed(tmp_path, days: float):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "probe.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("probe.test")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / f"cert-{days}.pem", tmp_path / f"key-{days}.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture
def tls_server(loop_thread, tmp_path):
    """tls_server(days) -> port of a TLS server whose self-signed certificate expires in `days` days."""
    servers = []

    def make(days: float) -> int:
        cert_file, key_file = self_signed(tmp_path, days)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)

        async def handle(reader, writer):
            try:
                await reader.read(1)
            except (ConnectionError, ssl.SSLError):
                pass
            writer.close()

        async def start():
            return await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)

        s = loop_thread.run(start())
        servers.append(s)
        return s.sockets[0].getsockname()[1]

    yield make
    for s in servers:
        loop_thread.loop.call_soon_threadsafe(s.close)


@pytest.fixture
def allow_local(admin_user):
    return health.allowlist_add(value="127.0.0.1", ports="", note="test servers", by=admin_user)


@pytest.fixture
def make_check(admin_user, production, system_a):
    counter = iter(range(10_000))

    def make(kind, target, system=None, **fields):
        n = next(counter)
        endpoint = EndpointFactory(system=system or system_a, environment=production, name=f"ep-{n}", kind=kind,
                                   target=target)
        fields.setdefault("timeout_seconds", 3)
        return health.healthcheck_save(by=admin_user, endpoint=endpoint, name=f"check {n}", **fields)

    return make


def run_now(checks, by, purpose="adhoc", **kwargs):
    """Request a run and execute it in this process (what the worker does)."""
    run = health.checkrun_request(checks=checks, purpose=purpose, by=by, **kwargs)
    return health.checkrun_execute(run.pk)


__all__ = ["AllowedTarget", "run_now"]
