"""What every registry reader shares: key normalisation, value types, text decoding, rows.

``.reg`` exports (:mod:`parsers.regfile`), pasted ``reg query`` text (:mod:`parsers.regquery`)
and raw hives (:mod:`parsers.hive`) all end here, so the same value gives the same timeline
row whatever file it came from (KNOWLEDGE.md Part B §2).

Key normalisation: ``HKEY_LOCAL_MACHINE`` → ``HKLM`` (also HKCU, HKCR, HKU, HKCC), the first
component under HKLM upper-cased (``Software`` → ``SOFTWARE``), ``ControlSet001`` /
``ControlSet002`` → ``CurrentControlSet``; the key as written is kept as ``key_original``.

Example: ``HKEY_LOCAL_MACHINE\\System\\ControlSet001\\Control\\Terminal Server`` →
(``HKLM``, ``HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server``).
"""
from __future__ import annotations

import codecs
import re
from typing import Any

from . import text as T
from .base import ParseOptions, ParseResult, ParseWarning, data_json, read_bounded

ROOTS: dict[str, str] = {
    "HKEY_LOCAL_MACHINE": "HKLM", "HKLM": "HKLM",
    "HKEY_CURRENT_USER": "HKCU", "HKCU": "HKCU",
    "HKEY_CLASSES_ROOT": "HKCR", "HKCR": "HKCR",
    "HKEY_USERS": "HKU", "HKU": "HKU",
    "HKEY_CURRENT_CONFIG": "HKCC", "HKCC": "HKCC",
    "HKEY_DYN_DATA": "HKDD", "HKEY_PERFORMANCE_DATA": "HKPD",
}

#: Registry type numbers (``hex(N)`` in .reg files) → names.
TYPE_NAMES: dict[int, str] = {
    0: "REG_NONE", 1: "REG_SZ", 2: "REG_EXPAND_SZ", 3: "REG_BINARY", 4: "REG_DWORD",
    5: "REG_DWORD_BIG_ENDIAN", 6: "REG_LINK", 7: "REG_MULTI_SZ", 8: "REG_RESOURCE_LIST",
    9: "REG_FULL_RESOURCE_DESCRIPTOR", 10: "REG_RESOURCE_REQUIREMENTS_LIST", 11: "REG_QWORD",
}
TYPE_NUMBERS: dict[str, int] = {v: k for k, v in TYPE_NAMES.items()}
#: Types whose decoded value is text / a list of text / an int; the rest stay hex.
STRING_TYPES = {"REG_SZ", "REG_EXPAND_SZ", "REG_LINK"}

_CONTROLSET = re.compile(r"^ControlSet\d{3}$", re.IGNORECASE)


def _mounted_as(first: str) -> str | None:
    """SYSTEM / SOFTWARE when ``first`` (the key below a hive's root) says which hive it is."""
    low = first.lower()
    if _CONTROLSET.match(first) or low in ("select", "mounteddevices", "setup"):
        return "SYSTEM"
    if low in ("policies", "microsoft", "wow6432node", "classes", "clients"):
        return "SOFTWARE"
    return None


def normalize_key(key: str) -> tuple[str, str]:
    """(hive, normalised key) for a key path as written in an export / query / hive."""
    parts = [p for p in key.strip().strip("\\").split("\\")]
    if not parts or not parts[0]:
        return "", key.strip()
    root = ROOTS.get(parts[0].upper())
    if root is None:
        return "", "\\".join(parts)
    parts[0] = root
    if root == "HKLM" and len(parts) > 1:
        if parts[1].upper() in ("SYSTEM", "SOFTWARE", "SAM", "SECURITY", "HARDWARE"):
            parts[1] = parts[1].upper()
        elif len(parts) > 2 and (mounted := _mounted_as(parts[2])):
            # a hive loaded under another name (reg load HKLM\OFFLINE_SYSTEM on a server
            # that does not boot, then exported): read as the hive it is
            parts[1] = mounted
        if parts[1] == "SYSTEM" and len(parts) > 2 and (
                _CONTROLSET.match(parts[2]) or parts[2].lower() == "currentcontrolset"):
            parts[2] = "CurrentControlSet"
    return root, "\\".join(parts)


def key_equal(a: str, b: str) -> bool:
    """Keys compare case-insensitively after normalisation."""
    return normalize_key(a)[1].casefold() == normalize_key(b)[1].casefold()


# --------------------------------------------------------------------------- decoding


def decode_text(raw: bytes) -> tuple[str, str]:
    """(text, encoding) of a text file: BOM first, then BOM-less UTF-16LE, UTF-8, cp1252."""
    if raw.startswith(codecs.BOM_UTF16_LE):
        return raw[2:].decode("utf-16-le", "replace"), "utf-16-le"
    if raw.startswith(codecs.BOM_UTF16_BE):
        return raw[2:].decode("utf-16-be", "replace"), "utf-16-be"
    if raw.startswith(codecs.BOM_UTF8):
        return raw[3:].decode("utf-8", "replace"), "utf-8-sig"
    if looks_utf16le(raw):
        return raw.decode("utf-16-le", "replace"), "utf-16-le"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace"), "cp1252"


def looks_utf16le(raw: bytes) -> bool:
    """BOM-less UTF-16LE ASCII-range text: NULs in most odd positions, few in even ones."""
    head = raw[:512]
    if len(head) < 8:
        return False
    odd = head[1::2]
    even = head[0::2]
    return odd.count(0) > 0.8 * len(odd) and even.count(0) < 0.1 * len(even)


def head_text(head: bytes, limit: int = 4096) -> str:
    """Decode the first bytes of a file for sniffing (tolerates a cut multi-byte char)."""
    text, _ = decode_text(head[: limit * 2])
    return text[:limit]


# --------------------------------------------------------------------------- values


def decode_value(type_name: str, data: bytes, *, ansi: bool = False) -> Any:
    """Decode raw value bytes by registry type (UTF-16LE strings unless ``ansi``)."""
    if type_name in ("REG_SZ", "REG_EXPAND_SZ", "REG_LINK"):
        return _decode_str(data, ansi).split("\x00", 1)[0]
    if type_name == "REG_MULTI_SZ":
        s = _decode_str(data, ansi)
        items = s.split("\x00")
        # strip the terminating empty strings (one per NUL terminator at the end)
        while items and items[-1] == "":
            items.pop()
        return items
    if type_name == "REG_DWORD" and len(data) == 4:
        return int.from_bytes(data, "little")
    if type_name == "REG_DWORD_BIG_ENDIAN" and len(data) == 4:
        return int.from_bytes(data, "big")
    if type_name == "REG_QWORD" and len(data) == 8:
        return int.from_bytes(data, "little")
    return data.hex()


def _decode_str(data: bytes, ansi: bool) -> str:
    if ansi:
        return data.decode("cp1252", "replace")
    if len(data) % 2:
        data = data[:-1]
    return data.decode("utf-16-le", "replace")


def display_value(value: Any, type_name: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value} (0x{value:x})"
    if isinstance(value, list):
        return "[" + ", ".join(repr(v) for v in value) + "]"
    if type_name in STRING_TYPES:
        return repr(value)
    s = str(value)
    return s if len(s) <= 64 else s[:64] + "…"


def value_row(*, key_original: str, name: str, type_name: str, value: Any,
              raw: bytes | None, locator: str, extra: dict[str, Any] | None = None,
              time=None) -> dict[str, Any]:
    """One ``reg:value`` timeline row."""
    hive, key = normalize_key(key_original)
    data: dict[str, Any] = {"hive": hive, "key": key, "key_original": key_original,
                            "name": name, "type": type_name, "value": value}
    if raw is not None and type_name not in STRING_TYPES | {"REG_DWORD", "REG_QWORD",
                                                           "REG_MULTI_SZ"}:
        data["raw"] = raw.hex()
    if extra:
        data.update(extra)
    shown = name if name else "(Default)"
    return {"time": time, "kind": "reg", "event_type": "reg:value", "locator": locator,
            "message": f"{key}\\{shown} = {display_value(value, type_name)} ({type_name})",
            "data": data_json(data)}


def key_row(*, key_original: str, locator: str, extra: dict[str, Any] | None = None,
            time=None, values: str | None = None) -> dict[str, Any]:
    """One ``reg:key`` row: a key the input shows with no value shown for it (``[key]`` with
    no value line read under it, a ``reg query`` key line with none, a hive key with none).
    It says the key exists, which is the whole setting for some keys: on Windows Server 2003
    each license server is a *subkey* of ``TermService\\Parameters\\LicenseServers``,
    usually empty (KB301932 "Terminal Services Licensing service discovery", Method 1, citing
    KB279561). Keys that hold values get no such row: their ``reg:value`` rows name them.

    It does not say the key *has* no values: ``values`` (data ``values``) says why none are
    shown when the input tells — ``"not queried"`` (a subkey that ``reg query`` without
    ``/s`` only lists), ``"unreadable"`` (value lines or cells that could not be read)."""
    hive, key = normalize_key(key_original)
    data: dict[str, Any] = {"hive": hive, "key": key, "key_original": key_original}
    if values:
        data["values"] = values
    if extra:
        data.update(extra)
    why = f": {values}" if values else ""
    return {"time": time, "kind": "reg", "event_type": "reg:key", "locator": locator,
            "message": f"{key} (no values shown{why})", "data": data_json(data)}


def key_id(key: str) -> str:
    """The key as :func:`without_valued_keys` compares it: normalised, case-folded
    (``HKEY_LOCAL_MACHINE\\X`` and ``HKLM\\X`` are one key)."""
    return normalize_key(key)[1].casefold()


def without_valued_keys(rows: list[dict[str, Any]], valued: set[str]) -> list[dict[str, Any]]:
    """``rows`` less the ``reg:key`` rows of keys that hold a value elsewhere in the same
    input (a key written twice, once empty): their ``reg:value`` rows name them. Key rows
    carry their :func:`key_id` in ``_key`` until here, and ``valued`` holds the key_id of
    each key with a value."""
    out = []
    for r in rows:
        k = r.pop("_key", None)
        if k is None or k not in valued:
            out.append(r)
    return out


def deletion_row(*, key_original: str, name: str | None, locator: str) -> dict[str, Any]:
    """``reg:key-deleted`` (name None) or ``reg:value-deleted``."""
    hive, key = normalize_key(key_original)
    data: dict[str, Any] = {"hive": hive, "key": key, "key_original": key_original}
    if name is None:
        return {"kind": "reg", "event_type": "reg:key-deleted", "locator": locator,
                "message": f"delete key {key}", "data": data_json(data)}
    data["name"] = name
    return {"kind": "reg", "event_type": "reg:value-deleted", "locator": locator,
            "message": f"delete value {key}\\{name or '(Default)'}", "data": data_json(data)}


def locator(line: int, key: str) -> str:
    return f"line {line} [{normalize_key(key)[1]}]" if key else f"line {line}"


def _with_command_output(text: str, source: str, options: ParseOptions | None,
                         parse_text) -> ParseResult:
    """``parse_text`` of the file, and of the netstat / tasklist / qwinsta / systeminfo /
    registry outputs of another format a support script wrote into the same file
    (``reg query ... & netstat -ano``): those blocks go to their own parsers
    (:mod:`parsers.textlog`), the rest to ours, each with the file's line numbers. Without
    this the registry or gpresult parser, sniffed first, read the file and the other outputs
    were lost without a word."""
    import pandas as pd

    from . import textlog
    from .base import conform

    lines = T.split_lines(text)
    own_fn = getattr(parse_text, "func", parse_text)     # (a functools.partial of it)
    blocks = textlog.find_blocks(lines, tuple(m for m in textlog.FORMATS
                                              if m.parse_text is not own_fn))
    if not blocks:
        return parse_text(text, source, options)
    inside = [False] * len(lines)
    for b in blocks:
        inside[b.start:b.end] = [True] * (b.end - b.start)
    first = next((i for i, ln in enumerate(lines) if not inside[i] and ln.strip()), len(lines))
    own = "\n".join("" if inside[i] else lines[i] for i in range(first, len(lines)))
    res = parse_text(own, source, options, line_offset=first)
    # (with the time stamp lines between them: textlog folds a quser output into a qwinsta
    # of the same capture only, and a stamp of another time says it is not — review)
    other = textlog.parse_text("\n".join(ln if inside[i] or textlog.is_stamp(ln) else ""
                                         for i, ln in enumerate(lines)), source, options)
    frames = [f for f in (res.frame, other.frame) if len(f)]
    res.frame = conform(pd.concat(frames, ignore_index=True)) if len(frames) > 1 else \
        (frames[0] if frames else res.frame)
    res.warnings += other.warnings
    res.stats["records"] = len(res.frame)
    res.stats["blocks"] = other.stats.get("blocks", [])
    for k, v in other.meta.items():
        if v is not None:
            res.meta.setdefault(k, v)
    return res


def parse_file(path, options: ParseOptions | None, parse_text) -> ParseResult:
    """Read a registry/policy text file within budget, decode it (BOM-aware) and hand it to
    the module's ``parse_text``; the encoding and bytes read go into the stats."""
    options = options or ParseOptions()
    raw = read_bounded(path, options)
    text, enc = decode_text(raw)
    res = _with_command_output(text, str(path), options, parse_text)
    res.stats.update(encoding=enc, bytes_read=len(raw))
    bad = text.count("\ufffd")
    if enc == "cp1252" and not raw.isascii():
        # REGEDIT4 files are written in the server's ANSI code page, which the file does
        # not name: a Cyrillic or East Asian server's names come out as Latin-1 letters
        res.warnings.insert(0, ParseWarning(
            str(path), "line 1", "neither UTF-16 nor UTF-8: read as Windows-1252 (ANSI); "
            "non-ASCII key, value and group names are wrong if the server used another "
            "code page" + (f" ({bad} undecodable bytes replaced)" if bad else "")))
    elif bad:
        line = T.line_at(text, text.find("\ufffd"))
        res.warnings.insert(0, ParseWarning(str(path), f"line {line}",
                                            f"{bad} undecodable characters in {enc} replaced "
                                            "(the first on this line)"))
    return res
