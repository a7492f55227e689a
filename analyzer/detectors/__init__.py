"""Detectors: small registered functions, one per finding id of KNOWLEDGE.md Part A.

A detector is a function decorated with :func:`detector`, which carries its stable id, its
default severity, a title, the inputs it needs (any of) and its references. Its docstring
explains the failure in one paragraph. It receives a per-host :class:`Context` and returns

* a list of findings (built with :meth:`Context.finding`) — the check is ``fail``;
* an empty list — the detector had its inputs and found nothing: ``pass``;
* a :class:`NotEvaluated` (built with :meth:`Context.not_evaluated`) naming what to ask the
  customer for — ``not-evaluated``.

Modules are grouped by troubleshooting area: ``configuration`` (registry and policy),
``listener`` (port, listener, service), ``sessions`` (limits, rights, keep-alive, sleep),
``certificates`` (TLS, proprietary certificate, licensing), ``attacks`` (brute force, protocol
error bursts). ``REGISTRY`` maps id → :class:`Detector`; ``ROOT_CAUSES`` says which finding
explains which (used by the engine to order and link findings).

Minimal use::

    from analyzer.detectors import REGISTRY, Context
    ctx = Context.build("TS01", timeline, config)
    outcome = REGISTRY["port-conflict"].run(ctx)
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from .. import knowledge
from .. import timeline as tl
from ..findings import SEVERITIES, SEVERITY_RANK, Evidence, Finding

#: Inputs a detector may need → what to ask the customer for when it is missing.
INPUTS: dict[str, str] = {
    "netstat": "`netstat -ano` output",
    "tasklist": "`tasklist /svc` output",
    "qwinsta": "`qwinsta` output",
    "reg": ("registry export of HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server "
            "(`reg export`)"),
    # (elevated: without it the report holds user settings only — no user rights, no
    # computer policy; found by review)
    "gpresult": "`gpresult /x` (or `/h`) report, run from an elevated prompt",
    "system": "System event log (.evtx/.evt)",
    "security": "Security event log (.evtx/.evt)",
    "rdp-logs": ("TerminalServices-RemoteConnectionManager, -LocalSessionManager and "
                 "RemoteDesktopServices-RdpCoreTS Operational logs (.evtx)"),
    "rcm-log": ("TerminalServices-RemoteConnectionManager Operational and Admin logs (.evtx)"),
    "lsm-log": "TerminalServices-LocalSessionManager Operational log (.evtx)",
    "rdpcorets-log": "RemoteDesktopServices-RdpCoreTS Operational log (.evtx)",
    "systeminfo": "`systeminfo` output",
    "tcpip-reg": ("registry export of HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\"
                  "Parameters"),
    "lsa-reg": "registry export of HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa",
    "powercfg": "`powercfg /query` output",
    # (`chglogon /query` from 2008 on is the same command: "replaced by change logon",
    # learn.microsoft.com windows-commands/chglogon; one request text for every version)
    "chglogon": "`change logon /query` output",
}

#: ... on Windows Server 2003, whose gpresult writes neither XML nor HTML
GPRESULT_2003 = "`gpresult /z` output"

#: Literal requests of checks that read a value no input above holds (asked for as text:
#: they are no input names, :meth:`Context.has` does not know them)
#: ... whether logons from client sessions are disabled (`change logon /disable`): the
#: ``chglogon`` input, asked for by that name before a parser read it (kept for callers)
CHGLOGON_QUERY_2003 = INPUTS["chglogon"]
#: ... who may log on through Remote Desktop: KB2477023 part 1 checks these first
RDU_MEMBERS = "`net localgroup \"Remote Desktop Users\"` output"
USER_RIGHTS_EXPORT = "`secedit /export /areas USER_RIGHTS /cfg ur.inf` output file (ur.inf)"
WINLOGON_REG = ("registry export of HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\"
                "Winlogon (`reg export`)")

_EVENT_KINDS = frozenset({"evtx", "evt", "evtxml", "evtcsv"})
_RDP_CHANNEL_WORDS = ("terminalservices", "remotedesktopservices")
#: one RDS log each: the word its channel and its exported file name hold
_RDS_LOG_WORDS = {"rcm-log": "remoteconnectionmanager", "lsm-log": "localsessionmanager",
                  "rdpcorets-log": "rdpcorets"}
#: which empty logs a request for an input is about (their file names hold these words)
_EMPTY_LOG_WORDS = {"system": ("system", "sysevent"), "security": ("security", "secevent"),
                    "rdp-logs": ("terminalservices", "remotedesktopservices", "rdpcorets"),
                    "events": ("",), **{k: (v,) for k, v in _RDS_LOG_WORDS.items()}}


class Passed:
    """The check passed for a reason worth saying (``note``): e.g. it does not apply to
    this host's Windows version. Reported as ``pass`` with the note."""

    def __init__(self, note: str):
        self.note = note

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Passed({self.note!r})"


class NotEvaluated:
    """The detector lacked an input; ``missing`` names what to ask the customer for."""

    def __init__(self, missing: Iterable[str], note: str = ""):
        self.missing = list(missing)
        self.note = note

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"NotEvaluated({self.missing!r})"


@dataclass
class Detector:
    id: str
    severity: str
    title: str
    inputs: tuple[str, ...]
    references: tuple[str, ...]
    area: str
    func: Callable[["Context"], Any]
    doc: str = ""

    def run(self, ctx: "Context"):
        ctx.current = self
        try:
            return self.func(ctx)
        finally:
            ctx.current = None

    @property
    def summary(self) -> str:
        """First paragraph of the docstring, on one line."""
        return " ".join(self.doc.split("\n\n")[0].split())


REGISTRY: dict[str, Detector] = {}


def detector(*, id: str, severity: str, title: str, inputs: Iterable[str],
             references: Iterable[str]) -> Callable:
    """Register a detector function under a stable ``id``."""
    if severity not in SEVERITIES:
        raise ValueError(f"{id}: unknown severity {severity!r}")
    inputs = tuple(inputs)
    for i in inputs:
        if i not in INPUTS and i != "events":
            raise ValueError(f"{id}: unknown input {i!r}")

    def wrap(func: Callable) -> Callable:
        if id in REGISTRY:
            raise ValueError(f"duplicate detector id {id!r}")
        area = func.__module__.rsplit(".", 1)[-1]
        REGISTRY[id] = Detector(id=id, severity=severity, title=title, inputs=inputs,
                                references=tuple(references), area=area, func=func,
                                doc=inspect.cleandoc(func.__doc__ or ""))
        func.detector_id = id
        return func

    return wrap


#: (explainer, explained): when both fire on one host, the second is linked to the first.
ROOT_CAUSES: tuple[tuple[str, str], ...] = (
    ("port-conflict", "listener-down"),
    ("rdp-disabled", "listener-down"),
    ("termservice-not-running", "listener-down"),
    ("logons-disabled", "listener-down"),
    ("rdp-disabled", "connection-limit-reached"),
    ("certificate-corruption", "protocol-error-burst"),
    ("certificate-corruption", "license-issue-failed"),
    ("certificate-corruption", "licensing-grace-expired"),
    ("certificate-corruption", "license-server-unreachable"),
    # (not tls-certificate-problem: the proprietary certificate signs the RDP security layer
    # and licensing, the TLS one is a machine-store certificate; deleting the first's values
    # does nothing for the second)
    ("licensing-grace-expired", "license-issue-failed"),
    ("license-server-unreachable", "license-issue-failed"),
    ("connection-limit-reached", "connection-limit-policy"),
    ("admin-sessions-exhausted", "connection-limit-reached"),
    ("rdp-brute-force", "protocol-error-burst"),
    ("fips-overrides-encryption", "policy-overrides-local"),
)

#: Tie-break among findings of equal severity: causes before symptoms.
PRIORITY: tuple[str, ...] = (
    "rdp-disabled", "termservice-not-running", "port-conflict", "logons-disabled",
    "certificate-corruption", "admin-sessions-exhausted", "connection-limit-reached",
    "licensing-grace-expired", "listener-down", "user-not-authorized",
    "license-server-unreachable", "license-issue-failed", "tls-certificate-problem",
    "tls-requires-high-encryption", "rdp-brute-force", "snp-features-enabled",
    "fips-overrides-encryption", "host-sleeps", "sessions-not-disconnecting",
    "protocol-error-burst", "connection-limit-policy", "port-nondefault", "nla-required",
    "policy-overrides-local",
)

_PRIO = {i: n for n, i in enumerate(PRIORITY)}


def finding_order(f) -> tuple:
    """The one order of findings (JSON, terminal, Markdown, HTML and the verdict): severity,
    then causes before symptoms (:data:`PRIORITY`), then host and id."""
    return (-SEVERITY_RANK.get(f.severity, 0), _PRIO.get(f.id, len(_PRIO)), f.host or "", f.id,
            f.summary or "")


#: The fix in one line per id (``rdpdoctor explain``); findings carry the full, OS-adapted steps.
FIXES: dict[str, str] = {
    "rdp-disabled": "Allow remote connections (System Properties > Remote, or the GPO \"Allow users "
                    "to connect remotely…\" Enabled); fDenyTSConnections = 0, fEnableWinStation = 1.",
    "connection-limit-policy": "Remove or raise \"Limit number of connections\" / RDP-Tcp Maximum "
                               "connections (MaxInstanceCount = 0xFFFFFFFF).",
    "connection-limit-reached": "Log off disconnected sessions (qwinsta, logoff ID), set a time "
                                "limit for disconnected sessions, raise the limit.",
    "admin-sessions-exhausted": "Log off one of the two remote sessions (logoff ID; on 2003 "
                                "`mstsc /admin` with RDC 6.1+, `/console` with older clients); "
                                "for more users install RD Session Host with licensing.",
    "user-not-authorized": "Add the user to Remote Desktop Users and make sure \"Allow log on "
                           "through Remote Desktop Services\" includes that group and \"Deny…\" "
                           "does not list the user.",
    "host-sleeps": "Turn sleep and hibernation off (powercfg /change standby-timeout-ac 0, "
                   "powercfg /hibernate off; on 2003 powercfg /change \"<scheme>\" "
                   "/standby-timeout-ac 0).",
    "port-conflict": "Stop or move the program holding the RDP port, restart Remote Desktop "
                     "Services, check netstat -ano / tasklist /svc again.",
    "port-nondefault": "Tell clients to dial host:port and open the port in the firewall, or set "
                       "PortNumber back to 3389.",
    "listener-down": "Fix the cause shown above it (RDP disabled, port taken, service stopped); "
                     "qwinsta must show rdp-tcp Listen.",
    "tls-requires-high-encryption": "Set the encryption level to High (3) or use FIPS, or the RDP "
                                    "security layer.",
    "tls-certificate-problem": "Repair the RDP certificate: valid, Server Authentication EKU, "
                               "a private key the service can read (NETWORK SERVICE from 2008 "
                               "on, LocalSystem on 2003); from 2008 on the self-signed one is "
                               "the fallback. Schannel errors alone may be another service's.",
    "fips-overrides-encryption": "Disable the FIPS security option unless required, or make sure "
                                 "every client supports FIPS.",
    "policy-overrides-local": "Change the setting in the winning GPO, not locally; gpupdate /force.",
    "sessions-not-disconnecting": "Enable \"Configure keep-alive connection interval\" and restrict "
                                  "users to a single session.",
    "snp-features-enabled": "Install KB948496 or set EnableTCPChimney/EnableRSS/EnableTCPA = 0 "
                            "on Windows Server 2003 SP2, reboot.",
    "certificate-corruption": "Back up and delete Certificate, X509 Certificate, X509 Certificate "
                              "ID (TermService\\Parameters on 2003; Terminal Server\\RCM on 2008+, "
                              "with X509 Certificate2), reboot, reactivate licensing.",
    "licensing-grace-expired": "Configure the licensing mode and an activated license server "
                               "with CALs.",
    "license-server-unreachable": "Specify the license server and open the network path to it.",
    "license-issue-failed": "Check CALs on the license server; delete the client's cached "
                            "MSLicensing key.",
    "nla-required": "Make sure clients support NLA and passwords are not expired; relax NLA only "
                    "if needed.",
    "rdp-brute-force": "Do not expose RDP directly: VPN / RD Gateway / firewall allow-list, "
                       "account lockout, block the addresses.",
    "protocol-error-burst": "Block the scanning address or fix the failing client's TLS / "
                            "security-layer settings.",
    "logons-disabled": "change logon /enable at the console (chglogon /enable from 2008 on; "
                       "check the broker's drain mode).",
    "termservice-not-running": "Set TermService to Manual/Automatic and start it; read the SCM "
                               "errors around its stop.",
}

#: Thresholds and windows detectors read through ``Context.param`` (tunable in TOML).
DEFAULT_PARAMS: dict[str, Any] = {
    "brute_force_window_minutes": 10,
    "brute_force_min_failures": 10,         # failed RDP logons from one address per window
    "brute_force_min_connections": 10,      # RdpCoreTS 131 accepts from one address per window
    "rdp_evidence_margin_minutes": 30,      # how near RDP evidence must be to type-3 failures
    "protocol_error_window_minutes": 10,
    "protocol_error_min_events": 10,        # TermDD 50/56 per window (per client for 56)
    "certificate_cluster_hours": 24,        # TermDD 50 ↔ licensing events
    "certificate_min_termdd50": 2,          # TermDD 50 near licensing events: not one scan
    "evidence_rows": 12,                    # evidence rows kept per finding
    "tls_rdp_tie_minutes": 5,               # Schannel error ↔ RDP failing (either side)
    "connection_logon_link_minutes": 5,     # accepted connection → its logon
}


# ----------------------------------------------------------------------------- context

CONFIG_COLUMNS = ["host", "setting", "value", "display", "origin", "gpo", "source", "locator",
                  "overridden", "is_default"]


def empty_config() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in CONFIG_COLUMNS})


def when(t) -> str:
    """A timestamp for finding text: ``2024-02-14 15:20 UTC`` (``?`` when unknown)."""
    try:
        if t is None or pd.isna(t):
            return "?"
    except (TypeError, ValueError):
        pass
    return pd.Timestamp(t).strftime("%Y-%m-%d %H:%M UTC")


def _iso(t) -> str | None:
    if t is None or t is pd.NaT or (isinstance(t, float) and pd.isna(t)):
        return None
    try:
        if pd.isna(t):
            return None
    except (TypeError, ValueError):
        pass
    ts = pd.Timestamp(t)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S") + "Z"


@dataclass
class Context:
    """Everything one detector sees for one host."""

    host: str
    timeline: pd.DataFrame
    config: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    inventory: pd.DataFrame | None = None
    params: dict[str, Any] = field(default_factory=dict)
    current: Detector | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, host: str, timeline: pd.DataFrame, config: pd.DataFrame | None = None,
              meta: dict[str, Any] | None = None, inventory: pd.DataFrame | None = None,
              params: dict[str, Any] | None = None, *, filtered: bool = False) -> "Context":
        """Context of ``host``, cutting its rows out of whole-bundle frames (unless
        ``filtered`` says ``timeline`` already holds only this host's rows)."""
        host = host.upper()
        if len(timeline) and not filtered:
            pos = tl.group_positions(timeline["host"], key=str.upper).get(host)
            timeline = tl.take(timeline, pos) if pos is not None else timeline.iloc[0:0]
        cfg = config if config is not None else empty_config()
        if len(cfg):
            cfg = cfg[cfg["host"].astype(str).str.upper() == host]
        inv = inventory
        if inv is not None and len(inv) and "host" in inv.columns:
            inv = inv[inv["host"].astype("string").str.upper().fillna("") == host]
        p = dict(DEFAULT_PARAMS)
        p.update(params or {})
        return cls(host=host, timeline=timeline, config=cfg, meta=dict(meta or {}),
                   inventory=inv, params=p)

    # -- parameters
    def param(self, name: str):
        return self.params.get(name, DEFAULT_PARAMS.get(name))

    # -- rows
    #: ``etype`` results up to this many rows are kept for the next detector that asks; bigger
    #: ones (a Security log's logons) are cut again each time instead of held all along.
    CACHE_ROWS = 20_000

    def _positions(self) -> dict[str, np.ndarray]:
        """event_type → row positions, computed once per host (detectors ask many times)."""
        pos = self._cache.get("positions")
        if pos is None:
            pos = self._cache["positions"] = tl.group_positions(self.timeline["event_type"])
        return pos

    def positions(self, *types: str, prefixes: Iterable[str] = ()) -> np.ndarray:
        """Row positions (ascending) of the rows whose event_type is one of ``types`` or
        starts with one of ``prefixes`` — for detectors that need one column of many rows
        (:meth:`column`) before deciding which whole rows to take (:meth:`take`)."""
        pos = self._positions()
        prefixes = tuple(prefixes)
        return tl.union_positions([v for k, v in pos.items()
                                   if k in types or (prefixes and k.startswith(prefixes))])

    def column(self, name: str, positions) -> pd.Series:
        """One column of the rows at ``positions`` (index = timeline index)."""
        return tl.take_series(self.timeline[name], positions)

    def column_map(self, name: str, positions, fn: Callable[[pd.Series], Any],
                   chunk: int = 4096) -> np.ndarray:
        """``fn`` applied to column ``name`` of the rows at ``positions``, one slice of rows
        at a time; ``fn`` returns one value per row and the slices are joined into one numpy
        array. For tests on a text column of many rows (``data`` of a Security log's
        logons): only one slice of that text is copied at a time, never all of it."""
        out = [np.asarray(fn(self.column(name, positions[i:i + chunk])))
               for i in range(0, len(positions), chunk)]
        if not out:
            return np.asarray(fn(self.column(name, positions[0:0])))
        return np.concatenate(out) if len(out) > 1 else out[0]

    def take(self, positions, columns: Iterable[str] | None = None) -> pd.DataFrame:
        """The rows at ``positions`` (as returned by :meth:`positions`): whole, or only
        ``columns``."""
        if columns is not None:
            return tl.take(self.timeline[list(columns)], positions)
        return self._take([positions] if len(positions) else [])

    def _take(self, positions: list) -> pd.DataFrame:
        if not positions:
            empty = self._cache.get("empty")
            if empty is None:
                empty = self._cache["empty"] = self.timeline.iloc[0:0]
            return empty
        idx = tl.union_positions(positions)
        if len(idx) == len(self.timeline):
            return self.timeline            # every row, in order: no copy
        return tl.take(self.timeline, idx)

    def rows(self, *prefixes: str) -> pd.DataFrame:
        """Rows whose event_type starts with any of ``prefixes``."""
        pos = self._positions()
        return self._take([v for k, v in pos.items() if k.startswith(prefixes)])

    def etype(self, *types: str) -> pd.DataFrame:
        """Rows whose event_type is exactly one of ``types``."""
        key = ("etype",) + types
        hit = self._cache.get(key)
        if hit is None:
            pos = self._positions()
            hit = self._take([pos[t] for t in types if t in pos])
            if len(hit) <= self.CACHE_ROWS:
                self._cache[key] = hit
        return hit

    def events(self, family: str, ids: Iterable[int]) -> pd.DataFrame:
        """Event rows of a provider family (``knowledge.PROVIDER_FAMILY``) with these ids."""
        df = self.timeline
        if not len(df):
            return df
        fam = self._cache.get("family")
        if fam is None:
            fam = self._cache["family"] = tl.group_positions(df["provider"], key=knowledge.family,
                                                             na=None)
        pos = fam.get(family)
        if pos is None:
            return self._take([])
        ids = list(ids)
        hit = df["event_id"].iloc[pos].isin(ids).fillna(False).to_numpy()
        return self._take([pos[hit]] if hit.any() else [])

    def kind(self, *kinds: str) -> pd.DataFrame:
        groups = self._cache.get("kinds")
        if groups is None:
            groups = self._cache["kinds"] = tl.group_positions(self.timeline["kind"], na=None)
        return self._take([v for k, v in groups.items() if k in kinds])

    # -- inputs present
    def _inv(self) -> pd.DataFrame:
        inv = self.inventory
        if inv is None or not len(inv):
            return pd.DataFrame(columns=["source", "kind", "status"])
        return inv[inv["status"].astype(str) == "parsed"]

    def has(self, name: str) -> bool:
        """Whether the bundle holds this input for the host (even when it is empty)."""
        key = f"has:{name}"
        if key in self._cache:
            return self._cache[key]
        self._cache[key] = v = self._has(name)
        return v

    def _facts(self) -> tuple[set, set, list, list]:
        """(kinds, channels, event log sources held, event logs of which nothing was read).

        An event log of which not one record could be read — too damaged, cut — says
        nothing: a check it is the only input of is not evaluated, not passed. A sound file
        without records (nothing was logged) is held."""
        f = self._cache.get("facts")
        if f is None:
            df, inv = self.timeline, self._inv()
            chans = {c.lower() for c in tl.distinct(df["channel"])}
            ev = inv[inv["kind"].astype(str).isin(_EVENT_KINDS)]
            n = pd.Series(0.0, index=ev.index)
            counted = False
            for col in ("records", "dropped"):
                if col in ev.columns:
                    n = n + pd.to_numeric(ev[col], errors="coerce").fillna(0)
                    counted = True
            held = (n > 0) if counted else pd.Series(True, index=ev.index)
            if counted and "records_expected" in ev.columns and "warnings" in ev.columns:
                # a sound file that holds no record is a log where nothing was logged (an
                # Admin channel of a healthy server): it is input, and shows no fault
                sound = (pd.to_numeric(ev["records_expected"], errors="coerce").fillna(0) == 0) \
                    & (pd.to_numeric(ev["warnings"], errors="coerce").fillna(1) == 0)
                held = held | sound
            # a file named System.evtx whose records say Security is a Security log: the
            # name counts only for a file whose rows show no channel (all filtered out)
            shown: dict[str, set[str]] = {}
            if len(df):
                pairs = df[["source", "channel"]].drop_duplicates()
                for src, ch in zip(pairs["source"].astype(str), pairs["channel"]):
                    if isinstance(ch, str) and ch:
                        shown.setdefault(src.lower(), set()).add(ch.lower())
            srcs = [s.lower() for s in ev.loc[held, "source"].astype(str)
                    if not shown.get(s.lower())]
            empty = [s for s in ev.loc[~held, "source"].astype(str)]
            kinds = tl.distinct(df["kind"]) | set(inv.loc[~inv.index.isin(ev.index[~held]),
                                                          "kind"].astype(str))
            f = self._cache["facts"] = (kinds, chans, srcs, empty)
        return f

    def _has(self, name: str) -> bool:
        kinds, chans, srcs, _ = self._facts()
        if name in ("netstat", "tasklist", "qwinsta", "gpresult", "systeminfo", "powercfg",
                    "chglogon"):
            if name == "tasklist" and "netstat" in kinds:
                # netstat -b owner lines are as good as tasklist /svc for the PID join
                sock = self.etype("net:socket")
                if len(sock) and sock["data"].astype("string").str.contains(
                        '"services"|"image"', regex=True).fillna(False).any():
                    return True
            return name in kinds
        if name == "reg":
            # what INPUTS["reg"] asks for: an export of the Lsa or Tcpip key alone is not it
            return "reg" in kinds and self.ts_key_exported()
        if name in ("tcpip-reg", "lsa-reg"):
            word = "tcpip\\\\parameters" if name == "tcpip-reg" else "control\\\\lsa"
            reg = self.etype("reg:value")
            return bool(len(reg)) and reg["data"].astype("string").str.lower().str.contains(
                word, regex=False).fillna(False).any()
        if name == "events":
            return bool(kinds & _EVENT_KINDS)
        if name in ("system", "security", "rdp-logs"):
            if name == "system":
                return "system" in chans or any(
                    s.rsplit("/", 1)[-1].startswith(("system", "sysevent")) or "_system" in s
                    for s in srcs)
            if name == "security":
                return "security" in chans or any(
                    s.rsplit("/", 1)[-1].startswith(("security", "secevent")) or "_security" in s
                    for s in srcs)
            return any(any(w in c for w in _RDP_CHANNEL_WORDS) for c in chans) or any(
                any(w in s for w in _RDP_CHANNEL_WORDS + ("rdpcorets",)) for s in srcs)
        if name in _RDS_LOG_WORDS:
            w = _RDS_LOG_WORDS[name]
            if name == "rcm-log":
                # RCM writes to two logs (listener and connection events to Operational;
                # logons disabled, licensing, listener failures to Admin): the request
                # names both, and one alone cannot show the other's events absent
                return all(self.has_log(w, sub) for sub in ("operational", "admin"))
            return self.has_log(w)
        raise KeyError(name)

    def has_log(self, word: str, sub: str = "") -> bool:
        """Whether an event log whose channel (or file name) holds ``word`` and ``sub`` is
        in the bundle for this host (``has_log("remoteconnectionmanager", "admin")``)."""
        _, chans, srcs, _ = self._facts()
        return any(word in c and sub in c for c in chans) or any(
            word in s and sub in s for s in srcs)

    def empty_logs(self) -> list[str]:
        """Event logs of this host of which no record could be read (path in the bundle)."""
        return list(self._facts()[3])

    def ts_key_exported(self, *, itself: bool = False) -> bool:
        """Whether a registry export (or hive) of this host holds the local Terminal Server
        key (``HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server``) or one of its
        subkeys — with ``itself``, values of that key itself (fDenyTSConnections,
        TSAppCompat ...): an export of only ``WinStations\\RDP-Tcp`` says nothing of them."""
        key = ("ts_key", itself)
        if key not in self._cache:
            rows = self.etype("reg:value")
            keys = tl.fields(rows, "key")["key"].astype(str).str.lower() if len(rows) else None
            ts = "hklm\\system\\currentcontrolset\\control\\terminal server"
            self._cache[key] = keys is not None and bool(
                (keys == ts).any() if itself else keys.str.startswith(ts).any())
        return self._cache[key]

    def missing(self, *names: str) -> list[str]:
        return [self._ask(n) for n in names if not self.has(n)]

    def not_evaluated(self, *names_or_text: str, note: str = "") -> NotEvaluated:
        """``names_or_text``: input names from :data:`INPUTS` or literal requests. Inputs
        the bundle already holds are not asked for again (a gpresult without the policy
        says nothing, so the other input is the one to get); when every one is held, they
        are kept and the note says they lack what was needed."""
        held = [n for n in names_or_text if n in INPUTS and self.has(n)]
        ask = [n for n in names_or_text if n not in held]
        words = [w for n in ask for w in _EMPTY_LOG_WORDS.get(n, ())]
        empty = [e for e in self.empty_logs() if any(w in e.lower() for w in words)]
        if empty:
            shown = ", ".join(empty[:3]) + (f" +{len(empty) - 3}" if len(empty) > 3 else "")
            none = f"no record could be read from {shown}"
            note = f"{note}; {none}" if note else none
        if not ask:
            ask = list(names_or_text)
            lack = "the bundle's " + ", ".join(INPUTS[n] for n in held) + \
                (" does" if len(held) == 1 else " do") + " not hold what this check reads"
            note = f"{note}; {lack}" if note else lack
        return NotEvaluated([self._ask(n) for n in ask], note=note)

    def _ask(self, name: str) -> str:
        """What to ask the customer for: 2003's gpresult has only the /z text report."""
        if name == "gpresult" and self.os() == "2003":
            return GPRESULT_2003
        if name == "rcm-log":
            # one of the two RCM logs is here: ask for the other only
            lacking = [sub for sub in ("Operational", "Admin")
                       if not self.has_log("remoteconnectionmanager", sub.lower())]
            if len(lacking) == 1:
                return f"TerminalServices-RemoteConnectionManager {lacking[0]} log (.evtx)"
        return INPUTS.get(name, name)

    # -- configuration
    def setting(self, name: str, *, allow_default: bool = False) -> dict | None:
        """The effective row of a setting (None when absent, or a mere default)."""
        table = self._cache.get("settings")
        if table is None:
            cfg = self.config
            table = {} if not len(cfg) else {
                r["setting"]: r for r in reversed(cfg.to_dict("records"))}
            self._cache["settings"] = table
        row = table.get(name)
        if row is None:
            return None
        row = dict(row)
        if row.get("is_default") is True and not allow_default:
            return None
        return row

    def value(self, name: str, default=None, *, allow_default: bool = False):
        row = self.setting(name, allow_default=allow_default)
        if row is None:
            return default
        v = row.get("value")
        return default if v is None else v

    def source_phrase(self, row: dict) -> str:
        """Who decided a setting: 'GPO "X" (gpresult)', 'the local registry (file)'..."""
        origin, src = row.get("origin"), row.get("source")
        if row.get("is_default"):
            return "the Windows default (nothing in the bundle sets it)"
        where = f" in {src}" if src else ""
        if origin == "gpresult":
            gpo = row.get("gpo")
            return (f'Group Policy "{gpo}"' if gpo else "Group Policy") + f" (gpresult{where})"
        if origin == "policy":
            return f"the policy key HKLM\\SOFTWARE\\Policies\\…\\Terminal Services{where}"
        if origin == "security-option":
            gpo = row.get("gpo")
            return "the security option" + (f' of GPO "{gpo}"' if gpo else "") + where
        return f"the local registry{where}"

    def cfg_evidence(self, row: dict | None) -> list[Evidence]:
        """Evidence pointing at the file/line that decided a setting (and what it beat)."""
        if not row or row.get("is_default"):
            return []
        out = []
        for r in [row] + [o for o in (row.get("overridden") or []) if isinstance(o, dict)]:
            src = r.get("source")
            if not src:
                continue
            label = r.get("display") if r.get("display") not in (None, "") else r.get("value")
            who = r.get("origin") or ""
            if r.get("gpo"):
                who += f', GPO "{r.get("gpo")}"'
            lost = "" if r is row else " (overridden)"
            excerpt = self._excerpt_at(src, r.get("locator"))
            text = f"{row.get('setting')} = {label} [{who}]{lost}"
            if excerpt and excerpt not in text:
                text += f" — {excerpt}"
            out.append(Evidence(source=str(src), locator=str(r.get("locator") or ""),
                                excerpt=text))
        return out

    def _excerpt_at(self, source, locator) -> str:
        df = self.timeline
        if not len(df) or not locator:
            return ""
        by_source = self._cache.get("sources")
        if by_source is None:
            by_source = self._cache["sources"] = tl.group_positions(df["source"], na=None)
        pos = by_source.get(str(source))
        if pos is None:
            return ""
        hit = (df["locator"].iloc[pos].astype("string") == str(locator)).fillna(False).to_numpy()
        if not hit.any():
            return ""
        return tl.excerpt(df.iloc[pos[hit.argmax()]], 200)

    # -- system starts
    def boots(self) -> pd.Series:
        """When the system started (EventLog 6005 "event log service started", 6009 "OS
        version at boot", Kernel-General 12 "the operating system started"), sorted: what
        was logged before a start may not hold after it."""
        b = self._cache.get("boots")
        if b is None:
            rows = self.etype("sys:eventlog:start", "sys:eventlog:os-version",
                              "sys:kernel:os-start")
            times = list(rows["time"].dropna())
            # systeminfo's "System Boot Time" (local time with its zone): a boot the logs
            # may not reach (the System log cut, or not in the bundle)
            from parsers.systeminfo import boot_time_utc
            for data in tl.fields(self.etype("sysinfo:host"), "boot_time", "time_zone",
                                  "system_locale").to_dict("records"):
                t = boot_time_utc(data)
                if t is not None:
                    times.append(t)
            b = self._cache["boots"] = pd.Series(sorted(times), dtype="datetime64[us, UTC]")
        return b

    def booted_after(self, t) -> bool:
        """Whether the system started after ``t`` (False when ``t`` or the boots are unknown)."""
        if t is None or pd.isna(t):
            return False
        b = self.boots()
        return bool(len(b)) and bool((b > t).any())

    # -- OS
    def os(self) -> str | None:
        """'2003' (NT 5.x), '2008+' (NT 6.0 and later) or None when nothing says."""
        if "os" in self._cache:
            return self._cache["os"]
        self._cache["os"] = v = _os_generation(self)
        return v

    def nt_version(self) -> float | None:
        """The NT version (5.2 for 2003, 6.0 for 2008, 6.1 for 2008 R2, 6.3, 10.0 ...) when
        the bundle tells it, else None."""
        if "nt" not in self._cache:
            self._cache["nt"] = _nt_version(self)
        return self._cache["nt"]

    def rcm_in_system(self) -> bool:
        """Whether RemoteConnectionManager's events may be in the System log: on 2008 and
        2008 R2 many of them are (KNOWLEDGE.md 1.2); later versions keep them in the RCM
        logs. Unknown versions: may be (read there; see :meth:`rcm_events_held` for what
        System alone can show)."""
        v = self.nt_version()
        return v is None or v < 6.2

    def rcm_events_held(self) -> tuple[bool, str]:
        """(whether the bundle holds the log(s) the Terminal Services / RemoteConnectionManager
        events of this host are written to, the input to ask for when not): System on 2003;
        the RCM logs on 2008+, or System on 2008 and 2008 R2."""
        if self.os() == "2003":
            return self.has("system"), "system"
        # an unknown version may keep them in System (they are read there), but System
        # alone cannot show their absence: from 2012 on they are only in the RCM logs
        v = self.nt_version()
        held = self.has("rcm-log") or (v is not None and v < 6.2 and self.has("system"))
        return held, "rcm-log"

    def os_name(self) -> str | None:
        si = self.etype("sysinfo:host")
        if len(si):
            d = tl.data_of(si.iloc[-1])
            return d.get("os_name") or d.get("os_version")
        v = self.meta.get("os") or self.meta.get("os_name")
        return str(v) if v else None

    # -- findings
    def evidence(self, rows: pd.DataFrame, limit: int | None = None, *,
                 note: Callable[[Any], str] | None = None) -> list[Evidence]:
        limit = self.param("evidence_rows") if limit is None else limit
        out = []
        for _, r in rows.head(limit).iterrows():
            ex = tl.excerpt(r, 300)
            if note:
                ex = f"{note(r)} — {ex}" if ex else note(r)
            out.append(Evidence(source=str(r["source"]), locator=str(r["locator"] or ""),
                                excerpt=ex, time=_iso(r["time"])))
        return out

    def finding(self, summary: str, evidence: list[Evidence], remedy: str | list[str],
                *, title: str | None = None, total: int | None = None,
                details: dict | None = None, severity: str | None = None) -> Finding:
        """A finding of the running detector; ``severity`` lowers (or raises) the
        detector's own for this case (an expiring, still valid certificate ...)."""
        det = self.current
        if isinstance(remedy, (list, tuple)):
            remedy = "\n".join(f"{i}. {s}" for i, s in enumerate(remedy, 1))
        seen, uniq = set(), []
        for e in evidence:                      # one row may support several reasons
            k = (e.source, e.locator, e.excerpt)
            if k not in seen:
                seen.add(k)
                uniq.append(e)
        f = Finding(id=det.id, severity=severity or det.severity, host=self.host,
                    title=title or det.title, summary=summary, evidence=uniq,
                    remedy=remedy, references=list(det.references))
        if total is not None and total > len(evidence):
            f.evidence_total = total
        if details:
            f.details = dict(details)
        return f


def _os_generation(ctx: Context) -> str | None:
    v = ctx.nt_version()            # systeminfo, the registry, Kernel-General 12 ...
    if v is not None:
        return "2003" if v < 6 else "2008+"
    kinds = tl.distinct(ctx.timeline["kind"])
    if any("/" in str(c) for c in tl.distinct(ctx.timeline["channel"])):
        return "2008+"              # crimson channels exist from Vista/2008 on
    if "evt" in kinds and not kinds & {"evtx"}:
        return "2003"
    cv = ctx.setting("CertificateValues")
    if cv and cv.get("display"):
        disp = str(cv["display"]).lower()
        if "termservice\\parameters" in disp:
            return "2003"
        if "rcm" in disp:
            return "2008+"
    return None


_NT_BY_NAME = (("2008 r2", 6.1), ("windows 7", 6.1), ("2008", 6.0), ("vista", 6.0),
               ("2012 r2", 6.3), ("windows 8.1", 6.3), ("2012", 6.2), ("windows 8", 6.2),
               ("2016", 10.0), ("2019", 10.0), ("2022", 10.0), ("2025", 10.0),
               ("windows 10", 10.0), ("windows 11", 10.0), ("2003", 5.2), (" xp", 5.1),
               ("2000", 5.0))


def _nt_version(ctx: Context) -> float | None:
    """The version systeminfo (or the .evt header's meta) names, else Kernel-General 12's,
    else the registry's CurrentVersion, else 6.2 when an RdpCoreTS log (2012+) is held."""
    import re

    texts = []
    si = ctx.etype("sysinfo:host")
    if len(si):
        d = tl.data_of(si.iloc[-1])
        texts = [str(d.get("os_version") or ""), str(d.get("os_name") or "")]
    for k in ("os", "os_name"):
        if ctx.meta.get(k):
            texts.append(str(ctx.meta[k]))
    for t in texts:
        m = re.search(r"\b(\d+)\.(\d+)\.\d{3,5}\b", t)
        if m:
            return float(f"{m.group(1)}.{m.group(2)}")
    for t in texts:
        low = t.lower()
        for word, v in _NT_BY_NAME:
            if word in low:
                return v
    # Kernel-General 12 ("the operating system started") carries the version it started
    ks = ctx.etype("sys:kernel:os-start")
    if len(ks):
        d = tl.fields(ks.tail(1), "MajorVersion", "MinorVersion")
        try:
            return float(f"{int(d['MajorVersion'].iloc[0])}.{int(d['MinorVersion'].iloc[0])}")
        except (TypeError, ValueError):
            pass
    reg = ctx.etype("reg:value")
    if len(reg):
        d = tl.fields(reg, "key", "name", "value")
        keys = d["key"].astype(str).str.lower().str.endswith("windows nt\\currentversion")
        names = d["name"].astype(str).str.lower()
        vals = dict(zip(names[keys], d["value"][keys]))
        try:
            major = int(str(vals.get("currentmajorversionnumber")), 0)
            return float(f"{major}.{int(str(vals.get('currentminorversionnumber', 0)), 0)}")
        except (TypeError, ValueError):
            pass
        try:
            return float(str(vals.get("currentversion")))   # 6.3: 2012 R2 or later
        except (TypeError, ValueError):
            pass
    if ctx.has("rdpcorets-log"):
        return 6.2              # the RdpCoreTS log exists from 2012 on: at least that
    return None


def load_all() -> dict[str, Detector]:
    """Import every detector module (registration happens at import)."""
    from . import configuration, listener, sessions, certificates, attacks  # noqa: F401,I001

    return REGISTRY


__all__ = ["REGISTRY", "FIXES", "ROOT_CAUSES", "PRIORITY", "DEFAULT_PARAMS", "INPUTS", "Context",
           "Detector", "NotEvaluated", "detector", "load_all", "empty_config"]
