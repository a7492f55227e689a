"""Write Windows XML Event Log (``.evtx``) files that real readers accept.

Used by the scenario generator (:mod:`analyzer.sample`), the tests and the benchmarks; it is
not needed to *analyse* anything. The layout follows what Windows itself writes and what
../shared/KNOWLEDGE.md §7 verified against both readers the project uses:

* a 4 KiB file header (``ElfFile``, version 3.1, CRC32 over its first 120 bytes);
* 64 KiB chunks (``ElfChnk``) with the 64-bucket common-string table and the 32-bucket
  template table filled and chained, header CRC32 (bytes 0–119 and 128–511) and records
  CRC32 (bytes 512 to the free-space offset);
* records (``**\\0\\0``, size, record id, FILETIME, BinXML, size again) whose BinXML is a
  fragment header plus a *template instance*: the template definition is written inline at
  its first use in a chunk and referenced by offset afterwards, followed by the substitution
  array (python-evtx renders a record only through its template, so plain element streams
  are not an option).

One template is made per event *shape* (provider, the names and types of the payload
fields, presence of qualifiers / user SID / binary); everything that varies between events
of a shape is a substitution, as in Windows' own templates, so writing a record costs one
``struct.pack`` and the UTF-16 encoding of its strings (~10 µs).

Payload values and their substitution types: ``str`` → string (0x01), ``int`` → UInt32
(0x08; UInt64 0x0a when it does not fit, Int64 0x09 when negative), ``bytes`` → binary
(0x0e), ``None`` → an empty string; wrap with :func:`u8`, :func:`u16`, :func:`u64`,
:func:`hex32`, :func:`hex64`, :func:`guid`, :func:`sid`, :func:`filetime` for the other
Windows types.

Not verified here: that Windows Event Viewer opens these files (no Windows machine was
available). Both python-evtx 0.8 and the Rust ``evtx`` 0.14 binding read them back exactly,
and libyal's libevtx — stricter than both — reads every record (``tests/test_evtxwriter.py``).
What libevtx needed beyond the other two: the EndOfStream token after a record's
substitution values, no NullType value in a normal substitution, and a few free bytes at the
end of each chunk.

Bulk writing: :meth:`EvtxWriter.shape` + :meth:`EvtxWriter.write` skip building
:class:`Event` objects (``benchmarks/gen_evtx.py``: about 56–64k records/s of CPU time for a
realistic Security mix on this project's shared 2-core machine).

>>> w = EvtxWriter("System.evtx")                                          # doctest: +SKIP
>>> w.add(Event(provider="TermDD", event_id=50, qualifiers=49162, level=2,
...             time=datetime(2024, 5, 1, tzinfo=timezone.utc), channel="System",
...             computer="TS01", data=[(None, "\\\\Device\\\\Termdd"), (None, "X.224")],
...             binary=bytes.fromhex("00000000020030000000000032000ac0")))  # doctest: +SKIP
>>> w.close()                                                              # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from itertools import repeat
from operator import add as _add, itemgetter, mul as _mul
from typing import Any, Iterable
from uuid import UUID

CHUNK_SIZE = 0x10000
CHUNK_HEADER = 0x200
# Bytes left free at a chunk's end: libevtx skips a last record that ends within a record
# header's length of the chunk end (seen here: free-space offsets 65534–65536 lose it).
_SLACK = 24
FILE_HEADER = 0x1000
EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event"
_EPOCH_FT = 116444736000000000          # 1970-01-01 as FILETIME
_FRAGMENT = b"\x0f\x01\x01\x00"

# substitution value types
T_NULL, T_STR, T_I8, T_U8, T_I16, T_U16, T_I32, T_U32, T_I64, T_U64 = 0, 1, 2, 4, 3, 6, 5, 8, 9, 0x0A
T_BOOL, T_BIN, T_GUID, T_FILETIME, T_SID, T_HEX32, T_HEX64 = 0x0D, 0x0E, 0x0F, 0x11, 0x13, 0x14, 0x15


class Typed:
    """Marker base: a payload value with an explicit substitution type (``cls.type``)."""

    type = T_NULL


def _int_type(name: str, code: int) -> type:
    def __repr__(self) -> str:
        return f"{name.lower()}({int(self)})"
    return type(name, (Typed, int), {"__slots__": (), "type": code, "__repr__": __repr__})


def _str_type(name: str, code: int) -> type:
    def __repr__(self) -> str:
        return f"{name.lower()}({str(self)!r})"
    return type(name, (Typed, str), {"__slots__": (), "type": code, "__repr__": __repr__})


U8, U16, U32, U64 = (_int_type("U8", T_U8), _int_type("U16", T_U16), _int_type("U32", T_U32),
                     _int_type("U64", T_U64))
Hex32, Hex64 = _int_type("Hex32", T_HEX32), _int_type("Hex64", T_HEX64)
_FileTime = _int_type("FileTime", T_FILETIME)
Guid, Sid = _str_type("Guid", T_GUID), _str_type("Sid", T_SID)
u8, u16, u32, u64, hex32, hex64, guid, sid = U8, U16, U32, U64, Hex32, Hex64, Guid, Sid


def filetime(v: "datetime | int") -> int:
    """A FILETIME payload value from an aware datetime or a FILETIME integer."""
    return _FileTime(to_filetime(v))


@dataclass(slots=True)
class Event:
    """One event as Windows would log it. ``time`` is a tz-aware datetime or a FILETIME int.

    ``data``: ``EventData`` items ``(name or None, value)``; ``binary``: the ``<Binary>``
    payload; ``user_data``: ``(element, xmlns, [(child, value), ...])`` for manifest events
    that log ``<UserData><EventXML xmlns="Event_NS">…`` (LSM, RCM) instead of EventData.
    """

    provider: str
    event_id: int
    time: datetime | int
    channel: str
    computer: str
    level: int = 4
    provider_guid: str | None = None
    event_source_name: str | None = None
    qualifiers: int | None = None
    version: int = 0
    task: int = 0
    opcode: int = 0
    keywords: int = 0x8000000000000000
    process_id: int = 0
    thread_id: int = 0
    user_sid: str | None = None
    data: list[tuple[str | None, Any]] = field(default_factory=list)
    binary: bytes | None = None
    user_data: tuple[str, str, list[tuple[str, Any]]] | None = None


# ----------------------------------------------------------------------------- values


def to_filetime(t: datetime | int) -> int:
    if isinstance(t, int):
        return t
    if t.tzinfo is None:
        raise ValueError("event times must be timezone-aware (UTC)")
    d = t - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return _EPOCH_FT + (d.days * 86400 + d.seconds) * 10_000_000 + d.microseconds * 10


_SID_CACHE: dict[str, bytes] = {}
_GUID_CACHE: dict[Any, bytes] = {}


def sid_bytes(s: str) -> bytes:
    b = _SID_CACHE.get(s)
    if b is None:
        parts = s.split("-")
        if len(parts) < 3 or parts[0].upper() != "S":
            raise ValueError(f"not a SID: {s!r}")
        rev, auth, subs = int(parts[1]), int(parts[2]), [int(x) for x in parts[3:]]
        b = (struct.pack("<BB", rev, len(subs)) + auth.to_bytes(6, "big")
             + b"".join(struct.pack("<I", x) for x in subs))
        _SID_CACHE[s] = b
    return b


_FIXED = {T_I8: "<b", T_U8: "<B", T_I16: "<h", T_U16: "<H", T_I32: "<i", T_U32: "<I",
          T_I64: "<q", T_U64: "<Q", T_HEX32: "<I", T_HEX64: "<Q", T_FILETIME: "<Q", T_BOOL: "<I"}


def encode_value(t: int, v: Any) -> bytes:
    """Bytes of one substitution value of type ``t``."""
    if v is None or t == T_NULL:
        return b""
    if t == T_STR:
        return v.encode("utf-16-le", "surrogatepass")
    if t == T_BIN:
        return bytes(v)
    if t == T_SID:
        return sid_bytes(v)
    if t == T_GUID:
        b = _GUID_CACHE.get(v)
        if b is None:
            b = _GUID_CACHE[v] = UUID(str(v).strip("{}")).bytes_le
        return b
    if t == T_FILETIME:
        return struct.pack("<Q", to_filetime(v))
    fmt = _FIXED.get(t)
    if fmt is None:
        raise ValueError(f"unsupported substitution type 0x{t:02x}")
    try:
        return struct.pack(fmt, int(v))
    except struct.error as e:
        raise ValueError(f"{v!r} does not fit substitution type 0x{t:02x} (wrap it with "
                         f"u64()/hex64()): {e}") from None


# ----------------------------------------------------------------------------- names


def name_hash(name: str) -> int:
    """The 16-bit hash Windows stores with element/attribute names (×65599 per UTF-16 unit)."""
    enc = name.encode("utf-16-le")
    h = 0
    for cu in struct.unpack(f"<{len(enc) // 2}H", enc):
        h = (h * 65599 + cu) & 0xFFFFFFFF
    return h & 0xFFFF


# ----------------------------------------------------------------------------- templates

# A template body is described as nested tuples before it is compiled into BinXML:
#   element: ("E", name, [(attr_name, valuespec)], [content...])
#   valuespec / content item: ("T", text) static text, ("S", index, type) substitution.


@dataclass(eq=False)
class TemplateSpec:
    """One event shape: its description tree, GUID and the order of its substitutions."""

    key: tuple
    tree: tuple
    guid: bytes
    n_subs: int
    types: tuple[int, ...]          # declared type per substitution index
    names: frozenset[str] = frozenset()   # element and attribute names of the tree
    str_pos: tuple[int, ...] = ()   # payload positions of the string values, in index order
    num_pos: tuple[tuple[int, int], ...] = ()     # (payload position, type): fixed-size ints
    other_pos: tuple[tuple[int, int], ...] = ()   # (payload position, type) of the others


_SYS_FIXED_FMT = "<HHBBHBQQQII"     # EventID Qualifiers Version Level Task Opcode Keywords
                                    # TimeCreated EventRecordID ProcessID ThreadID
_SYS_FIXED = struct.Struct(_SYS_FIXED_FMT)
_REC_HEAD = struct.Struct("<IIQQ")
_REPEAT2, _REPEAT_T = repeat(2), repeat(T_STR << 16)     # descriptor: size | type << 16
_U32 = struct.Struct("<I")
_SYS_FIXED_TYPES = (T_U16, T_U16, T_U8, T_U8, T_U16, T_U8, T_HEX64, T_FILETIME, T_U64,
                    T_U32, T_U32)
_SYS_FIXED_SIZES = (2, 2, 1, 1, 2, 1, 8, 8, 8, 4, 4)


def _build_spec(key: tuple) -> TemplateSpec:
    """The template for a shape. Substitution indices: the 11 fixed-size System values, then
    every string (Channel, Computer, string payload fields), then the rest (user SID, other
    payload fields, Binary) — so a record's strings are one contiguous UTF-16 run."""
    (provider, pguid, esn, has_qual, has_user, fields, has_binary, ud) = key
    S = lambda i, t: ("S", i, t)  # noqa: E731
    types = list(_SYS_FIXED_TYPES)
    payload = list(fields) + ([("\0binary", T_BIN)] if has_binary else [])
    idx = {}
    order = [("\0channel", T_STR), ("\0computer", T_STR)]
    order += [(i, t) for i, (_, t) in enumerate(payload) if t == T_STR]
    order += [(i, t) for i, (_, t) in enumerate(payload) if t in _FIXED]
    if has_user:
        order.append(("\0user", T_SID))
    order += [(i, t) for i, (_, t) in enumerate(payload) if t != T_STR and t not in _FIXED]
    for k, t in order:
        idx[k] = len(types)
        types.append(t)
    prov_attrs = [("Name", ("T", provider))]
    if pguid:
        prov_attrs.append(("Guid", ("T", pguid)))
    if esn:
        prov_attrs.append(("EventSourceName", ("T", esn)))
    eid_attrs = [("Qualifiers", S(1, T_U16))] if has_qual else []
    system = ("E", "System", [], [
        ("E", "Provider", prov_attrs, []),
        ("E", "EventID", eid_attrs, [S(0, T_U16)]),
        ("E", "Version", [], [S(2, T_U8)]),
        ("E", "Level", [], [S(3, T_U8)]),
        ("E", "Task", [], [S(4, T_U16)]),
        ("E", "Opcode", [], [S(5, T_U8)]),
        ("E", "Keywords", [], [S(6, T_HEX64)]),
        ("E", "TimeCreated", [("SystemTime", S(7, T_FILETIME))], []),
        ("E", "EventRecordID", [], [S(8, T_U64)]),
        ("E", "Correlation", [], []),
        ("E", "Execution", [("ProcessID", S(9, T_U32)), ("ThreadID", S(10, T_U32))], []),
        ("E", "Channel", [], [S(idx["\0channel"], T_STR)]),
        ("E", "Computer", [], [S(idx["\0computer"], T_STR)]),
        ("E", "Security", [("UserID", S(idx["\0user"], T_SID))] if has_user else [], []),
    ])
    children = [system]
    if ud is not None:
        root, ns = ud
        items = [("E", name, [], [S(idx[i], t)]) for i, (name, t) in enumerate(fields)]
        children.append(("E", "UserData", [], [("E", root, [("xmlns", ("T", ns))], items)]))
    elif payload:
        items = []
        for i, (name, t) in enumerate(fields):
            attrs = [("Name", ("T", name))] if name is not None else []
            items.append(("E", "Data", attrs, [S(idx[i], t)]))
        if has_binary:
            items.append(("E", "Binary", [], [S(idx[len(fields)], T_BIN)]))
        children.append(("E", "EventData", [], items))
    tree = ("E", "Event", [("xmlns", ("T", EVENT_NS))], children)
    g = hashlib.md5(repr(key).encode("utf-8")).digest()
    str_pos = tuple(k for k, _ in order if isinstance(k, int) and payload[k][1] == T_STR)
    num_pos = tuple((k, t) for k, t in order if isinstance(k, int) and t in _FIXED)
    other_pos = tuple((k, t) for k, t in order
                      if isinstance(k, int) and t != T_STR and t not in _FIXED)
    return TemplateSpec(key=key, tree=tree, guid=g, n_subs=len(types), types=tuple(types),
                        names=frozenset(_tree_names(tree, [])),
                        str_pos=str_pos, num_pos=num_pos, other_pos=other_pos)


# ----------------------------------------------------------------------------- chunk


class _Compiled:
    __slots__ = ("body", "rel", "refs", "new")

    def __init__(self, body: bytes, rel: list[int], refs: list[tuple[int, str]],
                 new: list[tuple[str, int, int]]) -> None:
        self.body, self.rel, self.refs, self.new = body, rel, refs, new


class _BodyCompiler:
    """Compiles a template tree into BinXML once, relocatable to any chunk position.

    ``known`` are names the target chunk already holds (referenced by offset); the others
    are written inline. The result records where to add the body's chunk offset (inline
    name offsets), where to put the chunk's offsets of known names, and the new names.
    """

    def __init__(self, known: frozenset[str]) -> None:
        self.known = known
        self.inline: dict[str, int] = {}
        self.rel: list[int] = []
        self.refs: list[tuple[int, str]] = []
        self.new: list[tuple[str, int, int]] = []

    def compile(self, tree: tuple) -> _Compiled:
        out = bytearray(_FRAGMENT)
        self._element(out, tree)
        out.append(0x00)
        return _Compiled(bytes(out), self.rel, self.refs, self.new)

    def _name(self, out: bytearray, name: str) -> None:
        if name in self.known:
            self.refs.append((len(out), name))
            out += b"\x00\x00\x00\x00"
            return
        off = self.inline.get(name)
        if off is not None:
            self.rel.append(len(out))
            out += struct.pack("<I", off)
            return
        off = len(out) + 4
        self.rel.append(len(out))
        out += struct.pack("<I", off)
        enc = name.encode("utf-16-le")
        h = name_hash(name)
        out += struct.pack("<IHH", 0, h, len(enc) // 2) + enc + b"\x00\x00"
        self.inline[name] = off
        self.new.append((name, off, h))

    @staticmethod
    def _value(out: bytearray, spec: tuple) -> None:
        if spec[0] == "T":
            enc = spec[1].encode("utf-16-le")
            out += b"\x05\x01" + struct.pack("<H", len(enc) // 2) + enc
        else:
            out += struct.pack("<BHB", 0x0D, spec[1], spec[2])

    def _element(self, out: bytearray, el: tuple) -> None:
        _, name, attrs, content = el
        out.append(0x41 if attrs else 0x01)
        out += b"\xff\xff"
        size_pos = len(out)
        out += b"\x00\x00\x00\x00"
        self._name(out, name)
        if attrs:
            alist = len(out)
            out += b"\x00\x00\x00\x00"
            for i, (an, av) in enumerate(attrs):
                out.append(0x46 if i < len(attrs) - 1 else 0x06)
                self._name(out, an)
                self._value(out, av)
            struct.pack_into("<I", out, alist, len(out) - alist - 4)
        if content:
            out.append(0x02)
            for c in content:
                if c[0] == "E":
                    self._element(out, c)
                else:
                    self._value(out, c)
            out.append(0x04)
        else:
            out.append(0x03)
        struct.pack_into("<I", out, size_pos, len(out) - size_pos - 4)


_BODY_CACHE: dict[tuple, _Compiled] = {}


def _tree_names(el: tuple, acc: list[str]) -> list[str]:
    _, name, attrs, content = el
    acc.append(name)
    acc.extend(a for a, _ in attrs)
    for c in content:
        if c[0] == "E":
            _tree_names(c, acc)
    return acc


class _Chunk:
    """One 64 KiB chunk being filled: its buffer, string and template tables."""

    __slots__ = ("buf", "strings", "str_last", "str_table", "templates", "tpl_last",
                 "tpl_table", "first_id", "last_id", "last_off", "count", "patches")

    def __init__(self) -> None:
        self.buf = bytearray(CHUNK_HEADER)
        self.strings: dict[str, int] = {}
        self.str_last: dict[int, int] = {}
        self.str_table = [0] * 64
        self.templates: dict[TemplateSpec, bytes] = {}   # spec -> instance bytes (defined)
        self.tpl_last: dict[int, int] = {}
        self.tpl_table = [0] * 32
        self.first_id = 0
        self.last_id = 0
        self.last_off = 0
        self.count = 0
        self.patches: list[tuple[int, int]] = []  # (offset of a next-pointer, value)

    @property
    def free(self) -> int:
        return CHUNK_SIZE - len(self.buf)

    def define(self, spec: TemplateSpec, at: int) -> tuple[bytes, bytes]:
        """(instance bytes, definition bytes) for a template whose instance starts at ``at``.

        ``at`` is the chunk offset of the fragment header that precedes the instance. Names
        already in this chunk are referenced; the others are written inline and registered
        in the chunk's string table.
        """
        def_off = at + 4 + 10
        base = def_off + 24
        strings = self.strings
        known = frozenset(n for n in spec.names if n in strings)
        ck = (spec.key, known)
        comp = _BODY_CACHE.get(ck)
        if comp is None:
            if len(_BODY_CACHE) > 4096:
                _BODY_CACHE.clear()
            comp = _BODY_CACHE[ck] = _BodyCompiler(known).compile(spec.tree)
        body = bytearray(comp.body)
        for pos in comp.rel:
            struct.pack_into("<I", body, pos, struct.unpack_from("<I", body, pos)[0] + base)
        for pos, name in comp.refs:
            struct.pack_into("<I", body, pos, strings[name])
        for name, rel, h in comp.new:
            off = base + rel
            strings[name] = off
            bucket = h % 64
            prev = self.str_last.get(bucket)
            if prev is None:
                self.str_table[bucket] = off
            else:
                self.patches.append((prev, off))     # prev string's next-offset field
            self.str_last[bucket] = off
        tid = struct.unpack_from("<I", spec.guid)[0]
        inst = _FRAGMENT + struct.pack("<BBII", 0x0C, 0x01, tid, def_off)
        definition = struct.pack("<I", 0) + spec.guid + struct.pack("<I", len(body)) + bytes(body)
        bucket = tid % 32
        prev = self.tpl_last.get(bucket)
        if prev is None:
            self.tpl_table[bucket] = def_off
        else:
            self.patches.append((prev, def_off))
        self.tpl_last[bucket] = def_off
        self.templates[spec] = inst
        return inst, definition

    def finish(self, chunk_no: int) -> bytes:
        buf = self.buf
        for pos, val in self.patches:
            struct.pack_into("<I", buf, pos, val)
        free = len(buf)
        buf += bytes(CHUNK_SIZE - free)
        struct.pack_into("<8sQQQQIIII", buf, 0, b"ElfChnk\x00", self.first_id, self.last_id,
                         self.first_id, self.last_id, 0x80, self.last_off, free,
                         zlib.crc32(memoryview(buf)[CHUNK_HEADER:free]))
        struct.pack_into("<64I", buf, 0x80, *self.str_table)
        struct.pack_into("<32I", buf, 0x180, *self.tpl_table)
        struct.pack_into("<I", buf, 0x78, 0)
        crc = zlib.crc32(memoryview(buf)[0:0x78])
        crc = zlib.crc32(memoryview(buf)[0x80:CHUNK_HEADER], crc)
        struct.pack_into("<I", buf, 0x7C, crc)
        return bytes(buf)


# ----------------------------------------------------------------------------- writer

_PYTYPES: dict[type, int] = {str: T_STR, int: T_U32, bytes: T_BIN, bytearray: T_BIN,
                             type(None): T_NULL, bool: T_BOOL}
_PYTYPES.update({cls: cls.type for cls in (U8, U16, U32, U64, Hex32, Hex64, Guid, Sid,
                                           _FileTime)})


class _Shape:
    """A template spec plus what writing one record of it needs precomputed."""

    __slots__ = ("spec", "desc_prefix", "strs", "nums", "num_struct", "num_desc", "others",
                 "other_shift")

    def __init__(self, key: tuple) -> None:
        (provider, pguid, esn, has_qual, has_user, names, pytypes, has_bin, ud) = key
        codes = []
        for t in pytypes:
            if t not in _PYTYPES:
                raise TypeError(f"cannot write a {t.__name__} into an event")
            codes.append(_PYTYPES[t])
        fields = tuple(zip(names, codes))
        self.spec = spec = _build_spec((provider, pguid, esn, has_qual, has_user, fields,
                                        has_bin, ud))
        self.desc_prefix = struct.pack("<I", spec.n_subs) + b"".join(
            struct.pack("<HH", size, t) for size, t in zip(_SYS_FIXED_SIZES, spec.types))
        pos = spec.str_pos
        self.strs = (None if not pos else itemgetter(*pos) if len(pos) > 1
                     else (lambda v, _p=pos[0]: (v[_p],)))
        npos = [k for k, _ in spec.num_pos]
        self.nums = (None if not npos else itemgetter(*npos) if len(npos) > 1
                     else (lambda v, _p=npos[0]: (v[_p],)))
        self.num_struct = struct.Struct("<" + "".join(_FIXED[t][1] for _, t in spec.num_pos))
        self.num_desc = b"".join(struct.pack("<HH", struct.calcsize(_FIXED[t]), t)
                                 for _, t in spec.num_pos)
        self.others = spec.other_pos
        self.other_shift = tuple(t << 16 for _, t in spec.other_pos)


class EvtxWriter:
    """Stream events into an ``.evtx`` file; call :meth:`close` (or use ``with``).

    Record ids start at ``first_record_id`` and increase by one per :meth:`add`. Output is a
    pure function of the events added: the same events give byte-identical files.
    """

    def __init__(self, path: str | Path, first_record_id: int = 1) -> None:
        self.path = Path(path)
        self._fh = open(self.path, "wb")
        self._fh.write(bytes(FILE_HEADER))
        self._next_id = first_record_id
        self._chunk = _Chunk()
        self._chunks = 0
        self._shapes: dict[tuple, _Shape] = {}
        self._closed = False

    # -- context manager
    def __enter__(self) -> "EvtxWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def records(self) -> int:
        return self._next_id - 1

    def add_many(self, events: Iterable[Event]) -> None:
        add = self.add
        for ev in events:
            add(ev)

    def add(self, ev: Event) -> int:
        """Append one event; returns its EventRecordID.

        Plain ``int`` payload values are written as UInt32; wrap larger ones with
        :func:`u64` / :func:`hex64`.
        """
        ud = ev.user_data
        pairs = ud[2] if ud is not None else ev.data
        if pairs:
            names, values = zip(*pairs)
        else:
            names, values = (), ()
        if None in values:      # written as empty strings: libevtx rejects NullType in a
            values = tuple("" if v is None else v for v in values)   # normal substitution
        binary = ev.binary
        if binary is not None:
            values = values + (binary,)
        user = ev.user_sid
        key = (ev.provider, ev.provider_guid, ev.event_source_name, ev.qualifiers is not None,
               user is not None, names, tuple(map(type, values)), binary is not None,
               None if ud is None else (ud[0], ud[1]))
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shapes[key] = _Shape(key)

        return self._write(shape, values, ev.event_id,
                           ev.time if type(ev.time) is int else to_filetime(ev.time),
                           ev.level, ev.task, ev.keywords, ev.thread_id, ev.process_id,
                           ev.channel, ev.computer, ev.version, ev.opcode, ev.qualifiers or 0,
                           user)

    def shape(self, *, provider: str, names: tuple, types: tuple, provider_guid: str | None = None,
              event_source_name: str | None = None, qualifiers: bool = False,
              user: bool = False, binary: bool = False,
              user_data: tuple[str, str] | None = None) -> "_Shape":
        """A prepared event shape for :meth:`write` (bulk writing without :class:`Event`).

        ``types`` are Python classes as :meth:`add` infers them from values (``str``,
        ``int``, :class:`Hex64`, :class:`Sid`, ``bytes``…), one per name, plus ``bytes`` last
        when ``binary``. Values passed to :meth:`write` may then be plain ``str``/``int``.
        """
        key = (provider, provider_guid, event_source_name, qualifiers, user, tuple(names),
               tuple(types), binary, user_data)
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shapes[key] = _Shape(key)
        return shape

    def write(self, shape: "_Shape", values, event_id: int, time: int, level: int = 4,
              task: int = 0, keywords: int = 0x8000000000000000, thread_id: int = 0,
              process_id: int = 0, channel: str = "", computer: str = "", version: int = 0,
              opcode: int = 0, qualifiers: int = 0, user_sid: str | None = None) -> int:
        """Append one record of a prepared shape (``time`` as FILETIME); see :meth:`shape`."""
        return self._write(shape, values, event_id, time, level, task, keywords, thread_id,
                           process_id, channel, computer, version, opcode, qualifiers, user_sid)

    def _write(self, shape, values, event_id, ft, level, task, keywords, thread_id,
               process_id, channel, computer, version, opcode, qualifiers, user) -> int:
        rid = self._next_id
        strs = [channel, computer]
        if shape.strs is not None:
            strs.extend(shape.strs(values))
        joined = "".join(strs)
        try:
            blob = joined.encode("utf-16-le")
        except UnicodeEncodeError:                  # lone surrogates: keep them as they are
            blob = joined.encode("utf-16-le", "surrogatepass")
        if len(blob) == 2 * len(joined):            # no characters outside the BMP
            entries = list(map(_add, map(_mul, map(len, strs), _REPEAT2), _REPEAT_T))
        else:
            entries = [len(x.encode("utf-16-le", "surrogatepass")) | 0x10000 for x in strs]
        parts = [shape.desc_prefix, b"", shape.num_desc, b"",
                 _SYS_FIXED.pack(event_id, qualifiers, version, level, task, opcode, keywords,
                                 ft, rid, process_id, thread_id),
                 blob]
        if shape.nums is not None:
            try:
                parts.append(shape.num_struct.pack(*shape.nums(values)))
            except struct.error as e:
                raise ValueError(f"event {event_id}: an integer payload value does not fit "
                                 f"its type (wrap large ones with u64()/hex64()): {e}") from None
        n_str = len(entries)
        if user is not None:
            b = _SID_CACHE.get(user) or sid_bytes(user)
            parts.append(b)
            entries.append(len(b) | (T_SID << 16))
        for (i, t), shift in zip(shape.others, shape.other_shift):
            b = encode_value(t, values[i])
            parts.append(b)
            entries.append(len(b) | shift)
        parts[1] = struct.pack(f"<{n_str}I", *entries[:n_str])
        if len(entries) > n_str:
            parts[3] = struct.pack(f"<{len(entries) - n_str}I", *entries[n_str:])
        parts.append(b"\x00")                     # EndOfStream after the values, as Windows
        subs = b"".join(parts)

        chunk = self._chunk
        inst = chunk.templates.get(shape.spec)
        if inst is not None:                         # fast path: template already in chunk
            buf = chunk.buf
            size = 28 + len(inst) + len(subs)
            if size <= CHUNK_SIZE - _SLACK - len(buf):
                if chunk.count == 0:
                    chunk.first_id = rid
                chunk.last_id = rid
                chunk.last_off = len(buf)
                buf += _REC_HEAD.pack(0x2A2A, size, rid, ft)
                buf += inst
                buf += subs
                buf += _U32.pack(size)
                chunk.count += 1
                self._next_id = rid + 1
                return rid
        rec = self._record(chunk, shape.spec, rid, ft, subs)
        if rec is None:
            self._flush()
            chunk = self._chunk
            rec = self._record(chunk, shape.spec, rid, ft, subs)
            if rec is None:
                raise ValueError(f"event {shape.spec.key[0]}/{event_id} is too large for one "
                                 "64 KiB chunk")
        if chunk.count == 0:
            chunk.first_id = rid
        chunk.last_id = rid
        chunk.last_off = len(chunk.buf)
        chunk.buf += rec
        chunk.count += 1
        self._next_id = rid + 1
        return rid

    def _record(self, chunk: _Chunk, spec: TemplateSpec, rid: int, ft: int,
                subs: bytes) -> bytes | None:
        start = len(chunk.buf)
        inst = chunk.templates.get(spec)
        saved = None
        if inst is None:
            saved = (dict(chunk.strings), dict(chunk.str_last), list(chunk.str_table),
                     dict(chunk.tpl_last), list(chunk.tpl_table), len(chunk.patches))
            inst, definition = chunk.define(spec, start + 24)
            binxml = inst + definition + subs
        else:
            binxml = inst + subs
        size = 24 + len(binxml) + 4
        if size > chunk.free - _SLACK:
            if saved is not None:        # undo the definition: it goes into the next chunk
                (chunk.strings, chunk.str_last, chunk.str_table, chunk.tpl_last,
                 chunk.tpl_table, n) = saved
                del chunk.patches[n:]
                chunk.templates.pop(spec, None)
            return None
        return struct.pack("<IIQQ", 0x00002A2A, size, rid, ft) + binxml + struct.pack("<I", size)

    def _flush(self) -> None:
        if self._chunk.count:
            self._fh.write(self._chunk.finish(self._chunks))
            self._chunks += 1
        self._chunk = _Chunk()

    def close(self) -> Path:
        if self._closed:
            return self.path
        self._flush()
        if self._chunks > 0xFFFF:
            raise ValueError("more than 65535 chunks: split the log")
        hdr = bytearray(FILE_HEADER)
        struct.pack_into("<8sQQQIHHHH", hdr, 0, b"ElfFile\x00", 0, max(self._chunks - 1, 0),
                         self._next_id, 0x80, 1, 3, FILE_HEADER, self._chunks)
        struct.pack_into("<I", hdr, 0x78, 0)          # flags: clean, not full
        struct.pack_into("<I", hdr, 0x7C, zlib.crc32(memoryview(hdr)[:0x78]))
        self._fh.seek(0)
        self._fh.write(hdr)
        self._fh.close()
        self._closed = True
        return self.path


def write_evtx(path: str | Path, events: Iterable[Event], first_record_id: int = 1) -> Path:
    """Write ``events`` (in the given order) to ``path``; returns the path."""
    with EvtxWriter(path, first_record_id) as w:
        w.add_many(events)
    return Path(path)
