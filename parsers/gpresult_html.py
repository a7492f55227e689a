"""``gpresult /h`` HTML reports (any UI language) → the same Group Policy rows as the XML.

Input
    The GPMC report page ``gpresult /h`` writes (Vista/2008+, usually UTF-16 with BOM). It
    is recognised and read by its **structure**, not by English words, because the report
    is localized (the corpus has a Russian one): ``gpmc_reportInitialized`` on ``<html>``,
    ``div.rsopsettings`` holding two ``div.he0_expanded`` sections (computer first, then
    user), settings in ``table.info3`` whose first row has three ``th`` (Policy / Setting /
    Winning GPO in whatever language), Administrative-Template rows carrying
    ``span[gpmc_settingName][gpmc_settingPath]``, and their parts in a following
    ``table.subtable_frame`` (label / value rows).

Output rows (``kind="gpresult"``; ``time`` NaT unless ``ParseOptions.tz_hint`` lets us read
the local "data collected" stamp — it is kept in ``meta["capture_time_local"]``)
    ``gpo:subject`` one per scope's General table: scope, name, som (the row whose value is
                    an OU path, ``corp.example/Domain Controllers`` — the label is localized),
                    groups [{name, sid}] (the hidden "show" list; SIDs only where the
                    report prints one instead of a name)
    ``gpo:policy``  Administrative Templates, with the same ``registry_value`` / ``value``
                    mapping as the XML reader (``parsers.gpcommon``), ``precedence`` 1
                    (the HTML shows the winning GPO only)
    ``gpo:user-right``  rows whose name is a known user-right display name (English
                    2003–2025 wording, some localized); members by name only (no SIDs)
    ``gpo:security-option``  other security-settings rows (display_name, value); the FIPS
                    option is marked ``setting = FIPSAlgorithmPolicy``
    ``gpo:registry``  "Extra Registry Settings" rows (a registry path as the name)

Not read: Restricted Groups (no ``gpo:restricted-group`` rows, unlike the /x reader). No real
``/h`` report (nor a GPMC report of a GPO) with a Restricted Groups table was found — none in
the shared corpus, none in the public code, pages and docs searched — so its columns and
markup are not guessed at; ``user-not-authorized`` reads Restricted Groups from /x only.
"""
from __future__ import annotations

import html as html_lib
import re
from pathlib import Path
from typing import Any

import pandas as pd
from lxml import etree, html

from . import gpcommon as gc
from . import regcommon as rc
from .base import (NotMyFormat, ParseOptions, ParseResult, ParserInfo,
                   ParseWarning, data_json, result_from_rows, warn)
from .gpresult import _apply_map

INFO = ParserInfo(
    name="gpresult_html", kind="gpresult",
    description="gpresult /h HTML report (any UI language)",
    sniffs="GPMC report markup: 'gpmc_reportInitialized' / 'rsopsettings' / gpmc_setting* (BOM-aware)")

_MARKERS = ("gpmc_reportInitialized", 'class="rsopsettings"', "gpmc_settingName", 'class="rsopheader"')
_REG_PATH = re.compile(r"^(HKLM\\|HKCU\\|MACHINE\\|USER\\)?(Software|System)\\", re.IGNORECASE)


def sniff(head: bytes, name: str = "") -> bool:
    text = rc.head_text(head, 32768)
    return "<html" in text.lower() and any(m in text for m in _MARKERS)


def parse(path: Path, options: ParseOptions | None = None) -> ParseResult:
    return rc.parse_file(path, options, parse_text)


def parse_text(text: str, source: str, options: ParseOptions | None = None,
               line_offset: int = 0) -> ParseResult:
    options = options or ParseOptions()
    if not any(m in text for m in _MARKERS):
        raise NotMyFormat("no GPMC report markup")
    warnings: list[ParseWarning] = []
    parser = html.HTMLParser(no_network=True, huge_tree=False, remove_comments=True,
                             remove_pis=True)
    # strip the XML declaration lxml refuses in str input, keep line numbers
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    try:
        doc = html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError) as e:
        warn(warnings, source, "line 0", f"unreadable HTML: {e}")
        return result_from_rows([], parser=INFO.name, warnings=warnings)
    rows: list[dict[str, Any]] = []
    meta: dict[str, Any] = {}
    unmapped: list[tuple[str, str]] = []        # (locator, name) of localized RDP policies
    sections = doc.xpath('//div[contains(concat(" ", normalize-space(@class), " "), " rsopsettings ")]'
                         '/div[contains(@class, "he0_expanded")]')
    stamp = doc.xpath('//td[@id="dtstamp"]')
    if stamp:
        meta["capture_time_local"] = _stamp(stamp[0].text_content())
    time = _capture_time(meta.get("capture_time_local"), options.tz_hint)
    host = None
    for idx, head in enumerate(sections[:2]):
        scope = "computer" if idx == 0 else "user"
        container = head.getnext()
        while container is not None and not isinstance(container.tag, str):
            container = container.getnext()
        if container is None:
            continue
        info = container.xpath('.//table[contains(@class, "info")][not(contains(@class, "info3"))]')
        if info:
            first = info[0].xpath("./tr/td | ./tbody/tr/td")
            subject = first[1].text_content().strip() if len(first) > 1 else None
            if scope == "computer":
                host = gc.host_from_account(subject)
            else:
                meta["user"] = subject
            rows.append(_subject(info[0], scope, subject, line_offset))
        for table in container.xpath('.//table[contains(@class, "info3")]'):
            try:
                rows.extend(_table(table, scope, source, warnings, line_offset, unmapped))
            except Exception as e:  # one odd table must not lose the report
                warn(warnings, source, f"line {(table.sourceline or 0) + line_offset}",
                     f"cannot read settings table: {type(e).__name__}: {e}")
    if not sections:
        warn(warnings, source, "line 0", "no rsopsettings sections found (not a gpresult /h report?)")
    if unmapped:
        warn(warnings, source, unmapped[0][0], gc.unmapped_rdp_policies([n for _, n in unmapped]))
    rights = [r for r in rows if r["event_type"] == "gpo:user-right"]
    odd = [r for r in rights if not str(r["data"].get("right") or "").startswith("Se")]
    if odd and len(odd) == len(rights):           # not one right known: another language
        warn(warnings, source, odd[0]["locator"],
             f"{len(odd)} user right(s) named in a language rdpdoctor does not know (e.g. "
             f"{odd[0]['data']['right']!r}): the Remote Desktop logon rights may be among them "
             "and are not evaluated from this report; ask for `gpresult /x` (language-neutral)")
    if not re.search(r"</html>\s*$", text[-4096:], re.IGNORECASE):
        lines = text.count("\n") + 1 + line_offset
        warn(warnings, source, f"line {lines}", "the report ends without </html> (truncated): "
             "the settings after the cut are missing")
    meta["host"] = host
    for r in rows:
        r.update(time=time, host=host, kind="gpresult")
        r["data"] = data_json(r["data"])
    return result_from_rows(rows, parser=INFO.name, warnings=warnings, meta=meta)


def _stamp(text: str) -> str | None:
    m = re.search(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}[ T]+\d{1,2}:\d{2}(:\d{2})?(\s*[AP]M)?", text)
    return m.group(0).strip() if m else None


def _capture_time(local: str | None, tz: str | None):
    if not local or not tz:
        return pd.NaT
    dayfirst = "." in local.split(" ")[0]
    try:
        ts = pd.to_datetime(local, dayfirst=dayfirst)
        return ts.tz_localize(tz).tz_convert("UTC")
    except (ValueError, TypeError):
        return pd.NaT


def _cells(tr) -> list:
    return [c for c in tr if isinstance(c.tag, str) and c.tag in ("td", "th")]


def _clean(s: str) -> str:
    return re.sub(r"\s+", " ", s.replace("\xa0", " ")).strip()


def _section_path(table) -> list[str]:
    """Titles of the nested sections around a table, outermost first."""
    titles = []
    el = table
    while el is not None:
        if el.tag == "div" and "container" in (el.get("class") or "").split():
            prev = el.getprevious()
            while prev is not None and not isinstance(prev.tag, str):
                prev = prev.getprevious()
            if prev is not None:
                t = prev.xpath('./span[@class="sectionTitle"]')
                if t:
                    titles.append(_clean(t[0].text_content()))
        el = el.getparent()
    return list(reversed(titles))


def _table(table, scope: str, source: str, warnings, line_offset: int,
           unmapped: list | None = None):
    trs = table.xpath("./tr | ./tbody/tr")
    if not trs:
        return
    head = _cells(trs[0])
    if len(head) != 3 or not all(c.tag == "th" for c in head):
        return                                    # not a Policy / Setting / Winning GPO table
    path = _section_path(table)
    # a table holding one known user right is the User Rights Assignment table, whatever
    # the language of its other rows
    rights_table = any(gc.user_right_constant(_clean(_cells(tr)[0].text_content()))
                       for tr in trs[1:] if len(_cells(tr)) == 3) \
        or any("user rights assignment" in str(p).lower() for p in path)   # its English heading
    last_policy: dict[str, Any] | None = None
    for tr in trs[1:]:
        cells = _cells(tr)
        if all(c.tag == "th" for c in cells):
            continue                               # a repeated header row
        loc = f"line {(tr.sourceline or 0) + line_offset}"
        if len(cells) == 1:
            sub = cells[0].xpath('.//table[contains(@class, "subtable")]')
            if sub and last_policy is not None:
                last_policy["data"]["parts"].update(_parts(sub[0]))
                _apply_map(last_policy["data"])
                _policy_message(last_policy)
            continue
        if len(cells) != 3:
            warn(warnings, source, loc, f"settings row with {len(cells)} cells (ignored)")
            continue
        name_cell, setting_cell, gpo_cell = cells
        setting = _clean(setting_cell.text_content())
        gpo = _clean(gpo_cell.text_content()) or None
        span = name_cell.xpath(".//span[@gpmc_settingname]")
        if span:
            name = span[0].get("gpmc_settingname")
            if name and "&" in name:        # GPMC escapes the attribute twice (&amp;quot;)
                name = html_lib.unescape(name)
            cat_path = span[0].get("gpmc_settingpath") or ""
            category = "/".join(cat_path.split("/")[2:]) or cat_path
            d = {"scope": scope, "name": name, "state": setting, "category": category,
                 "parts": {}, "gpo": gpo, "precedence": 1}
            _apply_map(d)
            # a localized report (no English "Administrative Templates" in the path) names
            # its policies in its language: an unmapped one under Remote Desktop is a gap
            if unmapped is not None and "registry_key" not in d and gc.rdp_category(cat_path) \
                    and "administrative templates" not in cat_path.casefold():
                unmapped.append((loc, name))
            last_policy = {"event_type": "gpo:policy", "locator": loc, "data": d}
            _policy_message(last_policy)
            yield last_policy
            continue
        last_policy = None
        name = _clean(name_cell.text_content())
        right = gc.user_right_constant(name) or (name if rights_table else None)
        if right:
            members = [gc.right_member(m) for m in setting.split(",") if m.strip()]
            yield {"event_type": "gpo:user-right", "locator": loc,
                   "message": f"{right}: {setting} [{gpo}]",
                   "data": {"scope": scope, "right": right, "display_name": name,
                            "members": members, "gpo": gpo, "precedence": 1,
                            "section": "/".join(path[-2:])}}
            continue
        if _REG_PATH.match(name):
            key_path, _, vname = name.rpartition("\\")
            value: Any = int(setting) if re.fullmatch(r"-?\d+", setting) else setting
            yield {"event_type": "gpo:registry", "locator": loc,
                   "message": f"{name} = {setting!r} [{gpo}]",
                   "data": {"scope": scope, "key_path": key_path, "name": vname, "value": value,
                            "gpo": gpo, "precedence": 1}}
            continue
        d = {"scope": scope, "key_name": None, "value": setting, "display_name": name,
             "display_value": setting, "gpo": gpo, "precedence": 1, "section": "/".join(path[-2:])}
        if gc.is_fips_option(None, name):
            d["setting"] = "FIPSAlgorithmPolicy"
            d["value"] = gc.state_value(setting)
        yield {"event_type": "gpo:security-option", "locator": loc,
               "message": f"{name} = {setting!r} [{gpo}]", "data": d}


#: An OU path as the General table prints it: ``corp.example/Domain Controllers``.
_SOM_PATH = re.compile(r"[^\s/\\]+(?:/[^/\\]+)+")
_SID = re.compile(r"\*?(S-1-[0-9-]+)", re.IGNORECASE)


def _subject(table, scope: str, subject: str | None, line_offset: int) -> dict[str, Any]:
    """The scope's General table (computer or user name, domain, site, OU, security
    groups), read by shape: the labels are in the report's language."""
    d: dict[str, Any] = {"scope": scope, "name": subject, "som": None, "groups": []}
    for tr in table.xpath("./tr | ./tbody/tr"):
        cells = _cells(tr)
        if len(cells) != 2:
            continue
        shown = cells[1].xpath('.//div[@id="showItem"]')
        if shown:
            names = [shown[0].text] + [br.tail for br in shown[0].iter("br")]
            for n in (_clean(n) for n in names if n):
                if n:
                    m = _SID.fullmatch(n)
                    d["groups"].append({"name": n, "sid": m.group(1).upper() if m else None})
            continue
        value = _clean(cells[1].text_content())
        if d["som"] is None and _SOM_PATH.fullmatch(value):
            d["som"] = value
    return {"event_type": "gpo:subject", "locator": f"line {(table.sourceline or 0) + line_offset}",
            "message": f"{scope} {subject or '?'}" + (f" in {d['som']}" if d["som"] else "")
                       + f", {len(d['groups'])} security group(s)", "data": d}


def _parts(sub) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tr in sub.xpath("./tr | ./tbody/tr"):
        cells = _cells(tr)
        if len(cells) != 2:
            continue                               # explanatory text row (colspan=2)
        label = _clean(cells[0].text_content())
        inner = cells[1].xpath(".//table")
        if inner:
            value: Any = [_clean(" = ".join(c.text_content() for c in _cells(r)))
                          for r in inner[0].xpath("./tr | ./tbody/tr") if _cells(r)]
        else:
            value = _clean(cells[1].text_content())
            if re.fullmatch(r"-?\d+", value):
                value = int(value)
        out[label] = value
    return out


def _policy_message(row: dict[str, Any]) -> None:
    d = row["data"]
    shown = "; ".join(f"{k} {v}" for k, v in d["parts"].items())
    row["message"] = f"{d['name']}: {d['state']}" + (f" ({shown})" if shown else "") + f" [{d['gpo']}]"
