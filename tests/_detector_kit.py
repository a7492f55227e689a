"""Tiny in-test timelines and effective-config frames for the detector tests (not a test module).

Hand-written from the contracts: the timeline schema of parsers/base.py (rows are conformed
and given their event_type by analyzer.timeline.finalize_part exactly as a parser's rows
are) and the effective-config columns of /tmp/briefs/config_api.md (analyzer.config).
"""
from __future__ import annotations

import orjson
import pandas as pd

from analyzer import timeline as tl
from analyzer.detectors import REGISTRY, Context, NotEvaluated, load_all
from parsers.base import conform

load_all()

HOST = "TS01"
T0 = pd.Timestamp("2024-03-05 08:00", tz="UTC")

PROVIDERS = {
    "termdd": "TermDD", "termservice": "TermService", "termservlicensing": "TermServLicensing",
    "rcm": "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
    "rcma": "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
    "lsm": "Microsoft-Windows-TerminalServices-LocalSessionManager",
    "core": "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS",
    "sec": "Microsoft-Windows-Security-Auditing", "sec2003": "Security",
    "kp": "Microsoft-Windows-Kernel-Power", "pt": "Microsoft-Windows-Power-Troubleshooter",
    "scm": "Service Control Manager", "schannel": "Schannel", "eventlog": "EventLog",
    "kg": "Microsoft-Windows-Kernel-General",
}
CHANNELS = {"termdd": "System", "termservice": "System", "termservlicensing": "System",
            "rcm": "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational",
            "rcma": "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Admin",
            "lsm": "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
            "core": "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational",
            "sec": "Security", "sec2003": "Security", "kp": "System", "pt": "System",
            "scm": "System", "schannel": "System", "eventlog": "System", "kg": "System"}
SOURCES = {"System": "TS01_EventLogs/System.evtx", "Security": "TS01_EventLogs/Security.evtx"}


def ev(minutes: float, prov: str, eid: int, *, host: str = HOST, kind: str = "evtx",
       data: dict | None = None, **cols) -> dict:
    """One event row, ``minutes`` after T0."""
    chan = CHANNELS[prov]
    src = SOURCES.get(chan, f"TS01_EventLogs/{chan.replace('/', '%4')}.evtx")
    if kind == "evt":
        src = src.replace(".evtx", ".evt")
    return {"time": T0 + pd.Timedelta(minutes=minutes), "host": host, "source": src,
            "locator": f"record {int(minutes * 100) + eid}", "kind": kind,
            "provider": PROVIDERS[prov], "channel": chan, "event_id": eid, "level": 4,
            "data": orjson.dumps(data).decode() if data else None, **cols}


def row(kind: str, event_type: str, *, host: str = HOST, source: str | None = None,
        line: int = 1, data: dict | None = None, minutes: float = 0, **cols) -> dict:
    """A state row (netstat/tasklist/qwinsta/systeminfo/reg/gpresult)."""
    return {"time": T0 + pd.Timedelta(minutes=minutes), "host": host,
            "source": source or f"{host}_{kind}.txt", "locator": f"line {line}", "kind": kind,
            "event_type": event_type, "data": orjson.dumps(data).decode() if data else None,
            **cols}


def sock(port: int, pid: int, *, local_ip: str = "0.0.0.0", line: int = 5, **extra) -> dict:
    d = {"proto": "TCP", "local": f"{local_ip}:{port}", "remote": "0.0.0.0:0",
         "state": "LISTENING", "listening": True, **extra}
    return row("netstat", "net:socket", line=line, data=d, pid=pid, ip=local_ip, port=port)


def proc(pid: int, image: str, services: list[str] | None, *, line: int = 3) -> dict:
    d = {"image": image}
    if services is not None:
        d["services"] = services
    return row("tasklist", "proc:process", line=line, data=d, pid=pid)


def winsta(name: str, state: str, sid: int, user: str | None = None, *, line: int = 2) -> dict:
    return row("qwinsta", "session:winstation", line=line, user=user, session_id=sid,
               data={"session_name": name, "state": state})


def sysinfo(os_name: str, os_version: str) -> dict:
    return row("systeminfo", "sysinfo:host", data={"os_name": os_name, "os_version": os_version})


def timeline(rows: list[dict]) -> pd.DataFrame:
    """Rows → a finalized timeline, as analyzer.bundle builds it."""
    if not rows:
        return tl.empty_frame()
    parts = []
    df = pd.DataFrame(rows)
    for src, grp in df.groupby("source", sort=False):
        parts.append(tl.finalize_part(conform(grp), source=str(src), host=HOST))
    return tl.concat(parts)


def cfg(*settings: tuple, host: str = HOST) -> pd.DataFrame:
    """Effective-config rows: (setting, value[, origin[, gpo[, overridden]]])."""
    rows = []
    for s in settings:
        name, value = s[0], s[1]
        origin = s[2] if len(s) > 2 else "local"
        gpo = s[3] if len(s) > 3 else None
        over = s[4] if len(s) > 4 else []
        src = {"local": f"{host}_RegistryKeys/TS.reg", "gpresult": f"{host}_Gpresult.xml",
               "policy": f"{host}_RegistryKeys/POL.reg", "security-option": f"{host}_Gpresult.xml",
               "default": None}[origin]
        rows.append({"host": host, "setting": name, "value": value, "display": str(value),
                     "origin": origin, "gpo": gpo, "source": src,
                     "locator": None if src is None else f"line {len(rows) + 10}",
                     "overridden": over, "is_default": origin == "default"})
    return pd.DataFrame(rows, columns=["host", "setting", "value", "display", "origin", "gpo",
                                       "source", "locator", "overridden", "is_default"])


def inventory(*sources: tuple[str, str]) -> pd.DataFrame:
    """Inventory rows (source, kind) of parsed files of HOST."""
    return pd.DataFrame([{"source": s, "kind": k, "status": "parsed", "host": HOST}
                         for s, k in sources])


def run(det_id: str, rows: list[dict] | None = None, config: pd.DataFrame | None = None,
        inv: pd.DataFrame | None = None, **params):
    """Run one detector on a tiny bundle; returns a list of findings or a NotEvaluated."""
    ctx = Context.build(HOST, timeline(rows or []), config, inventory=inv, params=params)
    return REGISTRY[det_id].run(ctx)


def ids(out) -> list[str]:
    assert not isinstance(out, NotEvaluated), f"not evaluated: {out.missing}"
    return [f.id for f in out]
