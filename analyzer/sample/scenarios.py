"""The scenarios: one per finding id of ../shared/KNOWLEDGE.md Part A, plus healthy and noisy.

Each builder gets a seeded ``random.Random`` and returns the host(s) of its story. The
``expect`` set is every id Part A's rules produce on that bundle — the primary finding and
the ones it necessarily brings along (a port conflict also means TermService does not
listen, so ``listener-down``; a modern server with NLA required also yields the ``info``
``nla-required``). ``tolerate`` holds ids whose threshold Part A leaves to the detector
(e.g. how many TermDD 50 make a "burst"); ``forbid`` is every other id.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from . import evtwriter as EW
from . import evtxwriter as W
from .gpo import Gpo, GpReport, Policy, SecurityOption, UserRight
from .story import (CH_CORE, CH_RCM, CH_RCM_ADMIN, LSA, P_CORE, P_KP, P_PT, P_RCM, P_SCH, POL,
                    RDPTCP, TCPIP, TERMSVC, TS, Host, User, background, display_name,
                    WINLOGON, failed_logon, legacy_host, modern_host, rdp_logon, scm_state,
                    termdd_binary)
from .textfmt import REG_BINARY, REG_DWORD, REG_SZ, Socket

UTC = timezone.utc
MODERN_CAPTURE = datetime(2024, 2, 14, 15, 20, 7, tzinfo=UTC)
LEGACY_CAPTURE = datetime(2011, 2, 21, 15, 31, 44, tzinfo=UTC)

#: Finding ids of KNOWLEDGE.md Part A (kept in step by tests/test_sample.py).
FINDING_IDS = (
    "rdp-disabled", "connection-limit-policy", "connection-limit-reached",
    "admin-sessions-exhausted", "user-not-authorized", "host-sleeps", "port-conflict",
    "port-nondefault", "listener-down", "tls-requires-high-encryption",
    "tls-certificate-problem", "fips-overrides-encryption", "policy-overrides-local",
    "sessions-not-disconnecting", "snp-features-enabled", "certificate-corruption",
    "licensing-grace-expired", "license-server-unreachable", "license-issue-failed",
    "nla-required", "rdp-brute-force", "protocol-error-burst", "logons-disabled",
    "termservice-not-running",
)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    os: str
    hosts: tuple[str, ...]
    expect: frozenset[str]
    forbid: frozenset[str]
    build: Callable[[random.Random], list[Host]] = field(repr=False, compare=False)
    tolerate: frozenset[str] = frozenset()
    capture: datetime = MODERN_CAPTURE


SID = "S-1-5-21-1004336348-1177238915-682003330-"
ALICE = User("alice", "CONTOSO", SID + "1104", "10.20.30.41", "WS-ALICE")
BOB = User("bob", "CONTOSO", SID + "1107", "10.20.30.57", "WS-BOB")
CAROL = User("carol", "CONTOSO", SID + "1112", "10.20.31.9", "LT-CAROL")
DAVE = User("dave", "CONTOSO", SID + "1115", "10.20.31.22", "WS-DAVE")
ADMIN = User("Administrator", "CONTOSO", SID + "500", "10.20.0.40", "ADMIN-WS")

GPO_DEFAULT = Gpo("Default Domain Policy", "{31B2F340-016D-11D2-945F-00C04FB984F9}")
GPO_RDS = Gpo("RDS Session Hosts", "{6AC1786C-016F-11D2-945F-00C04FB984F9}")
GPO_HARDEN = Gpo("Server Hardening Baseline", "{8E2C4F1B-3D6A-4C55-9B71-2A4E0C9D7F13}")
CAT = "Windows Components/Remote Desktop Services/Remote Desktop Session Host/"

RDU = ("BUILTIN\\Remote Desktop Users", "S-1-5-32-555")
ADMINS = ("BUILTIN\\Administrators", "S-1-5-32-544")


def _gp(h: Host, gpos=(GPO_DEFAULT,), policies=(), rights=None, options=()) -> GpReport:
    if rights is None:
        rights = [UserRight(GPO_DEFAULT, "SeRemoteInteractiveLogonRight", [ADMINS, RDU])]
    r = GpReport(computer=f"{h.domain}\\{h.name}$", domain=h.dns_domain,
                 som=f"{h.dns_domain}/Servers/RDS", read_time=h.capture - timedelta(minutes=3),
                 gpos=list(gpos), policies=list(policies), rights=list(rights),
                 options=list(options))
    for pol in r.policies:
        for vname, num in pol.values:
            h.set(POL, vname, REG_DWORD if isinstance(num, int) else REG_SZ, num)
    h.gp = r
    return r


def _day(h: Host, users=(ALICE, BOB), *, active=(ALICE,), seed_hours=(26, 20, 6)) -> None:
    """Ordinary RDP use: earlier sessions that ended, and ``active`` users logged on now."""
    t = h.capture
    for i, u in enumerate(users):
        start = t - timedelta(hours=seed_hours[i % len(seed_hours)], minutes=h.rng.randrange(50))
        if start <= h.boot + timedelta(minutes=5):
            start = h.boot + timedelta(minutes=30 + 7 * i)
        rdp_logon(h, u, start, logoff=start + timedelta(hours=1, minutes=h.rng.randrange(40)))
    for j, u in enumerate(active):
        start = t - timedelta(hours=2, minutes=15 * j + h.rng.randrange(10))
        rdp_logon(h, u, start, disconnect=start + timedelta(minutes=40),
                  reconnect=start + timedelta(minutes=55))
    background(h)


def _modern(name: str, os: str, rng: random.Random, **kw) -> Host:
    return modern_host(name, os, MODERN_CAPTURE, rng, **kw)


def _legacy(name: str, rng: random.Random, **kw) -> Host:
    return legacy_host(name, LEGACY_CAPTURE, rng, **kw)


def _rdsh(h: Host, licensing=True) -> None:
    """Make ``h`` a Remote Desktop Session Host (not Remote Desktop for Administration)."""
    h.set(TS, "TSAppCompat", REG_DWORD, 1)
    h.set(TS + r"\RCM\Licensing Core", "LicensingMode", REG_DWORD, 4)
    if licensing:
        h.set(TERMSVC + r"\Parameters\LicenseServers", "SpecifiedLicenseServers", 7, ["LS01.contoso.com"])


# ----------------------------------------------------------------------------- 2003 stories


def healthy_2003(rng):
    h = _legacy("TS2003", rng)
    _legacy_day(h)
    _gp(h, policies=[Policy(GPO_DEFAULT, "Keep-Alive Connections", "Enabled",
                            "Windows Components/Terminal Services",
                            [("Numeric", "Keep-Alive interval:", 1)],
                            [("KeepAliveEnable", 1), ("KeepAliveInterval", 1)])])
    return [h]


def _legacy_day(h: Host, active=(ALICE,)):
    t = h.capture
    for i, u in enumerate((BOB, CAROL)):
        s = t - timedelta(hours=30 - 8 * i, minutes=h.rng.randrange(30))
        rdp_logon(h, u, s, logoff=s + timedelta(hours=2))
    for j, u in enumerate(active):
        s = t - timedelta(hours=3, minutes=20 * j)
        rdp_logon(h, u, s, disconnect=s + timedelta(minutes=50) if j else None)
    background(h, 12)


def admin_sessions_exhausted(rng):
    h = _legacy("TS2003ADM", rng)
    t = h.capture
    rdp_logon(h, ALICE, t - timedelta(hours=5))
    rdp_logon(h, BOB, t - timedelta(hours=4), disconnect=t - timedelta(hours=3, minutes=10))
    background(h, 12)
    _gp(h)
    return [h]


def snp_features_enabled(rng):
    h = _legacy("TS2003NET", rng)
    for n in ("EnableTCPChimney", "EnableRSS", "EnableTCPA"):
        h.set(TCPIP, n, REG_DWORD, 1)
    _legacy_day(h)
    _gp(h)
    return [h]


def certificate_corruption(rng):
    h = _legacy("TS2003CERT", rng)
    _legacy_day(h, active=())
    t = h.capture - timedelta(hours=20)
    for i in range(4):
        ts = t + timedelta(hours=4 * i, minutes=rng.randrange(30))
        h.evt("System", "TermDD", 50, ts, etype=EW.EVENTLOG_ERROR_TYPE, qualifiers=0xC00A,
              strings=("\\Device\\Termdd", "X.224"), data=termdd_binary(0xC00A0032))
        h.evt("System", "TermService", 1004, ts + timedelta(seconds=1),
              etype=EW.EVENTLOG_WARNING_TYPE, qualifiers=0x8000)
    _gp(h)
    return [h]


def licensing_grace_expired(rng):
    h = _legacy("TS2003LIC", rng)
    h.set(TS, "TSAppCompat", REG_DWORD, 1)
    _legacy_day(h, active=())
    for i in range(3):
        ts = h.boot + timedelta(hours=2 + 20 * i, minutes=rng.randrange(40))
        h.evt("System", "TermService", 1008, ts, etype=EW.EVENTLOG_WARNING_TYPE, qualifiers=0x8000)
    _gp(h)
    return [h]


# ----------------------------------------------------------------------------- modern stories


def healthy_2022(rng):
    h = _modern("TS22", "2022", rng)
    _rdsh(h)        # two users at once: a licensed session host, not admin mode (2 sessions)
    _day(h, (ALICE, BOB, CAROL), active=(ALICE, DAVE))
    _gp(h)
    return [h]


def noisy_but_fine(rng):
    h = _modern("TS22NOISY", "2022", rng)
    _day(h, (ALICE, BOB), active=(CAROL,))
    t = h.boot + timedelta(hours=1)
    scanners = ["198.51.100.23", "203.0.113.77", "192.0.2.140", "198.51.100.201"]
    while t < h.capture - timedelta(minutes=30):
        ip = rng.choice(scanners)
        h.ev("System", ("TermDD", None), 56, t, level=2, qualifiers=49162, keywords=0x80000000000000,
             data=[(None, "\\Device\\Termdd"), (None, ip)],
             binary=termdd_binary(0xC00A0038, 0xC0000184),   # (a probe hangs up first)
             pid=4, tid=rng.randrange(100, 900, 4))
        t += timedelta(hours=3, minutes=rng.randrange(0, 120))
    failed_logon(h, h.capture - timedelta(hours=7), "bob", "CONTOSO", BOB.ip, status=0xC000006D,
                 substatus=0xC000006A, reason="%%2313", client=BOB.client)
    _gp(h)
    return [h]


def rdp_disabled(rng):
    h = _modern("TS19OFF", "2019", rng)
    h.set(TS, "fDenyTSConnections", REG_DWORD, 1)
    h.logs.pop(CH_RCM, None)                 # no listener ever started
    h.sessions = [s for s in h.sessions if s.name != "rdp-tcp"]
    h.unlisten(3389)
    background(h)
    _gp(h)
    return [h]


def connection_limit_policy(rng):
    h = _modern("TS22LIM", "2022", rng)
    _rdsh(h)
    _day(h)
    _gp(h, gpos=(GPO_DEFAULT, GPO_RDS), policies=[
        Policy(GPO_RDS, "Limit number of connections", "Enabled", CAT + "Connections",
               [("Numeric", "RD Maximum Connections allowed", 5)], [("MaxInstanceCount", 5)])])
    h.gp_format = "html"
    return [h]


def connection_limit_reached(rng):
    h = _modern("TS16FULL", "2016", rng)
    _rdsh(h)
    _day(h, (CAROL,), active=(ALICE, BOB))
    t = h.capture - timedelta(minutes=25)
    for i in range(3):
        # the third user is turned away: connection accepted by TCP, no logon follows
        h.ev(CH_CORE, P_CORE, 131, t + timedelta(minutes=4 * i), pid=1184, user_sid="S-1-5-20",
             data=[("ConnType", "TCP"), ("ClientIP", f"[{DAVE.ip}]:{51000 + i}")])
        h.ev(CH_RCM, P_RCM, 261, t + timedelta(minutes=4 * i, milliseconds=12), pid=1184,
             user_sid="S-1-5-20", user_data=("EventXML", "Event_NS", [("listenerName", "RDP-Tcp")]))
    _gp(h, gpos=(GPO_DEFAULT, GPO_RDS), policies=[
        Policy(GPO_RDS, "Limit number of connections", "Enabled", CAT + "Connections",
               [("Numeric", "RD Maximum Connections allowed", 2)], [("MaxInstanceCount", 2)])])
    return [h]


def user_not_authorized(rng):
    h = _modern("TS19AUTH", "2019", rng)
    _day(h)
    for k in range(2):
        t = h.capture - timedelta(hours=1, minutes=30 - 12 * k)
        h.ev(CH_CORE, P_CORE, 131, t, pid=1184, user_sid="S-1-5-20",
             data=[("ConnType", "TCP"), ("ClientIP", f"[{DAVE.ip}]:{53100 + k}")])
        failed_logon(h, t + timedelta(seconds=2), "dave", "CONTOSO", DAVE.ip, status=0xC000015B,
                     substatus=0x0, reason="%%2308", logon_type=10, client=DAVE.client)
        h.ev("Security", ("Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-A5BA-3E3B0328C30D}"),
             4825, t + timedelta(seconds=2), level=0, task=12551, keywords=0x8010000000000000, pid=660,
             data=[("AccountName", "dave"), ("AccountDomain", "CONTOSO"),
                   ("LogonID", W.hex64(0x4D2E11 + k)), ("ClientAddress", DAVE.ip)])
    _gp(h, gpos=(GPO_DEFAULT, GPO_HARDEN),
        rights=[UserRight(GPO_HARDEN, "SeRemoteInteractiveLogonRight", [ADMINS])])
    h.gp_format = "html"
    return [h]


def host_sleeps(rng):
    h = _modern("TS22SLP", "2022", rng)
    _day(h)
    t = h.capture - timedelta(hours=20)
    for i in range(2):
        s = t + timedelta(hours=6 * i, minutes=rng.randrange(20))
        w = s + timedelta(hours=2, minutes=rng.randrange(50))
        h.ev("System", P_KP, 42, s, pid=4, task=64, keywords=0x8000000000000404,
             data=[("TargetState", W.u32(4)), ("EffectiveState", W.u32(4)),
                   ("Reason", W.u32(7)), ("Flags", W.u32(0)), ("TransitionsToOn", W.u32(2 + i))])
        h.ev("System", P_PT, 1, w + timedelta(seconds=20), pid=2312, user_sid="S-1-5-19",
             data=[("SleepTime", W.filetime(s + timedelta(seconds=1))),
                   ("WakeTime", W.filetime(w)), ("SleepDuration", W.u32(int((w - s).total_seconds() * 1000))),
                   ("WakeDuration", W.u32(912)), ("DriverInitDuration", W.u32(455)),
                   ("BiosInitDuration", W.u32(0)), ("HiberWriteDuration", W.u32(0)),
                   ("HiberReadDuration", W.u32(0)), ("HiberPagesWritten", W.u32(0)),
                   ("Attributes", W.u32(0)), ("TargetState", W.u32(4)),
                   ("EffectiveState", W.u32(4)), ("WakeSourceType", W.u32(1)),
                   ("WakeSourceTextLength", W.u32(12)), ("WakeSourceText", "Power Button"),
                   ("WakeTimerOwnerLength", W.u32(0)), ("WakeTimerContextLength", W.u32(0)),
                   ("NoMultiStageResumeReason", W.u32(0)), ("WakeTimerOwner", ""),
                   ("WakeTimerContext", "")])
    _gp(h)
    return [h]


def port_conflict(rng):
    h = _modern("TS22PORT", "2022", rng)
    _day(h, (BOB, CAROL), active=())
    h.unlisten(3389)
    vnc = h.proc("vncsrv.exe", ["RemoteAssistPro"], pid=2412)
    h.listen(3389, vnc.pid, "RemoteAssistPro")
    h.sockets.append(Socket("TCP", f"{h.ip}:3389", f"{ALICE.ip}:52211", "ESTABLISHED", vnc.pid,
                            "RemoteAssistPro"))
    h.sessions = [s for s in h.sessions if s.name != "rdp-tcp"]
    h.sessions.append(type(h.sessions[0])("rdp-tcp", "", 65536, "Down"))
    # after the last reboot: the vendor service starts first and takes the port
    t = h.capture - timedelta(hours=2, minutes=41)
    scm_state(h, t, "RemoteAssistPro Remote Control", "running", "RemoteAssistPro")
    scm_state(h, t + timedelta(seconds=9), display_name(h, "TermService"), "running", "TermService")
    h.ev(CH_RCM, P_RCM, 260, t + timedelta(seconds=11), level=2, pid=1184, user_sid="S-1-5-20",
         user_data=("EventXML", "Event_NS", [("listenerName", "RDP-Tcp"),
                                               ("errorCode", "0x80072740")]))
    h.ev(CH_RCM_ADMIN, P_RCM, 1036, t + timedelta(seconds=11), level=2, pid=1184, user_sid="S-1-5-20",
         user_data=("EventXML", "Event_NS", [("listenerName", "RDP-Tcp"),
                                               ("errorCode", "0x80072740")]))
    _gp(h)
    return [h]


def port_nondefault(rng):
    h = _modern("TS19DE", "2019", rng, locale="de", tz_offset=1, domain="FABRIKAM",
                dns="fabrikam.de", ip="10.40.0.21",
                tz_name="(UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien")
    h.set(RDPTCP, "PortNumber", REG_DWORD, 3390)
    h.unlisten(3389)
    h.listen(3390, 1184, "TermService", udp=True)
    h.artifacts.discard("qwinsta")
    users = [User(u.name, "FABRIKAM", u.sid, u.ip.replace("10.20.", "10.40."), u.client)
             for u in (ALICE, BOB)]
    _day(h, users, active=users[:1])
    for s in h.sockets:
        if s.local == f"{h.ip}:3389":
            s.local = f"{h.ip}:3390"
    _gp(h)
    return [h]


def listener_down(rng):
    h = _modern("TS22LSN", "2022", rng)
    _day(h, (ALICE, BOB), active=())
    h.set(RDPTCP, "LanAdapter", REG_DWORD, 2)     # bound to a NIC that was replaced
    h.unlisten(3389)
    h.sessions = [s for s in h.sessions if s.name != "rdp-tcp"]
    h.sessions.append(type(h.sessions[0])("rdp-tcp", "", 65536, "Down"))
    t = h.capture - timedelta(hours=1, minutes=5)
    h.ev(CH_RCM, P_RCM, 260, t, level=2, pid=1184, user_sid="S-1-5-20",
         user_data=("EventXML", "Event_NS", [("listenerName", "RDP-Tcp"),
                                               ("errorCode", "0x80072741")]))
    _gp(h)
    return [h]


def tls_requires_high(rng):
    # the article's rule is 2003's (SP1 brought the SSL layer); on 2008+ TLS works at
    # Client Compatible
    h = _legacy("TS2003TLS", rng)
    h.set(RDPTCP, "SecurityLayer", REG_DWORD, 2)
    h.set(RDPTCP, "MinEncryptionLevel", REG_DWORD, 2)
    _legacy_day(h)
    _gp(h)
    return [h]


def tls_certificate_problem(rng):
    h = _modern("TS19CRT", "2019", rng)
    h.set(RDPTCP, "SSLCertificateSHA1Hash", REG_BINARY, bytes(rng.randrange(256) for _ in range(20)))
    _day(h, (BOB,), active=())
    t = h.capture - timedelta(hours=9)
    for i in range(6):
        ts = t + timedelta(hours=1, minutes=25 * i + rng.randrange(10))
        u = (ALICE, CAROL)[i % 2]
        h.ev(CH_CORE, P_CORE, 131, ts, pid=1184, user_sid="S-1-5-20",
             data=[("ConnType", "TCP"), ("ClientIP", f"[{u.ip}]:{50200 + i}")])
        h.ev("System", P_SCH, 36870, ts + timedelta(milliseconds=40), level=2, pid=660,
             user_sid="S-1-5-18", keywords=0x8000000000000000,
             data=[("Type", "server"), ("ErrorCode", W.hex32(0x8009030D)), ("ErrorStatus", W.u32(10001))])
    _gp(h)
    return [h]


def fips_overrides(rng):
    h = _modern("TS16FIPS", "2016", rng)
    h.set(RDPTCP, "MinEncryptionLevel", REG_DWORD, 2)
    h.set(LSA + r"\FipsAlgorithmPolicy", "Enabled", REG_DWORD, 1)
    _day(h)
    _gp(h, gpos=(GPO_DEFAULT, GPO_HARDEN), options=[SecurityOption(
        GPO_HARDEN, "MACHINE\\System\\CurrentControlSet\\Control\\Lsa\\FIPSAlgorithmPolicy\\Enabled", 1,
        "System cryptography: Use FIPS compliant algorithms for encryption, hashing, and signing", True)])
    return [h]


def policy_overrides_local(rng):
    h = _modern("TS19GPO", "2019", rng)
    h.set(RDPTCP, "SecurityLayer", REG_DWORD, 0)
    h.set(RDPTCP, "MinEncryptionLevel", REG_DWORD, 2)
    _day(h)
    _gp(h, gpos=(GPO_DEFAULT, GPO_RDS), policies=[
        Policy(GPO_RDS, "Require use of specific security layer for remote (RDP) connections",
               "Enabled", CAT + "Security", [("DropDownList", "Security Layer", "SSL")],
               [("SecurityLayer", 2)]),
        Policy(GPO_RDS, "Set client connection encryption level", "Enabled", CAT + "Security",
               [("DropDownList", "Encryption Level", "High Level")], [("MinEncryptionLevel", 3)])])
    return [h]


def sessions_not_disconnecting(rng):
    h = _modern("TS12KA", "2012R2", rng)
    _rdsh(h)
    h.set(TS, "fSingleSessionPerUser", REG_DWORD, 0)
    _day(h, (BOB,), active=())
    # alice's laptop dropped off Wi-Fi twice: no disconnect was logged, she logged on anew
    for k in range(3):
        rdp_logon(h, ALICE, h.capture - timedelta(hours=6 - 2 * k, minutes=rng.randrange(20)))
    _gp(h)
    return [h]


def licensing_server_unreachable(rng):
    h = _modern("TS22LS", "2022", rng)
    _rdsh(h)
    _day(h)
    for i in range(4):
        ts = h.boot + timedelta(hours=1 + 18 * i, minutes=rng.randrange(30))
        h.ev(CH_RCM_ADMIN, P_RCM, 1131, ts, level=3, pid=1184, user_sid="S-1-5-20",
             user_data=("EventXML", "Event_NS", [("Param1", "LS01.contoso.com"),
                                                   ("Param2", "0x800706ba")]))
    _gp(h, gpos=(GPO_DEFAULT, GPO_RDS), policies=[
        Policy(GPO_RDS, "Use the specified Remote Desktop license servers", "Enabled",
               CAT + "Licensing", [("EditText", "License servers to use:", "LS01.contoso.com")],
               [("LicenseServers", "LS01.contoso.com")])])
    return [h]


def license_issue_failed(rng):
    h = _modern("TS16CAL", "2016", rng)
    _rdsh(h)
    _day(h)
    for i in range(3):
        ts = h.capture - timedelta(hours=8 - 3 * i)
        h.ev(CH_RCM_ADMIN, P_RCM, 1004, ts, level=2, pid=1184, user_sid="S-1-5-20",
             user_data=("EventXML", "Event_NS", [("Param1", CAROL.client)]))
    _gp(h)
    return [h]


def nla_required(rng):
    h = _modern("TS19NLA", "2019", rng)
    _day(h)
    failed_logon(h, h.capture - timedelta(hours=3), "carol", "CONTOSO", CAROL.ip,
                 status=0xC0000224, substatus=0x0, reason="%%2309", client=CAROL.client)
    _gp(h, gpos=(GPO_DEFAULT, GPO_RDS), policies=[
        Policy(GPO_RDS, "Require user authentication for remote connections by using Network "
               "Level Authentication", "Enabled", CAT + "Security", [], [("UserAuthentication", 1)])])
    return [h]


def rdp_brute_force(rng):
    h = _modern("TS22WEB", "2022", rng)
    _day(h)
    attacker = "185.220.101.47"
    t = h.capture - timedelta(hours=4, minutes=12)
    names = ["administrator", "admin", "user", "test", "scanner", "backup", "sql", "guest"]
    for i in range(60):
        ts = t + timedelta(seconds=6 * i + rng.randrange(4))
        port = 40000 + rng.randrange(20000)
        h.ev(CH_CORE, P_CORE, 131, ts, pid=1184, user_sid="S-1-5-20",
             data=[("ConnType", "TCP"), ("ClientIP", f"[{attacker}]:{port}")])
        h.ev(CH_CORE, P_CORE, 140, ts + timedelta(seconds=1), level=3, pid=1184,
             user_sid="S-1-5-20", data=[("IPString", attacker)])
        failed_logon(h, ts + timedelta(seconds=1), names[i % len(names)], "", attacker,
                     status=0xC000006D, substatus=0xC0000064, reason="%%2313", client="-")
    _gp(h)
    return [h]


def protocol_error_burst(rng):
    h = _modern("TS16PROTO", "2016", rng)
    _day(h)
    t = h.capture - timedelta(hours=2, minutes=30)
    for i in range(45):
        ts = t + timedelta(seconds=7 * i + rng.randrange(5))
        h.ev("System", ("TermDD", None), 56, ts, level=2, qualifiers=49162,
             keywords=0x80000000000000, data=[(None, "\\Device\\Termdd"), (None, "203.0.113.50")],
             binary=termdd_binary(0xC00A0038, 0xC0000184), pid=4, tid=rng.randrange(100, 900, 4))
    _gp(h)
    return [h]


def logons_disabled(rng):
    h = _modern("TS19DRAIN", "2019", rng)
    _rdsh(h)
    _day(h, (ALICE, BOB), active=(CAROL,))
    h.set(WINLOGON, "WinStationsDisabled", REG_SZ, "1")   # `chglogon /disable` (REG_SZ)
    t = h.capture - timedelta(hours=1, minutes=40)
    h.ev(CH_RCM_ADMIN, P_RCM, 1070, t, level=3, pid=1184, user_sid="S-1-5-20",
         user_data=("EventXML", "Event_NS", [("Param1", "dave")]))
    h.ev(CH_RCM_ADMIN, P_RCM, 1071, t + timedelta(minutes=22), level=3, pid=1184, user_sid="S-1-5-20",
         user_data=("EventXML", "Event_NS", [("Param1", "bob")]))
    _gp(h)
    return [h]


def termservice_not_running(rng):
    h = _modern("TS22SVC", "2022", rng)
    _day(h, (ALICE, BOB), active=())
    t = h.capture - timedelta(hours=5, minutes=8)
    scm_state(h, t, display_name(h, "TermService"), "stopped", "TermService")
    h.set(TERMSVC, "Start", REG_DWORD, 4)
    h.ev("System", ("Service Control Manager", "{555908D1-A6D7-4695-8E1E-26931D2012F4}"), 7040,
         t + timedelta(seconds=30), qualifiers=16384, keywords=0x8080000000000000,
         esn="Service Control Manager", pid=640, user_sid=ADMIN.sid,
         data=[("param1", display_name(h, "TermService")), ("param2", "demand start"),
               ("param3", "disabled"), ("param4", "TermService")])
    h.unlisten(3389)
    h.drop_service("TermService")
    h.sockets = [s for s in h.sockets if not s.local.endswith(":3389")]
    h.artifacts.discard("qwinsta")        # qwinsta needs TermService: it printed an RPC error
    _gp(h)
    return [h]


# ----------------------------------------------------------------------------- table

_NLA = frozenset({"nla-required"})


def _sc(name, description, os, hosts, build, expect=(), tolerate=(), modern=True):
    exp = frozenset(expect) | (_NLA if modern else frozenset())
    tol = frozenset(tolerate)
    return Scenario(name=name, description=description, os=os, hosts=tuple(hosts),
                    expect=exp, forbid=frozenset(FINDING_IDS) - exp - tol, build=build,
                    tolerate=tol, capture=MODERN_CAPTURE if modern else LEGACY_CAPTURE)


SCENARIO_LIST = [
    _sc("healthy-2003", "Windows Server 2003 SP2 in Remote Desktop for Administration mode, "
        "one admin logged on; nothing wrong.", "2003", ["TS2003"], healthy_2003, modern=False),
    _sc("healthy-2022", "Windows Server 2022 session host (per-user licensing, license server "
        "LS01), NLA + TLS + High encryption, two users working.",
        "2022", ["TS22"], healthy_2022),
    _sc("noisy-but-fine", "Healthy 2022 server facing the internet: TermDD 56 from scanners a "
        "few times a day and one mistyped password.", "2022", ["TS22NOISY"], noisy_but_fine),
    _sc("rdp-disabled", "fDenyTSConnections = 1: Remote Desktop switched off; no listener.",
        "2019", ["TS19OFF"], rdp_disabled, ["rdp-disabled", "listener-down"]),
    _sc("connection-limit-policy", "GPO 'Limit number of connections' = 5 on a session host.",
        "2022", ["TS22LIM"], connection_limit_policy,
        ["connection-limit-policy", "policy-overrides-local"]),
    _sc("connection-limit-reached", "GPO limits RDP to 2 connections, two users hold them, a "
        "third is turned away.", "2016", ["TS16FULL"], connection_limit_reached,
        ["connection-limit-reached", "connection-limit-policy", "policy-overrides-local"]),
    _sc("admin-sessions-exhausted", "2003 in Remote Administration mode with both remote "
        "admin sessions taken (one disconnected).", "2003", ["TS2003ADM"],
        admin_sessions_exhausted, ["admin-sessions-exhausted"], modern=False),
    _sc("user-not-authorized", "A hardening GPO leaves only Administrators in 'Allow log on "
        "through Remote Desktop Services'; dave gets 4825 / 4625 0xC000015B.", "2019",
        ["TS19AUTH"], user_not_authorized, ["user-not-authorized"]),
    _sc("host-sleeps", "The server goes to sleep (Kernel-Power 42) and is woken by its power "
        "button hours later.", "2022", ["TS22SLP"], host_sleeps, ["host-sleeps"]),
    _sc("port-conflict", "vncsrv.exe (service RemoteAssistPro, PID 2412) took TCP 3389 before "
        "TermService; the RDP listener is Down.", "2022", ["TS22PORT"], port_conflict,
        ["port-conflict", "listener-down"]),
    _sc("port-nondefault", "German 2019 server listening on TCP 3390 (PortNumber 0xd3e).",
        "2019", ["TS19DE"], port_nondefault, ["port-nondefault"]),
    _sc("listener-down", "RDP-Tcp bound to a replaced network adapter (LanAdapter = 2): the "
        "listener is Down, nothing listens on 3389.", "2022", ["TS22LSN"], listener_down,
        ["listener-down"]),
    _sc("tls-requires-high-encryption", "2003 SP2: SecurityLayer SSL with MinEncryptionLevel "
        "Client Compatible and FIPS off.", "2003", ["TS2003TLS"], tls_requires_high,
        ["tls-requires-high-encryption"], modern=False),
    _sc("tls-certificate-problem", "The configured RDP certificate's private key is unreadable: "
        "Schannel 36870 at every connection.", "2019", ["TS19CRT"], tls_certificate_problem,
        ["tls-certificate-problem"]),
    _sc("fips-overrides-encryption", "GPO enables the FIPS security option on a 2016 host.",
        "2016", ["TS16FIPS"], fips_overrides, ["fips-overrides-encryption"]),
    _sc("policy-overrides-local", "Local RDP-Tcp says RDP layer / Client Compatible; GPO "
        "enforces SSL / High.", "2019", ["TS19GPO"], policy_overrides_local,
        ["policy-overrides-local"]),
    _sc("sessions-not-disconnecting", "alice holds three Active sessions after her laptop "
        "dropped off the network; no keep-alive configured.", "2012R2", ["TS12KA"],
        sessions_not_disconnecting, ["sessions-not-disconnecting"]),
    _sc("snp-features-enabled", "2003 SP2 with TCP Chimney, RSS and NetDMA enabled "
        "(KB948496).", "2003", ["TS2003NET"], snp_features_enabled, ["snp-features-enabled"],
        modern=False),
    _sc("certificate-corruption", "2003: TermDD 50 'X.224' together with TermService 1004 — "
        "the corrupt Terminal Server certificate of KB2477023.", "2003", ["TS2003CERT"],
        certificate_corruption, ["certificate-corruption", "license-issue-failed"],
        tolerate=["protocol-error-burst"], modern=False),
    _sc("licensing-grace-expired", "2003 Terminal Server whose licensing grace period "
        "expired (TermService 1008).", "2003", ["TS2003LIC"], licensing_grace_expired,
        ["licensing-grace-expired"], modern=False),
    _sc("license-server-unreachable", "Session host cannot contact its license server "
        "LS01 (RCM 1131).", "2022", ["TS22LS"], licensing_server_unreachable,
        ["license-server-unreachable"]),
    _sc("license-issue-failed", "Session host cannot issue a client license (RCM 1004).",
        "2016", ["TS16CAL"], license_issue_failed, ["license-issue-failed"]),
    _sc("nla-required", "NLA enforced by GPO; a user whose password must change cannot log "
        "on.", "2019", ["TS19NLA"], nla_required, []),
    _sc("rdp-brute-force", "60 failed NLA logons from 185.220.101.47 within six minutes.",
        "2022", ["TS22WEB"], rdp_brute_force, ["rdp-brute-force"]),
    _sc("protocol-error-burst", "45 TermDD 56 from one client within six minutes.", "2016",
        ["TS16PROTO"], protocol_error_burst, ["protocol-error-burst"]),
    _sc("logons-disabled", "Server left in drain mode (chglogon /disable): RCM 1070/1071.",
        "2019", ["TS19DRAIN"], logons_disabled, ["logons-disabled"]),
    _sc("termservice-not-running", "Remote Desktop Services stopped and set to Disabled.",
        "2022", ["TS22SVC"], termservice_not_running,
        ["termservice-not-running", "listener-down"]),
]

SCENARIOS: dict[str, Scenario] = {s.name: s for s in SCENARIO_LIST}
