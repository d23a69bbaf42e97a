"""A small fake estate for the demo: HTTP health endpoints and a TCP listener on 127.0.0.1.

They stand for the seeded systems' endpoints, so health checks, triggers and the live execution page
show real behaviour on a laptop. Each service is `ok`, `slow` (answers after a few seconds) or
`failing` (HTTP 503; the TCP listener stops listening). The state lives in a small JSON file under the
var folder, so the web process (the admin's page), the worker and the estate process agree on it.

`manage.py estate serve` runs the servers; `manage.py estate set <service> <mode>` and the estate page
change a service. The HTTP server answers `/<system-slug>/healthz` for any system.
"""

import asyncio
import json
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.choices import Role

HTTP_PORT = settings.ESTATE_HTTP_PORT
TCP_PORT = settings.ESTATE_TCP_PORT
HOST = "127.0.0.1"
SLOW_SECONDS = 2.5
MODES = {"ok": "Healthy", "slow": "Slow (answers after 2.5 s)", "failing": "Failing"}
TCP_SERVICE = "ledger-db"


@dataclass(frozen=True)
class Service:
    name: str
    label: str
    kind: str  # http / tcp


# the seeded systems' stand-ins; any other /<slug>/healthz answers too (as `ok` unless set)
SERVICES = [
    Service("core-ledger", "Core Ledger health", "http"),
    Service("payments-hub", "Payments Hub health", "http"),
    Service("card-switch", "Card Switch health", "http"),
    Service("online-banking", "Online Banking Web health", "http"),
    Service("mobile-gateway", "Mobile API Gateway health", "http"),
    Service(TCP_SERVICE, "Core Ledger database port (TCP)", "tcp"),
]


def state_path() -> Path:
    return Path(settings.VAR_DIR) / "estate.json"


def read_state(path: Path | None = None) -> dict[str, str]:
    try:
        data = json.loads((path or state_path()).read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and v in MODES} if isinstance(data, dict) else {}


def _write_state(state: dict[str, str], path: Path | None = None) -> None:
    path = path or state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
    os.replace(tmp, path)  # atomic: the estate process never reads half a file


def services_status(path: Path | None = None) -> list[dict]:
    state = read_state(path)
    names = [s.name for s in SERVICES] + sorted(set(state) - {s.name for s in SERVICES})
    known = {s.name: s for s in SERVICES}
    return [{"name": n, "label": known[n].label if n in known else f"{n} health",
             "kind": known[n].kind if n in known else "http", "mode": state.get(n, "ok"),
             "mode_label": MODES[state.get(n, "ok")],
             "target": (f"{HOST}:{TCP_PORT}" if n in known and known[n].kind == "tcp"
                        else f"http://{HOST}:{HTTP_PORT}/{n}/healthz")} for n in names]


def estate_set(*, name: str, mode: str, by, path: Path | None = None) -> None:
    """An administrator makes a fake service healthy, slow or failing (audited)."""
    from django.core.exceptions import PermissionDenied

    from apps.audit.services import audit_append

    if by is not None and not by.has_role(Role.ADMIN):
        audit_append(action="health.denied", actor=by, data={"action": "estate.set", "service": str(name)[:60]})
        raise PermissionDenied("Only administrators change the demo estate.")
    errors = {}
    if not isinstance(name, str) or not name or len(name) > 60 or not all(c.isalnum() or c == "-" for c in name):
        errors["name"] = "Name a service of the estate (letters, digits and dashes)."
    if mode not in MODES:
        errors["mode"] = f"Choose one of: {', '.join(MODES)}."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        state = read_state(path)
        before = state.get(name, "ok")
        state[name] = mode
        _write_state(state, path)
        audit_append(action="estate.set", actor=by, object_type="execution.estate", object_id=name,
                     object_repr=name, before={"mode": before}, after={"mode": mode})


# --- the servers --------------------------------------------------------------------------------------------


class Estate:
    """The HTTP server and the TCP listener on one event loop. `mode_of(name)` decides each answer."""

    def __init__(self, *, host=HOST, http_port=HTTP_PORT, tcp_port=TCP_PORT, path: Path | None = None,
                 mode_of=None, slow_seconds: float = SLOW_SECONDS):
        self.host, self.http_port, self.tcp_port = host, http_port, tcp_port
        self.path = path
        self.mode_of = mode_of or (lambda name: read_state(self.path).get(name, "ok"))
        self.slow_seconds = slow_seconds
        self.http_server = None
        self.tcp_server = None

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
            parts = head.split(b"\r\n", 1)[0].decode("latin-1").split()
            path = parts[1] if len(parts) >= 2 else "/"
            name = path.strip("/").split("/")[0] or "estate"
            mode = self.mode_of(name)
            if mode == "slow":
                await asyncio.sleep(self.slow_seconds)
            if mode == "failing":
                code, body = "503 Service Unavailable", {"status": "down", "service": name}
            else:
                code, body = "200 OK", {"status": "ok", "service": name}
            payload = json.dumps(body).encode()
            writer.write(f"HTTP/1.1 {code}\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                         f"Connection: close\r\n\r\n".encode() + payload)
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _tcp(self, reader, writer) -> None:
        writer.close()

    async def _watch_tcp(self) -> None:
        """The TCP listener follows its mode: it stops listening while `failing`."""
        while True:
            failing = self.mode_of(TCP_SERVICE) == "failing"
            if failing and self.tcp_server is not None:
                self.tcp_server.close()
                await self.tcp_server.wait_closed()
                self.tcp_server = None
            elif not failing and self.tcp_server is None and self.tcp_port is not None:
                self.tcp_server = await asyncio.start_server(self._tcp, self.host, self.tcp_port, reuse_address=True)
            await asyncio.sleep(0.3)

    async def start(self) -> None:
        self.http_server = await asyncio.start_server(self._answer, self.host, self.http_port, backlog=1024,
                                                      reuse_address=True)
        self.http_port = self.http_server.sockets[0].getsockname()[1]
        if self.tcp_port is not None:
            self.tcp_server = await asyncio.start_server(self._tcp, self.host, self.tcp_port, reuse_address=True)
            self.tcp_port = self.tcp_server.sockets[0].getsockname()[1]
            self._watcher = asyncio.ensure_future(self._watch_tcp())

    async def stop(self) -> None:
        if getattr(self, "_watcher", None) is not None:
            self._watcher.cancel()
        for server in (self.http_server, self.tcp_server):
            if server is not None:
                server.close()

    async def serve_forever(self) -> None:
        await self.start()
        await asyncio.Event().wait()


def listening(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


_background: list[threading.Thread] = []


def ensure_serving() -> None:
    """Start the estate on a background thread of this process unless something already answers on its port
    (the seed and the tests' drive() probe it before `manage.py estate serve` runs)."""
    if listening(HTTP_PORT) or _background:
        return
    ready = threading.Event()
    path = state_path()  # fixed now: a later change of settings (a test's own var folder) does not move it

    def run() -> None:
        async def main():
            estate = Estate(path=path)
            try:
                await estate.start()
            finally:
                ready.set()
            await asyncio.Event().wait()

        try:
            asyncio.run(main())
        except OSError:
            ready.set()  # the port was taken meanwhile: someone else serves it

    thread = threading.Thread(target=run, name="estate", daemon=True)
    _background.append(thread)
    thread.start()
    ready.wait(5)


# --- the seed ------------------------------------------------------------------------------------------------


def _admin(users: dict):
    return next((u for u in users.values() if u is not None and u.has_role(Role.ADMIN)), None)


def seed_estate(*, systems, admin) -> list:
    """Endpoints on the estate, health checks on them and the allow-list entry, through the services
    (idempotent): every system gets an HTTP health endpoint, the ledger also its database port."""
    from apps.inventory import importers
    from apps.inventory.models import Endpoint, Environment
    from apps.inventory.services import inventory_object_save

    from .health import allowlist_add, healthcheck_save
    from .models import AllowedTarget, HealthCheck

    production = Environment.objects.filter(kind="production").order_by("order", "pk").first()
    if production is None or admin is None:
        return []
    ports = f"{HTTP_PORT}-{TCP_PORT}" if TCP_PORT == HTTP_PORT + 1 else f"{HTTP_PORT},{TCP_PORT}"
    if not AllowedTarget.objects.filter(value=HOST).exists():
        allowlist_add(value=HOST, ports=ports, note="The demo estate (manage.py estate serve).", by=admin)
    made = []
    for system in systems:
        wanted = [("estate health", "http", f"http://{HOST}:{HTTP_PORT}/{system.slug}/healthz", "status 200")]
        if system.slug == "core-ledger":
            wanted.append(("estate database port", "tcp", f"{HOST}:{TCP_PORT}", ""))
        for name, kind, target, expected in wanted:
            endpoint = Endpoint.objects.filter(system=system, environment=production, name=name).first()
            if endpoint is None:
                form = importers.EndpointRow(data={"system": system.slug, "environment": production.slug,
                                                   "name": name, "kind": kind, "target": target,
                                                   "expected": expected})
                if not form.is_valid():
                    continue
                endpoint = inventory_object_save(form=form, by=admin)
            check = HealthCheck.objects.filter(endpoint=endpoint).first()
            if check is None:
                fields = {"expect_status": 200, "json_path": "status", "json_expected": "ok",
                          "max_latency_ms": 2000} if kind == "http" else {}
                check = healthcheck_save(by=admin, endpoint=endpoint, name=f"{system.name} {name}",
                                         timeout_seconds=4, **fields)
            made.append(check)
    return made


def seed_before_schedule(*, request, by, users) -> None:
    """The seed's (and drive()'s) hook: the request's systems get checks on the estate, and the estate answers."""
    from apps.inventory.models import System

    systems = System.objects.filter(pk__in=request.items.values("system_id")).order_by("pk")
    if seed_estate(systems=systems, admin=_admin(users)):
        ensure_serving()
