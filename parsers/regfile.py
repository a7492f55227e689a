"""Registry scripts: ``regedit`` / ``reg export`` files (``.reg``, also saved as ``.txt``).

Input
    ``Windows Registry Editor Version 5.00`` (regedit 2000+/``reg export``; UTF-16LE with BOM,
    also UTF-8 and BOM-less variants found in the wild) and ``REGEDIT4`` (Win9x/NT4, ANSI).
    Recognised by the header line, never by the extension: MSRD-Collect saves ``reg export``
    output as ``<host>_HKLM-....txt`` (KNOWLEDGE.md Part B §2.2).

Format rules handled
    ``[key]`` and ``[-key]`` (delete), ``"name"=...`` and ``@=...`` (default value),
    ``"name"=-`` (delete value); ``"text"`` with ``\\\\`` ``\\"`` escapes; ``dword:0000d3d``;
    ``hex:aa,bb`` (REG_BINARY); ``hex(0)``…``hex(b)`` with REG_EXPAND_SZ / REG_MULTI_SZ / REG_SZ
    decoded to text (UTF-16LE in 5.00, ANSI in REGEDIT4) and REG_QWORD / DWORD LE/BE to ints;
    ``,\\`` continuation lines; ``;`` and ``#`` comments; blank lines, indentation (spaces or
    tabs), CRLF or LF, missing final newline. Anything unreadable is a warning with its line.
    regedit ends every file with CRLF: in a file without one (a copy cut short) the last value
    is read only when it is provably whole (8 DWORD digits, a string list's terminator, a
    number's size); otherwise it is a warning, not a shortened value.

Output rows (``kind="reg"``, ``time`` NaT: an export carries no capture time)
    ``reg:value``: data ``hive``, ``key`` (normalised: ``HKLM\\SYSTEM\\CurrentControlSet\\...``),
    ``key_original``, ``name`` ("" for ``@``), ``type`` (``REG_DWORD``...), ``value`` (int /
    str / list[str] / hex string for binary types), ``raw`` (hex, binary types only);
    ``reg:key``: a ``[key]`` under which no value was read (and that gets none elsewhere in
    the file, under any spelling of the key: ``HKEY_LOCAL_MACHINE`` or ``HKLM``), message
    ``<key> (no values shown)``, data ``hive``, ``key``, ``key_original``, ``values``
    ``"unreadable"`` when value lines were there but none could be read (the key's values
    are unknown, not absent), locator the key's line — regedit
    writes every key of an export, empty ones too (the corpus's real export
    ``nickneymos__CredSSP_utf16.reg`` has one), and some settings are key names: 2003's
    license servers are the subkeys of ``TermService\\Parameters\\LicenseServers``;
    ``reg:key-deleted``, ``reg:value-deleted``. ``locator`` = ``line N [normalised key]``.

Example::

    Windows Registry Editor Version 5.00

    [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp]
    "PortNumber"=dword:00000d3d

gives one ``reg:value`` row with value 3389, type REG_DWORD.

:func:`block_spans` finds such a script among command outputs in one file (a support script's
``type export.reg`` after its ``netstat -ano``) for :mod:`parsers.textlog`.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from . import regcommon as rc
from . import text as T
from .base import (NotMyFormat, ParseOptions, ParseResult, ParserInfo,
                   ParseWarning, result_from_rows, warn)

INFO = ParserInfo(
    name="regfile", kind="reg",
    description="regedit / reg export registry scripts (.reg, 5.00 and REGEDIT4)",
    sniffs="first line 'Windows Registry Editor Version 5.00' or 'REGEDIT4' (BOM-aware)",
    text=True)

HEADER_500 = "Windows Registry Editor Version 5.00"
HEADER_4 = "REGEDIT4"

_HEX_TYPED = re.compile(r"^hex\(([0-9a-fA-F]{1,8})\):", re.IGNORECASE)
_DWORD = re.compile(r"^dword:([0-9a-fA-F]{1,8})\s*(?:;.*)?$", re.IGNORECASE)
_DWORD_ANY = re.compile(r'=\s*dword:([0-9a-fA-F]{1,8})\s*(?:;.*)?$', re.IGNORECASE)


def _header(text: str) -> str | None:
    for line in text.splitlines():
        s = line.strip().lstrip("\ufeff")
        if not s:
            continue
        if s.lower() == HEADER_500.lower():
            return "5.00"
        if s.upper() == HEADER_4:
            return "4"
        return None
    return None


def sniff_text(text: str) -> bool:
    return _header(text[:4096]) is not None


def sniff(head: bytes, name: str = "") -> bool:
    return sniff_text(rc.head_text(head))


def block_spans(lines: list[str]) -> list[tuple[int, int]]:
    """(start, end) 0-based half-open line ranges of registry scripts in ``lines``: from a
    header line over the lines a script is made of (keys, values, their wrapped hex lines,
    comments, blank lines) to the last of them before a line of another kind."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(lines)
    while i < n:
        if not lines[i].strip() or _header(lines[i]) is None:
            i += 1
            continue
        j = last = i
        wraps = False                   # the last value line ends with its wrap mark
        while j + 1 < n:
            s = lines[j + 1].strip()
            if s and not (s[0] in '[;#"@' or wraps and _HEX_MORE.match(s)):
                break
            j += 1
            if s and s[0] != ";":
                last = j
                wraps = s[0] not in "[#" and bool(_WRAP.search(s))
        spans.append((i, last + 1))
        i = last + 1
    return spans


def parse(path: Path, options: ParseOptions | None = None) -> ParseResult:
    return rc.parse_file(path, options, parse_text)


def parse_text(text: str, source: str, options: ParseOptions | None = None,
               line_offset: int = 0) -> ParseResult:
    version = _header(text)
    if version is None:
        raise NotMyFormat("no 'Windows Registry Editor Version 5.00' / 'REGEDIT4' header")
    warnings: list[ParseWarning] = []
    valued: set[str] = set()
    rows = rc.without_valued_keys(
        list(_records(text, version, source, warnings, line_offset, valued)), valued)
    return result_from_rows(rows, parser=INFO.name, warnings=warnings,
                            stats={"format": "REGEDIT4" if version == "4" else "5.00"})


# --------------------------------------------------------------------------- raw records


#: ``\\`` ending a wrapped hex list, optionally followed by a comment (``,\\ ; note``).
_WRAP = re.compile(r"\\\s*(?:;.*)?$")
#: A line that continues a hex list: hex bytes.
_HEX_MORE = re.compile(r"^[0-9a-fA-F]{1,2}\s*(?:,|\\|$)")


def _logical_lines(text: str, line_offset: int):
    """Yield (first line number, joined text) with ``\\`` continuations folded in. As
    Windows' ``reg import`` does, a comment after the ``\\`` and blank or comment lines
    inside a wrapped list are skipped (Wine's import tests: Multi-Line7/10, Wine16).

    Linear in the size of a wrapped value (``reg export`` of ``...\\Control`` holds the
    AppCompatCache, 1.5 MB in 20,000 lines; re-reading the value at every line cost minutes
    and the file's time budget): the pieces go into a list, and each continuation is looked
    at alone. The wrap mark of the text joined so far is always in its last piece (the one
    before was the leftmost; a continuation starts with a hex digit), and the name's end,
    the first ``=`` and whether the data is a string are kept from the pieces read."""
    # not splitlines(): \x0b, \x1c, \u2028 may sit in data; \r\r\n is one line end
    lines = T.split_any_lines(text)
    i = 0
    n = len(lines)
    while i < n:
        start = i
        first = lines[i].strip()
        i += 1
        pieces = [first]
        if first.startswith(("[", ";", "#")) or "=" not in first:
            yield start + 1 + line_offset, first
            continue
        data = _data_start(first)           # None: a quoted name not closed on this line
        # a hex list wraps with ",\" at the end; a string value never ends with a bare "\"
        in_string = bool(data) and _is_string(first[data:])
        eq = first.find("=")
        base = 0                            # length of the pieces before the last one
        while i < n and eq >= 0 and not in_string:
            m = _WRAP.search(pieces[-1], max(0, (data or 0) - base))
            if not m:
                break
            j = i
            while j < n and (not lines[j].strip() or lines[j].lstrip().startswith(";")):
                j += 1
            pieces[-1] = pieces[-1][:m.start()].rstrip()
            if not (j < n and _HEX_MORE.match(lines[j].strip())):
                break                       # nothing continues it: the list ends with ","
            piece = lines[j].strip()
            i = j + 1
            base += len(pieces[-1])
            if eq >= base:                  # the only "=" was in the comment after the "\"
                eq = -1
            if eq < 0 and (k := piece.find("=")) >= 0:
                eq = base + k
            pieces.append(piece)
            if data is None and (q := _QUOTE_END.match(piece)):
                data = base + q.end()       # (a name's closing quote on a continuation)
                in_string = _is_string(piece[q.end():])
        yield start + 1 + line_offset, "".join(pieces)


#: The rest of a quoted name up to its closing quote, read as :func:`_parse_quoted` does.
_QUOTE_END = re.compile(r'(?:[^\\"]|\\.)*+"', re.DOTALL)


def _data_start(s: str) -> int | None:
    """Where the data of a value line starts (after its quoted name): a name may hold
    a backslash before a semicolon (a value named ``\\;``), which is no wrap mark with a
    comment. 0 for a line without a name, None for a quoted name not closed on ``s``."""
    try:
        _, rest = _parse_name(s)
    except ValueError:
        return None if s.startswith('"') else 0
    return len(s) - len(rest)


def _is_string(data: str) -> bool:
    """True when ``data`` (what follows a value's name) is a quoted string, whose last \\
    is an escape, never a wrap mark."""
    return data.lstrip().lstrip("=").lstrip().startswith('"')


_NUMBER_SIZES = {"REG_DWORD": 4, "REG_DWORD_BIG_ENDIAN": 4, "REG_QWORD": 8}


#: the last byte of a hex list with one digit ("...,0f,f"): a value cut at the file's end
_ONE_DIGIT_END = re.compile(r"=\s*hex(?:\([0-9a-f]+\))?:(?:[0-9a-f]{2},(?:\\\s*)?)*[0-9a-f]\s*$",
                            re.IGNORECASE)


def _cut_value(line: str) -> str | None:
    """Why a value line looks cut short, or None: regedit writes every DWORD with 8 hex
    digits and never ends a hex list with a comma."""
    try:
        _, rest = _parse_name(line)
    except ValueError:
        return None
    data = rest.lstrip()[1:].split(";", 1)[0].strip().lower()
    m = _DWORD.match(data)
    if m and len(m.group(1)) < 8:
        return f"DWORD with {len(m.group(1))} of 8 hex digits"
    if (data.startswith("hex:") or _HEX_TYPED.match(data)) and data.endswith(","):
        return "hex list ending in ','"
    return None


def _unproven_end(line: str, ansi: bool) -> tuple[bool, str] | None:
    """For the hex list on the last line of a file cut short (no final newline; regedit ends
    every file with CRLF): None when its end proves it whole — a string type's terminator
    (``00,00``; ``00,00,00,00`` for REG_MULTI_SZ; single bytes in REGEDIT4), a number type's
    size, a comment after the list — else (it looks cut, why). ``looks cut`` is False for
    types without an end mark (REG_BINARY...), which a file cut there cannot tell apart."""
    try:
        _, rest = _parse_name(line)
    except ValueError:
        return None
    rest = rest.lstrip()
    if not rest.startswith("="):
        return None
    data = rest[1:].strip()
    if data.lower().startswith("hex:"):
        type_name, body = "REG_BINARY", data[4:]
    elif m := _HEX_TYPED.match(data):
        num = int(m.group(1), 16)
        type_name, body = rc.TYPE_NAMES.get(num, f"REG_UNKNOWN_0x{num:x}"), data[m.end():]
    else:
        return None
    if ";" in body:
        return None                     # a comment after the list: the list ended
    try:
        raw = _hex_bytes(body)
    except ValueError:
        return None                     # not read anyway: _value says why
    unit = 1 if ansi else 2
    if type_name in ("REG_SZ", "REG_EXPAND_SZ"):
        if len(raw) % unit == 0 and raw[-unit:] == bytes(unit):
            return None
        return True, f"{type_name} hex list of {len(raw)} bytes without its terminator"
    if type_name == "REG_MULTI_SZ":
        if len(raw) % unit == 0 and (raw[-2 * unit:] == bytes(2 * unit) or raw == bytes(unit)):
            return None
        return True, f"REG_MULTI_SZ hex list of {len(raw)} bytes without its closing empty string"
    if type_name in _NUMBER_SIZES:
        if len(raw) >= _NUMBER_SIZES[type_name]:
            return None
        return True, f"{type_name} hex list of {len(raw)} of {_NUMBER_SIZES[type_name]} bytes"
    return False, f"{type_name} hex list of {len(raw)} bytes (nothing in its data marks its end)"


def _records(text: str, version: str, source: str, warnings: list[ParseWarning],
             line_offset: int, valued: set[str]):
    """The rows of a script; a key without any value gets a ``reg:key`` row at its end (the
    keys that get a value are added to ``valued``)."""
    ansi = version == "4"
    key: str | None = None
    key_line = 0
    empty = False                       # no value read under ``key`` yet
    unread = False                      # a value line under ``key`` could not be read
    header_seen = False
    # a file cut short (a partial copy, a truncated attachment) ends without a newline
    cut = not text.rstrip("\x00").endswith(("\n", "\r"))
    logical = list(_logical_lines(text, line_offset))
    last = max((no for no, ln in logical if ln), default=None)
    # a short DWORD at a cut end is surely cut in regedit's own style (every other DWORD has
    # 8 digits); in a file too small to tell it may be a hand-written "dword:1": read, said
    digits = [len(m.group(1)) for no, ln in logical if no != last
              for m in [_DWORD_ANY.search(ln)] if m]
    sure_cut = cut and bool(digits) and min(digits) == 8
    maybe_cut = cut and not digits
    for lineno, line in logical:
        if not header_seen:
            if line:
                header_seen = True      # the header line itself
            continue
        if not line or line[0] in ";#":
            continue
        if line[0] == "[":
            if key is not None and empty:
                yield _key_row(key, key_line, unread)
            empty, unread = False, False
            end = line.rfind("]")
            if end < 0:
                warn(warnings, source, lineno, "key line without closing ']'")
                key = None
                continue
            name = line[1:end].strip()
            if name.startswith("-"):
                k = name[1:].strip()
                yield rc.deletion_row(key_original=k, name=None, locator=rc.locator(lineno, k))
                key = None
                continue
            if not name:
                warn(warnings, source, lineno, "empty key name")
                key = None
                continue
            key, key_line, empty = name, lineno, True
            continue
        if line[0] in '"@':
            if key is None:
                warn(warnings, source, lineno, "value line outside of any key (ignored)")
                continue
            why = _cut_value(line)
            if why is None and cut and lineno == last and _ONE_DIGIT_END.search(line):
                why = "hex list ending in a one-digit byte"    # regedit writes two digits
            if why and (sure_cut and lineno == last or why.startswith("hex")):
                # a wrong value must not decide the configuration: not read
                warn(warnings, source, lineno, f"{why}: the file looks cut inside this value; "
                     "not read")
                unread = True
                continue
            if why is None and cut and lineno == last and (doubt := _unproven_end(line, ansi)) \
                    and (doubt[0] or sure_cut or maybe_cut):
                # a list cut between two bytes reads as a whole one: a thumbprint of 18
                # bytes, ['lic1.'] for ['lic1.corp.local', 'lic2']. Not read unless its end
                # proves it whole, or the file is plainly hand-written (short DWORDs)
                warn(warnings, source, lineno, f"{doubt[1]}, the last value of a file without "
                     "a final newline: the file may be cut inside this value; not read")
                unread = True
                continue
            if why and maybe_cut and lineno == last:
                warn(warnings, source, lineno, f"{why} at the end of a file without a final "
                     "newline: cut short, or written by hand? read as it stands")
            try:
                row = _value(line, key, ansi, lineno)
            except ValueError as e:
                warn(warnings, source, lineno, f"cannot read value: {e}")
                unread = True
                continue
            note = row.pop("_warn", None)
            if note:
                warn(warnings, source, lineno, note)
            if row["event_type"] == "reg:value":
                empty = False
                valued.add(rc.key_id(key))
            yield row
            continue
        warn(warnings, source, lineno, f"unrecognised line: {line[:60]!r}")
    if key is not None and empty:
        yield _key_row(key, key_line, unread)


def _key_row(key: str, lineno: int, unread: bool = False) -> dict[str, Any]:
    """(``unread``: value lines under the key were there but none could be read.)"""
    row = rc.key_row(key_original=key, locator=rc.locator(lineno, key),
                     values="unreadable" if unread else None)
    row["_key"] = rc.key_id(key)
    return row


def _parse_quoted(s: str) -> tuple[str, str]:
    """Parse a leading ``"..."`` with regedit escapes; return (text, rest after the quote)."""
    if not s.startswith('"'):
        raise ValueError("expected '\"'")
    out = []
    i = 1
    n = len(s)
    while i < n:
        c = s[i]
        if c == "\\" and i + 1 < n:
            nxt = s[i + 1]
            out.append({"n": "\n", "0": "\x00", "r": "\r", "t": "\t"}.get(nxt, nxt)
                       if nxt in '\\"n0rt' else "\\" + nxt)
            i += 2
            continue
        if c == '"':
            return "".join(out), s[i + 1:]
        out.append(c)
        i += 1
    raise ValueError("unterminated string")


def _parse_name(line: str) -> tuple[str, str]:
    if line.startswith("@"):
        return "", line[1:]
    return _parse_quoted(line)


def _hex_bytes(s: str) -> bytes:
    s = s.split(";", 1)[0]
    s = "".join(s.split())
    if not s:
        return b""
    parts = [p for p in s.split(",")]
    if parts and parts[-1] == "":
        parts.pop()
    try:
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise ValueError(f"bad hex byte list {s[:40]!r}") from None


def _value(line: str, key: str, ansi: bool, lineno: int) -> dict[str, Any]:
    name, rest = _parse_name(line)
    rest = rest.lstrip()
    if not rest.startswith("="):
        raise ValueError("missing '='")
    data = rest[1:].strip()
    loc = rc.locator(lineno, key)
    if data == "-":
        return rc.deletion_row(key_original=key, name=name, locator=loc)
    if data.startswith('"'):
        text, tail = _parse_quoted(data)
        tail = tail.strip()
        if tail and not tail.startswith(";"):
            raise ValueError(f"text after the closing quote: {tail[:20]!r}")
        return rc.value_row(key_original=key, name=name, type_name="REG_SZ", value=text,
                            raw=None, locator=loc)
    m = _DWORD.match(data)
    if m:
        return rc.value_row(key_original=key, name=name, type_name="REG_DWORD",
                            value=int(m.group(1), 16), raw=None, locator=loc)
    low = data.lower()
    if low.startswith("hex:"):
        raw = _hex_bytes(data[4:])
        return rc.value_row(key_original=key, name=name, type_name="REG_BINARY",
                            value=raw.hex(), raw=raw, locator=loc)
    m = _HEX_TYPED.match(data)
    if m:
        num = int(m.group(1), 16)
        type_name = rc.TYPE_NAMES.get(num, f"REG_UNKNOWN_0x{num:x}")
        raw = _hex_bytes(data[m.end():])
        value = rc.decode_value(type_name, raw, ansi=ansi)
        row = rc.value_row(key_original=key, name=name, type_name=type_name, value=value,
                           raw=raw, locator=loc)
        if type_name in _NUMBER_SIZES and not isinstance(value, int):
            row["_warn"] = (f"{type_name} of {len(raw)} bytes (not {_NUMBER_SIZES[type_name]}): "
                            "kept as hex, not as a number")
        return row
    raise ValueError(f"unknown data format {data[:30]!r}")
