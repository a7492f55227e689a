"""``gpresult /z`` (and ``/v``, ``/r /z``) text — the only gpresult form Windows Server 2003 has.

Input (English output; best effort — KNOWLEDGE.md §3.4 rates the layout ``M``)::

    RSOP data for CORP\\admin on TS01 : Logging Mode
    ...
    COMPUTER SETTINGS
    ------------------
        Applied Group Policy Objects
        -----------------------------
            TS Policy
        ...
            Administrative Templates
            ------------------------
                GPO: TS Policy
                    Folder Id: Software\\Policies\\Microsoft\\Windows NT\\Terminal Services\\fDenyTSConnections
                    Value:       0, 0, 0, 0
                    State:       Enabled
            User Rights
            -----------
                GPO: Default Domain Controllers Policy
                    Policy:            RemoteInteractiveLogonRight
                    Computer Setting:  Administrators
                                       Remote Desktop Users

Output rows (``kind="gpresult"``, ``time`` NaT: "Created On" is local time without a zone,
kept as ``meta["capture_time_local"]``)
    ``gpo:subject`` (per scope: scope, name, som — the ``CN=…,OU=…,DC=…`` line as an OU
    path, ``corp.example/Domain Controllers``, its escapes undone (``CN=Smith\\, John``:
    :func:`dn_parts`) — and groups [{name, sid}] from "… is a part
    of the following security groups"), ``gpo:gpo`` (applied / filtered-out lists),
    ``gpo:registry`` (Administrative Templates:
    key_path, name, value decoded from the byte list — UTF-16 text ⇒ str, 4 bytes ⇒ DWORD;
    4 bytes that are also a one-character string with its terminator (``49, 0, 0, 0``: 49 or
    "1"; /z prints no type) follow the value's known type (:data:`_DWORD_VALUES`,
    :data:`_STRING_VALUES`), else stay the DWORD with ``raw``, ``as_string`` and a warning —
    state, gpo), ``gpo:user-right`` (right, members by name), ``gpo:security-option``
    (display_name, key_name from ``ValueName:``, value; FIPS marked). What cannot be mapped
    is a warning with its line.

Restricted Groups are **not read** into ``gpo:restricted-group`` rows (the /x reader's): no
real /z or /v text showing an entry's members was found, so what follows an entry's
``Groupname:`` line is unknown and is not guessed at. What is known from real output: the
section is titled ``Restricted Groups`` (dashes under it) between ``Event Log Settings`` and
``System Services`` and says ``N/A`` when empty (a 2012 R2 domain controller's ``gpresult
/z``, Microsoft Q&A "Unable to bind or log into LDAP using specific credentials",
https://learn.microsoft.com/en-us/answers/questions/149890/unable-to-bind-or-log-into-ldap-using-specific-cre),
and each entry names its group on a ``Groupname: <name>`` line (IBM/wincollect,
``WinCollect10/Powershell Scripts/ViewRestrictedGroups/CheckRestrictedGroups.ps1``, reads
the lines of ``Gpresult /V /scope Computer`` between "Restricted" and "System Services" for
``Groupname: Administrators``). The RSoP class behind the report holds only ``GroupName``
and a ``Members`` array, no "Member Of" (RSOP_RestrictedGroup class,
https://msdn.microsoft.com/en-us/library/aa375054(v=vs.85).aspx). So each ``Groupname:``
line of Remote Desktop Users (with the ``GPO:`` of its block, when one precedes it) is named
in one warning asking for ``gpresult /x``: an entry's Members list replaces the group's membership at every
refresh (KB279301), which ``user-not-authorized`` reads from /x only.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from . import gpcommon as gc
from . import regcommon as rc
from . import text as T
from .base import (NotMyFormat, ParseOptions, ParseResult, ParserInfo,
                   ParseWarning, data_json, result_from_rows, warn)

INFO = ParserInfo(name="gpresult_text", kind="gpresult",
                  description="gpresult /z, /v text report (2003 and later; English)",
                  sniffs="'RSOP data for' / 'Resultant Set Of Policies for' / GPO: + Folder Id: blocks",
                  text=True)

_RSOP = re.compile(r"^\s*RSOP (?:data|results) for (?P<user>.+?) on (?P<host>[^\s:]+)\s*:", re.IGNORECASE)
_CREATED = re.compile(r"^\s*Created On\s+(?P<d>.+?)\s+at\s+(?P<t>.+?)\s*$", re.IGNORECASE)
_DASHES = re.compile(r"^\s*-{3,}\s*$")
_FIELD = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z][A-Za-z ]*?):\s*(?P<value>.*)$")
_CN = re.compile(r"^\s*CN=", re.IGNORECASE)
_DN_TYPE = re.compile(r"\s*([A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*)\s*=")
_HEX2 = re.compile(r"[0-9A-Fa-f]{2}")


def dn_parts(dn: str) -> list[tuple[str, str]] | None:
    r"""The attribute types (upper-case) and values of a distinguished name, in order, with
    the escapes of RFC 4514 §2.4 undone: ``\,`` ``\+`` ``\"`` ``\\`` ``\;`` ``\<`` ``\>``
    ``\=`` ``\#`` ``\ `` and ``\<hex><hex>`` (UTF-8 bytes: ``\2C`` is a comma, ``\C3\A9`` an
    é); a value in quotes (RFC 2253) is taken as it is. ``CN=Smith\, John,OU=Staff,DC=corp``
    is ``[("CN", "Smith, John"), ("OU", "Staff"), ("DC", "corp")]``; the values of a
    multi-valued RDN (``+``) follow each other. None when ``dn`` is no DN.

    Sources: RFC 4514 §2.4 and §3 (https://www.rfc-editor.org/rfc/rfc4514); the characters
    Active Directory escapes in a DN: "Distinguished Names",
    https://learn.microsoft.com/en-us/previous-versions/windows/desktop/ldap/distinguished-names
    """
    out: list[tuple[str, str]] = []
    i, n = 0, len(dn)
    while i < n:
        m = _DN_TYPE.match(dn, i)
        if not m:
            return None
        typ, i = m.group(1).upper(), m.end()
        while i < n and dn[i] == " ":
            i += 1                              # (blanks after '=' are no part of the value)
        buf = bytearray()
        trailing = 0                            # unescaped blanks at the value's end
        if i < n and dn[i] == '"':              # a quoted value (RFC 2253)
            j = i + 1
            while j < n and dn[j] != '"':
                if dn[j] == "\\" and j + 1 < n:
                    j += 1
                buf += dn[j].encode("utf-8", "replace")
                j += 1
            if j >= n:
                return None
            i = j + 1
        else:
            while i < n and dn[i] not in ",;+":
                c = dn[i]
                if c == "\\":
                    if _HEX2.fullmatch(dn, i + 1, i + 3):
                        buf.append(int(dn[i + 1:i + 3], 16))
                        i += 3
                    elif i + 1 < n:
                        buf += dn[i + 1].encode("utf-8", "replace")
                        i += 2
                    else:
                        return None             # a lone backslash at the end
                    trailing = 0
                    continue
                buf += c.encode("utf-8", "replace")
                trailing = trailing + 1 if c == " " else 0
                i += 1
        value = bytes(buf[:len(buf) - trailing])
        out.append((typ, value.decode("utf-8", "replace")))
        while i < n and dn[i] == " ":
            i += 1
        if i < n:
            if dn[i] not in ",;+":
                return None
            i += 1
    return out or None


def _dn_to_som(dn: str | list[tuple[str, str]]) -> str | None:
    """``CN=TS01,OU=Servers,OU=HQ,DC=corp,DC=example`` → ``corp.example/HQ/Servers`` (the
    form the XML report's SOM has); None without a DC= part."""
    parts = dn_parts(dn.strip()) if isinstance(dn, str) else dn
    if not parts:
        return None
    ous = [v for t, v in parts if t == "OU"]
    dcs = [v for t, v in parts if t == "DC"]
    if not dcs:
        return None
    return "/".join([".".join(dcs)] + list(reversed(ous)))


def sniff_text(text: str) -> bool:
    head = text[:16384]
    if re.search(r"RSOP (data|results) for .+ on ", head, re.IGNORECASE):
        return True
    if re.search(r"Resultant Set Of Policies for (Computer|User)", head, re.IGNORECASE):
        return True
    return bool(re.search(r"^\s*GPO:.*\r?\n\s*(?:Folder Id|KeyName):", head, re.MULTILINE))


def sniff(head: bytes, name: str = "") -> bool:
    return sniff_text(rc.head_text(head, 16384))


def parse(path: Path, options: ParseOptions | None = None) -> ParseResult:
    return rc.parse_file(path, options, parse_text)


def _sections(lines: list[str]):
    """Yield (line index, title) for every title underlined by dashes."""
    for i in range(len(lines) - 1):
        if _DASHES.match(lines[i + 1]) and lines[i].strip() and not _DASHES.match(lines[i]):
            yield i, lines[i].strip()


def parse_text(text: str, source: str, options: ParseOptions | None = None,
               line_offset: int = 0) -> ParseResult:
    if not sniff_text(text):
        raise NotMyFormat("no gpresult /z text markers")
    lines = T.split_any_lines(text)  # (\r\r\n is one line end: the dash underlines stay)
    warnings: list[ParseWarning] = []
    meta: dict[str, Any] = {}
    titles = dict(_sections(lines))
    rows: list[dict[str, Any]] = []
    scope = "computer"
    section = ""
    block: dict[str, Any] | None = None
    last_key: str | None = None
    list_section: str | None = None
    subjects: dict[str, dict[str, Any]] = {}     # scope → gpo:subject row
    restricted: list[tuple[str, str | None, int]] = []   # (Groupname:, its GPO, line)

    def subject() -> dict[str, Any]:
        if scope not in subjects:
            subjects[scope] = {"event_type": "gpo:subject", "locator": f"line {lineno}",
                               "data": {"scope": scope, "name": None, "som": None, "groups": []}}
        return subjects[scope]["data"]

    def close():
        nonlocal block
        if block is not None:
            r = _block_row(block, section, scope, source, warnings)
            if r:
                rows.append(r)
        block = None

    for i, line in enumerate(lines):
        lineno = i + 1 + line_offset
        m = _RSOP.match(line)
        if m:
            meta["user"] = m.group("user").strip()
            meta.setdefault("host", gc.host_from_account(m.group("host")))
            continue
        m = _CREATED.match(line)
        if m:
            meta["capture_time_local"] = f"{m.group('d')} {m.group('t')}"
            continue
        if _DASHES.match(line):
            continue
        if i in titles:
            close()
            t = titles[i]
            if t.upper() == "COMPUTER SETTINGS":
                scope = "computer"
            elif t.upper() == "USER SETTINGS":
                scope = "user"
            section = t
            low = t.lower()
            list_section = ("applied" if low.startswith("applied group policy objects") else
                            "filtered" if "were not applied" in low else
                            "groups" if "security groups" in low else None)
            continue
        if not line.strip():
            continue
        dn = dn_parts(line.strip()) if _CN.match(line) else None
        if dn and len(dn) > 1:
            if scope == "computer" and "host" not in meta:
                meta["host"] = dn[0][1].strip().upper()
            if block is None and not list_section:
                subject().update(name=dn[0][1].strip(), som=_dn_to_som(dn))
                continue
        if list_section == "groups":
            subject()["groups"].append(gc.right_member(line))
            continue
        if list_section:
            s = line.strip()
            f = _FIELD.match(line)
            if f and f.group("key").strip().lower() == "filtering" and rows and rows[-1]["event_type"] == "gpo:gpo":
                rows[-1]["data"]["reason"] = f.group("value").strip()
                continue
            rows.append({"event_type": "gpo:gpo", "locator": f"line {lineno}",
                         "message": f"{scope} GPO {s!r}" + (" applied" if list_section == "applied" else " not applied"),
                         "data": {"scope": scope, "name": s, "applied": list_section == "applied"}})
            continue
        f = _FIELD.match(line)
        if f and section.lower() == "restricted groups" \
                and f.group("key").strip().lower() == "groupname":
            # (only the name on this line: what lists the members is not known, see above)
            restricted.append((f.group("value").strip(), block["gpo"] if block else None,
                               lineno))
        if f and f.group("key").strip().upper() == "GPO":
            close()
            block = {"gpo": f.group("value").strip(), "line": lineno, "fields": {}}
            last_key = None
            continue
        if block is None:
            continue
        if f and not line.strip().startswith("\\"):
            last_key = f.group("key").strip().lower()
            block["fields"].setdefault(last_key, []).append(f.group("value").strip())
        elif last_key:
            block["fields"][last_key].append(line.strip())   # continuation (more members)
    close()
    _warn_conflicts(rows, source, warnings)
    if restricted:
        _warn_restricted_groups(restricted, source, warnings)
    for sub in subjects.values():
        d = sub["data"]
        sub["message"] = (f"{d['scope']} {d['name'] or '?'}" + (f" in {d['som']}" if d["som"] else "")
                          + f", {len(d['groups'])} security group(s)")
        rows.append(sub)
    host = meta.get("host")
    for r in rows:
        r.update(kind="gpresult", host=host)
        r["data"] = data_json(r["data"])
    return result_from_rows(rows, parser=INFO.name, warnings=warnings, meta=meta)


def _warn_conflicts(rows: list[dict[str, Any]], source: str, warnings: list) -> None:
    """/z lists a setting once per GPO that sets it (precedence 1 and higher) without saying
    which wins: where GPOs disagree, the configuration takes the last listed, and says so."""
    seen: dict[tuple, list[tuple[str, Any, str]]] = {}
    for r in rows:
        d = r["data"]
        if r["event_type"] == "gpo:user-right":
            key = ("right", d.get("scope"), d.get("right"))
            val: Any = sorted(str(m.get("name")) for m in d.get("members") or [])
        elif r["event_type"] in ("gpo:registry", "gpo:security-option", "gpo:policy"):
            key = (r["event_type"], d.get("scope"), d.get("key_path") or d.get("key_name"),
                   d.get("name") or d.get("display_name") or d.get("setting"))
            val = d.get("value")
        else:
            continue
        seen.setdefault(key, []).append((str(d.get("gpo")), val, r["locator"]))
    for key, got in seen.items():
        if len({repr(v) for _, v, _ in got}) > 1 and len({g for g, _, _ in got}) > 1:
            warn(warnings, source, got[-1][2],
                 f"{key[-1]} is set differently by {len(got)} GPOs ("
                 + "; ".join(f"{g}: {v}" for g, v, _ in got)[:200]
                 + "): gpresult /z does not say which wins; the last listed is used — "
                 "ask for `gpresult /x` (it gives each GPO's precedence)")


def _rdu_entry(group: str) -> bool:
    """Whether a ``Groupname:`` names Remote Desktop Users (``BUILTIN\\Remote Desktop Users``,
    ``*S-1-5-32-555``; the English name: the section is read in English reports only)."""
    g = group.strip().lstrip("*").casefold()
    return g == "s-1-5-32-555" or g.rsplit("\\", 1)[-1] == "remote desktop users"


def _warn_restricted_groups(entries: list[tuple[str, str | None, int]], source: str,
                            warnings: list) -> None:
    """One warning naming the report's Restricted Groups entries for Remote Desktop Users,
    whose members are not read from /z or /v text (see the module docstring). Entries of
    other groups (Administrators: common in domains, and no RDP question) say nothing."""
    entries = [e for e in entries if _rdu_entry(e[0])]
    if not entries:
        return
    shown = "; ".join(f"{g}" + (f' [GPO "{gpo}"]' if gpo else "") for g, gpo, _ in entries[:6])
    more = f" and {len(entries) - 6} more" if len(entries) > 6 else ""
    warn(warnings, source, f"line {entries[0][2]}",
         f"{len(entries)} Restricted Groups "
         f"{'entry' if len(entries) == 1 else 'entries'} for Remote Desktop Users: "
         f"{shown}{more}. rdpdoctor does not read who they admit from gpresult /z or /v "
         "text: an entry's \"Members of this group\" replaces the group's membership at "
         "every policy refresh, so it decides who may connect. Ask for `gpresult /x` "
         "(user-not-authorized reads Restricted Groups from it)")


#: Types of the registry values the RDP checks read (KNOWLEDGE.md Part B §2.1, §3.2), by
#: value name (case-folded). ``/z`` prints a value's bytes without its type, and four bytes
#: are a DWORD or a one-character REG_SZ with its terminator (``49, 0, 0, 0``: 49 or "1").
_DWORD_VALUES = frozenset(n.casefold() for n in (
    "fDenyTSConnections", "PortNumber", "MaxInstanceCount", "fSingleSessionPerUser",
    "SecurityLayer", "MinEncryptionLevel", "UserAuthentication", "fEnableWinStation",
    "KeepAliveEnable", "KeepAliveInterval", "KeepAliveTime", "LicensingMode",
    "Enabled", "DisabledByDefault", "FIPSAlgorithmPolicy", "EnableTCPChimney", "EnableRSS",
    "EnableTCPA", "AllowEncryptionOracle", "MaxOutstandingConnections", "MaxIdleTime",
    "MaxDisconnectionTime", "MaxConnectionTime", "fResetBroken", "fPromptForPassword",
    "SelectTransport", "fDisableAutoReconnect", "fAllowToGetHelp", "TSAppCompat", "Start",
    "WebSocketListenerPort", "WebSocketTlsListenerPort"))
_STRING_VALUES = frozenset(n.casefold() for n in (
    "LicenseServers", "CertTemplateName", "WebSocketURI", "SelfSignedCertStore",
    "LoadableProtocol_Object", "CitrixBackupRdpTcpLoadableProtocolObject",
    "AutoBackupLogFiles"))      # (the event log policy: "1", seen as 49, 0, 0, 0 in a real /z)


def _bytes_value(text: str, name: str = "") -> tuple[Any, bytes | None, str | None]:
    """(value, bytes, the one-character string four bytes may also be — or None)."""
    nums = [p.strip() for p in text.split(",") if p.strip()]
    if not nums or not all(re.fullmatch(r"\d{1,3}", n) and int(n) < 256 for n in nums):
        return None, None, None
    b = bytes(int(n) for n in nums)
    known = name.casefold()
    if len(b) >= 2 and len(b) % 2 == 0 and b.endswith(b"\0\0") and (
            len(b) != 4 or known in _STRING_VALUES):
        s = b.decode("utf-16-le", "replace").rstrip("\x00")
        if s.isprintable():
            return s, b, None
    if len(b) == 4:
        char = chr(b[0]) if 0x20 <= b[0] < 0x7F and b[1:] == b"\0\0\0" else None
        return int.from_bytes(b, "little"), b, None if known in _DWORD_VALUES else char
    return b.hex(), b, None


def _block_row(block: dict, section: str, scope: str, source: str, warnings) -> dict | None:
    f = {k: v for k, v in block["fields"].items()}
    loc = f"line {block['line']}"
    gpo = block["gpo"]
    sec = section.lower()
    if "folder id" in f or "keyname" in f:      # (gpresult /v and /z of Windows 7 and later
        path = (f.get("folder id") or f["keyname"])[0]   # print KeyName: where 2003 printed Folder Id:)
        if "\\" not in path:     # Folder Redirection's "Folder Id: Documents" is no registry value
            return None
        key_path, _, name = path.rpartition("\\")
        raw_value = " ".join(f.get("value", [])).strip()
        value, raw, char = _bytes_value(raw_value, name)
        if value is None and raw_value:
            warn(warnings, source, loc, f"cannot decode value {raw_value[:40]!r} of {path}")
            value = raw_value
        if char is not None:
            # a value of unknown type: kept as the DWORD, the other reading said
            warn(warnings, source, loc,
                 f"{path} = {raw_value!r} read as the DWORD {value}; it may be the "
                 f"one-character string {char!r} (gpresult /z does not print the type)")
        state = (f.get("state") or [None])[0]
        d = {"scope": scope, "key_path": key_path, "name": name, "value": value, "state": state,
             "gpo": gpo, "precedence": 1}
        if raw is not None and (not isinstance(value, int) or char is not None):
            d["raw"] = raw.hex()
        if char is not None:
            d["as_string"] = char
        if state and state.lower() not in ("enabled",):
            d["value"] = None if state.lower() == "deleted" else value
        return {"event_type": "gpo:registry", "locator": loc,
                "message": f"{path} = {value!r} ({state}) [{gpo}]", "data": d}
    policy = (f.get("policy") or [None])[0]
    setting = [s for s in (f.get("computer setting") or f.get("user setting") or []) if s]
    if policy is None:
        return None
    if "user rights" in sec:
        right = gc.user_right_constant(policy)
        if right is None:
            warn(warnings, source, loc, f"cannot map user right {policy!r}")
            right = policy
        # "N/A": the right is defined with no account (gpresult /z prints no member name)
        members = [gc.right_member(s) for s in setting
                   if s.strip().lower() not in ("not defined", "n/a")]
        return {"event_type": "gpo:user-right", "locator": loc,
                "message": f"{right}: {', '.join(m['name'] for m in members)} [{gpo}]",
                "data": {"scope": scope, "right": right, "members": members, "gpo": gpo,
                         "precedence": 1}}
    if "security options" in sec or "valuename" in f:
        key_name = (f.get("valuename") or [None])[0]
        value: Any = setting[0] if setting else None
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            value = int(value)
        d = {"scope": scope, "key_name": key_name, "value": value, "display_name": policy,
             "display_value": setting[0] if setting else None, "gpo": gpo, "precedence": 1}
        if gc.is_fips_option(key_name, policy) or policy.lower() == "fipsalgorithmpolicy":
            d["setting"] = "FIPSAlgorithmPolicy"
            if not isinstance(value, int):
                d["value"] = gc.state_value(value)
        return {"event_type": "gpo:security-option", "locator": loc,
                "message": f"{policy} = {value!r} [{gpo}]", "data": d}
    return None
