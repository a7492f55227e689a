"""Detector gaps found by review (round g): client addresses compared across logs, the
time windows of the connection/logon links as [params], localized administrator and
domain-controller group names."""
from __future__ import annotations

import pytest

from analyzer.detectors import NotEvaluated
from tests._detector_kit import ev, row, run

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


# ----------------------------------------------------------------------------- windows as [params]

def _schannel_then_termdd(gap_minutes):
    return [ev(0, "schannel", 36870), ev(gap_minutes, "termdd", 56, ip="192.0.2.7",
                                         data={"param2": "192.0.2.7"})]


def test_tls_rdp_tie_is_a_param():
    """TermDD 56 seven minutes after the Schannel error: outside the default 5-minute tie
    (some TLS credential: a warning), inside a tuned 10-minute one (RDP's: an error whose
    text names the window). The tie was a constant (found by review)."""
    rows = _schannel_then_termdd(7)
    out = run("tls-certificate-problem", rows)
    assert len(out) == 1 and out[0].severity == "warning" and "maybe not RDP" in out[0].title
    out = run("tls-certificate-problem", rows, tls_rdp_tie_minutes=10)
    assert len(out) == 1 and out[0].severity == "error"
    assert "RDP failing within 10 min (TermDD 56)" in out[0].summary
    out = run("tls-certificate-problem", rows, tls_rdp_tie_minutes=7.5)
    assert "RDP failing within 7.5 min" in out[0].summary
    # the default text is unchanged
    out = run("tls-certificate-problem", _schannel_then_termdd(3))
    assert "RDP failing within 5 min (TermDD 56)" in out[0].summary


def test_tls_connection_to_logon_link_is_a_param():
    """A connection beside the Schannel error, its logon 7 minutes later: with the default
    5-minute link the connection failed (the error is RDP's); with a 10-minute link the
    logon says it worked."""
    rows = [ev(0, "schannel", 36870), _conn131(0.1), _logon10(7.1, V4)]
    assert run("tls-certificate-problem", rows)[0].severity == "error"
    out = run("tls-certificate-problem", rows, connection_logon_link_minutes=10)
    assert out[0].severity == "warning" and "maybe not RDP" in out[0].title


def test_brute_force_logon_link_is_a_param():
    """Three connections ten minutes apart, each followed seven minutes later by its
    logon: unexcused guesses with the default 5-minute link, three logons with a
    10-minute one."""
    rows = [c for i in range(3) for c in (_conn131(i * 10, port=52700 + i),
                                          _logon10(i * 10 + 7, V4))]
    tuned = {"brute_force_min_connections": 3, "brute_force_window_minutes": 30}
    out = run("rdp-brute-force", rows, **tuned)
    assert len(out) == 1 and f"3 RdpCoreTS 131 TCP connections from {V4} within 30 min" \
        in out[0].summary
    assert run("rdp-brute-force", rows, connection_logon_link_minutes=10, **tuned) == []


@pytest.mark.parametrize("name", ["tls_rdp_tie_minutes", "connection_logon_link_minutes"])
def test_the_window_params_are_known_to_tuning_and_validated(name, tmp_path):
    from analyzer.detectors import DEFAULT_PARAMS
    from analyzer.engine import Tuning, TuningError

    assert DEFAULT_PARAMS[name] == 5
    assert Tuning.from_dict({"params": {name: 7}}).params == {name: 7}
    for bad in (0, -1, "7", True):
        with pytest.raises(TuningError, match="must be a positive number"):
            Tuning.from_dict({"params": {name: bad}})
    p = tmp_path / "rdpdoctor.toml"
    p.write_text(f"[params]\n{name} = 7.5\n", encoding="utf-8")
    assert Tuning.from_toml(p).params == {name: 7.5}


def test_params_refuse_nan_inf_and_huge_values_from_toml(tmp_path):
    """TOML has nan and inf: `tls_rdp_tie_minutes = nan` passed validation and the check
    failed ("cannot convert float NaN to integer"); 1e12 hours overflows a time span
    (found by review)."""
    from analyzer.detectors import DEFAULT_PARAMS
    from analyzer.engine import MAX_PARAM, Tuning, TuningError

    p = tmp_path / "rdpdoctor.toml"
    for name in sorted(DEFAULT_PARAMS):
        for bad in ("nan", "inf", "1e12"):
            p.write_text(f"[params]\n{name} = {bad}\n", encoding="utf-8")
            with pytest.raises(TuningError, match=f"up to {MAX_PARAM:,}"):
                Tuning.from_toml(p)
        p.write_text(f"[params]\n{name} = {MAX_PARAM}\n", encoding="utf-8")
        assert Tuning.from_toml(p).params == {name: MAX_PARAM}


def test_every_param_is_documented_with_its_default():
    """docs/output.md lists each [params] name with the default the detectors use."""
    import re
    from pathlib import Path

    from analyzer.detectors import DEFAULT_PARAMS, load_all

    load_all()
    doc = (Path(__file__).resolve().parents[1] / "docs" / "output.md").read_text("utf-8")
    table = dict(re.findall(r"^\| `([a-z0-9_]+)` \| ([\d.]+) \|", doc, re.M))
    assert table == {k: str(v) for k, v in DEFAULT_PARAMS.items()}


# ----------------------------------------------------------------------------- localized admins

def _allow(*members):
    return row("gpresult", "gpo:user-right", line=1720, data={
        "scope": "computer", "right": "SeRemoteInteractiveLogonRight",
        "members": [{"name": n, "sid": s} for n, s in members]})


def _dc_ou():
    """The computer details of a DC's Group Policy report: in the Domain Controllers OU."""
    return row("gpresult", "gpo:subject", line=376,
               data={"scope": "computer", "name": "CORP\\DC01$",
                     "som": "corp.example/Domain Controllers", "groups": []})


@pytest.mark.parametrize("member", [("VORDEFINIERT\\Administratoren", None),
                                    ("BUILTIN\\Administrateurs", None),
                                    ("Administradores", None),
                                    ("*S-1-5-32-544", "S-1-5-32-544"),
                                    ("VORDEFINIERT\\Administratoren", "S-1-5-32-544")])
def test_a_localized_dcs_administrators_only_default_is_info(member):
    """A German / French / Spanish DC's gpresult /h names BUILTIN\\Administrators in its
    language and without a SID: "Administrators only" is the DC's default (info, connect
    as an administrator), not an error root cause (found by review: only the English name
    was known)."""
    out = run("user-not-authorized", [_allow(member), _dc_ou()])
    assert len(out) == 1 and out[0].severity == "info", out[0].summary
    assert "the default of a domain controller" in out[0].summary
    assert out[0].remedy.startswith("1. Connect with an administrator's account")
    # on a member server the same right leaves Remote Desktop Users out: an error
    out = run("user-not-authorized", [_allow(member)])
    assert out[0].severity == "error" and "Remote Desktop Users are left out" in out[0].summary


@pytest.mark.parametrize("member", [("CONTOSO\\Administratoren", None),
                                    ("BUILTIN\\Administrators", "S-1-5-21-11-22-33-1107"),
                                    ("VORDEFINIERT\\Amministratori", None)])
def test_a_group_merely_named_like_administrators_is_not_builtin_administrators(member):
    """A domain group of that name, a member whose SID is another's, and a name no
    Microsoft source confirms: not BUILTIN\\Administrators, so no DC default."""
    out = run("user-not-authorized", [_allow(member), _dc_ou()])
    assert out[0].severity == "error" and "by design" not in out[0].summary


def test_denying_localized_administrators_refuses_every_user_allowed_to_connect():
    deny = row("gpresult", "gpo:user-right", line=1378, data={
        "scope": "computer", "right": "SeDenyRemoteInteractiveLogonRight",
        "members": [{"name": "VORDEFINIERT\\Administratoren", "sid": None}]})
    out = run("user-not-authorized", [deny])
    assert out[0].severity == "error"
    assert "VORDEFINIERT\\Administratoren holds every user allowed to connect" in out[0].summary


def test_brute_force_lists_one_client_once_in_its_details():
    """A 131 burst from 203.0.113.5 and a 4625 burst from ::ffff:203.0.113.5 are one client:
    details listed it twice (found by review). The summary shows each burst as logged."""
    conns = [_conn131(i * 0.5, port=52000 + i) for i in range(12)]
    fails = [ev(i * 0.2, "sec", 4625, ip=MAPPED, user=f"user{i}",
                data={"LogonType": "10", "Status": "0xC000006D", "IpAddress": MAPPED})
             for i in range(12)]
    (f,) = run("rdp-brute-force", conns + fails)
    assert f"4625 type-10 failures from {MAPPED}" in f.summary
    assert f"RdpCoreTS 131 TCP connections from {V4}" in f.summary
    assert f.details["addresses"] == [MAPPED] and f.details["users_tried"] == 12
    # two clients stay two
    other = [_conn131(i * 0.5, "198.51.100.7", 53000 + i) for i in range(12)]
    (f,) = run("rdp-brute-force", fails + other)
    assert f.details["addresses"] == ["198.51.100.7", MAPPED]
