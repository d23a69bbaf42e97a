"""The allow-list rules on their own: entries, ports, and every resolved address."""

import ipaddress

import pytest

from apps.execution.allowlist import Rule, Rules, parse_ports, parse_value


def rules(*entries):
    return Rules([Rule(parse_value(v), tuple(parse_ports(p))) for v, p in entries])


def test_entries_and_ports_are_parsed_or_refused_with_a_reason():
    assert parse_ports("80, 443,8000-8100") == [(80, 80), (443, 443), (8000, 8100)]
    assert parse_ports("") == []
    assert parse_value("10.0.0.0/8") == ipaddress.ip_network("10.0.0.0/8")
    assert parse_value("DB1.Bank.Example.") == "db1.bank.example"
    for bad in ("99999", "80-70", "http", "1-2-3"):
        with pytest.raises(ValueError):
            parse_ports(bad)
    for bad in ("not a host!", "", "10.0.0.0/33", "999.1.1.1"):
        with pytest.raises(ValueError):
            parse_value(bad)


def test_every_address_must_be_covered_and_the_port_allowed():
    r = rules(("10.20.0.0/16", "443"), ("db1.bank.example", "5432"))
    assert r.check_addresses("api.bank.example", 443, ["10.20.1.5"]).allowed
    assert not r.check_addresses("api.bank.example", 80, ["10.20.1.5"]).allowed  # port not listed
    # a name that resolves inside the network and outside it is refused: one address is off the list
    verdict = r.check_addresses("api.bank.example", 443, ["10.20.1.5", "192.168.1.1"])
    assert not verdict.allowed and "192.168.1.1" in verdict.reason
    # a host-name entry covers exactly that name (on its ports), not its neighbours
    assert r.check_addresses("db1.bank.example", 5432, ["172.16.0.9"]).allowed
    assert not r.check_addresses("db2.bank.example", 5432, ["172.16.0.9"]).allowed
    assert not r.check_addresses("db1.bank.example", 22, ["172.16.0.9"]).allowed
    assert not r.check_addresses("nothing.example", 443, []).allowed


def test_ipv6_and_ipv4_do_not_mix():
    r = rules(("0.0.0.0/0", ""))
    assert r.check_addresses("x", 80, ["10.1.1.1"]).allowed
    assert not r.check_addresses("x", 80, ["::1"]).allowed
