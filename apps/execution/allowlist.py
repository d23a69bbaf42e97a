"""The allow-list that keeps health checks from becoming a network scanner.

An entry is a host name, an IP address or a network in CIDR form, optionally with ports
("80,443,8000-8100"; empty: any port). A target is allowed only when *every* address its host
resolves to is covered by an entry that also allows the port; a host name entry covers the
addresses of exactly that name. The probe then connects to an address it checked, never to a
fresh resolution of the name (no rebinding between the check and the connection).
"""

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass

from django.core.exceptions import ValidationError

HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$",
                         re.IGNORECASE)


def parse_ports(spec: str) -> list[tuple[int, int]]:
    """'80,443,8000-8100' -> [(80, 80), (443, 443), (8000, 8100)]; ValueError with a readable reason."""
    ranges = []
    for part in (spec or "").replace(" ", "").split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise ValueError(f"“{part}” is not a port or a range like 8000-8100.")
        lo, hi = int(low), int(high or low)
        if not (1 <= lo <= 65535 and 1 <= hi <= 65535) or lo > hi:
            raise ValueError(f"“{part}”: ports run from 1 to 65535, the lower first.")
        ranges.append((lo, hi))
    return ranges


def parse_value(value: str):
    """An ip_network for addresses and networks, a lower-case name for host names; ValueError otherwise."""
    value = (value or "").strip()
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        pass
    name = value.rstrip(".")  # a fully qualified name may end with a dot
    if HOSTNAME_RE.match(name) and not name.replace(".", "").isdigit():
        return name.lower()
    raise ValueError("Enter a host name (db1.bank.example), an IP address (10.0.0.5) or a network (10.0.0.0/24).")


def validate_entry(value: str, ports: str) -> None:
    errors = {}
    try:
        parse_value(value)
    except ValueError as exc:
        errors["value"] = str(exc)
    try:
        parse_ports(ports)
    except ValueError as exc:
        errors["ports"] = str(exc)
    if errors:
        raise ValidationError(errors)


@dataclass(frozen=True)
class Rule:
    match: object  # ip_network or host name
    ports: tuple[tuple[int, int], ...]

    def allows_port(self, port: int) -> bool:
        return not self.ports or any(lo <= port <= hi for lo, hi in self.ports)

    def covers(self, host: str, address) -> bool:
        if isinstance(self.match, str):
            return host.lower().rstrip(".") == self.match
        return address.version == self.match.version and address in self.match


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    addresses: tuple[str, ...]
    reason: str = ""


class Rules:
    def __init__(self, rules: list[Rule]):
        self.rules = rules

    @classmethod
    def load(cls) -> "Rules":
        from .models import AllowedTarget

        rules = []
        for value, ports in AllowedTarget.objects.values_list("value", "ports"):
            try:
                rules.append(Rule(parse_value(value), tuple(parse_ports(ports))))
            except ValueError:
                continue  # an unreadable entry allows nothing
        return cls(rules)

    def check_addresses(self, host: str, port: int, addresses: list[str]) -> Verdict:
        if not addresses:
            return Verdict(False, (), f"{host} does not resolve to any address.")
        for text in addresses:
            address = ipaddress.ip_address(text.split("%")[0])
            if not any(r.covers(host, address) and r.allows_port(port) for r in self.rules):
                shown = host if host == text else f"{host} ({text})"
                return Verdict(False, tuple(addresses), f"{shown} port {port} is not on the allow-list.")
        return Verdict(True, tuple(addresses))

    async def check(self, host: str, port: int) -> Verdict:
        """Resolve `host` and check every address it resolves to (nothing is connected to)."""
        if not self.rules:
            return Verdict(False, (), "The allow-list is empty: an administrator adds the targets probes may reach.")
        try:
            ipaddress.ip_address(host)
            addresses = [host]
        except ValueError:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except socket.gaierror as exc:
                return Verdict(False, (), f"{host} cannot be resolved ({exc.strerror}).")
            addresses = list(dict.fromkeys(info[4][0] for info in infos))
        return self.check_addresses(host, port, addresses)
