"""The probes: HTTP(S), TCP connect, SQL (PostgreSQL, read-only) and TLS certificate expiry.

Everything here is asyncio, so one task probes hundreds of endpoints at once and a run takes about
as long as its slowest probe. No database access happens in here: the caller turns HealthCheck rows
into `ProbeSpec`s first and writes the `ProbeResult`s afterwards. Every probe asks the allow-list
first and then connects to an address it checked (never to a fresh resolution of the name).
"""

import asyncio
import datetime as dt
import importlib.util
import json
import logging
import math
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import httpx

from .allowlist import Rules

# httpcore asks `import sniffio` on every request and lock; without sniffio installed each failed import
# scans sys.path again (a third of a 500-probe run's CPU). A None entry makes the import fail at once,
# which httpcore reads as "asyncio" — what it is here.
if importlib.util.find_spec("sniffio") is None:  # installed, it answers quickly and is left alone
    sys.modules.setdefault("sniffio", None)

# one line per probe would drown the worker's log (a run may hold 500); results are in the database
logging.getLogger("httpx").setLevel(logging.WARNING)

OK, FAIL, ERROR, REFUSED = "ok", "fail", "error", "refused"
MAX_BODY = 1024 * 1024
MAX_DETAIL = 500


@dataclass(frozen=True)
class ProbeSpec:
    check_id: int
    kind: str  # http / tcp / sql / tls
    target: str
    timeout: float = 5.0
    expect_status: int | None = None
    body_contains: str = ""
    json_path: str = ""
    json_expected: str = ""
    max_latency_ms: int | None = None
    sql_query: str = ""
    sql_username: str = ""
    sql_password: str = field(default="", repr=False)
    tls_min_days: int = 14


@dataclass
class ProbeResult:
    check_id: int
    status: str
    latency_ms: float | None
    detail: str
    checked_at: dt.datetime
    samples: list = field(default_factory=list)


class Problem(Exception):
    """The target answered, but not as the check expects (status `fail`)."""


def split_host_port(target: str, default_port: int | None = None) -> tuple[str, int]:
    target = target.strip()
    if "://" in target:
        parts = urlsplit(target)
        host, port = parts.hostname or "", parts.port or default_port
    elif target.startswith("["):
        host, _, rest = target[1:].partition("]")
        port = int(rest[1:].split("/")[0]) if rest.startswith(":") else default_port
    else:
        hostport = target.split("/")[0]
        host, sep, port_text = hostport.rpartition(":")
        if not sep:
            host, port_text = hostport, ""
        port = int(port_text) if port_text else default_port
    if not host or port is None:
        raise ValueError(f"“{target}” does not name a host and a port.")
    return host, int(port)


def _netloc(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _json_at(data, path: str):
    for key in path.split("."):
        if isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        elif isinstance(data, dict) and key in data:
            data = data[key]
        else:
            raise Problem(f"the JSON answer has no “{path}”")
    return data


async def _http(spec: ProbeSpec, rules: Rules, client: httpx.AsyncClient) -> str:
    parts = urlsplit(spec.target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"“{spec.target}” is not an http:// or https:// address.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    verdict = await rules.check(parts.hostname, port)
    if not verdict.allowed:
        raise PermissionError(verdict.reason)
    address = verdict.addresses[0]
    url = urlunsplit((parts.scheme, _netloc(address, port), parts.path or "/", parts.query, ""))
    host_header = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    response = await client.get(url, headers={"Host": host_header}, extensions=extensions, timeout=spec.timeout)
    body = response.content[:MAX_BODY].decode(response.encoding or "utf-8", errors="replace")
    if spec.expect_status is not None:
        if response.status_code != spec.expect_status:
            raise Problem(f"answered HTTP {response.status_code}, expected {spec.expect_status}")
    elif response.status_code >= 400:
        raise Problem(f"answered HTTP {response.status_code}")
    if spec.body_contains and spec.body_contains not in body:
        raise Problem(f"the answer does not contain “{spec.body_contains}”")
    if spec.json_path:
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise Problem("the answer is not JSON") from exc
        value = _json_at(data, spec.json_path)
        shown = value if isinstance(value, str) else json.dumps(value)
        if spec.json_expected and shown != spec.json_expected:
            raise Problem(f"{spec.json_path} is “{shown}”, expected “{spec.json_expected}”")
    return f"HTTP {response.status_code}"


async def _tcp(spec: ProbeSpec, rules: Rules) -> str:
    host, port = split_host_port(spec.target)
    verdict = await rules.check(host, port)
    if not verdict.allowed:
        raise PermissionError(verdict.reason)
    _, writer = await asyncio.open_connection(verdict.addresses[0], port)
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return f"connected to {_netloc(verdict.addresses[0], port)}"


async def _tls(spec: ProbeSpec, rules: Rules) -> str:
    from cryptography import x509

    host, port = split_host_port(spec.target, 443)
    verdict = await rules.check(host, port)
    if not verdict.allowed:
        raise PermissionError(verdict.reason)
    # expiry is what this probe is about: read the certificate even when it is self-signed or expired
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    _, writer = await asyncio.open_connection(verdict.addresses[0], port, ssl=context, server_hostname=host)
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
    cert = x509.load_der_x509_certificate(der)
    expires = cert.not_valid_after_utc
    days = (expires - dt.datetime.now(dt.UTC)).total_seconds() / 86400
    when = expires.strftime("%d %b %Y %H:%M UTC")
    if days < 0:
        raise Problem(f"the certificate expired on {when}")
    if days < spec.tls_min_days:
        raise Problem(f"the certificate expires on {when}, in {math.floor(days)} days (minimum {spec.tls_min_days})")
    return f"the certificate is valid until {when} ({math.floor(days)} days)"


async def _sql(spec: ProbeSpec, rules: Rules) -> str:
    import psycopg

    target = spec.target if "://" in spec.target else f"postgresql://{spec.target}"
    parts = urlsplit(target)
    host, port = parts.hostname or "", parts.port or 5432
    dbname = parts.path.lstrip("/") or "postgres"
    verdict = await rules.check(host, port)
    if not verdict.allowed:
        raise PermissionError(verdict.reason)
    conn = await psycopg.AsyncConnection.connect(
        host=host, hostaddr=verdict.addresses[0], port=port, dbname=dbname, user=spec.sql_username or None,
        password=spec.sql_password or None, connect_timeout=max(1, math.ceil(spec.timeout)),
        application_name="tollgate-health-probe")
    try:
        await conn.set_read_only(True)  # BEGIN READ ONLY: the probe cannot change anything
        async with conn.cursor() as cursor:
            await cursor.execute(f"SET LOCAL statement_timeout = {int(spec.timeout * 1000)}")
            await cursor.execute(spec.sql_query)
            row = await cursor.fetchone() if cursor.description else None
        await conn.rollback()
    finally:
        await conn.close()
    return f"answered {row[0]!r}"[:200] if row else "answered (no rows)"


async def _probe_once(spec: ProbeSpec, rules: Rules, client: httpx.AsyncClient) -> tuple[str, float | None, str]:
    started = time.perf_counter()
    try:
        if spec.kind == "http":
            coro = _http(spec, rules, client)
        elif spec.kind == "tcp":
            coro = _tcp(spec, rules)
        elif spec.kind == "tls":
            coro = _tls(spec, rules)
        elif spec.kind == "sql":
            coro = _sql(spec, rules)
        else:
            return ERROR, None, f"unknown probe kind “{spec.kind}”"
        detail = await asyncio.wait_for(coro, timeout=spec.timeout + 0.5)
        status = OK
    except PermissionError as exc:
        return REFUSED, None, f"Refused, nothing was connected to: {exc}"[:MAX_DETAIL]
    except Problem as exc:
        status, detail = FAIL, str(exc)
    except (TimeoutError, asyncio.TimeoutError, httpx.TimeoutException):
        return ERROR, round((time.perf_counter() - started) * 1000, 1), f"no answer within {spec.timeout:g} s"
    except ValueError as exc:
        return ERROR, None, str(exc)[:MAX_DETAIL]
    except Exception as exc:  # noqa: BLE001 — any failure to reach the target is this probe's result
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return ERROR, round((time.perf_counter() - started) * 1000, 1), f"could not reach it: {text}"[:MAX_DETAIL]
    latency = round((time.perf_counter() - started) * 1000, 1)
    if status == OK and spec.max_latency_ms is not None and latency > spec.max_latency_ms:
        status, detail = FAIL, f"{detail}; took {latency:.0f} ms, over the limit of {spec.max_latency_ms} ms"
    return status, latency, detail[:MAX_DETAIL]


def _median(values: list[float]) -> float | None:
    values = sorted(values)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else round((values[mid - 1] + values[mid]) / 2, 1)


async def probe(spec: ProbeSpec, rules: Rules, client: httpx.AsyncClient, samples: int = 1) -> ProbeResult:
    """One result for one check; with samples > 1 the check is probed that many times in a row."""
    checked_at = dt.datetime.now(dt.UTC)
    if samples <= 1:
        status, latency, detail = await _probe_once(spec, rules, client)
        return ProbeResult(spec.check_id, status, latency, detail, checked_at)
    taken = []
    for _ in range(samples):
        status, latency, detail = await _probe_once(spec, rules, client)
        taken.append({"status": status, "latency_ms": latency, "detail": detail})
        if status == REFUSED:
            break
    bad = [s for s in taken if s["status"] != OK]
    status = OK if not bad else (REFUSED if bad[0]["status"] == REFUSED else bad[0]["status"])
    latency = _median([s["latency_ms"] for s in taken if s["latency_ms"] is not None])
    detail = (f"{len(taken) - len(bad)} of {len(taken)} probes passed"
              + (f"; {bad[0]['detail']}" if bad else f"; {taken[-1]['detail']}"))
    return ProbeResult(spec.check_id, status, latency, detail[:MAX_DETAIL], checked_at,
                       samples=[{"status": s["status"], "latency_ms": s["latency_ms"]} for s in taken])


SHARD = 10  # probes per HTTP client


def _client(context: ssl.SSLContext) -> httpx.AsyncClient:
    # No proxies from the environment, no redirects (a redirect could lead off the allow-list), no
    # connection reuse (each probe measures a fresh connection).
    return httpx.AsyncClient(limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
                             follow_redirects=False, trust_env=False, verify=context)


async def probe_all(specs: list[ProbeSpec], rules: Rules, *, samples: int = 1,
                    on_result: Callable[[ProbeResult], None] | None = None) -> list[ProbeResult]:
    """Probe every spec concurrently; `on_result` is called as each one finishes.

    One connection pool shared by hundreds of simultaneous requests spends its time scanning its own
    queue (quadratic in its size), so the probes are spread over small clients; the TLS context (the CA
    bundle, costly to load) is shared by all of them.
    """
    context = ssl.create_default_context()
    clients = [_client(context) for _ in range(max(1, -(-len(specs) // SHARD)))]

    async def one(index: int, spec: ProbeSpec) -> ProbeResult:
        result = await probe(spec, rules, clients[index % len(clients)], samples)
        if on_result is not None:
            on_result(result)
        return result

    try:
        return list(await asyncio.gather(*(one(i, s) for i, s in enumerate(specs))))
    finally:
        for c in clients:
            await c.aclose()
