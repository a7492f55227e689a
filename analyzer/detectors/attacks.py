"""Attack and noise detectors: password guessing over RDP, protocol-error bursts.

Both work on time windows per client address. A failed *network* logon (4625 type 3) is
what NLA produces for a wrong RDP password — and also what SMB password guessing produces,
so type-3 failures count as RDP only with RDP evidence beside them (RdpCoreTS 131/140, RCM
261, type-10 logons). Thresholds are tunable (``[params]`` in rdpdoctor.toml).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import timeline as tl
from . import Context, detector

#: An IPv4 literal (the client address in a TermDD 56 message, whatever its language).
_IPV4 = r"(?<![\d.])((?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3})(?![\d.])"


def max_in_window(times, window: pd.Timedelta) -> tuple[int, pd.Timestamp | None]:
    """Largest number of events inside any ``window``-long interval, and where it starts.

    ``times``: a Series of timestamps, or a numpy datetime64[us] array (NaT allowed)."""
    if isinstance(times, pd.Series):
        times = times.dropna().to_numpy(dtype="datetime64[us]")
    t = np.sort(times[~np.isnat(times)])
    if not len(t):
        return 0, None
    w = np.timedelta64(int(window.total_seconds() * 1_000_000), "us")
    ends = np.searchsorted(t, t + w, side="right")
    counts = ends - np.arange(len(t))
    i = int(counts.argmax())
    return int(counts[i]), pd.Timestamp(t[i], tz="UTC")


def groups_over(rows: pd.DataFrame, key: pd.Series, need: int, window: pd.Timedelta):
    """(key, count, start, rows) for every key with at least ``need`` rows inside one window:
    ``rows`` are the ``count`` rows of that window, from ``start`` — what a finding names and
    shows as evidence (the key's other rows, hours before, used to lead its evidence).

    Keys with fewer rows overall are skipped before any per-group work (a Security log has
    thousands of addresses with a handful of events each)."""
    if not len(rows):
        return
    codes, uniq = pd.factorize(key.to_numpy(), sort=True)
    sizes = np.bincount(codes[codes >= 0], minlength=len(uniq))
    times = rows["time"].to_numpy(dtype="datetime64[us]", na_value=np.datetime64("NaT"))
    w = np.timedelta64(int(window.total_seconds() * 1_000_000), "us")
    for c in np.nonzero(sizes >= need)[0]:
        pos = np.nonzero(codes == c)[0]
        n, start = max_in_window(times[pos], window)
        if n >= need:
            t0 = np.datetime64(start.tz_convert("UTC").tz_localize(None), "us")
            t = times[pos]
            inside = pos[(t >= t0) & (t <= t0 + w)]        # (NaT compares False)
            inside = inside[np.argsort(times[inside], kind="stable")]
            yield uniq[c], n, start, tl.take(rows, inside)


def logon_type(df: pd.DataFrame) -> pd.Series:
    """The ``LogonType`` of Security rows as a string, read from ``data`` without decoding
    every JSON object (vectorised; Security logs are the big ones)."""
    return _logon_type_of(df["data"]) if len(df) else pd.Series([], dtype="string")


def _logon_type_of(data: pd.Series) -> pd.Series:
    return data.astype("string").str.extract(r'"LogonType":"?(\d+)', expand=False).fillna("")


class _Burst:
    """What a brute-force finding keeps of one burst's rows: the first three (evidence),
    the count and the user names — not the rows themselves (tens of thousands in a big
    Security log)."""

    def __init__(self, ctx: Context, grp: pd.DataFrame, key: str):
        self.head = ctx.take(grp["_pos"].to_numpy()[:3]) if "_pos" in grp else grp.head(3)
        self.rows = len(grp)
        self.users = set(grp["user"].dropna().astype(str))
        self.address = as_logged(grp, key)


def as_logged(grp: pd.DataFrame, key: str) -> str:
    """The address a burst's rows show most often, as logged (``::ffff:203.0.113.5`` stays
    so: the reader searches her own log for it); ``key`` when they show none."""
    if key == NO_ADDRESS or "ip" not in grp:
        return key
    shown = grp["ip"].dropna().astype(str)
    return str(shown.value_counts().index[0]) if len(shown) else key


#: What the counting needs of a Security logon failure (whole rows only for the evidence).
_NARROW = ("time", "ip", "user")


def _narrow(ctx: Context, positions: np.ndarray) -> pd.DataFrame:
    """Time, address and user of the rows at ``positions``, and ``_pos`` (their position,
    to take the few evidence rows whole later)."""
    return ctx.take(positions, columns=_NARROW).assign(_pos=positions)


def _logon_type_is(value: str):
    """For :meth:`Context.column_map`: a boolean per ``data`` value, LogonType == value."""
    return lambda data: (_logon_type_of(data) == value).to_numpy(dtype=bool)


def tcp_connections(accepted: pd.DataFrame) -> pd.DataFrame:
    """The RdpCoreTS 131 rows of *TCP* connections. RDP 8+ opens a UDP side channel for a
    connection already made over TCP and logs a 131 ``ConnType=UDP`` for it (KNOWLEDGE C01;
    the esa rdpsharp sample: each UDP 131 follows its TCP one within a second): not a new
    connection. A row without ``ConnType`` (an export that lost it) is counted."""
    if not len(accepted):
        return accepted
    conn = accepted["data"].astype("string").str.extract(r'"ConnType":"([^"]*)"', expand=False)
    udp = conn.str.strip().str.upper().eq("UDP").fillna(False).to_numpy(dtype=bool)
    return accepted[~udp]


def logon_link(ctx: Context) -> pd.Timedelta:
    """How long after an accepted connection a logon from its address is taken as that
    connection's (``[params] connection_logon_link_minutes``, default 5; NLA: seconds, a
    logon screen without NLA waits for the user to type). rdp-brute-force and
    tls-certificate-problem read it."""
    return pd.Timedelta(minutes=float(ctx.param("connection_logon_link_minutes")))


def minutes_text(td: pd.Timedelta) -> str:
    """``5`` / ``7.5``: a window's minutes for a finding's text (a tuned one may be a
    fraction)."""
    return f"{td.total_seconds() / 60:g}"


def without_logons(conns: pd.DataFrame, logon_ips: pd.Series, logon_times: pd.Series,
                   need: int, link: pd.Timedelta) -> pd.DataFrame:
    """``conns`` (RdpCoreTS 131) less the connections a logon followed. Each logon (RCM
    1149, 4624 type 10, LSM 21/25: address and time) takes the latest connection from its
    address at or before it, within ``link`` (:func:`logon_link`). Only addresses with at
    least ``need`` connections are looked at (no burst otherwise)."""
    if not len(conns) or not len(logon_ips):
        return conns
    ips = client_keys(conns["ip"]).to_numpy()
    times = conns["time"].to_numpy(dtype="datetime64[us]", na_value=np.datetime64("NaT"))
    l_ips = client_keys(logon_ips.reset_index(drop=True)).to_numpy()
    l_times = logon_times.reset_index(drop=True).to_numpy(dtype="datetime64[us]",
                                                          na_value=np.datetime64("NaT"))
    link = np.timedelta64(int(link.total_seconds() * 1_000_000), "us")
    done = np.zeros(len(conns), dtype=bool)
    uniq, counts = np.unique(ips, return_counts=True)
    for ip in uniq[(counts >= need) & (uniq != NO_ADDRESS)]:
        at = l_times[(l_ips == ip) & ~np.isnat(l_times)]
        if not len(at):
            continue
        pos = np.nonzero((ips == ip) & ~np.isnat(times))[0]
        pos = pos[np.argsort(times[pos], kind="stable")]
        t = times[pos]
        last = np.searchsorted(t, at, side="right") - 1          # latest connection ≤ logon
        ok = (last >= 0)
        ok[ok] = (at[ok] - t[last[ok]]) <= link
        done[pos[last[ok]]] = True
    return conns[~done]


NO_ADDRESS = "(no address)"


def client_keys(s: pd.Series) -> pd.Series:
    """Each row's client, in the form that compares equal across logs
    (:func:`parsers.eventcommon.client_key`: ``::ffff:203.0.113.5`` of a 4625 is the
    ``203.0.113.5`` of an RdpCoreTS 131); :data:`NO_ADDRESS` where a row has none. Computed
    once per distinct address (a log repeats a few addresses many times)."""
    from parsers.eventcommon import client_key

    if not len(s):
        return pd.Series([], index=s.index, dtype="string")
    codes, uniq = pd.factorize(s.astype("string").to_numpy(dtype=object, na_value=None))
    keys = np.array([client_key(u) or NO_ADDRESS for u in uniq] + [NO_ADDRESS], dtype=object)
    return pd.Series(keys[codes], index=s.index, dtype="string")       # (code -1: none)


@detector(id="rdp-brute-force", severity="warning",
          title="Password guessing over RDP",
          inputs=("security", "rdpcorets-log"), references=("KB2477023", "MITRE T1110"))
def rdp_brute_force(ctx: Context):
    """Many failed RDP logons from one address in a short window: someone is guessing passwords.

    Counted per source address and time window: RdpCoreTS 140 (NLA credential failure),
    bursts of RdpCoreTS 131 (accepted TCP connections — not the UDP side channel of one, and
    not one a logon from the same address followed within ``[params]
    connection_logon_link_minutes``, 5: RCM 1149, 4624 type 10, LSM 21/25 say its password
    was right), Security 4625 with logon type 10 —
    and 4625 type 3 only with RDP evidence beside it (RCM 261, RdpCoreTS 131/140, type-10
    logons), because SMB password guessing produces type-3 failures too. Besides the risk,
    guessing locks accounts out and fills the listener's pending-connection queue so real
    users cannot connect. References: KB2477023, MITRE ATT&CK T1110.
    """
    nt = ctx.nt_version()
    if ctx.os() == "2003":
        nt = min(nt or 5.2, 5.2)
    # RdpCoreTS logs from 2012 (NT 6.2) on: older servers are asked for Security alone
    core_exists = nt is None or nt >= 6.2
    if not (ctx.has("security") or (core_exists and ctx.has("rdpcorets-log"))):
        return ctx.not_evaluated("security", *(["rdpcorets-log"] if core_exists else []))
    window = pd.Timedelta(minutes=float(ctx.param("brute_force_window_minutes")))
    margin = pd.Timedelta(minutes=float(ctx.param("rdp_evidence_margin_minutes")))
    need_fail = int(ctx.param("brute_force_min_failures"))
    need_conn = int(ctx.param("brute_force_min_connections"))

    core_fail = ctx.etype("rdp:core:auth-failed")
    accepted = ctx.etype("rdp:core:connection-accepted")
    received = ctx.etype("rdp:rcm:connection-received")
    # Security logons are the bulk of a big bundle: read LogonType from their data a slice at
    # a time, and take whole rows only of the logon types counted here
    fail_pos = ctx.positions("sec:logon:failure")
    type10 = _narrow(ctx, fail_pos[ctx.column_map("data", fail_pos, _logon_type_is("10"))])
    type3 = _narrow(ctx, fail_pos[ctx.column_map("data", fail_pos, _logon_type_is("3"))])
    ok_pos = ctx.positions("sec:logon:success")
    ok10_pos = ok_pos[ctx.column_map("data", ok_pos, _logon_type_is("10"))]

    # RDP evidence: rows with an address (matched by address and time) and RCM 261 (time
    # only); only these two columns of the type-10 logons are read
    ev_ip = pd.concat([core_fail["ip"], accepted["ip"], type10["ip"], ctx.column("ip", ok10_pos)])
    ev_time = pd.concat([core_fail["time"], accepted["time"], type10["time"],
                         ctx.column("time", ok10_pos)])
    # (looked up per type-3 burst only: an internet-facing server's RdpCoreTS log has tens of
    # thousands of addresses, and a frame per address cost ~50 µs each)
    ev_ips = client_keys(ev_ip).to_numpy() if len(ev_ip) else np.array([], dtype=object)
    ev_times = ev_time.reset_index(drop=True)
    rdp_times = pd.concat([ev_time, received["time"]]).dropna().sort_values()

    bursts = []   # (label, ip, count, start, rows) — rows cut to what the finding shows
    def keep(label: str, ip, n: int, start, grp: pd.DataFrame):
        bursts.append((label, ip, n, start, _Burst(ctx, grp, ip)))

    def scan(rows: pd.DataFrame, label: str, need: int):
        for ip, n, start, grp in groups_over(rows, client_keys(rows["ip"]), need, window):
            keep(label, ip, n, start, grp)

    scan(core_fail, "RdpCoreTS 140 credential failures", need_fail)
    scan(type10, "4625 type-10 failures", need_fail)
    # a 131 is a guess only if it is a connection of its own (TCP) that no logon followed
    logons = ctx.etype("rdp:rcm:auth-success", "rdp:lsm:logon", "rdp:lsm:reconnect")
    guesses = without_logons(
        tcp_connections(accepted), pd.concat([logons["ip"], ctx.column("ip", ok10_pos)]),
        pd.concat([logons["time"], ctx.column("time", ok10_pos)]), need_conn, logon_link(ctx))
    scan(guesses, "RdpCoreTS 131 TCP connections", need_conn)
    unattributed = []      # type-3 bursts nothing in the bundle ties to RDP
    if len(type3):
        for ip, n, start, grp in groups_over(type3, client_keys(type3["ip"]), need_fail, window):
            # "beside it": RDP from the same address around the burst (a user's stale
            # mapped-drive password fails over SMB hours after her RDP session), else any
            # RDP connection around it when RCM logs connections
            # around the burst itself (the address's other failures may be hours away)
            t0, t1 = start - margin, start + window + margin
            same = ev_times[ev_ips == ip] if ip != NO_ADDRESS else ev_times.iloc[:0]
            attributed = bool(((same >= t0) & (same <= t1)).any())
            if not attributed:
                attributed = bool(((rdp_times >= t0) & (rdp_times <= t1)).any()) and len(received) > 0
            if attributed:
                keep("4625 type-3 (NLA) failures with RDP evidence", ip, n, start, grp)
            else:
                unattributed.append((as_logged(grp, ip), n))
    if not bursts:
        # NLA failures over RDP are type 3 as well (2008 on; 2003 has no NLA): without the
        # RDS logs nothing tells them from SMB guessing, so "no RDP guessing" cannot be said
        rds = ["rcm-log"] + (["rdpcorets-log"] if core_exists else [])
        nla = nt is None or nt >= 6.0
        # (attribution reads RCM 261 — Operational — and RdpCoreTS: the Admin log is not needed)
        told = ctx.has_log("remoteconnectionmanager", "operational") and (
            not core_exists or ctx.has("rdpcorets-log"))
        if unattributed and nla and not told:
            ip, n = max(unattributed, key=lambda x: x[1])
            return ctx.not_evaluated(
                *rds,
                note=f"{len(unattributed)} burst(s) of 4625 type-3 failures (largest: {n} from "
                     f"{ip}) may be RDP (NLA) or SMB guessing; the RDS logs tell which")
        return []
    bursts.sort(key=lambda b: (-b[2], b[1]))
    parts, ev = [], []
    for label, ip, n, start, grp in bursts[:5]:
        parts.append(f"{n} {label} from {grp.address} within {minutes_text(window)} min "
                     f"(from {start:%Y-%m-%d %H:%M} UTC)")
        ev += ctx.evidence(grp.head)
    more = f" (+{len(bursts) - 5} more)" if len(bursts) > 5 else ""
    total = int(sum(b[4].rows for b in bursts))
    users = set()
    clients: dict[str, str] = {}       # client_key → the address as the first burst logs it
    for b in bursts:                   # (largest first, as the summary lists them)
        users |= b[4].users
        clients.setdefault(b[1], b[4].address)
    return [ctx.finding("; ".join(parts) + more, ev,
                        ["Do not expose RDP to the internet: put it behind a VPN or RD Gateway, or "
                         "restrict TCP 3389 in the firewall to known addresses.",
                         "Block the listed addresses; require NLA; enable an account lockout "
                         "policy.",
                         "Check whether any guessed account then logged on (4624 type 10 / RCM "
                         "1149 from the same address)."],
                        total=total,
                        details={"addresses": sorted(clients.values()),
                                 "users_tried": len(users)})]


#: Underlying errors a TermDD 56 carries (the last DWORD of its dump data), by NTSTATUS /
#: HRESULT: name and meaning. The first four are Ask the Performance Team's ("The Curious
#: Case of Event ID 56 with Source TermDD"); the connection ones are ntstatus.h's.
TERMDD_CAUSES: dict[int, tuple[str, str]] = {
    0xC0000184: ("STATUS_INVALID_DEVICE_STATE", "the server sent data after the connection "
                 "had broken"),
    0xC00000B5: ("STATUS_IO_TIMEOUT", "the connection timed out"),
    0x80090304: ("SEC_E_INTERNAL_ERROR", "the Local Security Authority cannot be contacted: "
                 "TLS failed"),
    0xC000006F: ("STATUS_INVALID_LOGON_HOURS", "the account may not log on at this time"),
    0xC000020C: ("STATUS_CONNECTION_DISCONNECTED", "the connection was disconnected"),
    0xC000020D: ("STATUS_CONNECTION_RESET", "the connection was reset"),
    0xC0000241: ("STATUS_CONNECTION_ABORTED", "the connection was aborted"),
}
_BROKEN = (0xC0000184, 0xC000020C, 0xC000020D, 0xC0000241)


def _hex(code: int) -> str:
    return "0x%08X" % code


def _from_hresult(code: int) -> int:
    """HRESULT_FROM_NT sets the N bit (0x10000000, [MS-ERREF] 2.1): 0xD0000184 is NTSTATUS
    0xC0000184. Other HRESULTs (0x80090304) stay as they are."""
    return code & ~0x10000000 if code & 0x10000000 else code


def _termdd_codes(d: dict) -> tuple[str | None, int | None]:
    """(the event's status as ``0x…``, the underlying error as an NTSTATUS / HRESULT) of one
    TermDD row's data: decoded from ``Binary`` (the IO_ERROR_LOG_PACKET: see
    :func:`parsers.eventcommon.termdd_codes`), else the parsers' ``ntstatus`` (the last DWORD
    in bundles read before the layout was fixed: an underlying error when it is no
    0xC00A00xx TermDD status)."""
    from parsers.eventcommon import termdd_codes

    b = d.get("Binary") or d.get("binary")
    if isinstance(b, str):
        h = "".join(ch for ch in b if ch in "0123456789abcdefABCDEF")
        if len(h) >= 8 and len(h) % 2 == 0:
            status, cause = termdd_codes(bytes.fromhex(h))
            if status is not None or cause is not None:
                return (None if status is None else _hex(status),
                        None if cause is None else _from_hresult(cause))
    for k in ("ntstatus", "NTSTATUS", "status", "Status"):
        v = d.get(k)
        if isinstance(v, str) and v.lower().startswith("0x"):
            try:
                code = int(v, 16)
            except ValueError:
                continue
            if code >> 16 == 0xC00A:                 # TermDD's own facility: the status
                return _hex(code), None
            return None, _from_hresult(code)
    return None, None


def _cause_text(code: int) -> str:
    name = TERMDD_CAUSES.get(code)
    return f"{_hex(code)} {name[0]}" if name else _hex(code)


def _cause_steps(causes: dict[int, int], statuses: dict[str, int]) -> list[str]:
    """Remedy steps keyed on the underlying errors the burst carries."""
    steps = []
    broken = [c for c in _BROKEN if c in causes]
    if broken:
        steps.append(f"{', '.join(_cause_text(c) for c in broken)}: the connection broke "
                     "before the server's send, and the event does not say why. Look at the "
                     "network path to these clients: packet loss, a firewall / NAT / load "
                     "balancer closing connections, VPN MTU, NIC offloading (see "
                     "snp-features-enabled); Microsoft's case was heavy traffic with large "
                     "client packets.")
    if 0xC00000B5 in causes:
        steps.append(f"{_cause_text(0xC00000B5)}: connections time out — check latency and "
                     "packet loss to these clients and firewalls dropping idle connections, "
                     "and enable keep-alive (policy \"Configure keep-alive connection "
                     "interval\"; 2003: \"Keep-Alive Connections\").")
    if 0x80090304 in causes:
        steps.append(f"{_cause_text(0x80090304)}: TLS fails — check the RDP certificate and "
                     "its private key (Schannel 36870 at the same times: see "
                     "tls-certificate-problem) and that client and server share a TLS version "
                     "and cipher suite (Schannel 36874/36888).")
    if 0xC000006F in causes:
        steps.append(f"{_cause_text(0xC000006F)}: the account's logon hours forbid these "
                     "logons (Active Directory Users and Computers > the user > Account > "
                     "Logon Hours).")
    other = [c for c in causes if c not in TERMDD_CAUSES]
    if other:
        top = sorted(other, key=lambda c: -causes[c])[:3]
        steps.append(f"Look up {', '.join(_hex(c) for c in top)} "
                     "(the underlying error; an 0xC… value is an NTSTATUS, 0x8… an HRESULT) "
                     "with err.exe / certutil -error.")
    if not causes and any(s.upper() == "0XC00A0038" for s in statuses):
        steps.append("The events carry no underlying error: for security-layer errors "
                     "(0xC00A0038) from real clients check SecurityLayer / TLS versions / "
                     "cipher suites on both sides (Schannel 36874/36888).")
    return steps


@detector(id="protocol-error-burst", severity="warning",
          title="Bursts of RDP protocol errors",
          inputs=("system",), references=("KB2477023", "The Curious Case of Event ID 56 with Source TermDD"))
def protocol_error_burst(ctx: Context):
    """Many TermDD protocol/security-layer errors in a short window.

    TermDD 56 (the security layer detected a protocol error and disconnected the client; the
    client address is in the message) and TermDD 50 (an RDP protocol component dropped the
    client) are common single-event noise from scanners and TLS mismatches; a burst from one
    client — or of 50s overall — means connections are failing in the protocol phase. The
    event's binary data is its IO_ERROR_LOG_PACKET: the event's own status at 0x0C
    (0xC00A0038 for 56) and, in the last DWORD, the underlying error as an HRESULT
    (0xD0000184 = NTSTATUS 0xC0000184 STATUS_INVALID_DEVICE_STATE): that one says why, and
    the remedy follows it. References: KB2477023, Ask the Performance Team: The Curious Case
    of Event ID 56 with Source TermDD.
    """
    if not ctx.has("system"):
        return ctx.not_evaluated("system")
    rows = ctx.etype("sys:termdd:security-error", "sys:termdd:protocol-error")
    if not len(rows):
        return []
    window = pd.Timedelta(minutes=float(ctx.param("protocol_error_window_minutes")))
    need = int(ctx.param("protocol_error_min_events"))
    is56 = rows["event_id"].to_numpy(dtype="int64", na_value=-1) == 56
    client = rows["ip"].astype("string")
    # the parsers put a 56's client address (param2) in ``ip``; decode param2 only where a
    # source left it out, not for every row of a scanner's flood
    gap = np.flatnonzero(is56 & client.isna().to_numpy())
    if len(gap):
        client = client.copy()
        client.iloc[gap] = tl.fields(tl.take(rows, gap), "param2")["param2"] \
            .astype("string").to_numpy()
    gap = np.flatnonzero(is56 & client.isna().to_numpy())
    if len(gap) and "message" in rows.columns:
        # an export's rendered message in a language the parser has no labels for: the
        # client's address is still the one IPv4 literal in it
        client = client.copy()
        client.iloc[gap] = tl.take(rows, gap)["message"].astype("string").str.extract(
            _IPV4, expand=False).to_numpy()
    key = np.where(is56, client.fillna("(no address)").to_numpy(), "(TermDD 50)")
    bursts = [(k, n, start, grp) for k, n, start, grp in
              groups_over(rows, pd.Series(key, index=rows.index), need, window)]
    if not bursts:
        return []
    bursts.sort(key=lambda b: (-b[1], b[0]))
    parts, ev, statuses, causes = [], [], {}, {}
    for k, n, start, grp in bursts:
        for d in tl.data_dicts(grp):            # (a scanner's flood: no iterrows)
            s, c = _termdd_codes(d)
            if s:
                statuses[s] = statuses.get(s, 0) + 1
            if c is not None:
                causes[c] = causes.get(c, 0) + 1
    for k, n, start, grp in bursts[:5]:
        who = "TermDD 50 errors" if k == "(TermDD 50)" else f"TermDD 56 errors from {k}"
        parts.append(f"{n} {who} within {minutes_text(window)} min "
                     f"(from {start:%Y-%m-%d %H:%M} UTC)")
        ev += ctx.evidence(grp.head(4))
    st = ""
    if statuses:
        st = "; NTSTATUS " + ", ".join(f"{s} ×{n}" for s, n in sorted(statuses.items(),
                                                                      key=lambda x: -x[1])[:4])
    if causes:
        top = sorted(causes.items(), key=lambda x: -x[1])[:4]
        st += "; underlying error " + ", ".join(
            f"{_cause_text(c)}" + (f" ({TERMDD_CAUSES[c][1]})" if c in TERMDD_CAUSES else "")
            + f" ×{n}" for c, n in top)
    return [ctx.finding("; ".join(parts) + st, ev,
                        ["If one address dominates, it is a scanner or a broken client: block it "
                         "or fix that client."]
                        + _cause_steps(causes, statuses)
                        + ["TermDD 50 with licensing errors: see certificate-corruption."],
                        total=int(sum(b[1] for b in bursts)),
                        details={"statuses": statuses,
                                 "causes": {_hex(c): n for c, n in causes.items()}})]
