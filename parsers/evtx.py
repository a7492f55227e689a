"""Windows event logs (.evtx, Vista/2008 and later) → timeline rows.

Input: a binary ``.evtx`` file (``ElfFile\\0`` header, 64 KiB ``ElfChnk\\0`` chunks of BinXML
records), possibly dirty, truncated or recovered from a shadow copy.

Two backends behind :func:`parse`, chosen by ``ParseOptions.evtx_backend``:

``rust`` (default when the ``evtx`` package is installed)
    ``evtx.PyEvtxParser`` yields each record as JSON, decoded with orjson. The Rust iterator
    raises on a bad record; we keep iterating (each error becomes a warning) instead of
    losing the rest of the file. Afterwards our own chunk walk (below) lists every record
    header physically present. The Rust reader gives up a chunk at a record header it
    cannot read; such chunks are given to it again, patched to go on where the walk found
    the next record (:func:`_rust_repair`). What it still did not yield is decoded by the
    Python decoder ("fill-in"), so the Rust backend never recovers fewer records than
    either library alone (on the corpus it recovers more: records in truncated last chunks,
    in chunks with a damaged header, and partly overwritten records).
``python`` (python-evtx; not installed on Windows, see pyproject.toml)
    Our chunk walk finds every chunk by its ``ElfChnk`` magic (never trusting the file
    header's chunk count), walks record headers (resynchronising after a damaged record),
    and reads each record's template substitution array directly with ``struct``. Template
    definitions (element names, which substitution goes where) are compiled once per
    template per chunk by a small BinXML token reader here (template-less records too);
    python-evtx's node parser is the fallback when that reader fails, so every record
    python-evtx can decode is decoded. No XML is rendered. The same reader does the Rust
    backend's fill-in, so that works without python-evtx (Windows) too.

Relevance (``ParseOptions.relevance``): decided before a record is decoded — from the Rust
JSON text with three ``str.find``s, or from the template's provider literal and event-id
substitution — and dropped records are counted per ``provider/id`` in ``stats["dropped"]``.
``ParseOptions.workers > 1`` parses groups of ≤ 16 MiB of chunks in a process pool.
Memory: column lists become Arrow/numpy arrays every 8 k records, and the file's mapped
pages are released after each chunk.

Both backends give the same rows for an undamaged file (``tests/test_evtx.py`` checks every
corpus file column by column); values are normalised to the Rust reader's rendering
(ints as numbers, GUID ``XXXXXXXX-...`` upper case, FILETIMEs ``...Z`` ISO strings, binary
upper-case hex) except ``Binary`` (TermDD & co.), stored lower-case hex.

Output columns (see ``parsers.base``): ``time`` = System/TimeCreated/@SystemTime (µs, UTC;
a zero FILETIME gives 1601-01-01 and ``"_time_zero": true`` in ``data``), ``host`` =
Computer as written, ``record_id`` = the record header's number, ``provider``, ``channel``,
``event_id`` (low 16 bits; ``Qualifiers`` in data), ``level``, ``sid`` (System/Security/
@UserID, else the event's TargetUserSid/UserSid), ``pid`` (Execution/@ProcessID),
``user``/``ip``/``port``/``session_id`` from :func:`parsers.eventcommon.event_columns`,
``message`` from :func:`parsers.eventcommon.data_message`, ``event_type`` left empty
(``analyzer.timeline`` fills it), ``data`` = compact JSON of EventData named fields,
unnamed ``<Data>`` as ``param1..N``, UserData leaves (flattened by element name),
``Binary`` (hex), ``ntstatus`` (TermDD), ``Qualifiers``, ``EventSourceName``,
``ActivityID``, ``EventRecordID`` (only when it differs from the header's).

Example::

    >>> res = parse(Path("System.evtx"))                      # doctest: +SKIP
    >>> res.frame[["time", "provider", "event_id", "message"]].head(1)   # doctest: +SKIP
    time                              provider  event_id  message
    2018-07-06 18:37:44.881628+00:00  Microsoft-Windows-Kernel-General  12  Microsoft-...

``stats``: ``records``, ``records_expected`` (record headers found by the chunk walk, or
what the chunk headers announce when larger), ``chunks``, ``chunks_bad`` (64 KiB slots, or
the file's last bytes, holding no chunk and not all zero, each also a warning), ``skipped``
(``{"offset", "length", "reason"}``), ``record_id_gaps`` (``[first_missing, last_missing]``
ranges, at most 100), ``record_id_gap_count``, ``duplicates``, ``dropped`` (relevance filter,
``{"provider/id": n}``), ``backend``, ``rust_errors`` (the Rust reader's errors in its
first pass), ``filled_in`` (rows of records that first pass did not yield: read by its
second look or by our reader).
"""
from __future__ import annotations

import codecs
import io
import mmap
import os
import re
import shutil
import struct
import tempfile
import time as _time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from .base import (INT_RANGE, TIMELINE_DTYPES, BudgetExceeded, NotMyFormat,
                   ParseOptions, as_done, process_pool,
                   ParseResult, ParserError, ParserInfo, ParseWarning, Relevance, allowed_value,
                   empty_frame)
from .eventcommon import data_message, event_columns, ntstatus_from_binary

INFO = ParserInfo(name="evtx", kind="evtx",
                  description="Windows event log (.evtx), Rust evtx or python-evtx backend",
                  sniffs="ElfFile\\0 file header (or a bare ElfChnk\\0 chunk)")

FILE_MAGIC = b"ElfFile\x00"
CHUNK_MAGIC = b"ElfChnk\x00"
_MAGIC7 = CHUNK_MAGIC[:7]
RECORD_MAGIC = b"**\x00\x00"
HEADER_SIZE = 0x1000
CHUNK_SIZE = 0x10000
_RECORDS_START = 0x200


def sniff(head: bytes, name: str = "") -> bool:
    return head[:8] == FILE_MAGIC or head[:8] == CHUNK_MAGIC or _header_damaged(head, name)


def _header_damaged(head: bytes, name: str) -> bool:
    """A ``.evtx`` whose file header is damaged (magic overwritten, header zeroed) but
    whose chunks are there: a chunk magic, with its header size 0x80, at 0x1000 or
    elsewhere in ``head`` (as parsers.evt accepts a .evt with a damaged header; review
    rvC: such a log was listed as "not recognised", every record silently gone)."""
    if not name.lower().endswith(".evtx"):
        return False
    i = head.find(CHUNK_MAGIC)
    while i != -1:
        if i + 44 <= len(head) and _U32.unpack_from(head, i + 40)[0] == 0x80:
            return True
        i = head.find(CHUNK_MAGIC, i + 8)
    return False


# =========================================================================== backends


class BackendMissing(ParserError):
    """The requested evtx backend is not installed."""


def rust_available() -> bool:
    try:
        import evtx  # noqa: F401
    except ImportError:
        return False
    return True


def python_available() -> bool:
    try:
        import Evtx.Evtx  # noqa: F401
    except ImportError:
        return False
    return True


def choose_backend(requested: str | None) -> str:
    """``auto`` → rust when installed, else python; a missing explicit choice is an error."""
    req = (requested or "auto").lower()
    if req not in ("auto", "rust", "python"):
        raise ParserError(f"unknown evtx backend {requested!r} (use auto, rust or python)")
    if req in ("auto", "rust") and rust_available():
        return "rust"
    if req == "rust":
        raise BackendMissing("evtx backend 'rust' requested but the 'evtx' package is not "
                             "installed (pip install evtx), or use --evtx-backend python")
    if python_available():
        return "python"
    if req == "python":
        raise BackendMissing(
            "evtx backend 'python' requested but python-evtx is not installed (it is not "
            "installed on Windows, where its 'Evtx' package collides with the Rust 'evtx' "
            "package on case-insensitive file systems); use --evtx-backend rust")
    raise BackendMissing("no evtx backend installed: pip install evtx (or python-evtx)")


# =========================================================================== row building


class _Rec:
    """One decoded record, backend-neutral (what both backends reduce a record to).

    ``time`` is the SystemTime as the Rust reader renders it (ISO text)."""

    __slots__ = ("record_id", "provider", "source_name", "event_id", "qualifiers", "level",
                 "time", "erid", "activity", "pid", "channel", "computer", "userid",
                 "fields", "binary")

    def __init__(self, record_id: int):
        self.record_id = record_id
        self.provider = self.source_name = self.event_id = self.qualifiers = None
        self.level = self.time = self.erid = self.activity = self.pid = None
        self.channel = self.computer = self.userid = self.binary = None
        self.fields: dict = {}


def _int(v: Any) -> int | None:
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    try:
        s = str(v).strip()
        return int(s, 16) if s[:2].lower() == "0x" else int(s)
    except (TypeError, ValueError):
        return None


_STR_COLS = ("host", "provider", "channel", "user", "sid", "ip", "message", "data")
_INT_COLS = {"record_id": "Int64", "event_id": "Int32", "level": "Int8", "session_id": "Int64",
             "pid": "Int64", "port": "Int32"}
_INT_NP = {"Int64": "int64", "Int32": "int32", "Int8": "int8"}


class _Columns:
    """Column lists filled record by record (no row dicts); every ``BATCH`` records they
    are converted to Arrow strings / numpy arrays, so memory follows the compact result,
    not Python objects."""

    NAMES = ("time", "host", "record_id", "provider", "channel", "event_id", "level", "user",
             "sid", "session_id", "pid", "ip", "port", "message", "data")
    BATCH = 1 << 13
    #: what ``_fastrow.convert`` makes of each column: int64 buffers, the time as int64 µs
    #: (from the Rust reader's ISO text or our reader's FILETIME ints), text buffers,
    #: nothing (the text columns' own buffers); a column it cannot take comes as a list
    _KINDS = "".join("t" if n == "time" else "i" if n in _INT_COLS else "s" for n in NAMES)
    _KINDS_TEXT = _KINDS[:-2] + "--"

    def __init__(self) -> None:
        self.pending: list[tuple] = []       # one tuple per record, in NAMES order
        self.duplicates = 0
        self.notes: list[tuple[str, str]] = []   # (locator, message): rows cut to size
        self._done: dict[str, list] = {n: [] for n in self.NAMES}
        self._rows = 0
        #: with the C row builder: the message and data columns being filled, as UTF-8
        #: (the rows in ``pending`` then hold None there)
        self.text = (_FAST.TextColumn(), _FAST.TextColumn()) if _FAST is not None else None
        self.file: tuple[str, int] | None = None      # see to_file()

    def __getstate__(self) -> dict:          # (a worker's result: converted batches only)
        self._flush()
        return {**self.__dict__, "text": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.text = (_FAST.TextColumn(), _FAST.TextColumn()) if _FAST is not None else None

    def __len__(self) -> int:
        return self._rows + len(self.pending)

    def _flush(self) -> None:
        if not self.pending:
            return
        text = self.text
        if text is not None and not len(text[0]) == len(text[1]) == len(self.pending):
            raise RuntimeError(f"evtx row builder out of step: {len(self.pending)} rows, "
                               f"{len(text[0])}/{len(text[1])} texts")
        rows = len(self.pending)
        if _FAST is not None:       # (C: int and text columns straight to buffers)
            columns = _FAST.convert(self.pending, self._KINDS if text is None else
                                    self._KINDS_TEXT)
        else:
            columns = _transpose(self.pending, len(self.NAMES))
        self.pending.clear()        # (in place: the Rust pass holds the list)
        for n, vals in zip(self.NAMES, columns):
            if n == "time":
                arr = np.frombuffer(vals, dtype="datetime64[us]") if type(vals) is bytes \
                    else _times(vals)
            elif n in _INT_COLS:
                arr = _ints_of(vals, _INT_COLS[n]) if type(vals) is tuple \
                    else _ints(vals, _INT_COLS[n])
            elif text is not None and n in ("message", "data"):
                arr = _text_array(text[n == "data"].take())
            else:
                arr = _text_array(vals) if type(vals) is tuple else _pa_strings(vals)
            self._done[n].append(arr)
        self._rows += rows

    def row(self, t, host, rid: int, provider, channel, eid: int | None, level, pid, userid,
            fields: dict, extra: dict | None) -> None:
        """Append one normalised record; both backends end here, so they cannot differ.
        ``fields``: the named event fields without empty values; ``extra``: what the
        record's System part adds to ``data`` (Qualifiers, ActivityID, ...)."""
        if fields:
            data = _dumps(fields).decode()
            if len(data) > VALUE_CAP:            # rare: a long value, or a rendering bomb
                fields, data = self._capped(rid, fields, data)
            msg = data_message(provider, eid, data)
            if extra:
                if extra.keys().isdisjoint(fields):     # the same text as dumps({**f, **e})
                    data = f"{data[:-1]},{_dumps(extra).decode()[1:]}"
                else:
                    d = dict(fields)
                    d.update(extra)
                    data = _dumps(d).decode()
            cols = event_columns(provider, eid, fields)
            if cols:
                g = cols.get
                user, ip, port, session = g("user"), g("ip"), g("port"), g("session_id")
                sid = g("sid") if userid is None else userid
            else:
                user = ip = port = session = None
                sid = userid
        else:
            user = ip = port = session = None
            sid = userid
            msg = f"{provider or '?'} {eid if eid is not None else '?'}"
            data = _dumps(extra).decode() if extra else None
        text = self.text
        if text is not None:        # (C: the two long texts go straight to Arrow buffers)
            _FAST.append_text(text[0], text[1], msg, data)
            msg = data = None
        pending = self.pending
        pending.append((t, host, rid, provider, channel, eid, level, user, sid, session, pid,
                        ip, port, msg, data))
        if len(pending) >= self.BATCH:
            self._flush()

    def _capped(self, rid: int, fields: dict, data: str) -> tuple[dict, str]:
        """``fields`` with each value cut at :data:`VALUE_CAP` characters and the fields
        after :data:`DATA_CAP` left out, ``"_truncated": true`` and a note when anything
        was cut (review rvC: one record rendered to 98 MB)."""
        out: dict = {}
        total = 0
        cut = False
        for k, v in fields.items():
            if total > DATA_CAP:
                cut = True
                break
            if type(v) is str and len(v) > VALUE_CAP:
                v, cut = v[:VALUE_CAP], True
            elif type(v) is list:
                keep, room = [], VALUE_CAP
                for x in v:
                    n = len(x) if type(x) is str else 8
                    if n > room:
                        cut = True
                        break
                    keep.append(x)
                    room -= n
                v = keep
            out[k] = v
            total += len(k) + (len(v) if type(v) in (str, list) else 8)
        if not cut:
            return fields, data
        out["_truncated"] = True
        self.notes.append((f"record {rid}", f"record {rid}: rendered data of {len(data)} "
                           f"characters cut (values at {VALUE_CAP}, the record at about "
                           f"{DATA_CAP} characters)"))
        return out, _dumps(out).decode()

    def add(self, r: _Rec) -> None:
        """Normalise one backend-neutral record (the general path: any record shape)."""
        eid = r.event_id
        if type(eid) is not int:
            eid = _int(eid)
        extra: dict[str, Any] | None = None
        if eid is not None and eid > 0xFFFF:
            extra = {"Qualifiers": eid >> 16}
            eid &= 0xFFFF
        provider = r.provider
        if r.qualifiers is not None or r.source_name is not None or r.activity is not None \
                or r.binary is not None or r.erid != r.record_id:
            extra = self._extra(r, provider, extra)
        t = r.time
        if type(t) is str and t.startswith("1601-01-01T00:00:00"):
            extra = extra or {}
            extra["_time_zero"] = True
        lv = r.level
        pid = r.pid
        self.row(t, r.computer, r.record_id, provider, r.channel, eid,
                 lv if type(lv) is int else _int(lv), pid if type(pid) is int else _int(pid),
                 r.userid, r.fields, extra)

    @staticmethod
    def _extra(r: _Rec, provider, extra: dict | None) -> dict:
        extra = extra or {}
        q = _int(r.qualifiers)
        if q is not None:
            extra["Qualifiers"] = q
        if r.source_name is not None:
            extra["EventSourceName"] = r.source_name
        if r.activity is not None:
            extra["ActivityID"] = r.activity
        erid = _int(r.erid)
        if erid is not None and erid != r.record_id:
            extra["EventRecordID"] = erid
        binary = r.binary
        if binary is not None:
            binary = str(binary).lower()
            if len(binary) > VALUE_CAP:
                binary = binary[:VALUE_CAP]
                extra["_truncated"] = True
            extra["Binary"] = binary
            if provider is not None and provider.lower() == "termdd":
                try:
                    extra["ntstatus"] = ntstatus_from_binary(bytes.fromhex(binary))
                except ValueError:
                    pass
        return extra

    def to_file(self, folder: str) -> bool:
        """A worker's converted batches written to an Arrow IPC stream in ``folder`` (the
        parent's private directory in /dev/shm) instead of being pickled back: the parent
        maps the file and its arrays use those pages (no copy through the pipe, no second
        copy when unpickling). False (nothing changed): no room, or any error."""
        import pyarrow as pa
        self._flush()
        nb = len(self._done["time"])
        if not nb:
            return False
        batches = []
        for b in range(nb):
            arrays, names = [], []
            for n in self.NAMES:
                x = self._done[n][b]
                if n == "time":
                    arrays.append(pa.array(x.view("int64")))
                elif n in _INT_COLS:
                    arrays += [pa.array(x[0]), pa.array(x[1].view(np.uint8))]
                    names.append(n)
                    n = f"{n}#null"
                else:
                    arrays.append(x)
                names.append(n)
            batches.append(pa.RecordBatch.from_arrays(arrays, names=names))
        need = sum(b.nbytes for b in batches)
        path = None
        try:
            st = os.statvfs(folder)
            if st.f_bavail * st.f_frsize < 2 * need + (64 << 20):
                return False
            fd, path = tempfile.mkstemp(dir=folder, suffix=".arrow")
            with os.fdopen(fd, "wb") as fh:
                with pa.ipc.new_stream(fh, batches[0].schema) as w:
                    for b in batches:
                        w.write_batch(b)
        except Exception:                      # noqa: BLE001 - the pipe still works
            if path:
                try:
                    os.unlink(path)
                except OSError:
                    pass
            return False
        self._done = {n: [] for n in self.NAMES}
        self.file = (path, self._rows)
        self._rows = 0
        return True

    def from_file(self) -> None:
        """The batches :meth:`to_file` wrote, mapped (the file is unlinked at once: the
        mapping keeps its pages as long as the timeline uses them)."""
        import pyarrow as pa
        path, rows = self.file
        with open(path, "rb") as fh:
            mm = mmap.mmap(fh.fileno(), 0, prot=mmap.PROT_READ,
                           flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0))
        os.unlink(path)
        for b in pa.ipc.open_stream(pa.py_buffer(mm)):
            for n in self.NAMES:
                if n == "time":
                    self._done[n].append(b.column(n).to_numpy().view("datetime64[us]"))
                elif n in _INT_COLS:
                    self._done[n].append((b.column(n).to_numpy(),
                                          b.column(f"{n}#null").to_numpy().view(bool)))
                else:
                    self._done[n].append(b.column(n))
        self._rows += rows
        self.file = None

    @classmethod
    def merge(cls, parts: list["_Columns"]) -> "_Columns":
        """The parts' converted batches, in order, as one (no DataFrame per part and no
        concatenation copy: the frame's string columns stay chunked)."""
        if len(parts) == 1:
            return parts[0]
        out = cls()
        for p in parts:
            p._flush()
            for n in cls.NAMES:
                out._done[n].extend(p._done[n])
                p._done[n] = []
            out._rows += p._rows
            out.duplicates += p.duplicates
            out.notes.extend(p.notes)
        return out

    def frame(self) -> pd.DataFrame:
        import pyarrow as pa
        import pyarrow.compute as pc
        self._flush()
        n = self._rows
        if n == 0:
            return empty_frame()
        data: dict[str, Any] = {}
        # the rows in record-id order (a null id counts as 0), stably: the fill-in's
        # records come after the Rust reader's. Taken here, column by column (~0.3 ms
        # for a 2,000-row log), not by DataFrame.take afterwards (~1.5 ms)
        rv = np.concatenate([v for v, _ in self._done["record_id"]])
        rm = np.concatenate([m for _, m in self._done["record_id"]])
        ids = np.where(rm, 0, rv).astype(np.int64, copy=False)
        order = None
        if n > 1 and not (ids[1:] > ids[:-1]).all():
            order = np.argsort(ids, kind="stable")
            if not (np.diff(order) != 1).any():
                order = None
        self.ids = ids if order is None else ids[order]
        for c in self.NAMES:
            parts = self._done[c]
            if c == "time":
                # (naive µs read as UTC: a DatetimeIndex does it in ~10 µs, a Series' .dt
                # took ~70 µs a file)
                t = np.concatenate(parts)
                data[c] = pd.DatetimeIndex(t if order is None else t[order], tz="UTC").array
            elif c in _INT_COLS:
                if c == "record_id":
                    v, m = rv, rm
                else:
                    v = np.concatenate([v for v, _ in parts])
                    m = np.concatenate([m for _, m in parts])
                data[c] = pd.arrays.IntegerArray(v, m) if order is None \
                    else pd.arrays.IntegerArray(v[order], m[order])
            else:
                arr = pa.chunked_array(parts, pa.large_string())
                if order is not None:
                    arr = arr.take(order)
                data[c] = pd.arrays.ArrowStringArray(arr)
                if c == "host":
                    self.hosts = arr
            self._done[c] = []
        if n < 512:         # (Arrow's kernels cost ~50 µs whatever the size)
            loc = pa.array([f"record {i}" for i in self.ids.tolist()], pa.large_string())
        else:
            loc = pc.binary_join_element_wise(pa.scalar("record ", pa.large_string()),
                                              pa.array(self.ids).cast(pa.large_string()),
                                              pa.scalar("", pa.large_string()))
        data["locator"] = pd.arrays.ArrowStringArray(loc)
        data["source"] = pd.arrays.ArrowStringArray(pa.nulls(n, pa.large_string()))
        data["kind"] = pd.arrays.ArrowStringArray(pa.repeat(pa.scalar("evtx", pa.large_string()), n))
        data["event_type"] = pd.arrays.ArrowStringArray(pa.nulls(n, pa.large_string()))
        return _frame_of({c: data[c] for c in TIMELINE_DTYPES}, n)


def _frame_of(columns: dict, n: int) -> pd.DataFrame:
    """A frame over new arrays of ``n`` rows each, without the constructor's per-column
    checks (~60 of a small log's ~140 µs frame): ``DataFrame._from_arrays``, what pandas'
    own readers use. Should a pandas release drop or change it, the public constructor
    (tests/test_evtx.py compares the two)."""
    try:
        return pd.DataFrame._from_arrays(list(columns.values()), columns=pd.Index(list(columns)),
                                         index=pd.RangeIndex(n), verify_integrity=False)
    except (AttributeError, TypeError):
        return pd.DataFrame(columns, index=pd.RangeIndex(n), copy=False)


def _dumps(d: dict) -> bytes:
    try:
        return orjson.dumps(d)
    except TypeError:       # a huge int, a non-text key (a damaged Data Name): keep the row
        return orjson.dumps({(k if type(k) is str else str(k)): _jsonable(v)
                             for k, v in d.items()}, default=str)


def _jsonable(v: Any) -> Any:
    """``v`` with the ints orjson cannot write (beyond 64 bits) as text."""
    if type(v) is int and not -(1 << 63) <= v < 1 << 64:
        return str(v)
    if type(v) is list:
        return [_jsonable(x) for x in v]
    return v


def _pool():
    """The timeline's string buffers come from the C allocator: the default (mimalloc) pool
    kept ~100 MB more resident while a million rows were converted batch by batch."""
    import pyarrow as pa
    return pa.system_memory_pool()


def _text_array(taken: tuple):
    """Text rows as ``_fastrow`` hands them over (``TextColumn.take()``, ``convert``) → an
    Arrow large_string array over those buffers (no copy)."""
    import pyarrow as pa
    n, nulls, valid, offsets, data = taken
    return pa.Array.from_buffers(pa.large_string(), n,
                                 [None if valid is None else pa.py_buffer(valid),
                                  pa.py_buffer(offsets), pa.py_buffer(data)], null_count=nulls)


def _ints_of(buffers: tuple, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_ints` of a column ``_fastrow.convert`` made: (int64 values, null mask) bytes."""
    v = np.frombuffer(buffers[0], dtype=np.int64)
    mask = np.frombuffer(buffers[1], dtype=bool)
    if dtype != "Int64":
        lo, hi = INT_RANGE[dtype]
        bad = (v < lo) | (v > hi)
        if bad.any():
            mask = mask | bad
            v = np.where(bad, 0, v)
    return v.astype(_INT_NP[dtype]), mask


def _pa_strings(values: list):
    """Arrow strings with 64-bit offsets: what pandas' string dtype holds (it casts 32-bit
    ones, copying every column of a million rows once more: ≈ 0.3 s in the parent)."""
    import pyarrow as pa
    try:
        return pa.array(values, pa.large_string(), memory_pool=_pool())
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return pa.array(_strs(values), pa.large_string(), memory_pool=_pool())


def _ints(values: list, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """Python ints / None → (numpy values, null mask); out-of-range or odd values → null."""
    import pyarrow as pa
    lo, hi = INT_RANGE[dtype]
    try:
        arr = pa.array(values, pa.int64())
        v = arr.fill_null(0).to_numpy()
        mask = arr.is_null().to_numpy(zero_copy_only=False)
        if dtype != "Int64":
            bad = (v < lo) | (v > hi)
            if bad.any():
                mask = mask | bad
                v = np.where(bad, 0, v)
        return v.astype(_INT_NP[dtype]), mask
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        mask = np.fromiter((type(v) is not int or not lo <= v <= hi for v in values), bool,
                           len(values))
        return (np.fromiter((0 if m else v for v, m in zip(values, mask)), _INT_NP[dtype],
                            len(values)), mask)


def _strs(values: list) -> list:
    if all(v is None or type(v) is str for v in values):
        return values
    return [None if v is None else str(v) for v in values]


_FT_UNIX_US = 11644473600 * 1_000_000


def _times(values: list) -> np.ndarray:
    """ISO strings (Rust) / FILETIME ints (python) / None → datetime64[us] (UTC)."""
    import pyarrow as pa
    if values and type(values[0]) is str:     # the Rust reader's ``...:SS.ffffffZ``
        try:
            iv = pa.array(values, pa.string()).cast(pa.timestamp("us", "UTC")).cast(pa.int64())
            if iv.null_count:
                iv = iv.fill_null(np.iinfo(np.int64).min)        # NaT
            return iv.to_numpy().view("datetime64[us]")
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
            pass
    out = np.empty(len(values), dtype="datetime64[us]")
    strs: list[int] = []
    for i, v in enumerate(values):
        if type(v) is int:
            out[i] = np.datetime64(v // 10 - _FT_UNIX_US, "us") if 0 <= v < 1 << 63 \
                else np.datetime64("NaT")
        elif v is None:
            out[i] = np.datetime64("NaT")
        else:
            strs.append(i)
    if strs:
        raw = [_iso_us(values[i]) for i in strs]
        try:
            out[strs] = np.array(raw, dtype="datetime64[us]")
        except ValueError:
            for i, s in zip(strs, raw):
                try:
                    out[i] = np.datetime64(s, "us")
                except ValueError:
                    out[i] = np.datetime64("NaT")
    return out


def _iso_us(s: Any) -> str:
    """``2021-12-16T10:25:32.351835800Z`` → ``2021-12-16T10:25:32.351835`` (numpy-parsable)."""
    s = str(s).strip()
    if s.endswith("Z"):
        s = s[:-1]
    dot = s.find(".")
    if dot != -1 and len(s) - dot > 7:
        s = s[: dot + 7]
    return s.replace(" ", "T", 1) if len(s) > 10 and s[10] == " " else s


# =========================================================================== relevance


def _dropped_key(provider: Any, eid: int | None) -> str:
    return f"{provider or '?'}/{eid if eid is not None else '?'}"


def _json_probe(s: str) -> tuple[str | None, str | None, int | None] | None:
    """Provider, channel and event id read from a Rust JSON record *without* decoding it.

    Returns None when the record does not have the usual shape (then it is decoded)."""
    i = s.find('"Provider":{"#attributes":{"Name":"')
    if i == -1:
        return None
    i += 35
    j = s.find('"', i)
    provider = s[i:j]
    if "\\" in provider:
        return None
    k = s.find('"EventID":', j)
    if k == -1:
        return None
    k += 10
    c = s[k]
    if c == "{":
        k = s.find('"#text":', k)
        if k == -1:
            return None
        k += 8
        c = s[k]
    if c == '"':
        k += 1
    e = k
    while s[e].isdecimal():
        e += 1
    if e == k:
        return None
    eid = int(s[k:e]) & 0xFFFF
    m = s.find('"Channel":', e)
    channel = None
    if m != -1 and s[m + 10] == '"':
        m += 11
        channel = s[m:s.find('"', m)]
    return provider, channel, eid


class _Gate:
    """The relevance decision for a Rust JSON record, before decoding it: the record's text
    up to its EventID (provider attributes + id) is looked up in a per-file cache, so the
    full probe runs once per distinct head; the channel is read only when the provider
    table does not decide, a value rule (4624 LogonType) only for its events.

    Most records of a log share the text before their id (one provider): while they do,
    a prefix compare and the id's digits replace the head lookup (the gate costs about as
    much as the Rust reader's own work per record, so every find counts).

    ``gate(s)``: 1 keep, 0 dropped (counted in ``part.dropped``), -1 unusual text (decode,
    then decide)."""

    MAX = 4096

    def __init__(self, rel: Relevance, part: "_Part") -> None:
        self.rel, self.dropped = rel, part.dropped
        self.heads: dict[str, tuple] = {}
        self.chans: dict[tuple, tuple] = {}
        self.prefix: str | None = None     # text up to and including '"EventID":'
        self.ids: dict[str, tuple] = {}    # id digits → decision, for that prefix
        self.by_prefix: dict[str, dict[str, tuple]] = {}
        self.memo: dict[str, tuple[str, tuple]] = {}    # dropped key → last channel seen

    def _rule(self, provider, eid) -> tuple[str, frozenset[str]] | None:
        """The event's value rule as (text needle for :func:`_json_value`, allowed values)."""
        r = self.rel.value_rule(provider, eid)
        return None if r is None else (f'{r[0]}":', r[1])

    def _head(self, s: str) -> tuple[tuple, int] | None:
        k = s.find('"EventID":')
        if k == -1:
            return None
        if s[k + 10:k + 11] == "{":
            e = s.find('"#text":', k)
            e = s.find("}", e) if e != -1 else -1
        else:
            e = s.find(',"', k + 10)
        if e == -1:
            return None
        head = s[:e]
        d = self.heads.get(head)
        if d is None:
            probe = _json_probe(s)
            if probe is None:
                return None
            provider, _, eid = probe
            kept = self.rel.keep(provider, None, eid)
            d = (provider, eid, self._rule(provider, eid) if kept else None, kept,
                 _dropped_key(provider, eid))
            if len(self.heads) < self.MAX:
                self.heads[head] = d
        digits = s[k + 10:e]
        if digits.isdecimal() and len(self.ids) < self.MAX:
            prefix = s[:k + 10]
            if prefix != self.prefix:
                self.ids = self.by_prefix.setdefault(prefix, {}) \
                    if len(self.by_prefix) < self.MAX else {}
                self.prefix = prefix
            self.ids[digits] = d
        return d, e

    def __call__(self, s: str) -> int:
        p = self.prefix
        d = None
        if p is not None and s.startswith(p):
            n = len(p)
            e = s.find(",", n, n + 12)
            if e != -1:
                d = self.ids.get(s[n:e])
        if d is None:
            he = self._head(s)
            if he is None:
                return -1
            d, e = he
        provider, eid, rule, kept, key = d
        if not kept:                                 # the channel table decides
            # (needles that start with a rare letter: str.find skips ahead on it)
            m = s.find('Channel":', e)
            memo = self.memo.get(key)
            if memo is not None and m > 0 and s[m - 1] == '"' and s.startswith(memo[0], m):
                c = memo[1]                          # the same channel as last time
            else:
                channel = s[m + 10:s.find('"', m + 10)] \
                    if m > 0 and s[m - 1] == '"' and s[m + 9:m + 10] == '"' else None
                c = self.chans.get((provider, eid, channel))
                if c is None:
                    ok = self.rel.keep(provider, channel, eid)
                    c = (ok, self._rule(provider, eid) if ok else None)
                    if len(self.chans) < self.MAX:
                        self.chans[(provider, eid, channel)] = c
                if channel is not None and "\\" not in channel:
                    self.memo[key] = (f'Channel":"{channel}"', c)
            if not c[0]:
                self.dropped[key] += 1
                return 0
            rule = c[1]
        if rule is not None:
            v = _json_value(s, rule[0], e)
            if v is _ODD:
                return -1
            if v is not None and not allowed_value(rule[1], v):
                self.dropped[key] += 1
                return 0
        return 1


# =========================================================================== Rust JSON → _Rec


def _attrs(v: Any) -> dict:
    if type(v) is dict:
        a = v.get("#attributes")
        if type(a) is dict:
            return a
    return {}


def _text(v: Any) -> Any:
    if type(v) is dict:
        return v.get("#text")
    return v


def _flatten(prefix: str, v: Any, out: dict) -> None:
    """UserData / nested EventData element → flat ``name: value`` pairs (leaf names)."""
    if type(v) is dict:
        for k, x in v.items():
            if k == "#attributes":
                for a, av in x.items():
                    if a != "xmlns" and av is not None and av != "":
                        out[f"{prefix}.{a}" if prefix else a] = av
            elif k == "#text":
                if x is not None and x != "" and prefix:
                    out[prefix] = x
            else:
                _flatten(k, x, out)
    elif v is not None and v != "" and prefix:
        if prefix in out:
            prev = out[prefix]
            out[prefix] = (prev if type(prev) is list else [prev]) + [v]
        else:
            out[prefix] = v


def _event_data_json(ed: Any, rec: _Rec) -> None:
    fields = rec.fields
    if type(ed) is not dict:
        return
    for k, v in ed.items():
        if k == "Data":
            t = v if type(v) is list else _text(v)
            if type(t) is list:
                for i, x in enumerate(t, 1):
                    if x is not None and x != "":
                        fields[f"param{i}"] = x
            elif t is not None and t != "":
                fields["param1"] = t
        elif k == "Binary":
            if v:
                rec.binary = v
        elif k == "#attributes":
            continue
        elif type(v) is dict:
            _flatten(k, v, fields)
        elif v is not None and v != "":
            fields[k] = v


def _rec_from_json(rid: int, ev: dict) -> _Rec:
    ev = ev.get("Event", ev) if type(ev) is dict else None
    if type(ev) is not dict:    # e.g. ``{"Event": null}`` for a one-byte record body
        raise _DecodeError("the Rust reader rendered no event element")
    rec = _Rec(rid)
    sysd = ev.get("System")
    if type(sysd) is dict:
        g = sysd.get
        v = g("EventID")
        if type(v) is dict:
            rec.event_id = v.get("#text")
            rec.qualifiers = _attrs(v).get("Qualifiers")
        else:
            rec.event_id = v
        a = _attrs(g("Provider"))
        rec.provider = a.get("Name")
        rec.source_name = a.get("EventSourceName")
        v = g("TimeCreated")
        if type(v) is dict:
            rec.time = _attrs(v).get("SystemTime")
        v = g("Level")
        rec.level = v if type(v) is not dict else v.get("#text")
        v = g("EventRecordID")
        rec.erid = v if type(v) is not dict else v.get("#text")
        v = g("Execution")
        if type(v) is dict:
            rec.pid = _attrs(v).get("ProcessID")
        v = g("Channel")
        rec.channel = v if type(v) is not dict else v.get("#text")
        v = g("Computer")
        rec.computer = v if type(v) is not dict else v.get("#text")
        v = g("Security")
        if type(v) is dict:
            rec.userid = _attrs(v).get("UserID")
        v = g("Correlation")
        if type(v) is dict:
            rec.activity = _attrs(v).get("ActivityID")
    ed = ev.get("EventData")
    if type(ed) is dict:
        if "Data" in ed or "Binary" in ed or "#attributes" in ed:
            _event_data_json(ed, rec)
        else:                                   # named <Data> only: the common case
            f = {k: v for k, v in ed.items() if v is not None and v != ""}
            for v in f.values():
                if type(v) is dict:
                    _event_data_json(ed, rec)
                    break
            else:
                rec.fields = f
    ud = ev.get("UserData")
    if type(ud) is dict:
        for k, v in ud.items():
            if k != "#attributes":
                _flatten("", v, rec.fields)
    return rec


# =========================================================================== chunk walk


@dataclass
class _Chunk:
    offset: int
    first: int = 0          # log first record id (chunk header)
    last: int = 0
    free: int = 0           # free space offset


@dataclass
class _Walk:
    """What the chunk walk found: chunks, problems, record headers."""

    chunks: list[_Chunk] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)       # (offset, reason)
    announced: int = 0
    risky: set[int] = field(default_factory=set)     # see walk_chunks(screen=True)


_U32 = struct.Struct("<I")
_U16 = struct.Struct("<H")
_U64 = struct.Struct("<Q")
_REC_HDR = struct.Struct("<4sIQQ")
_CHUNK_HDR = struct.Struct("<8sQQQQIII")


_SCAN_WINDOW = 32 << 20


def _grid_start(buf) -> int:
    """Where the 64 KiB chunk grid starts: after the file header when there is one (or a
    chunk where the first one belongs), else at 0 (a carved file that starts with a chunk)."""
    return HEADER_SIZE if buf[:8] == FILE_MAGIC \
        or buf[HEADER_SIZE:HEADER_SIZE + 8] == CHUNK_MAGIC else 0


def walk_chunks(buf, size: int, lo: int = 0, hi: int | None = None,
                screen: bool = False) -> _Walk:
    """Every chunk of the file, found by its magic at 64 KiB steps after the file header
    (and anywhere else it appears), never by the header's chunk count. ``lo``/``hi``: only
    the chunks starting in that byte range (one worker's share of the file).

    The file is read window by window and each window's pages are released afterwards:
    touching one byte per 64 KiB slot maps whole neighbourhoods (fault-around), and a
    multi-GB log would otherwise land in our resident set.

    ``screen``: also find the chunks the Rust reader must not see (:func:`_risky_chunks`,
    in ``w.risky``), while each window's pages are mapped."""
    w = _Walk()
    found: set[int] = set()
    empty: set[int] = set()         # all-zero slots: no chunk can start in one
    heads: dict[int, tuple] = {}
    hi = size if hi is None else min(hi, size)
    start = _grid_start(buf)
    off = start if lo <= start else start + -(-(lo - start) // CHUNK_SIZE) * CHUNK_SIZE
    for ws in range(lo, hi, _SCAN_WINDOW):
        wend = min(ws + _SCAN_WINDOW, hi)
        new: list[int] = []
        while off < wend and off + _RECORDS_START <= size:
            got = _slot(w, buf, off, size)
            if got:
                found.add(off)
                new.append(off)
            elif got is None:
                empty.add(off)
            off += CHUNK_SIZE
        # magics outside the 64 KiB grid (carved/shifted data), starting before wend. The
        # rule is local — not inside a chunk *on the grid* (its slot is known already) — so
        # a worker reading only its share decides as the whole-file walk does; a carved
        # chunk inside another carved one is read too (its records are de-duplicated by id).
        # Only the slots that hold no chunk are searched: a healthy log has none, and the
        # search of every byte cost ~0.3 s per 584 MB. Nor the all-zero slots (never-used
        # space), which _slot compares whole anyway (a chunk's magic cannot start there).
        # (searched without its last byte: a NUL needle end makes the search skip ahead
        # poorly over UTF-16 text, "k" does not)
        for a, z in _unclaimed(found, start, ws, wend, empty):
            e = min(size, z + len(CHUNK_MAGIC) - 1) - 1
            pos = buf.find(_MAGIC7, a, e)
            while pos != -1:
                if buf[pos + 7] == 0 and (pos - start) % CHUNK_SIZE != 0 \
                        and pos + _RECORDS_START <= size \
                        and _U32.unpack_from(buf, pos + 40)[0] == 0x80:
                    new.append(pos)
                pos = buf.find(_MAGIC7, pos + 7, e)
        found.update(new)
        for c in new:
            heads[c] = _CHUNK_HDR.unpack_from(buf, c)
        if screen and new:
            w.risky |= _risky_chunks(buf, size, [(c, heads[c][7]) for c in new])
        _release(buf, ws, _SCAN_WINDOW + CHUNK_SIZE)
    if off < hi and buf[off:size] != _ZEROS[:size - off]:
        # the file ends less than a chunk header and its records' start after this slot:
        # bytes no reader reads, said as for a slot (by the share holding them)
        _bad_slot(w, buf, off, size)
    _add_chunks(w, heads, sorted(found))
    return w


def _unclaimed(found: set[int], start: int, ws: int, wend: int,
               empty: set[int] = frozenset()) -> list[tuple[int, int]]:
    """The ranges ``[a, z)`` of ``[ws, wend)`` outside every chunk found on the grid (the
    file header's bytes included) and every ``empty`` (all-zero) slot: where a chunk off the
    grid may start."""
    out: list[tuple[int, int]] = []
    if ws < start:
        out.append((ws, min(start, wend)))
    b = max(ws, start)
    b -= (b - start) % CHUNK_SIZE
    while b < wend:
        if b not in found and b not in empty:
            a, z = max(b, ws), min(b + CHUNK_SIZE, wend)
            if out and out[-1][1] == a:
                out[-1] = (out[-1][0], z)
            else:
                out.append((a, z))
        b += CHUNK_SIZE
    return out


def _add_chunks(w: _Walk, heads, offsets) -> None:
    """``heads``: offset → unpacked chunk header, or the buffer to read it from."""
    for off in offsets:
        h = heads[off] if type(heads) is dict else _CHUNK_HDR.unpack_from(heads, off)
        _, _ffirst, _flast, first, last, hsize, _lro, free = h
        w.chunks.append(_Chunk(off, first, last, free))
        if free > _RECORDS_START and first <= last and last - first < CHUNK_SIZE // 24:
            w.announced += last - first + 1


_ZEROS = bytes(CHUNK_SIZE)


def _slot(w: _Walk, buf, off: int, size: int) -> bool | None:
    """Is there a chunk at ``off``? True: yes; None: the slot is empty (all zero); False:
    neither, and the slot is recorded (see :func:`_bad_slot`).

    Empty is the whole slot zero (never-used space), not only its first 8 bytes: a chunk
    whose header was zeroed still holds records. The Rust reader (which skips all-zero
    chunks silently, evtx 0.14 on the corpus) says so in a whole-file parse, but a worker's Rust reader never sees the slot,
    so the walk says it, for the report not to depend on the worker count. Only a slot with
    no signature is compared whole: a healthy log's chunks cost nothing more."""
    head = buf[off:off + 8]
    if head == CHUNK_MAGIC:
        return True
    if head == b"\x00" * 8 and buf[off:off + CHUNK_SIZE] == _ZEROS[:size - off]:
        return None
    _bad_slot(w, buf, off, size)
    return False


def _bad_slot(w: _Walk, buf, off: int, size: int) -> None:
    """Record the slot at ``off`` (the file's last bytes when it is short), which holds no
    chunk and is not all zero, as unreadable — unless its non-zero bytes all belong to
    chunks off the grid (a log shifted by inserted bytes: every slot then starts inside a
    chunk the walk reads). Decided from the bytes alone (the chunks off the grid that
    overlap the slot, by the walk's own rule), so any worker decides as the whole-file walk
    does: a chunk starting in the slot before, in another worker's share, counts too."""
    end = min(off + CHUNK_SIZE, size)
    start = _grid_start(buf)
    p = off
    for c in _off_grid(buf, size, start, max(0, off - CHUNK_SIZE + 1), end):
        if c > p and buf[p:c] != _ZEROS[:c - p]:
            break
        p = max(p, c + CHUNK_SIZE)
        if p >= end:
            return
    else:
        if buf[p:end] == _ZEROS[:end - p]:
            return
    n = end - off
    head = bytes(buf[off:off + 8])
    what = "64 KiB" if n == CHUNK_SIZE else f"the file's last {n} bytes"
    # (a file cut inside the signature itself, "ElfC", is a chunk cut short as well)
    why = "a chunk cut short before its records" if head == CHUNK_MAGIC[:len(head)] \
        else f"no chunk signature (ElfChnk; found {head.hex()}) and not empty"
    w.bad.append((off, f"{what} at 0x{off:x}: {why}: the records there, if any, could "
                       "not be read"))


def _off_grid(buf, size: int, start: int, a: int, z: int) -> list[int]:
    """The chunks off the grid starting in ``[a, z)`` by :func:`walk_chunks`'s rule (a chunk
    header whose slot holds no chunk on the grid), in order."""
    out = []
    pos = buf.find(CHUNK_MAGIC, a, min(size, z + len(CHUNK_MAGIC) - 1))
    while pos != -1:
        s = pos - (pos - start) % CHUNK_SIZE
        if pos != s and pos + _RECORDS_START <= size \
                and _U32.unpack_from(buf, pos + 40)[0] == 0x80 \
                and (pos < start or buf[s:s + 8] != CHUNK_MAGIC or s + _RECORDS_START > size):
            out.append(pos)
        pos = buf.find(CHUNK_MAGIC, pos + 1, min(size, z + len(CHUNK_MAGIC) - 1))
    return out


def _next_record(buf, start: int, stop: int, cend: int) -> int:
    """Offset of the next intact record header (magic, size, size copy) in [start, stop)."""
    q = buf.find(RECORD_MAGIC, start, stop)
    while q != -1:
        if q + 24 <= cend:
            s2 = _U32.unpack_from(buf, q + 4)[0]
            if 28 <= s2 and q + s2 <= cend and _U32.unpack_from(buf, q + s2 - 4)[0] == s2:
                return q
        q = buf.find(RECORD_MAGIC, q + 4, stop)
    return -1


def _release(buf, offset: int, length: int) -> None:
    """Drop the pages of a processed region from this process's mapping: file pages we
    touched would otherwise count in our resident set until the end of the file."""
    if isinstance(buf, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        start = offset - offset % mmap.PAGESIZE
        try:
            buf.madvise(mmap.MADV_DONTNEED, start, min(length + offset - start, len(buf) - start))
        except (OSError, ValueError):
            pass


def chunk_records(buf, ch: _Chunk, size: int, problems: list[tuple[int, int, str]]):
    """Yield ``(offset, record_size, record_id)`` for each record header in a chunk,
    resynchronising on the next record magic after a damaged one."""
    cend = min(ch.offset + CHUNK_SIZE, size)
    limit = ch.offset + ch.free if _RECORDS_START < ch.free <= CHUNK_SIZE else cend
    limit = min(limit, cend)
    last = None
    end = limit
    for p, rsize, rid in _records_upto(buf, ch, ch.offset + _RECORDS_START, limit, cend,
                                       problems):
        last, end = rid, max(limit, p + rsize)
        yield p, rsize, rid
    if limit >= cend or (last is not None and last >= ch.last):
        return
    # the header's free-space offset ends the walk before the last record it announces:
    # intact records after it are read, and said (review rvC: 90 of 2261 records were
    # dropped silently by both readers after one damaged header field)
    q = _next_record(buf, end, cend, cend)
    if q == -1:
        return
    n = 0
    for p, rsize, rid in _records_upto(buf, ch, q, cend, cend, problems):
        if not ch.first <= rid <= ch.last:
            break
        n += 1
        yield p, rsize, rid
        if rid == ch.last:          # (slack after the real end is not walked)
            break
    if n:
        problems.append((limit, 0, f"free-space offset 0x{ch.free:x} is stale or damaged "
                         f"(the header announces records up to {ch.last}): {n} intact "
                         f"record(s) after it read"))


def _records_upto(buf, ch: _Chunk, p: int, limit: int, cend: int,
                  problems: list[tuple[int, int, str]]):
    """:func:`chunk_records`' walk from ``p`` while a record header starts before ``limit``."""
    while p + 24 <= limit:
        magic, rsize, rid, _ft = _REC_HDR.unpack_from(buf, p)
        if magic == RECORD_MAGIC and 28 <= rsize and p + rsize <= cend:
            if _U32.unpack_from(buf, p + rsize - 4)[0] == rsize:
                yield p, rsize, rid
                p += rsize
                continue
            # a partly overwritten record: decode what is there, but say so, and look for
            # an intact record starting inside its claimed extent
            problems.append((p, rsize, f"record {rid}: trailing size copy does not match "
                             "(record may be truncated)"))
            yield p, rsize, rid
            q = _next_record(buf, p + 8, min(p + rsize, limit), cend)
            p = q if q != -1 else p + rsize
            continue
        # damaged: look for the next plausible record header
        q = _next_record(buf, p + 4, limit, cend)
        if q == -1:
            if magic == RECORD_MAGIC or any(buf[p:min(limit, p + 64)]):
                problems.append((p, limit - p, "damaged record header (size/magic), rest of "
                                 "chunk skipped"))
            return
        problems.append((p, q - p, "damaged record header (size/magic), resynchronised"))
        p = q


# =========================================================================== python decoder

_FT_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)


def _ft_iso(ft: int) -> str:
    """FILETIME → the Rust reader's rendering (``2018-07-06T18:37:44.485817Z``)."""
    try:
        dt = _FT_EPOCH + timedelta(microseconds=ft // 10)
    except OverflowError:
        return str(ft)
    s = dt.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{s}.{dt.microsecond:06d}Z"


_utf16le = codecs.utf_16_le_decode


def _utf16_errors(e: UnicodeError) -> tuple[str, int]:
    """Invalid UTF-16 as the Rust reader renders it (evtx 0.14): a lone surrogate (one
    2-byte unit: a high one not followed by a low one, a low one alone) is left out, as if
    it were not there; an odd last byte (a value cut short) is U+FFFD. With U+FFFD for the
    surrogates too, the two backends gave different rows for the same record (corpus:
    ``plaso__System2.evtx`` record 216, ``E4 D9 4C 01`` → "Ō"), and which row the default
    backend gave depended on which reader got to the record; a newer Rust reader refuses
    such a record, and ours then reads it, so this keeps the row the same there too."""
    if not isinstance(e, UnicodeDecodeError):
        raise e
    return ("" if e.end - e.start == 2 else "\ufffd"), e.end


codecs.register_error("rdpdoctor.utf16", _utf16_errors)


def _u16(b) -> str:
    """UTF-16LE text as the Rust reader decodes it (:func:`_utf16_errors`), without the
    codec registry's lookup and Python-level wrapper of ``bytes.decode`` (~0.3 µs a call,
    ~55 k calls in a 3,561-record Security log; the same C decoder, ``final`` as
    ``bytes.decode`` sets it, without which an odd last byte would be dropped)."""
    return _utf16le(b, "rdpdoctor.utf16", True)[0]


def _guid(b: bytes) -> str:
    a, b2, c = struct.unpack_from("<IHH", b)
    rest = b[8:16].hex().upper()
    return f"{a:08X}-{b2:04X}-{c:04X}-{rest[:4]}-{rest[4:]}"


def _sid(b: bytes) -> str:
    rev, n = b[0], b[1]
    auth = int.from_bytes(b[2:8], "big")
    subs = struct.unpack_from("<%dI" % n, b, 8)
    return "S-%d-%d" % (rev, auth) + "".join("-%d" % s for s in subs)


def _systime(b: bytes) -> str:
    y, mo, _dow, d, h, mi, s, ms = struct.unpack_from("<8H", b)
    frac = f".{ms * 1000:06d}" if ms else ""
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{frac}Z"


_FIXED = {0x03: ("<b", 1), 0x04: ("<B", 1), 0x05: ("<h", 2), 0x06: ("<H", 2), 0x07: ("<i", 4),
          0x08: ("<I", 4), 0x09: ("<q", 8), 0x0a: ("<Q", 8), 0x0b: ("<f", 4), 0x0c: ("<d", 8)}


def _value(b: bytes, t: int) -> Any:
    """One substitution value, rendered as the Rust reader renders it."""
    if t == 0x01:
        return _u16(b).rstrip("\x00")
    if t in (0x08, 0x06, 0x04, 0x0a, 0x07, 0x05, 0x03, 0x09):
        fmt, n = _FIXED[t]
        return struct.unpack_from(fmt, b)[0] if len(b) >= n else None
    if t == 0x15 or t == 0x14:
        return "0x%x" % int.from_bytes(b, "little")
    if t == 0x00:
        return None
    if t == 0x13:
        return _sid(b)
    if t == 0x0e:
        return b.hex().upper()
    if t == 0x0f:
        return _guid(b)
    if t == 0x11:
        return _ft_iso(int.from_bytes(b[:8], "little"))
    if t == 0x0d:
        v = int.from_bytes(b[:4], "little", signed=True)
        return v if v not in (0, 1) else v == 1
    if t == 0x02:
        return b.decode("cp1252", "replace").rstrip("\x00")
    if t in (0x0b, 0x0c):
        return struct.unpack_from(_FIXED[t][0], b)[0]
    if t == 0x10:
        return "0x%x" % int.from_bytes(b, "little")
    if t == 0x12:
        return _systime(b)
    if t == 0x81:
        s = _u16(b)
        return [x for x in s.rstrip("\x00").split("\x00")]
    if t & 0x80:
        base = t & 0x7F
        if base in _FIXED:
            fmt, n = _FIXED[base]
            return [struct.unpack_from(fmt, b, i)[0] for i in range(0, len(b) - n + 1, n)]
        if base == 0x0f:
            return [_guid(b[i:i + 16]) for i in range(0, len(b) - 15, 16)]
        if base == 0x11:
            return [_ft_iso(int.from_bytes(b[i:i + 8], "little")) for i in range(0, len(b) - 7, 8)]
        if base in (0x14, 0x15):
            n = 4 if base == 0x14 else 8
            return ["0x%x" % int.from_bytes(b[i:i + n], "little")
                    for i in range(0, len(b) - n + 1, n)]
        return b.hex().upper()
    return b.hex().upper()


class _DecodeError(Exception):
    pass


class _OverBudget(_DecodeError):
    """A record over the reader's budget (python-evtx would expand it all the same)."""


class _TimedOut(Exception):
    """The time budget ran out inside an expensive record (our reader)."""


#: Budgets of one record in our reader (review rvC: a 1 KB record whose template references
#: a nested BinXML fragment k times, d deep, expands to k**d elements; one string referenced
#: thousands of times renders to 100 MB). Real records are at most 64 KiB of BinXML whose
#: substitutions are each used once: a few hundred elements, well under 1 MiB of text.
#: Beyond these the record is skipped with a warning (the rest of the file is read).
MAX_ELEMENTS = 10_000
MAX_RENDER_CHARS = 16 << 20
#: Rendered size caps of a row (both backends): a value is cut at VALUE_CAP characters, the
#: row's ``data`` at about DATA_CAP, with ``"_truncated": true`` and a warning. The longest
#: real values (a 32 767-character command line, a PowerShell script block split by Windows
#: at ~32 K characters) fit VALUE_CAP; a whole record (≤ 64 KiB of BinXML, rendered at most
#: ~3x as text or hex) fits DATA_CAP.
VALUE_CAP = 64 << 10
DATA_CAP = 1 << 20
#: A Rust JSON record longer than this is not decoded: our reader (budgeted) reads it.
RUST_JSON_CAP = 2 << 20


def _load_fast():
    """``parsers._fastrow``: the C build of ``_fast_row`` + ``_Columns.row`` for the common
    Rust record shape (None for anything else), with text columns filled as UTF-8. None:
    not built (no C compiler at install time) or ``RDPDOCTOR_PURE_PYTHON`` set. The rows
    are the same either way (tests/test_fastrow.py)."""
    if os.environ.get("RDPDOCTOR_PURE_PYTHON"):
        return None
    try:
        from . import _fastrow
    except ImportError:
        return None
    _fastrow.configure(data_message, event_columns, VALUE_CAP)
    return _fastrow


def _transpose(rows: list[tuple], n: int) -> list[list]:
    """The rows' values column by column (the pure-Python path; C: ``_fastrow.convert``)."""
    return [list(c) for c in zip(*rows)] if rows else [[] for _ in range(n)]


_FAST = _load_fast()


def _shape(tree: list) -> tuple[int, dict]:
    """(elements, {substitution index: references}) of a compiled tree."""
    nodes = 0
    refs: dict[int, int] = {}
    stack = list(tree)
    while stack:
        el = stack.pop()
        if len(el) != 3:
            if el[0] == "s":
                refs[el[1]] = refs.get(el[1], 0) + 1
            continue
        nodes += 1
        for _, src in el[1]:
            if src is not None and src[0] == "s":
                refs[src[1]] = refs.get(src[1], 0) + 1
        stack.extend(el[2])
    return nodes, refs


def _cost(shape: tuple[int, dict], subs: list) -> tuple[int, int]:
    """(elements, characters) a tree renders to with ``subs``, nested fragments expanded
    (each nested value carries its own cost), without rendering it."""
    nodes, refs = shape
    chars = 0
    n = len(subs)
    for i, k in refs.items():
        if i < n:
            v = subs[i]
            if type(v) is tuple:
                nodes += k * v[3][0]
                chars += k * v[3][1]
            elif v is not None:
                chars += k * (len(v) if type(v) in (str, list) else 8)
    return nodes, chars


def _check_cost(pc: "_PyChunk", cost: tuple[int, int]) -> None:
    if cost[0] > MAX_ELEMENTS:
        raise _OverBudget(f"expands to {cost[0]} elements (more than {MAX_ELEMENTS}: nested "
                           "BinXML fan-out); skipped")
    if cost[1] > MAX_RENDER_CHARS:
        raise _OverBudget(f"renders to {cost[1]} characters (more than {MAX_RENDER_CHARS}: "
                           "substitution fan-out); skipped")
    if cost[0] > 1000 and pc.deadline is not None and _time.monotonic() > pc.deadline:
        raise _TimedOut("time budget exceeded")


# A compiled template is a tree of elements: (name, attrs, content) where attrs is a list of
# (attr name, src) and content a list of src | element; src = ("v", literal) | ("s", index).


def _compile_template(tnode) -> list:
    """python-evtx TemplateNode → element tree (parsed once per template per chunk)."""
    from Evtx import Nodes as N

    def src_of(node):
        if isinstance(node, (N.NormalSubstitutionNode, N.ConditionalSubstitutionNode)):
            return ("s", node.index())
        if isinstance(node, N.ValueNode):
            return ("v", node.children()[0].string())
        if isinstance(node, N.CharacterReferenceNode):
            return ("v", chr(node.entity()))
        if isinstance(node, N.CDataSectionNode):
            return ("v", node.cdata())
        if isinstance(node, N.EntityReferenceNode):
            ref = node.entity_reference()
            return ("v", {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"',
                          "&apos;": "'"}.get(ref, ref))
        return None

    def elem(node):
        attrs, content = [], []
        for c in node.children():
            if isinstance(c, N.AttributeNode):
                attrs.append((c.attribute_name().string(), src_of(c.attribute_value())))
            elif isinstance(c, N.OpenStartElementNode):
                content.append(elem(c))
            else:
                s = src_of(c)
                if s is not None:
                    content.append(s)
        return (node.tag_name(), attrs, content)

    out = []
    for c in tnode.children():
        if isinstance(c, N.OpenStartElementNode):
            out.append(elem(c))
    return out


_NAME_HDR = struct.Struct("<IHH")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_VALUE_SIZES = {0x03: 1, 0x04: 1, 0x05: 2, 0x06: 2, 0x07: 4, 0x08: 4, 0x09: 8, 0x0a: 8, 0x0b: 4,
                0x0c: 8, 0x0d: 4, 0x0f: 16, 0x11: 8, 0x12: 16, 0x14: 4, 0x15: 8}


class _PyChunk:
    """Per-chunk state of the python decoder: name strings and compiled templates.

    Templates are compiled by our own small BinXML reader; when it fails, python-evtx's
    node parser compiles them instead (so we read whatever python-evtx can read)."""

    def __init__(self, buf, offset: int):
        self.buf = buf
        self.offset = offset
        self.names: dict[int, str] = {}
        self.templates: dict[int, list] = {}
        self.probes: dict[int, tuple | None] = {}
        #: per template: (elements, {substitution index: references}); ``multi``: the
        #: templates that reference a substitution more than once (their records' cost is
        #: checked before they are rendered)
        self.shapes: dict[int, tuple[int, dict]] = {}
        self.multi: set[int] = set()
        self.deadline: float | None = None
        self._hdr = None

    def hdr(self):
        if self._hdr is None:
            from Evtx.Evtx import ChunkHeader
            h = ChunkHeader(self.buf, self.offset)
            # python-evtx follows a chunk's string and template chains with `while ofs > 0`:
            # a damaged chain that points back into itself loops forever (found by our fuzz
            # test). The chains are walked here, each offset once, before it can.
            h._strings, h._templates = {}, {}
            for i in range(64 + 32):
                try:
                    if i < 64:
                        ofs = h.unpack_dword(0x80 + i * 4)
                        while 0 < ofs < CHUNK_SIZE and ofs not in h._strings:
                            ofs = h.add_string(ofs).next_offset()
                        continue
                    ofs = h.unpack_dword(0x180 + (i - 64) * 4)
                    while 10 <= ofs < CHUNK_SIZE and ofs not in h._templates:
                        # (python-evtx's own check: a template follows its 0x0C token)
                        if h.unpack_byte(ofs - 10) != 0x0C or h.unpack_dword(ofs - 4) != ofs:
                            break
                        ofs = h.add_template(ofs).next_offset()
                except Exception:  # python-evtx raises its own and struct errors
                    continue
            # ... and never walked again by python-evtx (it reloads an empty table: a chain
            # that starts outside the chunk left one, and its own walk looped; found by review)
            h._load_strings = h._load_templates = lambda: None
            self._hdr = h
        return self._hdr

    def name(self, off: int) -> tuple[str, int]:
        """Name at chunk offset ``off`` and the byte length of its record (for inline names)."""
        p = self.offset + off
        _, _, n = _NAME_HDR.unpack_from(self.buf, p)
        nm = self.names.get(off)
        if nm is None:
            nm = _u16(self.buf[p + 8:p + 8 + 2 * n])
            self.names[off] = nm
        return nm, 8 + 2 * n + 2

    def template(self, toff: int) -> list:
        t = self.templates.get(toff)
        if t is None:
            try:
                t = self._compile(toff)
            except Exception:
                if not python_available():
                    raise
                from Evtx.Nodes import TemplateNode
                hdr = self.hdr()
                t = _compile_template(TemplateNode(self.buf, self.offset + toff, hdr, hdr))
            self.templates[toff] = t
            shape = self.shapes[toff] = _shape(t)
            if shape[1] and max(shape[1].values()) > 1:
                self.multi.add(toff)
        return t

    def _compile(self, toff: int) -> list:
        """Template definition → element tree, reading the BinXML tokens directly."""
        p = self.offset + toff + 24
        end = p + _U32.unpack_from(self.buf, self.offset + toff + 20)[0]
        if end > self.offset + CHUNK_SIZE:
            raise _DecodeError("template body overruns the chunk")
        return self.tokens(p, end, True)

    def tokens(self, p: int, end: int, dep: bool) -> list:
        """BinXML tokens in [p, end) → element tree. ``dep``: element starts carry a
        dependency id (inside template definitions; not in template-less records)."""
        buf, coff = self.buf, self.offset
        hl = 11 if dep else 9
        root: list = []
        stack: list = []
        content = root
        attr: list | None = None            # [name, pieces] while reading an attribute value

        def close_attr():
            nonlocal attr
            if attr is not None:
                pieces = attr[1]
                src = pieces[0] if len(pieces) == 1 else (
                    ("v", "".join(str(x[1]) for x in pieces if x[0] == "v")) if pieces else None)
                stack[-1][1].append((attr[0], src))
                attr = None

        while p < end:
            tok = buf[p]
            t = tok & 0x0F
            if t == 0x01:                                   # open start element
                noff = _U32.unpack_from(buf, p + hl - 4)[0]
                q = p + hl
                if noff == q - coff:
                    q += self.name(noff)[1]
                if tok & 0x40:
                    q += 4
                el = (self.name(noff)[0], [], [])
                content.append(el)
                stack.append(el)
                content = el[2]
                p = q
            elif t == 0x06:                                 # attribute
                close_attr()
                noff = _U32.unpack_from(buf, p + 1)[0]
                q = p + 5
                if noff == q - coff:
                    q += self.name(noff)[1]
                attr = [self.name(noff)[0], []]
                p = q
            elif t == 0x02:                                 # close start element
                close_attr()
                p += 1
            elif t == 0x03 or t == 0x04:                    # close empty / end element
                close_attr()
                if not stack:
                    raise _DecodeError("unbalanced element end in template")
                stack.pop()
                content = stack[-1][2] if stack else root
                p += 1
            elif t == 0x05:                                 # value
                vt = buf[p + 1]
                if vt == 0x01:
                    n = _U16.unpack_from(buf, p + 2)[0]
                    v = _u16(buf[p + 4:p + 4 + 2 * n])
                    p += 4 + 2 * n
                elif vt in _VALUE_SIZES:
                    n = _VALUE_SIZES[vt]
                    v = _value(bytes(buf[p + 2:p + 2 + n]), vt)
                    p += 2 + n
                else:
                    raise _DecodeError(f"template value of type 0x{vt:02x}")
                (attr[1] if attr is not None else content).append(("v", v))
            elif t == 0x0D or t == 0x0E:                    # substitution
                src = ("s", _U16.unpack_from(buf, p + 1)[0])
                (attr[1] if attr is not None else content).append(src)
                p += 4
            elif t == 0x08:                                 # character reference
                src = ("v", chr(_U16.unpack_from(buf, p + 1)[0]))
                (attr[1] if attr is not None else content).append(src)
                p += 3
            elif t == 0x09:                                 # entity reference
                noff = _U32.unpack_from(buf, p + 1)[0]
                q = p + 5
                if noff == q - coff:
                    q += self.name(noff)[1]
                ref = self.name(noff)[0]
                src = ("v", _ENTITIES.get(ref, ref))
                (attr[1] if attr is not None else content).append(src)
                p = q
            elif t == 0x07:                                 # CDATA
                n = _U16.unpack_from(buf, p + 1)[0]
                text = _u16(buf[p + 3:p + 3 + 2 * n])
                content.append(("v", text))
                p += 3 + 2 * n
            elif t == 0x0F:                                 # start of stream
                p += 4
            elif t == 0x00:                                 # end of stream
                break
            else:
                raise _DecodeError(f"unexpected BinXML token 0x{tok:02x} in template")
        return root


def _fragment(pc: _PyChunk, p: int, end: int, nested: bool = False) -> tuple:
    """Decode a BinXML fragment at absolute offset ``p``: (template tree, substitutions,
    cost). ``cost``: (elements, characters) once rendered, computed for a nested fragment,
    a fragment holding nested ones, or a template that uses a substitution twice (else
    None); over budget raises :class:`_DecodeError`.

    Nested BinXML substitutions (type 0x21) are decoded recursively into
    ``("x", tree, subs, cost)`` values."""
    buf = pc.buf
    if buf[p] == 0x0F:
        p += 4
    if buf[p] & 0x0F != 0x0C:                     # no template: elements and values inline
        tree = pc.tokens(p, end, False)
        return tree, [], ((_shape(tree)[0], end - p) if nested else None)
    toff = _U32.unpack_from(buf, p + 6)[0]
    p += 10
    if toff == p - pc.offset:                      # definition follows inline
        p += 24 + _U32.unpack_from(buf, p + 20)[0]
    if not 0 < toff < CHUNK_SIZE:
        raise _DecodeError(f"template offset 0x{toff:x} outside the chunk")
    tree = pc.template(toff)
    subs, has_nested = _substitutions(pc, p, end)
    if nested or has_nested or toff in pc.multi:
        cost = _cost(pc.shapes[toff], subs)
        _check_cost(pc, cost)
        return tree, subs, cost
    return tree, subs, None


def _substitutions(pc: _PyChunk, p: int, end: int) -> tuple[list, bool]:
    """The substitution values, and whether one is a nested fragment."""
    buf = pc.buf
    n = _U32.unpack_from(buf, p)[0]
    p += 4
    if n > 4096 or p + 4 * n > end:
        raise _DecodeError(f"substitution array of {n} entries does not fit the record")
    desc = struct.unpack_from("<%dH" % (2 * n), buf, p)
    p += 4 * n
    subs = []
    nested = False
    for i in range(n):
        size, t = desc[2 * i], desc[2 * i + 1] & 0xFF
        if p + size > end:
            raise _DecodeError(f"substitution {i} (type 0x{t:02x}, {size} bytes) overruns "
                               "the record")
        if t == 0x21:
            subs.append(("x",) + _fragment(pc, p, p + size, True) if size else None)
            nested = True
        elif t == 0x01:                  # (_value's first case, inlined: most values)
            subs.append(_utf16le(buf[p:p + size], "rdpdoctor.utf16", True)[0].rstrip("\x00"))
        elif t == 0:
            subs.append(None)
        else:
            subs.append(_value(bytes(buf[p:p + size]), t))
        p += size
    return subs, nested


def _fragment_nodes(pc: _PyChunk, p: int, end: int) -> tuple[list, list]:
    """Fallback: let python-evtx locate the template and the substitution array."""
    from Evtx.Nodes import RootNode, TemplateNode
    hdr = pc.hdr()
    root = RootNode(pc.buf, p, hdr, None)
    inst = root.template_instance()
    toff = inst.template_offset()
    tree = pc.templates.get(toff)
    if tree is None:
        tree = _compile_template(TemplateNode(pc.buf, pc.offset + toff, hdr, inst))
    subs, _ = _substitutions(pc, p + root.tag_and_children_length(), end)
    _check_cost(pc, _cost(_shape(tree), subs))
    return tree, subs


def _probe_spec(tree: list) -> tuple | None:
    """Where a template keeps provider name, channel and event id: three srcs or None."""
    for ev in tree:
        if ev[0] != "Event":
            continue
        for sysel in ev[2]:
            if len(sysel) != 3 or sysel[0] != "System":
                continue
            prov = chan = eid = None
            for el in sysel[2]:
                if len(el) != 3:
                    continue
                if el[0] == "Provider":
                    prov = next((src for a, src in el[1] if a == "Name"), None)
                elif el[0] == "Channel" and len(el[2]) == 1:
                    chan = el[2][0]
                elif el[0] == "EventID" and len(el[2]) == 1:
                    eid = el[2][0]
            if prov is not None and eid is not None:
                return prov, chan, eid
    return None


def _probe_py(pc: _PyChunk, off: int, rsize: int) -> tuple | None:
    """Provider, channel and event id of a record, decoding only those substitutions
    (relevance is decided before the record is decoded). None: decode it to find out."""
    buf = pc.buf
    p, end = off + 24, off + rsize - 4
    if buf[p] == 0x0F:
        p += 4
    if buf[p] & 0x0F != 0x0C:
        return None
    toff = _U32.unpack_from(buf, p + 6)[0]
    p += 10
    if toff == p - pc.offset:
        p += 24 + _U32.unpack_from(buf, p + 20)[0]
    spec = pc.probes.get(toff, _MISSING)
    if spec is _MISSING:
        try:
            spec = _probe_spec(pc.template(toff))
        except Exception:
            spec = None
        pc.probes[toff] = spec
    if spec is None:
        return None
    n = _U32.unpack_from(buf, p)[0]
    if n > 4096 or p + 4 + 4 * n > end:
        return None
    desc = struct.unpack_from("<%dH" % (2 * n), buf, p + 4)
    base = p + 4 + 4 * n
    out = []
    for k, src in enumerate(spec):
        if src is None or src[0] == "v":
            out.append(None if src is None else src[1])
            continue
        i = src[1]
        if i >= n or desc[2 * i + 1] & 0xFF in (0x21, 0x00):
            if k != 1:                      # provider / event id unknown: decode the record
                return None
            out.append(None)
            continue
        q = base + sum(desc[0:2 * i:2])
        out.append(_value(bytes(buf[q:q + desc[2 * i]]), desc[2 * i + 1] & 0xFF))
    prov, chan, eid = out
    eid = _int(eid)
    return prov, chan, (None if eid is None else eid & 0xFFFF)


_MISSING = object()


def _content(content, subs) -> tuple[Any, list]:
    """Element content → (text value, child elements as (name, attrs, content, subs))."""
    vals, kids = [], []
    n = len(subs)
    for c in content:
        if len(c) == 3:                      # an element (name, attrs, content)
            kids.append((c, subs))
            continue
        # a src: the literal, or the substitution (none beyond the array)
        if c[0] == "v":
            v = c[1]
        elif c[1] < n:
            v = subs[c[1]]
        else:
            continue
        if v is None:
            continue
        if type(v) is tuple and v and v[0] == "x":
            nsubs = v[2]
            kids.extend((e, nsubs) for e in v[1])
        else:
            vals.append(v)
    if not vals:
        return None, kids
    if len(vals) == 1:
        return vals[0], kids
    strs = [v if type(v) is str else str(v) for v in vals]
    if sum(map(len, strs)) > VALUE_CAP:     # one value used many times: cut (the row says so)
        room, keep = VALUE_CAP + 1, []
        for x in strs:
            keep.append(x[:room])
            room -= len(keep[-1])
            if room <= 0:
                break
        strs = keep
    return "".join(strs), kids


def _eval_attrs(attrs, subs) -> dict:
    out = {}
    n = len(subs)
    for name, src in attrs:
        if src is None:
            continue
        if src[0] == "v":
            v = src[1]
        elif src[1] < n:
            v = subs[src[1]]
        else:
            continue
        if v is not None and not (type(v) is tuple):
            out[name] = v
    return out


def _flatten_py(el, subs, out: dict, top: bool) -> None:
    name, attrs, content = el
    text, kids = _content(content, subs)
    for a, v in _eval_attrs(attrs, subs).items():
        if a != "xmlns" and v != "":
            out[f"{name}.{a}" if not top else a] = v
    if kids:
        for k, ksubs in kids:
            _flatten_py(k, ksubs, out, False)
    elif text is not None and text != "" and not top:
        if name in out:
            prev = out[name]
            out[name] = (prev if type(prev) is list else [prev]) + [text]
        else:
            out[name] = text


def _rec_from_tree(rid: int, tree: list, subs: list) -> _Rec:
    rec = _Rec(rid)
    fields = rec.fields
    events = [(e, subs) for e in tree]
    for ev, esubs in events:
        if ev[0] != "Event":
            continue
        _, kids = _content(ev[2], esubs)
        for (name, attrs, content), s in kids:
            if name == "System":
                _, skids = _content(content, s)
                for (sn, sattrs, scontent), ss in skids:
                    if sn == "Provider":
                        a = _eval_attrs(sattrs, ss)
                        rec.provider = a.get("Name")
                        rec.source_name = a.get("EventSourceName")
                    elif sn == "EventID":
                        rec.event_id = _content(scontent, ss)[0]
                        rec.qualifiers = _eval_attrs(sattrs, ss).get("Qualifiers")
                    elif sn == "Level":
                        rec.level = _content(scontent, ss)[0]
                    elif sn == "TimeCreated":
                        rec.time = _eval_attrs(sattrs, ss).get("SystemTime")
                    elif sn == "EventRecordID":
                        rec.erid = _content(scontent, ss)[0]
                    elif sn == "Correlation":
                        rec.activity = _eval_attrs(sattrs, ss).get("ActivityID")
                    elif sn == "Execution":
                        rec.pid = _eval_attrs(sattrs, ss).get("ProcessID")
                    elif sn == "Channel":
                        rec.channel = _content(scontent, ss)[0]
                    elif sn == "Computer":
                        rec.computer = _content(scontent, ss)[0]
                    elif sn == "Security":
                        rec.userid = _eval_attrs(sattrs, ss).get("UserID")
            elif name == "EventData":
                _, dkids = _content(content, s)
                params = 0
                for (dn, dattrs, dcontent), ds in dkids:
                    if dn == "Data":
                        a = _eval_attrs(dattrs, ds)
                        v = _content(dcontent, ds)[0]
                        if "Name" in a:
                            if v is not None and v != "":
                                k = a["Name"]
                                fields[k if type(k) is str else str(k)] = v
                        elif type(v) is list:
                            for x in v:
                                params += 1
                                if x is not None and x != "":
                                    fields[f"param{params}"] = x
                        else:
                            params += 1
                            if v is not None and v != "":
                                fields[f"param{params}"] = v
                    elif dn == "Binary":
                        v = _content(dcontent, ds)[0]
                        if v:
                            rec.binary = v
                    else:
                        _flatten_py((dn, dattrs, dcontent), ds, fields, False)
            elif name == "UserData":
                _, ukids = _content(content, s)
                for k, ks in ukids:
                    _flatten_py(k, ks, fields, True)
    return rec


# =========================================================================== one pass


@dataclass
class _Part:
    cols: _Columns = field(default_factory=_Columns)
    warnings: list[tuple[str, str]] = field(default_factory=list)   # (locator, message)
    skipped: list[dict] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)
    rust_errors: int = 0
    #: ids of records the Rust reader failed on, or rendered unusably: its second look
    #: (:func:`_rust_repair`) leaves them to our reader as before, rather than read them
    #: again at another size (a row for a record a warning said was not read)
    rust_failed: set = field(default_factory=set)
    filled_in: int = 0
    headers: int = 0
    announced: int = 0
    chunks: int = 0
    chunks_bad: int = 0
    timed_out: bool = False
    done: set | None = None     # ids our own reader decoded or dropped (the fill-in's)
    #: ids of every record read, kept or dropped (set with a relevance filter: the kept
    #: rows' ids have gaps by design, the file's record-id gaps are these ids')
    read_ids: np.ndarray | None = None


def _keep(rel: Relevance | None, part: _Part, provider, channel, eid,
          fields: dict | None = None) -> bool:
    if rel is None:
        return True
    if provider is not None and type(provider) is not str:
        provider = str(provider)
    if channel is not None and type(channel) is not str:
        channel = str(channel)
    if rel.keep(provider, channel, eid, fields):
        return True
    part.dropped[_dropped_key(provider, eid)] += 1
    return False


def _rule_fields(rec: _Rec) -> dict:
    """The fields a value rule reads: the named ones and the record's ``Binary`` (what the
    row's ``data`` holds, and what the gate reads in the Rust JSON)."""
    if rec.binary is None or "Binary" in rec.fields:
        return rec.fields
    return {**rec.fields, "Binary": str(rec.binary)}


def _decode_py(buf, pcs: dict, ch: _Chunk, off: int, rsize: int, rid: int,
               deadline: float | None = None) -> _Rec:
    pc = pcs.get(ch.offset)
    if pc is None:
        pc = pcs[ch.offset] = _PyChunk(buf, ch.offset)
        pc.deadline = deadline
    try:
        tree, subs, _ = _fragment(pc, off + 24, off + rsize - 4)
    except (_OverBudget, _TimedOut):
        raise                       # python-evtx would expand it all the same
    except Exception:
        if not python_available():
            raise
        tree, subs = _fragment_nodes(pc, off + 24, off + rsize - 4)
    if not any(e[0] == "Event" for e in tree):
        raise _DecodeError("no <Event> element (not an event record)")
    return _rec_from_tree(rid, tree, subs)


def _covered(buf, size: int, ch: _Chunk, ids: np.ndarray) -> int:
    """Records in an intact chunk (both CRCs match) whose every announced id is in the
    sorted ``ids``: their count, else 0 (then the chunk's record headers are walked)."""
    if not (ch.first <= ch.last and ch.last - ch.first < CHUNK_SIZE // 24
            and _RECORDS_START < ch.free <= CHUNK_SIZE and ch.offset + CHUNK_SIZE <= size):
        return 0
    t = ids.dtype.type                        # (a Python int would convert all of ``ids``)
    lo = int(np.searchsorted(ids, t(ch.first)))
    hi = int(np.searchsorted(ids, t(ch.last), side="right"))
    if hi - lo != ch.last - ch.first + 1:
        return 0
    o = ch.offset
    with memoryview(buf) as mv:               # (a slice of the mmap itself would copy it)
        if zlib.crc32(mv[o + _RECORDS_START:o + ch.free]) != _U32.unpack_from(buf, o + 0x34)[0]:
            return 0
        if zlib.crc32(mv[o + 0x80:o + _RECORDS_START], zlib.crc32(mv[o:o + 0x78])) \
                != _U32.unpack_from(buf, o + 0x7C)[0]:
            return 0
    return hi - lo


def _read_before(seen: np.ndarray, recs: list[tuple[int, int, int]]) -> np.ndarray:
    """Which of ``recs`` (as :func:`chunk_records` yields them) have their id in the sorted
    ``seen``: O(k log n) (``np.isin`` would build a table over all n ids per chunk)."""
    ids = np.fromiter((r[2] for r in recs), dtype=np.uint64, count=len(recs))
    if not len(seen):
        return np.zeros(len(recs), dtype=bool)
    at = np.minimum(np.searchsorted(seen, ids), len(seen) - 1)
    return seen[at] == ids


def _python_pass(buf, size: int, walk: _Walk, part: _Part, rel: Relevance | None,
                 skip_ids: np.ndarray | None, deadline: float | None, progress=None,
                 given: set[int] | None = None,
                 covered: dict[int, int] | None = None) -> None:
    """Decode every record header the chunk walk finds (except ids in the sorted array
    ``skip_ids``: what the Rust reader already yielded from the chunks at the offsets
    ``given`` — None: those on the grid). ``covered``: :func:`_covered` of those chunks,
    when the caller knows it already (chunk offset → records; absent: not covered)."""
    pcs: dict[int, _PyChunk] = {}
    done: set[int] = set()
    part.done = done            # (read by _run, also when a deadline ends the walk early)
    total = len(walk.chunks)
    for n, ch in enumerate(walk.chunks, 1):
        # the Rust reader reads the chunks on the grid only: a chunk off it (carved) holds
        # other records, whatever their ids (a different record with a known id is kept
        # or compared at frame level, not dropped by id; review rvC)
        skip = skip_ids if ((ch.offset - HEADER_SIZE) % CHUNK_SIZE == 0 if given is None
                            else ch.offset in given) else None
        if skip is not None and len(skip):
            got = covered.get(ch.offset, 0) if covered is not None \
                else _covered(buf, size, ch, skip)
            if got:                           # nothing the Rust reader missed here
                part.headers += got
                if covered is None:           # (else released when it was found)
                    _release(buf, ch.offset, CHUNK_SIZE)
                if progress:
                    progress(n, total)
                continue
        problems: list[tuple[int, int, str]] = []
        recs = list(chunk_records(buf, ch, size, problems))
        part.headers += len(recs)
        if skip is not None and recs and len(skip):
            known = _read_before(skip, recs)
            recs = [r for r, k in zip(recs, known) if not k]
        for off, rsize, rid in recs:
            # (an id read before is decoded all the same: a stale copy of that record is
            # dropped at frame level, a different record with that id is kept)
            if rel is not None:
                pc = pcs.get(ch.offset)
                if pc is None:
                    pc = pcs[ch.offset] = _PyChunk(buf, ch.offset)
                    pc.deadline = deadline
                try:
                    probe = _probe_py(pc, off, rsize)
                except Exception:
                    probe = None
                if probe is not None and not _keep(rel, part, *probe):
                    done.add(rid)
                    continue
            try:
                rec = _decode_py(buf, pcs, ch, off, rsize, rid, deadline)
            except _TimedOut:
                part.timed_out = True
                return
            except Exception as e:  # python-evtx raises many kinds on garbage
                # (the id stays open: another copy of the record — a carved chunk holding
                # it, a later chunk — may decode)
                why = f"record {rid}: cannot decode ({type(e).__name__}: {e})"
                part.warnings.append((f"offset 0x{off:x}", why[:300]))
                part.skipped.append({"offset": off, "length": rsize,
                                     "reason": f"record {rid} not decodable"})
                continue
            done.add(rid)
            try:
                if rel is not None:
                    eid = _int(rec.event_id)
                    if not _keep(rel, part, rec.provider, rec.channel,
                                 None if eid is None else eid & 0xFFFF, _rule_fields(rec)):
                        continue
                part.cols.add(rec)
            except Exception as e:     # one odd record must not lose the file (review)
                if not _add_sane(part, rel, rec, f"offset 0x{off:x}", e):
                    continue
            if skip_ids is not None:
                part.filled_in += 1
        for off, length, reason in problems:
            part.warnings.append((f"offset 0x{off:x}", f"chunk at 0x{ch.offset:x}: {reason}"))
            if length:                  # (0: a note, nothing skipped)
                part.skipped.append({"offset": off, "length": length, "reason": reason})
        pcs.pop(ch.offset, None)
        _release(buf, ch.offset, CHUNK_SIZE)
        if progress:
            progress(n, total)
        if deadline is not None and _time.monotonic() > deadline:
            part.timed_out = True
            return


def _rust_pass(source, part: _Part, rel: Relevance | None, deadline: float | None,
               threads: int = 1, grid: list[int] | None = None,
               chunks: set[int] | None = None, quiet: bool = False) -> np.ndarray:
    """Iterate the Rust reader's JSON records; keep going after errors. Returns the ids it
    yielded (kept or dropped) as a sorted array; duplicates are removed at frame level.

    ``grid``: the file offsets of the chunks the reader is given behind a header (a
    :class:`_ShareView`), None when it reads the file itself; ``chunks``: then the offsets
    of the chunks on the grid the walk found (see :func:`_rust_warning`).

    ``threads``: the Rust reader's own chunk threads. One: its iterator holds the GIL, so
    more threads do not overlap with our per-record work, and on 2 cores both the raw
    iteration and this pass measured ~10-30 % faster with one thread than with the
    binding's default (0 = one per core). Files are split over processes instead.

    ``quiet``: the second look at patched chunks (:func:`_rust_repair`): its errors are
    neither said nor counted (the fillers fail by design; a record it fails is tried by
    our reader, which says so if it fails too)."""
    from evtx import PyEvtxParser

    loads = orjson.loads
    cols = part.cols
    add = cols.add
    from array import array
    seen_any = array("Q")
    try:
        it = PyEvtxParser(source, number_of_threads=threads).records_json()
    except (RuntimeError, ValueError, OSError) as e:   # e.g. no file header: fill-in reads it
        part.warnings.append(("offset 0x0", f"Rust evtx reader refused the file: {e}"[:300]))
        part.rust_errors = 1
        return np.array([], dtype=np.uint64)
    errors = walks = 0             # walks: errors about slots the chunk walk reports
    failed = part.rust_failed if not quiet else set()
    row = cols.row
    # (a bound method: calling the instance would look its __call__ up on every record)
    gate = _Gate(rel, part).__call__ if rel is not None else None
    fast = _FAST.row if _FAST is not None and cols.text is not None else None
    fast_json = _FAST.row_json if fast is not None else None
    mcol, dcol = cols.text or (None, None)
    pending = cols.pending
    flush = cols._flush
    batch = cols.BATCH
    # the C loop for what row_json takes; it hands every other record to the loop below
    drive = _FAST.drive if fast_json is not None and gate is None and not quiet else None
    while True:
        try:
            for r in (it if drive is None else
                      _driven(drive, it, seen_any, pending, mcol, dcol, batch,
                              deadline is not None, flush)):
                rid = r["event_record_id"]
                if drive is None:
                    seen_any.append(rid)         # (the driver did)
                if deadline is not None and not len(seen_any) & 4095 \
                        and _time.monotonic() > deadline:
                    part.timed_out = True
                    return _unique_sorted(np.frombuffer(seen_any, dtype=np.uint64))
                s = r["data"]
                if quiet and not _plausible(s):
                    seen_any.pop()              # (our reader decides, and says so)
                    continue
                if len(s) > RUST_JSON_CAP:      # a rendering bomb: our budgeted reader
                    seen_any.pop()
                    failed.add(rid)
                    part.warnings.append((f"record {rid}", f"record {rid}: the Rust reader "
                                          f"rendered {len(s)} characters; read by our own "
                                          "reader instead"))
                    continue
                # (a try costs nothing until it catches: one odd record — a non-text
                # provider, an empty event — must not lose the file; found by review)
                try:
                    if gate is not None:
                        g = gate(s)
                        if g == 0:
                            continue
                        if g != 1:
                            rec = _rec_from_json(rid, loads(s))
                            eid = _int(rec.event_id)
                            if _keep(rel, part, rec.provider, rec.channel,
                                     None if eid is None else eid & 0xFFFF, _rule_fields(rec)):
                                add(rec)
                            continue
                    if fast is not None:
                        # C reads the JSON text itself (no dict per record); what it does
                        # not take, orjson decodes for C's row builder, then Python's
                        t = fast_json(rid, s, mcol, dcol)
                        if t is None:
                            ev = loads(s)
                            t = fast(rid, ev, mcol, dcol)
                        if t is not None:
                            pending.append(t)
                            if len(pending) >= batch:
                                flush()
                            continue
                    else:
                        ev = loads(s)
                    if not _fast_row(row, rid, ev):
                        add(_rec_from_json(rid, ev))
                except Exception as e:
                    if not _rust_record_retry(part, rel, rid, s, e):
                        seen_any.pop()          # not read: the fill-in tries our reader
                        failed.add(rid)
            break
        except (RuntimeError, ValueError, OSError) as e:
            errors += 1
            m = _RECORD_NUMBER.search(str(e))
            if m:
                failed.add(int(m.group(1)))
            w = None if quiet else _rust_warning(str(e), grid, chunks)
            if w is None:
                walks += 1
            else:
                part.warnings.append(w)
            if errors > 100000:
                part.warnings.append(("file", "too many errors from the Rust reader; stopped"))
                break
        except BaseException as e:
            if not _is_panic(e):
                raise
            # a Rust panic (pyo3's PanicException is no Exception): the iterator is dead;
            # the records it did not yield are read by the fill-in (found by review)
            errors += 1
            part.warnings.append(("file", f"Rust evtx reader panicked ({str(e)[:200]}); "
                                  "the rest of the file was read by our own reader"))
            break
    if not quiet:
        part.rust_errors = errors - walks
    return _unique_sorted(np.frombuffer(seen_any, dtype=np.uint64))


def _plausible(s: str) -> bool:
    """Does the Rust reader's JSON of a record have an ``Event`` root with a provider and
    an event id? In its second look (:func:`_rust_repair`) a record it renders otherwise is
    left to our reader: a chunk whose first record (holding the templates' names) was
    zeroed rendered as ``{"": ...}`` and became rows of nulls without a word, where our
    reader says "no <Event> element" (review rv9)."""
    return s.startswith('{"Event":{') and '"Provider":' in s and '"EventID":' in s


def _driven(drive, it, seen, pending: list, mcol, dcol, batch: int, check: bool, flush):
    """The Rust reader's records that ``_fastrow.drive`` hands back (it builds the rows of
    the others itself, and converts a full batch through ``flush``)."""
    while True:
        r = drive(it, seen, pending, mcol, dcol, batch, RUST_JSON_CAP, check)
        if r is None:
            return
        if r is True:
            flush()
            continue
        yield r[0] if type(r) is tuple else r       # (an item that is no dict: wrapped)


def _is_panic(e: BaseException) -> bool:
    """pyo3's ``PanicException`` (module ``pyo3_runtime``), raised for a panic in Rust."""
    t = type(e)
    return t.__name__ == "PanicException" or t.__module__ == "pyo3_runtime"


def _sane(rec: _Rec) -> list[str]:
    """Make the values a row needs as text text (a damaged record may give a number or a
    list for its provider, a number for a ``Data Name``); returns what was changed."""
    changed = []
    for a in ("provider", "channel", "computer", "source_name"):
        v = getattr(rec, a)
        if v is not None and type(v) is not str:
            setattr(rec, a, str(v))
            changed.append(f"{a} ({type(v).__name__})")
    f = rec.fields
    if any(type(k) is not str for k in f):
        rec.fields = {(k if type(k) is str else str(k)): v for k, v in f.items()}
        changed.append("a Data Name (not text)")
    return changed


def _add_sane(part: _Part, rel: Relevance | None, rec: _Rec, locator: str,
              first: Exception) -> bool:
    """The error path of both passes: ``rec`` (whose row building raised ``first``) made
    sane and added after all; on a second failure a warning names the record. True: the
    record is dealt with (added or filtered out)."""
    try:
        changed = _sane(rec)
        if changed:
            part.warnings.append((locator, f"record {rec.record_id}: damaged value types, "
                                  f"stored as text: {', '.join(changed)}"[:300]))
        if rel is not None:
            eid = _int(rec.event_id)
            if not _keep(rel, part, rec.provider, rec.channel,
                         None if eid is None else eid & 0xFFFF, _rule_fields(rec)):
                return True
        part.cols.add(rec)
        return True
    except Exception as e:
        part.warnings.append((locator, f"record {rec.record_id}: cannot build its row "
                              f"({type(first).__name__}: {first}; then "
                              f"{type(e).__name__}: {e})"[:300]))
        return False


def _rust_record_retry(part: _Part, rel: Relevance | None, rid: int, s: str,
                       first: Exception) -> bool:
    """A Rust record whose row building raised: decoded again through the general path
    with its values made sane. False: it is not usable (the caller leaves its id to the
    fill-in, which decodes the record with our own reader)."""
    try:
        rec = _rec_from_json(rid, orjson.loads(s))
    except Exception as e:
        part.warnings.append((f"record {rid}", f"record {rid}: the Rust reader's rendering is "
                              f"not usable ({type(e).__name__}: {e}); read by our own "
                              "reader instead"[:300]))
        return False
    return _add_sane(part, rel, rec, f"record {rid}", first)


def _fast_row(row, rid: int, ev: dict) -> bool:
    """The common record shape straight into the columns (what ``_rec_from_json`` +
    ``_Columns.add`` would give, without the intermediate object). False: unusual shape
    (qualifiers, binary, unnamed or nested data, UserData, zero time ...), use the general
    path."""
    ev = ev.get("Event", ev)
    sysd = ev.get("System")
    if type(sysd) is not dict or "UserData" in ev:
        return False
    try:
        pattr = sysd["Provider"]["#attributes"]
        t = sysd["TimeCreated"]["#attributes"]["SystemTime"]
    except (KeyError, TypeError):
        return False
    eid = sysd.get("EventID")
    erid = sysd.get("EventRecordID")
    lv = sysd.get("Level")
    if type(eid) is not int or not 0 <= eid <= 0xFFFF or type(erid) is not int \
            or type(pattr) is not dict or "EventSourceName" in pattr or type(t) is not str \
            or t.startswith("1601-01-01T00:00:00") or (lv is not None and type(lv) is not int):
        return False
    ed = ev.get("EventData")
    if ed is None:
        fields: dict = {}
    elif type(ed) is dict and "Data" not in ed and "Binary" not in ed and "#attributes" not in ed:
        vals = ed.values()
        if dict in map(type, vals):
            return False
        # the decoded dict is ours: filter (a copy) only when there is something to drop
        fields = {k: v for k, v in ed.items() if v is not None and v != ""} \
            if None in vals or "" in vals else ed
    else:
        return False
    v = sysd.get("Correlation")
    act = _attrs(v).get("ActivityID") if type(v) is dict else None
    v = sysd.get("Execution")
    pid = _attrs(v).get("ProcessID") if type(v) is dict else None
    if pid is not None and type(pid) is not int:
        pid = _int(pid)
    v = sysd.get("Security")
    userid = _attrs(v).get("UserID") if type(v) is dict else None
    channel = sysd.get("Channel")
    if type(channel) is dict:
        channel = channel.get("#text")
    host = sysd.get("Computer")
    if type(host) is dict:
        host = host.get("#text")
    if act is None and erid == rid:
        extra = None
    else:                        # (the order _Columns._extra gives them)
        extra = {} if act is None else {"ActivityID": act}
        if erid != rid:          # a re-exported log numbers its records anew
            extra["EventRecordID"] = erid
    row(t, host, rid, pattr.get("Name"), channel, eid, lv, pid, userid, fields, extra)
    return True


_NUMBER = re.compile(r"-?[0-9]+")


def _json_value(s: str, needle: str, start: int = 0) -> str | None:
    """The value of the key ``needle`` (``'Name":'``, without its opening quote: a rare
    first letter makes str.find fast) in a Rust JSON record, as text, without decoding it
    (None when absent or empty, :data:`_ODD` when not a plain string or integer)."""
    i = s.find(needle, start)
    while i > 0 and s[i - 1] != '"':         # the tail of a longer key
        i = s.find(needle, i + 1)
    if i <= 0:
        return None
    i += len(needle)
    if s[i:i + 1] == '"':
        j = s.find('"', i + 1)
        v = s[i + 1:j]
        if j == -1 or "\\" in v:
            return _ODD
        return v.strip() if v else None      # "" is dropped from the fields: as absent
    m = _NUMBER.match(s, i)
    if m is None or s[m.end():m.end() + 1] not in (",", "}"):
        return _ODD                          # null, true, 10.5 ...: decode, then decide
    return m.group()


#: :func:`_json_value` found a value it cannot read as the decoded fields would have it.
_ODD = "\0odd"


def _utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
        return True
    except UnicodeEncodeError:      # lone surrogates: bytes the file system name did not decode
        return False


_CHUNK_NUMBER = re.compile(r"chunk number (\d+)")


def _rust_warning(msg: str, grid: list[int] | None,
                  chunks: set[int] | None) -> tuple[str, str] | None:
    """The warning for a Rust reader error, or None when it is the chunk walk's to give.

    The reader numbers the 64 KiB blocks of what it reads: in a worker's share, or behind a
    clean header, its chunk N is ``grid[N]``, not the file's slot N; "chunk number N" is
    said as the chunk's file offset, so a split parse words it as the whole-file parse
    does. A slot with no chunk signature is only seen by a whole-file reader (whose
    "invalid chunk header magic" a worker never gives): the walk reports such a slot
    (:func:`_bad_slot`) in every parse, so the reader's word for it is dropped."""
    m = _CHUNK_NUMBER.search(msg)
    if m:
        n = int(m.group(1))
        at = HEADER_SIZE + n * CHUNK_SIZE if grid is None else \
            (grid[n] if n < len(grid) else None)
        if at is not None:
            if grid is None and chunks is not None and at not in chunks:
                return None
            msg = msg.replace(m.group(0), f"chunk at 0x{at:x}", 1)
            return f"offset 0x{at:x}", f"Rust evtx reader: {msg}"[:300]
    return _rust_locator(msg), f"Rust evtx reader: {msg}"[:300]


_RECORD_NUMBER = re.compile(r"record number (\d+)")


def _rust_locator(msg: str) -> str:
    m = _RECORD_NUMBER.search(msg)
    if m:
        return f"record {m.group(1)}"
    m = re.search(r"[Oo]ffset (0x[0-9a-fA-F]+|\d+)", msg)
    if m:
        return f"offset {m.group(1)}"
    return "file"


#: patched chunks given to one Rust reader at a time (4 MiB)
_REPAIR_BATCH = 64


def _rust_repair(buf, size: int, walk: _Walk, part: _Part, rel: Relevance | None,
                 seen: np.ndarray, deadline: float | None, threads: int,
                 given: set[int] | None, covered: dict[int, int]) -> np.ndarray:
    """The Rust reader's second look at the chunks it was given and missed records of
    (``seen``: the sorted ids it yielded; ``given`` as for :func:`_python_pass`). It stops
    a chunk at the first record header it cannot read (a zero size, a record cut by a
    newer one in a shadow copy, the end of a truncated file), and we would decode the rest
    ourselves, ≈ 30× slower: on the corpus, 314 records in 5 logs took a fifth of the
    whole load. Each such chunk is given to it again as a patched copy
    (:func:`_patched_chunk`), in which every record it missed starts where our chunk walk
    found it; what it still cannot read is left to our reader, as are the records it
    failed on the first time (``part.rust_failed``). Fills ``covered``
    (:func:`_covered` of every chunk looked at, for :func:`_python_pass`); returns the
    ids it has now yielded, sorted."""
    patched: list[bytes] = []
    got_ids = [seen]
    before = len(part.cols)
    failed = part.rust_failed

    def reread() -> None:
        blob = _synthetic_header(len(patched)) + b"".join(patched)
        patched.clear()
        got_ids.append(_rust_pass(io.BytesIO(blob), part, rel, deadline, threads,
                                  quiet=True))

    for ch in walk.chunks:
        on = ch.offset in given if given is not None \
            else (ch.offset - HEADER_SIZE) % CHUNK_SIZE == 0
        if not on:
            continue
        if len(seen):
            got = _covered(buf, size, ch, seen)
            if got:
                covered[ch.offset] = got
                _release(buf, ch.offset, CHUNK_SIZE)     # (as the fill-in would)
                continue
        problems: list[tuple[int, int, str]] = []
        recs = list(chunk_records(buf, ch, size, problems))
        _release(buf, ch.offset, CHUNK_SIZE)
        if not recs:
            continue
        known = _read_before(seen, recs)
        if known.all() and not problems:
            # every record read, nothing to say: the fill-in would only walk it again
            # (a log whose record CRCs are all wrong)
            covered[ch.offset] = len(recs)
            continue
        if failed:
            known |= np.fromiter((r[2] in failed for r in recs), dtype=bool, count=len(recs))
        if known.all():
            continue
        if deadline is not None and _time.monotonic() > deadline:
            part.timed_out = True           # (only a chunk left to read counts)
            break
        c = _patched_chunk(buf, size, ch, recs, known)
        if c is not None:
            patched.append(c)
            if len(patched) == _REPAIR_BATCH:
                reread()
                if part.timed_out:
                    break
    if patched and not part.timed_out:
        reread()
    if len(got_ids) == 1:
        return seen
    part.filled_in += len(part.cols) - before
    return _unique_sorted(np.concatenate(got_ids))


def _patched_chunk(buf, size: int, ch: _Chunk, recs: list[tuple[int, int, int]],
                   known: np.ndarray) -> bytes | None:
    """A copy of the chunk ``ch`` (padded to 64 KiB when the file ends inside it) for the
    Rust reader's second look: each record it missed (``known`` False; ``recs`` as
    :func:`chunk_records` yields them) is sized to end where the next one our walk found
    starts, and every other stretch — records it read, damaged bytes — is one filler
    record it fails on at once (id 0, time 0, an invalid first token) and steps over. The
    free-space offset ends after the last record. None: a stretch too short for a record
    header, or a copy the hostile-template screen (:func:`_risky_chunks`) flags: our
    reader takes that chunk.

    Only record headers are written (the filler's too: a filler starts at a record our
    walk found, or where the first record belongs), never the bytes in between: templates
    and names the missed records use stay as they are. The reader does not check a
    record's trailing size copy, nor the chunk's checksums, so neither is rewritten."""
    co = ch.offset
    c = bytearray(buf[co:min(co + CHUNK_SIZE, size)])
    c += bytes(CHUNK_SIZE - len(c))
    # stretches [start, end, missed]; damaged bytes after a record belong to its stretch
    out: list[list] = []
    if recs[0][0] - co > _RECORDS_START:
        out.append([_RECORDS_START, recs[0][0] - co, False])
    for i, (off, rsize, _rid) in enumerate(recs):
        o = off - co
        e = recs[i + 1][0] - co if i + 1 < len(recs) else o + rsize
        missed = not known[i]
        if not missed and out and not out[-1][2]:
            out[-1][1] = e
        else:
            out.append([o, e, missed])
    for s, e, missed in out:
        if e - s < 28:
            return None
        if missed:
            _U32.pack_into(c, s + 4, e - s)
        else:
            _REC_HDR.pack_into(c, s, RECORD_MAGIC, e - s, 0, 0)
            c[s + 24] = 0xFF
    _U32.pack_into(c, 0x30, out[-1][1])
    # the hostile-template screen, again: the walk screened the chunk as it was, and
    # skipped it when cut short or with a free-space offset out of range, or searched an
    # empty table's inline templates only up to that offset — the copy is whole, with a
    # new one (review rv9: rendering bombs there aborted the process)
    c = bytes(HEADER_SIZE) + c
    if _risky_chunks(c, len(c), [(HEADER_SIZE, out[-1][1])]):
        return None
    return c[HEADER_SIZE:]


def _run(path: str, backend: str, share: tuple[int, int] | None, rel: Relevance | None,
         deadline: float | None, progress=None, threads: int = 1) -> _Part:
    """Parse the whole file (``share`` None) or only the chunks starting in the byte range
    ``share`` (a worker's)."""
    part = _Part()
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            return part
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            screen = backend == "rust"
            walk = walk_chunks(buf, size, screen=screen) if share is None \
                else walk_chunks(buf, size, *share, screen=screen)
            part.chunks = len(walk.chunks)
            part.chunks_bad = len(walk.bad)
            part.announced = walk.announced
            for off, reason in walk.bad:
                part.warnings.append((f"offset 0x{off:x}", reason))
                part.skipped.append({"offset": off, "length": min(CHUNK_SIZE, size - off),
                                     "reason": reason})
            if backend == "rust":
                risky = walk.risky
                for off in sorted(risky):
                    part.warnings.append((f"offset 0x{off:x}", f"chunk at 0x{off:x}: a template "
                                          "uses a substitution more than once (a rendering "
                                          "bomb can): read by our own budgeted reader"))
                # a file header without its signature: the Rust reader refuses the file (and
                # our reader, ≈ 50× slower, decoded every record), so it is given the
                # chunks behind a clean header (as a worker's share is given the file's own).
                # The signature is all it checks: a wrong version or header size is read.
                # Without a header, chunks off the grid are given too where they do not
                # overlap (a file that starts with a chunk: carved, or cut out of a log)
                if buf[:8] == FILE_MAGIC:
                    header = None
                    grid = [c.offset for c in walk.chunks if c.offset not in risky
                            and (c.offset - HEADER_SIZE) % CHUNK_SIZE == 0]
                else:
                    grid = []
                    for off in sorted(c.offset for c in walk.chunks if c.offset not in risky):
                        if not grid or off >= grid[-1] + CHUNK_SIZE:
                            grid.append(off)
                    header = _synthetic_header(len(grid))
                given = None                  # (the chunks on the grid)
                if risky or header is not None:
                    # the Rust reader would expand a risky chunk whole (GBs, or an abort
                    # that kills the process; review rvC): it sees the file without them
                    view = _ShareView(buf, grid, header)
                    seen = _rust_pass(io.BufferedReader(view, CHUNK_SIZE), part, rel,
                                      deadline, threads, grid)
                    given = set(grid)
                elif share is None and _utf8(path):
                    seen = _rust_pass(path, part, rel, deadline, threads, None,
                                      set(grid))
                elif share is None:
                    # the binding opens a path only as UTF-8 (a name with undecodable bytes,
                    # e.g. Latin-1 from an old archive, is "not found"): give it the file
                    with open(path, "rb") as own:
                        seen = _rust_pass(own, part, rel, deadline, threads, None,
                                          set(grid))
                else:
                    view = _ShareView(buf, grid)
                    seen = _rust_pass(io.BufferedReader(view, CHUNK_SIZE), part, rel,
                                      deadline, threads, grid)
                covered: dict[int, int] = {}
                if not part.timed_out:
                    # records physically present that the Rust reader missed: first its
                    # second look at those chunks, patched to go on past the damage ...
                    seen = _rust_repair(buf, size, walk, part, rel, seen, deadline,
                                        threads, given, covered)
                if not part.timed_out:
                    # ... then our own reader (python-evtx only as its fallback)
                    _python_pass(buf, size, walk, part, rel, seen, deadline, given=given,
                                 covered=covered)
                if progress:
                    progress(1, 1)
            else:
                seen = np.array([], dtype=np.uint64)
                _python_pass(buf, size, walk, part, rel, None, deadline, progress)
    if rel is not None:
        extra = np.fromiter(part.done or (), dtype=np.uint64, count=len(part.done or ()))
        part.read_ids = np.concatenate([seen.astype(np.uint64), extra])
    part.done = None
    return part


#: template (GUID and size, or size and CRC of its body) → does it use a substitution more
#: than once (per process)
_RISKY: dict = {}


def _risky_chunks(buf, size: int, chunks: list[tuple[int, int]]) -> set[int]:
    """Of ``chunks`` (offset, free-space offset), those on the grid holding a template
    that references one substitution more than once: no real template does (each
    manifest item is one substitution), and a nested BinXML or long string value used many
    times is how a 1 KB record renders to GBs.

    Called by :func:`walk_chunks` per window, while the chunks' first pages are mapped
    anyway. The template tables are read at once (numpy gathers: a Python loop over them
    cost ~30 µs per chunk, 5 % of a filtered load), templates are told apart by GUID and
    size, and a template is compiled by our reader once per process. A chunk with an empty
    table (exported logs have them) is searched for inline template definitions. Not a
    boundary against a crafted file (a template can hide from the table, or share a benign
    one's GUID and size): the bundle's retry of a dead worker is; see docs/performance.md.

    A free-space offset past the chunk's end counts as its end: the Rust reader then reads
    the whole chunk (such a chunk went unscreened, and a bomb in it aborted the process;
    review rv9)."""
    chunks = [(co, min(free, CHUNK_SIZE)) for co, free in chunks]
    cos_l = [co for co, free in chunks
             if not (co - HEADER_SIZE) % CHUNK_SIZE and co + CHUNK_SIZE <= size
             and _RECORDS_START < free <= CHUNK_SIZE]
    if not cos_l:
        return set()
    out: set[int] = set()
    a = np.frombuffer(buf, dtype=np.uint8)
    four = np.arange(4)
    try:
        def u32(at):                         # little-endian u32s at any offsets
            return a[at[:, None] + four].view("<u4").ravel().astype(np.int64)
        cos = np.array(cos_l, dtype=np.int64)
        tab = a[(cos[:, None] + np.arange(0x180, 0x200)).ravel()].view("<u4") \
            .reshape(len(cos), 32).astype(np.int64)
        for k in np.flatnonzero(~tab.any(axis=1)):
            co = int(cos[k])
            if _risky_inline(buf, co, dict(chunks)[co]):
                out.add(co)
        flat = tab.ravel()
        nz = flat != 0
        ci = np.repeat(np.arange(len(cos)), 32)[nz]
        t = flat[nz]
        pairs = []
        for _ in range(64):                  # the chains (a loop in one is cut off)
            ok = (t >= _RECORDS_START) & (t < CHUNK_SIZE - 24)
            ci, t = ci[ok], t[ok]
            if not len(t):
                break
            pairs.append(ci * CHUNK_SIZE + t)
            t = u32(cos[ci] + t)
        if not pairs:
            return out
        pt = _unique_sorted(np.concatenate(pairs))
        ci, t = pt // CHUNK_SIZE, pt % CHUNK_SIZE
        at = cos[ci] + t
        tsize = u32(at + 20)
        ok = t + 24 + tsize <= CHUNK_SIZE
        ci, t, at, tsize = ci[ok], t[ok], at[ok], tsize[ok]
        if not len(t):
            return out
        g = a[at[:, None] + np.arange(4, 20)].view("<u8").astype(np.uint64)   # the GUID
        key = (g[:, 0] * np.uint64(0x9E3779B97F4A7C15)) ^ g[:, 1] \
            ^ (tsize.astype(np.uint64) << np.uint64(40))
        order = np.argsort(key, kind="stable")
        ks = key[order]
        starts = np.flatnonzero(np.concatenate(([True], ks[1:] != ks[:-1])))
        bounds = np.append(starts, len(ks))
        for u in range(len(starts)):
            k0 = int(ks[starts[u]])
            r = _RISKY.get(k0)
            if r is None:
                f = order[starts[u]]
                r = _template_risky(buf, int(cos[ci[f]]), int(t[f]))
                if len(_RISKY) < 4096:
                    _RISKY[k0] = r
            if r:
                out.update(int(x) for x in cos[ci[order[bounds[u]:bounds[u + 1]]]])
        return out
    finally:
        del a


def _template_risky(buf, co: int, toff: int) -> bool:
    try:
        refs = _shape(_PyChunk(buf, co)._compile(toff))[1]
    except Exception:           # not a template our reader reads: the Rust one may
        return False
    return bool(refs) and max(refs.values()) > 1


def _risky_inline(buf, co: int, free: int) -> bool:
    """:func:`_risky_chunks` for a chunk with an empty template table: the templates
    defined (or referenced) by its ``0x0C 0x01`` tokens, by CRC of their body."""
    end = co + free
    toffs: set[int] = set()
    q = buf.find(b"\x0c\x01", co + _RECORDS_START, end)
    n = 0
    while q != -1 and n < 4096:
        t = _U32.unpack_from(buf, q + 6)[0]
        if _RECORDS_START <= t < CHUNK_SIZE - 28 and t not in toffs \
                and buf[co + t + 24:co + t + 28] == b"\x0f\x01\x01\x00":
            toffs.add(t)
        n += 1
        q = buf.find(b"\x0c\x01", q + 2, end)
    for t in toffs:
        tsize = _U32.unpack_from(buf, co + t + 20)[0]
        if t + 24 + tsize > CHUNK_SIZE:
            continue
        with memoryview(buf) as mv:
            key = (tsize, zlib.crc32(mv[co + t + 24:co + t + 24 + tsize]))
        r = _RISKY.get(key)
        if r is None:
            r = _template_risky(buf, co, t)
            if len(_RISKY) < 4096:
                _RISKY[key] = r
        if r:
            return True
    return False


def _synthetic_header(n_chunks: int) -> bytes:
    """A clean file header for ``n_chunks`` chunks (libevtx's layout: signature, first and
    last chunk number, next record id, header size 128, version 3.1, block size 4096,
    chunk count, flags, CRC32 of the first 120 bytes), put in front of a damaged file's
    chunks so the Rust reader reads them. The reader walks the chunks that follow whatever
    the header counts; the record ids and times come from the chunks."""
    h = bytearray(HEADER_SIZE)
    h[:8] = FILE_MAGIC
    last = max(0, n_chunks - 1)
    struct.pack_into("<QQQIHHHH", h, 8, 0, last, 0, 128, 1, 3, HEADER_SIZE,
                     min(n_chunks, 0xFFFF))
    struct.pack_into("<I", h, 124, zlib.crc32(bytes(h[:120])))
    return bytes(h)


class _ShareView(io.RawIOBase):
    """A worker's share as the Rust reader sees it: the file header followed by the share's
    on-grid chunks, read straight from the mmap. (It used to be a ``BytesIO`` of a copy:
    16 MiB joined per share cost the worker 15-40 ms of copying and page faults, as much
    as a tenth of the share's parse.) ``header``: another file header than the file's own
    (:func:`_synthetic_header`, for a file whose header is damaged)."""

    def __init__(self, buf, offsets: list[int], header: bytes | None = None) -> None:
        super().__init__()
        self.buf, self.offsets = buf, offsets
        self.header = header
        # (only the last chunk can end short, at the end of a truncated file)
        self.size = HEADER_SIZE + (min(CHUNK_SIZE * len(offsets),
                                       len(buf) - offsets[-1] + CHUNK_SIZE * (len(offsets) - 1))
                                   if offsets else 0)
        self.pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self.pos, self.size)[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self.pos = base + offset
        return self.pos

    def readinto(self, b) -> int:
        # (a memoryview only for the call: one left open would keep the mmap from closing)
        with memoryview(b) as out, memoryview(self.buf) as mv:
            n = 0
            want = min(len(out), max(0, self.size - self.pos))
            while n < want:
                p = self.pos
                if p < HEADER_SIZE and self.header is not None:
                    k = min(HEADER_SIZE - p, want - n)
                    out[n:n + k] = self.header[p:p + k]
                    n += k
                    self.pos += k
                    continue
                if p < HEADER_SIZE:
                    src, room = p, HEADER_SIZE - p
                else:
                    slot, within = divmod(p - HEADER_SIZE, CHUNK_SIZE)
                    src, room = self.offsets[slot] + within, CHUNK_SIZE - within
                k = min(room, want - n, len(mv) - src)
                if k <= 0:
                    break
                out[n:n + k] = mv[src:src + k]
                n += k
                self.pos += k
            return n


# =========================================================================== entry point


def _parse_worker(args) -> _Part:
    path, backend, share, rel, deadline, folder = args
    part = _run(path, backend, share, rel, deadline, threads=1)
    part.cols._flush()          # send Arrow buffers back, not a batch of Python tuples
    if folder:
        part.cols.to_file(folder)
    return part


def _transfer_folder() -> str | None:
    """A private directory in /dev/shm (tmpfs: memory, never disk) through which workers
    hand their columns to the parent, or None (no /dev/shm: results are pickled).

    Pickled, a million-record log's ~600 MB of columns were copied through the pipe and
    again when unpickled: ~1.1 s of the parent's CPU on a 2-core machine, time taken from
    the workers (the 2-worker load 4.4 -> 3.9 s without it)."""
    if os.environ.get("RDPDOCTOR_NO_SHM") or not os.path.isdir("/dev/shm"):
        return None
    try:
        return tempfile.mkdtemp(prefix="rdpdoctor-", dir="/dev/shm")
    except OSError:
        return None


#: Below this many 64 KiB chunks (8 MiB) a process pool costs more than it saves.
PARALLEL_MIN_CHUNKS = 128


def parse(path: Path, options: ParseOptions | None = None) -> ParseResult:
    options = options or ParseOptions()
    path = Path(path)
    src = str(path)
    backend = choose_backend(options.evtx_backend)
    damaged = False
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(HEADER_SIZE)
            if size and not sniff(head[:8]):
                damaged = _header_damaged(head + fh.read(CHUNK_SIZE + 8), path.name)
    except OSError as e:
        raise ParserError(f"cannot read {path.name}: {e}") from e
    if size and not sniff(head[:8]) and not damaged:
        raise NotMyFormat(f"{path.name}: no ElfFile/ElfChnk signature")
    if size > options.max_bytes:
        raise BudgetExceeded(f"{path.name}: {size} bytes exceeds the per-file limit "
                             f"{options.max_bytes}")
    deadline = (_time.monotonic() + options.time_budget_s) if options.time_budget_s else None
    rel = options.relevance
    workers = max(1, int(options.workers or 1))
    n_chunks = max(0, (size - HEADER_SIZE) // CHUNK_SIZE)

    if workers > 1 and n_chunks >= max(2 * workers, PARALLEL_MIN_CHUNKS):
        parts = _parallel(src, backend, size, rel, deadline, workers, options.progress)
    else:
        parts = [_run(src, backend, None, rel, deadline, options.progress)]

    cols = _Columns.merge([p.cols for p in parts])
    duplicates = cols.duplicates
    frame = cols.frame()
    warnings = [ParseWarning(src, loc, msg) for p in parts for loc, msg in p.warnings]
    if damaged:
        warnings.insert(0, ParseWarning(src, "offset 0x0", "file header damaged (no ElfFile "
                                        "signature): chunks read by their own signature"))
    elif size and head[:8] == CHUNK_MAGIC:
        warnings.insert(0, ParseWarning(src, "offset 0x0", "no file header (the file starts "
                                        "with a chunk: carved or cut out of a log): chunks "
                                        "read by their own signature"))
    warnings += [ParseWarning(src, loc, msg) for loc, msg in cols.notes[:100]]
    if len(cols.notes) > 100:
        warnings.append(ParseWarning(src, "file", f"{len(cols.notes) - 100} more records "
                                     "cut to size"))
    # (the frame is in record-id order; strictly increasing ids, the common case: no
    # copies to look for)
    rids = cols.ids if len(frame) else np.array([], dtype="int64")
    hosts = cols.hosts if len(frame) else None
    if len(rids) > 1 and not (rids[1:] > rids[:-1]).all():
        rids = hosts = None                         # (recomputed from the frame below)
        dup = frame["record_id"].duplicated()
        if dup.any():
            # stale copies of a record (same id, time, provider, event): keep the first; a
            # *different* record with a known id (a carved or shadow-copy chunk of another
            # log) is kept, and said (review rvC)
            same = frame[["record_id", "time", "provider", "event_id"]].duplicated()
            duplicates += int(same.sum())
            if same.any():
                frame = frame[~same].reset_index(drop=True)
            ids = frame["record_id"]
            differ = ids[ids.duplicated(keep=False)]
            if len(differ):
                first = ", ".join(str(x) for x in differ.unique()[:10])
                warnings.append(ParseWarning(src, f"record {differ.iloc[0]}", f"{len(differ)} "
                                             "different records share a record id with "
                                             f"another (all kept): ids {first}"))
    if duplicates:
        warnings.append(ParseWarning(src, "file", f"{duplicates} duplicate copies of records "
                                     "(same id, time and event) dropped"))
    dropped: Counter = Counter()
    for p in parts:
        dropped.update(p.dropped)
    headers = sum(p.headers for p in parts)
    announced = sum(p.announced for p in parts)
    if rel is not None and all(p.read_ids is not None for p in parts):
        ids = _unique_sorted(np.concatenate([p.read_ids for p in parts]).astype(np.int64))
    elif rids is not None:
        ids = rids                                  # (strictly increasing)
    elif len(frame):
        ids = _unique_sorted(frame["record_id"].to_numpy(dtype="int64", na_value=0))
    else:
        ids = np.array([], dtype="int64")
    gaps, gap_count = _gaps(ids)
    stats: dict[str, Any] = {
        "records": len(frame),
        "records_expected": max(headers, announced),
        "bytes_read": size,
        "backend": backend,
        "chunks": sum(p.chunks for p in parts),
        "chunks_bad": sum(p.chunks_bad for p in parts),
        "skipped": [s for p in parts for s in p.skipped][:1000],
        "record_id_gaps": [list(g) for g in gaps],
        "record_id_gap_count": gap_count,
        "duplicates": duplicates,
        "dropped": dict(dropped),
        "rust_errors": sum(p.rust_errors for p in parts),
        "filled_in": sum(p.filled_in for p in parts),
        "workers": len(parts),
    }
    claimed = _header_chunk_count(head)
    slots = -(-max(0, size - HEADER_SIZE) // CHUNK_SIZE)
    if claimed is not None and claimed > slots:
        stats["chunks_missing"] = claimed - slots     # the accounting counts them as lost
        warnings.append(ParseWarning(src, "offset 0x2a", f"file header announces {claimed} "
                                     f"chunk(s) but the file has room for {slots} "
                                     f"({stats['chunks']} readable): truncated, or a damaged header"))
    if size > HEADER_SIZE and stats["chunks"] == 0:
        warnings.append(ParseWarning(src, f"offset {HEADER_SIZE:#x}", "no readable chunk "
                                     "after the file header: no event could be read"))
    if any(p.timed_out for p in parts):
        warnings.append(ParseWarning(src, "file", f"time budget of {options.time_budget_s}s "
                                     "exceeded; the rest of the file was not read"))
        stats["timed_out"] = True
    meta: dict[str, Any] = {}
    if hosts is None and len(frame):
        import pyarrow as pa
        hosts = pa.array(frame["host"].array)       # (its __arrow_array__: no copy)
    host = _host_mode(hosts)
    if host is not None:
        meta["host"] = host
    elif dropped:
        # every record was filtered out: the file still names its host (else it was taken
        # for "the bundle's only host" — another server's — or UNKNOWN; found by review)
        host = _file_host(src)
        if host:
            meta["host"] = host
    return ParseResult(frame=frame, warnings=warnings, stats=stats, meta=meta, parser="evtx")


def _host_mode(hosts) -> str | None:
    """``Series.dropna().mode().iloc[0]`` of an Arrow string column (None: all null): the
    most common host, the least in text order on a tie. One pass in Arrow (the Series
    route cost ~0.1 ms a file, most of a small log's parse)."""
    if hosts is None or hosts.null_count == len(hosts):
        return None
    import pyarrow.compute as pc
    counts = pc.value_counts(hosts)
    best = None
    for v, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()):
        if v is not None and (best is None or n > best[1] or (n == best[1] and v < best[0])):
            best = (v, n)
    return best[0]


def _file_host(path: str, limit: int = 16) -> str | None:
    """The host a log's newest records name: the most common ``Computer`` among the last
    ``limit`` records of the chunk holding the highest record ids (a tie: the one named
    last), decoded by our own reader (either backend; no record is rendered). The newest,
    not the first: a server renamed after setup logs its setup name first. None when none
    can be read."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size <= HEADER_SIZE:
                return None
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                chunks = sorted(walk_chunks(buf, size).chunks, key=lambda c: c.last,
                                reverse=True)
                pcs: dict[int, _PyChunk] = {}
                for ch in chunks[:4]:
                    recs = list(chunk_records(buf, ch, size, []))[-limit:]
                    hosts: dict[str, tuple[int, int]] = {}     # name: (count, last seen)
                    for n, (off, rsize, rid) in enumerate(recs):
                        try:
                            host = _decode_py(buf, pcs, ch, off, rsize, rid).computer
                        except Exception:     # (as the fill-in: garbage raises many kinds)
                            continue
                        if isinstance(host, str) and host.strip():
                            host = host.strip()
                            hosts[host] = (hosts.get(host, (0, 0))[0] + 1, n)
                    pcs.clear()
                    if hosts:
                        return max(hosts, key=hosts.__getitem__)
    except (OSError, ValueError):
        return None
    return None


def _header_chunk_count(head: bytes) -> int | None:
    """The chunk count an ``ElfFile`` header announces (u16 at 0x2a), or None."""
    if len(head) < 0x2c or head[:8] != FILE_MAGIC:
        return None
    return int.from_bytes(head[0x2a:0x2c], "little")


def _unique_sorted(a: np.ndarray) -> np.ndarray:
    """``np.unique`` for record ids: numpy 2.4's hash-based unique took ~1 s per million
    ids; a stable sort of nearly sorted ids (radix) and a neighbour compare take ~5 ms."""
    if len(a) < 2:
        return a.copy()
    a = np.sort(a, kind="stable")
    keep = np.empty(len(a), dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


def _gaps(ids: np.ndarray, limit: int = 100) -> tuple[list[tuple[int, int]], int]:
    """The first ``limit`` missing-id ranges of the sorted unique ``ids``, and how many ids
    are missing in all."""
    if len(ids) < 2:
        return [], 0
    ids = ids.astype(np.int64, copy=False)
    d = np.diff(ids)
    at = np.flatnonzero(d > 1)
    first = [(int(ids[i] + 1), int(ids[i + 1] - 1)) for i in at[:limit]]
    return first, int((d[at] - 1).sum())


def _parallel(src: str, backend: str, size: int, rel, deadline, workers: int,
              progress) -> list[_Part]:
    """Split the file into byte ranges of ≤ 16 MiB on the 64 KiB chunk grid and parse them
    in a process pool. Each worker finds the chunks starting in its own range (carved ones
    off the grid too), so the parent never reads the file."""
    with open(src, "rb") as fh:
        start = HEADER_SIZE if fh.read(8) == FILE_MAGIC else 0
    n_slots = max(1, -(-(size - start) // CHUNK_SIZE))
    per = max(1, min(256, -(-n_slots // workers)))
    cuts = [start + i * CHUNK_SIZE for i in range(0, n_slots, per)] + [size]
    cuts[0] = 0
    shares = list(zip(cuts[:-1], cuts[1:]))
    from concurrent.futures.process import BrokenProcessPool

    folder = _transfer_folder()
    try:
        with process_pool(workers) as ex:
            futs = [ex.submit(_parse_worker, (src, backend, sh, rel, deadline, folder))
                    for sh in shares]
            for n, _ in enumerate(as_done(futs), 1):
                if progress:
                    progress(n, len(shares))
            try:
                parts = [f.result() for f in futs]              # in share order
            except BrokenProcessPool as e:
                if not ex.memory_killed:
                    raise
                rss = max(r for _, r in ex.memory_killed)
                raise BrokenProcessPool(f"a parser process was killed at {rss >> 20} MiB of "
                                        "its own memory, over the parser processes' memory "
                                        "limit") from e
        for p in parts:
            if p.cols.file:
                p.cols.from_file()
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    return parts
