"""Hand-built AnalysisResult-like objects for the report tests (not a test module).

Hand-written from the contracts: the timeline schema of parsers/base.py (built with
``conform``), the effective-config columns agreed in analyzer/config.py's contract, the
inventory columns of analyzer.bundle.INVENTORY_COLUMNS and analyzer.findings.Report. The
scenario imitates a port conflict on TS01 with the usual noise around it, plus hostile
strings (a ``<script>`` user name and file name) to prove the reports escape them.
"""
from __future__ import annotations

from types import SimpleNamespace

import orjson
import pandas as pd

from analyzer.bundle import INVENTORY_COLUMNS
from analyzer.findings import Check, Evidence, Finding, Report
from parsers.base import conform

HOSTILE_USER = 'CORP\\<script>alert("user")</script>'
HOSTILE_FILE = 'TS01_EventLogs/<script>alert("file")</script>.evtx'
T0 = pd.Timestamp("2024-03-05 08:00", tz="UTC")


def _row(minutes: float, event_type: str, **kw) -> dict:
    data = kw.pop("data", None)
    return {"time": T0 + pd.Timedelta(minutes=minutes), "host": kw.pop("host", "TS01"),
            "source": kw.pop("source", "TS01_EventLogs/System.evtx"),
            "locator": kw.pop("locator", f"record {int(minutes * 10)}"), "kind": "evtx",
            "event_type": event_type, "data": orjson.dumps(data).decode() if data else None, **kw}


def timeline(n_noise: int = 0) -> pd.DataFrame:
    rows = [
        _row(0, "rdp:lsm:logon", provider="Microsoft-Windows-TerminalServices-LocalSessionManager",
             event_id=21, level=4, user="CORP\\alice", ip="10.0.0.7",
             source="TS01_EventLogs/LSM.evtx"),
        _row(30, "rdp:lsm:disconnect", event_id=24, level=4, user="CORP\\alice",
             source="TS01_EventLogs/LSM.evtx"),
        _row(60, "svc:state", provider="Service Control Manager", event_id=7036, level=4,
             data={"param1": "Remote Desktop Services", "param2": "stopped"}),
        _row(61, "svc:state", provider="Service Control Manager", event_id=7036, level=4,
             data={"param1": "Print Spooler", "param2": "stopped"}),
        _row(62, "svc:state", provider="Service Control Manager", event_id=7036, level=4,
             data={"param1": "Remote Desktop Services", "param2": "running"}),
        _row(70, "rdp:rcm:listener-failed", event_id=260, level=2),
        _row(90, "sys:termdd:protocol-error", provider="TermDD", event_id=50, level=2),
        _row(91, "sys:termdd:security-error", provider="TermDD", event_id=56, level=2),
        _row(95, "tls:schannel:private-key", provider="Schannel", event_id=36870, level=2),
        _row(100, "rdp:rcm:licensing:grace-expired", event_id=1128, level=3),
        _row(120, "power:sleep", provider="Microsoft-Windows-Kernel-Power", event_id=42, level=4),
        _row(180, "power:wake", provider="Microsoft-Windows-Power-Troubleshooter", event_id=1,
             level=4),
        _row(200, "sec:logon:success", provider="Microsoft-Windows-Security-Auditing",
             event_id=4624, level=0, data={"LogonType": "10"}, source="TS01_EventLogs/Security.evtx"),
        _row(201, "sec:logon:success", provider="Microsoft-Windows-Security-Auditing",
             event_id=4624, level=0, data={"LogonType": "3"}, source="TS01_EventLogs/Security.evtx"),
        _row(210, "event:other", provider="Foo", event_id=1, level=4),
        _row(15, "rdp:lsm:logon", host="TS02", event_id=21, level=4, user="CORP\\bob",
             source="TS02_EventLogs/LSM.evtx"),
    ]
    for i in range(5):
        rows.append(_row(130 + i, "sec:logon:failure", provider="Microsoft-Windows-Security-Auditing",
                         event_id=4625, level=0, user=HOSTILE_USER, ip="203.0.113.9",
                         source=HOSTILE_FILE, data={"LogonType": "3"}))
    for i in range(n_noise):     # many failed logons spread over two days, like a real log
        rows.append(_row((i * 1.7) % 2880, "sec:logon:failure", provider="Microsoft-Windows-"
                         "Security-Auditing", event_id=4625, level=0, user=f"CORP\\u{i % 500}",
                         ip=f"198.51.100.{i % 250}", locator=f"record {1000 + i}",
                         source="TS01_EventLogs/Security.evtx", message=f"4625 logon failure {i}"))
    rows.append({"time": None, "host": "TS01", "source": "TS01_Netstat.txt", "locator": "line 5",
                 "kind": "netstat", "event_type": "net:socket", "pid": 2412, "port": 3389,
                 "message": "TCP 0.0.0.0:3389 LISTENING 2412"})
    df = conform(pd.DataFrame(rows))
    return df.sort_values("time", na_position="first", kind="stable").reset_index(drop=True)


def config() -> pd.DataFrame:
    return pd.DataFrame([
        {"host": "TS01", "setting": "PortNumber", "value": 3389, "display": "3389 (0x0d3d)",
         "origin": "local", "gpo": None, "source": "TS01_RegistryKeys/TS.reg", "locator": "line 40",
         "overridden": [], "is_default": False},
        {"host": "TS01", "setting": "SecurityLayer", "value": 2, "display": "SSL (2)",
         "origin": "gpresult", "gpo": "RDP <Hardening>", "source": "TS01_gpresult.xml",
         "locator": "line 200", "overridden": [{"value": 1, "display": "Negotiate (1)",
                                                "origin": "local", "source": HOSTILE_FILE,
                                                "locator": "line 41", "gpo": None}],
         "is_default": False},
        {"host": "TS01", "setting": "fDenyTSConnections", "value": 0, "display": "0",
         "origin": "default", "gpo": None, "source": None, "locator": None, "overridden": [],
         "is_default": True},
    ])


def inventory() -> pd.DataFrame:
    rows = [
        {"source": "TS01_EventLogs/System.evtx", "kind": "evtx", "parser": "evtx",
         "status": "parsed", "records": 14, "warnings": 0, "host": "TS01", "dropped": 120},
        {"source": HOSTILE_FILE, "kind": "evtx", "parser": "evtx", "status": "parsed",
         "records": 5, "warnings": 1, "host": "TS01", "skipped_ranges": 1},
        {"source": "TS01_Netstat.txt", "kind": "netstat", "parser": "netstat",
         "status": "parsed", "records": 1, "warnings": 0, "host": "TS01"},
        {"source": "notes/readme.docx", "kind": "unknown", "status": "skipped",
         "reason": "not a format rdpdoctor reads"},
    ]
    return pd.DataFrame(rows).reindex(columns=INVENTORY_COLUMNS)


def report(*, findings: bool = True) -> Report:
    ev = [Evidence(source="TS01_Netstat.txt", locator="line 5",
                   excerpt="TCP 0.0.0.0:3389 0.0.0.0:0 LISTENING 2412"),
          Evidence(source="TS01_Tasklist.txt", locator="line 9",
                   excerpt="vncsrv.exe 2412 RemoteAssistPro"),
          Evidence(source="TS01_EventLogs/System.evtx", locator="record 700",
                   excerpt="RCM 260 listener RDP-Tcp failed", time=(T0 + pd.Timedelta(minutes=70)).isoformat())]
    fs = [
        Finding(id="port-conflict", severity="critical", host="TS01",
                title="Another program holds the RDP port",
                summary="port 3389 held by PID 2412 (vncsrv.exe, service RemoteAssistPro)",
                evidence=ev, remedy="Stop or reconfigure RemoteAssistPro.\nThen restart TermService.",
                references=["KB2477023"], explains=["listener-down"]),
        Finding(id="listener-down", severity="critical", host="TS01",
                title="The RDP-Tcp listener is not listening",
                summary="no LISTENING socket on 3389 owned by TermService",
                evidence=[ev[2]], remedy="See port-conflict.", references=["KB2477023"],
                explained_by="port-conflict"),
        Finding(id="rdp-brute-force", severity="warning", host="TS01",
                title="Failed logons from one address",
                summary=f"5 failed logons for {HOSTILE_USER} from 203.0.113.9",
                evidence=[Evidence(source=HOSTILE_FILE, locator="record 1300",
                                   excerpt=f"4625 {HOSTILE_USER} 203.0.113.9",
                                   time=(T0 + pd.Timedelta(minutes=130)).isoformat())],
                remedy="Block the address at the firewall.", references=[]),
    ] if findings else []
    checks = [
        Check(id="port-conflict", host="TS01", status="fail" if findings else "pass"),
        Check(id="listener-down", host="TS01", status="fail" if findings else "pass"),
        Check(id="rdp-disabled", host="TS01", status="pass"),
        Check(id="licensing-grace-expired", host="TS01", status="pass"),
        Check(id="connection-limit-reached", host="TS01", status="not-evaluated",
              missing=["`qwinsta` output"]),
        Check(id="tls-requires-high-encryption", host="TS01", status="not-evaluated",
              missing=["`reg export HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server` "
                       "output", "`gpresult /x` output"]),
        Check(id="rdp-brute-force", host="TS01", status="fail" if findings else "pass"),
    ]
    inv = inventory().to_dict("records")
    return Report(tool={"name": "rdpdoctor", "version": "0.1.0"}, bundle="tickets/1234 <b>.zip",
                  hosts=["TS01", "TS02"], findings=fs, checks=checks,
                  inventory=[{k: v for k, v in r.items() if not (isinstance(v, float) and pd.isna(v))}
                             for r in inv],
                  warnings=[{"source": HOSTILE_FILE, "locator": "offset 0x1a00",
                             "message": "chunk checksum mismatch <b>bad</b>; 12 records skipped"}])


def result(*, findings: bool = True, n_noise: int = 0) -> SimpleNamespace:
    """An AnalysisResult-like object: .report, .timeline, .config, .inventory."""
    return SimpleNamespace(report=report(findings=findings), timeline=timeline(n_noise),
                           config=config(), inventory=inventory(), bundle=None)
