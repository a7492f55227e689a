"""Raw registry hives (``regf``): the RDP-relevant keys of a ``SYSTEM`` or ``SOFTWARE`` file.

Input
    A hive file copied out of ``%SystemRoot%\\System32\\config`` (or a ``reg save`` of a key),
    recognised by the ``regf`` signature. Read with regipy (a maintained pure-Python regf
    reader). Which hive it is comes from the root's sub-keys (``Select`` + ``ControlSet00N``
    ⇒ SYSTEM; ``Microsoft`` + ``Policies`` ⇒ SOFTWARE), the header's file name as a hint.

What is read (KNOWLEDGE.md Part B §2.1)
    SYSTEM, in the control set ``Select\\Current`` names: ``Control\\Terminal Server`` (whole
    subtree), ``Services\\TermService`` (subtree), ``Services\\Tcpip\\Parameters`` (values
    only), ``Control\\Lsa`` (values) and ``Lsa\\FipsAlgorithmPolicy``,
    ``Control\\SecurityProviders\\SCHANNEL\\Protocols`` (subtree), ``Control\\Remote Assistance``;
    plus ``Select``. SOFTWARE: ``Policies\\Microsoft\\Windows NT\\Terminal Services`` (subtree),
    ``Microsoft\\Windows\\CurrentVersion\\Policies\\System\\CredSSP`` (subtree),
    ``Microsoft\\Windows NT\\CurrentVersion`` (values: product name and build → ``meta["os"]``).

Output: ``reg:value`` rows as :mod:`parsers.regfile` writes them (``key_original`` is the
hive path, e.g. ``HKLM\\SYSTEM\\ControlSet001\\...``; ``key`` is normalised), plus
``key_last_write`` (UTC ISO) in ``data``; a ``reg:key`` row (data ``hive``, ``key``,
``key_original``, ``key_last_write``; ``values`` ``"unreadable"`` when its values could not
be read; message ``<key> (no values shown)``) for a key read that shows no value (an empty
``LicenseServers\\<server>`` subkey names a 2003 license server). ``time`` NaT (a hive has
no capture time). ``locator`` = ``key <path>``.
"""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from . import regcommon as rc
from .base import (BudgetExceeded, NotMyFormat, ParseOptions, ParseResult, ParserInfo,
                   ParseWarning, result_from_rows, warn)

INFO = ParserInfo(name="hive", kind="reg",
                  description="raw registry hive (SYSTEM / SOFTWARE), RDP-relevant keys",
                  sniffs="'regf' signature at offset 0")

#: (path under the control set, recurse?) for SYSTEM; (path, recurse?) for SOFTWARE.
SYSTEM_KEYS = ((r"Control\Terminal Server", True), (r"Services\TermService", True),
               (r"Services\Tcpip\Parameters", False), (r"Control\Lsa", False),
               (r"Control\Lsa\FipsAlgorithmPolicy", False),
               (r"Control\SecurityProviders\SCHANNEL\Protocols", True),
               (r"Control\Remote Assistance", False))
SOFTWARE_KEYS = ((r"Policies\Microsoft\Windows NT\Terminal Services", True),
                 (r"Microsoft\Windows\CurrentVersion\Policies\System\CredSSP", True),
                 (r"Microsoft\Windows NT\CurrentVersion", False))
MAX_DEPTH = 8
MAX_VALUES = 200_000

_TYPE_ALIASES = {"REG_EXPAND": "REG_EXPAND_SZ"}


def sniff(head: bytes, name: str = "") -> bool:
    return head[:4] == b"regf"


def parse(path: Path, options: ParseOptions | None = None) -> ParseResult:
    options = options or ParseOptions()
    size = path.stat().st_size
    if size > options.max_bytes:
        raise BudgetExceeded(f"{size} bytes is more than max_bytes={options.max_bytes}")
    with open(path, "rb") as fh:
        if fh.read(4) != b"regf":
            raise NotMyFormat("no 'regf' signature")
    _quiet_regipy()
    from regipy.registry import RegistryHive

    warnings: list[ParseWarning] = []
    source = str(path)
    try:
        hive = RegistryHive(str(path))
    except Exception as e:  # regipy raises construct / its own errors on damaged headers
        warn(warnings, source, "offset 0x0", f"cannot open hive: {type(e).__name__}: {e}")
        return result_from_rows([], parser=INFO.name, warnings=warnings, stats={"bytes_read": size})
    _check_dirty(path, warnings, source)
    kind = _hive_kind(hive)
    rows = _Rows()
    meta: dict[str, Any] = {}
    if kind == "SYSTEM":
        current = _select_current(hive, rows, warnings, source)
        cs = f"ControlSet{current:03d}"
        have = sorted(n for n in _root_names(hive) if n.startswith("controlset"))
        if cs.casefold() not in have and have:
            other = next(k.name for k in hive.root.iter_subkeys() if k.name.casefold() == have[0])
            warn(warnings, source, "key Select", f"Select\\Current names {cs}, which the hive "
                 f"does not hold; read {other} instead")
            cs = other
        n0 = len(rows)
        for sub, recurse in SYSTEM_KEYS:
            _walk(hive, f"\\{cs}\\{sub}", f"HKLM\\SYSTEM\\{cs}\\{sub}", recurse, rows, warnings, source)
        if cs != f"ControlSet{current:03d}":      # the configuration knows why this set
            import orjson
            for r in rows[n0:]:
                r["data"] = orjson.dumps({**orjson.loads(r["data"]),
                                          "control_set_fallback": True}).decode()
        meta["control_set"] = cs
    elif kind == "SOFTWARE":
        for sub, recurse in SOFTWARE_KEYS:
            _walk(hive, f"\\{sub}", f"HKLM\\SOFTWARE\\{sub}", recurse, rows, warnings, source)
        meta.update(_os_meta(rows))
    elif kind == "TS-KEY":
        # `reg save "HKLM\...\Control\Terminal Server" ts.hiv`: the key is the root
        _walk_nk(hive.root, TS_KEY, True, rows, warnings, source, 0)
    else:
        warn(warnings, source, "offset 0x0",
             f"hive type not recognised (header name {getattr(hive, 'name', '')!r}): only SYSTEM "
             "and SOFTWARE hives carry RDP settings; nothing read")
    return result_from_rows(rows, parser=INFO.name, warnings=warnings,
                            stats={"bytes_read": size, "hive": kind}, meta=meta)


def _root_names(hive) -> set[str]:
    try:
        return {k.name.casefold() for k in hive.root.iter_subkeys() or []}
    except Exception:
        return set()


#: Where a saved Terminal Server key (its root holds WinStations) belongs.
TS_KEY = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server"


def _check_dirty(path: Path, warnings, source) -> None:
    """A hive copied while in use: its primary and secondary sequence numbers differ and the
    last changes are still in ``.LOG1``/``.LOG2``, which are not applied here."""
    import struct

    try:
        with open(path, "rb") as fh:
            primary, secondary = struct.unpack("<II", fh.read(12)[4:12])
    except (OSError, struct.error):
        return
    if primary != secondary:
        warn(warnings, source, "offset 0x4", f"dirty hive (sequence numbers {primary} and "
             f"{secondary} differ): changes still in its .LOG1/.LOG2 transaction logs are not "
             "applied, so values may be older than the running system's")


def _hive_kind(hive) -> str | None:
    names = _root_names(hive)
    if "winstations" in names:
        return "TS-KEY"
    if "select" in names and any(n.startswith("controlset") for n in names):
        return "SYSTEM"
    if "microsoft" in names and ("policies" in names or "classes" in names):
        return "SOFTWARE"
    hint = (getattr(hive, "name", "") or "").casefold()
    if hint.endswith("system"):
        return "SYSTEM"
    if hint.endswith("software"):
        return "SOFTWARE"
    return None


def _select_current(hive, rows, warnings, source) -> int:
    n = _walk(hive, r"\Select", r"HKLM\SYSTEM\Select", False, rows, warnings, source)
    for r in rows[len(rows) - n:]:
        if '"name":"Current"' in (r["data"] or "") and '"type":"REG_DWORD"' in r["data"]:
            import orjson
            v = orjson.loads(r["data"])["value"]
            if isinstance(v, int) and 0 < v < 1000:
                return v
    warn(warnings, source, "key Select", "no Select\\Current value; assuming ControlSet001")
    return 1


def _filetime(nk) -> str | None:
    try:
        ft = int(nk.header.last_modified)
    except Exception:
        return None
    if ft <= 0:
        return None
    try:
        t = dt.datetime(1601, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=ft // 10)
    except OverflowError:
        return None
    return t.isoformat()


def _walk(hive, path: str, shown: str, recurse: bool, rows, warnings, source, depth: int = 0) -> int:
    """Append the values of ``path`` (and its subtree when ``recurse``); returns rows added."""
    from regipy.exceptions import RegistryKeyNotFoundException

    try:
        nk = hive.get_key(path)
    except RegistryKeyNotFoundException:
        return 0
    except Exception as e:
        warn(warnings, source, f"key {shown}", f"cannot open key: {type(e).__name__}: {e}")
        return 0
    return _walk_nk(nk, shown, recurse, rows, warnings, source, depth)


#: Keys one walk may visit: a damaged or crafted hive can make a sub-key list point back at
#: its own key (a cycle), which the depth bound alone lets grow as fan-out ** depth.
MAX_KEYS = 20000
#: Bytes of value data one hive may add to the timeline: a value list can name one big
#: value cell thousands of times (an 800 KB hive asked for 13 GB; found by review).
MAX_DATA_BYTES = 16 << 20


class _BadValueCells(logging.Handler):
    """Counts regipy's "Could not parse VK" (it then ends a key's values quietly; a value of
    type 0x200000 it skips on purpose, without a word)."""

    count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Could not parse VK"):
            type(self).count += 1


def _quiet_regipy() -> None:
    """regipy logs every odd cell: not to stderr (our warnings say what is lost), only to
    the counter above."""
    lg = logging.getLogger("regipy")
    lg.setLevel(logging.ERROR)
    lg.propagate = False
    if not any(isinstance(h, _BadValueCells) for h in lg.handlers):
        lg.addHandler(_BadValueCells())


class _Rows(list):
    """A hive's rows, with what its walks may still add: [keys, bytes of value data]."""

    def __init__(self) -> None:
        super().__init__()
        self.budget = [MAX_KEYS, MAX_DATA_BYTES]


def _walk_nk(nk, shown: str, recurse: bool, rows, warnings, source, depth: int) -> int:
    budget = rows.budget if isinstance(rows, _Rows) else [MAX_KEYS, MAX_DATA_BYTES]
    budget[0] -= 1
    if budget[0] < 0:
        if budget[0] == -1:
            warn(warnings, source, f"key {rc.normalize_key(shown)[1]}",
                 f"more than {MAX_KEYS} keys in the hive's walks (a sub-key cycle in a damaged "
                 "hive?); stopped")
        return 0
    added = 0
    stamp = _filetime(nk)
    loc = f"key {rc.normalize_key(shown)[1]}"
    read = 0
    unreadable = False                  # values there that could not be read
    bad_before = _BadValueCells.count
    try:
        for v in nk.iter_values(trim_values=False) or []:
            read += 1
            if len(rows) >= MAX_VALUES:
                warn(warnings, source, loc, f"more than {MAX_VALUES} values; stopped")
                return added
            size = _size(v.value)
            if budget[1] - size < 0:
                warn(warnings, source, loc, f"more than {MAX_DATA_BYTES:,} bytes of value "
                     "data (one value listed many times in a damaged hive?); stopped")
                budget[0] = -2          # (no more keys either)
                return added
            budget[1] -= size
            rows.append(_row(shown, v, loc, stamp))
            added += 1
    except Exception as e:
        warn(warnings, source, loc, f"cannot read values: {type(e).__name__}: {e}")
        unreadable = True
    else:
        # regipy stops at a value cell it cannot parse (it logs, and ends the iteration
        # plainly): the key's own count tells what was lost
        want = getattr(nk, "values_count", None)
        if isinstance(want, int) and read < want and _BadValueCells.count > bad_before:
            warn(warnings, source, loc, f"{want - read} of the key's {want} values could not "
                 "be read (a damaged value cell)")
            unreadable = True
    if not added and len(rows) < MAX_VALUES:
        # a key that shows no values: it exists, which is all 2003 says of a license server
        # (a subkey of TermService\Parameters\LicenseServers, KB301932 / KB279561)
        rows.append(rc.key_row(key_original=shown, locator=loc,
                               extra={"key_last_write": stamp},
                               values="unreadable" if unreadable else None))
        added += 1
    if recurse and depth < MAX_DEPTH:
        try:
            subs = list(nk.iter_subkeys() or [])
        except Exception as e:
            warn(warnings, source, loc, f"cannot list sub-keys: {type(e).__name__}: {e}")
            subs = []
        for sub in subs:
            added += _walk_nk(sub, f"{shown}\\{sub.name}", True, rows, warnings, source, depth + 1)
    return added


def _size(value: Any) -> int:
    if isinstance(value, (bytes, bytearray, str)):
        return len(value)
    if isinstance(value, list):
        return sum(len(str(x)) for x in value)
    return 8


def _row(key: str, v, loc: str, stamp: str | None) -> dict[str, Any]:
    type_name = _TYPE_ALIASES.get(str(v.value_type), str(v.value_type))
    name = "" if v.name == "(default)" else v.name
    value = v.value
    raw = None
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
        value = rc.decode_value(type_name, raw) if type_name in rc.STRING_TYPES | {
            "REG_MULTI_SZ", "REG_DWORD", "REG_QWORD"} else raw.hex()
    elif isinstance(value, dt.datetime):
        value = value.isoformat()
    elif isinstance(value, list):
        value = [str(x) for x in value]
    extra = {"key_last_write": stamp, "corrupted": True} if v.is_corrupted else {"key_last_write": stamp}
    return rc.value_row(key_original=key, name=name, type_name=type_name, value=value, raw=raw,
                        locator=loc, extra=extra)


def _os_meta(rows) -> dict[str, Any]:
    import orjson
    out: dict[str, Any] = {}
    for r in rows:
        if r["event_type"] != "reg:value":
            continue
        d = orjson.loads(r["data"])
        if d["key"].casefold().endswith(r"microsoft\windows nt\currentversion"):
            if d["name"] == "ProductName":
                out["os"] = d["value"]
            elif d["name"] in ("CurrentBuild", "CurrentBuildNumber"):
                out.setdefault("build", d["value"])
            elif d["name"] == "CSDVersion":
                out["service_pack"] = d["value"]
    return out
