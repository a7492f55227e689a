"""The contract every parser module follows, and the one timeline schema.

The schema lives here (not in ``analyzer``) so that ``parsers`` stays a leaf package: parsers
produce rows, ``analyzer.timeline`` normalises and concatenates them. ``analyzer.timeline``
re-exports everything below; refer to columns by these names only.

A parser module exposes::

    INFO: ParserInfo                       # name, kind, description, what it sniffs
    def sniff(head: bytes, name: str = "") -> bool
    def parse(path: Path, options: ParseOptions | None = None) -> ParseResult

Text parsers also expose ``sniff_text(text) -> bool`` and
``parse_text(text, source, options, line_offset=0) -> ParseResult`` so that one decoded
file holding several command outputs can be split into blocks (``parsers.textlog``).

Parsers never raise on bad input: what cannot be read becomes a :class:`ParseWarning`
(source, locator, message) and parsing goes on. Only :class:`ParserError` (our own) may
escape, for "this is not my format at all", and the bundle records it in the inventory.

Timeline columns (``TIMELINE_DTYPES``)
--------------------------------------
========== ======================== ========================================================
column     dtype                    meaning
========== ======================== ========================================================
time       datetime64[us, UTC]      event time; capture time for state snapshots; NaT when
                                    unknown. Microseconds because real logs hold 1601-01-01
                                    (zero FILETIME), which overflows nanosecond timestamps.
host       string                   computer name (upper case, no domain) or <NA>
source     string                   path of the file inside the bundle (posix separators)
locator    string                   where in that file: ``record 1234``, ``line 17``,
                                    ``line 17 [HKLM\\...\\RDP-Tcp]``, ``offset 0x1a00``
kind       string                   evtx, evt, evtxml, evtcsv, reg, gpresult, netstat,
                                    tasklist, qwinsta, systeminfo, powercfg, chglogon
event_type string                   general → specific, ``:``-separated (see below)
record_id  Int64                    evtx/evt record number (for gap accounting)
provider   string                   event provider / source name as in the file
channel    string                   event channel (System, Security, ...Operational)
event_id   Int32                    16-bit event id (qualifiers split off into data)
level      Int8                     Windows level: 0 LogAlways,1 Critical,2 Error,3 Warning,
                                    4 Information,5 Verbose (evt types mapped to these)
user       string                   DOMAIN\\user or user as the source gives it
sid        string                   S-1-5-...
session_id Int64                    Windows session id (qwinsta ID, LSM SessionID, ...)
pid        Int64                    process id (netstat/tasklist rows, event Execution PID)
ip         string                   the relevant address: client IP for events, *local* IP
                                    for netstat sockets (remote one in ``data``)
port       Int32                    matching port (netstat local port, client port)
message    string                   one readable line (not Windows' rendered message unless
                                    the source carries it, e.g. exported XML RenderingInfo)
data       string                   every other named field, as one compact JSON object
========== ======================== ========================================================

``event_type`` conventions (prefix filters work: ``df.event_type.str.startswith("rdp:")``):

* events: assigned by ``analyzer.knowledge`` from (provider, event_id) when the parser leaves
  it empty, e.g. ``rdp:lsm:logon``, ``rdp:rcm:auth-success``, ``sys:termdd:protocol-error``,
  ``sec:logon:failure``; anything unknown is ``event:other``.
* ``reg:value`` (data: hive, key, key_original, name, type, value, raw?),
  ``reg:key`` (a key the input shows without any value — an empty ``[key]``, a ``reg query``
  key line with nothing under it, a hive key with no value; data: hive, key, key_original,
  key_last_write for hives; keys that hold values get no such row),
  ``reg:key-deleted``, ``reg:value-deleted``
* ``gpo:policy``, ``gpo:registry``, ``gpo:user-right``, ``gpo:security-option``,
  ``gpo:restricted-group``, ``gpo:gpo`` (data carries scope, gpo, precedence, parts...),
  ``gpo:subject`` (who a scope of the report is about: data scope, name, som, groups)
* ``net:socket`` (data: proto, local, remote, remote_ip, remote_port, state, state_original,
  listening, services, image, offload)
* ``proc:process`` (data: image, services [list], session_name, mem_kb, status, user, ...)
* ``session:winstation`` (qwinsta: data session_name, state, state_original, type, device,
  current)
* ``sysinfo:host`` (data: os_name, os_version, build, service_pack, boot_time, time_zone...)
* ``powercfg:setting`` (data: format, scheme, scheme_guid, scheme_id, active, setting, unit,
  ac, dc — seconds, 0 = never —, ac_original, dc_original), ``powercfg:scheme``,
  ``powercfg:sleep-states`` (see ``parsers.powercfg``)
* ``chglogon:state`` (``change logon /query``: data state — enabled, disabled, drain,
  drain-until-restart —, group_policy, form, text, cut; see ``parsers.chglogon``)
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import pandas as pd

# --------------------------------------------------------------------------- schema

TIME_DTYPE = "datetime64[us, UTC]"

#: The timeline's text dtype, Arrow-backed on every pandas version: pandas 2.x reads a bare
#: ``"string"`` as Python-backed strings while the event-log loader builds Arrow ones, and
#: the two kinds of categories do not unite (``union_categoricals``: "dtype of categories
#: must be the same" on pandas 2.2, the lowest version ``pyproject.toml`` allows).
STRING = pd.StringDtype("pyarrow")

TIMELINE_DTYPES: dict[str, Any] = {
    "time": TIME_DTYPE,
    "host": STRING,
    "source": STRING,
    "locator": STRING,
    "kind": STRING,
    "event_type": STRING,
    "record_id": "Int64",
    "provider": STRING,
    "channel": STRING,
    "event_id": "Int32",
    "level": "Int8",
    "user": STRING,
    "sid": STRING,
    "session_id": "Int64",
    "pid": "Int64",
    "ip": STRING,
    "port": "Int32",
    "message": STRING,
    "data": STRING,
}
TIMELINE_COLUMNS: tuple[str, ...] = tuple(TIMELINE_DTYPES)

#: Kinds a parser may put in the ``kind`` column.
KINDS = ("evtx", "evt", "evtxml", "evtcsv", "reg", "gpresult", "netstat", "tasklist",
         "qwinsta", "systeminfo", "powercfg", "chglogon")


def empty_frame() -> pd.DataFrame:
    """A zero-row DataFrame with every timeline column and dtype (a copy of one built once:
    building it costs ~1.3 ms, as much as parsing a small log; a batch meets many empty
    logs)."""
    global _EMPTY
    if _EMPTY is None:
        _EMPTY = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in TIMELINE_DTYPES.items()})
    return _EMPTY.copy()


_EMPTY: pd.DataFrame | None = None


def conform(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with exactly the timeline columns, in order, with their dtypes.

    Missing columns are added as all-NA; extra columns are dropped. ``time`` accepts
    tz-aware or naive (taken as UTC) datetimes, or ISO strings. An integer that does not
    fit its column is left empty and listed in ``attrs["unfit"]`` as (locator, why): the
    bundle reports those as warnings.
    """
    n = len(df)
    out = {}
    unfit: list[tuple[str, str]] = []
    for col, dtype in TIMELINE_DTYPES.items():
        if col in df.columns:
            s = df[col]
            if col == "time":
                if not isinstance(s.dtype, pd.DatetimeTZDtype):
                    s = pd.to_datetime(s, utc=True, errors="coerce", format="mixed")
                s = s.dt.tz_convert("UTC").astype(TIME_DTYPE)
            elif (str(s.dtype) != dtype) if isinstance(dtype, str) else (s.dtype != dtype):
                # (an object compare for STRING: pandas 2 takes "string" == any storage)
                try:
                    s = s.astype(dtype)
                except (OverflowError, TypeError, ValueError):
                    if dtype not in INT_RANGE:
                        raise
                    s = _fit_ints(s, dtype, col, df, unfit)
            out[col] = s.reset_index(drop=True)
        else:
            out[col] = pd.Series(pd.array([None] * n, dtype=dtype))
    frame = pd.DataFrame(out, copy=False)
    if unfit:
        frame.attrs["unfit"] = unfit
    return frame


#: The value range of each nullable integer dtype of the timeline.
INT_RANGE = {"Int64": (-(1 << 63), (1 << 63) - 1), "Int32": (-(1 << 31), (1 << 31) - 1),
             "Int8": (-128, 127)}


def _fit_ints(s: pd.Series, dtype: str, col: str, df: pd.DataFrame,
              unfit: list[tuple[str, str]]) -> pd.Series:
    """An integer column one of whose values does not fit its type (a 30-digit PID in a
    hand-edited export): those values become NA and are listed in ``unfit`` as (locator,
    why), instead of the whole file failing."""
    lo, hi = INT_RANGE[dtype]
    locs = df["locator"].tolist() if "locator" in df.columns else [None] * len(s)
    vals = []
    for i, v in enumerate(s.tolist()):
        if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
            vals.append(None)
            continue
        try:
            f = float(v)
            iv = int(v) if f == f else None
        except (TypeError, ValueError, OverflowError):
            iv = None
        if iv is None or not lo <= iv <= hi or (isinstance(v, float) and iv != v):
            unfit.append((str(locs[i] or f"row {i + 1}"),
                          f"{col} {str(v)[:40]!r} is not a {dtype} integer; left empty"))
            vals.append(None)
        else:
            vals.append(iv)
    return pd.Series(pd.array(vals, dtype=dtype), index=s.index)


# --------------------------------------------------------------------------- results


class ParserError(Exception):
    """Base of rdpdoctor's parser exceptions; the only kind a parser may let escape."""


class NotMyFormat(ParserError):
    """The content is not what this parser reads (sniffing was wrong)."""


class BudgetExceeded(ParserError):
    """A size / time / record budget in ParseOptions was exceeded."""


@dataclass(frozen=True)
class ParseWarning:
    """Something a parser could not read. ``locator`` is offset / line / record id."""

    source: str
    locator: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


@dataclass
class ParserInfo:
    name: str              # module-level name, e.g. "netstat"
    kind: str              # value of the ``kind`` column
    description: str
    sniffs: str            # human description of the content signature
    text: bool = False     # True for text formats (decoded with parsers.text)


def allowed_value(allowed: frozenset[str] | re.Pattern, text: str) -> bool:
    """Whether a value rule's allowed values admit ``text`` (see :class:`Relevance`)."""
    if isinstance(allowed, re.Pattern):
        return allowed.match(text) is not None
    return text in allowed


@dataclass
class Relevance:
    """Which events matter to rdpdoctor (``analyzer.knowledge`` builds the real one).

    ``providers``: provider name (lower case) -> set of event ids, or None for all ids.
    ``channels``: channel name (lower case) -> set of event ids, or None for all ids.
    An event is relevant when it matches either table.
    ``values``: (provider lower case, event id) -> (field name, allowed values): an event
    that passes the tables but carries that field with another value is not relevant (a busy
    Security log is mostly 4624 service/network logons; only type 10 concerns RDP). Allowed
    values are a set of texts, or a compiled pattern the text must match from its start (an
    SCM 7036's ``Binary`` names its service). An event without the field is kept.
    """

    providers: dict[str, frozenset[int] | None] = field(default_factory=dict)
    channels: dict[str, frozenset[int] | None] = field(default_factory=dict)
    values: dict[tuple[str, int], tuple[str, frozenset[str] | re.Pattern]] = field(
        default_factory=dict)

    def keep(self, provider: str | None, channel: str | None, event_id: int | None,
             fields: dict[str, Any] | None = None) -> bool:
        """``fields`` None: decide on provider/channel/id only (the value rule is checked
        later, once the fields are known; see :meth:`value_rule`)."""
        for table, key in ((self.providers, provider), (self.channels, channel)):
            if key is None:
                continue
            ids = table.get(key.lower(), False)
            if ids is None or (ids and event_id is not None and event_id in ids):
                return fields is None or self.keep_value(provider, event_id, fields)
        return False

    def value_rule(self, provider: str | None, event_id: int | None
                   ) -> tuple[str, frozenset[str] | re.Pattern] | None:
        if not self.values or provider is None or event_id is None:
            return None
        return self.values.get((provider.lower(), event_id))

    def keep_value(self, provider: str | None, event_id: int | None,
                   fields: dict[str, Any]) -> bool:
        rule = self.value_rule(provider, event_id)
        if rule is None:
            return True
        v = fields.get(rule[0])
        return v is None or allowed_value(rule[1], str(v).strip())

    def keep_data(self, provider: str | None, event_id: int | None, data: str | None) -> bool:
        """:meth:`keep_value` for a built row (``data`` = the row's JSON text)."""
        if not data or self.value_rule(provider, event_id) is None:
            return True
        import orjson
        try:
            fields = orjson.loads(data)
        except orjson.JSONDecodeError:
            return True
        return self.keep_value(provider, event_id, fields) if type(fields) is dict else True


@dataclass
class ParseOptions:
    evtx_backend: str = "auto"          # auto | rust | python
    relevance: Relevance | None = None  # None keeps every record
    max_bytes: int = 4 << 30            # refuse to read more than this from one file
    max_text_bytes: int = 256 << 20     # text command output / exports: read at most this
    time_budget_s: float | None = None  # wall-clock budget per file (None: unbounded)
    workers: int = 1                    # processes a parser may use for one big file
    tz_hint: str | None = None          # time zone for formats with local timestamps
    locale_hint: str | None = None      # the host's system locale (en-gb: day first ...)
    progress: Callable[[int, int], None] | None = None  # (done, total) units of work


@dataclass
class ParseResult:
    """What a parser returns for one file (or one block of a text file).

    ``frame`` follows the timeline contract (use :func:`conform`); ``stats`` carries the
    accounting the inventory shows: ``records`` (rows produced), ``records_expected`` (what
    the structure announces, when it does), ``bytes_read``, ``skipped`` (list of
    ``{"offset"|"line": ..., "length": ..., "reason": ...}``), ``dropped`` (counts dropped by
    the relevance filter, ``{"provider/id": n}``), ``blocks`` (text blocks found).
    ``meta`` carries hints: ``host``, ``capture_time``, ``os``...
    """

    frame: pd.DataFrame
    warnings: list[ParseWarning] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    parser: str = ""

    @property
    def records(self) -> int:
        return len(self.frame)


def warn(warnings: list[ParseWarning], source: str, locator: str | int, message: str) -> None:
    """Append a warning; ``locator`` ints are rendered as ``line N``."""
    if isinstance(locator, int):
        locator = f"line {locator}"
    warnings.append(ParseWarning(str(source), str(locator), str(message)))


def result_from_rows(rows: Iterable[dict[str, Any]], *, parser: str,
                     warnings: list[ParseWarning] | None = None,
                     stats: dict[str, Any] | None = None,
                     meta: dict[str, Any] | None = None) -> ParseResult:
    """Build a ParseResult from row dicts (fine for text formats; evtx builds column-wise)."""
    rows = list(rows)
    frame = conform(pd.DataFrame(rows)) if rows else empty_frame()
    st = {"records": len(frame)}
    st.update(stats or {})
    return ParseResult(frame=frame, warnings=list(warnings or []), stats=st,
                       meta=dict(meta or {}), parser=parser)


def read_bounded(path: Path, options: ParseOptions, *, text: bool = True) -> bytes:
    """Read a whole file within the size budget (``max_text_bytes`` for text formats);
    raises BudgetExceeded rather than reading a file larger than the budget."""
    limit = min(options.max_bytes, options.max_text_bytes) if text else options.max_bytes
    size = path.stat().st_size
    if size > limit:
        raise BudgetExceeded(f"{size} bytes is more than the {limit}-byte budget for this format")
    return path.read_bytes()


def read_head(path: Path, size: int = 65536) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(size)


def data_json(d: dict[str, Any]) -> str | None:
    """Serialise a row's extra fields compactly (the ``data`` column); None when empty."""
    if not d:
        return None
    import orjson

    try:
        return orjson.dumps(d, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:            # an integer beyond 64 bits (garbled digits): json keeps it
        import json

        return json.dumps(d, default=str, ensure_ascii=False, separators=(",", ":"))


def _machine_memory() -> int:
    """Bytes this process may use at most: the machine's memory, or its container's limit
    (cgroup v2 ``memory.max``, v1 ``memory.limit_in_bytes``) when that is lower; 0 when
    ``/proc`` does not tell (not Linux)."""
    try:
        with open("/proc/meminfo", "rb") as fh:
            total = int(fh.readline().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return 0
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path, "rb") as fh:
                raw = fh.read().strip()
        except OSError:
            continue
        if raw.isdigit() and 0 < int(raw) < total:
            total = int(raw)
        break
    return total


def worker_memory_limit(workers: int = 1) -> int:
    """The private memory (bytes) past which one of ``workers`` parser processes is killed:
    half of what the machine (or its container) has, shared by the workers, at most 4 GiB
    each (a worker's share of a million-record log peaks at 200 MiB).
    ``RDPDOCTOR_WORKER_MEMORY_MB`` sets it per process (0: off). 0 where ``/proc`` does not
    tell (not Linux)."""
    env = os.environ.get("RDPDOCTOR_WORKER_MEMORY_MB", "").strip()
    if env:
        try:
            return max(0, int(float(env) * (1 << 20)))
        except ValueError:
            pass
    return min(4 << 30, _machine_memory() // 2 // max(1, workers))


def private_memory_of(pid: int) -> int | None:
    """A process's own memory in bytes — the pages only it maps (``Private_Clean`` +
    ``Private_Dirty`` of Linux ``/proc/<pid>/smaps_rollup``) — None when it cannot be read.
    Not its resident size: a forked worker shares its parent's pages copy-on-write and
    would count a big parent's memory as its own (found by review: the workers of a parent
    holding 1.3 GB were killed at a 1 GB limit and their files lost)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            text = fh.read()
    except OSError:
        return None
    kb = 0
    for line in text.splitlines():
        if line.startswith((b"Private_Clean:", b"Private_Dirty:")):
            try:
                kb += int(line.split()[1])
            except (ValueError, IndexError):
                return None
    return kb * 1024


class _MemoryWatch:
    """A thread that kills a pool's worker whose own memory passes ``limit``: a crafted
    event log that slips past the chunk screen makes the Rust reader allocate GBs before it
    aborts (review rvC), and the OOM killer may pick another process. The pool then breaks
    (``BrokenProcessPool``) and its unfinished files are parsed again alone — an event log
    with our own budgeted reader (analyzer.bundle). Started once the pool's workers exist
    (they are forked: no thread of ours runs while they are), and stopped watching a pool
    that broke (its workers' pids may be reused)."""

    def __init__(self, ex, limit: int, every_s: float = 0.2) -> None:
        import threading

        self.ex, self.limit, self.every_s = ex, limit, every_s
        self.killed: list[tuple[int, int]] = []      # (pid, private bytes)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="rdpdoctor-memory-watch",
                                       daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import signal

        while not self.stop.wait(self.every_s):
            if getattr(self.ex, "_broken", False):
                return
            for pid in list((getattr(self.ex, "_processes", None) or {})):
                used = private_memory_of(pid)
                if used is None or used <= self.limit:
                    continue
                self.killed.append((pid, used))      # (before: the pool breaks at once)
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    self.killed.pop()
                    continue
                return                               # the pool is broken now

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)


def _ready() -> None:
    """A no-op task: run once so the pool's workers are forked before the watch starts."""


@contextlib.contextmanager
def process_pool(workers: int, memory_limit: int | None = None):
    """A process pool that, when the block is left by an exception (Ctrl-C, SIGTERM turned
    into KeyboardInterrupt, a bug), stops at once: queued tasks cancelled, workers
    terminated. ``with ProcessPoolExecutor()`` waits for every queued task first — a
    `kill` of rdpdoctor went on parsing for half a minute. A worker whose own memory
    passes ``memory_limit`` bytes (default :func:`worker_memory_limit`; 0: none) is killed,
    which breaks the pool (``ex.memory_killed`` lists it)."""
    from concurrent.futures import ProcessPoolExecutor

    ex = ProcessPoolExecutor(max_workers=workers, initializer=_pool_worker)
    limit = worker_memory_limit(workers) if memory_limit is None else memory_limit
    ex.memory_killed = []
    watch = None
    try:
        if limit > 0:
            ex.submit(_ready).result()       # (with fork, every worker is started at once)
            watch = _MemoryWatch(ex, limit)
            ex.memory_killed = watch.killed
        yield ex
    except BaseException:
        stop_pool(ex)
        raise
    else:
        ex.shutdown(wait=True)
    finally:
        if watch:
            watch.close()


#: A pool worker's cyclic garbage collector: generation 0 runs every this many allocations
#: (Python's default: 700), the older generations every 20 of the younger's runs (10).
WORKER_GC_THRESHOLD = (50_000, 20, 20)


def _pool_worker() -> None:
    """A pool worker leaves interrupts to its parent (which stops it): no traceback per
    worker on Ctrl-C, and SIGTERM (the parent's stop) ends it plainly — a forked worker
    would otherwise inherit the parent's SIGTERM-as-Ctrl-C handler.

    The worker is ours alone, so it also tunes the garbage collector for a parse, which
    allocates millions of short-lived, acyclic objects (decoded records, row tuples): what
    the worker inherited is frozen out of the collector's scans and the collections run
    less often. A million-record Security log parsed on 2 workers: 9.3/9.3/8.6 s → 8.6/8.6/
    8.0 s (interleaved runs; turning the collector off did no better). Cycles are still
    collected."""
    import gc
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    gc.freeze()
    gc.set_threshold(*WORKER_GC_THRESHOLD)


def as_done(futures, poll_s: float = 0.5):
    """``concurrent.futures.as_completed`` that wakes every ``poll_s``: a signal (SIGTERM
    turned into KeyboardInterrupt) is handled at once, not when the running task ends."""
    from concurrent.futures import FIRST_COMPLETED, wait

    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=poll_s, return_when=FIRST_COMPLETED)
        yield from done


def stop_pool(ex, join_s: float = 5) -> None:
    """Stop a process pool now: queued tasks cancelled, its workers terminated (a task
    running in one is lost with it)."""
    procs = list((getattr(ex, "_processes", None) or {}).values())
    # (taken before shutdown, which drops the executor's reference to the queue)
    writer = getattr(getattr(ex, "_result_queue", None), "_writer", None)
    ex.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.join(join_s)
    # a worker terminated while it wrote its result leaves half a message in the result
    # pipe: the pool's manager thread waits for the rest, and the interpreter's exit waits
    # for that thread — forever (seen with Ctrl-C near the end of a parse). The parent's
    # copy of the pipe's write end is what keeps it open: closed, the read ends (EOFError)
    # and the thread winds the pool up.
    if writer is not None and procs and not any(p.is_alive() for p in procs):
        try:
            writer.close()
        except OSError:
            pass
