"""Event XML exports → timeline rows (the same rows ``parsers.evtx`` gives for the event).

Input, any of:

* ``wevtutil qe System /f:xml`` (also ``/f:RenderedXml``): a bare sequence of ``<Event
  xmlns="http://schemas.microsoft.com/win/2004/08/events/event">`` elements with no root
  element and usually no XML declaration;
* Event Viewer "Save All Events As… → XML" / "Save Selected Events": an ``<Events>`` root
  (UTF-16 or UTF-8, with a declaration);
* ``Get-WinEvent … | ForEach-Object { $_.ToXml() }`` and hand-made concatenations of the
  above; events may carry ``<RenderingInfo Culture="…"><Message>`` — the only place offline
  where Windows' own message text exists: it becomes the row's ``message``.

Each ``<Event>…</Event>`` is cut out of the text and parsed on its own with lxml
(``resolve_entities=False``, ``no_network=True``, no DTD, no huge trees), so a rootless
sequence needs no wrapping, a damaged or truncated event costs only itself (a warning with
its line), and elements are matched by namespace URI (the event namespace, or none for
exports that dropped it). ``UserData`` children keep whatever namespace they declare.

Rows (``kind`` = ``evtxml``; ``locator`` = ``line N`` of the event's start):
``time`` System/TimeCreated/@SystemTime (UTC), ``record_id`` EventRecordID, ``provider``
Provider/@Name, ``channel``, ``event_id`` (low 16 bits; ``Qualifiers`` in data), ``level``,
``host`` Computer, ``sid`` Security/@UserID, ``pid`` Execution/@ProcessID, ``user``/``ip``/
``port``/``session_id`` from :func:`parsers.eventcommon.event_columns`, ``data`` = named
``<Data>`` fields, unnamed ones as ``param1..N``, UserData leaves by element name,
``Binary`` (lower-case hex), ``ntstatus`` (TermDD, KNOWLEDGE.md §1.8), ``Qualifiers``,
``EventSourceName``, ``ActivityID`` — exactly the keys ``parsers.evtx`` uses. XML carries
no value types: every field value is the string the export shows.

``stats``: ``records``, ``records_expected`` (``<Event`` start tags seen), ``skipped``
(``{"line", "length", "reason"}``), ``rendered`` (events with a rendered message),
``dropped`` (relevance filter).

>>> text = ('<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
...         '<Provider Name="TermDD"/><EventID Qualifiers="49162">50</EventID><Level>2</Level>'
...         '<TimeCreated SystemTime="2011-03-01T08:00:00.000Z"/><EventRecordID>7'
...         '</EventRecordID><Channel>System</Channel><Computer>TS01</Computer></System>'
...         '<EventData><Data>\\\\Device\\\\Termdd</Data><Data>X.224</Data>'
...         '<Binary>0000040032000AC0</Binary></EventData></Event>')
>>> r = parse_text(text, "x.xml").frame.iloc[0]
>>> (r.provider, int(r.event_id), int(r.level), r.channel)
('TermDD', 50, 2, 'System')
"""
from __future__ import annotations

import re
from collections import Counter
import time as _time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .base import (TIME_DTYPE, ParseOptions, ParseResult, ParserInfo, ParseWarning, conform,
                   data_json, empty_frame)
from .eventcommon import event_columns, event_message, ntstatus_from_binary
from .text import decode_head, is_text, read_file

INFO = ParserInfo(
    name="eventxml", kind="evtxml",
    description="Event XML exports: wevtutil qe /f:xml (rootless), Event Viewer 'Save as "
                "XML' (<Events> root), ToXml() output; RenderingInfo messages kept",
    sniffs="an <Event element with the http://schemas.microsoft.com/win/2004/08/events/event "
           "namespace (or an <Events> root holding <Event><System>)")

EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event"
_NS_OK = (EVENT_NS, None, "")

_END_RE = re.compile(r"</(?:[A-Za-z_][\w.-]*:)?Event\s*>")
_START_RE = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?Event(?=[\s>])")
_DECL_RE = re.compile(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>", re.I)
_WS = re.compile(r"\s+")


def sniff_text(text: str) -> bool:
    head = text[:65536]
    if EVENT_NS in head and _START_RE.search(head):
        return True
    # a namespace-less export: <Events><Event><System><Provider ...
    return bool(re.search(r"<Event(?=[\s>])[^>]*>\s*<System>\s*<Provider\b", head))


def sniff(head: bytes, name: str = "") -> bool:
    if not head or not is_text(head):
        return False
    return sniff_text(decode_head(head))


def _parser():
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, remove_comments=True, remove_pis=True,
                           dtd_validation=False)


def _local(el) -> tuple[str | None, str]:
    tag = el.tag
    if not isinstance(tag, str):
        return None, ""
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return None, tag


def _child(el, name: str):
    for c in el:
        ns, n = _local(c)
        if n == name and ns in _NS_OK:
            return c
    return None


def _children(el) -> dict[str, Any]:
    """Child elements in the event namespace (or none) by local name; the first one wins."""
    out: dict[str, Any] = {}
    for c in el:
        ns, n = _local(c)
        if n and ns in _NS_OK and n not in out:
            out[n] = c
    return out


def _text(el) -> str | None:
    if el is None:
        return None
    t = el.text
    return t.strip() if isinstance(t, str) else None


def _int(v: Any) -> int | None:
    if v is None:
        return None
    try:
        s = str(v).strip()
        return int(s, 16) if s.lower().startswith("0x") else int(s)
    except ValueError:
        return None


def _flatten(el, out: dict[str, Any], top: bool) -> None:
    """UserData element → leaf ``name: value`` pairs (``parsers.evtx``'s rule: attributes of
    the top element by name, of deeper ones as ``element.attr``; repeated leaves → list)."""
    _, name = _local(el)
    for a, v in el.attrib.items():
        an = a.rpartition("}")[2]
        if an != "xmlns" and v != "":
            out[an if top else f"{name}.{an}"] = v
    kids = [c for c in el if isinstance(c.tag, str)]
    if kids:
        for c in kids:
            _flatten(c, out, False)
    elif not top:
        t = el.text
        if t is not None and t.strip() != "":
            t = t.strip()
            if name in out:
                prev = out[name]
                out[name] = (prev if isinstance(prev, list) else [prev]) + [t]
            else:
                out[name] = t


def event_row(ev, locator: str) -> tuple[dict[str, Any] | None, str]:
    """One parsed ``<Event>`` element → (row, "") or (None, why)."""
    ns, name = _local(ev)
    if name != "Event" or ns not in _NS_OK:
        return None, f"not an <Event> element ({ev.tag})"
    top = _children(ev)
    sysd = top.get("System")
    if sysd is None:
        return None, "<Event> without <System>"
    sy = _children(sysd)
    prov = sy.get("Provider")
    provider = prov.get("Name") if prov is not None else None
    source_name = prov.get("EventSourceName") if prov is not None else None
    eid_el = sy.get("EventID")
    eid = _int(_text(eid_el))
    extra: dict[str, Any] = {}
    if eid is not None and eid > 0xFFFF:
        extra["Qualifiers"] = eid >> 16
        eid &= 0xFFFF
    q = _int(eid_el.get("Qualifiers")) if eid_el is not None else None
    if q is not None:
        extra["Qualifiers"] = q
    if source_name:
        extra["EventSourceName"] = source_name
    corr = sy.get("Correlation")
    if corr is not None and corr.get("ActivityID"):
        extra["ActivityID"] = corr.get("ActivityID")
    tc = sy.get("TimeCreated")
    t = tc.get("SystemTime") if tc is not None else None
    if t is not None:
        # Event Viewer's copy of the details puts left-to-right marks into the time
        t = t.replace("\u200e", "").replace("\u200f", "").strip() or None
        if t is not None and t.startswith("1601-01-01T00:00:00"):
            extra["_time_zero"] = True       # a zero FILETIME: kept, flagged (as .evtx)
    ex = sy.get("Execution")
    sec = sy.get("Security")

    fields: dict[str, Any] = {}
    binary = None
    ed = top.get("EventData")
    if ed is not None:
        unnamed = 0
        for d in ed:
            dns, dn = _local(d)
            if dns not in _NS_OK:
                continue
            if dn == "Data":
                v = d.text.strip() if isinstance(d.text, str) else ""
                nm = d.get("Name")
                if nm:
                    if v != "":
                        fields[nm] = v
                else:
                    unnamed += 1
                    if v != "":
                        fields[f"param{unnamed}"] = v
            elif dn == "Binary":
                binary = _text(d) or None
            elif dn and len(d):
                _flatten(d, fields, False)
    ud = top.get("UserData")
    if ud is not None:
        for c in ud:
            if isinstance(c.tag, str):
                _flatten(c, fields, True)
    if binary:
        b = re.sub(r"\s+", "", binary).lower()
        extra["Binary"] = b
        if provider and provider.lower() == "termdd":
            try:
                extra["ntstatus"] = ntstatus_from_binary(bytes.fromhex(b))
            except ValueError:
                pass
    rendered = None
    ri = top.get("RenderingInfo")
    if ri is not None:
        m = _child(ri, "Message")
        if m is not None:
            txt = "".join(m.itertext())
            rendered = _WS.sub(" ", txt).strip() or None
    cols = event_columns(provider, eid, fields) if fields else {}
    userid = sec.get("UserID") if sec is not None else None
    d = dict(fields)
    d.update(extra)
    row = {
        "time": t, "host": _text(sy.get("Computer")), "locator": locator,
        "kind": INFO.kind, "record_id": _int(_text(sy.get("EventRecordID"))),
        "provider": provider, "channel": _text(sy.get("Channel")), "event_id": eid,
        "level": _int(_text(sy.get("Level"))),
        "user": cols.get("user"), "sid": userid or cols.get("sid"),
        "session_id": cols.get("session_id"),
        "pid": _int(ex.get("ProcessID")) if ex is not None else None,
        "ip": cols.get("ip"), "port": cols.get("port"),
        "message": rendered or event_message(provider, eid, fields),
        "data": data_json(d),
        "_rendered": rendered is not None,
    }
    lvl = row["level"]
    if lvl is not None and not -128 <= lvl < 128:
        row["level"] = None
    return row, ""


#: Unreadable events listed one by one (stats and warnings); the rest are counted.
MAX_LISTED = 100


def parse_text(text: str, source: str, options: ParseOptions | None = None,
               line_offset: int = 0) -> ParseResult:
    """Parse decoded export text (one file, or a block of one)."""
    from lxml import etree

    options = options or ParseOptions()
    t0 = _time.monotonic()
    warnings: list[ParseWarning] = []
    skipped: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    dropped: dict[str, int] = {}
    parser = _parser()
    rel = options.relevance
    starts = [m.start() for m in _START_RE.finditer(text)]
    line = 1 + line_offset
    pos = 0
    rendered = 0
    more = 0                 # unreadable events beyond the ones listed one by one

    def skip(length: int, reason: str, why: str) -> None:
        nonlocal more
        if len(skipped) >= MAX_LISTED:
            more += 1        # (a file of a million broken events: one line says how many)
            return
        skipped.append({"line": line, "length": length, "reason": reason})
        warnings.append(ParseWarning(source, loc, why))

    for i, s in enumerate(starts):
        line += text.count("\n", pos, s)
        pos = s
        loc = f"line {line}"
        if options.time_budget_s is not None and i % 1000 == 999 \
                and _time.monotonic() - t0 > options.time_budget_s:
            warnings.append(ParseWarning(source, loc, f"time budget {options.time_budget_s}s "
                                         "exceeded; the rest of the file was not read"))
            break
        nxt = starts[i + 1] if i + 1 < len(starts) else len(text)
        close = _END_RE.search(text, s, nxt)
        if close is None:
            # no end tag before the next <Event: cut off (truncated file) or mangled
            skip(nxt - s, "<Event> without its end tag (truncated?)",
                 "<Event> without its end tag (file truncated?)")
            continue
        chunk = _DECL_RE.sub("", text[s:close.end()])
        try:
            ev = etree.fromstring(chunk.encode("utf-8"), parser)
        except etree.XMLSyntaxError as e:
            skip(len(chunk), f"XML error: {e}", f"event not readable: {e}")
            continue
        row, why = event_row(ev, loc)
        if row is None:
            skip(len(chunk), why, why)
            continue
        if rel is not None and not (rel.keep(row["provider"], row["channel"], row["event_id"])
                                    and rel.keep_data(row["provider"], row["event_id"], row["data"])):
            key = f"{row['provider']}/{row['event_id']}"
            dropped[key] = dropped.get(key, 0) + 1
            continue
        if row.pop("_rendered", False):
            rendered += 1
        rows.append(row)
    if more:
        warnings.append(ParseWarning(source, "file", f"{more} more unreadable events (the "
                                     f"first {MAX_LISTED} are listed)"))
    frame = _frame(rows, source, warnings)
    hosts = [r["host"] for r in rows if r["host"]]
    stats: dict[str, Any] = {"records": len(frame), "records_expected": len(starts),
                             "skipped": skipped, "rendered": rendered}
    if more:
        stats["skipped_more"] = more
    if dropped:
        stats["dropped"] = dropped
    meta = {"host": Counter(hosts).most_common(1)[0][0] if hosts else None}
    return ParseResult(frame=frame, warnings=warnings, stats=stats, meta=meta, parser=INFO.name)


_ISO_US = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6})\d*)?Z?$")


def _frame(rows: list[dict[str, Any]], source: str = "",
           warnings: list[ParseWarning] | None = None) -> pd.DataFrame:
    if not rows:
        return empty_frame()
    df = pd.DataFrame(rows)
    raw = df["time"]
    t = pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601").astype(TIME_DTYPE)
    bad = t.isna() & raw.notna()
    if bad.any():
        # outside pandas' nanosecond range (a zero FILETIME: 1601) or odd: read in µs
        fixed = t.copy()
        for i in np.flatnonzero(bad.to_numpy()):
            m = _ISO_US.match(str(raw.iloc[i]))
            if m:
                us = np.datetime64(m.group(1) + "." + (m.group(2) or "0").ljust(6, "0"), "us")
                fixed.iloc[i] = pd.Timestamp(us, tz="UTC")
            elif warnings is not None:
                warnings.append(ParseWarning(source, rows[i]["locator"],
                                             f"SystemTime {str(raw.iloc[i])[:40]!r} unreadable: "
                                             "the event is kept without a time"))
        t = fixed
    df["time"] = t
    return conform(df)


def parse(path: Path, options: ParseOptions | None = None) -> ParseResult:
    options = options or ParseOptions()
    dec, warnings, nbytes = read_file(Path(path), options)
    res = parse_text(dec.text, str(path), options)
    res.warnings = warnings + res.warnings
    res.stats["bytes_read"] = nbytes
    res.stats["encoding"] = dec.encoding
    return res


__all__ = ["INFO", "sniff", "sniff_text", "parse", "parse_text", "event_row", "EVENT_NS"]
