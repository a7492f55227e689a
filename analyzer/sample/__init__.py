"""Scenario bundles: what a customer would send for each failure the article describes.

>>> from analyzer.sample import SCENARIOS, write_bundle
>>> sorted(SCENARIOS)[:3]
['admin-sessions-exhausted', 'certificate-corruption', 'connection-limit-policy']
>>> write_bundle("port-conflict", Path("/tmp/pc.zip"))           # doctest: +SKIP

Every scenario (``analyzer.sample.scenarios``) builds one or more simulated hosts
(``analyzer.sample.story``) and this module writes them in the layout the customer's
collection tool produces:

* 2008+ hosts — Microsoft MSRD-Collect: ``<PC>_EventLogs/<PC>_System.evtx`` (and one file per
  channel, ``/`` written as ``%4``), ``<PC>_Networking/<PC>_Netstat.txt`` (``netstat -anob``;
  ``-ano`` on the German host), ``<PC>_SystemInfo/<PC>_Tasklist.txt`` (``tasklist /svc``),
  ``<PC>_SystemInfo/<PC>_SystemInfo.txt``, ``<PC>_SystemInfo/<PC>_Qwinsta.txt``,
  ``<PC>_RegistryKeys/<PC>_HKLM-….txt`` (``reg export``) and ``<PC>_Gpresult.xml``
  (``gpresult /x``; ``<PC>_Gpresult.html``, ``gpresult /h``, in two scenarios); text
  written by PowerShell ``Out-File`` is UTF-16LE with BOM, CRLF.
* Windows Server 2003 — a support engineer's batch file: ``<PC>_Logs/SysEvent.Evt`` …,
  command output redirected by cmd.exe (OEM code page 437), regedit ``.reg`` exports
  (UTF-16LE with BOM) and ``gpresult /z`` text.

Output is a pure function of (scenario, seed): same seed, byte-identical files (zip member
times are the capture time of the scenario, never the clock).
"""
from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

from . import evtwriter, evtxwriter, gpo, textfmt
from .scenarios import FINDING_IDS, SCENARIO_LIST, SCENARIOS, Scenario
from .story import Host, collector_logon

__all__ = ["SCENARIOS", "Scenario", "FINDING_IDS", "write_bundle", "bundle_files",
           "scenario_names"]


def scenario_names() -> list[str]:
    return [s.name for s in SCENARIO_LIST]


def _first_record(h: Host, log: str) -> int:
    # a log that has been running for a while: record numbers do not start at 1
    return random.Random(f"{h.name}/{log}").randrange(1000, 250000)


def _evtx_bytes(h: Host, log: str, events: list, tmp: Path) -> bytes:
    events = sorted(events, key=lambda e: e.time)
    p = tmp / "x.evtx"
    evtxwriter.write_evtx(p, events, first_record_id=_first_record(h, log))
    data = p.read_bytes()
    p.unlink()
    return data


def _evt_bytes(h: Host, log: str, records: list) -> bytes:
    records = sorted(records, key=lambda r: r.time_generated)
    return evtwriter.build_evt(records, first_record_number=_first_record(h, log))


def _reg_groups(h: Host) -> list[tuple[str, list[str]]]:
    """(file stem, key prefixes) of the ``reg export`` files MSRD-Collect writes."""
    return [("HKLM-System-CCS-Control-TerminalServer", [r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server"]),
            ("HKLM-Software-Policies-Microsoft-WindowsNT-TerminalServices", [r"HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services"]),
            ("HKLM-System-CCS-Services-TermService", [r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\TermService"]),
            ("HKLM-System-CCS-Control-Lsa", [r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Lsa"]),
            ("HKLM-System-CCS-Services-Tcpip-Parameters", [r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters"]),
            ("HKLM-Software-Microsoft-WindowsNT-CurrentVersion-Winlogon", [r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon"])]


def _reg_text(h: Host, prefixes: list[str]) -> str | None:
    keys = sorted((k for k in h.reg if any(k == p or k.startswith(p + "\\") for p in prefixes)),
                  key=lambda k: k.lower().split("\\"))
    if not keys:
        return None
    out = []
    for k in keys:
        vals = sorted(h.reg[k].items(), key=lambda kv: (kv[0] is not None, (kv[0] or "").lower()))
        out.append((k, [(n, t, v) for n, (t, v) in vals]))
    # every key of the exported tree appears, also those without values, as regedit writes them
    have = {k for k, _ in out}
    for k in list(have):
        for p in prefixes:
            if k.startswith(p + "\\"):
                parts = k[len(p) + 1:].split("\\")
                for i in range(len(parts)):
                    anc = "\\".join([p] + parts[:i])
                    if anc not in have:
                        have.add(anc)
                        out.append((anc, []))
    out.sort(key=lambda kv: kv[0].lower().split("\\"))
    return textfmt.reg_export(out)


def _sysinfo(h: Host) -> textfmt.SysInfo:
    name, ver = __import__("analyzer.sample.story", fromlist=["OS_NAMES"]).OS_NAMES[h.os]
    return textfmt.SysInfo(
        host=h.name, os_name=name, os_version=ver,
        boot_local=textfmt.local(h.boot, h.tz_offset),
        install_local=textfmt.local(h.boot.replace(year=h.boot.year - 1, month=6, day=12,
                                                   hour=14, minute=3, second=11), h.tz_offset),
        time_zone=h.tz_name, domain=h.dns_domain, ip=h.ip, legacy=h.legacy,
        capture_local=textfmt.local(h.capture, h.tz_offset),
        logon_server="\\\\DC01",
        hotfixes=(("KB948496", "KB2570222", "KB2621440") if h.legacy else
                  ("KB5034439", "KB5034129", "KB5034770")))


def bundle_files(scenario: str | Scenario, seed: int = 0) -> dict[str, bytes]:
    """Every file of the bundle: {posix path inside the bundle: bytes}."""
    import tempfile

    sc = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
    rng = random.Random(f"{sc.name}#{seed}")
    files: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="rdpdoctor-sample-") as tmpd:
        tmp = Path(tmpd)
        for h in sc.build(rng):
            collector_logon(h)
            files.update(_host_files(h, tmp))
    return dict(sorted(files.items()))


def _host_files(h: Host, tmp: Path) -> dict[str, bytes]:
    pc = h.name
    f: dict[str, bytes] = {}
    owners = {p.pid: p.image for p in h.procs}
    if h.legacy:
        d = f"{pc}_Logs"
        names = {"System": "SysEvent.Evt", "Security": "SecEvent.Evt", "Application": "AppEvent.Evt"}
        for log, recs in h.logs.items():
            f[f"{d}/{names[log]}"] = _evt_bytes(h, log, recs)
        enc = "cp437"
        if "netstat" in h.artifacts:
            f[f"{d}/netstat-ano.txt"] = textfmt.encode(textfmt.netstat(h.sorted_sockets()), enc)
        if "tasklist" in h.artifacts:
            f[f"{d}/tasklist-svc.txt"] = textfmt.encode(textfmt.tasklist_svc(h.procs), enc)
        if "qwinsta" in h.artifacts and h.sessions is not None:
            f[f"{d}/qwinsta.txt"] = textfmt.encode(textfmt.qwinsta(_qw_sorted(h)), enc)
        if "systeminfo" in h.artifacts:
            f[f"{d}/systeminfo.txt"] = textfmt.encode(textfmt.systeminfo(_sysinfo(h)), enc)
        if "powercfg" in h.artifacts:
            f[f"{d}/powercfg-query.txt"] = textfmt.encode(textfmt.powercfg_query_2003(), enc)
        if "gpresult" in h.artifacts and h.gp is not None:
            mode = ("Application Server" if h.reg.get(_ts(), {}).get("TSAppCompat", (0, 0))[1]
                    else "Remote Administration")
            f[f"{d}/gpresult-z.txt"] = textfmt.encode(gpo.gpresult_z_2003(
                h.gp, host=h.name, user=f"{h.domain}\\administrator",
                os_type="Microsoft(R) Windows(R) Server 2003, Standard Edition", ts_mode=mode,
                tz_offset=h.tz_offset), enc)
        if "reg" in h.artifacts:
            for stem, prefixes in _reg_groups(h):
                text = _reg_text(h, prefixes)
                if text:
                    short = stem.split("-", 3)[-1]
                    f[f"{d}/{short}.reg"] = textfmt.encode(text, "utf16")
        return f
    for log, evs in h.logs.items():
        fname = log.replace("/", "%4")
        f[f"{pc}_EventLogs/{pc}_{fname}.evtx"] = _evtx_bytes(h, log, evs, tmp)
    if "netstat" in h.artifacts:
        text = (textfmt.netstat(h.sorted_sockets(), locale="de") if h.locale == "de"
                else textfmt.netstat(h.sorted_sockets(), owners=owners))
        f[f"{pc}_Networking/{pc}_Netstat.txt"] = textfmt.encode(text, "utf16")
    if "tasklist" in h.artifacts:
        f[f"{pc}_SystemInfo/{pc}_Tasklist.txt"] = textfmt.encode(
            textfmt.tasklist_svc(h.procs, locale=h.locale), "utf16")
    if "systeminfo" in h.artifacts:
        f[f"{pc}_SystemInfo/{pc}_SystemInfo.txt"] = textfmt.encode(
            textfmt.systeminfo(_sysinfo(h), locale=h.locale), "utf16")
    if "qwinsta" in h.artifacts and h.sessions is not None:
        f[f"{pc}_SystemInfo/{pc}_Qwinsta.txt"] = textfmt.encode(textfmt.qwinsta(_qw_sorted(h)), "utf16")
    if "reg" in h.artifacts:
        for stem, prefixes in _reg_groups(h):
            text = _reg_text(h, prefixes)
            if text:
                f[f"{pc}_RegistryKeys/{pc}_{stem}.txt"] = textfmt.encode(text, "utf16")
    if "gpresult" in h.artifacts and h.gp is not None:
        if h.gp_format == "html":       # MSRD-Collect's own capture: gpresult /h
            f[f"{pc}_Gpresult.html"] = textfmt.encode(
                gpo.rsop_html(h.gp, host=h.name, tz_offset=h.tz_offset), "utf16")
        else:
            f[f"{pc}_Gpresult.xml"] = textfmt.encode(gpo.rsop_xml(h.gp), "utf16")
    return f


def _ts() -> str:
    from .story import TS
    return TS


def _qw_sorted(h: Host):
    """qwinsta order: by session id, listener last; the collecting admin's row marked."""
    rows = sorted(h.sessions, key=lambda s: (s.id >= 65536, s.id))
    return rows


def write_bundle(name: str, dest: str | Path, seed: int = 0, fmt: str | None = None) -> Path:
    """Write scenario ``name`` to ``dest`` as a zip (``fmt="zip"``, default when ``dest`` ends
    in ``.zip``) or a folder (``fmt="dir"``). Returns ``dest``."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; see analyzer.sample.scenario_names()")
    dest = Path(dest)
    fmt = fmt or ("zip" if dest.suffix.lower() == ".zip" else "dir")
    files = bundle_files(name, seed)
    if fmt == "zip":
        dest.parent.mkdir(parents=True, exist_ok=True)
        sc = SCENARIOS[name]
        stamp = sc.capture.timetuple()[:6]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for path, data in files.items():
                zi = zipfile.ZipInfo(path, date_time=stamp)
                zi.compress_type = zipfile.ZIP_DEFLATED
                zi.create_system = 0
                zi.external_attr = 0x20            # FILE_ATTRIBUTE_ARCHIVE, as Windows zips
                zf.writestr(zi, data)
        dest.write_bytes(buf.getvalue())
        return dest
    if fmt != "dir":
        raise ValueError("fmt must be 'zip' or 'dir'")
    for path, data in files.items():
        p = dest / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return dest
