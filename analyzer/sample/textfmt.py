"""Render command output and registry exports exactly as Windows prints them.

Layouts follow ../shared/KNOWLEDGE.md Part B §4 (netstat, tasklist, qwinsta) and §2.2 (.reg
exports), checked against the real captures in ../shared/corpus (column widths, CRLF,
UTF-16LE with BOM when PowerShell's ``Out-File`` wrote the file, OEM code page when cmd.exe
redirected it). Every function returns ``str``; :func:`encode` turns it into the bytes of a
file the way the capturing tool would have written it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

CRLF = "\r\n"


def encode(text: str, how: str) -> bytes:
    """``utf16`` (PowerShell Out-File / regedit: BOM + UTF-16LE), ``cp437``/``cp850`` (cmd.exe
    redirect in the OEM code page), ``utf8``."""
    if how == "utf16":
        return b"\xff\xfe" + text.encode("utf-16-le")
    return text.encode(how)


# ----------------------------------------------------------------------------- netstat


@dataclass
class Socket:
    proto: str                      # TCP / UDP
    local: str                      # "0.0.0.0:3389", "[::]:3389"
    remote: str                     # "0.0.0.0:0", "*:*", "10.0.0.5:51234"
    state: str                      # LISTENING / ESTABLISHED / TIME_WAIT / "" for UDP
    pid: int
    service: str | None = None      # -b service tag (the service that owns the socket)


_NETSTAT = {
    "en": ("Active Connections", "  Proto  Local Address          Foreign Address        State           PID",
           {}, "Can not obtain ownership information"),
    # German captures (corpus: vnschilling__netstat_output_de-DE_utf16.txt) localise states.
    "de": ("Aktive Verbindungen", "  Proto  Lokale Adresse         Remoteadresse          Status           PID",
           {"LISTENING": "ABHÖREN", "ESTABLISHED": "HERGESTELLT", "TIME_WAIT": "WARTEND",
            "CLOSE_WAIT": "SCHLIESSEN_WARTEN", "SYN_SENT": "SYN_GESENDET"},
           None),   # the German -b sentence is not verified: German output is -ano only
}


def netstat(sockets: list[Socket], *, locale: str = "en", owners: dict[int, str] | None = None) -> str:
    """``netstat -ano`` (``owners`` None) or ``netstat -abno`` (``owners``: pid → image)."""
    title, header, states, noowner = _NETSTAT[locale]
    if owners is not None and noowner is None:
        raise ValueError(f"netstat -b output is not available for locale {locale!r}")
    lines = ["", title, "", header]
    for s in sockets:
        state = states.get(s.state, s.state)
        if s.proto == "UDP":
            row = f"  {s.proto:<7}{s.local:<22} {s.remote:<22} {'':<15} {s.pid}"
        else:
            row = f"  {s.proto:<7}{s.local:<22} {s.remote:<22} {state:<15} {s.pid}"
        lines.append(row)
        if owners is not None and s.pid != 0:
            if s.pid == 4:
                lines.append(f" {noowner}")
            else:
                if s.service:
                    lines.append(f"  {s.service}")
                lines.append(f" [{owners.get(s.pid, 'svchost.exe')}]")
    return CRLF.join(lines) + CRLF


# ----------------------------------------------------------------------------- tasklist


@dataclass
class Process:
    image: str
    pid: int
    services: list[str] = field(default_factory=list)
    session_name: str = "Services"
    session: int = 0
    mem_kb: int = 8000


_TASKLIST = {"en": ("Image Name", "PID", "Services", "N/A"),
             "de": ("Abbildname", "PID", "Dienste", "Nicht zutreffend")}


def tasklist_svc(procs: list[Process], *, locale: str = "en") -> str:
    """``tasklist /svc``: 25/8/44 columns, long service lists wrapped under the Services column."""
    img, pid, svc, na = _TASKLIST[locale]
    lines = ["", f"{img:<25} {pid:>8} {svc}", f"{'=' * 25} {'=' * 8} {'=' * 44}"]
    for p in procs:
        chunks = _wrap(p.services, 44) if p.services else [na]
        lines.append(f"{p.image[:25]:<25} {p.pid:>8} {chunks[0]}")
        lines.extend(" " * 35 + c for c in chunks[1:])
    return CRLF.join(lines) + CRLF


def _wrap(items: list[str], width: int) -> list[str]:
    out, cur = [], ""
    for i, it in enumerate(items):
        piece = it + ("," if i < len(items) - 1 else "")
        cand = f"{cur} {piece}" if cur else piece
        if cur and len(cand) > width:
            out.append(cur)
            cur = piece
        else:
            cur = cand
    out.append(cur)
    return out


# ----------------------------------------------------------------------------- qwinsta


@dataclass
class Session:
    name: str                       # "console", "rdp-tcp#3", "rdp-tcp", "services", ""
    user: str
    id: int
    state: str                      # Active / Disc / Listen / Conn / Down
    type: str = ""                  # 2003: wdcon / rdpwd
    device: str = ""
    current: bool = False


def qwinsta(sessions: list[Session]) -> str:
    """``qwinsta``: marker, SESSIONNAME (18), USERNAME (22), ID right-aligned under ``ID``."""
    def row(mark, name, user, sid, state, typ, dev):
        return f"{mark}{name:<18}{user:<22}{sid:>5}  {state:<8}{typ:<12}{dev}".rstrip()
    lines = [row(" ", "SESSIONNAME", "USERNAME", "ID", "STATE", "TYPE", "DEVICE")]
    for s in sessions:
        lines.append(row(">" if s.current else " ", s.name, s.user, str(s.id), s.state, s.type,
                         s.device))
    return CRLF.join(lines) + CRLF


# ----------------------------------------------------------------------------- systeminfo


@dataclass
class SysInfo:
    host: str
    os_name: str
    os_version: str                 # "10.0.20348 N/A Build 20348"
    boot_local: datetime            # local wall-clock time
    install_local: datetime
    time_zone: str                  # "(UTC-05:00) Eastern Time (US & Canada)"
    domain: str
    ip: str
    logon_server: str = "\\\\DC01"
    hotfixes: tuple[str, ...] = ()
    legacy: bool = False            # 2003 layout (System Up Time, GMT zone names)
    capture_local: datetime | None = None
    os_config: str = "Member Server"


def _us_time(t: datetime) -> str:
    h = t.hour % 12 or 12
    return f"{t.month}/{t.day}/{t.year}, {h}:{t.minute:02d}:{t.second:02d} {'AM' if t.hour < 12 else 'PM'}"


def _de_time(t: datetime) -> str:
    return f"{t.day:02d}.{t.month:02d}.{t.year}, {t.hour:02d}:{t.minute:02d}:{t.second:02d}"


_SYSINFO_LABELS = {
    "en": ["Host Name", "OS Name", "OS Version", "OS Manufacturer", "OS Configuration",
           "OS Build Type", "Registered Owner", "Registered Organization", "Product ID",
           "Original Install Date", "System Boot Time", "System Manufacturer", "System Model",
           "System Type", "Processor(s)", "BIOS Version", "Windows Directory",
           "System Directory", "Boot Device", "System Locale", "Input Locale", "Time Zone",
           "Total Physical Memory", "Available Physical Memory", "Virtual Memory: Max Size",
           "Virtual Memory: Available", "Virtual Memory: In Use", "Page File Location(s)",
           "Domain", "Logon Server", "Hotfix(s)", "Network Card(s)"],
    "de": ["Hostname", "Betriebssystemname", "Betriebssystemversion",
           "Betriebssystemhersteller", "Betriebssystemkonfiguration", "Betriebssystem-Buildtyp",
           "Registrierter Benutzer", "Registrierte Organisation", "Produkt-ID",
           "Ursprüngliches Installationsdatum", "Systemstartzeit", "Systemhersteller",
           "Systemmodell", "Systemtyp", "Prozessor(en)", "BIOS-Version", "Windows-Verzeichnis",
           "System-Verzeichnis", "Startgerät", "Systemgebietsschema", "Eingabegebietsschema",
           "Zeitzone", "Gesamter physischer Speicher", "Verfügbarer physischer Speicher",
           "Virtueller Arbeitsspeicher: Maximale Größe",
           "Virtueller Arbeitsspeicher: Verfügbar", "Virtueller Arbeitsspeicher: Zurzeit verwendet",
           "Auslagerungsdateipfad(e)", "Domäne", "Anmeldeserver", "Hotfix(es)",
           "Netzwerkkarte(n)"],
}


def systeminfo(si: SysInfo, *, locale: str = "en") -> str:
    """``systeminfo`` (list format). Times are the server's local wall-clock times."""
    L = _SYSINFO_LABELS[locale]
    de = locale == "de"
    tfmt = _de_time if de else _us_time
    width = 27 if not de else 43
    nic = ("vmxnet3 Ethernet Adapter" if not si.legacy else
           "Intel(R) PRO/1000 MT Network Connection")
    proc = "Intel64 Family 6 Model 85 Stepping 7 GenuineIntel ~2594 Mhz"
    vals: list[tuple[str, list[str]]] = [
        (L[0], [si.host]), (L[1], [si.os_name]), (L[2], [si.os_version]),
        (L[3], ["Microsoft Corporation"]),
        (L[4], [("Mitgliedsserver" if de else si.os_config)]),
        (L[5], ["Multiprocessor Free" if not si.legacy else "Uniprocessor Free"]),
        (L[6], ["Windows User" if not si.legacy else "IT"]), (L[7], [""]),
        (L[8], ["00454-40000-00001-AA536" if not si.legacy else "69712-640-3560017-45128"]),
        (L[9], [tfmt(si.install_local)]),
    ]
    if si.legacy:
        up = (si.capture_local or si.boot_local) - si.boot_local
        d, rem = up.days, up.seconds
        vals.append(("System Up Time", [f"{d} Days, {rem // 3600} Hours, {rem % 3600 // 60} "
                                        f"Minutes, {rem % 60} Seconds"]))
    else:
        vals.append((L[10], [tfmt(si.boot_local)]))
    vals += [
        (L[11], ["VMware, Inc."]), (L[12], ["VMware7,1" if not si.legacy else "VMware Virtual Platform"]),
        (L[13], ["x64-based PC" if not si.legacy else "X86-based PC"]),
        (L[14], ["1 Processor(s) Installed." if not de else "1 Prozessor(en) installiert.",
                 f"[01]: {proc}"]),
        (L[15], ["VMware, Inc. VMW71.00V.18452719.B64.2108091906, 8/9/2021"
                 if not si.legacy else "INTEL  - 6040000"]),
        (L[16], ["C:\\Windows" if not si.legacy else "C:\\WINDOWS"]),
        (L[17], ["C:\\Windows\\system32" if not si.legacy else "C:\\WINDOWS\\system32"]),
        (L[18], ["\\Device\\HarddiskVolume1"]),
        (L[19], ["de;Deutsch (Deutschland)" if de else "en-us;English (United States)"]),
        (L[20], ["de;Deutsch (Deutschland)" if de else "en-us;English (United States)"]),
        (L[21], [si.time_zone]),
        (L[22], ["16.383 MB" if de else ("16,383 MB" if not si.legacy else "2,047 MB")]),
        (L[23], ["9.812 MB" if de else ("9,812 MB" if not si.legacy else "1,210 MB")]),
        (L[24], ["18.815 MB" if de else ("18,815 MB" if not si.legacy else "3,940 MB")]),
        (L[25], ["11.930 MB" if de else ("11,930 MB" if not si.legacy else "3,020 MB")]),
        (L[26], ["6.885 MB" if de else ("6,885 MB" if not si.legacy else "920 MB")]),
        (L[27], ["C:\\pagefile.sys"]),
        (L[28], [si.domain]), (L[29], [si.logon_server]),
    ]
    hf = list(si.hotfixes)
    if de:
        vals.append((L[30], [f"{len(hf)} Hotfix(es) installiert."] +
                     [f"[{i:02d}]: {k}" for i, k in enumerate(hf, 1)]))
        vals.append((L[31], ["1 Netzwerkadapter installiert.", f"[01]: {nic}",
                             "      Verbindungsname: Ethernet0", "      DHCP aktiviert:  Nein",
                             "      IP-Adresse(n)", f"      [01]: {si.ip}"]))
    else:
        vals.append((L[30], [f"{len(hf)} Hotfix(s) Installed."] +
                     [f"[{i:02d}]: {k}" for i, k in enumerate(hf, 1)]))
        vals.append((L[31], ["1 NIC(s) Installed.", f"[01]: {nic}",
                             "      Connection Name: " + ("Ethernet0" if not si.legacy else "Local Area Connection"),
                             "      DHCP Enabled:    No", "      IP address(es)",
                             f"      [01]: {si.ip}"]))
    if not si.legacy and not de:
        vals.append(("Hyper-V Requirements", ["A hypervisor has been detected. Features "
                                              "required for Hyper-V will not be displayed."]))
    lines = [""]
    for label, v in vals:
        head = f"{label + ':':<{width}}"
        lines.append((head + v[0]).rstrip() if v[0] else head.rstrip())
        lines.extend(" " * width + x for x in v[1:])
    return CRLF.join(lines) + CRLF


# ----------------------------------------------------------------------------- .reg export

REG_SZ, REG_EXPAND_SZ, REG_BINARY, REG_DWORD, REG_MULTI_SZ, REG_QWORD = 1, 2, 3, 4, 7, 11


def _hexdump(prefix: str, data: bytes) -> list[str]:
    """regedit's ``hex:`` lists: lines end with ``,\\`` near 80 columns, continuation indented."""
    parts = [f"{b:02x}" for b in data]
    lines, cur = [], prefix
    for i, p in enumerate(parts):
        last = i == len(parts) - 1
        piece = p + ("" if last else ",")
        if len(cur) + len(piece) > 77 and not last or len(cur) + len(piece) > 79:
            lines.append(cur + "\\")
            cur = "  "
        cur += piece
    lines.append(cur)
    return lines


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def reg_value_lines(name: str | None, typ: int, value) -> list[str]:
    q = "@" if name is None else f'"{_esc(name)}"'
    if typ == REG_SZ:
        return [f'{q}="{_esc(value)}"']
    if typ == REG_DWORD:
        return [f"{q}=dword:{value & 0xFFFFFFFF:08x}"]
    if typ == REG_BINARY:
        return _hexdump(f"{q}=hex:", bytes(value))
    if typ == REG_EXPAND_SZ:
        return _hexdump(f"{q}=hex(2):", (value + "\0").encode("utf-16-le"))
    if typ == REG_MULTI_SZ:
        return _hexdump(f"{q}=hex(7):", ("".join(v + "\0" for v in value) + "\0").encode("utf-16-le"))
    if typ == REG_QWORD:
        return _hexdump(f"{q}=hex(b):", int(value).to_bytes(8, "little"))
    raise ValueError(f"unsupported registry type {typ}")


def reg_export(keys: list[tuple[str, list[tuple[str | None, int, object]]]]) -> str:
    """A regedit 5.00 export (encode with ``utf16``): header, blank line, keys in order."""
    lines = ["Windows Registry Editor Version 5.00", ""]
    for path, values in keys:
        lines.append(f"[{path}]")
        for name, typ, val in values:
            lines.extend(reg_value_lines(name, typ, val))
        lines.append("")
    return CRLF.join(lines) + CRLF


def local(t: datetime, offset_hours: int) -> datetime:
    """UTC → the server's wall-clock time (fixed offset; scenarios avoid DST dates)."""
    return (t + timedelta(hours=offset_hours)).replace(tzinfo=None)


def powercfg_query_2003(scheme: str = "Always On", scheme_id: int = 3, *, monitor=(20, 20),
                        disk=(0, 0), standby=(0, 0), hibernate=(0, 0),
                        throttle=("NONE", "NONE")) -> str:
    """Windows Server 2003 ``powercfg /query``: the active scheme as a two-column table, AC and
    DC rows of each timeout in minutes (0 = ``Never``). Layout: KB324347 and John Savill's
    ITPro Today FAQ (2005); the default server scheme is "Always On" (id 3)."""
    def mins(m: int) -> str:
        return "Never" if not m else f"After {m} min" + ("s" if m != 1 else "")
    rows = [("Name", scheme), ("Numerical ID", str(scheme_id))]
    for label, (ac, dc) in (("Turn off monitor", monitor), ("Turn off hard disks", disk),
                            ("System standby", standby), ("System hibernates", hibernate)):
        rows += [(f"{label} (AC)", mins(ac)), (f"{label} (DC)", mins(dc))]
    rows += [("Processor Throttle (AC)", throttle[0]), ("Processor Throttle (DC)", throttle[1])]
    out = ["", "Field Description          Value", "-----------------          -----"]
    out += [f"{k:<27}{v}" for k, v in rows]
    return CRLF.join(out) + CRLF
