"""Detector gaps found by review (round g): client addresses compared across logs, the
time windows of the connection/logon links as [params], localized administrator and
domain-controller group names."""
from __future__ import annotations

import pytest

from analyzer.detectors import NotEvaluated
from tests._detector_kit import ev, run

MAPPED = "::ffff:203.0.113.5"
V4 = "203.0.113.5"


# ----------------------------------------------------------------------------- addresses

@pytest.mark.parametrize("logged", [MAPPED, f"[{MAPPED}]:50123", "::FFFF:203.0.113.5",
                                    "0:0:0:0:0:ffff:cb00:7105", f"{V4}:3389", f"[{V4}]:3389"])
def test_client_key_makes_an_ipv4_mapped_address_its_ipv4_address(logged):
    from parsers.eventcommon import client_key

    assert client_key(logged) == V4


def test_client_key_drops_zone_and_port_of_ipv6_and_keeps_no_address_apart():
    from parsers.eventcommon import client_key

    assert client_key("fe80::1%12") == client_key("[FE80:0::1%12]:3389") == "fe80::1"
    assert client_key("2001:db8::5") != V4
    assert client_key("-") is None and client_key("") is None and client_key(None) is None


def _conn131(minutes, ip=V4, port=52000):
    return ev(minutes, "core", 131, ip=ip, data={"ConnType": "TCP", "ClientIP": f"{ip}:{port}"})


def _logon10(minutes, ip=MAPPED):
    return ev(minutes, "sec", 4624, ip=ip, user="CORP\\alice",
              data={"LogonType": "10", "IpAddress": ip, "IpPort": "0"})


@pytest.mark.parametrize("logon_ip", [MAPPED, f"[{MAPPED}]:50123", "::ffff:cb00:7105"])
def test_brute_force_links_a_mapped_logon_address_to_its_ipv4_connections(logon_ip):
    """Twelve RdpCoreTS 131 from 203.0.113.5, each followed by a 4624 type 10 whose
    IpAddress shows the same client IPv4-mapped: twelve successful logons, no guessing
    (found by review: the link compared the strings, and called it password guessing)."""
    conns = [_conn131(i * 0.5, port=52700 + i) for i in range(12)]
    logons = [_logon10(i * 0.5 + 0.1, logon_ip) for i in range(12)]
    assert run("rdp-brute-force", conns + logons) == []
    # another client's logons still excuse nothing
    other = [_logon10(i * 0.5 + 0.1, "::ffff:203.0.113.6") for i in range(12)]
    out = run("rdp-brute-force", conns + other)
    assert len(out) == 1 and f"12 RdpCoreTS 131 TCP connections from {V4}" in out[0].summary


def test_brute_force_type3_burst_from_a_mapped_address_is_tied_by_its_ipv4_connection():
    """4625 type 3 from ::ffff:203.0.113.5 with an RdpCoreTS 131 from 203.0.113.5 in the
    burst: NLA guessing over RDP. The summary and evidence show the address as logged."""
    fails = [ev(i * 0.2, "sec", 4625, ip=MAPPED, user=f"user{i}",
                data={"LogonType": "3", "Status": "0xC000006D", "IpAddress": MAPPED})
             for i in range(12)]
    quiet_rcm = [ev(-600, "rcm", 258), ev(-600, "rcma", 1056), _conn131(-600, "192.0.2.50")]
    out = run("rdp-brute-force", fails + quiet_rcm + [_conn131(1)])
    assert len(out) == 1, out
    f = out[0]
    assert f"12 4625 type-3 (NLA) failures with RDP evidence from {MAPPED} within" in f.summary
    assert f.details["addresses"] == [MAPPED]
    assert f.evidence and all(MAPPED in e.excerpt for e in f.evidence)
    # without the connection nothing ties the burst to RDP
    assert run("rdp-brute-force", fails + quiet_rcm) == []


def test_tls_certificate_problem_mapped_logon_says_the_connection_worked():
    """A Schannel 36870 beside an RdpCoreTS 131 from 203.0.113.5 that a 4624 type 10 from
    ::ffff:203.0.113.5 followed: the connection worked, so nothing ties the Schannel error
    to RDP (a warning about some TLS credential, not RDP's error)."""
    rows = [ev(0, "schannel", 36870), _conn131(0.1), _logon10(0.3)]
    out = run("tls-certificate-problem", rows)
    assert not isinstance(out, NotEvaluated) and len(out) == 1
    assert out[0].severity == "warning" and "maybe not RDP" in out[0].title
    # the same connection without the logon failed: the error is RDP's
    out = run("tls-certificate-problem", rows[:2] + [_logon10(0.3, "::ffff:198.51.100.7")])
    assert out[0].severity == "error" and "RdpCoreTS 131" in out[0].summary
