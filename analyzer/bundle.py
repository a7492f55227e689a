"""Open a customer's bundle safely, account for every file in it, parse what we recognise.

A bundle is a folder, a ``.zip``, a ``.tar``/``.tar.gz``/``.tgz``, or a single file. Archives
(also archives nested inside the bundle, up to ``Limits.max_depth`` levels) are extracted into
one private temporary directory that is removed before :func:`load` returns, also on Ctrl-C.
Folders and single files are read in place.

Safety rules (each violation is an inventory row with ``status="skipped"`` and a reason, never
an exception): member names that are absolute, carry a drive letter or UNC prefix, or climb
out with ``..`` are refused; symlinks, hard links and device files are not followed; every
member is extracted through a byte counter, so a member that inflates past
``Limits.max_member_bytes``, past ``Limits.max_ratio`` × its compressed size, or past the
bundle's ``Limits.max_total_bytes`` is cut off and refused, whatever its header claims.

Every file is identified by content (``parsers.identify``); the name is only a hint. The
host a file belongs to comes from the file's own content (evtx ``Computer``, systeminfo
``Host Name``, gpresult computer), else from the Microsoft MSRD-Collect / TSS folder layout
(``<PC>_EventLogs/``, ``<PC>_Netstat.txt``...), else — when the bundle names exactly one
host — that host.
"""
from __future__ import annotations

import bisect
import dataclasses
import hashlib
import io
import os
import re
import shutil
import signal
import stat
import struct
import tarfile
import tempfile
import threading
import time
import zipfile
import zlib
import contextlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd

import parsers
from parsers.base import (ParseOptions, ParseResult, ParseWarning, as_done, process_pool,
                          private_memory_of, worker_memory_limit)

from . import knowledge, timeline as tl
from .safetext import printable

HEAD_BYTES = 65536


@dataclass
class Limits:
    """Bounds for archive extraction. All configurable; defaults suit a 24 GiB machine."""

    max_total_bytes: int = 8 << 30      # everything extracted from one bundle
    max_member_bytes: int = 2 << 30     # one extracted member
    max_ratio: float = 200.0            # uncompressed / compressed, for members > 1 MiB
    max_members: int = 50_000           # files considered in one bundle
    max_depth: int = 3                  # archives inside archives
    file_time_budget_s: float | None = 20.0   # wall-clock budget for parsing one file,
    file_time_per_mb_s: float = 2.0             # ... plus this per MB of the file


@dataclass
class Member:
    """One file of the bundle: what it is and what became of it (an inventory row)."""

    source: str                         # path inside the bundle, posix separators
    size: int | None = None
    sha256: str | None = None
    container: str = ""                 # archive it came from ("" for the top level)
    real_path: Path | None = None       # where it can be read now (None if refused)
    kind: str = "unknown"
    parser: str = ""
    status: str = "pending"             # parsed | skipped | failed
    reason: str = ""
    records: int = 0
    records_expected: int | None = None
    warnings: int = 0
    host: str | None = None
    host_from: str | None = None        # content | path | bundle (its only host: assumed)
    stats: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # names that are not valid UTF-8 (surrogate-escaped) must not break reports
        self.source = printable(self.source)
        self.container = printable(self.container)

    def as_row(self) -> dict[str, Any]:
        st = self.stats
        return {
            "source": self.source, "container": self.container, "size": self.size,
            "sha256": self.sha256, "kind": self.kind, "parser": self.parser,
            "status": self.status, "reason": self.reason, "records": self.records,
            "records_expected": self.records_expected, "warnings": self.warnings,
            "host": self.host, "host_from": self.host_from, "bytes_read": st.get("bytes_read"),
            "skipped_ranges": len(st.get("skipped", []) or []) + int(st.get("skipped_more") or 0)
                              + (1 if st.get("chunks_missing") else 0),
            "dropped": sum((st.get("dropped") or {}).values()),
            "blocks": len(st.get("blocks", []) or []),
        }


INVENTORY_COLUMNS = ["source", "container", "size", "sha256", "kind", "parser", "status", "reason",
                     "records", "records_expected", "warnings", "host", "host_from", "bytes_read",
                     "skipped_ranges", "dropped", "blocks"]


class BundleError(Exception):
    """The bundle itself cannot be opened (missing path, not a bundle at all)."""


# ----------------------------------------------------------------------------- names

_DRIVE = re.compile(r"^[A-Za-z]:")


def safe_member_name(name: str) -> tuple[str | None, str]:
    """(normalised relative posix path, "") or (None, reason) for an archive member name."""
    if not name or "\x00" in name:
        return None, "empty or NUL in member name"
    n = name.replace("\\", "/")
    if n.startswith("//"):
        return None, "UNC path in member name"
    if n.startswith("/"):
        return None, "absolute path in member name"
    if _DRIVE.match(n):
        return None, "drive letter in member name"
    parts = [p for p in n.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None, "path traversal ('..') in member name"
    if not parts:
        return None, "empty member name"
    return "/".join(parts), ""


#: two Japanese characters in a row (kana or kanji). One alone is no proof: a Western
#: cp437 name decodes as cp932 now and then with one kana ("Château" → "Chフeau"); two
#: adjacent need four high bytes in the right ranges, which Western names do not have
_JP_RUN = re.compile("[\u3041-\u30ff\u4e00-\u9fff]{2}")


def _unicode_path_extra(info: zipfile.ZipInfo) -> str | None:
    """The UTF-8 name of Info-ZIP's Unicode Path extra field (0x7075), when its CRC matches
    the header's name bytes (a stale one is ignored, as the spec says)."""
    ex, i = info.extra or b"", 0
    while i + 4 <= len(ex):
        tag, size = struct.unpack_from("<HH", ex, i)
        body = ex[i + 4:i + 4 + size]
        i += 4 + size
        if tag == 0x7075 and len(body) >= 5 and body[0] == 1:
            try:
                raw = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
                if zlib.crc32(raw) == struct.unpack_from("<I", body, 1)[0]:
                    return body[5:].decode("utf-8")
            except (UnicodeError, struct.error):
                return None
    return None


def zip_member_names(infos: list[zipfile.ZipInfo]) -> dict[int, str]:
    """Member names as the customer's file manager showed them, for the members whose name
    zipfile decoded wrongly (index in ``infos`` → name).

    A name without the UTF-8 flag is cp437 by the zip spec, and zipfile reads it so; but
    Explorer on a Japanese Windows writes cp932 and other tools write UTF-8 without setting
    the flag, and the report would show mojibake that matches no file the customer has. Per
    archive: the Unicode Path extra field when present; else UTF-8 when every such name
    decodes as UTF-8; else cp932 when every one decodes to a name with two Japanese
    characters in a row (:data:`_JP_RUN`); else cp437 as written."""
    out: dict[int, str] = {}
    odd: list[tuple[int, bytes]] = []
    for n, info in enumerate(infos):
        if info.flag_bits & 0x800 or info.filename.isascii():
            continue
        up = _unicode_path_extra(info)
        if up:
            out[n] = up
            continue
        try:
            odd.append((n, info.orig_filename.encode("cp437")))
        except UnicodeEncodeError:
            pass
    for enc in ("utf-8", "cp932"):
        try:
            names = {n: raw.decode(enc) for n, raw in odd}
        except UnicodeDecodeError:
            continue
        if names and (enc == "utf-8" or all(_JP_RUN.search(v) for v in names.values())):
            out.update(names)
            break
    return out


# ----------------------------------------------------------------------------- hosts

_MSRD_DIR = re.compile(
    r"^(?P<pc>[A-Za-z0-9][A-Za-z0-9-]{0,62})_(EventLogs|Networking|SystemInfo|RegistryKeys|"
    r"Certificates|Logs|Gpresult|GPResult|RDS|Teams|AVD|Process|Policies)$")
_MSRD_FILE = re.compile(
    r"^(?P<pc>[A-Za-z0-9][A-Za-z0-9-]{0,62})_(Netstat|Tasklist|Qwinsta|Gpresult|GPResult|"
    r"SystemInfo|Systeminfo|System|Security|Application|HKLM|Microsoft-Windows|RDS|"
    r"TermService|Reg|Process)", re.IGNORECASE)


def host_from_path(source: str) -> str | None:
    """The computer name encoded by MSRD-Collect / TSS in a member's path, if any."""
    parts = PurePosixPath(source).parts
    for p in parts[:-1]:
        m = _MSRD_DIR.match(p)
        if m:
            return m.group("pc").upper()
    m = _MSRD_FILE.match(parts[-1]) if parts else None
    return m.group("pc").upper() if m else None


def normalize_host(h: Any) -> str | None:
    if h is None or (isinstance(h, float) and pd.isna(h)) or h is pd.NA:
        return None
    h = str(h).strip()
    if not h or h == "-":
        return None
    # an address, not a name: IPv4, or IPv6 (a colon; a bare hex word is a name: DC01)
    if re.fullmatch(r"[0-9.]+", h) or (":" in h and re.fullmatch(r"[0-9a-fA-F:.%]+", h)):
        return h
    return h.split(".")[0].upper()


def netbios_aliases(names: Iterable[str]) -> dict[str, str]:
    """``{NetBIOS name: full name}`` for hosts known under both: Windows cuts a computer
    name longer than 15 characters to its first 15 for NetBIOS (``%COMPUTERNAME%``, what
    MSRD-Collect names its folders by, systeminfo and gpresult print), while event logs
    keep the full DNS host name (``RDSH-PRODUCTION-01.contoso.com``). Only a 15-character
    name that exactly one longer name starts with is an alias (``-01`` and ``-02`` would
    both cut to the same name: then nothing tells which server it is)."""
    names = {n for n in names if n and n != "UNKNOWN"}
    longer: dict[str, list[str]] = {}
    for n in names:
        if len(n) > 15 and not re.fullmatch(r"[0-9.:a-fA-F%]+", n):
            longer.setdefault(n[:15], []).append(n)
    return {short: full[0] for short, full in longer.items()
            if short in names and len(full) == 1}


_EVENT_LOG_KINDS = frozenset({"evtx", "evt", "evtxml", "evtcsv"})

#: names an install's first records carry before the machine has its own: Windows setup's
#: (MINWINPC, MININT-…) and the build machines of Microsoft's images (37L4247F27-25). Not
#: the random defaults WIN-XXXXXXXXXXX / DESKTOP-XXXXXXX: many real servers keep them, and
#: two such servers in one merged log would become one (found by review)
_SETUP_NAME = re.compile(r"MINWINPC|MININT-[A-Z0-9]{7,}|\d{2}[A-Z]\d{4}[A-Z0-9]{1,3}-\d{2}")


def renamed_hosts(codes, names: list[str | None], order, renames: dict[str, str]) -> dict[str, str]:
    """``{old name: name it became}`` within one event log whose records name several hosts
    one after the other: a machine's own log keeps the name it had when each record was
    written, so a server renamed after setup shows its setup name first (the corpus holds
    MINWINPC → WIN-2TO3V41EH3L, and DESKTOP-M7P1NB6 → … → W10-1507-LTSB over four EventLog
    6011 renames). Each name must hold one run of records (``order``: record numbers, not
    times — setup sets the clock and the time zone while it runs, so its records' times
    overlap the next name's) that ends before the next begins (a forwarded or merged log
    interleaves its hosts), and an earlier name is taken for the next only when an EventLog
    6011 (``renames``) says so, or when it and every name before it are setup names
    (:data:`_SETUP_NAME`). Two servers one after the other in a merged log — each counts
    its own record numbers, so their runs need not interleave — stay apart."""
    frame = pd.DataFrame({"c": codes, "t": order})
    frame = frame[(frame["c"] >= 0) & frame["t"].notna()]
    if frame["c"].nunique() < 2:
        return {}
    span = frame.groupby("c")["t"].agg(["min", "max"]).sort_values("min")
    order = [names[c] for c in span.index]
    if any(a is None for a in order) or (span["min"].iloc[1:].to_numpy()
                                         < span["max"].iloc[:-1].to_numpy()).any():
        return {}
    out: dict[str, str] = {}
    setup = True                                  # every name so far is a setup name
    for old, new in zip(order, order[1:]):
        setup = setup and bool(_SETUP_NAME.fullmatch(old))
        if old != new and (setup or _renamed_to(old, new, renames)):
            out[old] = new
    for old in list(out):                         # a chain ends at its last name
        seen = {old}
        while out[old] in out and out[out[old]] not in seen:
            seen.add(out[old])
            out[old] = out[out[old]]
    return out


def _renamed_to(old: str, new: str, renames: dict[str, str]) -> bool:
    """Whether a chain of renames leads from ``old`` to ``new`` (a name in between may have
    no record of its own: DESKTOP-M7P1NB6 → WIN-UUNEEV45F79 → DESKTOP-8BGEHIF)."""
    seen = {old}
    while old in renames and renames[old] not in seen:
        old = renames[old]
        if old == new:
            return True
        seen.add(old)
    return False


def rename_events(frames) -> dict[str, str]:
    """``{old: new}`` from EventLog 6011 "The NetBIOS name and DNS host name of this machine
    have been changed from %1 to %2" in the given frames."""
    out: dict[str, str] = {}
    for df in frames:
        if not len(df) or "event_id" not in df:
            continue
        at = np.flatnonzero((df["event_id"] == 6011).fillna(False).to_numpy(dtype=bool))
        if not len(at):
            # (the id first, and no boolean indexing of the whole frame: even an empty
            # selection copied a million rows' Arrow strings, 0.4 s and 370 MiB)
            continue
        hit = tl.take(df, at)
        hit = hit[hit["provider"].astype("string").str.lower().str.endswith("eventlog")
                  .fillna(False).to_numpy(dtype=bool)]
        d = tl.fields(hit, "param1", "param2")
        for a, b in zip(d["param1"], d["param2"]):
            a, b = normalize_host(a), normalize_host(b)
            if a and b and a != b:
                out[a] = b
    return out


# ----------------------------------------------------------------------------- intake


def _sniff_archive(head: bytes) -> str | None:
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head[:2] == b"\x1f\x8b":
        return "tar.gz"
    if len(head) > 262 and head[257:262] == b"ustar":
        return "tar"
    if (head[:3] == b"BZh" and head[3:4] in b"123456789" and head[4:10] == b"1AY&SY") \
            or head[:6] == b"\xfd7zXZ\x00":
        return "tar"  # tarfile opens bz2/xz transparently
    return None


def _sniff_file(path: Path, head: bytes) -> str | None:
    """:func:`_sniff_archive`, plus a self-extracting zip (an ``MZ`` executable stub with
    the zip appended, which ``zipfile`` opens by its end record)."""
    arch = _sniff_archive(head)
    if arch is None and head[:2] == b"MZ":
        try:
            return "zip" if zipfile.is_zipfile(path) else None
        except OSError:
            return None
    return arch


def _utf8_flag_patches(path: Path) -> dict[int, bytes]:
    """{file offset: new flag bytes} for the central-directory entries whose name is flagged
    UTF-8 (general purpose bit 11) but is not valid UTF-8."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        tail_at = max(0, size - (1 << 16) - 22)
        fh.seek(tail_at)
        tail = fh.read()
        e = tail.rfind(b"PK\x05\x06")
        if e < 0:
            return {}
        cd_size, cd_off = struct.unpack("<II", tail[e + 12:e + 20])
        eocd = tail_at + e
        if cd_off == 0xFFFFFFFF or cd_size == 0xFFFFFFFF:
            return {}                             # zip64: not worth it for this repair
        start = eocd - cd_size                    # (a stub before the zip shifts cd_off)
        if start < 0 or cd_size > 64 << 20:
            return {}
        fh.seek(start)
        cd = fh.read(cd_size)
    out: dict[int, bytes] = {}
    shift = start - cd_off                        # bytes before the zip (a stub)
    pos = 0
    with open(path, "rb") as fh:
        while pos + 46 <= len(cd) and cd[pos:pos + 4] == b"PK\x01\x02":
            flags = struct.unpack_from("<H", cd, pos + 8)[0]
            n, m, k = struct.unpack_from("<HHH", cd, pos + 28)
            if flags & 0x800:
                try:
                    cd[pos + 46:pos + 46 + n].decode("utf-8")
                except UnicodeDecodeError:
                    out[start + pos + 8] = struct.pack("<H", flags & ~0x800)
                    # the local header carries the flag too: zipfile checks its name by it
                    lh = struct.unpack_from("<I", cd, pos + 42)[0] + shift
                    fh.seek(lh)
                    head = fh.read(8)
                    if head[:4] == b"PK\x03\x04":
                        lflags = struct.unpack_from("<H", head, 6)[0]
                        out[lh + 6] = struct.pack("<H", lflags & ~0x800)
            pos += 46 + n + m + k
    return out


class _Patched(io.RawIOBase):
    """A read-only file with a few bytes replaced (see :func:`_utf8_flag_patches`)."""

    def __init__(self, path: Path, patches: dict[int, bytes]):
        self._f = open(path, "rb")
        self._patches = patches
        # (sorted, to apply only the patches a read covers: walking every one per read made
        # intake of a zip with thousands of such names quadratic; found by review)
        self._offsets = sorted(patches)
        self._longest = max((len(v) for v in patches.values()), default=0)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()

    def readinto(self, b) -> int:
        pos = self._f.tell()
        n = self._f.readinto(b)
        lo = bisect.bisect_left(self._offsets, pos - self._longest)
        hi = bisect.bisect_left(self._offsets, pos + n)
        for off in self._offsets[lo:hi]:
            for i, byte in enumerate(self._patches[off]):
                if pos <= off + i < pos + n:
                    b[off + i - pos] = byte
        return n

    def close(self) -> None:
        self._f.close()
        super().close()


def _zip64_sizes(extra: bytes, usize: int, csize: int) -> tuple[int, int] | None:
    """(uncompressed, compressed) from a local header's zip64 extra field (id 1, holding
    only the sizes the header marks 0xFFFFFFFF, in that order), or None without one."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, n = struct.unpack_from("<HH", extra, pos)
        if tag == 1:
            field = extra[pos + 4:pos + 4 + n]
            got = []
            for declared in (usize, csize):
                if declared == 0xFFFFFFFF and len(field) >= 8 * (len(got) + 1):
                    got.append(struct.unpack_from("<Q", field, 8 * len(got))[0])
                else:
                    got.append(declared)
            return got[0], got[1]
        pos += 4 + n
    return None


def _deflate_end(path: Path, start: int, limits: "Limits") -> int | str:
    """Length of the raw deflate stream at ``start`` (inflated to nothing, in bounded
    steps), or why it cannot be told: cut, not deflate, or inflating past the limits."""
    d = zlib.decompressobj(-15)
    used = out = 0
    with open(path, "rb") as fh:
        fh.seek(start)
        while not d.eof:
            data = fh.read(1 << 16)
            if not data:
                return "cut by the end of the file"
            used += len(data)
            try:
                while data and not d.eof:
                    out += len(d.decompress(data, 1 << 20))
                    data = d.unconsumed_tail
            except zlib.error as e:
                return f"not a deflate stream: {e}"
            if out > limits.max_member_bytes or (out > 1 << 20
                                                 and out > limits.max_ratio * used):
                return "it inflates past the size or ratio limit"
    return used - len(d.unused_data)


def _data_descriptor(after: bytes, zip64: bool, usize: int) -> tuple[int, int]:
    """(length, uncompressed size) of the data descriptor that starts ``after``: an optional
    PK\\x07\\x08 signature, the CRC, then both sizes in 4 bytes (8 with zip64). The width is
    the one after which the next record begins (or the file ends)."""
    sig = 4 if after[:4] == b"PK\x07\x08" else 0
    for width in ((8,) if zip64 else (4, 8)):
        n = sig + 4 + 2 * width
        if len(after) == n or after[n:n + 2] == b"PK":
            fmt = "<Q" if width == 8 else "<I"
            return n, struct.unpack_from(fmt, after, sig + 4 + width)[0]
    return sig + 12, usize


class _LocalMember(io.RawIOBase):
    """A zip member read from its local header's data (stored or deflated), for a zip whose
    central directory is lost; inflated as it is read."""

    def __init__(self, path: Path, start: int, size: int, method: int) -> None:
        self._f = open(path, "rb")
        self._f.seek(start)
        self._left = size
        self._z = zlib.decompressobj(-15) if method == 8 else None
        self._buf = b""

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = (1 << 20) if n is None or n < 0 else n
        while len(self._buf) < n and (self._left or (self._z is not None
                                                     and self._z.unconsumed_tail)):
            if self._z is not None and self._z.unconsumed_tail:
                data = self._z.unconsumed_tail
            else:
                data = self._f.read(min(self._left, 1 << 16))
                if not data:
                    raise EOFError("the member's data ends early")
                self._left -= len(data)
            self._buf += self._z.decompress(data, n) if self._z is not None else data
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._f.close()
        super().close()


class _ReadCap:
    """A tar stream whose single reads are bounded: tarfile reads a GNU long name or a pax
    header whole, as one read of the size its header announces — a 600 KB .tgz announcing
    a 750 MB name took 750 MB before any bomb check could run (found by review). Members
    are read in chunks of at most 1 MiB, so only such headers meet the cap."""

    CAP = 16 << 20

    def __init__(self, stream) -> None:
        self.stream = stream

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0 or n > self.CAP:
            raise tarfile.ReadError(f"a tar header announces {n} bytes of name or extended "
                                    f"header data (more than {self.CAP}): not read")
        return self.stream.read(n)

    def __getattr__(self, name):
        return getattr(self.stream, name)


class _CappedTar(tarfile.TarFile):
    """``tarfile.TarFile`` reading through :class:`_ReadCap` (from the first header on:
    opening an archive reads its first member's header already)."""

    def next(self):
        if not isinstance(self.fileobj, _ReadCap):
            self.fileobj = _ReadCap(self.fileobj)
        return super().next()


def _stream_errors() -> tuple[type[BaseException], ...]:
    """What reading a damaged archive stream raises (zip, tar, gz, bz2, xz)."""
    import lzma
    import zlib
    return (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, NotImplementedError,
            RuntimeError, ValueError, zlib.error, lzma.LZMAError)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:300]


class _Intake:
    """Walks the bundle, extracting archives into ``tmp``; yields Members."""

    def __init__(self, limits: Limits, tmp: Path, defer_deep_look: bool = False):
        self.limits = limits
        self.tmp = tmp
        #: the parse stage runs in parallel: an unrecognised text member is written for its
        #: deeper look there (:func:`_defer_deep_look`) rather than looked at here
        self.defer_deep_look = defer_deep_look
        self.total = 0
        self.count = 0
        self.members: list[Member] = []
        self._n = 0
        self._open_files: list[io.RawIOBase] = []

    # -- helpers
    def _add(self, m: Member) -> Member:
        self.members.append(m)
        return m

    def _refuse(self, source: str, container: str, reason: str, size: int | None = None) -> None:
        self._add(Member(source=source, container=container, status="skipped", reason=reason,
                         size=size, kind="refused"))

    def _slot(self, rel: str) -> Path:
        """A fresh file name in the private temp dir; the member's own name is only kept as
        a sanitised suffix (it never decides where we write)."""
        self._n += 1
        base = re.sub(r"[^A-Za-z0-9._-]", "_", PurePosixPath(rel).name)[-80:] or "member"
        return self.tmp / f"m{self._n:07d}_{base}"

    def _copy_bounded(self, src, dst: Path | None, compressed: int | None,
                      prefix: bytes = b"") -> tuple[int, str, str]:
        """Copy a stream (after ``prefix``, already read from it) into dst — or nowhere when
        dst is None — hashing and counting; returns (size, sha256, refusal reason or "")."""
        lim = self.limits
        h = hashlib.sha256()
        n = 0
        out = open(dst, "wb") if dst is not None else None
        try:
            chunk = prefix
            while True:
                if not chunk:
                    chunk = src.read(1 << 20)
                    if not chunk:
                        break
                n += len(chunk)
                why = ""
                if n > lim.max_member_bytes:
                    why = f"member larger than {lim.max_member_bytes} bytes (limit)"
                elif self.total + n > lim.max_total_bytes:
                    why = f"bundle larger than {lim.max_total_bytes} bytes extracted (limit)"
                elif compressed is not None and n > (1 << 20) and n > lim.max_ratio * max(compressed, 1):
                    why = (f"compression ratio above {lim.max_ratio:g}:1 "
                           f"({compressed} bytes compressed) — possible zip bomb")
                if why:
                    # what was inflated to find out counts too: twenty entries pointing at
                    # one 2 GiB stream must not cost twenty times 2 GiB of work
                    self.total += n
                    return n, "", why
                h.update(chunk)
                if out is not None:
                    out.write(chunk)
                chunk = b""
        finally:
            if out is not None:
                out.close()
        self.total += n
        return n, h.hexdigest(), ""

    def _take(self, src, rel: str, source: str, container: str, depth: int,
              compressed: int | None, declared: int | None) -> None:
        """One archive member: sniff its head in memory; only members some parser (or the
        archive reader) wants are written to the temp dir, the rest are hashed and listed."""
        head = b""
        while len(head) < HEAD_BYTES:
            chunk = src.read(HEAD_BYTES - len(head))
            if not chunk:
                break
            head += chunk
        wanted = bool(head) and (_sniff_archive(head) is not None or head[:2] == b"MZ"
                                 or parsers.identify(head, PurePosixPath(rel).name) is not None)
        if not wanted and self.defer_deep_look and _defer_deep_look(head, declared):
            # a text longer than the head nothing recognised: written, and the parse stage
            # looks deeper in its workers (as for a loose file), listing it unknown there
            # as here if it holds no known output (a look here, up to 2 MiB a member, runs
            # one member after another while the workers wait; review)
            wanted = True
        elif not wanted and head:
            # the deeper look a loose file gets (a diag log whose netstat follows hundreds
            # of KB of `ipconfig /displaydns`, or 9 KiB of `ipconfig /all`): a zipped copy
            # was "not recognised" (review)
            while HEAD_BYTES <= len(head) < DEEP_TEXT_BYTES:   # (a shorter head is all)
                chunk = src.read(DEEP_TEXT_BYTES - len(head))
                if not chunk:
                    break
                head += chunk
            wanted = _deep_text_in(head, short=len(head) < HEAD_BYTES) is not None
        dst = self._slot(rel) if wanted else None
        n, digest, refusal = self._copy_bounded(src, dst, compressed, prefix=head)
        if refusal:
            if dst is not None:
                dst.unlink(missing_ok=True)
            self._refuse(source, container, refusal, size=declared)
            return
        if dst is None:
            self._add(Member(source=source, container=container, size=n, sha256=digest,
                             kind="empty" if n == 0 else "unknown", status="skipped",
                             reason="empty file (0 bytes)" if n == 0
                             else "content not recognised by any parser"))
            return
        self.add_path(dst, source, container, depth, sha256=digest)

    def _declared_refusal(self, size: int, compressed: int) -> str:
        """Why a member is refused from the sizes its archive declares, before a byte of it
        is inflated ("" when it may be read; the reading is still bounded)."""
        lim = self.limits
        if size > lim.max_member_bytes:
            return f"member larger than {lim.max_member_bytes} bytes (limit; {size} declared)"
        if self.total + size > lim.max_total_bytes:
            return f"bundle larger than {lim.max_total_bytes} bytes extracted (limit)"
        if compressed and size > (1 << 20) and size > lim.max_ratio * compressed:
            return (f"compression ratio above {lim.max_ratio:g}:1 ({compressed} bytes "
                    "compressed) — possible zip bomb")
        return ""

    def _budget_ok(self, source: str, container: str) -> bool:
        self.count += 1
        if self.count > self.limits.max_members:
            if self.count == self.limits.max_members + 1:
                self._refuse(source, container,
                             f"more than {self.limits.max_members} files in the bundle; "
                             "this and the following files were not read")
            return False
        return True

    # -- entry points
    def add_path(self, path: Path, source: str, container: str, depth: int,
                 sha256: str | None = None) -> None:
        """A real file (top-level single file, folder file, or extracted member)."""
        try:
            with open(path, "rb") as fh:
                head = fh.read(HEAD_BYTES)
        except OSError as e:
            self._refuse(source, container, f"unreadable: {e.strerror or e}")
            return
        arch = _sniff_file(path, head)
        if arch:
            if depth >= self.limits.max_depth:
                self._refuse(source, container, f"archive nested deeper than {self.limits.max_depth} levels",
                             size=path.stat().st_size)
                return
            self._add(Member(source=source, container=container, size=path.stat().st_size,
                             sha256=sha256 or file_sha256(path), kind="archive", status="parsed",
                             reason=f"{arch} archive, members listed separately", real_path=None))
            if arch == "zip":
                self.add_zip(path, source, depth + 1)
            else:
                self.add_tar(path, source, depth + 1)
            return
        self._add(Member(source=source, container=container, size=path.stat().st_size,
                         sha256=sha256 or file_sha256(path), real_path=path))

    def add_folder(self, root: Path) -> None:
        root = root.resolve()

        def unreadable(e: OSError) -> None:       # a folder os.walk cannot list
            where = Path(e.filename) if e.filename else root
            rel = where.relative_to(root).as_posix() if where != root else "."
            self._refuse(rel + "/", "", f"folder unreadable: {e.strerror or e}; its files "
                         "were not read")

        for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=unreadable):
            dirnames.sort()
            d = Path(dirpath)
            for name in sorted(filenames) + sorted(x for x in dirnames if (d / x).is_symlink()):
                p = d / name
                source = p.relative_to(root).as_posix()
                if not self._budget_ok(source, ""):
                    continue
                try:
                    st = os.lstat(p)
                except OSError as e:
                    self._refuse(source, "", f"unreadable: {e}")
                    continue
                if stat.S_ISLNK(st.st_mode):
                    self._refuse(source, "", "symbolic link (not followed)")
                    continue
                if not stat.S_ISREG(st.st_mode):
                    self._refuse(source, "", "not a regular file")
                    continue
                self.add_path(p, source, "", 0)

    def add_zip(self, path: Path, container: str, depth: int) -> None:
        try:
            zf = zipfile.ZipFile(path)
            infos = zf.infolist()
        except UnicodeDecodeError as e:
            # a name flagged UTF-8 that is not: zipfile gives up on the whole archive. Read
            # it with those names' flag cleared (they decode as cp437, as unflagged ones do)
            zf = None
            try:
                patched = _utf8_flag_patches(path)
                if patched:
                    fh = _Patched(path, patched)
                    self._open_files.append(fh)   # zipfile does not close a file it is given
                    zf = zipfile.ZipFile(fh)
                    infos = zf.infolist()
            except (UnicodeDecodeError, *_stream_errors()):
                zf = None
            if zf is None:
                self._mark_container_failed(container, "corrupt zip: a member name marked UTF-8 "
                                            f"is not UTF-8 ({_one_line(e)})")
                return
        except _stream_errors() as e:
            if self._zip_without_directory(path, container, depth, e):
                return
            self._mark_container_failed(container, f"corrupt zip: {_one_line(e)}")
            return
        seen: set[str] = set()
        offsets: dict[int, str] = {}
        names = zip_member_names(infos)
        with zf, contextlib.ExitStack() as closing:
            for fh in self._open_files:
                closing.callback(fh.close)
            self._open_files = []
            for n, info in enumerate(infos):
                raw = names.get(n, info.filename)
                if info.is_dir():
                    if info.file_size or info.compress_size:
                        self._refuse(printable(f"{container}/{raw}" if container else raw),
                                     container, f"folder entry carrying {info.file_size} bytes "
                                     "of data (not read)", size=info.file_size)
                    continue
                named = self._member_source(raw, container)
                if named is None:
                    continue
                rel, source = named
                mode = (info.external_attr >> 16) & 0o170000
                if mode == stat.S_IFLNK:
                    self._refuse(source, container, "symbolic link in zip (not followed)")
                    continue
                if source in seen:
                    source = f"{source}#dup{len(seen)}"
                seen.add(source)
                if info.flag_bits & 0x1:
                    self._refuse(source, container, "encrypted zip member", size=info.file_size)
                    continue
                why = self._declared_refusal(info.file_size, info.compress_size)
                if not why and info.header_offset in offsets:
                    why = (f"its data is that of {offsets[info.header_offset]} (overlapping "
                           "entries: a crafted zip)")
                if why:
                    self._refuse(source, container, why, size=info.file_size)
                    continue
                offsets[info.header_offset] = source
                if self.total > self.limits.max_total_bytes:
                    self._refuse(source, container, "bundle larger than "
                                 f"{self.limits.max_total_bytes} bytes extracted (limit)",
                                 size=info.file_size)
                    continue
                try:
                    with zf.open(info) as src:
                        self._take(src, rel, source, container, depth, info.compress_size,
                                   info.file_size)
                except _stream_errors() as e:
                    self._refuse(source, container, f"cannot extract: {_one_line(e)}",
                                 size=info.file_size)

    def _member_source(self, raw: str, container: str) -> tuple[str, str] | None:
        """(safe relative name, source) of an archive member, or None when it is refused (an
        unsafe name: said in the inventory) or over the member budget."""
        rel, why = safe_member_name(raw)
        source = f"{container}/{rel}" if (container and rel) else (rel or raw)
        if not self._budget_ok(source, container):
            return None
        if rel is None:
            self._refuse(printable(f"{container}/{raw}" if container else raw), container, why)
            return None
        return rel, source

    def _zip_without_directory(self, path: Path, container: str, depth: int,
                               error: BaseException) -> bool:
        """A zip whose central directory is gone (an upload cut short, a copy stopped): the
        members before the cut are read from their local headers, as ``unzip -FF`` does, the
        rest is said lost. False when the file holds no local header to start from."""
        with open(path, "rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                return False
        size = path.stat().st_size
        seen: set[str] = set()
        read = 0
        stop = ""
        unreadable = False          # stopped at a member whose end cannot be found
        with open(path, "rb") as fh:
            pos = 0
            while True:
                fh.seek(pos)
                head = fh.read(30)
                if head[:4] != b"PK\x03\x04":
                    if head[:4] not in (b"PK\x01\x02", b"PK\x05\x06", b"PK\x07\x08"):
                        stop = f"no local header at offset {pos}"
                    break
                if len(head) < 30:
                    stop = f"cut inside the local header at offset {pos}"
                    break
                (flags, method, _t, _d, _crc, csize, usize, nlen,
                 xlen) = struct.unpack_from("<HHHHIIIHH", head, 6)
                raw_name = fh.read(nlen)
                extra = fh.read(xlen)
                if len(raw_name) < nlen or len(extra) < xlen:
                    stop = f"cut inside the local header at offset {pos}"
                    break
                start = pos + 30 + nlen + xlen
                name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
                zip64 = _zip64_sizes(extra, usize, csize)
                if zip64:
                    usize, csize = zip64
                if method not in (0, 8):
                    stop = f"{name}: its compression method {method} is not read"
                    unreadable = True
                    break
                tail = 0
                if flags & 0x8:
                    # sizes after the data (a data descriptor: streaming zippers, macOS
                    # Archive Utility): a deflated member's end is where its stream ends
                    ends = (_deflate_end(path, start, self.limits) if method == 8
                            else "stored, with its size after the data")
                    if isinstance(ends, str):
                        stop = f"{name}: its end cannot be found ({ends})"
                        unreadable = True
                        break
                    csize = ends
                    fh.seek(start + csize)
                    tail, usize = _data_descriptor(fh.read(32), zip64 is not None, usize)
                if start + csize + tail > size:
                    stop = f"{name}: cut by the end of the file"
                    break
                pos = start + csize + tail
                if name.endswith("/"):
                    continue
                named = self._member_source(name, container)
                if named is None:
                    continue
                rel, source = named
                if source in seen:
                    source = f"{source}#dup{len(seen)}"
                seen.add(source)
                if flags & 0x1:
                    self._refuse(source, container, "encrypted zip member", size=usize)
                    continue
                why = self._declared_refusal(usize, csize)
                if why:
                    self._refuse(source, container, why, size=usize)
                    continue
                try:
                    with _LocalMember(path, start, csize, method) as src:
                        self._take(src, rel, source, container, depth, csize, usize)
                    read += 1
                except _stream_errors() as e:
                    self._refuse(source, container, f"cannot extract: {_one_line(e)}",
                                 size=usize)
        if not read and not seen and not unreadable:
            return False
        self._add(Member(source=container or "(bundle)", container=container,
                         status="failed", kind="archive",
                         reason=f"zip without its central directory ({_one_line(error)}; "
                                f"truncated?): {read} member(s) read from their local headers"
                                + (f"; stopped: {stop} — the members after it were not read"
                                   if stop else "")))
        return True

    def add_tar(self, path: Path, container: str, depth: int) -> None:
        try:
            tf = _CappedTar.open(path, "r:*")
        except tarfile.ReadError as e:
            if self._gzip_single(path, container, depth):
                return
            self._mark_container_failed(container, f"corrupt tar: {_one_line(e)}")
            return
        except _stream_errors() as e:
            self._mark_container_failed(container, f"corrupt tar: {_one_line(e)}")
            return
        lim = self.limits
        packed = max(path.stat().st_size, 1)
        seen: set[str] = set()
        source = None
        with tf:
            try:
                while True:
                    info = tf.next()
                    if info is None:
                        break
                    tf.members.clear()            # tarfile keeps every header otherwise
                    source = None
                    # the stream is inflated to reach each header: bound what that costs
                    end = info.offset_data + (info.size if info.isreg() else 0)
                    if end > lim.max_total_bytes or (end > (1 << 20)
                                                     and end > lim.max_ratio * packed):
                        self._refuse(printable(f"{container}/{info.name}" if container
                                                else info.name), container,
                                     f"the archive inflates past {lim.max_ratio:g}:1 of its "
                                     f"{packed} bytes or past {lim.max_total_bytes} bytes "
                                     "(limit) — possible tar bomb; this and the following "
                                     "members were not read", size=info.size)
                        return
                    if info.isdir():
                        continue
                    rel, why = safe_member_name(info.name)
                    source = f"{container}/{rel}" if (container and rel) else (rel or info.name)
                    if not self._budget_ok(source, container):
                        return                    # the refusal row says the rest was not read
                    if rel is None:
                        self._refuse(printable(f"{container}/{info.name}" if container else info.name),
                                     container, why)
                        continue
                    if info.issym():
                        self._refuse(source, container, "symbolic link in tar (not followed)")
                        continue
                    if info.islnk():
                        self._refuse(source, container, "hard link in tar (not followed)")
                        continue
                    if not info.isfile():
                        self._refuse(source, container, "device or special file in tar")
                        continue
                    if source in seen:
                        source = f"{source}#dup{len(seen)}"
                    seen.add(source)
                    why = self._declared_refusal(info.size, 0)
                    if why:
                        self._refuse(source, container, why, size=info.size)
                        continue
                    src = tf.extractfile(info)
                    if src is None:
                        self._refuse(source, container, "cannot extract tar member")
                        continue
                    # tar is not compressed per member: the ratio is checked on the stream
                    self._take(src, rel, source, container, depth, None, info.size)
                    source = None
                self._check_tar_end(tf, container, path)
            except _stream_errors() as e:
                if source is not None:            # the stream ended inside this member
                    self._refuse(source, container, "the archive ends inside this member "
                                 f"(truncated): {_one_line(e)}")
                self._add(Member(source=container or "(bundle)", container=container,
                                 status="failed", kind="archive",
                                 reason=f"tar truncated or corrupt: {_one_line(e)}; the "
                                        "members after it were not read"))

    def _check_tar_end(self, tf: tarfile.TarFile, container: str, path: Path) -> None:
        """tarfile stops quietly at a damaged header after the first: data after the point
        where it stopped (not the zero blocks of the end marker) means members were lost."""
        try:
            fo = tf.fileobj
            if fo.tell() > tf.offset and not isinstance(getattr(fo, "stream", fo),
                                                        io.BufferedReader):
                # a compressed stream seeks back by decompressing from its start again: read
                # on instead (after a damaged header come its member's data, not zeros)
                rest = fo.read(8192)
            else:
                fo.seek(tf.offset)
                rest = fo.read(8192)
        except _stream_errors() as e:             # e.g. xz's check fails at the block's end
            self._add(Member(source=container or "(bundle)", container=container,
                             status="failed", kind="archive",
                             reason=f"tar truncated or corrupt after offset {tf.offset}: "
                                    f"{_one_line(e)}"))
            return
        if rest.strip(b"\0"):
            self._add(Member(source=container or "(bundle)", container=container,
                             status="failed", kind="archive",
                             reason=f"damaged tar header at offset {tf.offset}: the members "
                                    "after it were not read"))

    def _gzip_single(self, path: Path, container: str, depth: int) -> bool:
        """A gzip file that holds no tar (``System.evtx.gz``): its one file, bounded like a
        member. False when it is not gzip."""
        import gzip

        with open(path, "rb") as fh:
            if fh.read(2) != b"\x1f\x8b":
                return False
        name = path.name[:-3] if path.name.lower().endswith(".gz") else path.name + ".out"
        if container:
            inner = PurePosixPath(container).name
            name = inner[:-3] if inner.lower().endswith(".gz") else inner + ".out"
        source = f"{container}/{name}" if container else name
        try:
            with gzip.open(path, "rb") as src:
                self._take(src, name, source, container, depth, path.stat().st_size, None)
        except _stream_errors() as e:
            self._refuse(source, container, f"cannot decompress: {_one_line(e)}")
        return True

    def _mark_container_failed(self, container: str, reason: str) -> None:
        for m in reversed(self.members):
            if m.source == container and m.kind == "archive":
                m.status, m.reason = "failed", reason
                return
        self._add(Member(source=container or "(bundle)", status="failed", reason=reason, kind="archive"))


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks (inventory and batch resume keys)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ----------------------------------------------------------------------------- parsing


class _TimeUp(BaseException):
    """Raised by the per-file watchdog (BaseException: parsers' ``except Exception`` must
    not swallow it)."""


@contextmanager
def _watchdog(seconds: float | None):
    """Interrupt the current parse after ``seconds`` (POSIX main thread only; else no-op)."""
    if (not seconds or not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()):
        yield
        return

    def _alarm(signum, frame):
        raise _TimeUp()

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _parse_one(real_path: str, source: str, options: ParseOptions,
               budget: float | None = None) -> tuple[str, str, ParseResult | None, str]:
    """Identify and parse one file. Returns (parser name, kind, result, failure reason)."""
    try:
        with _watchdog(budget):
            return _parse_one_inner(real_path, source, options)
    except _TimeUp:
        return "", "timeout", None, f"parsing exceeded the per-file time budget ({budget:g} s)"


#: How far into an unrecognised text file to look for command outputs (a diag log may
#: start with hundreds of KB of ``ipconfig /displaydns`` before its netstat).
DEEP_TEXT_BYTES = 2 << 20


#: An unrecognised text member up to this size (as its archive declares it) may be written
#: for the parse stage's deeper look; a bigger one is looked at during the intake (its first
#: 2 MiB), not written whole to the temp dir to find out it is nothing.
DEFER_TEXT_BYTES = 4 * DEEP_TEXT_BYTES


def _defer_deep_look(head: bytes, declared: int | None) -> bool:
    """Whether an archive member nothing recognised by ``head`` (its first
    :data:`HEAD_BYTES`) may be written for the deeper look in the parse stage: a text longer
    than the head (a shorter one is all read: looked at in place, cheaply) of a declared
    size up to :data:`DEFER_TEXT_BYTES`."""
    from parsers import text as T
    return (len(head) == HEAD_BYTES and declared is not None
            and declared <= DEFER_TEXT_BYTES and T.is_text(head))


def _deep_text_look(path: Path):
    """The textlog parser when a text file longer than the sniffed head holds command
    outputs further down; else None."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(DEEP_TEXT_BYTES)
    except OSError:
        return None
    return _deep_text_in(data)


def _deep_text_in(data: bytes, short: bool = False):
    """:func:`_deep_text_look` on the first :data:`DEEP_TEXT_BYTES` of a file (or on all of
    a shorter one): the textlog parser when a known output stands anywhere in it
    (:func:`parsers.textlog.sniff_deep`). ``short``: ``data`` is a whole file shorter than
    the sniffed head — a note or README as often as a log —, where only an output under a
    prompt or banner naming its command counts."""
    from parsers import text as T, textlog
    if not data or not T.is_text(data[:HEAD_BYTES]):
        return None
    return textlog if textlog.sniff_deep(T.decode(data).text, introduced_only=short) else None


def _parse_one_inner(real_path: str, source: str, options: ParseOptions):
    path = Path(real_path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError as e:
        return "", "unknown", None, f"unreadable: {e}"
    if not head:
        return "", "empty", None, "empty file (0 bytes)"
    mod = parsers.identify(head, PurePosixPath(source).name)
    if mod is None:
        # the sniffers read the first lines (regquery 8 KiB, netstat 200 lines): an output
        # further down is found by the deeper look — in a file shorter than the head only
        # under a prompt or banner naming its command (a short text is a note as often)
        mod = _deep_text_look(path) if len(head) == HEAD_BYTES else \
            _deep_text_in(head, short=True)
    if mod is None:
        return "", "unknown", None, "content not recognised by any parser"
    try:
        res = mod.parse(path, options)
    except parsers.ParserError as e:
        return mod.INFO.name, mod.INFO.kind, None, f"{type(e).__name__}: {e}"
    except MemoryError:
        return mod.INFO.name, mod.INFO.kind, None, "out of memory while parsing"
    except Exception as e:  # a parser bug must not stop the bundle
        return mod.INFO.name, mod.INFO.kind, None, f"parser crashed: {type(e).__name__}: {e}"
    # rewrite warning sources to the in-bundle path
    res.warnings = [ParseWarning(source, w.locator, w.message) for w in res.warnings]
    unfit = res.frame.attrs.pop("unfit", None) if res.frame is not None else None
    for loc, why in (unfit or ())[:100]:
        res.warnings.append(ParseWarning(source, loc, why))
    if unfit and len(unfit) > 100:
        res.warnings.append(ParseWarning(source, "file", f"{len(unfit) - 100} more values "
                                                         "that fit no integer column"))
    return mod.INFO.name, mod.INFO.kind, res, ""


# ----------------------------------------------------------------------------- the bundle


@dataclass
class Bundle:
    """A loaded bundle: the timeline, the inventory and the warnings. See :func:`load`."""

    path: str
    timeline: pd.DataFrame
    inventory: pd.DataFrame
    warnings: list[ParseWarning]
    hosts: list[str]
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)  # per host: os, capture...
    members: list[Member] = field(default_factory=list)
    _config: pd.DataFrame | None = None

    @property
    def config(self) -> pd.DataFrame:
        """The effective RDP configuration per host (see ``analyzer.config``)."""
        if self._config is None:
            from . import config as _config
            self._config = _config.effective_config(self)
        return self._config

    def warnings_frame(self) -> pd.DataFrame:
        return pd.DataFrame([w.as_dict() for w in self.warnings],
                            columns=["source", "locator", "message"])


def load(path: str | os.PathLike, *, evtx_backend: str = "auto", relevant_only: bool = False,
         limits: Limits | None = None, workers: int = 1,
         progress: Callable[[int, int, str], None] | None = None) -> Bundle:
    """Open ``path`` (folder, zip, tar, tar.gz or single file) and build its timeline.

    ``relevant_only`` keeps only events a detector or the report can use (counts of the rest
    are kept per member in the inventory). ``workers`` > 1 parses files in parallel
    processes. ``progress(done, total, source)`` is called after each file.
    """
    p = Path(path)
    if not p.exists():
        raise BundleError(f"no such file or folder: {path}")
    limits = limits or Limits()
    options = ParseOptions(evtx_backend=evtx_backend,
                           relevance=knowledge.relevance() if relevant_only else None)
    tmp = Path(tempfile.mkdtemp(prefix="rdpdoctor-"))
    try:
        intake = _Intake(limits, tmp, defer_deep_look=workers > 1)
        if p.is_dir():
            intake.add_folder(p)
        elif p.is_file():
            with open(p, "rb") as fh:
                arch = _sniff_file(p, fh.read(HEAD_BYTES))
            if arch == "zip":          # the bundle itself: members are relative to it
                intake.add_zip(p.resolve(), "", 1)
            elif arch:
                intake.add_tar(p.resolve(), "", 1)
            else:
                intake.add_path(p.resolve(), p.name, "", 0)
        else:
            raise BundleError(f"not a regular file or folder: {path}")
        members = intake.members
        broken = [m for m in members if m.source == "(bundle)" and m.status == "failed"]
        if broken and not any(m.status in ("pending", "parsed") for m in members):
            # the bundle itself is a damaged archive and nothing in it could be read
            raise BundleError(f"{path}: {broken[0].reason}")
        todo = [m for m in members if m.real_path is not None and m.status == "pending"]
        results = _run_parsers(todo, options, workers, progress, limits)
        _reparse_local_time_exports(todo, results, options, limits)
        return _assemble(str(path), members, results)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _budget(m: Member, limits: Limits) -> float | None:
    if not limits.file_time_budget_s:
        return None
    return limits.file_time_budget_s + limits.file_time_per_mb_s * (m.size or 0) / 1e6


def _run_parsers(todo: list[Member], options: ParseOptions, workers: int,
                 progress, limits: Limits) -> dict[int, tuple]:
    results: dict[int, tuple] = {}
    total = len(todo)
    done = 0
    # a big event log is split by chunks over the workers (parsers.evtx); the other files
    # are spread over a pool, one file per task
    big = [m for m in todo if workers > 1 and _is_big_evtx(m)]
    split = dataclasses.replace(options, workers=workers)
    for m in big:
        results[id(m)] = _parse_one(str(m.real_path), m.source, split, _budget(m, limits))
        if "BrokenProcessPool" in results[id(m)][3] and split.evtx_backend != "python":
            # a chunk worker died (the Rust reader aborts on a failed allocation): once
            # more with our own reader, whose records are budgeted (review rvC)
            again = _parse_one(str(m.real_path), m.source,
                               dataclasses.replace(split, evtx_backend="python"),
                               _budget(m, limits))
            results[id(m)] = _after_death(m, results[id(m)][3], again, None)
        done += 1
        if progress:
            progress(done, total, m.source)
    rest = [m for m in todo if id(m) not in results]
    if workers > 1 and len(rest) > 1:
        died: list[Member] = []
        with process_pool(workers) as ex:
            futs = {ex.submit(_parse_one, str(m.real_path), m.source, options, _budget(m, limits)): i
                    for i, m in enumerate(rest)}
            for fut in as_done(futs):
                i = futs[fut]
                try:
                    results[id(rest[i])] = fut.result()
                except Exception as e:  # worker died (e.g. killed by the OOM killer)
                    results[id(rest[i])] = ("", "unknown", None, f"parser process failed: {e}")
                    died.append(rest[i])
                done += 1
                if progress:
                    progress(done, total, rest[i].source)
        # a dead worker breaks the whole pool: every file it had not finished failed with
        # it. Each is parsed again alone in a fresh process; the one that kills its process
        # again is, for an event log, read with the python backend (review rvC: an abort in
        # the Rust evtx reader lost the run's other files too)
        for m in died:
            results[id(m)] = _retry_alone(m, options, limits)
    else:
        for m in rest:
            results[id(m)] = _parse_one(str(m.real_path), m.source, options, _budget(m, limits))
            done += 1
            if progress:
                progress(done, total, m.source)
    return results


def _retry_alone(m: Member, options: ParseOptions, limits: Limits) -> tuple:
    budget = _budget(m, limits)
    res, how = _isolated(str(m.real_path), m.source, options, budget)
    if res is not None:
        return res
    if options.evtx_backend == "python" or not _looks_evtx(m):
        return ("", "unknown", None, f"parser process died ({how})")
    again, how2 = _isolated(str(m.real_path), m.source,
                            dataclasses.replace(options, evtx_backend="python"), budget)
    return _after_death(m, f"parser process died ({how})", again, how2)


def _after_death(m: Member, why: str, again: tuple | None, how2: str | None) -> tuple:
    """The python-backend result of an event log whose first parse killed its process,
    with a warning that says so (or the failure, when that died too)."""
    if again is None or again[2] is None:
        return ("evtx", "evtx", None, f"{why}; with the python backend: "
                f"{again[3] if again is not None else f'died again ({how2})'}")
    again[2].warnings.insert(0, ParseWarning(m.source, "file", f"{why} with the Rust evtx "
                                             "backend: read again with the python backend"))
    return again


def _looks_evtx(m: Member) -> bool:
    try:
        with open(m.real_path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError:
        return False
    return parsers.identify(head, PurePosixPath(m.source).name) is parsers.by_name("evtx")


def _isolated_child(conn, real_path: str, source: str, options: ParseOptions,
                    budget: float | None) -> None:
    from parsers.base import _pool_worker
    _pool_worker()
    conn.send(_parse_one(real_path, source, options, budget))
    conn.close()


#: How long past a file's time budget a retry in its own process may take before it is
#: killed (the parse stops itself at the budget; this covers a hang outside it).
ISOLATED_GRACE_S = 30.0


def _isolated(real_path: str, source: str, options: ParseOptions,
              budget: float | None) -> tuple[tuple | None, str | None]:
    """:func:`_parse_one` in a fresh process: (its result, None), or (None, how the process
    ended: ``signal SIGABRT``, ``exit code 1``)."""
    import multiprocessing as mp
    ctx = mp.get_context()
    r, w = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_isolated_child, args=(w, real_path, source, options, budget))
    proc.start()
    w.close()
    res, late, heavy = None, False, None
    limit = worker_memory_limit()
    end = None if budget is None else time.monotonic() + budget + ISOLATED_GRACE_S
    try:
        # (recv before join: a big result fills the pipe). The parse keeps its own time
        # budget; this wait is the backstop for a child that hangs outside it. Every 0.2 s
        # the child's own memory is checked against the parser processes' limit
        while True:
            wait = 0.2 if end is None else max(0.0, min(0.2, end - time.monotonic()))
            if r.poll(wait):
                res = r.recv()
                break
            used = private_memory_of(proc.pid) if limit else None
            if used is not None and used > limit:
                heavy = used
                proc.kill()
                break
            if end is not None and time.monotonic() >= end:
                late = True
                break
    except (EOFError, OSError):
        res = None
    finally:
        # Ctrl-C / SIGTERM here (the child ignores SIGINT) or a late child: kill it now
        # instead of waiting for it (found by the regression review)
        if res is None and proc.is_alive():
            proc.kill()
        r.close()
        proc.join()
    if res is not None:
        return res, None
    if heavy is not None:
        return None, (f"killed at {heavy >> 20} MiB of its own memory, over the parser "
                      f"processes' memory limit of {limit >> 20} MiB")
    if late:
        return None, f"no result within {budget + ISOLATED_GRACE_S:.0f} s"
    code = proc.exitcode
    if code is not None and code < 0:
        try:
            return None, f"signal {signal.Signals(-code).name}"
        except ValueError:
            return None, f"signal {-code}"
    return None, f"exit code {code}"


#: Event logs at least this big are parsed chunk-parallel (smaller ones: one task each).
SPLIT_EVTX_BYTES = 32 << 20


def _is_big_evtx(m: Member) -> bool:
    if (m.size or 0) < SPLIT_EVTX_BYTES or m.real_path is None:
        return False
    try:
        with open(m.real_path, "rb") as fh:
            return fh.read(8) == b"ElfFile\x00"
    except OSError:
        return False


def _zones(results: dict[int, tuple]) -> tuple[dict[str | None, str], dict[str | None, str]]:
    """host → the time zone its ``systeminfo`` names, from every systeminfo host row of any
    file (a systeminfo inside a combined collector log, or several hosts' in one file: the
    file's meta holds only the first)."""
    import orjson

    zones: dict[str | None, str] = {}
    locales: dict[str | None, str] = {}
    for r in results.values():
        res = r[2]
        # only text captures hold systeminfo rows: an event log's frame (a million rows)
        # is not looked at — converting its event_type column cost 300 MB at peak
        if res is None or r[1] not in ("systeminfo", "textlog") or not len(res.frame) \
                or "event_type" not in res.frame.columns:
            continue
        rows = res.frame[res.frame["event_type"].astype("string") == "sysinfo:host"]
        for host, data in zip(rows["host"], rows["data"]):
            d = orjson.loads(data) if isinstance(data, str) else {}
            h = normalize_host(host if isinstance(host, str) else None)
            if d.get("time_zone"):
                zones.setdefault(h, d["time_zone"])
            if d.get("system_locale"):
                locales.setdefault(h, d["system_locale"])
    return zones, locales


def _reparse_local_time_exports(todo: list[Member], results: dict[int, tuple],
                                options: ParseOptions, limits: Limits) -> None:
    """Event Viewer CSV/TXT exports carry local times. When the bundle's ``systeminfo`` names
    the time zone, parse those exports again with it (the first pass had to assume UTC)."""
    zones, locales = _zones(results)
    if not zones:
        return
    only = next(iter(zones.values())) if len(set(zones.values())) == 1 else None
    owners: list[tuple[Member, str | None]] = []
    for m in todo:
        name, kind, res, _ = results.get(id(m), ("", "", None, ""))
        if kind != "evtcsv" or res is None:
            continue
        # the export's own host (its computer column, else its MSRD folder) takes only its
        # own zone: another server's may be hours off. An export of no known host takes
        # the bundle's zone when all its systeminfos agree (said in a warning by the parser)
        own = normalize_host(res.meta.get("host"))
        if own is None and len(res.frame) and res.frame["host"].notna().any():
            own = normalize_host(res.frame["host"].dropna().mode().iloc[0])
        owners.append((m, own or host_from_path(m.source)))
    # (systeminfo names a long computer name by its 15-character NetBIOS form)
    short_of = {full: short for short, full in netbios_aliases(
        {str(h) for h in zones if h} | {o for _, o in owners if o}).items()}
    for m, own in owners:
        tz = (zones.get(own) or zones.get(short_of.get(own))) if own else only
        if own in short_of and own not in zones:
            own = short_of[own]
        if tz:
            loc = locales.get(own) if own else (next(iter(locales.values()))
                                                if len(set(locales.values())) == 1 else None)
            opts = dataclasses.replace(options, tz_hint=tz, locale_hint=loc)
            results[id(m)] = _parse_one(str(m.real_path), m.source, opts, _budget(m, limits))


def _assemble(bundle_path: str, members: list[Member], results: dict[int, tuple]) -> Bundle:
    warnings: list[ParseWarning] = []
    parts: list[tuple[Member, ParseResult]] = []
    for m in members:
        if id(m) not in results:
            continue
        name, kind, res, reason = results[id(m)]
        m.parser, m.kind = name, kind
        if res is None:
            m.status = "skipped" if kind in ("unknown", "empty") else "failed"
            m.reason = reason
            continue
        m.status = "parsed"
        m.records = len(res.frame)
        m.records_expected = res.stats.get("records_expected")
        m.warnings = len(res.warnings)
        m.stats = res.stats
        warnings.extend(res.warnings)
        parts.append((m, res))

    # host resolution: content > path layout > the bundle's only host
    known: set[str] = set()
    row_hosts: list[tuple | None] = []       # per part: (row codes, normalized names)
    renames = rename_events(res.frame for m, res in parts if m.kind in _EVENT_LOG_KINDS)
    for m, res in parts:
        content_host = normalize_host(res.meta.get("host"))
        if content_host is None and len(res.frame) and res.frame["host"].notna().any():
            content_host = normalize_host(res.frame["host"].dropna().iloc[0])
        # (per distinct name, not per row: a big log repeats one host a million times; one
        # hash pass, kept for the rename below)
        if len(res.frame) and res.frame["host"].notna().any():
            codes, names = pd.factorize(res.frame["host"])
            names = [normalize_host(u) for u in names]
            if len(names) > 1 and m.kind in _EVENT_LOG_KINDS:
                # one machine renamed along its own log: its latest name, for every row
                ids = res.frame["record_id"] if "record_id" in res.frame else None
                became = renamed_hosts(codes, names, ids if ids is not None and ids.notna().all()
                                       else np.arange(len(codes)), renames)
                if became:
                    names = [became.get(n, n) for n in names]
                    content_host = became.get(content_host, content_host)
            row_hosts.append((codes, names))
        else:
            row_hosts.append(None)
        m.host = content_host or host_from_path(m.source)
        if m.host:
            m.host_from = "content" if content_host else "path"
            known.add(m.host)
    # one server under its 15-character NetBIOS name (MSRD-Collect folders, systeminfo,
    # gpresult) and its full name (the event logs' Computer): one host, the full name —
    # decided before "the bundle's only host" is (a file of no host takes it)
    alias = netbios_aliases(known | {h for r in row_hosts if r for h in r[1] if h})
    if alias:
        for m, _ in parts:
            m.host = alias.get(m.host, m.host)
        known = {alias.get(h, h) for h in known}
    fallback = next(iter(known)) if len(known) == 1 else None
    frames = []
    meta: dict[str, dict[str, Any]] = {}
    for (m, res), seen in zip(parts, row_hosts):
        if m.host is None and fallback is not None:
            m.host, m.host_from = fallback, "bundle"
        df = res.frame
        if seen is not None:
            codes, names = seen
            hosts = pd.array([alias.get(h, h) for h in names], dtype="string")
            df = df.assign(host=hosts.take(codes, allow_fill=True))
        frames.append(tl.finalize_part(df, source=m.source, host=m.host or "UNKNOWN"))
        if m.host:
            hm = meta.setdefault(m.host, {})
            for k, v in res.meta.items():
                if k != "host" and v is not None:
                    hm.setdefault(k, v)
    timeline = tl.concat(frames)
    hosts = sorted({str(h) for h in tl.distinct(timeline["host"])} | known) if len(timeline) \
        else sorted(known)
    inventory = pd.DataFrame([m.as_row() for m in members], columns=INVENTORY_COLUMNS)
    inventory = inventory.astype({"size": "Int64", "records": "Int64", "records_expected": "Int64",
                                  "warnings": "Int64", "bytes_read": "Int64"})
    return Bundle(path=bundle_path, timeline=timeline, inventory=inventory, warnings=warnings,
                  hosts=hosts, meta=meta, members=members)


def iter_members(bundle: Bundle) -> Iterator[Member]:
    yield from bundle.members


def accounting(bundle: Bundle) -> dict[str, Any]:
    """What was read and what was lost, summed over the inventory (the report's footer).

    ``lost_records`` counts records a file's structure announced but no parser recovered
    (evtx/evt headers, record-number gaps); ``lost`` is True when anything was not read:
    a refused or failed file, an unrecognised one, a lost record or a skipped byte range.
    """
    inv = bundle.inventory
    files = int(len(inv[inv["kind"] != "archive"])) if len(inv) else 0
    parsed = inv[(inv["status"] == "parsed") & (inv["kind"] != "archive")]
    skipped = inv[inv["status"] == "skipped"]
    failed = inv[inv["status"] == "failed"]
    records = int(parsed["records"].fillna(0).sum())
    lost_records = 0
    damaged_files = 0
    ranges = 0
    for m in bundle.members:
        st = m.stats or {}
        lost = st.get("records_lost")
        if lost is None and m.records_expected is not None:
            dropped = sum((st.get("dropped") or {}).values())
            lost = max(0, int(m.records_expected) - m.records - dropped)
        lost = int(lost or 0)
        r = len(st.get("skipped", []) or []) + int(st.get("skipped_more") or 0)
        if st.get("chunks_missing"):              # a log cut short: its end is one lost range
            r += 1
        if lost or r:
            damaged_files += 1
        lost_records += lost
        ranges += r
    dropped = int(inv["dropped"].fillna(0).sum()) if "dropped" in inv else 0
    summary = (f"{files} files, {records:,} records parsed"
               + (f", {dropped:,} records filtered as not relevant" if dropped else "")
               + (f", {lost_records:,} records in {damaged_files} damaged file(s) not recoverable"
                  if lost_records else "")
               + (f", {ranges} unreadable byte range(s)" if ranges and not lost_records else "")
               + (f", {len(skipped)} file(s) skipped" if len(skipped) else "")
               + (f", {len(failed)} file(s) failed" if len(failed) else ""))
    return {
        "files": files, "parsed_files": int(len(parsed)), "skipped_files": int(len(skipped)),
        "failed_files": int(len(failed)), "records": records, "dropped_records": dropped,
        "lost_records": lost_records, "damaged_files": damaged_files, "skipped_ranges": ranges,
        "warnings": len(bundle.warnings),
        # unrecognised or empty files are listed, not lost; refused and failed ones are lost
        "refused_files": int((~skipped["kind"].isin(["unknown", "empty"])).sum()),
        "lost": bool(lost_records or ranges or len(failed)
                     or (~skipped["kind"].isin(["unknown", "empty"])).any()),
        "summary": summary,
    }
