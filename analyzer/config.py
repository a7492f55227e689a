"""The effective RDP configuration of each host: one row per (host, setting).

Inputs are timeline rows, whatever file they came from: ``reg:value`` (``.reg`` exports,
``reg query`` text, hives), ``reg:key`` (a key shown without values: 2003 names its license
servers by empty subkeys), ``reg:key-deleted`` / ``reg:value-deleted`` and ``gpo:*``
(gpresult XML / HTML / text). For every setting the candidates are ranked (KNOWLEDGE.md
Part A "Effective configuration", Part B §2/§3):

1. Group Policy: a gpresult policy of the winning GPO (``origin="gpresult"``, GPO named),
   then the ``POL`` registry key seen in an export / hive (``origin="policy"``);
   for FIPS, the security option (``origin="security-option"``);
2. the local value (``TS`` / ``RDP-Tcp`` / service keys, ``origin="local"``);
3. a documented default (``origin="default"``, ``is_default=True``) — not evidence.

Everything that lost is kept in ``overridden`` (value, display, origin, source, locator,
gpo). ``ControlSet00N`` and ``CurrentControlSet`` compare equal; when an export holds
several control sets, the one ``HKLM\\SYSTEM\\Select\\Current`` names (else
``CurrentControlSet`` / ``ControlSet001``) wins. Within one rank the later row wins
(a later line of a ``.reg`` file overrides an earlier one, as ``regedit`` would).

The FIPS security option forces encryption level 4 at run time; this table keeps
``MinEncryptionLevel`` honest (what is configured) and reports ``FIPSAlgorithmPolicy``
separately; detectors combine the two.

>>> import analyzer                                                   # doctest: +SKIP
>>> cfg = analyzer.load("ticket.zip").config                          # doctest: +SKIP
>>> analyzer.config.value(cfg, "TS01", "SecurityLayer")               # doctest: +SKIP
2
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson
import pandas as pd

from parsers import gpcommon as gc
from parsers.regcommon import normalize_key

COLUMNS = ["host", "setting", "value", "display", "origin", "gpo", "source", "locator",
           "overridden", "is_default"]

SETTINGS = ("fDenyTSConnections", "fEnableWinStation", "PortNumber", "PortNumberTds",
            "MaxInstanceCount", "fSingleSessionPerUser", "SecurityLayer", "MinEncryptionLevel",
            "FIPSAlgorithmPolicy", "UserAuthentication", "KeepAliveEnable", "KeepAliveInterval",
            "LicensingMode", "LicenseServers", "TSAppCompat", "EnableTCPChimney", "EnableRSS",
            "EnableTCPA", "TermServiceStart", "MaxIdleTime", "MaxDisconnectionTime",
            "fResetBroken", "SSLCertificateSHA1Hash", "CertificateValues",
            "AllowEncryptionOracle", "fAllowToGetHelp", "LanAdapter")

# --------------------------------------------------------------------------- knowledge

TS = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server"
RDPTCP = TS + r"\WinStations\RDP-Tcp"
POL = "HKLM\\" + gc.POL_KEY
CREDSSP = "HKLM\\" + gc.CREDSSP_KEY
TERMSERVICE = r"HKLM\SYSTEM\CurrentControlSet\Services\TermService"
TCPIP = r"HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters"
LSA = r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa"

#: (normalised key, value name) → (setting, origin). Keys compare case-insensitively.
REGISTRY_MAP: dict[tuple[str, str], tuple[str, str]] = {}


def _reg(key: str, names: dict[str, str], origin: str) -> None:
    for value_name, setting in names.items():
        REGISTRY_MAP[(key.casefold(), value_name.casefold())] = (setting, origin)


_reg(TS, {n: n for n in ("fDenyTSConnections", "fSingleSessionPerUser", "KeepAliveEnable",
                         "KeepAliveInterval", "TSAppCompat")}, "local")
_reg(RDPTCP, {n: n for n in ("fEnableWinStation", "PortNumber", "MaxInstanceCount", "SecurityLayer",
                             "MinEncryptionLevel", "UserAuthentication", "MaxIdleTime",
                             "MaxDisconnectionTime", "fResetBroken", "SSLCertificateSHA1Hash",
                             "LanAdapter")},
     "local")
_reg(TS + r"\Wds\rdpwd\Tds\tcp", {"PortNumber": "PortNumberTds"}, "local")
_reg(TS + r"\RCM\Licensing Core", {"LicensingMode": "LicensingMode"}, "local")
_reg(TERMSERVICE + r"\Parameters\LicenseServers", {"SpecifiedLicenseServers": "LicenseServers"}, "local")
# (Microsoft Learn, "Remote Desktop licensing mode is not configured warning when you
# connect to an RD Session Host", Use Registry Editor, names the value in a subkey of its
# name, LicenseServers\SpecifiedLicenseServers: read there too; that subkey is no server)
_reg(TERMSERVICE + r"\Parameters\LicenseServers\SpecifiedLicenseServers",
     {"SpecifiedLicenseServers": "LicenseServers"}, "local")
_reg(TERMSERVICE, {"Start": "TermServiceStart"}, "local")
_reg(TCPIP, {n: n for n in ("EnableTCPChimney", "EnableRSS", "EnableTCPA")}, "local")
_reg(LSA + r"\FipsAlgorithmPolicy", {"Enabled": "FIPSAlgorithmPolicy"}, "local")
_reg(LSA, {"FIPSAlgorithmPolicy": "FIPSAlgorithmPolicy"}, "local")
_reg(r"HKLM\SYSTEM\CurrentControlSet\Control\Remote Assistance", {"fAllowToGetHelp": "fAllowToGetHelp"}, "local")
_reg(POL, {n: n for n in ("fDenyTSConnections", "MaxInstanceCount", "fSingleSessionPerUser",
                          "KeepAliveEnable", "KeepAliveInterval", "MinEncryptionLevel",
                          "SecurityLayer", "UserAuthentication", "MaxIdleTime",
                          "MaxDisconnectionTime", "fResetBroken", "LicenseServers",
                          "LicensingMode", "fAllowToGetHelp")}, "policy")
_reg(CREDSSP, {"AllowEncryptionOracle": "AllowEncryptionOracle"}, "policy")

#: Where the proprietary (RDP security layer / licensing) certificate lives (G28 / G29).
CERT_KEYS = {(TERMSERVICE + r"\Parameters").casefold(): "TermService\\Parameters (2003)",
             (TS + r"\RCM").casefold(): "Terminal Server\\RCM (2008+)"}
CERT_VALUES = ("Certificate", "X509 Certificate", "X509 Certificate ID", "X509 Certificate2")

#: On 2003 the license servers are the *subkeys* of this key, one named after each server
#: (KB279561, referenced by KB301932 "License server discovery"); 2008 and later keep the
#: list in its ``SpecifiedLicenseServers`` value instead.
LICENSE_SERVERS_KEY = (TERMSERVICE + r"\Parameters\LicenseServers").casefold()
#: Event types :func:`effective_config` reads: a caller that hands it only part of a
#: timeline must keep all of these (``analyzer.engine`` cuts the timeline by this list).
INPUT_EVENT_TYPES = ("reg:value", "reg:key", "reg:key-deleted", "reg:value-deleted",
                     "gpo:policy", "gpo:registry", "gpo:security-option")

#: Documented defaults (KNOWLEDGE.md §2.1, confidence V/P), used only when nothing says.
DEFAULTS: dict[str, Any] = {
    "PortNumber": 3389, "fEnableWinStation": 1, "MaxInstanceCount": 0xFFFFFFFF,
    "FIPSAlgorithmPolicy": 0, "MaxIdleTime": 0, "MaxDisconnectionTime": 0, "fResetBroken": 0,
    "KeepAliveEnable": 0,
}

RANK = {"gpresult": 4, "policy": 3, "security-option": 4, "local": 1}

_ENUMS: dict[str, dict[int, str]] = {
    "SecurityLayer": {0: "RDP", 1: "Negotiate", 2: "SSL"},
    "MinEncryptionLevel": {1: "Low", 2: "Client Compatible", 3: "High", 4: "FIPS Compliant"},
    "LicensingMode": {2: "Per Device", 4: "Per User", 5: "not configured", 6: "AAD Per User"},
    "AllowEncryptionOracle": {0: "Force Updated Clients", 1: "Mitigated", 2: "Vulnerable"},
    "TermServiceStart": {0: "Boot", 1: "System", 2: "Automatic", 3: "Manual", 4: "Disabled"},
    "fDenyTSConnections": {0: "connections allowed", 1: "connections denied"},
    "fEnableWinStation": {0: "listener disabled", 1: "listener enabled"},
    "UserAuthentication": {0: "NLA not required", 1: "NLA required"},
    "FIPSAlgorithmPolicy": {0: "disabled", 1: "enabled"},
    "TSAppCompat": {0: "Remote Desktop for Administration", 1: "application server mode"},
    "fSingleSessionPerUser": {0: "several sessions per user", 1: "one session per user"},
    "KeepAliveEnable": {0: "off", 1: "on"},
    "fResetBroken": {0: "disconnect", 1: "end session"},
    "fAllowToGetHelp": {0: "not allowed", 1: "allowed"},
}
for _n in ("EnableTCPChimney", "EnableRSS", "EnableTCPA"):
    _ENUMS[_n] = {0: "off", 1: "on"}


def display(setting: str, value: Any) -> str:
    """The human form of a value: ``SSL (2)``, ``3389 (0x0d3d)``, ``High (3)``."""
    if value is None:
        return "(unreadable)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) if value else "(empty)"
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        if setting in ("PortNumber", "PortNumberTds"):
            return f"{value} (0x{value:04x})"
        if setting == "MaxInstanceCount" and value in (0xFFFFFFFF, 999999):
            return f"unlimited ({value if value == 999999 else '0xffffffff'})"
        if setting in ("MaxIdleTime", "MaxDisconnectionTime"):
            return "0 (never)" if value == 0 else f"{value} ms ({_duration(value)})"
        if setting == "KeepAliveInterval":
            return f"{value} min"
        name = _ENUMS.get(setting, {}).get(value)
        return f"{name} ({value})" if name else str(value)
    if setting == "SSLCertificateSHA1Hash" and isinstance(value, str):
        return value.upper()
    return str(value)


def _duration(ms: int) -> str:
    s = ms // 1000
    for unit, n in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= n and s % n == 0:
            return f"{s // n} {unit}"
    return f"{s} s"


# --------------------------------------------------------------------------- candidates


@dataclass
class Candidate:
    setting: str
    value: Any
    origin: str
    source: str | None
    locator: str | None
    gpo: str | None = None
    order: int = 0
    preferred_controlset: bool = True
    precedence: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def key(self) -> tuple:
        # among GPOs, the lowest precedence wins (1 = the winning GPO of gpresult /x)
        return (RANK.get(self.origin, 0), -(self.precedence or 1), self.preferred_controlset,
                self.order)

    def as_lost(self) -> dict[str, Any]:
        return {"value": self.value, "display": display(self.setting, self.value),
                "origin": self.origin, "source": self.source, "locator": self.locator,
                "gpo": self.gpo}


def _as_int(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, str) and re.fullmatch(r"-?\d+", v.strip()):
        return int(v.strip())
    return v


def _normalise(setting: str, value: Any) -> Any:
    if setting == "LicenseServers":
        if isinstance(value, str):
            return [s.strip() for s in re.split(r"[,;]", value) if s.strip()]
        return list(value) if isinstance(value, (list, tuple)) else value
    if setting == "SSLCertificateSHA1Hash":
        return value.lower().replace(" ", "") if isinstance(value, str) else value
    return _as_int(value)


_CS = re.compile(r"\\ControlSet(\d{3})\\", re.IGNORECASE)


def _current_controlsets(reg: pd.DataFrame, data: list[dict]) -> dict[str, int]:
    """host → ``Select\\Current`` where an export / hive shows it."""
    out: dict[str, int] = {}
    for host, d in zip(reg["host"], data):
        if d.get("key", "").casefold() == r"hklm\system\select" and d.get("name", "").casefold() == "current":
            if isinstance(d.get("value"), int):
                out[str(host)] = d["value"]
    return out


#: Settings whose registry value is text or bytes, not a number.
_TEXT_SETTINGS = frozenset({"LicenseServers", "SSLCertificateSHA1Hash"})
_LINE = re.compile(r"^line (\d+)")


def _registry_value(setting: str, d: dict) -> tuple[bool, Any]:
    """(readable, value) of a registry row for ``setting``. A number stored as REG_BINARY
    (``hex:01,00,00,00``) is its 4 little-endian bytes — its hex text is no decimal number
    (it read as 1000000); a number of any other length or type cannot be read."""
    v, typ = d.get("value"), d.get("type")
    if setting in _TEXT_SETTINGS:
        return True, _normalise(setting, v)
    if typ == "REG_BINARY" and isinstance(v, str):
        try:
            raw = bytes.fromhex(v)
        except ValueError:
            return False, v
        return (True, int.from_bytes(raw, "little")) if len(raw) == 4 else (False, v)
    if typ in ("REG_DWORD", "REG_DWORD_BIG_ENDIAN", "REG_QWORD") and not isinstance(v, int):
        return False, v
    return True, _normalise(setting, v)


def _deletions(tl: pd.DataFrame) -> dict[str, list[tuple[int, str, str | None]]]:
    """source → (line, key, value name or None for the whole key) of each ``"x"=-`` and
    ``[-key]`` of a registry script, keys case-folded."""
    dl = tl[tl["event_type"].astype("string").isin(["reg:value-deleted", "reg:key-deleted"])]
    out: dict[str, list[tuple[int, str, str | None]]] = {}
    for src, loc, s in zip(dl["source"], dl["locator"], dl["data"]):
        d = orjson.loads(s) if isinstance(s, str) else {}
        m = _LINE.match(str(loc))
        key = _raw_key(d)
        name = d.get("name")
        out.setdefault(str(src), []).append((int(m.group(1)) if m else 0, key,
                                             None if name is None else str(name).casefold()))
    return out


def _raw_key(d: dict) -> str:
    """The key as written (root abbreviated, case-folded), control set number kept: deleting
    ControlSet002's key says nothing of ControlSet001's."""
    k = str(d.get("key_original") or d.get("key") or "")
    hive, _ = normalize_key(k)
    parts = k.strip("\\").split("\\")
    if hive and parts:
        parts[0] = hive
    return "\\".join(parts).casefold()


def _deleted_later(dels: list[tuple[int, str, str | None]], line: int, key: str,
                   name: str | None) -> bool:
    """Whether a later line deletes the value ``name`` of ``key`` (``name`` None: the key
    itself, which only a ``[-key]`` of it or of a parent deletes)."""
    return any(dline > line and (dkey == key if dname is not None and dname == name
                                 else dname is None and (key == dkey or key.startswith(dkey + "\\")))
               for dline, dkey, dname in dels)


def _registry_candidates(tl: pd.DataFrame, warnings: list | None = None) -> list[tuple[str, Candidate]]:
    reg = tl[tl["event_type"].astype("string").isin(["reg:value", "reg:key"])]
    if not len(reg):
        return []
    is_key = (reg["event_type"].astype("string") == "reg:key").tolist()
    data = [orjson.loads(s) if isinstance(s, str) else {} for s in reg["data"].tolist()]
    current = _current_controlsets(reg, data)
    deletions = _deletions(tl)
    out: list[tuple[str, Candidate]] = []
    unread: list[tuple[str, str, dict]] = []
    certs: dict[str, list[tuple[str, str, str, str]]] = {}
    lic_keys: dict[str, dict[str, tuple[str, str]]] = {}     # host → subkey name → (src, loc)
    for i, (host, src, loc, d) in enumerate(zip(reg["host"], reg["source"], reg["locator"], data)):
        key = str(d.get("key") or normalize_key(d.get("key_original", ""))[1]).casefold()
        name = str(d.get("name", "")).casefold()
        host = str(host)
        m = _CS.search(str(d.get("key_original", "")) + "\\")
        if m:
            cur = current.get(host)
            preferred = int(m.group(1)) == (cur if cur is not None else 1)
            # another control set than Select\Current (LastKnownGood) is not what runs: it
            # is listed as overridden, never decides
            # (a hive whose Select names a missing set is read from another on purpose)
            inactive = cur is not None and not preferred and not d.get("control_set_fallback")
        else:
            preferred, inactive = True, False
        dels = deletions.get(str(src))
        if dels:
            lm = _LINE.match(str(loc))
            if _deleted_later(dels, int(lm.group(1)) if lm else 0, _raw_key(d),
                              None if is_key[i] else name):
                continue        # the script deletes it again further down
        if key in CERT_KEYS and d.get("name") in CERT_VALUES:
            certs.setdefault(host, []).append((d["name"], CERT_KEYS[key], str(src), str(loc)))
            continue
        sub = key[len(LICENSE_SERVERS_KEY) + 1:].split("\\")[0] \
            if key.startswith(LICENSE_SERVERS_KEY + "\\") else ""
        if sub and sub != "specifiedlicenseservers" and not inactive:
            # LicenseServers\<server>, empty (a reg:key row: 2003 writes the subkeys so,
            # KB301932 Method 1 / KB279561) or with values: the subkey names a license
            # server (in its case as written: key_original has as many components before it)
            orig = str(d.get("key_original") or "").strip("\\").split("\\")
            at = LICENSE_SERVERS_KEY.count("\\") + 1
            server = orig[at] if len(orig) > at and orig[at].casefold() == sub else sub
            lic_keys.setdefault(host, {}).setdefault(server, (str(src), str(loc)))
            continue
        if is_key[i]:
            continue                # a key without values sets nothing else
        hit = REGISTRY_MAP.get((key, name))
        if hit is None:
            continue
        setting, origin = hit
        ok, value = _registry_value(setting, d)
        if not ok:
            # a wrong number must not decide. A DWORD that is no number has the parser's
            # warning; a REG_BINARY of another length than 4 is valid registry data, so
            # nothing would say why the setting reads as unset
            if d.get("type") == "REG_BINARY" and not inactive:
                n = len(str(value or "")) // 2
                unread.append((host, setting, {
                    "source": "" if pd.isna(src) else str(src), "locator": str(loc),
                    "message": f"{setting} ({d.get('key_original') or d.get('key')}\\"
                               f"{d.get('name')}) is REG_BINARY of {n} byte(s), not a 4-byte "
                               "number: not used"}))
            continue
        c = Candidate(setting, value, origin, None if pd.isna(src) else str(src), str(loc),
                      order=i, preferred_controlset=preferred)
        if inactive:
            c.extra["inactive"] = m.group(0).strip("\\")
        out.append((host, c))
    if warnings is not None:
        # only where nothing else in the bundle gives the setting (a cut copy in another
        # control set or file is no news when the running one is read)
        given = {(h.upper(), c.setting) for h, c in out}
        for host, setting, w in unread:
            if (host.upper(), setting) not in given:
                w["message"] += ", and nothing else in the bundle sets it: read as not set"
                warnings.append(w)
    named = {h.upper() for h, c in out if c.setting == "LicenseServers"}
    for host, subs in lic_keys.items():
        if host.upper() in named:
            continue        # SpecifiedLicenseServers (2008+) is the list there
        src, loc = next(iter(subs.values()))
        c = Candidate("LicenseServers", list(subs), "local", src, loc)
        c.extra["display"] = (f"{', '.join(subs)} (subkeys of "
                              "TermService\\Parameters\\LicenseServers)")
        out.append((host, c))
    for host, found in certs.items():
        names = sorted({n for n, _, _, _ in found}, key=CERT_VALUES.index)
        where = sorted({w for _, w, _, _ in found})
        c = Candidate("CertificateValues", names, "local", found[0][2], found[0][3])
        c.extra["display"] = f"{', '.join(names)} in {' and '.join(where)}"
        out.append((host, c))
    return out


def _gp_candidates(tl: pd.DataFrame) -> list[tuple[str, Candidate]]:
    gp = tl[tl["event_type"].astype("string").isin(["gpo:policy", "gpo:registry", "gpo:security-option"])]
    out: list[tuple[str, Candidate]] = []
    # the winning precedence of each policy, whatever its state: a winning GPO that sets a
    # policy Disabled (no value) must not let a losing GPO's Enabled value through
    best: dict[tuple[str, str], int] = {}
    for host, et, s in zip(gp["host"], gp["event_type"], gp["data"]):
        if et != "gpo:policy" or not isinstance(s, str):
            continue
        d = orjson.loads(s)
        if d.get("scope") == "user" or not d.get("name") or d.get("precedence") is None:
            continue
        k = (str(host), str(d["name"]).casefold())
        best[k] = min(best.get(k, d["precedence"]), d["precedence"])
    for i, (host, et, src, loc, s) in enumerate(zip(gp["host"], gp["event_type"], gp["source"],
                                                   gp["locator"], gp["data"])):
        d = orjson.loads(s) if isinstance(s, str) else {}
        if d.get("scope") == "user":
            continue                   # machine settings only; user policy is per user
        host = str(host)
        src = None if pd.isna(src) else str(src)
        common = dict(origin="gpresult", source=src, locator=str(loc), gpo=d.get("gpo"),
                      order=100_000 + i, precedence=d.get("precedence"))
        if et == "gpo:policy":
            win = best.get((host, str(d.get("name") or "").casefold()))
            if win is not None and (d.get("precedence") or 1) > win:
                continue                # a losing GPO's setting of this policy
            for vname, v in (d.get("registry_values") or {}).items():
                key = str(d.get("registry_key") or POL).casefold()
                hit = REGISTRY_MAP.get((key, vname.casefold()))
                if hit is None or v is None:
                    continue
                out.append((host, Candidate(hit[0], _normalise(hit[0], v), **common)))
        elif et == "gpo:registry":
            kp = str(d.get("key_path") or "")
            key = normalize_key(kp if kp.upper().startswith(("HKLM", "HKEY_")) else "HKLM\\" + kp)[1]
            hit = REGISTRY_MAP.get((key.casefold(), str(d.get("name") or "").casefold()))
            if hit is None or d.get("value") is None:
                continue
            out.append((host, Candidate(hit[0], _normalise(hit[0], d["value"]), **common)))
        elif et == "gpo:security-option" and d.get("setting") == "FIPSAlgorithmPolicy":
            v = _as_int(d.get("value"))
            if not isinstance(v, int):
                v = gc.state_value(d.get("display_value"))
            if v is None:
                continue
            out.append((host, Candidate("FIPSAlgorithmPolicy", v, **{**common, "origin": "security-option"})))
    return out


# --------------------------------------------------------------------------- the table


def effective_config(bundle_or_timeline) -> pd.DataFrame:
    """One row per (host, setting); see the module docstring for the rules and columns."""
    if isinstance(bundle_or_timeline, pd.DataFrame):
        tl, hosts = bundle_or_timeline, []
    else:
        tl = bundle_or_timeline.timeline
        hosts = list(getattr(bundle_or_timeline, "hosts", []) or [])
    warnings: list[dict[str, str]] = []
    if tl is None or not len(tl):
        cands: list[tuple[str, Candidate]] = []
    else:
        cands = _registry_candidates(tl, warnings) + _gp_candidates(tl)
        hosts += [str(h) for h in tl["host"].dropna().unique()]
    by: dict[tuple[str, str], list[Candidate]] = {}
    for host, c in cands:
        by.setdefault((host.upper(), c.setting), []).append(c)
    rows = []
    for (host, setting), cs in list(by.items()):
        cs.sort(key=lambda c: (not c.extra.get("inactive"), *c.key()), reverse=True)
        win = cs[0]
        if win.extra.get("inactive"):
            # only a control set that is not running says anything: the default applies
            v = DEFAULTS.get(setting)
            rows.append({"host": host, "setting": setting, "value": v,
                         "display": (display(setting, v) + " — default" if v is not None
                                     else "unknown") + f" (only {win.extra['inactive']}, "
                                     "not the current control set, sets it)",
                         "origin": "default", "gpo": None, "source": None, "locator": None,
                         "overridden": [c.as_lost() for c in cs], "is_default": True})
            continue
        rows.append({"host": host, "setting": setting, "value": win.value,
                     "display": win.extra.get("display") or display(setting, win.value),
                     "origin": win.origin, "gpo": win.gpo if win.origin != "local" else None,
                     "source": win.source, "locator": win.locator,
                     "overridden": [c.as_lost() for c in cs[1:]], "is_default": False})
    for host in sorted({h.upper() for h in hosts if h}):
        for setting, v in DEFAULTS.items():
            if (host, setting) not in by:
                rows.append({"host": host, "setting": setting, "value": v,
                             "display": display(setting, v) + " — default", "origin": "default",
                             "gpo": None, "source": None, "locator": None, "overridden": [],
                             "is_default": True})
    order = {s: i for i, s in enumerate(SETTINGS)}
    rows.sort(key=lambda r: (r["host"], order.get(r["setting"], 999), r["setting"]))
    df = pd.DataFrame(rows, columns=COLUMNS)
    for c in ("value", "gpo", "source", "locator", "display"):
        df[c] = df[c].astype(object)
        df[c] = df[c].where(df[c].notna() | (c == "value"), None)
    df["is_default"] = df["is_default"].astype(bool)
    df.attrs["warnings"] = warnings       # values read but not used: the report lists them
    return df


def get(cfg: pd.DataFrame, host: str, setting: str) -> dict | None:
    """The row of ``setting`` for ``host`` as a dict, or None."""
    if cfg is None or not len(cfg):
        return None
    sub = cfg[(cfg["host"].astype(str).str.upper() == str(host).upper()) & (cfg["setting"] == setting)]
    if not len(sub):
        return None
    return sub.iloc[0].to_dict()


def value(cfg: pd.DataFrame, host: str, setting: str, default: Any = None) -> Any:
    """The effective value of ``setting`` for ``host`` (defaults included), else ``default``."""
    row = get(cfg, host, setting)
    return default if row is None else row["value"]


# --------------------------------------------------------------------------- printing


def describe_origin(row: dict) -> str:
    """``gpresult: GPO "RDS Hardening"``, ``local``, ``default``..."""
    o = row.get("origin") or ""
    if row.get("gpo"):
        return f'{o}: GPO "{row["gpo"]}"'
    return o


def to_text(cfg: pd.DataFrame) -> str:
    """A plain-text table per host (what ``rdpdoctor config`` prints)."""
    if not len(cfg):
        return "No configuration found in this bundle (no registry exports or gpresult reports).\n"
    out = []
    for host, sub in cfg.groupby("host", sort=True):
        out.append(f"== {host} ==")
        recs = sub.to_dict("records")
        w_set = max(len(r["setting"]) for r in recs)
        w_val = max(len(str(r["display"])) for r in recs)
        for r in recs:
            where = "" if r["is_default"] else f"  [{describe_origin(r)}; {r['source']} {r['locator']}]"
            out.append(f"  {r['setting']:<{w_set}}  {str(r['display']):<{w_val}}{where}".rstrip())
            for lost in r["overridden"] or []:
                gpo = f' GPO "{lost["gpo"]}"' if lost.get("gpo") else ""
                out.append(f"  {'':<{w_set}}    overridden: {lost['display']} "
                           f"({lost['origin']}{gpo}; {lost['source']} {lost['locator']})")
        out.append("")
    return "\n".join(out)
