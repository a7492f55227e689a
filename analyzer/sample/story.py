"""One simulated server: its configuration, processes, sockets, sessions and event logs.

A :class:`Host` starts healthy for its Windows version (see :func:`modern_host` and
:func:`legacy_host`); scenarios then change it and add the events of their story through
the helpers here, so that every artifact agrees with every other: an RDP logon writes the
RdpCoreTS → RCM → Security → LSM chain with one client address and session id, a session in
``qwinsta`` has its logon in the Security log, a socket's PID is a process in ``tasklist``.
All randomness comes from the scenario's seeded ``random.Random``; no wall-clock time.

Event ids, providers and payload field names are those of ../shared/KNOWLEDGE.md Part B §1.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from . import evtwriter as EW
from . import evtxwriter as W
from .gpo import GpReport
from .textfmt import REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_SZ, Process, Session, Socket

P_SEC = ("Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-A5BA-3E3B0328C30D}")
P_LSM = ("Microsoft-Windows-TerminalServices-LocalSessionManager", "{5D896912-022D-40AA-A3A8-4FA5515C76D7}")
P_RCM = ("Microsoft-Windows-TerminalServices-RemoteConnectionManager", "{C76BAA63-AE81-421C-B425-340B4B24157F}")
P_CORE = ("Microsoft-Windows-RemoteDesktopServices-RdpCoreTS", "{1139C61B-B549-4251-8ED3-27250A1EDEC8}")
P_SCM = ("Service Control Manager", "{555908D1-A6D7-4695-8E1E-26931D2012F4}")
P_KP = ("Microsoft-Windows-Kernel-Power", "{331C3B3A-2005-44C2-AC5E-77220C37D6B4}")
P_PT = ("Microsoft-Windows-Power-Troubleshooter", "{CDC05E28-C449-49C6-B9D2-88CF761644DF}")
P_SCH = ("Schannel", "{1F678132-5938-4686-9FDC-C8FF68F15C85}")
P_KG = ("Microsoft-Windows-Kernel-General", "{A68CA8B7-004F-D7B6-A698-07E2DE0F1F5D}")
P_TIME = ("Microsoft-Windows-Time-Service", "{06EDCFEB-0FD0-4E53-ACCA-A6F8BBF81BCB}")

CH_LSM = "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"
CH_RCM = "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational"
CH_RCM_ADMIN = "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Admin"
CH_CORE = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational"

TS = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server"
RDPTCP = TS + r"\WinStations\RDP-Tcp"
POL = r"HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services"
TERMSVC = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\TermService"
TCPIP = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters"
LSA = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Lsa"
WINLOGON = r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon"

UTC = timezone.utc


#: TermDD ``Binary``: the IO_ERROR_LOG_PACKET, event status at 0x0C, underlying error last
termdd_binary = EW.termdd_binary


@dataclass
class User:
    name: str
    domain: str
    sid: str
    ip: str
    client: str                     # client computer name (4778 ClientName)


@dataclass
class Host:
    name: str
    os: str                         # "2003", "2008R2", "2012R2", "2016", "2019", "2022"
    domain: str                     # NetBIOS, e.g. CONTOSO
    dns_domain: str
    ip: str
    capture: datetime               # UTC time the customer collected the bundle
    boot: datetime
    tz_offset: int                  # hours; scenarios use February dates (no DST)
    tz_name: str
    rng: random.Random
    locale: str = "en"
    reg: dict[str, dict[str | None, tuple[int, Any]]] = field(default_factory=dict)
    procs: list[Process] = field(default_factory=list)
    sockets: list[Socket] = field(default_factory=list)
    sessions: list[Session] | None = field(default_factory=list)
    gp: GpReport | None = None
    gp_format: str = "xml"          # xml (gpresult /x) or html (gpresult /h)
    logs: dict[str, list] = field(default_factory=dict)   # log name -> Event / EvtRecord
    artifacts: set[str] = field(default_factory=lambda: {"netstat", "tasklist", "qwinsta",
                                                         "systeminfo", "reg", "gpresult"})
    next_session: int = 2
    next_logon_id: int = 0x3A1F20
    _pids: set[int] = field(default_factory=set)

    @property
    def legacy(self) -> bool:
        return self.os == "2003"

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{self.dns_domain}"

    # -- registry
    def set(self, key: str, name: str | None, typ: int, value: Any) -> None:
        self.reg.setdefault(key, {})[name] = (typ, value)

    def unset(self, key: str, name: str) -> None:
        self.reg.get(key, {}).pop(name, None)

    # -- processes
    def pid(self) -> int:
        while True:
            p = self.rng.randrange(1000, 9000, 4)
            if p not in self._pids:
                self._pids.add(p)
                return p

    def proc(self, image: str, services: list[str] | None = None, pid: int | None = None,
             session: int = 0) -> Process:
        p = Process(image, pid if pid is not None else self.pid(), list(services or []),
                    "Services" if session == 0 else "RDP-Tcp#%d" % session, session)
        self._pids.add(p.pid)
        self.procs.append(p)
        return p

    def proc_of(self, service: str) -> Process | None:
        return next((p for p in self.procs if service in p.services), None)

    def drop_service(self, service: str) -> None:
        p = self.proc_of(service)
        if p is not None:
            p.services.remove(service)
            if not p.services:
                self.procs.remove(p)

    def listen(self, port: int, pid: int, service: str | None = None, udp: bool = False,
               v6: bool = True) -> None:
        self.sockets.append(Socket("TCP", f"0.0.0.0:{port}", "0.0.0.0:0", "LISTENING", pid, service))
        if v6 and not self.legacy:
            self.sockets.append(Socket("TCP", f"[::]:{port}", "[::]:0", "LISTENING", pid, service))
        if udp:
            self.sockets.append(Socket("UDP", f"0.0.0.0:{port}", "*:*", "", pid, service))

    def unlisten(self, port: int) -> None:
        self.sockets = [s for s in self.sockets if not s.local.endswith(f":{port}")]

    def sorted_sockets(self) -> list[Socket]:
        def key(s: Socket):
            v6 = s.local.startswith("[")
            host, _, port = s.local.rpartition(":")
            return (s.proto != "TCP", v6, host != "0.0.0.0" and host != "[::]", host, int(port))
        return sorted(self.sockets, key=key)

    # -- events
    def log(self, name: str, ev) -> None:
        self.logs.setdefault(name, []).append(ev)

    def ev(self, channel: str, provider: tuple[str, str | None], eid: int, t: datetime, *,
           level: int = 4, data=None, user_data=None, binary=None, qualifiers=None,
           user_sid=None, task=0, opcode=0, keywords=0x8000000000000000, version=0,
           pid=None, tid=None, esn=None, log: str | None = None) -> None:
        """A modern (.evtx) event; ``log`` defaults to the channel."""
        self.log(log or channel, W.Event(
            provider=provider[0], provider_guid=provider[1], event_source_name=esn,
            event_id=eid, time=t, channel=channel, computer=self.fqdn, level=level,
            qualifiers=qualifiers, version=version, task=task, opcode=opcode,
            keywords=keywords, process_id=pid if pid is not None else self.rng.choice((4, 640, 1184, 1012)),
            thread_id=tid if tid is not None else self.rng.randrange(100, 9000, 4),
            user_sid=user_sid, data=list(data or []), binary=binary, user_data=user_data))

    def evt(self, log: str, source: str, eid: int, t: datetime, *, etype: int = EW.EVENTLOG_INFORMATION_TYPE,
            strings=(), data: bytes = b"", qualifiers: int | None = None, sid: str | None = None,
            category: int = 0) -> None:
        """A Windows Server 2003 (.evt) record."""
        self.log(log, EW.EvtRecord(source=source, computer=self.name, event_id=eid,
                                   time_generated=t, qualifiers=qualifiers, event_type=etype,
                                   category=category, sid=sid, strings=tuple(strings), data=data))

    def logon_id(self) -> int:
        self.next_logon_id += self.rng.randrange(0x100, 0x4000)
        return self.next_logon_id


# ----------------------------------------------------------------------------- baselines


def _base(name, os, capture, rng, *, domain="CONTOSO", dns="contoso.com", ip="10.20.0.15",
          tz_offset=-5, tz_name=None, uptime_days=3.3, locale="en") -> Host:
    boot = capture - timedelta(days=uptime_days, minutes=rng.randrange(0, 600))
    boot = boot.replace(microsecond=0)
    if tz_name is None:
        tz_name = ("(GMT-05:00) Eastern Time (US & Canada)" if os == "2003"
                   else "(UTC-05:00) Eastern Time (US & Canada)")
    return Host(name=name, os=os, domain=domain, dns_domain=dns, ip=ip, capture=capture,
                boot=boot, tz_offset=tz_offset, tz_name=tz_name, rng=rng, locale=locale)


OS_NAMES = {
    "2003": ("Microsoft(R) Windows(R) Server 2003, Standard Edition", "5.2.3790 Service Pack 2 Build 3790"),
    "2008R2": ("Microsoft Windows Server 2008 R2 Standard ", "6.1.7601 Service Pack 1 Build 7601"),
    "2012R2": ("Microsoft Windows Server 2012 R2 Standard", "6.3.9600 N/A Build 9600"),
    "2016": ("Microsoft Windows Server 2016 Standard", "10.0.14393 N/A Build 14393"),
    "2019": ("Microsoft Windows Server 2019 Standard", "10.0.17763 N/A Build 17763"),
    "2022": ("Microsoft Windows Server 2022 Standard", "10.0.20348 N/A Build 20348"),
}


def modern_host(name: str, os: str, capture: datetime, rng: random.Random, **kw) -> Host:
    """A healthy 2008 R2 – 2022 server: RDP enabled, NLA on, High encryption, TLS layer."""
    h = _base(name, os, capture, rng, **kw)
    h._pids.update({0, 4})
    for img, svcs, pid in [
            ("System Idle Process", [], 0), ("System", [], 4), ("Registry", [], 92),
            ("smss.exe", [], 316), ("csrss.exe", [], 424), ("wininit.exe", [], 500),
            ("csrss.exe", [], 508), ("winlogon.exe", [], 568), ("services.exe", [], 640),
            ("lsass.exe", ["KeyIso", "Netlogon", "SamSs", "VaultSvc"], 660),
            ("svchost.exe", ["BrokerInfrastructure", "DcomLaunch", "PlugPlay", "Power",
                             "SystemEventsBroker"], 780),
            ("svchost.exe", ["RpcEptMapper", "RpcSs"], 832),
            ("svchost.exe", ["LSM"], 1012), ("svchost.exe", ["TermService"], 1184),
            ("svchost.exe", ["SessionEnv"], 1236), ("svchost.exe", ["UmRdpService"], 1320),
            ("svchost.exe", ["EventLog"], 1400), ("svchost.exe", ["Dhcp"], 1460),
            ("svchost.exe", ["Dnscache"], 1532), ("svchost.exe", ["LanmanWorkstation"], 1588),
            ("svchost.exe", ["Schedule"], 1644), ("svchost.exe", ["W32Time"], 1720),
            ("svchost.exe", ["Winmgmt"], 1796), ("svchost.exe", ["iphlpsvc"], 1852),
            ("svchost.exe", ["LanmanServer"], 1908), ("spoolsv.exe", ["Spooler"], 2052),
            ("svchost.exe", ["WinRM"], 2136), ("vmtoolsd.exe", ["VMTools"], 2260),
            ("MsMpEng.exe", ["WinDefend"], 2344), ("dwm.exe", [], 3012),
            ("LogonUI.exe", [], 3080)]:
        h.proc(img, svcs, pid)
    h.listen(135, 832, "RpcSs")
    h.listen(445, 4)
    h.listen(3389, 1184, "TermService", udp=True)
    h.listen(5985, 4)
    h.listen(47001, 4)
    for port, pid, svc in ((49664, 660, None), (49665, 500, None), (49666, 1400, "EventLog"),
                           (49667, 1644, "Schedule"), (49668, 660, None), (49669, 640, None)):
        h.listen(port, pid, svc)
    h.sockets.append(Socket("TCP", f"{h.ip}:139", "0.0.0.0:0", "LISTENING", 4))
    h.sockets.append(Socket("UDP", "0.0.0.0:123", "*:*", "", 1720, "W32Time"))
    h.sockets.append(Socket("UDP", "0.0.0.0:5353", "*:*", "", 1532, "Dnscache"))
    h.sockets.append(Socket("TCP", f"{h.ip}:49712", "10.20.0.5:445", "ESTABLISHED", 4))
    h.sockets.append(Socket("TCP", f"{h.ip}:49810", "10.20.0.5:389", "ESTABLISHED", 660))
    h.sessions = [Session("services", "", 0, "Disc"), Session("console", "", 1, "Conn"),
                  Session("rdp-tcp", "", 65536, "Listen")]
    # registry (TS key tree as reg export of Terminal Server)
    h.set(TS, "AllowRemoteRPC", REG_DWORD, 0)
    h.set(TS, "DelayConMgrTimeout", REG_DWORD, 0)
    h.set(TS, "fDenyTSConnections", REG_DWORD, 0)
    h.set(TS, "fSingleSessionPerUser", REG_DWORD, 1)
    h.set(TS, "GlassSessionId", REG_DWORD, 1)
    h.set(TS, "ProductVersion", REG_SZ, "5.1")
    h.set(TS, "RCDependentServices", REG_MULTI_SZ, ["CertPropSvc", "SessionEnv"])
    h.set(TS, "SnapshotMonitors", REG_SZ, "1")
    h.set(TS, "TSUserEnabled", REG_DWORD, 0)
    h.set(TS, "TSAppCompat", REG_DWORD, 0)
    h.set(TS + r"\RCM\Licensing Core", "EnableConcurrentSessions", REG_DWORD, 0)
    h.set(TS + r"\Wds\rdpwd", "StartupPrograms", REG_SZ, "rdpclip")
    h.set(TS + r"\Wds\rdpwd\Tds\tcp", "PortNumber", REG_DWORD, 3389)
    h.set(TS + r"\WinStations", "SelfSignedCertStore", REG_SZ, "Remote Desktop")
    h.set(TS + r"\WinStations", "SelfSignedCertificate", REG_BINARY, bytes(rng.randrange(256) for _ in range(20)))
    for n, t, v in [("Comment", REG_SZ, ""), ("fEnableWinStation", REG_DWORD, 1),
                    ("MaxInstanceCount", REG_DWORD, 0xFFFFFFFF), ("PdName", REG_SZ, "tcp"),
                    ("PdClass", REG_DWORD, 2), ("PortNumber", REG_DWORD, 3389),
                    ("LanAdapter", REG_DWORD, 0), ("fInheritMaxSessionTime", REG_DWORD, 1),
                    ("fInheritMaxDisconnectionTime", REG_DWORD, 1),
                    ("fInheritMaxIdleTime", REG_DWORD, 1), ("fResetBroken", REG_DWORD, 0),
                    ("MaxConnectionTime", REG_DWORD, 0), ("MaxDisconnectionTime", REG_DWORD, 0),
                    ("MaxIdleTime", REG_DWORD, 0), ("SecurityLayer", REG_DWORD, 2),
                    ("MinEncryptionLevel", REG_DWORD, 3), ("UserAuthentication", REG_DWORD, 1),
                    ("LoadableProtocol_Object", REG_SZ, "{5828227c-20cf-4408-b73f-73ab70b8849f}"),
                    ("WdDLL", REG_SZ, "rdpwd"), ("WdName", REG_SZ, "Microsoft RDP 8.0"),
                    ("WdPrefix", REG_SZ, "RDP"), ("WFProfilePath", REG_SZ, ""),
                    ("Username", REG_SZ, ""), ("Domain", REG_SZ, ""), ("Password", REG_SZ, "")]:
        h.set(RDPTCP, n, t, v)
    h.set(TERMSVC, "DisplayName", REG_SZ, "@%SystemRoot%\\System32\\termsrv.dll,-268")
    h.set(TERMSVC, "ImagePath", REG_EXPAND_SZ, "%SystemRoot%\\System32\\svchost.exe -k NetworkService")
    h.set(TERMSVC, "ObjectName", REG_SZ, "NT Authority\\NetworkService")
    h.set(TERMSVC, "Start", REG_DWORD, 3)
    h.set(TERMSVC, "Type", REG_DWORD, 0x20)
    h.set(TERMSVC, "DependOnService", REG_MULTI_SZ, ["RPCSS"])
    h.set(LSA + r"\FipsAlgorithmPolicy", "Enabled", REG_DWORD, 0)
    _modern_boot(h)
    return h


def _modern_boot(h: Host) -> None:
    t = h.boot
    h.ev("System", P_KG, 12, t, data=[("MajorVersion", W.u32(10)), ("MinorVersion", W.u32(0)),
                                      ("BuildVersion", W.u32(20348)), ("StartTime", W.filetime(t))],
         pid=4, tid=8)
    h.ev("System", ("EventLog", None), 6005, t + timedelta(seconds=41), qualifiers=32768,
         keywords=0x80000000000000, data=[(None, "")], binary=b"", pid=4, tid=8)
    for i, (svc, disp) in enumerate((("TermService", display_name(h, "TermService")),
                                     ("SessionEnv", "Remote Desktop Configuration"),
                                     ("UmRdpService", "Remote Desktop Services UserMode Port Redirector"))):
        scm_state(h, t + timedelta(seconds=52 + i), disp, "running", svc)
    h.ev(CH_RCM, P_RCM, 258, t + timedelta(seconds=55), task=0, pid=1184,
         user_data=("EventXML", "Event_NS", [("listenerName", "RDP-Tcp")]), user_sid="S-1-5-20")
    # MSRD-Collect exports RCM's Admin log too; on a healthy server it holds nothing
    h.logs.setdefault(CH_RCM_ADMIN, [])
    d = t + timedelta(hours=12)
    while d < h.capture:
        h.ev("System", ("EventLog", None), 6013, d, qualifiers=32768, keywords=0x80000000000000,
             data=[(None, ""), (None, ""), (None, ""), (None, ""), (None, str(int((d - h.boot).total_seconds()))),
                   (None, "60"), (None, "300 Eastern Standard Time")], binary=b"", pid=4, tid=8)
        if d + timedelta(minutes=17) < h.capture:
            h.ev("System", P_TIME, 37, d + timedelta(minutes=17), level=4,
                 data=[("TimeSource", "DC01.contoso.com (ntp.d|0.0.0.0:123->10.20.0.5:123)")],
                 pid=1720)
        d += timedelta(hours=24)


def display_name(h: Host, service: str) -> str:
    if service == "TermService":
        return "Terminal Services" if h.os in ("2003",) else "Remote Desktop Services"
    return service


def scm_state(h: Host, t: datetime, display: str, state: str, key: str | None = None) -> None:
    """Service Control Manager 7036 (param1 display name, param2 state word; Binary = the
    service key name in UTF-16LE, as Windows logs it)."""
    if h.legacy:
        h.evt("System", "Service Control Manager", 7036, t, qualifiers=0x4000,
              strings=(display, state))
        return
    key = key or display.replace(" ", "")
    h.ev("System", P_SCM, 7036, t, qualifiers=16384, keywords=0x8080000000000000, esn=P_SCM[0],
         data=[("param1", display), ("param2", state)],
         binary=(key + "/" + ("4" if state == "running" else "1")).encode("utf-16-le") + b"\x00\x00",
         pid=640)


def legacy_host(name: str, capture: datetime, rng: random.Random, **kw) -> Host:
    """A healthy Windows Server 2003 SP2 in Remote Desktop for Administration mode."""
    h = _base(name, "2003", capture, rng, **kw)
    h.artifacts = {"netstat", "tasklist", "qwinsta", "systeminfo", "reg", "gpresult", "powercfg"}
    h._pids.update({0, 4})
    for img, svcs, pid in [
            ("System Idle Process", [], 0), ("System", [], 4), ("smss.exe", [], 368),
            ("csrss.exe", [], 416), ("winlogon.exe", [], 440),
            ("services.exe", ["Eventlog", "PlugPlay"], 488),
            ("lsass.exe", ["HTTPFilter", "Netlogon", "PolicyAgent", "ProtectedStorage", "SamSs"], 500),
            ("svchost.exe", ["DcomLaunch", "TermService"], 676), ("svchost.exe", ["RpcSs"], 736),
            ("svchost.exe", ["Dhcp", "Dnscache"], 800),
            ("svchost.exe", ["LmHosts", "W32Time"], 824),
            ("svchost.exe", ["AeLookupSvc", "AudioSrv", "BITS", "Browser", "CryptSvc",
                             "dmserver", "EventSystem", "helpsvc", "lanmanserver",
                             "lanmanworkstation", "Netman", "Nla", "RasMan", "Schedule",
                             "seclogon", "SENS", "SharedAccess", "ShellHWDetection",
                             "TrkWks", "winmgmt", "wuauserv", "WZCSVC"], 852),
            ("spoolsv.exe", ["Spooler"], 1100), ("msdtc.exe", ["MSDTC"], 1124),
            ("VMwareService.exe", ["VMTools"], 1580), ("wmiprvse.exe", [], 1848),
            ("explorer.exe", [], 2004), ("VMwareTray.exe", [], 2040)]:
        h.proc(img, svcs, pid)
    h.listen(135, 736)
    h.listen(445, 4)
    h.listen(1025, 500)
    h.listen(3389, 676)
    h.sockets.append(Socket("TCP", f"{h.ip}:139", "0.0.0.0:0", "LISTENING", 4))
    h.sockets.append(Socket("UDP", "0.0.0.0:445", "*:*", "", 4))
    h.sockets.append(Socket("UDP", "0.0.0.0:500", "*:*", "", 500))
    h.sockets.append(Socket("UDP", f"{h.ip}:123", "*:*", "", 824))
    h.sockets.append(Socket("TCP", f"{h.ip}:1042", "10.20.0.5:389", "ESTABLISHED", 500))
    h.sessions = [Session("console", "", 0, "Conn", "wdcon"),
                  Session("rdp-tcp", "", 65536, "Listen", "rdpwd")]
    h.set(TS, "fDenyTSConnections", REG_DWORD, 0)
    h.set(TS, "TSAppCompat", REG_DWORD, 0)
    h.set(TS, "TSEnabled", REG_DWORD, 1)
    h.set(TS, "TSUserEnabled", REG_DWORD, 0)
    h.set(TS, "ProductVersion", REG_SZ, "5.2")
    h.set(TS, "IdleWinStationPoolCount", REG_DWORD, 2)
    h.set(TS + r"\Wds\rdpwd", "StartupPrograms", REG_SZ, "rdpclip")
    h.set(TS + r"\Wds\rdpwd\Tds\tcp", "PortNumber", REG_DWORD, 3389)
    for n, t, v in [("Comment", REG_SZ, ""), ("fEnableWinStation", REG_DWORD, 1),
                    ("MaxInstanceCount", REG_DWORD, 0xFFFFFFFF), ("PdName", REG_SZ, "tcp"),
                    ("PortNumber", REG_DWORD, 3389), ("LanAdapter", REG_DWORD, 0),
                    ("MinEncryptionLevel", REG_DWORD, 2), ("SecurityLayer", REG_DWORD, 0),
                    ("fInheritMaxIdleTime", REG_DWORD, 1), ("MaxIdleTime", REG_DWORD, 0),
                    ("WdDLL", REG_SZ, "rdpwd"), ("WdName", REG_SZ, "Microsoft RDP 5.2"),
                    ("WdPrefix", REG_SZ, "RDP")]:
        h.set(RDPTCP, n, t, v)
    h.set(TERMSVC, "DisplayName", REG_SZ, "Terminal Services")
    h.set(TERMSVC, "ImagePath", REG_EXPAND_SZ, "%SystemRoot%\\System32\\svchost -k DComLaunch")
    h.set(TERMSVC, "Start", REG_DWORD, 3)
    h.set(TERMSVC, "DependOnService", REG_MULTI_SZ, ["RPCSS"])
    h.set(TERMSVC + r"\Parameters", "ServiceDll", REG_EXPAND_SZ, "%SystemRoot%\\System32\\termsrv.dll")
    for n, size in (("Certificate", 184), ("X509 Certificate", 1066), ("X509 Certificate ID", 20)):
        h.set(TERMSVC + r"\Parameters", n, REG_BINARY, bytes(rng.randrange(256) for _ in range(size)))
    for n in ("EnableTCPChimney", "EnableRSS", "EnableTCPA"):
        h.set(TCPIP, n, REG_DWORD, 0)
    h.set(TCPIP, "Hostname", REG_SZ, h.name)
    h.set(TCPIP, "Domain", REG_SZ, h.dns_domain)
    h.set(LSA, "FIPSAlgorithmPolicy", REG_DWORD, 0)
    h.set(LSA, "LimitBlankPasswordUse", REG_DWORD, 1)
    # `change logon /disable` keeps its state here (REG_SZ); 2003 logs no event for it
    for n, v in (("AutoAdminLogon", "0"), ("DefaultDomainName", h.domain),
                 ("DefaultUserName", "Administrator"), ("Shell", "Explorer.exe"),
                 ("Userinit", "C:\\WINDOWS\\system32\\userinit.exe,"),
                 ("WinStationsDisabled", "0")):
        h.set(WINLOGON, n, REG_SZ, v)
    # boot events (.evt)
    t = h.boot
    h.evt("System", "EventLog", 6009, t, qualifiers=0x8000,
          strings=("5.02.", "3790", "Service Pack 2", "Uniprocessor Free"))
    h.evt("System", "EventLog", 6005, t + timedelta(seconds=1), qualifiers=0x8000)
    scm_state(h, t + timedelta(seconds=30), "Terminal Services", "running")
    h.evt("Application", "LoadPerf", 1000, t + timedelta(seconds=80), qualifiers=0x4000,
          strings=("RSVP", "QoS RSVP"))
    d = t + timedelta(hours=12)
    while d < h.capture:
        h.evt("System", "EventLog", 6013, d, qualifiers=0x8000,
              strings=("", "", "", "", str(int((d - h.boot).total_seconds())), "60",
                       "300 Eastern Standard Time"))
        if d + timedelta(minutes=17) < h.capture:
            h.evt("System", "W32Time", 35, d + timedelta(minutes=17), qualifiers=0x4000,
                  strings=("DC01.contoso.com (ntp.d|10.20.0.15:123->10.20.0.5:123)",))
        d += timedelta(hours=24)
    return h


# ----------------------------------------------------------------------------- RDP activity

_SEC_KW_OK, _SEC_KW_FAIL = 0x8020000000000000, 0x8010000000000000


def rdp_logon(h: Host, u: User, t: datetime, *, disconnect: datetime | None = None,
              logoff: datetime | None = None, reconnect: datetime | None = None,
              port: int | None = None) -> int:
    """A complete RDP logon (and optionally disconnect / reconnect / logoff). Returns the session id."""
    sid_no = h.next_session
    h.next_session += 1
    port = port or (h.rng.randrange(1025, 5000) if h.legacy else h.rng.randrange(49152, 65000))
    lid = h.logon_id()
    if h.legacy:
        _legacy_logon(h, u, t, sid_no, lid, port, disconnect, reconnect, logoff)
        return sid_no
    full = f"{u.domain}\\{u.name}"
    if h.os not in ("2008R2",):
        h.ev(CH_CORE, P_CORE, 131, t, pid=1184, user_sid="S-1-5-20",
             data=[("ConnType", "TCP"), ("ClientIP", f"[{u.ip}]:{port}")])
    h.ev(CH_RCM, P_RCM, 261, t + timedelta(milliseconds=15), pid=1184, user_sid="S-1-5-20",
         user_data=("EventXML", "Event_NS", [("listenerName", "RDP-Tcp")]))
    nla = lid - 0x40
    security_4624(h, t + timedelta(seconds=1), u, nla, logon_type=3, port=0,
                  process=("-", 0), lpn="NtLmSsp ", auth="NTLM")
    security_4634(h, t + timedelta(seconds=1, milliseconds=500), u, nla, 3)
    h.ev(CH_RCM, P_RCM, 1149, t + timedelta(seconds=2), pid=1184, user_sid="S-1-5-20",
         user_data=("EventXML", "Event_NS", [("Param1", u.name), ("Param2", u.domain),
                                               ("Param3", u.ip)]))
    h.ev(CH_LSM, P_LSM, 41, t + timedelta(seconds=3), pid=1012, user_sid="S-1-5-18",
         user_data=("EventXML", "Event_NS", [("User", full), ("SessionID", str(sid_no))]))
    security_4624(h, t + timedelta(seconds=4), u, lid, logon_type=10, port=0,
                  process=("C:\\Windows\\System32\\svchost.exe", 0x49c), lpn="User32 ",
                  auth="Negotiate", elevated=True)
    h.ev("Security", P_SEC, 4672, t + timedelta(seconds=4), level=0, task=12548,
         keywords=_SEC_KW_OK, pid=660,
         data=[("SubjectUserSid", W.sid(u.sid)), ("SubjectUserName", u.name),
               ("SubjectDomainName", u.domain), ("SubjectLogonId", W.hex64(lid)),
               ("PrivilegeList", "SeSecurityPrivilege\r\n\t\t\tSeBackupPrivilege\r\n\t\t\tSeRestorePrivilege")])
    for eid, dt in ((21, 5), (22, 6)):
        h.ev(CH_LSM, P_LSM, eid, t + timedelta(seconds=dt), pid=1012, user_sid="S-1-5-18",
             user_data=("EventXML", "Event_NS", [("User", full), ("SessionID", str(sid_no)),
                                                   ("Address", u.ip)]))
    h.ev(CH_LSM, P_LSM, 42, t + timedelta(seconds=6), pid=1012, user_sid="S-1-5-18",
         user_data=("EventXML", "Event_NS", [("User", full), ("SessionID", str(sid_no))]))
    if disconnect is not None:
        h.ev(CH_LSM, P_LSM, 40, disconnect, pid=1012, user_sid="S-1-5-18",
             user_data=("EventXML", "Event_NS", [("Session", str(sid_no)), ("Reason", "0")]))
        h.ev(CH_LSM, P_LSM, 24, disconnect + timedelta(milliseconds=200), pid=1012,
             user_sid="S-1-5-18", user_data=("EventXML", "Event_NS", [
                 ("User", full), ("SessionID", str(sid_no)), ("Address", u.ip)]))
        _window_station(h, 4779, disconnect + timedelta(milliseconds=300), u, lid, sid_no)
    if reconnect is not None:
        if h.os not in ("2008R2",):
            h.ev(CH_CORE, P_CORE, 131, reconnect, pid=1184, user_sid="S-1-5-20",
                 data=[("ConnType", "TCP"), ("ClientIP", f"[{u.ip}]:{port + 7}")])
        h.ev(CH_RCM, P_RCM, 261, reconnect + timedelta(milliseconds=10), pid=1184,
             user_sid="S-1-5-20", user_data=("EventXML", "Event_NS", [("listenerName", "RDP-Tcp")]))
        h.ev(CH_RCM, P_RCM, 1149, reconnect + timedelta(seconds=2), pid=1184, user_sid="S-1-5-20",
             user_data=("EventXML", "Event_NS", [("Param1", u.name), ("Param2", u.domain),
                                                   ("Param3", u.ip)]))
        h.ev(CH_LSM, P_LSM, 25, reconnect + timedelta(seconds=3), pid=1012, user_sid="S-1-5-18",
             user_data=("EventXML", "Event_NS", [("User", full), ("SessionID", str(sid_no)),
                                                   ("Address", u.ip)]))
        _window_station(h, 4778, reconnect + timedelta(seconds=3), u, lid, sid_no)
    if logoff is not None:
        h.ev("Security", P_SEC, 4647, logoff, level=0, task=12545, keywords=_SEC_KW_OK, pid=660,
             data=[("TargetUserSid", W.sid(u.sid)), ("TargetUserName", u.name),
                   ("TargetDomainName", u.domain), ("TargetLogonId", W.hex64(lid))])
        h.ev(CH_LSM, P_LSM, 23, logoff + timedelta(seconds=2), pid=1012, user_sid="S-1-5-18",
             user_data=("EventXML", "Event_NS", [("User", full), ("SessionID", str(sid_no))]))
        security_4634(h, logoff + timedelta(seconds=3), u, lid, 10)
    else:
        disc = disconnect is not None and reconnect is None
        h.sessions.append(Session("" if disc else f"rdp-tcp#{h.rng.randrange(0, 40)}", u.name,
                                  sid_no, "Disc" if disc else "Active"))
        for img in ("csrss.exe", "winlogon.exe", "dwm.exe", "rdpclip.exe", "explorer.exe"):
            h.proc(img, [], session=sid_no)
        if not disc:
            h.sockets.append(Socket("TCP", f"{h.ip}:3389", f"{u.ip}:{port + (7 if reconnect else 0)}",
                                    "ESTABLISHED", tcp_owner(h), "TermService"))
    return sid_no


def tcp_owner(h: Host) -> int:
    p = h.proc_of("TermService")
    return p.pid if p else 0


def _window_station(h: Host, eid: int, t: datetime, u: User, lid: int, sid_no: int) -> None:
    h.ev("Security", P_SEC, eid, t, level=0, task=12551, keywords=_SEC_KW_OK, pid=660,
         data=[("AccountName", u.name), ("AccountDomain", u.domain), ("LogonID", W.hex64(lid)),
               ("SessionName", f"RDP-Tcp#{sid_no}"), ("ClientName", u.client),
               ("ClientAddress", u.ip)])


def security_4624(h: Host, t: datetime, u: User, lid: int, *, logon_type: int, port: int,
                  process: tuple[str, int], lpn: str, auth: str, elevated: bool = False) -> None:
    h.ev("Security", P_SEC, 4624, t, level=0, version=2, task=12544, keywords=_SEC_KW_OK, pid=660,
         data=[("SubjectUserSid", W.sid("S-1-5-18" if logon_type == 10 else "S-1-0-0")),
               ("SubjectUserName", f"{h.name}$" if logon_type == 10 else "-"),
               ("SubjectDomainName", h.domain if logon_type == 10 else "-"),
               ("SubjectLogonId", W.hex64(0x3E7 if logon_type == 10 else 0)),
               ("TargetUserSid", W.sid(u.sid)), ("TargetUserName", u.name),
               ("TargetDomainName", u.domain), ("TargetLogonId", W.hex64(lid)),
               ("LogonType", logon_type), ("LogonProcessName", lpn),
               ("AuthenticationPackageName", auth), ("WorkstationName", h.name if logon_type == 10 else u.client),
               ("LogonGuid", W.guid("{00000000-0000-0000-0000-000000000000}")),
               ("TransmittedServices", "-"), ("LmPackageName", "NTLM V2" if auth == "NTLM" else "-"),
               ("KeyLength", 128 if auth == "NTLM" else 0), ("ProcessId", W.hex64(process[1])),
               ("ProcessName", process[0]), ("IpAddress", u.ip), ("IpPort", str(port)),
               ("ImpersonationLevel", "%%1833"), ("RestrictedAdminMode", "%%1843" if logon_type == 10 else "-"),
               ("TargetOutboundUserName", "-"), ("TargetOutboundDomainName", "-"),
               ("VirtualAccount", "%%1843"), ("TargetLinkedLogonId", W.hex64(0)),
               ("ElevatedToken", "%%1842" if elevated else "%%1843")])


def security_4634(h: Host, t: datetime, u: User, lid: int, logon_type: int) -> None:
    h.ev("Security", P_SEC, 4634, t, level=0, task=12545, keywords=_SEC_KW_OK, pid=660,
         data=[("TargetUserSid", W.sid(u.sid)), ("TargetUserName", u.name),
               ("TargetDomainName", u.domain), ("TargetLogonId", W.hex64(lid)),
               ("LogonType", logon_type)])


def failed_logon(h: Host, t: datetime, user: str, domain: str, ip: str, *, status: int,
                 substatus: int, reason: str, logon_type: int = 3, client: str = "-") -> None:
    """Security 4625 (modern) or 529/534 (2003)."""
    if h.legacy:
        eid = 534 if status == 0xC000015B else 529
        h.evt("Security", "Security", eid, t, etype=EW.EVENTLOG_AUDIT_FAILURE, category=2,
              sid="S-1-5-18", strings=(user, domain, str(logon_type), "User32  ", "Negotiate",
                                       h.name, f"{h.name}$", h.domain, "(0x0,0x3E7)",
                                       "1234", "-", ip, str(h.rng.randrange(1025, 5000))))
        return
    h.ev("Security", P_SEC, 4625, t, level=0, task=12544, keywords=_SEC_KW_FAIL, pid=660,
         data=[("SubjectUserSid", W.sid("S-1-0-0")), ("SubjectUserName", "-"),
               ("SubjectDomainName", "-"), ("SubjectLogonId", W.hex64(0)),
               ("TargetUserSid", W.sid("S-1-0-0")), ("TargetUserName", user),
               ("TargetDomainName", domain), ("Status", W.hex32(status)),
               ("FailureReason", reason), ("SubStatus", W.hex32(substatus)),
               ("LogonType", logon_type), ("LogonProcessName", "NtLmSsp "),
               ("AuthenticationPackageName", "NTLM"), ("WorkstationName", client),
               ("TransmittedServices", "-"), ("LmPackageName", "-"), ("KeyLength", 0),
               ("ProcessId", W.hex64(0)), ("ProcessName", "-"), ("IpAddress", ip),
               ("IpPort", "0")])


def _legacy_logon(h: Host, u: User, t: datetime, sid_no: int, lid: int, port: int,
                  disconnect, reconnect, logoff) -> None:
    lid_s = f"(0x0,0x{lid:X})"
    h.evt("Security", "Security", 528, t + timedelta(seconds=3), etype=EW.EVENTLOG_AUDIT_SUCCESS,
          category=2, sid=u.sid,
          strings=(u.name, u.domain, lid_s, "10", "User32  ", "Negotiate", h.name, "-",
                   f"{h.name}$", h.domain, "(0x0,0x3E7)", "440", "-", u.ip, str(port)))
    h.evt("Security", "Security", 576, t + timedelta(seconds=3), etype=EW.EVENTLOG_AUDIT_SUCCESS,
          category=2, sid=u.sid, strings=(u.name, u.domain, lid_s,
                                          "SeBackupPrivilege\r\n\t\t\tSeRestorePrivilege"))
    if disconnect is not None:
        h.evt("Security", "Security", 683, disconnect, etype=EW.EVENTLOG_AUDIT_SUCCESS,
              category=2, sid=u.sid, strings=(u.name, u.domain, lid_s, f"RDP-Tcp#{sid_no}",
                                              u.client, u.ip))
    if reconnect is not None:
        h.evt("Security", "Security", 682, reconnect, etype=EW.EVENTLOG_AUDIT_SUCCESS,
              category=2, sid=u.sid, strings=(u.name, u.domain, lid_s, f"RDP-Tcp#{sid_no}",
                                              u.client, u.ip))
    if logoff is not None:
        h.evt("Security", "Security", 538, logoff, etype=EW.EVENTLOG_AUDIT_SUCCESS, category=2,
              sid=u.sid, strings=(u.name, u.domain, lid_s, "10"))
        return
    disc = disconnect is not None and reconnect is None
    h.sessions.append(Session("" if disc else f"rdp-tcp#{h.rng.randrange(1, 20)}", u.name,
                              sid_no, "Disc" if disc else "Active", "rdpwd"))
    for img in ("csrss.exe", "winlogon.exe", "rdpclip.exe", "explorer.exe"):
        h.proc(img, [], session=sid_no)
    if not disc:
        h.sockets.append(Socket("TCP", f"{h.ip}:3389", f"{u.ip}:{port}", "ESTABLISHED",
                                tcp_owner(h)))


def background(h: Host, n: int = 30) -> None:
    """Everyday noise: service logons, group policy refreshes, service starts."""
    span = (h.capture - h.boot).total_seconds()
    for i in range(n):
        t = h.boot + timedelta(seconds=int(h.rng.uniform(120, span - 60)))
        if h.legacy:
            h.evt("Security", "Security", 540, t, etype=EW.EVENTLOG_AUDIT_SUCCESS, category=2,
                  sid="S-1-5-21-1004336348-1177238915-682003330-1109",
                  strings=("svc_backup", h.domain, f"(0x0,0x{h.logon_id():X})", "3",
                           "Kerberos", "Kerberos", "", "-", "-", "-", "-", "-", "-",
                           "10.20.0.7", "0"))
            continue
        k = i % 3
        if k == 0:
            lid = h.logon_id()
            svc = User("svc_backup", h.domain, "S-1-5-21-1004336348-1177238915-682003330-1109",
                       "10.20.0.7", "BACKUP01")
            security_4624(h, t, svc, lid, logon_type=3, port=0, process=("-", 0),
                          lpn="Kerberos", auth="Kerberos")
            security_4634(h, t + timedelta(seconds=2), svc, lid, 3)
        elif k == 1:
            h.ev("System", ("Microsoft-Windows-GroupPolicy", "{AEA1B4FA-97D1-45F2-A64C-4D69FFFD92C9}"),
                 1500 if h.rng.random() < 0.5 else 1502, t, task=0, keywords=0x8000000000000000,
                 data=[("SupportInfo1", "1"), ("SupportInfo2", "634"), ("ProcessingMode", "0"),
                       ("ProcessingTimeInMilliseconds", "1094"), ("DCName", "\\\\DC01.contoso.com"),
                       ("NumberOfGroupPolicyObjects", "3")], user_sid="S-1-5-18", pid=1796)
        else:
            scm_state(h, t, "Windows Modules Installer", "running" if i % 2 else "stopped")


def collector_logon(h: Host) -> None:
    """The administrator who ran the collection at the console, 20 minutes before capture:
    their logon is in the Security (and LSM) log and ``qwinsta`` marks their session."""
    t = h.capture - timedelta(minutes=20)
    adm = User("Administrator", h.domain, "S-1-5-21-1004336348-1177238915-682003330-500",
               "127.0.0.1", h.name)
    lid = h.logon_id()
    console = 0 if h.legacy else 1
    if h.legacy:
        h.evt("Security", "Security", 528, t, etype=EW.EVENTLOG_AUDIT_SUCCESS, category=2,
              sid=adm.sid, strings=(adm.name, adm.domain, f"(0x0,0x{lid:X})", "2", "User32  ",
                                    "Negotiate", h.name, "-", f"{h.name}$", h.domain,
                                    "(0x0,0x3E7)", "440", "-", "127.0.0.1", "0"))
    else:
        security_4624(h, t, adm, lid, logon_type=2, port=0,
                      process=("C:\\Windows\\System32\\svchost.exe", 0x49c), lpn="User32 ",
                      auth="Negotiate", elevated=True)
        for eid in (21, 22):
            h.ev(CH_LSM, P_LSM, eid, t + timedelta(seconds=eid - 20), pid=1012,
                 user_sid="S-1-5-18", user_data=("EventXML", "Event_NS", [
                     ("User", f"{adm.domain}\\{adm.name}"), ("SessionID", str(console)),
                     ("Address", "LOCAL")]))
    if h.sessions is not None:
        for s in h.sessions:
            if s.name == "console":
                s.user, s.state, s.current = adm.name, "Active", True
