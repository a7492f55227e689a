"""``gpresult /x`` (RSoP) XML reports → Group Policy rows.

Input
    ``<Rsop xmlns="http://www.microsoft.com/GroupPolicy/Rsop">`` from Vista/2008 and later,
    usually UTF-16 with BOM and an ``encoding="utf-16"`` declaration (KNOWLEDGE.md §3.1).
    Elements are matched **by namespace URI and local name**; the ``q1:``/``q7:`` prefixes
    differ from report to report and are never looked at. lxml with entity resolution and
    network access off; libxml2's default size limits stay on (``huge_tree`` off).

Output rows (``kind="gpresult"``, ``time`` = the report's ``ReadTime``, ``host`` = the
computer name of ``ComputerResults``)
    ``gpo:subject``        one per scope: who the report is about — scope, name (the
                           computer or user account), domain, site, som (the OU path,
                           ``corp.example/Domain Controllers``), groups [{name, sid}] (its
                           security groups)
    ``gpo:gpo``            one per GPO in a scope's list: scope, name, guid, som, applied,
                           applied_order, link_order, enabled, filter_allowed, access_denied
    ``gpo:policy``         Administrative Templates: scope, name, state, category,
                           parts {label: value}, gpo, gpo_guid, precedence, registry_value /
                           value (first RDP value it maps to), registry_values {name: value}
    ``gpo:registry``       RegistrySetting fallbacks: scope, key_path, name, value, gpo
    ``gpo:user-right``     scope, right (``SeRemoteInteractiveLogonRight``), members
                           [{name, sid}], gpo, precedence
    ``gpo:security-option`` scope, key_name (or system_access_name), value, display_name,
                           display_value, gpo, precedence
    ``gpo:restricted-group`` scope, group {name, sid}, members, member_of, gpo, precedence
                           (Restricted Groups: ``members`` is "Members of this group", which
                           replaces the group's membership at every refresh; ``member_of`` is
                           "This group is a member of", which only adds — KB279301. An empty
                           ``members`` list is not told from one left undefined: the RSoP
                           class ``RSOP_RestrictedGroup`` holds only ``GroupName`` and a
                           ``Members`` array)
``meta``: host, capture_time, domain, site, user.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from lxml import etree

from . import gpcommon as gc
from . import regcommon as rc
from .base import (read_bounded, NotMyFormat, ParseOptions, ParseResult, ParserInfo,
                   ParseWarning, data_json, result_from_rows, warn)

INFO = ParserInfo(
    name="gpresult", kind="gpresult",
    description="gpresult /x RSoP XML report (Vista/2008+)",
    sniffs="'<Rsop' root or the http://www.microsoft.com/GroupPolicy/Rsop namespace (BOM-aware)")

NS_RSOP = "http://www.microsoft.com/GroupPolicy/Rsop"
NS_SETTINGS = "http://www.microsoft.com/GroupPolicy/Settings"
NS_BASE = "http://www.microsoft.com/GroupPolicy/Settings/Base"
NS_TYPES = "http://www.microsoft.com/GroupPolicy/Types"
NS_REG = "http://www.microsoft.com/GroupPolicy/Settings/Registry"
NS_SEC = "http://www.microsoft.com/GroupPolicy/Settings/Security"


def _q(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}"


def sniff(head: bytes, name: str = "") -> bool:
    text = rc.head_text(head, 8192)
    return "<Rsop" in text or NS_RSOP in text


def _parser(recover: bool = False) -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                           remove_comments=True, remove_pis=True, load_dtd=False,
                           recover=recover)


def parse(path: Path, options: ParseOptions | None = None) -> ParseResult:
    options = options or ParseOptions()
    raw = read_bounded(path, options)
    warnings: list[ParseWarning] = []
    source = str(path)
    root = _load(raw, source, warnings)
    if root is None or etree.QName(root).localname != "Rsop":
        raise NotMyFormat("no <Rsop> root element")
    rows, meta, stats = _read(root, source, warnings)
    stats["bytes_read"] = len(raw)
    return result_from_rows(rows, parser=INFO.name, warnings=warnings, stats=stats, meta=meta)


def _load(raw: bytes, source: str, warnings: list[ParseWarning]):
    try:
        return etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError as e:
        first = e
    # a declaration that lies about the encoding, or a truncated file: decode ourselves,
    # drop the declaration, and let libxml2 recover what it can
    text, _ = rc.decode_text(raw)
    if text.lstrip().startswith("<?xml"):
        text = text[text.find("?>") + 2:]
    try:
        root = etree.fromstring(text.encode("utf-8"), _parser(recover=True))
    except etree.XMLSyntaxError as e:
        warn(warnings, source, f"line {e.lineno or 0}", f"unreadable XML: {e}")
        return None
    if root is not None:
        warn(warnings, source, f"line {first.lineno or 0}",
             f"XML damaged ({first.msg}); read in recovery mode, settings after it may be missing")
    return root


# --------------------------------------------------------------------------- reading


def _text(el, ns: str, local: str) -> str | None:
    if el is None:
        return None
    c = el.find(_q(ns, local))
    if c is None or c.text is None:
        return None
    return c.text.strip()


def _children(el, ns: str, local: str):
    return el.findall(_q(ns, local)) if el is not None else []


def _bool(s: str | None) -> bool | None:
    return None if s is None else s.strip().lower() == "true"


def _read(root, source: str, warnings: list[ParseWarning]):
    read_time = _text(root, NS_RSOP, "ReadTime")
    time = pd.to_datetime(read_time, utc=True, errors="coerce") if read_time else pd.NaT
    meta: dict[str, Any] = {"capture_time": None if pd.isna(time) else time.isoformat(),
                            "data_type": _text(root, NS_RSOP, "DataType")}
    rows: list[dict[str, Any]] = []
    stats: dict[str, Any] = {"settings_other": 0}
    host = None
    gpos = _gpo_names(root)
    for scope_el, scope in ((root.find(_q(NS_RSOP, "ComputerResults")), "computer"),
                            (root.find(_q(NS_RSOP, "UserResults")), "user")):
        if scope_el is None:
            continue
        subject = _text(scope_el, NS_RSOP, "Name")
        if scope == "computer":
            host = gc.host_from_account(subject)
            meta.update(domain=_text(scope_el, NS_RSOP, "Domain"), site=_text(scope_el, NS_RSOP, "Site"))
        else:
            meta["user"] = subject
        rows.append(_subject_row(scope_el, scope, subject))
        for g in _children(scope_el, NS_RSOP, "GPO"):
            rows.append(_gpo_row(g, scope))
        for ext_data in _children(scope_el, NS_RSOP, "ExtensionData"):
            for ext in _children(ext_data, NS_RSOP, "Extension") + _children(ext_data, NS_SETTINGS, "Extension"):
                for el in ext:
                    if not isinstance(el.tag, str):
                        continue
                    try:
                        row = _setting(el, scope, gpos)
                    except Exception as e:  # one odd setting must not lose the report
                        warn(warnings, source, f"line {el.sourceline}",
                             f"cannot read {etree.QName(el).localname}: {type(e).__name__}: {e}")
                        continue
                    if row is None:
                        stats["settings_other"] += 1
                        continue
                    row["locator"] = f"line {el.sourceline}"
                    rows.append(row)
    # a localized report names its policies in its language (the category too: no English
    # "Windows Components"): an unmapped one under Remote Desktop is a gap in the config
    unmapped = [r for r in rows if r["event_type"] == "gpo:policy"
                and "registry_key" not in r["data"] and gc.rdp_category(r["data"].get("category"))
                and "windows components" not in (r["data"].get("category") or "").casefold()]
    if unmapped:
        warn(warnings, source, unmapped[0]["locator"],
             gc.unmapped_rdp_policies([str(r["data"].get("name")) for r in unmapped]))
    meta["host"] = host
    for r in rows:
        r["time"] = time
        r["host"] = host
        r["kind"] = "gpresult"
        r["data"] = data_json(r["data"])
    return rows, meta, stats


def _gpo_names(root) -> dict[str, str]:
    """GPO GUID → display name over both scopes (a scope that did not apply a GPO may list
    it under its GUID only)."""
    out: dict[str, str] = {}
    for g in root.iter(_q(NS_RSOP, "GPO")):
        guid = _text(g.find(_q(NS_RSOP, "Path")), NS_TYPES, "Identifier")
        name = _text(g, NS_RSOP, "Name")
        if guid and name and (guid.upper() not in out or out[guid.upper()].startswith("{")):
            out[guid.upper()] = name
    return out


def _subject_row(scope_el, scope: str, subject: str | None) -> dict[str, Any]:
    """The computer (or user) the scope describes: its OU and security groups (a domain
    controller sits in the Domain Controllers OU and group)."""
    d = {"scope": scope, "name": subject, "domain": _text(scope_el, NS_RSOP, "Domain"),
         "site": _text(scope_el, NS_RSOP, "Site"), "som": _text(scope_el, NS_RSOP, "SOM"),
         "groups": [_member(g) for g in _children(scope_el, NS_RSOP, "SecurityGroup")]}
    name_el = scope_el.find(_q(NS_RSOP, "Name"))
    line = name_el.sourceline if name_el is not None else scope_el.sourceline
    return {"event_type": "gpo:subject", "locator": f"line {line}",
            "message": f"{scope} {subject or '?'}" + (f" in {d['som']}" if d["som"] else "")
                       + f", {len(d['groups'])} security group(s)", "data": d}


def _gpo_row(g, scope: str):
    name = _text(g, NS_RSOP, "Name")
    path = g.find(_q(NS_RSOP, "Path"))
    guid = _text(path, NS_TYPES, "Identifier")
    link = g.find(_q(NS_RSOP, "Link"))
    applied_order = _text(link, NS_RSOP, "AppliedOrder")
    d = {"scope": scope, "name": name, "guid": guid,
         "som": _text(link, NS_RSOP, "SOMPath"),
         "applied_order": int(applied_order) if applied_order and applied_order.isdecimal() else None,
         "link_order": _text(link, NS_RSOP, "LinkOrder"),
         "enabled": _bool(_text(g, NS_RSOP, "Enabled")),
         "valid": _bool(_text(g, NS_RSOP, "IsValid")),
         "filter_allowed": _bool(_text(g, NS_RSOP, "FilterAllowed")),
         "access_denied": _bool(_text(g, NS_RSOP, "AccessDenied")),
         "extensions": [e.text.strip() for e in _children(g, NS_RSOP, "ExtensionName") if e.text]}
    d["applied"] = bool(d["applied_order"]) and d["filter_allowed"] is not False \
        and d["access_denied"] is not True
    row = {"event_type": "gpo:gpo", "locator": f"line {g.sourceline}",
           "message": f"{scope} GPO {name!r}" + (" applied" if d["applied"] else " not applied"),
           "data": d}
    return row


def _winner(el, gpos: dict[str, str]) -> dict[str, Any]:
    g = el.find(_q(NS_BASE, "GPO"))
    guid = _text(g, NS_TYPES, "Identifier")
    prec = _text(el, NS_BASE, "Precedence")
    return {"gpo": gpos.get((guid or "").upper(), guid), "gpo_guid": guid,
            "precedence": int(prec) if prec and prec.isdecimal() else None}


def _setting(el, scope: str, gpos: dict[str, str]) -> dict[str, Any] | None:
    q = etree.QName(el)
    if q.namespace == NS_REG and q.localname == "Policy":
        return _policy(el, scope, gpos)
    if q.namespace == NS_REG and q.localname == "RegistrySetting":
        return _registry_setting(el, scope, gpos)
    if q.namespace == NS_SEC and q.localname == "UserRightsAssignment":
        return _user_right(el, scope, gpos)
    if q.namespace == NS_SEC and q.localname == "SecurityOptions":
        return _security_option(el, scope, gpos)
    if q.namespace == NS_SEC and q.localname == "RestrictedGroups":
        return _restricted_group(el, scope, gpos)
    return None


def _part_value(part) -> Any:
    kind = etree.QName(part).localname
    if kind == "DropDownList":
        return _text(part.find(_q(NS_REG, "Value")), NS_REG, "Name")
    if kind == "Numeric":
        v = _text(part, NS_REG, "Value")
        try:
            return int(v) if v is not None else None
        except ValueError:
            return v
    if kind == "CheckBox":
        return (_text(part, NS_REG, "State") or "").lower() == "enabled"
    if kind == "EditText":
        return _text(part, NS_REG, "Value") or ""
    if kind == "ListBox":
        out = []
        for e in _children(part.find(_q(NS_REG, "Value")), NS_REG, "Element"):
            n, d = _text(e, NS_REG, "Name"), _text(e, NS_REG, "Data")
            out.append(n if d is None else f"{n}={d}")
        return out
    return None


_PART_KINDS = ("DropDownList", "Numeric", "CheckBox", "EditText", "ListBox")


def _policy(el, scope: str, gpos) -> dict[str, Any]:
    name = _text(el, NS_REG, "Name")
    state = _text(el, NS_REG, "State")
    category = _text(el, NS_REG, "Category")
    parts: dict[str, Any] = {}
    for kind in _PART_KINDS:
        for p in _children(el, NS_REG, kind):
            label = _text(p, NS_REG, "Name") or kind
            parts[label] = _part_value(p)
    d = {"scope": scope, "name": name, "state": state, "category": category, "parts": parts,
         **_winner(el, gpos)}
    _apply_map(d)
    shown = "; ".join(f"{k} {v}" for k, v in parts.items())
    return {"event_type": "gpo:policy",
            "message": f"{name}: {state}" + (f" ({shown})" if shown else "") + f" [{d['gpo']}]",
            "data": d}


def _apply_map(d: dict[str, Any]) -> None:
    """Add registry_value / value / registry_values / registry_key for RDP-relevant policies."""
    vals = gc.policy_values(d.get("name"), d.get("state"), d.get("parts") or {}, d.get("category"))
    pm = gc.policy_map(d.get("name"), d.get("category"))
    if pm is None:
        return
    d["registry_key"] = ("HKLM\\" if d.get("scope") != "user" else "HKCU\\") + pm.key
    d["registry_values"] = vals
    names = list(pm.enabled) + list(pm.parts) + list(pm.disabled)
    first = next((n for n in names if n in vals and vals[n] is not None), names[0] if names else None)
    d["registry_value"] = first
    d["value"] = vals.get(first) if first else None


def _registry_setting(el, scope: str, gpos) -> dict[str, Any]:
    key_path = _text(el, NS_REG, "KeyPath")
    val = el.find(_q(NS_REG, "Value"))
    name = value = None
    if val is not None:
        name = _text(val, NS_REG, "Name")
        for kind in ("Number", "String", "Binary", "Data"):
            v = _text(val, NS_REG, kind)
            if v is not None:
                value = int(v) if kind == "Number" and v.lstrip("-").isdecimal() else v
                break
    d = {"scope": scope, "key_path": key_path, "name": name, "value": value,
         "adm_setting": _bool(_text(el, NS_REG, "AdmSetting")), **_winner(el, gpos)}
    shown = f"{key_path}\\{name} = {value!r}" if name is not None else f"{key_path}"
    return {"event_type": "gpo:registry", "message": f"{shown} [{d['gpo']}]", "data": d}


def _member(m) -> dict[str, Any]:
    return {"name": _text(m, NS_TYPES, "Name"), "sid": _text(m, NS_TYPES, "SID")}


def _user_right(el, scope: str, gpos) -> dict[str, Any]:
    right = _text(el, NS_SEC, "Name")
    members = [_member(m) for m in _children(el, NS_SEC, "Member")]
    d = {"scope": scope, "right": gc.user_right_constant(right or "") or right, "members": members,
         **_winner(el, gpos)}
    names = ", ".join(m["name"] or m["sid"] or "?" for m in members)
    return {"event_type": "gpo:user-right", "message": f"{d['right']}: {names} [{d['gpo']}]",
            "data": d}


def _security_option(el, scope: str, gpos) -> dict[str, Any]:
    key_name = _text(el, NS_SEC, "KeyName")
    sys_name = _text(el, NS_SEC, "SystemAccessPolicyName")
    value: Any = _text(el, NS_SEC, "SettingNumber")
    if value is not None:
        try:
            value = int(value)
        except ValueError:
            pass
    else:
        value = _text(el, NS_SEC, "SettingString")
        if value is None:
            strs = el.find(_q(NS_SEC, "SettingStrings"))
            if strs is not None:
                value = [v.text for v in strs.iter(_q(NS_SEC, "Value")) if v.text]
    disp = el.find(_q(NS_SEC, "Display"))
    display_name = _text(disp, NS_SEC, "Name")
    display_value = (_text(disp, NS_SEC, "DisplayBoolean") or _text(disp, NS_SEC, "DisplayString")
                     or _text(disp, NS_SEC, "DisplayNumber"))
    d = {"scope": scope, "key_name": key_name, "system_access_name": sys_name, "value": value,
         "display_name": display_name, "display_value": display_value, **_winner(el, gpos)}
    if gc.is_fips_option(key_name, display_name):
        d["setting"] = "FIPSAlgorithmPolicy"
    label = display_name or key_name or sys_name
    return {"event_type": "gpo:security-option", "message": f"{label} = {value!r} [{d['gpo']}]",
            "data": d}


def _restricted_group(el, scope: str, gpos) -> dict[str, Any]:
    g = el.find(_q(NS_SEC, "GroupName"))
    group = _member(g) if g is not None else {}
    d = {"scope": scope, "group": group,
         "members": [_member(m) for m in _children(el, NS_SEC, "Member")],
         # "This group is a member of": MemberOf here; a GPO-report-to-SQL reader (gpo2sql,
         # MSXML XPath, case-sensitive) selects ./security:Memberof — both are read
         "member_of": [_member(m) for m in _children(el, NS_SEC, "MemberOf")
                       + _children(el, NS_SEC, "Memberof")], **_winner(el, gpos)}
    who = lambda ms: ", ".join(m["name"] or m["sid"] or "?" for m in ms)  # noqa: E731
    return {"event_type": "gpo:restricted-group",
            "message": f"restricted group {group.get('name') or group.get('sid')}: members "
                       + (who(d["members"]) or "none listed")
                       + (f"; member of {who(d['member_of'])}" if d["member_of"] else "")
                       + f" [{d['gpo']}]", "data": d}

