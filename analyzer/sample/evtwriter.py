"""Write legacy Windows event logs (``.evt``, NT 4 – Server 2003) for tests and scenarios.

The layout follows KNOWLEDGE.md Part B §8 (verified there with libevt) and Microsoft's
"Event Log File Format": a 0x30-byte ``ELF_LOGFILE_HEADER`` (``LfLe`` at offset 4), the
``EVENTLOGRECORD`` s, and a 0x28-byte ``ELF_EOF_RECORD`` (``0x11111111`` … ``0x44444444``).
With ``max_size`` the file is a circular buffer exactly as the EventLog service keeps it:
when the next record does not fit, the oldest records are overwritten, a record that
reaches the end of the file continues right after the header, and the header gets the
"wrapped" flag.

>>> from datetime import datetime, timezone
>>> rec = EvtRecord(source="TermDD", computer="TS01", event_id=50, qualifiers=0xC00A,
...                 event_type=EVENTLOG_ERROR_TYPE, strings=("\\\\Device\\\\Termdd", "X.224"),
...                 data=termdd_binary(0xC00A0032),
...                 time_generated=datetime(2011, 3, 1, 8, 0, tzinfo=timezone.utc))
>>> blob = build_evt([rec])
>>> blob[4:8], len(blob) == 0x30 + len(encode_record(rec, 1)) + 0x28
(b'LfLe', True)

Only the writer lives here; ``parsers.evt`` reads. The scenario generator and the tests of
``parsers.evt`` both use :func:`build_evt` / :func:`write_evt`.
"""
from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

HEADER_SIZE = 0x30
EOF_SIZE = 0x28
RECORD_FIXED = 0x38          # fixed part of EVENTLOGRECORD, before SourceName
SIGNATURE = b"LfLe"
EOF_MAGIC = (0x11111111, 0x22222222, 0x33333333, 0x44444444)

# EventType values (winnt.h)
EVENTLOG_ERROR_TYPE = 0x0001
EVENTLOG_WARNING_TYPE = 0x0002
EVENTLOG_INFORMATION_TYPE = 0x0004
EVENTLOG_AUDIT_SUCCESS = 0x0008
EVENTLOG_AUDIT_FAILURE = 0x0010

# Header flags
ELF_LOGFILE_HEADER_DIRTY = 0x0001
ELF_LOGFILE_HEADER_WRAP = 0x0002
ELF_LOGFILE_LOGFULL_WRITTEN = 0x0004
ELF_LOGFILE_ARCHIVE_SET = 0x0008

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass
class EvtRecord:
    """One event as a 2003 EventLog service would store it.

    ``event_id`` is either the displayed 16-bit id (combined with ``qualifiers``, the high
    word: severity/customer/facility bits, e.g. 0xC00A for TermDD) or already the full
    32-bit value (then leave ``qualifiers`` None). Times are aware datetimes or Unix
    seconds (UTC); ``time_written`` defaults to ``time_generated``.
    """

    source: str
    computer: str
    event_id: int
    time_generated: datetime | int = 0
    time_written: datetime | int | None = None
    qualifiers: int | None = None
    event_type: int = EVENTLOG_INFORMATION_TYPE
    category: int = 0
    sid: str | None = None
    strings: Sequence[str] = field(default_factory=tuple)
    data: bytes = b""
    record_number: int | None = None   # None: numbered sequentially by build_evt

    @property
    def event_id_full(self) -> int:
        if self.qualifiers is None:
            return self.event_id & 0xFFFFFFFF
        return ((self.qualifiers & 0xFFFF) << 16) | (self.event_id & 0xFFFF)


def _unix(t: datetime | int | None) -> int:
    if t is None:
        return 0
    if isinstance(t, datetime):
        if t.tzinfo is None:
            raise ValueError("naive datetime: give an aware (UTC) time")
        return int((t - _EPOCH).total_seconds())
    return int(t)


def sid_to_bytes(sid: str) -> bytes:
    """``S-1-5-21-…`` → the binary SID (revision, count, 48-bit authority, sub-authorities)."""
    parts = sid.strip().split("-")
    if len(parts) < 3 or parts[0].upper() != "S":
        raise ValueError(f"not a SID: {sid!r}")
    rev, auth = int(parts[1]), int(parts[2], 0)
    subs = [int(p) for p in parts[3:]]
    return (struct.pack("<BB", rev, len(subs)) + auth.to_bytes(6, "big")
            + b"".join(struct.pack("<I", s) for s in subs))


def _utf16z(s: str) -> bytes:
    return s.encode("utf-16-le") + b"\x00\x00"


def _pad4(n: int) -> int:
    return (4 - n % 4) % 4


def termdd_binary(status: int = 0xC00A0032, cause: int | None = None, *,
                  strings: int = 1) -> bytes:
    """The ``Binary`` data of a TermDD event: its IO_ERROR_LOG_PACKET (wdm.h), little-endian.

    ``DumpDataSize`` = 4 at 0x02, ``NumberOfStrings`` at 0x04, the event's NTSTATUS
    ``status`` as ``ErrorCode`` (0x0C) and ``FinalStatus`` (0x14), and one DWORD of
    ``DumpData`` at 0x28: the underlying error ``cause`` as an HRESULT — an NTSTATUS
    (0xC…) converted by HRESULT_FROM_NT (0xC0000184 → 0xD0000184), an HRESULT kept — or 0.
    ``termdd_binary(0xC00A0038, 0xC0000184)`` is the Binary of Ask the Performance Team's
    "The Curious Case of Event ID 56 with Source TermDD"."""
    dump = 0 if cause is None else cause & 0xFFFFFFFF
    if dump >> 28 == 0xC:
        dump |= 0x10000000                      # HRESULT_FROM_NT
    return struct.pack("<BBHHHHHIIIIIQI", 0, 0, 4, strings, 0, 0, 0, status & 0xFFFFFFFF, 0,
                       status & 0xFFFFFFFF, 0, 0, 0, dump)


def encode_record(rec: EvtRecord, record_number: int) -> bytes:
    """One EVENTLOGRECORD, DWORD-aligned, ending with its length."""
    body = bytearray()
    body += _utf16z(rec.source)
    body += _utf16z(rec.computer)
    body += b"\x00" * _pad4(RECORD_FIXED + len(body))
    sid = sid_to_bytes(rec.sid) if rec.sid else b""
    sid_off = RECORD_FIXED + len(body) if sid else 0
    body += sid
    str_off = RECORD_FIXED + len(body)
    for s in rec.strings:
        body += _utf16z(s)
    data_off = RECORD_FIXED + len(body)
    body += rec.data
    body += b"\x00" * _pad4(RECORD_FIXED + len(body))
    length = RECORD_FIXED + len(body) + 4
    tg = _unix(rec.time_generated)
    tw = _unix(rec.time_written) if rec.time_written is not None else tg
    fixed = struct.pack(
        "<I4sIIIIHHHHIIIIII", length, SIGNATURE, record_number, tg & 0xFFFFFFFF,
        tw & 0xFFFFFFFF, rec.event_id_full, rec.event_type, len(rec.strings), rec.category, 0,
        0, str_off, len(sid), sid_off, len(rec.data), data_off)
    assert len(fixed) == RECORD_FIXED
    return fixed + bytes(body) + struct.pack("<I", length)


def _header(start: int, end: int, current: int, oldest: int, max_size: int, flags: int,
            retention: int = 0) -> bytes:
    return struct.pack("<I4sIIIIIIIIII", HEADER_SIZE, SIGNATURE, 1, 1, start, end, current,
                       oldest, max_size, flags, retention, HEADER_SIZE)


def _eof(start: int, end: int, current: int, oldest: int) -> bytes:
    return struct.pack("<IIIIIIIIII", EOF_SIZE, *EOF_MAGIC, start, end, current, oldest,
                       EOF_SIZE)


@dataclass
class EvtLayout:
    """Where :func:`build_evt_layout` put things (for tests that damage a file on purpose)."""

    data: bytes
    offsets: dict[int, int]          # record number -> offset of its first byte
    lengths: dict[int, int]          # record number -> record length
    overwritten: list[int]           # record numbers dropped by the circular buffer
    start: int = HEADER_SIZE
    end: int = HEADER_SIZE
    wrapped: bool = False


def build_evt_layout(records: Iterable[EvtRecord], *, max_size: int | None = None,
                     first_record_number: int = 1, dirty: bool = False, flags: int = 0,
                     retention: int = 0) -> EvtLayout:
    """Lay out ``records`` (oldest first) like the EventLog service.

    Without ``max_size`` the file is exactly as long as its content (a log saved with
    "Save Log File As…"). With ``max_size`` (bytes, multiple of 4, at least header + EOF +
    the largest record) the file is that long and wraps: once full, the oldest records are
    overwritten; their numbers are in ``overwritten``.
    """
    encoded: list[tuple[int, bytes]] = []
    n = first_record_number
    for r in records:
        num = r.record_number if r.record_number is not None else n
        encoded.append((num, encode_record(r, num)))
        n = num + 1
    next_number = n
    if max_size is None:
        body = b"".join(b for _, b in encoded)
        size = HEADER_SIZE + len(body) + EOF_SIZE
        offsets, lengths, pos = {}, {}, HEADER_SIZE
        for num, b in encoded:
            offsets[num], lengths[num] = pos, len(b)
            pos += len(b)
        oldest = encoded[0][0] if encoded else 0
        end = HEADER_SIZE + len(body)
        hflags = flags | (ELF_LOGFILE_HEADER_DIRTY if dirty else 0)
        data = (_header(HEADER_SIZE, end, next_number, oldest, size, hflags, retention)
                + body + _eof(HEADER_SIZE, end, next_number, oldest))
        return EvtLayout(data=data, offsets=offsets, lengths=lengths, overwritten=[],
                         start=HEADER_SIZE, end=end, wrapped=False)

    if max_size % 4 or max_size < HEADER_SIZE + EOF_SIZE + max((len(b) for _, b in encoded),
                                                               default=0):
        raise ValueError("max_size must be a multiple of 4 and hold the largest record")
    ring = bytearray(max_size)
    region = max_size - HEADER_SIZE

    def put(pos: int, blob: bytes) -> int:
        """Write circularly: what passes the end continues right after the header."""
        first = min(len(blob), max_size - pos)
        ring[pos:pos + first] = blob[:first]
        rest = blob[first:]
        if rest:
            ring[HEADER_SIZE:HEADER_SIZE + len(rest)] = rest
            return HEADER_SIZE + len(rest)
        return HEADER_SIZE if pos + first == max_size else pos + first

    live: deque[tuple[int, int, int]] = deque()   # (number, offset, length), oldest first
    used = 0
    overwritten: list[int] = []
    w = HEADER_SIZE
    wrapped = False
    for num, blob in encoded:
        need = len(blob) + EOF_SIZE
        while live and region - used < need:
            gone = live.popleft()
            used -= gone[2]
            overwritten.append(gone[0])
        start_w = w
        w = put(w, blob)
        if w <= start_w:
            wrapped = True
        live.append((num, start_w, len(blob)))
        used += len(blob)
    start = live[0][1] if live else HEADER_SIZE
    oldest = live[0][0] if live else 0
    put(w, _eof(start, w, next_number, oldest))
    hflags = flags | (ELF_LOGFILE_HEADER_WRAP if (wrapped or overwritten) else 0)
    hflags |= ELF_LOGFILE_HEADER_DIRTY if dirty else 0
    ring[0:HEADER_SIZE] = _header(start, w, next_number, oldest, max_size, hflags, retention)
    return EvtLayout(data=bytes(ring), offsets={x[0]: x[1] for x in live},
                     lengths={x[0]: x[2] for x in live}, overwritten=overwritten,
                     start=start, end=w, wrapped=bool(wrapped or overwritten))


def build_evt(records: Iterable[EvtRecord], **kw) -> bytes:
    """The bytes of an ``.evt`` file holding ``records`` (see :func:`build_evt_layout`)."""
    return build_evt_layout(records, **kw).data


def write_evt(path: str | Path, records: Iterable[EvtRecord], **kw) -> Path:
    """Write an ``.evt`` file (name it SysEvent.Evt / SecEvent.Evt / AppEvent.Evt so readers
    can tell the log) and return its path."""
    p = Path(path)
    p.write_bytes(build_evt(records, **kw))
    return p


__all__ = ["EvtRecord", "EvtLayout", "build_evt", "build_evt_layout", "write_evt",
           "encode_record", "termdd_binary", "sid_to_bytes", "EVENTLOG_ERROR_TYPE",
           "EVENTLOG_WARNING_TYPE", "EVENTLOG_INFORMATION_TYPE", "EVENTLOG_AUDIT_SUCCESS",
           "EVENTLOG_AUDIT_FAILURE", "ELF_LOGFILE_HEADER_DIRTY", "ELF_LOGFILE_HEADER_WRAP"]
