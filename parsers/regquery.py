"""``reg query`` output pasted as text (engineers paste it instead of an export).

Input (``reg query KEY [/s] [/v NAME]``, Windows XP/2003 ``REG.EXE VERSION 3.0`` with tabs or
Vista+ with four spaces)::

    HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp
        PortNumber    REG_DWORD    0xd3d
        SSLCertificateSHA1Hash    REG_BINARY    0A1B...
        (Default)    REG_SZ    (value not set)

Data forms: ``REG_DWORD`` / ``REG_QWORD`` as ``0x…``; ``REG_BINARY`` / ``REG_NONE`` as
contiguous hex; ``REG_MULTI_SZ`` items separated by a literal ``\\0``; strings as they are.
``(Default)`` (any language: the name in parentheses before ``REG_SZ`` on a line of its
own key) is the default value, name "". "End of search" / "Fin de la búsqueda" lines and
other chatter are ignored.

Output: the same ``reg:value`` rows as :mod:`parsers.regfile` (``kind="reg"``), and a
``reg:key`` row (message ``<key> (no values shown)``; data ``hive``, ``key``,
``key_original``, ``values`` ``"not queried"`` for a subkey that ``reg query`` without ``/s``
only lists, when the output shows it: :func:`_listed_subkeys`; locator the key's line) for a
key line with no value under it: ``reg query /s`` prints every subkey, empty ones too, and
``reg query`` without ``/s`` names the subkeys after the values (Wine's reimplementation of
reg.exe, ``programs/reg/query.c`` ``query_all``: the path when the key has values or is
reached by ``/s``, else ``path\\subkey`` for each subkey) — a key's existence is all 2003
says of a license server (a subkey of ``TermService\\Parameters\\LicenseServers``).

:func:`block_spans` finds ``reg query`` outputs among other command outputs in one file
(``netstat -ano & reg query ...``) for :mod:`parsers.textlog`.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

from . import regcommon as rc
from . import text as T
from .base import (NotMyFormat, ParseOptions, ParseResult, ParserInfo,
                   ParseWarning, result_from_rows, warn)

INFO = ParserInfo(
    name="regquery", kind="reg",
    description="'reg query' console output (key lines + indented 'Name  REG_TYPE  data')",
    sniffs="an HKEY_... line followed by an indented 'Name    REG_xxx    data' line",
    text=True)

_KEY = re.compile(r"^(HKEY_(LOCAL_MACHINE|CURRENT_USER|CLASSES_ROOT|USERS|CURRENT_CONFIG)"
                  r"|HKLM|HKCU|HKCR|HKU|HKCC)(\\.*)?$", re.IGNORECASE)
#: ``    Name    REG_TYPE    data``: indented by two blanks or a tab; name and type apart by
#: a tab or two blanks (a name may hold single blanks). The name ends only after a non-blank
#: (atomic steps) and the indent is taken whole: the lazy ``.*?`` name of old tried a
#: separator at every blank of a long run, quadratic (4 s for a 40,000-blank line). A type
#: right after the indent (no name) is the second branch, tried last as before.
_VALUE = re.compile(r"^(?:(?=\s\s|\t)\s*+(?P<name>(?>\s*\S)*?)(?:\t|\s{2,})"
                    r"|(?=\s{4}|\s\s\t|\t\s\s|\t\t)\s*+)"
                    r"(?P<type>REG_[A-Z_]+|REG_UNKNOWN)(?:(?:\t|\s{2,}|\s)(?P<data>.*))?$")
_DEFAULT = re.compile(r"^[(<].*[)>]$")


def sniff_text(text: str) -> bool:
    lines = text[:8192].splitlines()
    for i, line in enumerate(lines[:-1]):
        if _KEY.match(line.strip()) and not line.startswith((" ", "\t")) \
                and _value_follows(lines, i):
            return True
    return False


def sniff(head: bytes, name: str = "") -> bool:
    return sniff_text(rc.head_text(head, 8192))


def parse(path: Path, options: ParseOptions | None = None) -> ParseResult:
    return rc.parse_file(path, options, functools.partial(parse_text, file_end=True))


def parse_text(text: str, source: str, options: ParseOptions | None = None,
               line_offset: int = 0, *, file_end: bool | str = False) -> ParseResult:
    """``file_end``: the end of ``text`` is the end of the file, so a last line without its
    line break was cut (:func:`parsers.text.cut_line`): its value is not read (a PortNumber
    cut from 0xd3d to 0xd3 read as port 211; found by fuzzing)."""
    if not sniff_text(text):
        raise NotMyFormat("no 'reg query' key/value lines")
    warnings: list[ParseWarning] = []
    rows = []
    key: str | None = None
    key_line, empty = 0, False          # the key's line; no value read under it yet
    valued: set[str] = set()

    def flush() -> None:
        # a key line without a value under it: reg query /s lists every subkey, empty ones
        # too, and reg query without /s names the subkeys after the values
        if key is not None and empty:
            row = rc.key_row(key_original=key, locator=rc.locator(key_line, key),
                             values="not queried" if key_index in listed else None)
            row["_key"] = rc.key_id(key)
            rows.append(row)

    lines = T.split_any_lines(text)
    listed = _listed_subkeys(lines)
    key_index = -1
    cut = T.cut_line(text, lines, file_end)
    for i, line in enumerate(lines):
        lineno = i + 1 + line_offset
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        if i == cut and line[0].isspace():
            warn(warnings, source, lineno, "the file ends inside this line (no line break "
                 "after it, where reg query ends every line with one): it was cut here; its "
                 "value may be cut short and was not read")
            continue
        if not line[0].isspace():
            flush()
            key = line.strip() if _KEY.match(line.strip()) else None
            key_line, key_index, empty = lineno, i, True
            continue
        m = _VALUE.match(line)
        if not m:
            if "REG_" in line:                    # a value line we cannot split: say so
                warn(warnings, source, lineno, f"value line not read: {line.strip()[:60]!r}")
            continue
        if key is None:
            warn(warnings, source, lineno, "value line outside of any key (ignored)")
            continue
        name = (m.group("name") or "").strip()
        if _DEFAULT.match(name):      # (Default), (Standard), (по умолчанию), <NO NAME> (XP)
            name = ""
        type_name = m.group("type")
        data = (m.group("data") or "").strip()
        if not name and type_name == "REG_SZ" and _DEFAULT.match(data):
            continue                  # "(value not set)", "(Wert nicht festgelegt)", ...: none
        try:
            value, raw = _decode(type_name, data)
        except ValueError as e:
            warn(warnings, source, lineno, f"cannot read {type_name} data: {e}")
            continue
        rows.append(rc.value_row(key_original=key, name=name, type_name=type_name, value=value,
                                 raw=raw, locator=rc.locator(lineno, key)))
        empty = False
        valued.add(rc.key_id(key))
    flush()
    return result_from_rows(rc.without_valued_keys(rows, valued), parser=INFO.name,
                            warnings=warnings)


#: ``! REG.EXE VERSION 3.0``: the first line of Windows XP/2003's ``reg query`` output.
_XP_BANNER = re.compile(r"^!\s*REG(?:\.EXE)?\s+VERSION\b", re.IGNORECASE)
#: ``End of search: 2 match(es) found.`` (``reg query /f``, any language: words, a colon,
#: a count): the last line of a search's output.
_END_OF_SEARCH = re.compile(r"^[^\W\d_][^:\\]{2,60}:\s*\d+\b")


def _is_key(line: str) -> bool:
    return bool(line) and not line[0].isspace() and bool(_KEY.match(line.strip()))


def block_spans(lines: list[str]) -> list[tuple[int, int]]:
    """(start, end) 0-based half-open line ranges of ``reg query`` outputs in ``lines`` (for
    :mod:`parsers.textlog`: a ``reg query`` after a netstat in one file). A block starts at
    a key line followed by a value line (as :func:`sniff_text` asks) and holds key lines,
    value lines, indented lines naming a ``REG_`` type, the blank lines between them and a
    closing "End of search" line; XP's ``! REG.EXE VERSION 3.0`` just above belongs to it."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(lines)
    while i < n:
        if not (_is_key(lines[i]) and _value_follows(lines, i)):
            i += 1
            continue
        start = i
        for k in range(i - 1, max(i - 4, -1), -1):
            if _XP_BANNER.match(lines[k].strip()):
                start = k
                break
            if lines[k].strip():
                break
        j = last = i
        while j + 1 < n:
            nxt = lines[j + 1]
            j += 1
            if not nxt.strip():
                continue                # a blank line belongs if a block line follows
            if _is_key(nxt) or (nxt[0].isspace() and "REG_" in nxt):   # (every value line)
                last = j
                continue
            if _END_OF_SEARCH.match(nxt):
                last = j
            break
        spans.append((start, last + 1))
        i = last + 1
    return spans


def _value_follows(lines: list[str], i: int) -> bool:
    """A value line within the three lines after line ``i``, blank lines only between."""
    for nxt in lines[i + 1:i + 4]:
        if _VALUE.match(nxt.rstrip("\r")):
            return True
        if nxt.strip():
            return False
    return False


def _key_line(line: str) -> str | None:
    s = line.rstrip("\r\n")
    return s.strip() if s.strip() and not s[0].isspace() and _KEY.match(s.strip()) else None


def _listed_subkeys(lines: list[str]) -> set[int]:
    """Indexes of the key lines that ``reg query`` without ``/s`` only lists: the subkeys it
    names after the queried key's values, one per line, their values never queried. It runs
    them together, where ``/s`` ends each key it prints (values or none) with a blank line
    (Wine's reg.exe, ``programs/reg/query.c`` ``query_all``). So a key line right after
    another key line is listed, and so is one right before another key line that is no
    subkey of it (the first of the listed siblings; a queried key without values is followed
    by its subkeys). A lone listed subkey looks like an empty key of ``/s``: not told."""
    keys = [_key_line(ln) for ln in lines]
    out = set()
    for i, k in enumerate(keys):
        if k is None:
            continue
        before = i > 0 and keys[i - 1] is not None
        nxt = keys[i + 1] if i + 1 < len(keys) else None
        if before or (nxt is not None and not nxt.casefold().startswith(k.casefold() + "\\")):
            out.add(i)
    return out


def _decode(type_name: str, data: str):
    if type_name in ("REG_DWORD", "REG_QWORD", "REG_DWORD_BIG_ENDIAN", "REG_DWORD_LITTLE_ENDIAN"):
        try:
            return int(data, 0) if data.lower().startswith("0x") else int(data), None
        except ValueError:
            raise ValueError(f"not a number: {data[:20]!r}") from None
    if type_name == "REG_MULTI_SZ":
        return ([] if not data else data.split("\\0")), None
    if type_name in rc.STRING_TYPES:
        return data, None
    hexs = "".join(data.split())
    if len(hexs) % 2 or (hexs and not re.fullmatch(r"[0-9a-fA-F]+", hexs)):
        raise ValueError(f"not hex: {data[:20]!r}")
    raw = bytes.fromhex(hexs)
    return raw.hex(), raw
