"""``powercfg`` output: the power scheme's sleep and hibernate timeouts, any Windows, any language.

Input (recognised by content, never by file name):

* **Windows Server 2003 / XP** ``powercfg /query`` (and ``/query "<scheme>"``): a two-column
  table under a ``-----  -----`` ruler, twelve rows in a fixed order — ``Name``, ``Numerical
  ID``, then AC and DC rows of *Turn off monitor*, *Turn off hard disks*, *System standby*,
  *System hibernates*, *Processor Throttle* — valued ``After 20 mins``, ``Never``, ``Not
  Supported``, ``NONE``/``CONSTANT``/``DEGRADE``/``ADAPTIVE``. Labels are localized: a row is
  known by its position, so any language reads; values in English and German are understood
  (a number with a minute or hour word, "never", "not supported"), an unknown word is kept
  as printed and read as unknown.
* **Windows Vista / 2008 and later** ``powercfg /q`` (``/query [scheme [subgroup [setting]]]``,
  also filtered through ``findstr``): ``<label>: <GUID>  (<name>)`` lines for the scheme,
  its subgroups and settings (indented 0 / 2 / 4), then each setting's ``<label>: 0x%08x``
  lines: range (minimum, maximum, increment) first, the current AC and DC index last. Labels
  and names are localized; the GUIDs and ``0x`` values are not, so settings are known by GUID
  and the AC / DC lines by their words (AC/DC, Wechselstrom/Gleichstrom, CA/CC, 交流/直流) or,
  in any other language, by position (the last two values of a setting).
* ``powercfg /list`` (``/l``) and ``/getactivescheme``: ``<label>: <GUID>  (<name>)`` lines; the
  active scheme is marked ``*`` (or is the only one ``/getactivescheme`` prints). 2003's
  ``/list`` prints names only and says nothing of which is active: it is not read.
* ``powercfg /a`` (``/availablesleepstates``): the sleep states available and not available,
  each not-available state with its reasons on the lines below it ("Hibernation has not been
  enabled.", "The hypervisor does not support this standby state.").
* ``powercfg /hibernate off`` prints nothing; ``/lastwake`` and the other options are not read.

Real output these rules follow (read, not copied): 2003 ``/query`` in John Savill, ITPro Today,
"How can I set power configuration options outside the Power Options Control Panel applet?"
(2005) and KB324347 "How to use Powercfg.exe in Windows Server 2003"; 2008+ ``/query`` and
``/list`` in michlstechblog.info "Windows: Changing the power plan or a single value in a
sheme" and jakubjares.com "Powercfg.exe tips & tricks" (2018, indentation and ``GUID
Alias`` lines); German labels ("GUID der Energieeinstellung", "Index der aktuellen
Wechselstromeinstellung") in scripts and tests on GitHub that parse German powercfg; ``/a``
in ITPro Today "How can I determine which sleep states are available on my Windows Vista
machine?" (2007), seerge/g-helper issue #5773 (Windows 11, indented reasons) and the German
headings quoted in mniederw/MnCommonPsToolLib ("Die folgenden Standbymodusfunktionen sind auf
diesem System verfügbar: Standby ( S1 S3 ) Ruhezustand Hybrider Standbymodus").

A file cut inside its last line (no line break after it, where powercfg ends every line with
one): the line is read only when its form shows it whole — ``0x`` and eight hex digits, a
whole GUID, ``After 20 mins`` with its unit, ``Never`` — else it is not read and a warning
gives the line (``0x0000`` of ``0x00000708`` would read as "never sleeps").

Rows (``kind="powercfg"``, ``time`` NaT — a state snapshot, ``host`` <NA>, ``locator``
``line N`` of the setting's first line):

* ``powercfg:setting`` — one per relevant setting of each scheme shown. ``data``: ``format``
  (``query-2003`` | ``query``), ``scheme`` (name as printed), ``scheme_guid`` (2008+),
  ``scheme_id`` (2003 Numerical ID), ``active`` (True when ``/list`` or ``/getactivescheme`` in
  the same text marks it, False when they mark another, else None), ``setting`` (``standby``,
  ``hibernate``, ``hybrid_sleep``, ``wake_timers``, ``monitor``, ``disk``, ``throttle``),
  ``setting_guid``, ``label`` (as printed), ``unit`` (``seconds`` for timeouts, ``index`` for
  hybrid sleep / wake timers: 0 off, 1 on; ``throttle``), ``ac`` / ``dc`` (int: seconds with
  0 = never, or the index; None when not supported or not understood, ``dc`` also when a
  ``findstr`` kept the AC line alone) and ``ac_original`` / ``dc_original`` (as printed).
* ``powercfg:scheme`` — one per ``/list`` or ``/getactivescheme`` line: ``scheme``,
  ``scheme_guid``, ``active`` (bool).
* ``powercfg:sleep-states`` — one per ``/a`` output: ``available`` / ``unavailable`` (state
  keys: ``S1`` ``S2`` ``S3`` ``S0`` (low power idle), ``hibernate``, ``hybrid-sleep``,
  ``fast-startup``, or the text as printed), ``reasons`` (state → reason lines),
  ``hibernate`` (True available, False not, None not said), ``standby`` (True when some
  S0-S3 state is available, False when every one listed is not).

>>> t = ("Power Scheme GUID: 381b4222-f694-41f0-9685-ff5bb260df2e  (Balanced)\\n"
...      "    Power Setting GUID: 29f6c1db-86da-48c5-9fdb-f2b67b1f44da  (Sleep after)\\n"
...      "    Current AC Power Setting Index: 0x00000708\\n"
...      "    Current DC Power Setting Index: 0x00000384\\n")
>>> import json; d = json.loads(parse_text(t, "x").frame.loc[0, "data"])
>>> d["setting"], d["ac"], d["dc"]
('standby', 1800, 900)
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from . import text as T
from .base import ParseOptions, ParseResult, ParserInfo, data_json, result_from_rows, warn

INFO = ParserInfo(name="powercfg", kind="powercfg", text=True,
                  description="Windows powercfg: /query (2003 table and 2008+ GUID list), "
                              "/list, /getactivescheme, /a; any language",
                  sniffs="'label: <power GUID>' lines with '0x' values or a known power GUID; "
                         "a 12-row '-----  -----' table of power timeouts (2003); the "
                         "available / not available sleep-state lists of /a")

_G = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
#: ``Power Setting GUID: 29f6c1db-…  (Sleep after)`` in any language; ``*`` marks /list's active.
#: (The name may hold parentheses itself: "Plan (copy)"; possessive blanks: no slow backtracking.)
_GUID_LINE = re.compile(r"^(?P<indent>[ \t]*+)(?P<label>[^:\r\n]{1,80}?)[ \t]*:[ \t]*+"
                        rf"\{{?(?P<guid>{_G})\}}?(?:[ \t]++\((?P<name>.*)\))?"
                        r"(?P<open>[ \t]++\([^)]*)?[ \t]*+(?P<star>\*)?[ \t]*+$")
#: ``Current AC Power Setting Index: 0x00000708`` (any language: a label, a colon, 0x hex).
_HEX_LINE = re.compile(r"^(?P<indent>[ \t]*+)(?P<label>[^:\r\n]{1,100}?)[ \t]*:[ \t]*+"
                       r"0x(?P<hex>[0-9a-fA-F]++)[ \t]*+$")
#: any other ``label: value`` line inside a /q block (GUID Alias, Possible Setting Index ...)
_LABEL_LINE = re.compile(r"^[ \t]*+[^:\r\n]{1,100}?:(?:[ \t]|$)")

SCHEMES = {  # the built-in schemes (names are localized in the output)
    "381b4222-f694-41f0-9685-ff5bb260df2e": "Balanced",
    "8c5e7fda-e8bf-4a96-9a85-a6e23a8c635c": "High performance",
    "a1841308-3541-4fab-bc81-f71556f20b4a": "Power saver",
    "e9a42b02-d5df-448d-aa00-03f14749eb61": "Ultimate Performance",
}
SUBGROUPS = {
    "fea3413e-7e05-4911-9a71-700331f1c294": "none",
    "0012ee47-9041-4b5d-9b77-535fba8b1442": "disk",
    "238c9fa8-0aad-41ed-83f4-97be242c8f20": "sleep",
    "7516b95f-f776-4464-8c53-06167f40cc99": "video",
    "4f971e89-eebd-4455-a8de-9e59040e7347": "buttons",
    "54533251-82be-4824-96c1-47b60b740d00": "processor",
    "501a4d13-42af-4429-9fd1-a8218c268e20": "pciexpress",
    "2a737441-1930-4402-8d77-b2bebba308a3": "usb",
    "19cbb8fa-5279-450e-9fac-8a3d5fedd0c1": "wireless",
    "e73a048d-bf27-4f12-9731-8b2076e8891f": "battery",
    "9596fb26-9850-41fd-ac3e-f7c3c00afd4b": "multimedia",
    "0d7dbae2-4294-402a-ba8e-26777e8488cd": "desktop",
    "02f815b5-a5cf-4c84-bf20-649d1f75d3d8": "internet-explorer",
    "de830923-a562-41af-a086-e3a2c6bad2da": "energy-saver",
}
#: setting GUID → (setting, unit): the ones that decide whether the server sleeps, and the two
#: timeouts 2003 shows beside them (monitor, disk) so both formats say the same things.
SETTINGS = {
    "29f6c1db-86da-48c5-9fdb-f2b67b1f44da": ("standby", "seconds"),       # STANDBYIDLE
    "9d7815a6-7ee4-497e-8888-515a05f02364": ("hibernate", "seconds"),     # HIBERNATEIDLE
    "94ac6d29-73ce-41a6-809f-6363ba21b47e": ("hybrid_sleep", "index"),    # HYBRIDSLEEP
    "bd3b718a-0680-4d9d-8ab2-e1d2b4ac806d": ("wake_timers", "index"),     # RTCWAKE
    "3c0bc021-c8a8-4e07-a973-6b14cbcb2b7e": ("monitor", "seconds"),       # VIDEOIDLE
    "6738e2c4-e8a5-4a42-b16a-e040e769756e": ("disk", "seconds"),          # DISKIDLE
}
_KNOWN_GUIDS = set(SCHEMES) | set(SUBGROUPS) | set(SETTINGS)

#: words of the current-value labels: "Current AC Power Setting Index", "Index der
#: aktuellen Wechselstromeinstellung", "Índice de Configuração de Energia CA Atual",
#: "当前交流电源设置索引"
_AC_WORD = re.compile(r"\bAC\b|Wechselstrom|\bCA\b|交流|сети", re.IGNORECASE)
_DC_WORD = re.compile(r"\bDC\b|Gleichstrom|\bCC\b|直流|батаре", re.IGNORECASE)

# ----------------------------------------------------------------------- 2003 /query table

#: The 12 rows of 2003's /query, in order: (setting, AC/DC) after Name and Numerical ID.
ROWS_2003 = ("name", "id", ("monitor", "ac"), ("monitor", "dc"), ("disk", "ac"), ("disk", "dc"),
             ("standby", "ac"), ("standby", "dc"), ("hibernate", "ac"), ("hibernate", "dc"),
             ("throttle", "ac"), ("throttle", "dc"))
_RULER_2003 = re.compile(r"^[ \t]*-{3,}[ \t]+-{3,}[ \t]*$")
_ROW_2003 = re.compile(r"^(?P<label>\S.*?)(?:[ \t]{2,}|\t)(?P<value>\S.*?)[ \t]*$")
_NEVER = frozenset(("never", "nie", "niemals", "jamais", "nunca", "mai", "nooit", "nigdy",
                    "никогда", "從不", "从不", "なし"))
_NOT_SUPPORTED = frozenset(("not supported", "nicht unterstützt", "wird nicht unterstützt",
                            "non pris en charge", "no compatible", "no admitido",
                            "non supportato", "не поддерживается"))
_THROTTLE = frozenset(("none", "constant", "degrade", "adaptive", "keine", "konstant",
                       "verringern", "adaptiv"))
_HOURS = re.compile(r"\b(?:hours?|hrs?|std\.?|stunden?|heures?|horas?)(?:\W|$)", re.IGNORECASE)
_MINS = re.compile(r"\b(?:mins?\.?|minutes?|minuten?|minutos?)(?:\W|$)", re.IGNORECASE)
#: "After 20 mins" / "Nach 20 Min." — the number and a unit word after it (whole)
_AFTER = re.compile(r"^\D*?(?P<n>\d{1,7})\s*(?P<unit>\S.*)?$")


def _value_2003(value: str, setting: str) -> tuple[int | None, bool]:
    """(seconds or None, whole): 0 for never; None for not supported / throttle / unknown.
    ``whole``: the text's form shows it complete (for a line the file may end inside)."""
    v = value.strip()
    low = v.casefold().rstrip(".")
    if low in _NEVER:
        return 0, True
    if low in _NOT_SUPPORTED:
        return None, True
    if setting == "throttle":
        return None, low in _THROTTLE
    m = _AFTER.match(v)
    if m:
        n = int(m.group("n"))
        unit = m.group("unit") or ""
        if _HOURS.search(unit):
            return n * 3600, True
        return n * 60, bool(_MINS.search(unit) or unit.strip(". "))
    return None, False


def _find_2003(lines: list[str], start: int = 0
               ) -> list[tuple[int, int, list[tuple[int, str, str]]]]:
    """(ruler index, end index, rows as (index, label, value)) of every 2003 /query table."""
    out = []
    i = start
    n = len(lines)
    while i < n:
        if not _RULER_2003.match(lines[i]):
            i += 1
            continue
        rows: list[tuple[int, str, str]] = []
        j = i + 1
        while j < n and len(rows) < len(ROWS_2003):
            ln = lines[j]
            if not ln.strip():
                break
            m = _ROW_2003.match(ln)
            if not m:
                break
            rows.append((j, m.group("label").strip(), m.group("value")))
            j += 1
        if _looks_2003(rows):
            out.append((i, j, rows))
            i = j
        else:
            i += 1
    return out


def _looks_2003(rows: list[tuple[int, str, str]]) -> bool:
    """Rows of a 2003 /query table, not any ``Name  Value`` table (PowerShell's Format-Table
    has the same ruler): an integer Numerical ID in row 2, and the timeout rows hold power
    values (never / not supported / a number), AC/DC labels helping."""
    if len(rows) < 8 or not rows[1][2].strip().isdecimal():
        return False
    timeouts = [(ROWS_2003[k][0], v) for k, (_, _, v) in enumerate(rows[2:10], 2)]
    known = sum(1 for s, v in timeouts if _value_2003(v, s)[0] is not None
                or v.strip().casefold().rstrip(".") in _NOT_SUPPORTED)
    acdc = sum(1 for _, lab, _ in rows if re.search(r"\((?:AC|DC)\)\s*$", lab))
    return known >= 6 or (known >= 4 and acdc >= 4)


# ----------------------------------------------------------------------- /a sleep states

_STATE_HEAD = re.compile(r"^\S.*:\s*$")
_S_STATES = re.compile(r"\bS\s*([0-4])\b")
_STATE_WORDS = (  # checked in order: "Hybrid Sleep" before the Standby and Hibernate words
    ("hybrid-sleep", re.compile(r"hybrid|hybride|híbrid|гибридн", re.IGNORECASE)),
    ("fast-startup", re.compile(r"fast startup|schnellstart|démarrage rapide|inicio rápido"
                                r"|быстрый запуск", re.IGNORECASE)),
    ("hibernate", re.compile(r"hibernat|ruhezustand|veille prolongée|hibernación"
                             r"|гибернац", re.IGNORECASE)),
)
_SLEEP_HEAD_WORDS = re.compile(r"sleep states|standbymodusfunktionen|ruhezustandfunktionen"
                               r"|energiesparzust|états de veille|estados de suspensión"
                               r"|состояния спящего", re.IGNORECASE)


def _state_keys(entry: str) -> list[str]:
    s = entry.strip()
    for key, pat in _STATE_WORDS:
        if pat.search(s):
            return [key]
    found = [f"S{m.group(1)}" for m in _S_STATES.finditer(s)]
    return found or [s]


def _find_states(lines: list[str]) -> list[tuple[int, int]]:
    """(first, end) of each /a output: a heading ending in ':' over indented entries (a
    not-available entry's reasons indented further), a second heading after it; the headings
    hold known words, or an entry names an S-state (``Standby ( S1 S3 )``)."""
    out = []
    i, n = 0, len(lines)
    while i < n:
        if not _STATE_HEAD.match(lines[i]):
            i += 1
            continue
        j, heads, last = i + 1, 1, i
        while j < n:
            cur = lines[j]
            if not cur.strip():
                j += 1
                continue
            if cur[:1].isspace():
                last = j
            elif heads < 2 and _STATE_HEAD.match(cur):
                heads += 1
                last = j
            else:
                break
            j += 1
        body = lines[i:last + 1]
        entries = [b for b in body if b[:1].isspace() and b.strip()]
        if entries and (_SLEEP_HEAD_WORDS.search(lines[i]) or any(
                re.search(r"\(\s*S[0-4]\b", b) for b in entries)) and not any(
                _GUID_LINE.match(b) or _HEX_LINE.match(b) for b in body):
            out.append((i, last + 1))
            i = last + 1
            continue
        i += 1
    return out


#: a heading of the not-available list ("... are not available ...", "... nicht verfügbar")
_NEG = re.compile(r"\b(?:not|nicht|pas|no|não|niet|nie|не)\b|不|ない", re.IGNORECASE)


def _parse_states(lines: list[str], s: int, e: int, line_offset: int) -> dict[str, Any]:
    available: list[str] = []
    unavailable: list[str] = []
    reasons: dict[str, list[str]] = {}
    original: dict[str, list[str]] = {"available": [], "unavailable": []}
    heads = [k for k in range(s, e) if lines[k].strip() and not lines[k][:1].isspace()]
    by_word = any(_NEG.search(lines[k]) for k in heads)
    section = "available"
    entry_indent = None
    last: list[str] = []
    for k in range(s, e):
        ln = lines[k]
        if not ln.strip():
            continue
        if not ln[:1].isspace():
            if by_word:
                section = "unavailable" if _NEG.search(ln) else "available"
            else:
                section = "available" if k == heads[0] else "unavailable"
            entry_indent = None
            continue
        indent = len(ln) - len(ln.lstrip())
        if entry_indent is None or indent <= entry_indent:
            entry_indent = indent
            keys = _state_keys(ln)
            (available if section == "available" else unavailable).extend(keys)
            original[section].append(ln.strip())
            last = keys
        else:                       # a reason line under a not-available state
            for key in last:
                reasons.setdefault(key, []).append(ln.strip())
    sleeps = {"S0", "S1", "S2", "S3"}
    hib = True if "hibernate" in available else False if "hibernate" in unavailable else None
    standby = True if sleeps & set(available) else \
        False if sleeps & set(unavailable) else None
    return {"format": "availablesleepstates", "available": available, "unavailable": unavailable,
            "reasons": reasons, "hibernate": hib, "standby": standby, "original": original}


# ----------------------------------------------------------------------- 2008+ /query

def _whole_hex(h: str) -> bool:
    return len(h) == 8


def _read_vista(lines: list[str], line_offset: int, source: str, warnings: list,
                open_end: int | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict]:
    """Settings and scheme-list rows of /query, /list, /getactivescheme lines."""
    settings: list[dict[str, Any]] = []
    listed: list[dict[str, Any]] = []
    stats = {"settings_seen": 0, "by_position": 0}
    scheme: dict[str, Any] | None = None
    cur: dict[str, Any] | None = None      # the setting being read

    def close():
        nonlocal cur
        if cur is None:
            return
        hexes = cur.pop("_hex")
        if cur["setting_guid"] in SETTINGS:
            cut = cur.get("_cut", False)
            ac = [h for h in hexes if _AC_WORD.search(h[1]) and not _DC_WORD.search(h[1])]
            dc = [h for h in hexes if _DC_WORD.search(h[1]) and not _AC_WORD.search(h[1])]
            if cur.pop("_cut", False):
                pick = None                 # its last value line was cut (said already)
            elif len(ac) == 1 and len(dc) <= 1:
                # (findstr "AC" keeps the AC line alone: the value that matters on a server)
                pick = (ac[0], dc[0] if dc else None)
            elif not ac and not dc and len(hexes) >= 2:
                # a language whose words are not known: range first, AC and DC last
                pick = (hexes[-2], hexes[-1])
                stats["by_position"] += 1
            else:
                pick = None
            if pick is None and not cut:
                warn(warnings, source, cur["_line"],
                     f"powercfg setting {cur['label'] or cur['setting_guid']!r} without its "
                     "current AC and DC values (output cut or filtered?): not read")
            if pick:
                (_, _, ach), dcl = pick
                dch = dcl[2] if dcl else None
                cur["ac"], cur["dc"] = int(ach, 16), (int(dch, 16) if dch else None)
                cur["ac_original"] = f"0x{ach}"
                cur["dc_original"] = f"0x{dch}" if dch else None
                settings.append(cur)
        cur = None

    for k, ln in enumerate(lines):
        no = k + 1 + line_offset
        if not ln.strip():
            continue
        m = _GUID_LINE.match(ln)
        if m:
            guid = m.group("guid").lower()
            name = m.group("name")
            if k == open_end and m.group("open"):
                warn(warnings, source, no, "the file ends inside this line (no line break after "
                                           "it): the name in parentheses is cut")
            indent = len(m.group("indent").expandtabs(8))
            close()
            if guid in SETTINGS or (guid not in SCHEMES and guid not in SUBGROUPS and indent >= 4):
                stats["settings_seen"] += 1
                if scheme is not None:
                    scheme["body"] = True
                setting, unit = SETTINGS.get(guid, (None, None))
                cur = {"_line": no, "_hex": [], "setting_guid": guid, "setting": setting,
                       "unit": unit, "label": name, "scheme": (scheme or {}).get("scheme"),
                       "scheme_guid": (scheme or {}).get("scheme_guid")}
                continue
            if guid in SUBGROUPS or (guid not in SCHEMES and indent >= 1 and scheme is not None):
                if scheme is not None:
                    scheme["body"] = True
                continue
            # a scheme: of /query, /list (marked *), or /getactivescheme — which always name
            # it in parentheses ("Volume GUID: …" of another tool does not)
            if name is None and guid not in SCHEMES:
                scheme = None
                continue
            scheme = {"scheme": name, "scheme_guid": guid, "line": no,
                      "star": bool(m.group("star")), "body": False}
            listed.append(scheme)
            continue
        h = _HEX_LINE.match(ln)
        if cur is not None and k == open_end and (h is None or not _whole_hex(h.group("hex"))) \
                and re.search(r"0x[0-9a-fA-F]*\W?$", ln):
            # the last line, with no line break after it where powercfg ends every line with
            # one, and a value not of powercfg's form (0x and 8 digits): cut
            shown = ln.strip().rsplit(":", 1)[-1].strip()
            warn(warnings, source, no, "the file ends inside this line (no line break after "
                                       "it, where powercfg ends every line with one): value "
                                       f"{shown!r} may be cut; the setting is not read")
            cur["_cut"] = True
            continue
        if h and cur is not None:
            cur["_hex"].append((no, h.group("label"), h.group("hex")))
            continue
        # anything else (GUID Alias, Possible Setting Index / Friendly Name, /list's header
        # and ruler) says nothing rdpdoctor reads
    close()
    return settings, listed, stats


def _scheme_rows(listed: list[dict[str, Any]]) -> tuple[set, list]:
    """Active scheme GUIDs and the ``powercfg:scheme`` rows of the /list and /getactivescheme
    lines (scheme lines with nothing under them; a /query's scheme line heads its settings).
    Active: /list's ``*``; without one, a lone scheme line is /getactivescheme's."""
    lines = [s for s in listed if not s["body"]]
    active = {s["scheme_guid"] for s in lines if s["star"]}
    if not active and len(lines) == 1:
        active = {lines[0]["scheme_guid"]}
    rows = []
    for s in lines:
        is_active = s["scheme_guid"] in active
        rows.append({"kind": "powercfg", "event_type": "powercfg:scheme",
                     "locator": f"line {s['line']}",
                     "message": f"power scheme {s['scheme'] or s['scheme_guid']}"
                                + (" (active)" if is_active else ""),
                     "data": data_json({"scheme": s["scheme"], "scheme_guid": s["scheme_guid"],
                                        "active": is_active})})
    return active, rows


# ----------------------------------------------------------------------- rows


def _fmt_seconds(v: int | None, unit: str | None) -> str:
    if v is None:
        return "?"
    if unit != "seconds":
        return str(v)
    if v == 0:
        return "never"
    if v % 3600 == 0:
        return f"after {v // 3600} h"
    return f"after {v // 60} min" if v % 60 == 0 else f"after {v} s"


def _setting_row(d: dict[str, Any], line: int) -> dict[str, Any]:
    what = d.get("label") or d["setting"]
    ac, dc = (_fmt_seconds(d[k], d["unit"]) if d[k] is not None else d[f"{k}_original"] or "?"
              for k in ("ac", "dc"))
    msg = f"powercfg {d.get('scheme') or '?'}: {what} AC {ac}, DC {dc}"
    return {"kind": "powercfg", "event_type": "powercfg:setting", "locator": f"line {line}",
            "message": msg, "data": data_json(d)}


def sniff_text(text: str) -> bool:
    lines = T.split_lines(text)[:400]
    hexes = sum(1 for ln in lines if (h := _HEX_LINE.match(ln)) and _whole_hex(h.group("hex")))
    for ln in lines:
        m = _GUID_LINE.match(ln)
        if m and (m.group("guid").lower() in _KNOWN_GUIDS or hexes >= 2):
            return True
    if _find_2003(lines):
        return True
    return bool(_find_states(lines))


def block_spans(lines: list[str]) -> list[tuple[int, int]]:
    """Where powercfg outputs are in a text of several command outputs (``parsers.textlog``)."""
    spans: list[tuple[int, int]] = []
    for r, e, _ in _find_2003(lines):
        s = r - 1 if r > 0 and lines[r - 1].strip() else r
        spans.append((s, e))
    spans.extend(_find_states(lines))
    i, n = 0, len(lines)
    while i < n:
        m = _GUID_LINE.match(lines[i])
        if not m:
            i += 1
            continue
        s = i
        # /list's header and ruler above its first line
        if s >= 2 and re.match(r"^\s*-{3,}\s*$", lines[s - 1]) and lines[s - 2].strip():
            s -= 2
        j, known, hexes, last = i, 0, 0, i
        while j < n:
            ln = lines[j]
            if not ln.strip():
                if j + 1 < n and lines[j + 1].strip() and (
                        lines[j + 1][:1].isspace() or _GUID_LINE.match(lines[j + 1])):
                    j += 1
                    continue
                break
            g = _GUID_LINE.match(ln)
            if g:
                known += g.group("guid").lower() in _KNOWN_GUIDS
            elif _HEX_LINE.match(ln):
                hexes += 1
            elif not (ln[:1].isspace() and _LABEL_LINE.match(ln)) and not re.match(
                    r"^\S[^:]{0,80}: \S", ln):
                break
            last = j
            j += 1
        if known or hexes >= 2:
            spans.append((s, last + 1))
        i = max(last + 1, i + 1)
    spans.sort()
    out: list[tuple[int, int]] = []
    for s, e in spans:                  # (a /a inside a /query block cannot be; keep the first)
        if out and s < out[-1][1]:
            continue
        out.append((s, e))
    return out


def parse_text(text: str, source: str, options: ParseOptions | None = None,
               line_offset: int = 0, *, file_end: bool | str = False) -> ParseResult:
    """``file_end``: the end of ``text`` is the end of the file (not of a block cut out of a
    longer text), so a last line without its line break may have been cut
    (:func:`parsers.text.cut_line`): it is read only when its form shows it whole."""
    lines = T.split_lines(text)
    warnings: list = []
    cut = T.cut_line(text, lines, file_end)
    open_end = len(lines) - 1 if file_end and lines and lines[-1].strip() and not \
        text.rstrip("\x1a").endswith(("\n", "\r")) else None
    rows: list[dict[str, Any]] = []
    formats: list[str] = []
    taken: set[int] = set()

    # 2003 /query tables
    for r, e, trows in _find_2003(lines):
        formats.append("query-2003")
        taken.update(range(max(r - 1, 0), e))
        name = sid = None
        vals: dict[str, dict[str, Any]] = {}
        for pos, (k, label, value) in enumerate(trows):
            no = k + 1 + line_offset
            what = ROWS_2003[pos]
            if k == open_end:
                whole = True if what in ("name", "id") else _value_2003(value, what[0])[1]
                if not whole or (what in ("name", "id") and k == cut):
                    warn(warnings, source, no, "the file ends inside this line (no line break "
                                               "after it, where powercfg ends every line with "
                                               f"one): {value.strip()!r} may be cut; not read")
                    continue
            if what == "name":
                name = value.strip()
                continue
            if what == "id":
                v = value.strip()
                sid = int(v) if v.isdecimal() and len(v) < 10 else None
                continue
            setting, side = what
            secs, _ = _value_2003(value, setting)
            d = vals.setdefault(setting, {"_line": no, "label": [], "ac": None, "dc": None,
                                          "ac_original": None, "dc_original": None})
            d["label"].append(label)
            d[side] = secs
            d[f"{side}_original"] = value.strip()
            low = value.strip().casefold().rstrip(".")
            if secs is None and low not in _NOT_SUPPORTED and not (
                    setting == "throttle" and low in _THROTTLE):
                warn(warnings, source, no, f"powercfg value {value.strip()!r} not understood "
                                           "(a language not known?): read as unknown")
        for setting, d in vals.items():
            line = d.pop("_line")
            data = {"format": "query-2003", "scheme": name, "scheme_guid": None,
                    "scheme_id": sid, "active": None, "setting": setting, "setting_guid": None,
                    "label": " / ".join(d.pop("label")),
                    "unit": "throttle" if setting == "throttle" else "seconds", **d}
            rows.append(_setting_row(data, line))

    # /a sleep states
    for s, e in _find_states(lines):
        if s in taken:
            continue
        formats.append("availablesleepstates")
        taken.update(range(s, e))
        d = _parse_states(lines, s, e, line_offset)
        avail = ", ".join(d["available"]) or "none"
        rows.append({"kind": "powercfg", "event_type": "powercfg:sleep-states",
                     "locator": f"line {s + 1 + line_offset}",
                     "message": f"sleep states available: {avail}", "data": data_json(d)})

    # 2008+ /query, /list, /getactivescheme
    rest = [("" if k in taken else ln) for k, ln in enumerate(lines)]
    settings, listed, vstats = _read_vista(rest, line_offset, source, warnings, open_end)
    if settings or listed:
        formats.append("query")
    active, scheme_rows = _scheme_rows(listed)
    for d in settings:
        line = d.pop("_line")
        if d["setting"] is None:
            continue
        d = {"format": "query", "scheme": d["scheme"], "scheme_guid": d["scheme_guid"],
             "scheme_id": None,
             "active": (d["scheme_guid"] in active) if active else None,
             "setting": d["setting"], "setting_guid": d["setting_guid"], "label": d["label"],
             "unit": d["unit"], "ac": d["ac"], "dc": d["dc"], "ac_original": d["ac_original"],
             "dc_original": d["dc_original"]}
        rows.append(_setting_row(d, line))
    rows.extend(scheme_rows)
    rows.sort(key=lambda r: int(r["locator"].split()[1]))
    if not rows and any(ln.strip() for ln in lines):
        warn(warnings, source, line_offset + 1, "no powercfg output recognised")
    stats = {"formats": formats, **vstats}
    meta: dict[str, Any] = {}
    return result_from_rows(rows, parser="powercfg", warnings=warnings, stats=stats, meta=meta)


def sniff(head: bytes, name: str = "") -> bool:
    return T.sniff_head(head, sniff_text)


def parse(path: Path, options: ParseOptions | None = None) -> ParseResult:
    return T.parse_file(path, options, functools.partial(parse_text, file_end=True),
                        kind="powercfg")
