"""Sockets, processes and sessions from command output, joined per host.

The port-conflict and listener checks of KB2477023 ask: which PID listens on the RDP port
(``netstat -ano``), which services that PID hosts (``tasklist /svc``), and is the RDP-Tcp
listener up (``qwinsta``). These helpers turn the ``net:socket``, ``proc:process`` and
``session:winstation`` rows of a timeline into plain DataFrames and join them on
(host, pid)::

    >>> b = analyzer.load("bundle.zip")                               # doctest: +SKIP
    >>> analyzer.processes.listeners(b.timeline, port=3389)           # doctest: +SKIP
       host   pid proto       ip  port        image                services  ...
    0  TS01  2412   TCP  0.0.0.0  3389   vncsrv.exe       [RemoteAssistPro]  ...

``services`` is the union of what ``tasklist /svc`` and ``netstat -b`` say for the PID (a
list); ``image`` comes from tasklist, else from ``netstat -b``. ``has_tasklist`` tells
"no tasklist for this host" apart from "the PID hosts no service". Rows keep ``source`` and
``locator`` of the netstat row (and ``proc_source``/``proc_locator`` of the tasklist row) as
evidence.
"""
from __future__ import annotations

import orjson
import pandas as pd

SOCKET_COLUMNS = ["host", "pid", "proto", "ip", "port", "remote_ip", "remote_port", "state",
                  "state_original", "listening", "netstat_image", "netstat_services",
                  "owner_unknown", "source", "locator"]
PROCESS_COLUMNS = ["host", "pid", "image", "services", "session_id", "session_name", "user",
                   "source", "locator"]
SESSION_COLUMNS = ["host", "session_id", "session_name", "user", "state", "state_original",
                   "type", "device", "current", "listener", "source", "locator"]
LISTENER_COLUMNS = ["host", "pid", "proto", "ip", "port", "image", "services", "has_tasklist",
                    "source", "locator", "proc_source", "proc_locator"]


def _rows(timeline: pd.DataFrame, event_type: str) -> pd.DataFrame:
    if timeline is None or len(timeline) == 0 or "event_type" not in timeline:
        return timeline.iloc[0:0] if timeline is not None else pd.DataFrame()
    return timeline[timeline["event_type"].astype("string") == event_type]


def _data(df: pd.DataFrame) -> list[dict]:
    return [orjson.loads(s) if isinstance(s, str) else {} for s in df["data"].tolist()]


def _host(s: pd.Series) -> list:
    return [None if pd.isna(h) else str(h) for h in s.tolist()]


def sockets(timeline: pd.DataFrame) -> pd.DataFrame:
    """Every netstat socket: one row per ``net:socket`` timeline row."""
    df = _rows(timeline, "net:socket")
    if len(df) == 0:
        return pd.DataFrame(columns=SOCKET_COLUMNS)
    d = _data(df)
    out = pd.DataFrame({
        "host": _host(df["host"]), "pid": df["pid"].astype("Int64").tolist(),
        "proto": [x.get("proto") for x in d], "ip": df["ip"].astype("string").tolist(),
        "port": df["port"].astype("Int32").tolist(),
        "remote_ip": [x.get("remote_ip") for x in d], "remote_port": [x.get("remote_port") for x in d],
        "state": [x.get("state") for x in d], "state_original": [x.get("state_original") for x in d],
        "listening": [bool(x.get("listening")) for x in d],
        "netstat_image": [x.get("image") for x in d],
        "netstat_services": [list(x.get("services") or []) for x in d],
        "owner_unknown": [bool(x.get("owner_unknown")) for x in d],
        "source": df["source"].astype("string").tolist(), "locator": df["locator"].astype("string").tolist(),
    })
    out["pid"] = out["pid"].astype("Int64")
    out["port"] = out["port"].astype("Int32")
    return out


def processes(timeline: pd.DataFrame) -> pd.DataFrame:
    """Every tasklist process: one row per ``proc:process`` timeline row."""
    df = _rows(timeline, "proc:process")
    if len(df) == 0:
        return pd.DataFrame(columns=PROCESS_COLUMNS)
    d = _data(df)
    out = pd.DataFrame({
        "host": _host(df["host"]), "pid": df["pid"].astype("Int64").tolist(),
        "image": [x.get("image") for x in d],
        "services": [list(x.get("services") or []) for x in d],
        "session_id": df["session_id"].astype("Int64").tolist(),
        "session_name": [x.get("session_name") for x in d],
        "user": df["user"].astype("string").tolist(),
        "source": df["source"].astype("string").tolist(), "locator": df["locator"].astype("string").tolist(),
    })
    out["pid"] = out["pid"].astype("Int64")
    out["session_id"] = out["session_id"].astype("Int64")
    return out


def sessions(timeline: pd.DataFrame) -> pd.DataFrame:
    """Every qwinsta row: one per ``session:winstation`` timeline row."""
    df = _rows(timeline, "session:winstation")
    if len(df) == 0:
        return pd.DataFrame(columns=SESSION_COLUMNS)
    d = _data(df)
    out = pd.DataFrame({
        "host": _host(df["host"]), "session_id": df["session_id"].astype("Int64").tolist(),
        "session_name": [x.get("session_name") for x in d], "user": df["user"].astype("string").tolist(),
        "state": [x.get("state") for x in d], "state_original": [x.get("state_original") for x in d],
        "type": [x.get("type") for x in d], "device": [x.get("device") for x in d],
        "current": [bool(x.get("current")) for x in d], "listener": [bool(x.get("listener")) for x in d],
        "source": df["source"].astype("string").tolist(), "locator": df["locator"].astype("string").tolist(),
    })
    out["session_id"] = out["session_id"].astype("Int64")
    return out


def owners(timeline: pd.DataFrame) -> pd.DataFrame:
    """Sockets joined with the tasklist process of the same (host, pid)."""
    socks = sockets(timeline)
    procs = processes(timeline)
    if len(socks) == 0:
        return socks.assign(image=[], services=[], has_tasklist=[], proc_source=[], proc_locator=[])
    hosts_with_tasklist = set(procs["host"].fillna("")) if len(procs) else set()
    # one process per (host, pid): the first tasklist row wins
    # (a process without a PID owns nothing: pandas would join its NA with a socket's NA)
    procs = procs[procs["pid"].notna()] if len(procs) else procs
    procs = procs.assign(_h=procs["host"].fillna("")).drop_duplicates(["_h", "pid"])
    socks = socks.assign(_h=socks["host"].fillna(""))
    m = socks.merge(procs[["_h", "pid", "image", "services", "source", "locator"]]
                    .rename(columns={"source": "proc_source", "locator": "proc_locator"}),
                    on=["_h", "pid"], how="left")
    images, services = [], []
    for ns_img, ns_svc, img, svc in zip(m["netstat_image"], m["netstat_services"], m["image"],
                                        m["services"]):
        images.append(img if isinstance(img, str) else ns_img)
        merged = list(svc) if isinstance(svc, list) else []
        merged += [s for s in ns_svc if s not in merged]
        services.append(merged)
    m["image"] = images
    m["services"] = services
    m["has_tasklist"] = [h in hosts_with_tasklist for h in m["_h"]]
    return m.drop(columns="_h")


def listeners(timeline: pd.DataFrame, port: int | None = None, proto: str | None = "TCP") -> pd.DataFrame:
    """Listening sockets (optionally on ``port``) with pid, image and services of the owner.

    ``proto`` "TCP" (default) keeps TCP listeners; None also keeps UDP sockets bound to the
    port (UDP has no LISTENING state: every bound UDP socket counts).
    """
    own = owners(timeline)
    if len(own) == 0:
        return pd.DataFrame(columns=LISTENER_COLUMNS)
    keep = own["listening"] | ((own["proto"] == "UDP") & (proto is None))
    if proto is not None:
        keep &= own["proto"] == proto
    if port is not None:
        keep &= own["port"] == port
    return own[keep.fillna(False)][LISTENER_COLUMNS].reset_index(drop=True)


def owner_of(timeline: pd.DataFrame, port: int, host: str | None = None) -> pd.DataFrame:
    """The TCP listeners on ``port`` (one row per socket, IPv4 and IPv6), for one host or all."""
    df = listeners(timeline, port=port)
    if host is not None:
        df = df[df["host"].fillna("").str.upper() == host.upper()]
    return df.reset_index(drop=True)
