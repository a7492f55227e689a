"""Listener detectors: is anything listening for RDP, and is it Terminal Services?

The article's part 2 procedure, done offline: ``netstat -ano`` tells which PID listens on
the RDP port (the *effective* PortNumber, so a moved port is checked on the new port),
``tasklist /svc`` (or ``netstat -b`` owner lines) tells which services that PID hosts, and
``qwinsta`` tells whether the RDP-Tcp listener is in Listen state. Service Control Manager
events and the TermService start type tell whether the service runs at all.
"""
from __future__ import annotations

import re

import pandas as pd

from .. import knowledge
from .. import timeline as tl
from ..findings import Evidence
from ..safetext import cmd_arg, code
from . import INPUTS, Context, Passed, detector, when
from .configuration import (RDPTCP_KEY, _policy_name, _policy_path,
                            restart_termservice_step)

TERMSERVICE = "termservice"
#: Service display names of TermService in SCM 7036/7031 (2003/2008 vs 2008 R2+).
#: Localized names as best known (de, fr, es, ru; 2003 names first): only needed where an
#: event carries no Binary (2003 .evt, CSV exports).
TERMSERVICE_DISPLAY = {"terminal services", "remote desktop services", "termservice",
                       "terminaldienste", "services terminal server", "servicios de terminal server",
                       "службы терминалов", "remotedesktopdienste", "services bureau à distance",
                       "servicios de escritorio remoto", "службы удаленных рабочих столов"}
#: ... or, whatever the display language, the service key name in a 7036's Binary
#: (``TermService/4``, UTF-16LE hex; :func:`analyzer.knowledge.scm_binary`).
_TS_NAMES = "|".join([re.escape(n) for n in sorted(TERMSERVICE_DISPLAY)]
                     + [knowledge.utf16_hex_pattern(["TermService"]) + "(?:2f00|0000|\"|$)"])
#: SERVICE_STATUS.dwCurrentState in that Binary
_STATE_CODES = {4: "running", 1: "stopped"}
_RUNNING = {"running", "en cours d'exécution", "wird ausgeführt", "en ejecución", "работает"}
_STOPPED = {"stopped", "arrêté", "beendet", "detenido", "остановлена"}


def rdp_port(ctx: Context) -> tuple[int, dict | None]:
    """The effective RDP port and the config row that says so (None: default assumed)."""
    row = ctx.setting("PortNumber")
    try:
        return (int(row["value"]), row) if row is not None else (3389, None)
    except (TypeError, ValueError):
        return 3389, None


def _latest_source(df: pd.DataFrame, ctx: Context | None = None) -> pd.DataFrame:
    """Rows of the most recent capture (one netstat/tasklist/qwinsta file or block).

    Captures whose file names this host (in its content or its MSRD folder) come before
    files the bundle only assumed to be this host's (unlabelled files beside one host's):
    such captures carry no time, so "latest" would otherwise be the file name's order."""
    if not len(df):
        return df
    src = df["source"].astype("string")
    if src.nunique() <= 1:
        return df
    inv = ctx.inventory if ctx is not None else None
    if inv is not None and len(inv) and "host_from" in inv.columns:
        assumed = set(inv.loc[inv["host_from"] == "bundle", "source"].astype(str))
        if assumed:
            stated = ~src.isin(assumed).fillna(False).to_numpy(dtype=bool)
            if stated.any() and not stated.all():
                df, src = df[stated], src[stated]
                if src.nunique() <= 1:
                    return df
    last = df.assign(_s=src).groupby("_s", observed=True)["time"].max().sort_values(
        na_position="first").index[-1]
    return df[src == last]


def _cut(q: pd.DataFrame) -> bool:
    """A qwinsta capture (with its decoded ``headerless`` column) without its header line
    (``qwinsta | findstr ...``): the rows it shows are real, but rows may be missing from
    it — an absent listener or a count below a limit proves nothing."""
    return bool(len(q)) and bool(q["headerless"].all())


def listening_sockets(ctx: Context) -> pd.DataFrame:
    """TCP LISTENING sockets of the latest netstat capture, with decoded data columns."""
    cached = ctx._cache.get("listening")
    if cached is not None:
        return cached
    socks = _latest_source(ctx.etype("net:socket"), ctx)
    if not len(socks):
        out = socks.assign(proto=[], state=[], listening=[], services=[], image=[])
    else:
        d = tl.fields(socks, "proto", "state", "listening", "services", "image", "remote")
        out = socks.assign(**{c: d[c] for c in d.columns})
        proto = out["proto"].astype(str).str.upper()
        listen = (out["listening"] == True) | (out["state"].astype(str).str.upper() == "LISTENING") \
            | out["remote"].astype(str).isin(["0.0.0.0:0", "[::]:0", "*:*"]) & proto.str.startswith("TCP")
        out = out[proto.str.startswith("TCP") & listen]
    ctx._cache["listening"] = out
    return out


def process_table(ctx: Context) -> pd.DataFrame:
    """pid → image, services (list or None) from the latest tasklist capture."""
    cached = ctx._cache.get("procs")
    if cached is not None:
        return cached
    procs = _latest_source(ctx.etype("proc:process"), ctx)
    if len(procs):
        d = tl.fields(procs, "image", "services")
        procs = procs.assign(image=d["image"], services=d["services"])
    else:
        procs = procs.assign(image=[], services=[])
    ctx._cache["procs"] = procs
    return procs


def _services_list(v) -> list[str] | None:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    if isinstance(v, str):
        v = [s.strip() for s in v.split(",")]
    out = [str(s).strip() for s in v if str(s).strip() and str(s).strip().upper() not in ("N/A",)]
    return out


def owner_of(ctx: Context, pid) -> dict:
    """What the bundle says about a PID: image, services, evidence rows."""
    info = {"pid": None if pd.isna(pid) else int(pid), "image": None, "services": None,
            "rows": []}
    procs = process_table(ctx)
    if len(procs) and info["pid"] is not None:
        hit = procs[procs["pid"] == info["pid"]]
        if len(hit):
            r = hit.iloc[-1]
            info["image"] = r["image"]
            svcs = _services_list(r["services"])
            if svcs is not None or "services" in (tl.data_of(r) or {}):
                info["services"] = svcs if svcs is not None else []
            info["rows"].append(r)
    return info


def classify(ctx: Context, socks: pd.DataFrame) -> tuple[list[dict], list[dict], list[dict]]:
    """Split listening sockets into (TermService-owned, other owners, unknown owners)."""
    ts, other, unknown = [], [], []
    for _, s in socks.iterrows():
        o = owner_of(ctx, s["pid"])
        partial = False
        if o["services"] is None:
            svcs = _services_list(s.get("services"))
            if svcs is not None:
                # netstat -b names only the service owning the socket's module, not every
                # service of a shared svchost (tasklist /svc does): a partial answer
                o["services"], partial = svcs, True
        if o["image"] is None and isinstance(s.get("image"), str):
            o["image"] = s["image"].strip("[]")
        o["socket"] = s
        svcs = [x.lower() for x in (o["services"] or [])]
        image = (o["image"] or "").lower()
        if TERMSERVICE in svcs:
            ts.append(o)
        elif partial and image in ("", "svchost.exe"):
            unknown.append(o)
        elif o["services"] is not None and (o["services"] or image not in ("", "svchost.exe")):
            other.append(o)
        elif image and image != "svchost.exe":
            other.append(o)           # a non-svchost image cannot host TermService
        else:
            unknown.append(o)
    return ts, other, unknown


def _describe(o: dict) -> str:
    svcs = o["services"] or []
    svc = ""
    if svcs:
        svc = (", service " if len(svcs) == 1 else ", services ") + ", ".join(svcs)
    pid = "?" if o["pid"] is None else o["pid"]     # (netstat's PID was unreadable)
    return f"PID {pid} ({o['image'] or 'unknown image'}{svc})"


def _stop_step(o: dict) -> str:
    """The commands that stop the program holding the port. Its service and image names
    are the customer's data: quoted for cmd.exe (a name with ``&`` or ``|`` would run a
    second command) and fenced as code so a backtick in them cannot end the span; a name
    that no quoting makes safe gets no command line (it is named as code, never loose in
    the text, where its backticks would pair with those of the commands)."""
    svc = (o["services"] or [None])[0]
    pid = o["pid"]
    if svc:
        q = cmd_arg(svc)
        if q:
            return f"{code(f'sc config {q} start= disabled')} then {code(f'sc stop {q}')}"
        return (f"set the service {code(svc)} to Disabled and stop it in services.msc (its name "
                "holds characters a command line cannot quote)"
                + (f", or {code(f'taskkill /PID {pid}')}" if pid is not None else ""))
    if pid is not None:
        return f"{code(f'taskkill /PID {pid}')} and remove it from startup"
    q = cmd_arg(o["image"]) if o["image"] else "<image>"
    if q:
        return f"{code(f'taskkill /IM {q}')} and remove it from startup"
    return f"end {code(o['image'])} in Task Manager and remove it from startup"


@detector(id="port-conflict", severity="critical",
          title="Another program holds the RDP port",
          inputs=("netstat", "tasklist", "reg"), references=("KB2477023",))
def port_conflict(ctx: Context):
    """Another process listens on the RDP port, so Terminal Services cannot.

    ``netstat -ano`` shows a TCP socket LISTENING on the effective RDP port (PortNumber,
    default 3389) whose PID — looked up in ``tasklist /svc`` or in ``netstat -b`` owner
    lines — does not host TermService. Typical squatters are remote-control tools (VNC,
    TeamViewer-style agents) or a second RDP stack. The listener fails to start (TermService
    1036 / RCM 260) and clients reach the wrong program or nothing. References: KB2477023
    part 2.
    """
    if not ctx.has("netstat"):
        return ctx.not_evaluated("netstat")
    port, port_row = rdp_port(ctx)
    every = listening_sockets(ctx)
    socks = every[every["port"] == port]
    moved = None               # PortNumber unknown: the port TermService itself listens on
    if port_row is None and len(every):
        ts_any, _, _ = classify(ctx, every)
        ts_ports = sorted({int(o["socket"]["port"]) for o in ts_any
                           if pd.notna(o["socket"].get("port"))})
        if ts_ports and port not in ts_ports:
            # TermService binds the RDP-Tcp PortNumber: its socket tells the port the
            # registry would (another program on 3389 is then no conflict for RDP)
            moved = port if len(socks) else None
            port = ts_ports[0]
            socks = every[every["port"] == port]
    if not len(socks):
        unreadable = _absence_unreadable(ctx, port)
        if unreadable:
            # `netstat -ano | findstr :135` or `netstat -n` cannot show who holds the port
            return ctx.not_evaluated(INPUTS["netstat"], note=unreadable)
        return []
    ts, other, unknown = classify(ctx, socks)
    if not other:
        if unknown and not ts:
            if all(o["pid"] is None for o in unknown):
                # no process list can name the owner of a socket without a PID
                # (a new capture is asked for: the one in the bundle is held, but lacks them)
                return ctx.not_evaluated(INPUTS["netstat"], note=_no_pid(ctx, port, "who holds"))
            return ctx.not_evaluated("tasklist")
        return []
    seen, descs, ev = set(), [], []
    for o in other:
        if o["pid"] in seen:
            continue
        seen.add(o["pid"])
        descs.append(_describe(o))
    ev += ctx.evidence(pd.DataFrame([o["socket"] for o in other]))
    for o in other:
        ev += ctx.evidence(pd.DataFrame(o["rows"])) if o["rows"] else []
    ev += ctx.cfg_evidence(port_row)
    listener = "; the RDP listener is down" if not ts else \
        "; TermService listens too, on another address"
    port_txt = f"port {port}" + ("" if port_row else
                                 f" (TermService's own; PortNumber not in the bundle, {moved} "
                                 "is held by another program)" if moved else
                                 " (TermService's own; PortNumber not in the bundle)"
                                 if port != 3389 else " (default; PortNumber not in the bundle)")
    steps = [f"Stop or reconfigure the program holding {port}: {_stop_step(other[0])}"
             " — or move it to another port.",
             restart_termservice_step(ctx),
             f"Check with `netstat -ano | findstr :{port}` and `tasklist /svc /fi \"PID eq <pid>\"` "
             "that the PID now hosts TermService, and `qwinsta` shows `rdp-tcp … Listen`."]
    return [ctx.finding(f"RDP {port_txt} is held by " + ", ".join(descs) + listener,
                        ev, steps,
                        details={"port": port,
                                 "pids": sorted({o["pid"] for o in other} - {None}),
                                 "images": sorted({o["image"] or "" for o in other}),
                                 "services": sorted({s for o in other for s in (o["services"] or [])})})]


def _winstation_rows(ctx: Context) -> pd.DataFrame:
    """Session rows of ``qwinsta`` captures: ``quser`` lists user sessions only, never the
    rdp-tcp listener, so its rows cannot show the listener up or gone (a bundle holding only
    quser output got a critical "listener down"; found by review)."""
    rows = ctx.etype("session:winstation")
    if not len(rows):
        return rows
    cmd = tl.fields(rows, "command")["command"]
    return rows[[c != "quser" for c in cmd]]


def _listener_rows(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(latest qwinsta snapshot with decoded columns, its rdp-tcp listener rows)."""
    q = _latest_source(_winstation_rows(ctx), ctx)
    if not len(q):
        return q, q
    d = tl.fields(q, "session_name", "state", "headerless")
    q = q.assign(session_name=d["session_name"].astype("string").str.lower().fillna(""),
                 state=d["state"].astype("string").fillna(""),
                 headerless=[v is True for v in d["headerless"]])
    lst = q[q["session_name"].str.startswith("rdp-tcp") & ~q["session_name"].str.contains("#")]
    return q, lst


@detector(id="listener-down", severity="critical", title="The RDP listener is not listening",
          inputs=("qwinsta", "netstat", "tasklist", "system", "rcm-log"),
          references=("KB2477023", "TechNet cc775339"))
def listener_down(ctx: Context):
    """Nothing owned by Terminal Services listens for RDP connections.

    ``qwinsta`` has no ``rdp-tcp … Listen`` row (or shows it Down), or ``netstat`` shows no
    LISTENING TCP socket on the effective RDP port owned by the TermService PID, or the
    service logged that the listener failed (TermService 1035/1036, RCM 260) with no later
    "listener started" (RCM 258). Clients then time out or are refused. Usually a consequence
    of something else — RDP disabled, the port taken, the service stopped — which is shown
    first when found. A netstat capture without its header whose rows share one port or
    PID (``| findstr :443``) may have had the RDP port filtered out: its silence on the
    port is not read as "closed". Failure events followed by a system start, or beside
    captures that show the listener up, are history. References: KB2477023 part 2, TechNet
    cc775339 (event 1036).
    """
    # listener failures are logged in System and the RDS logs, not in Security
    have_q, have_n = bool(len(_winstation_rows(ctx))), ctx.has("netstat")
    # (2003 logs them in System; 2008 and 2008 R2 in System or the RemoteConnectionManager
    # log, later versions in that log only: there a System log alone — or the session
    # manager's log — holds none of them, so it cannot make the check pass)
    have_ev, ev_input = ctx.rcm_events_held()
    fails = ctx.etype("sys:termservice:listener-down", "sys:termservice:session-create-failed",
                      "sys:termservice:stack-load-failed", "rdp:rcm:listener-failed",
                      "rdp:rcm:listener-down", "rdp:rcm:session-create-failed")
    have_ev = have_ev or bool(len(fails)) or bool(len(ctx.etype(    # failures found are
        "sys:termservice:connection-disabled", "rdp:rcm:connection-disabled")))  # read anywhere
    if not (have_q or have_n or have_ev):
        if ctx.has("qwinsta"):                  # quser output only: asked for again
            return ctx.not_evaluated(INPUTS["qwinsta"], "netstat", ev_input,
                                     note="the bundle's session list is `quser` output, "
                                          "which lists no listener")
        return ctx.not_evaluated("qwinsta", "netstat", ev_input)
    reasons, ev, details = [], [], {}
    live_up = False         # the captures show the listener up now
    q_absent = None         # qwinsta without the listener row: (reason, evidence)
    q_cut = False           # ... in a capture without its header (| findstr console)
    if have_q:
        q, lst = _listener_rows(ctx)
        if len(q) and not len(lst):
            if _cut(q):
                q_cut = True
            else:
                q_absent = ("qwinsta shows no rdp-tcp listener",
                            Evidence(source=str(q.iloc[0]["source"]), locator="(whole output)",
                                     excerpt="no `rdp-tcp … Listen` row among "
                                             f"{len(q)} qwinsta rows"))
        elif len(lst):
            down = lst[lst["state"].str.lower().isin(["down", "reset", "init"])]
            if len(down) and len(down) == len(lst):
                reasons.append(f"qwinsta shows rdp-tcp in state {down.iloc[0]['state']}")
                ev += ctx.evidence(down)
            else:
                live_up = True
    port, port_row = rdp_port(ctx)
    net_up = False          # netstat shows TermService's PID listening for RDP
    owner_unknown = []      # ... or only a PID nothing in the bundle names
    from_elsewhere = False  # ... seen in a capture other than the latest
    if have_n:
        socks = listening_sockets(ctx)
        if len(ctx.etype("net:socket")):
            on_port = socks[socks["port"] == port]
            ts, other, unknown = classify(ctx, on_port) if len(on_port) else ([], [], [])
            if port_row is None and not ts and len(socks):
                # PortNumber unknown: a TermService socket on any port is the listener
                ts_any, _, _ = classify(ctx, socks)
                if ts_any:
                    ts = ts_any
            # silence on the port is "closed" unless a filtered capture (findstr) may have
            # cut it out, or another capture (no time tells which is later) shows it up
            elsewhere = _listening_elsewhere(ctx, port) if not len(on_port) else None
            if elsewhere is not None and len(elsewhere) and not ts:
                ts_e, other_e, unknown_e = classify(ctx, elsewhere)
                ts, unknown = ts_e, ([] if ts_e else unknown_e + other_e)
                from_elsewhere = True
            if not len(on_port) and not ts and not (_absence_unreadable(ctx, port)
                                                    or (elsewhere is not None and len(elsewhere))):
                reasons.append(f"nothing listens on TCP {port}")
                ev.append(Evidence(source=str(ctx.etype('net:socket').iloc[0]["source"]),
                                   locator="(whole output)",
                                   excerpt=f"no LISTENING socket on port {port}"))
            live_up = live_up or bool(ts)
            net_up = bool(ts)
            if unknown and not (ts or other):
                owner_unknown = unknown
            if other and not ts and not unknown:
                reasons.append(f"TCP {port} is held by "
                               + ", ".join(dict.fromkeys(_describe(o) for o in other)))
                ev += ctx.evidence(pd.DataFrame([o["socket"] for o in other]))
        details["port"] = port
    if q_absent is not None and not net_up:
        # (when netstat shows TermService holding the port, the listener is up whatever a
        # capture taken at another moment says)
        reasons.insert(0, q_absent[0])
        ev.insert(0, q_absent[1])
    if len(fails) and not live_up:
        started = ctx.etype("rdp:rcm:listener-started")
        last_fail = fails["time"].max()
        # a later "listener started" (RCM 258, 2008+ Operational only) or system start
        # (the listener is created again at boot, and fails again if the cause stays)
        if not ctx.booted_after(last_fail) and (
                not len(started) or pd.isna(last_fail) or not (started["time"] > last_fail).any()):
            reasons.append(f"{len(fails)} listener failure event(s)")
            ev += ctx.evidence(fails.tail(ctx.param("evidence_rows")))
    disabled = _adapter_disabled(ctx) if not live_up else None
    if disabled is not None:
        reasons.append(disabled[0])
        ev += disabled[1]
    if not reasons:
        unreadable = _absence_unreadable(ctx, port) if have_n and not (have_q or len(fails)) \
            else None
        if unreadable:
            return ctx.not_evaluated(INPUTS["netstat"], note=unreadable)
        if not (live_up or have_ev):
            # nothing showed the listener up: the only qwinsta was cut (no header), or the
            # port is held by a PID no process list names (TermService, or a squatter?)
            if owner_unknown and not q_cut:
                known = [o for o in owner_unknown if o["image"] or o["services"]]
                if known and from_elsewhere:
                    # only another capture (no time tells which is current) shows the port,
                    # held by a program that is not TermService
                    return ctx.not_evaluated("netstat", note=(
                        f"one netstat capture shows TCP {port} held by "
                        + ", ".join(dict.fromkeys(_describe(o) for o in known))
                        + ", the latest none on it: which is current cannot be told"))
                if all(o["pid"] is None for o in owner_unknown):
                    return ctx.not_evaluated(INPUTS["netstat"], "qwinsta", note=_no_pid(
                        ctx, port, "whether TermService holds"))
                # (a shared svchost that `netstat -b` labels with one of its services)
                pids = ", ".join(dict.fromkeys(_describe(o) for o in owner_unknown))
                return ctx.not_evaluated(INPUTS["tasklist"], "qwinsta", note=(
                    f"TCP {port} is listened on by {pids}; `tasklist /svc` tells whether "
                    "that is TermService"))
            if q_cut:
                return ctx.not_evaluated("qwinsta", *(["tasklist"] if owner_unknown else []),
                                         note="the qwinsta capture has no header line "
                                              "(filtered with findstr?) and no rdp-tcp row")
        return []
    steps = []
    if disabled is not None:
        steps.append(_adapter_step(ctx))
    lan = ctx.setting("LanAdapter")
    if lan is not None and str(lan.get("value")) not in ("0", "None") and disabled is None:
        # the listener is bound to one adapter: replaced or disabled, it cannot start
        reasons.append(f"RDP-Tcp is bound to network adapter {lan['value']} (LanAdapter, by "
                       f"{ctx.source_phrase(lan)}), not to all adapters")
        ev += ctx.cfg_evidence(lan)
        steps.append(f"Bind RDP-Tcp to all adapters: `reg add \"{RDPTCP_KEY}\" /v LanAdapter "
                     "/t REG_DWORD /d 0 /f` (or tsconfig/RD Session Host Configuration > "
                     "Network Adapter: All), then restart the service — an adapter that was "
                     "replaced or disabled leaves the listener down.")
    if disabled is not None and lan is not None and str(lan.get("value")) not in ("0", "None"):
        reasons.append(f"RDP-Tcp is bound to network adapter {lan['value']} (LanAdapter, by "
                       f"{ctx.source_phrase(lan)}), not to all adapters")
        ev += ctx.cfg_evidence(lan)
    steps += ["Find out why: the findings shown above it (RDP disabled, port taken, service "
             "stopped) are the usual causes.",
             f"Check `netstat -ano | findstr :{port}` and `tasklist /svc` for the PID holding the "
             "port; `qwinsta` must show `rdp-tcp … Listen`."]
    if ctx.os() == "2003":
        steps.append("On 2003: if the listener is missing after every reboot, add `termdd` to "
                     "HKLM\\SYSTEM\\CurrentControlSet\\Services\\TermService\\DependOnService "
                     "and reboot; check tscc.msc that RDP-Tcp is enabled.")
    else:
        steps.append("Restart the Remote Desktop Services service; in Remote Desktop Session Host "
                     "Configuration / registry make sure RDP-Tcp is enabled (fEnableWinStation=1).")
    return [ctx.finding("RDP listener down: " + "; ".join(reasons), ev, steps, details=details)]


def _adapter_disabled(ctx: Context) -> tuple[str, list[Evidence]] | None:
    """TermService 1015: "The connection %1 was disabled and its custom network adapter
    settings reset because the terminal server could not determine the desired adapter"
    (termsrv.dll message 0x800003F7 of 2000 to 2008; libyal winevt-kb) — the listener was
    bound to an adapter that was replaced or removed, and is now disabled. That is a
    configuration change, not a passing failure: a later system start does not undo it (a
    disabled connection does not try the adapter again). A later "listener started" (RCM
    258), or an export showing RDP-Tcp enabled again (fEnableWinStation = 1), does (found
    by review: a System log with 1015 passed)."""
    rows = ctx.etype("sys:termservice:connection-disabled", "rdp:rcm:connection-disabled")
    if not len(rows):
        return None
    last = rows["time"].max()
    started = ctx.etype("rdp:rcm:listener-started")
    if len(started) and not pd.isna(last) and (started["time"] > last).any():
        return None
    winsta = ctx.setting("fEnableWinStation")
    if winsta is not None and str(winsta.get("value")) == "1":
        return None
    names = [str(n) for n in tl.fields(rows, "param1")["param1"].dropna().unique()]
    on = f" for {', '.join(names)}" if names else ""
    return (f"TermService disabled the connection{on} and reset its network adapter setting "
            f"because it could not find the adapter it was bound to ({len(rows)} event(s) "
            f"1015, last at {when(last)})",
            ctx.evidence(rows.tail(ctx.param("evidence_rows"))))


def _adapter_step(ctx: Context) -> str:
    """Re-enable RDP-Tcp on all adapters after TermService 1015, per OS."""
    tool = ("tscc.msc > Connections > RDP-Tcp" if ctx.os() == "2003" else
            "tsconfig.msc (2008 / 2008 R2) > RDP-Tcp" if (ctx.nt_version() or 6.0) < 6.2 else
            "the registry (no configuration console from 2012 on)")
    return (f"Bind RDP-Tcp to all adapters and enable it again: {tool} > Properties > Network "
            "Adapter: \"All network adapters configured with this protocol\", then enable the "
            f"connection — in the registry `reg add \"{RDPTCP_KEY}\" /v LanAdapter /t REG_DWORD "
            f"/d 0 /f` and `reg add \"{RDPTCP_KEY}\" /v fEnableWinStation /t REG_DWORD /d 1 /f`. "
            + restart_termservice_step(ctx))


def _no_pid(ctx: Context, port: int, what: str) -> str:
    """Why the owner of the socket on ``port`` is unknown: a capture without the PID
    column (``netstat -an``) or a PID that could not be read (a warning says which)."""
    pids = ctx.etype("net:socket")["pid"]
    why = "the netstat capture has no PID column (`netstat -an`?)" if pids.isna().all() \
        else f"the PID of the socket on TCP {port} could not be read (see the warnings)"
    return f"{why}: {what} TCP {port} cannot be told"


def _listening_elsewhere(ctx: Context, port: int) -> pd.DataFrame:
    """The LISTENING sockets on ``port`` of any netstat capture of this host, not only the
    one taken as the latest: captures carry no time, so "latest" may be a guess, and
    absence must not be read from one while another shows the port open."""
    rows = ctx.etype("net:socket")
    rows = rows[rows["port"] == port]
    if not len(rows):
        return rows
    d = tl.fields(rows, "listening", "services", "image")
    keep = [v is True for v in d["listening"]]
    return rows.assign(services=d["services"], image=d["image"])[keep]


def _absence_unreadable(ctx: Context, port: int) -> str | None:
    """Why the latest netstat capture cannot show that nothing listens on ``port`` (None
    when it can):

    * it lists no listening socket at all — ``netstat`` or ``netstat -n`` without ``-a``
      prints connections only, and every Windows listens on 135 and 445 (found on a real
      capture: a false critical "listener down");
    * it has no header, no row on ``port``, and one port or PID common to all its rows —
      what ``| findstr :443`` or ``| findstr 2412`` leaves. (``| findstr LISTENING`` keeps
      every listener: its rows share neither, and a missing port is then closed.)"""
    cap = _latest_source(ctx.etype("net:socket"), ctx)
    if not len(cap):
        return None
    if not len(listening_sockets(ctx)):
        return ("the netstat capture lists no listening socket (taken without -a?): it "
                f"cannot show whether anything listens on TCP {port}")
    if (cap["port"] == port).any():
        return None
    d = tl.fields(cap, "headerless", "remote_port")
    if not all(v is True for v in d["headerless"]):
        return None
    common = None
    for lport, rport, pid in zip(cap["port"], d["remote_port"], cap["pid"]):
        keys = {("port", v) for v in (lport, rport) if not pd.isna(v) and v} \
            | ({("pid", pid)} if not pd.isna(pid) else set())
        common = keys if common is None else common & keys
        if not common:
            return None
    return f"the netstat capture is filtered (findstr) and has no row on port {port}"


def _listener_seen_up(ctx: Context) -> bool:
    """A capture shows the RDP listener up (so TermService runs): a listening socket whose
    owner hosts TermService, or a qwinsta ``rdp-tcp`` row in Listen state."""
    socks = listening_sockets(ctx)
    if len(socks) and classify(ctx, socks)[0]:
        return True
    _, lst = _listener_rows(ctx)
    return bool(len(lst)) and bool((lst["state"].str.lower() == "listen").any())


def _complete_process_list(procs: pd.DataFrame) -> bool:
    """A whole ``tasklist``: it lists the processes every Windows runs. One filtered with
    ``/fi`` (``tasklist /svc /fi "PID eq 2412"``) does not, and a service missing from it
    says nothing about the service."""
    images = {str(i).lower() for i in procs["image"].dropna()}
    return bool(images & {"system", "system idle process", "services.exe", "lsass.exe",
                          "csrss.exe", "smss.exe"})


def _scm_rows(ctx: Context, types: tuple[str, ...]) -> pd.DataFrame:
    # most SCM events are about other services: look at the data text of them all, a slice
    # at a time, and take (and decode) only the rows that can name TermService — a 1 M-event
    # System log has ~500 k 7036 rows, whose whole rows or dicts cost hundreds of MB
    pos = ctx.positions(*types)
    if len(pos):
        named = ctx.column_map("data", pos, lambda s: s.astype("string").str.contains(
            _TS_NAMES, case=False, regex=True, na=False).to_numpy(dtype=bool))
        pos = pos[named]
    rows = ctx.take(pos)
    if not len(rows):
        return rows
    d = tl.fields(rows, "param1", "param2", "Binary")
    name = d["param1"].astype("string").str.strip().str.lower()
    word = d["param2"].astype("string").str.strip().str.lower()
    key, code = zip(*(knowledge.scm_binary(b) for b in d["Binary"]))
    key = pd.Series(key, index=rows.index, dtype="string").str.lower()
    # the Binary's state code is language-neutral; the state word is localized
    word = pd.Series([_STATE_CODES.get(c) for c in code], index=rows.index,
                     dtype="string").fillna(word)
    ts = (key == "termservice").fillna(False) | name.isin(TERMSERVICE_DISPLAY).fillna(False)
    rows = rows.assign(svc=key.fillna(name), state_word=word)
    return rows[ts]


@detector(id="termservice-not-running", severity="critical",
          title="The Terminal Services / Remote Desktop Services service is not running",
          inputs=("system", "reg", "tasklist"), references=("KB2477023", "KB946399"))
def termservice_not_running(ctx: Context):
    """The TermService service is stopped, disabled or crashing.

    The Service Control Manager logged TermService ("Terminal Services" / "Remote Desktop
    Services") entering the stopped state (7036) with no later running state, crashing
    (7031/7034) or failing to start (7000/7001); or the service start type is Disabled
    (``Services\\TermService\\Start`` = 4); or ``tasklist /svc`` lists no process hosting
    TermService (a whole list: one filtered with ``/fi`` lacks System, services.exe ... and
    proves nothing). A stop or crash followed by a system start, or beside a process list
    that shows TermService hosted, is history, not the present. Without the service there
    is no listener. References: KB2477023, KB946399.
    """
    start = ctx.setting("TermServiceStart")
    have_sys = ctx.has("system")
    procs = process_table(ctx)
    have_svc_list = len(procs) and procs["services"].map(
        lambda v: bool(_services_list(v))).any() and _complete_process_list(procs)
    if not have_sys and not have_svc_list and (start is None or str(start.get("value")) != "4"):
        if _listener_seen_up(ctx):
            # netstat shows TermService's PID listening (-b owner lines, or tasklist), or
            # qwinsta shows rdp-tcp in Listen: the service runs
            return []
        # a start type other than Disabled says the service may run, not that it does
        note = (f"TermService Start = {start.get('value')} (not Disabled) is all the bundle "
                "says" if start is not None else "")
        return ctx.not_evaluated("system", "tasklist", note=note)
    reasons, ev = [], []
    if start is not None and str(start.get("value")) == "4":
        reasons.append(f"the service is Disabled (Start = 4, by {ctx.source_phrase(start)})")
        ev += ctx.cfg_evidence(start)
    state = _scm_rows(ctx, ("svc:state",))
    bad = _scm_rows(ctx, ("svc:crash", "svc:start-failed"))
    running = state[state["state_word"].isin(_RUNNING)] if len(state) else state
    last_run = running["time"].max() if len(running) else None
    stopped = state[state["state_word"].isin(_STOPPED)] if len(state) else state
    # the process list is the present: a TermService host in it outranks the log's past,
    # and so does a system start after the last stop (the service starts with Windows)
    hosting = have_svc_list and procs["services"].map(
        lambda v: "termservice" in [s.lower() for s in (_services_list(v) or [])]).any()
    for label, rows in (("stopped", stopped), ("crashed or failed to start", bad)):
        if not len(rows) or hosting:
            continue
        last = rows["time"].max()
        if ctx.booted_after(last):
            continue
        if last_run is None or pd.isna(last_run) or (not pd.isna(last) and last > last_run):
            reasons.append(f"TermService {label} ({len(rows)} SCM event(s)) and was not seen "
                           "running again")
            ev += ctx.evidence(rows.tail(ctx.param("evidence_rows")))
    if have_svc_list and not hosting:
        reasons.append("tasklist /svc lists no process hosting TermService")
        ev.append(Evidence(source=str(procs.iloc[0]["source"]), locator="(whole output)",
                           excerpt=f"TermService absent from {len(procs)} processes"))
    if not reasons:
        return []
    if ctx.os() == "2003":
        steps = ["services.msc > Terminal Services: Startup type Manual (the default), then reboot "
                 "(Terminal Services cannot be restarted on its own on 2003).",
                 "If it fails to start, add `termdd` to TermService\\DependOnService and check "
                 "the System log for the 7000/7001 error."]
    else:
        steps = ["services.msc > Remote Desktop Services (TermService): Startup type Manual or "
                 "Automatic; `sc config TermService start= demand` then `net start TermService`.",
                 "If it stops again, read the 7031/7034/7000 events around it; on 2008 see "
                 "KB946399 (NETWORK SERVICE privileges)."]
    return [ctx.finding("; ".join(reasons), ev, steps)]


#: where `change logon /disable` keeps its state: ``WinStationsDisabled`` (REG_SZ "1") in the
#: Winlogon key (real `reg query` output of that key lists it; B. Tritsch, "Terminal Server
#: registry", wtstek.com). The Terminal Server key is read too: rdpdoctor's sample
#: generator (and the review) put the value there.
_LOGON_KEYS = ("hklm\\software\\microsoft\\windows nt\\currentversion\\winlogon",
               "hklm\\system\\currentcontrolset\\control\\terminal server")


def _winstations_disabled(ctx: Context) -> tuple[int, pd.DataFrame] | None:
    """(``WinStationsDisabled`` as a number, its row) from a registry export of this host —
    the Winlogon key's first — or None when no export holds it."""
    reg = ctx.etype("reg:value")
    if not len(reg):
        return None
    d = tl.fields(reg, "key", "name", "value")
    names = d["name"].astype("string").str.lower().fillna("")
    keys = d["key"].astype("string").str.lower().fillna("")
    for key in _LOGON_KEYS:
        hit = ((names == "winstationsdisabled") & (keys == key)).to_numpy(dtype=bool)
        if not hit.any():
            continue
        pos = hit.nonzero()[0][-1]
        try:
            return int(str(d["value"].iloc[pos]).strip(), 0), reg.iloc[[pos]]
        except ValueError:
            continue
    return None


#: what each `change logon /query` state means for new connections (the finding's words)
_CHGLOGON_SAYS = {
    "disabled": "logons from client sessions are disabled",
    "drain": "the server is in drain mode: new logons are refused, reconnections to "
             "existing sessions are allowed",
    "drain-until-restart": "the server is in drain mode until it restarts: new logons are "
                           "refused, reconnections to existing sessions are allowed",
}


def _chglogon_output(ctx: Context) -> tuple[dict, pd.DataFrame] | None:
    """(data, row) of this host's last ``change logon /query`` state, or None."""
    rows = ctx.etype("chglogon:state")
    if not len(rows):
        return None
    last = rows.iloc[[-1]]
    d = dict(tl.data_of(last.iloc[0]))
    # several outputs (a log of repeated checks, two files) that disagree: the last read
    # decides and the others are said (found by review: they were never mentioned)
    other = [f"{tl.data_of(r).get('state')} ({r['source']}, {r['locator']})"
             for _, r in rows.iloc[:-1].iterrows()
             if tl.data_of(r).get("state") != d.get("state")]
    if other:
        d["_others"] = (f"{len(other)} other `change logon /query` output(s) in the bundle say "
                        f"otherwise: {'; '.join(other[:3])}{' …' if len(other) > 3 else ''} "
                        "— the last one read is taken")
    return d, last


@detector(id="logons-disabled", severity="critical",
          title="New logons are disabled on the server (drain mode)",
          inputs=("rcm-log", "system", "reg", "chglogon"), references=("KB2477023", "chglogon"))
def logons_disabled(ctx: Context):
    """The session host refuses new logons (``chglogon /disable`` or drain mode).

    ``change logon /query`` output says so, RemoteConnectionManager logged 1070/1071, or the
    registry says ``WinStationsDisabled`` = 1 (what ``change logon /disable`` sets):
    connections are accepted at the network level but logons are disabled, so RDP "looks"
    enabled and listening and users are still refused ("remote logins are currently
    disabled"). The output is the live state and decides on every Windows version (the
    registry and the events are mentioned beside it); without it the events are read from
    the RemoteConnectionManager logs, or the System log on 2008 and 2008 R2 (a later System
    log, or the session manager's log, holds no RCM event and cannot show it absent).
    Windows Server 2003 logs no event for it: there only ``WinStationsDisabled`` or
    ``change logon /query`` tells. References: KB2477023, chglogon.
    """
    from . import WINLOGON_REG

    rows = ctx.etype("rdp:rcm:logons-disabled")
    flag = _winstations_disabled(ctx)
    old = ctx.os() == "2003"
    out = _chglogon_output(ctx)
    if out is not None:
        return _judge_chglogon(ctx, *out, rows, flag)
    if not len(rows) and (flag is None or flag[0] != 1):
        if flag is not None and old:
            return []                   # WinStationsDisabled = 0: logons are enabled
        if old:
            # (RCM 1070/1071 came with 2008: a 2003 System log cannot show it; found by
            # review — the check passed on every 2003 System log)
            return ctx.not_evaluated("chglogon", WINLOGON_REG, note=(
                "Windows Server 2003 logs no event when logons are disabled (`change logon "
                "/disable`): its state is in WinStationsDisabled, which the bundle lacks"))
        # from 2008 on WinStationsDisabled = 0 tells only of `change logon`: drain mode
        # (`chglogon /drain`, the broker's "Allow new connections") shows in RCM 1070/1071,
        # or in `change logon /query` output (the live state)
        held, ask = ctx.rcm_events_held()
        if not held:
            return ctx.not_evaluated(ask, "chglogon")
        return []
    reasons, ev = [], []
    if flag is not None and flag[0] == 1:
        key = tl.fields(flag[1], "key")["key"].iloc[0]
        reasons.append(f"WinStationsDisabled = 1 in {key} (logons from client sessions are "
                       "disabled: `change logon /disable`)")
        ev += ctx.evidence(flag[1])
    if len(rows):
        reasons.append(f"RemoteConnectionManager logged {len(rows)} \"logons disabled\" "
                       f"event(s), last at {when(rows['time'].max())}")
        ev += ctx.evidence(rows.tail(ctx.param("evidence_rows")))
    return [ctx.finding("; ".join(reasons), ev, _enable_steps(ctx, "disabled"),
                        total=len(rows) + (1 if flag is not None and flag[0] == 1 else 0))]


def _enable_steps(ctx: Context, state: str) -> list[str]:
    """How to let users log on again, for this OS and state (`change logon` on 2003; the
    same command is chglogon from 2008 on, with drain mode)."""
    if ctx.os() == "2003":
        return ["At the server's console run `change logon /enable` (logons from the console "
                "are never disabled), then `change logon /query`; a restart also re-enables "
                "logons.",
                "Find out who disabled them (maintenance scripts run `change logon /disable`)."]
    first = {"drain": "On the server run `chglogon /enable` to end drain mode (`chglogon "
                      "/drain` set it), then `chglogon /query`.",
             "drain-until-restart": "On the server run `chglogon /enable` to end drain mode "
                                    "(`chglogon /drainuntilrestart` set it; a restart also "
                                    "ends it), then `chglogon /query`."}.get(
        state, "On the server run `chglogon /query`; `chglogon /enable` re-enables logons.")
    return [first,
            "In a farm, check the RD Connection Broker drain setting "
            "(\"Allow new connections\").",
            "Confirm by connecting again; RCM 1070/1071 must not reappear."]


def _judge_chglogon(ctx: Context, d: dict, out: pd.DataFrame, rows: pd.DataFrame,
                    flag: tuple[int, pd.DataFrame] | None):
    """The check on ``change logon /query`` output: it is the live state, so it decides;
    the registry value and the RCM events are said beside it (as support, or as what it
    outranks)."""
    state = d.get("state")
    src, loc = str(out.iloc[0]["source"]), str(out.iloc[0]["locator"] or "")
    quoted = f"\"{d.get('text') or state}\""
    others: list[str] = []                      # what the registry and the events say
    ev_more: list = []
    if flag is not None:
        key = tl.fields(flag[1], "key")["key"].iloc[0]
        others.append(f"WinStationsDisabled = {flag[0]} in {key}")
        ev_more += ctx.evidence(flag[1])
    if len(rows):
        others.append(f"RemoteConnectionManager logged {len(rows)} \"logons disabled\" "
                      f"event(s), last at {when(rows['time'].max())}")
        ev_more += ctx.evidence(rows.tail(ctx.param("evidence_rows")))
    gp = bool(d.get("group_policy"))
    if state == "enabled":
        by = " (set by Group Policy)" if gp else ""
        note = f"`change logon /query` says session logons are enabled{by}: {quoted} ({src}, {loc})"
        against = [o for o in others if not o.startswith("WinStationsDisabled = 0")]
        if len(rows):
            # the events say when logons were refused: a ticket's failure may be exactly
            # that window, so enabled-at-capture is said as a warning, not a silent pass
            # (found by review)
            last = when(rows["time"].max())
            summary = (f"Logons were disabled earlier: RemoteConnectionManager logged "
                       f"{len(rows)} \"logons disabled\" event(s), last at {last}; `change "
                       f"logon /query` says they are enabled now{by}: {quoted}")
            if flag is not None and flag[0] == 1:
                summary += f" (the registry export still has {others[0]})"
            if d.get("_others"):
                summary += "; " + d["_others"]
            cmd = "change logon" if ctx.os() == "2003" else "chglogon"
            steps = [f"If users could not connect around {last}, this was why: new logons "
                     "were refused until they were enabled again.",
                     f"Find out who disables them (a maintenance script running `{cmd} "
                     f"/disable`{'' if cmd == 'change logon' else ' or `chglogon /drain`'}, "
                     "the RD Connection Broker's \"Allow new connections\") so it does not "
                     "recur.",
                     f"Nothing to change now: `{cmd} /query` says session logins are ENABLED."]
            return [ctx.finding(summary, ctx.evidence(out) + ev_more, steps,
                                title="New logons were disabled earlier (enabled at capture)",
                                total=1 + len(rows) + (1 if flag else 0), severity="warning")]
        if against:
            note += ("; it is the live state and outranks " + " and ".join(against) +
                     " (logons were enabled again since, or the export is of another time)")
        if d.get("_others"):
            note += "; " + d["_others"]
        return Passed(note)
    if state not in _CHGLOGON_SAYS:
        return ctx.not_evaluated("chglogon", note=f"`change logon /query` state {state!r} "
                                                  "not understood")
    summary = f"`change logon /query` says {_CHGLOGON_SAYS[state]}" + \
        (" — set by Group Policy" if gp else "") + f": {quoted}"
    said = list(others)
    if flag is not None:
        # (others[0] is the registry value): 0 beside "disabled" disagrees; 1 is what
        # `change logon /disable` sets, not drain mode (found by review)
        if flag[0] != 1 and state == "disabled":
            said[0] = f"the registry export's {others[0]} disagrees (the output is the live state)"
        elif flag[0] == 1 and state != "disabled":
            said[0] = f"the registry export also has {others[0]} (`change logon /disable`)"
    if d.get("_others"):
        said.append(d["_others"])
    if said:
        summary += "; " + "; ".join(said)
    steps = _enable_steps(ctx, state)
    if gp:
        # The output says Group Policy sets the state and `change logon` cannot change it.
        # Which policy chglogon consults is not documented (no real quote of this output was
        # found, see parsers/chglogon.py); the one Terminal Services policy that allows or
        # denies this machine's Remote Desktop connections is fDenyTSConnections, "Allow
        # users to connect remotely …" (KNOWLEDGE.md G02, TerminalServer.admx): it is named,
        # and gpresult is asked to show the GPO.
        pol = _policy_name(ctx, "Allow users to connect remotely")
        steps = [f"Group Policy sets this state: `change logon /enable` cannot change it. Run "
                 "`gpresult /h` (elevated) to find the GPO that sets the Remote Desktop "
                 f"connection policy — \"{pol}\" ({_policy_path(ctx, 'Connections')}) — and "
                 "set it to Enabled (or Not Configured), then `gpupdate /force`.",
                 f"Run `{'change logon' if ctx.os() == '2003' else 'chglogon'} /query` again: "
                 "it must say session logins are ENABLED."]
    ev = ctx.evidence(out) + ev_more
    return [ctx.finding(summary, ev, steps, total=1 + len(rows) + (1 if flag else 0))]
