"""A minimal hand-rolled .evtx builder for crafted BinXML (templates, substitutions, nested
fragments): hostile inputs are built at test time, never committed as files.

Adapted from the adversarial review's crafting script (review rvC). Offsets are relative to
the chunk, as in the format; ``chunk()`` leaves the string/template tables empty unless
``table`` names template offsets (the Rust reader finds a template by its offset anyway).
"""
from __future__ import annotations

import struct
import zlib

FT = 132000000000000000          # 2019-04-14T22:13:20Z


def name_rec(name: str, next_off: int = 0) -> bytes:
    h = 0
    for c in name:
        h = (h * 65599 + ord(c)) & 0xFFFFFFFF
    return struct.pack("<IHH", next_off, h & 0xFFFF, len(name)) + name.encode("utf-16-le") + b"\0\0"


class Tpl:
    """Template-definition tokens with inline names; ``base`` = chunk offset of the tokens."""

    def __init__(self, base: int):
        self.b = bytearray()
        self.base = base
        self.names: dict[str, int] = {}

    def _name(self, name: str, pos: int) -> tuple[int, bytes]:
        if name in self.names:
            return self.names[name], b""
        self.names[name] = pos
        return pos, name_rec(name)

    def open(self, name: str, attrs: bool = False) -> "Tpl":
        off, inline = self._name(name, self.base + len(self.b) + 11)
        self.b += struct.pack("<BHII", 0x41 if attrs else 0x01, 0xFFFF, 0, off) + inline
        if attrs:
            self.b += struct.pack("<I", 0)
        return self

    def attr(self, name: str) -> "Tpl":
        off, inline = self._name(name, self.base + len(self.b) + 5)
        self.b += struct.pack("<BI", 0x06, off) + inline
        return self

    def close_start(self) -> "Tpl":
        self.b += b"\x02"
        return self

    def end(self) -> "Tpl":
        self.b += b"\x04"
        return self

    def sub(self, idx: int, typ: int = 0x01, optional: bool = False) -> "Tpl":
        self.b += struct.pack("<BHB", 0x0E if optional else 0x0D, idx, typ)
        return self

    def text(self, s: str) -> "Tpl":
        self.b += struct.pack("<BBH", 0x05, 0x01, len(s)) + s.encode("utf-16-le")
        return self

    def eof(self) -> "Tpl":
        self.b += b"\x00"
        return self


def template_instance(pos: int, body_fn, tid: int = 1) -> tuple[bytes, int]:
    """A 0x0C token at chunk offset ``pos`` with its definition inline: (bytes, offset)."""
    toff = pos + 10
    body = body_fn(toff + 24)
    return (struct.pack("<BBII", 0x0C, 0x01, tid, toff) + struct.pack("<I", 0) + b"G" * 16
            + struct.pack("<I", len(body)) + body, toff)


def template_ref(toff: int, tid: int = 1) -> bytes:
    return struct.pack("<BBII", 0x0C, 0x01, tid, toff)


def subs(values: list[tuple[int, bytes]]) -> bytes:
    """A substitution array from (type, value bytes) pairs."""
    d = b"".join(struct.pack("<HBB", len(v), t, 0) for t, v in values)
    return struct.pack("<I", len(values)) + d + b"".join(v for _, v in values)


def record(rid: int, binxml: bytes, ft: int = FT) -> bytes:
    size = 24 + len(binxml) + 4
    return b"**\0\0" + struct.pack("<IQQ", size, rid, ft) + binxml + struct.pack("<I", size)


def chunk(records: bytes, first: int, last: int, last_rec_off: int = 0x200,
          table: tuple[int, ...] = (), free: int | None = None) -> bytes:
    assert len(records) <= 0x10000 - 0x200, len(records)
    h = bytearray(0x200)
    h[0:8] = b"ElfChnk\0"
    struct.pack_into("<QQQQIII", h, 8, first, last, first, last, 0x80, last_rec_off,
                     0x200 + len(records) if free is None else free)
    for i, toff in enumerate(table):
        struct.pack_into("<I", h, 0x180 + 4 * i, toff)
    struct.pack_into("<I", h, 0x34, zlib.crc32(records))
    struct.pack_into("<I", h, 0x7C, zlib.crc32(h[0x80:0x200], zlib.crc32(h[:0x78])))
    return bytes(h) + records + b"\0" * (0x10000 - 0x200 - len(records))


def file_header(nchunks: int, next_rid: int = 1) -> bytes:
    h = bytearray(0x1000)
    h[0:8] = b"ElfFile\0"
    struct.pack_into("<QQQIHHHH", h, 8, 0, max(nchunks - 1, 0), next_rid, 128, 1, 3, 0x1000,
                     nchunks)
    struct.pack_into("<I", h, 0x7C, zlib.crc32(h[:0x78]))
    return bytes(h)


def event_template(base: int, inner) -> bytes:
    """<Event><System><Provider Name=%0/><EventID>%1</EventID><TimeCreated SystemTime=%2/>
    <Computer>%3</Computer></System> inner(t) </Event>"""
    t = Tpl(base)
    t.b += b"\x0f\x01\x01\x00"
    t.open("Event").close_start()
    t.open("System").close_start()
    t.open("Provider", attrs=True).attr("Name").sub(0, 0x01).close_start().end()
    t.open("EventID").close_start().sub(1, 0x06).end()
    t.open("TimeCreated", attrs=True).attr("SystemTime").sub(2, 0x11).close_start().end()
    t.open("Computer").close_start().sub(3, 0x01).end()
    t.end()
    inner(t)
    t.end()
    t.eof()
    return bytes(t.b)


def std_subs(provider: str = "Prov", eid: int = 4624, ft: int = FT,
             host: str = "HOST") -> list[tuple[int, bytes]]:
    return [(0x01, provider.encode("utf-16-le")), (0x06, struct.pack("<H", eid)),
            (0x11, struct.pack("<Q", ft)), (0x01, host.encode("utf-16-le"))]


def named_data(*names: str):
    """``inner`` for :func:`event_template`: <EventData><Data Name=n>%4+i</Data>...."""
    def inner(t: Tpl) -> None:
        t.open("EventData").close_start()
        for i, n in enumerate(names):
            t.open("Data", attrs=True).attr("Name").text(n).close_start().sub(4 + i).end()
        t.end()
    return inner


def log(records_subs: list[list[tuple[int, bytes]]], inner, first_id: int = 1,
        table: bool = False) -> bytes:
    """A one-chunk log: one template (``event_template(inner)``), one record per
    substitution list, ids from ``first_id``."""
    recs = b""
    toff = last = 0
    for n, vals in enumerate(records_subs):
        if n == 0:
            bx = b"\x0f\x01\x01\x00"
            ti, toff = template_instance(0x200 + 24 + len(bx),
                                         lambda base: event_template(base, inner))
            body = bx + ti + subs(vals)
        else:
            body = b"\x0f\x01\x01\x00" + template_ref(toff) + subs(vals)
        last = len(recs)
        recs += record(first_id + n, body)
    n = len(records_subs)
    return file_header(1, first_id + n) + chunk(recs, first_id, first_id + n - 1,
                                                last_rec_off=0x200 + last,
                                                table=(toff,) if table else ())


def nested_fanout(k: int, d: int) -> bytes:
    """Review rvC c01: record 1's template references a nested-BinXML (0x21) substitution
    ``k`` times in <UserData>; each nested fragment re-uses the template, ``d`` deep (a
    ~1 KB record expands to k**d elements). Record 2 is a normal record."""
    def inner(t: Tpl) -> None:
        t.open("UserData").close_start()
        for _ in range(k):
            t.sub(4, 0x21, optional=True)
        t.end()
    bx = b"\x0f\x01\x01\x00"
    ti, toff = template_instance(0x200 + 24 + len(bx), lambda base: event_template(base, inner))
    frag = b"\x0f\x01\x01\x00" + template_ref(toff) + subs([(0x00, b"")] * 5)
    for _ in range(d - 1):
        frag = b"\x0f\x01\x01\x00" + template_ref(toff) + subs([(0x00, b"")] * 4 + [(0x21, frag)])
    rec = record(1, bx + ti + subs(std_subs() + [(0x21, frag)]))
    rec2 = record(2, b"\x0f\x01\x01\x00" + template_ref(toff)
                  + subs(std_subs(eid=4625) + [(0x00, b"")]))
    return file_header(1, 3) + chunk(rec + rec2, 1, 2, last_rec_off=0x200 + len(rec))


def subst_fanout(n: int, chars: int, nchunks: int,
                 provider: str = "Microsoft-Windows-Security-Auditing") -> bytes:
    """Review rvC c05: per chunk, a template whose one <Data> references one string
    substitution ``n`` times and one record with a ``chars``-character string."""
    def inner(t: Tpl) -> None:
        t.open("EventData").close_start()
        t.open("Data", attrs=True).attr("Name").text("Payload").close_start()
        for _ in range(n):
            t.sub(4, 0x01)
        t.end().end()
    out = [file_header(nchunks, nchunks + 1)]
    for c in range(nchunks):
        bx = b"\x0f\x01\x01\x00"
        ti, _ = template_instance(0x200 + 24 + len(bx), lambda base: event_template(base, inner))
        rec = record(c + 1, bx + ti + subs(std_subs(provider=provider, eid=4625)
                                           + [(0x01, ("A" * chars).encode("utf-16-le"))]))
        out.append(chunk(rec, c + 1, c + 1))
    return b"".join(out)
