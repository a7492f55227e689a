"""Batch mode: many bundles, each analysed in isolation, over one ``concurrent.futures.Executor``.

    from analyzer import batch
    res = batch.run("inbox/", "out/", jobs=2)                       # local process pool
    res = batch.run("inbox/", "out/", scheduler="tcp://host:8786")  # a Dask cluster

One code path: :func:`run` submits :func:`run_bundle` once per bundle to an ``Executor`` — a
local ``ProcessPoolExecutor`` by default, ``distributed.Client(scheduler).get_executor()``
when a scheduler is given (``pip install rdpdoctor[dask]``). Bundles are passed **by path**:
Dask workers must see INBOX and OUTDIR at the same paths as the machine running ``batch``
(shared storage).

Isolation. :func:`run_bundle` analyses its bundle in a child Python process of its own: the
child analyses, writes the per-bundle reports and prints one result line. A child that
crashes, grows past its memory budget (resident memory, watched through ``/proc`` on Linux)
or runs past the per-bundle timeout is killed (its whole process group) and the bundle is
recorded as ``failed`` with the reason; the batch goes on.

Resume. Every bundle is identified by the SHA-256 of its content (for a folder: of its
files' relative paths and contents). After each bundle the driver writes
``OUTDIR/state/<sha256>.json``; a bundle whose state exists for the same rdpdoctor version
(and whose requested report files exist) is not analysed again. Failed bundles are also
remembered (``retry_failed=True`` retries them), unless the failure is the machine's, not
the bundle's (OUTDIR full, the bundle out of reach, a worker or zygote lost): those are
analysed again next run. Every file in OUTDIR is written to a
temporary name and renamed, so an interrupted batch leaves no half-written file and a rerun
picks up where it stopped.

Outputs in OUTDIR:

* ``reports/<stem>-<sha12>.{json,html,md}`` — one report per distinct bundle content;
* ``summary.parquet`` / ``summary.csv`` — one row per bundle × finding (a bundle without
  findings has one row with an empty ``finding_id``), see :data:`SUMMARY_COLUMNS`.
  ``status`` is ``ok`` / ``failed`` / ``skipped`` (a duplicate of another bundle of the
  run); ``action`` says what this run did: ``analysed``, ``resumed`` (taken from an earlier
  run) or ``duplicate``; ``verdict`` is the report's verdict status (``fault``, ``ok``,
  ``incomplete``, ``inconclusive`` ...: the clean bundles that need more data). Rows of bundles analysed by earlier runs into the same OUTDIR are
  kept, so OUTDIR accumulates a history for ``rdpdoctor summarize``; they are dropped when
  this run replaces them: the same path, the same content under a path that is gone, or a
  path inside (or holding) one of this run's bundles (the inbox regrouped);
* ``findings.parquet`` — one row per finding of the ``ok`` bundles.

Test hooks (test-only, never set them in production): ``RDPDOCTOR_TEST_HANG_ON=<text>``
makes the child hang forever when its bundle path contains ``<text>``;
``RDPDOCTOR_TEST_HOG_ON=<text>`` makes it allocate memory until its budget is exhausted.
"""
from __future__ import annotations

import fnmatch
import functools
import hashlib
import importlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

HANG_ENV = "RDPDOCTOR_TEST_HANG_ON"
HOG_ENV = "RDPDOCTOR_TEST_HOG_ON"
RESULT_MARK = "RDPDOCTOR-BATCH-RESULT "
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
FORMAT_SUFFIX = {"json": ".json", "html": ".html", "markdown": ".md"}
DEFAULT_ANALYZE = "analyzer:analyze"
DEFAULT_TIMEOUT = 900.0
DEFAULT_MEMORY_MB = 4096
#: The smallest memory budget a bundle can be analysed in. Measured (Linux, Python 3.11,
#: the 27 bundles of sample_data/): a forked child holds 67 MiB resident before it imports
#: the analysis (pages shared with its zygote count: the budget is resident memory) and
#: peaks at 93-100 MiB on even the smallest bundle; 64 failed every bundle as "memory
#: budget exceeded", pointing at the bundles instead of the option (found by review).
MIN_MEMORY_MB = 256
#: Seconds a Dask scheduler may have no worker (at the start, or while bundles are queued)
#: before the run stops with an error; every HEARTBEAT seconds without a finished bundle the
#: driver looks.
WORKER_WAIT = 60.0
HEARTBEAT = 5.0

#: summary.parquet / summary.csv columns, in order. ``t_*`` are seconds.
SUMMARY_COLUMNS = [
    "bundle_id", "path", "sha256", "version", "status", "action", "reason",
    "hosts", "host", "os", "bundle_time",
    "finding_id", "severity", "title", "explained_by", "evidence_count",
    "first_evidence", "last_evidence",
    "n_findings", "max_severity", "verdict", "files", "files_parsed", "parse_warnings", "report_warnings",
    "t_hash", "t_analyze", "t_render", "t_bundle", "peak_rss_mb", "worker",
]
#: the columns that differ between two runs of the same batch (times, memory, where it ran)
TIMING_COLUMNS = ["t_hash", "t_analyze", "t_render", "t_bundle", "peak_rss_mb", "worker"]
FINDING_COLUMNS = [
    "bundle_id", "path", "sha256", "bundle_time", "host", "os", "finding_id", "severity",
    "title", "summary", "explained_by", "evidence_count", "first_evidence", "last_evidence",
]
SEVERITY_ORDER = ("info", "warning", "error", "critical")


class BatchError(Exception):
    """The batch cannot start or go on (no such INBOX, unusable OUTDIR, Dask missing...).

    The CLI exits 3 for :class:`BatchInboxError` (INBOX cannot be opened) and 2 for every
    other one (wrong usage, or an output that cannot be written), as README's table says."""


#: The file in OUTDIR that one batch run at a time holds locked.
LOCK_NAME = ".rdpdoctor-batch.lock"


class BatchUsageError(BatchError):
    """The command line asks for something impossible (OUTDIR is INBOX, OUTDIR in use)."""


class BatchOutdirError(BatchError):
    """OUTDIR cannot take what the run writes (a full disk, a read-only mount): an output
    that cannot be written, exit 2 — not "the bundle cannot be opened" (found by review)."""


class BatchInboxError(BatchError):
    """INBOX does not exist or cannot be read (exit 3, like a bundle that cannot be opened)."""


# ----------------------------------------------------------------------------- discovery


@dataclass(frozen=True)
class BundleRef:
    bundle_id: str          # path relative to INBOX (or as written in the list file)
    path: str               # absolute path


def _is_archive_name(name: str) -> bool:
    n = name.lower()
    return any(n.endswith(s) for s in ARCHIVE_SUFFIXES)


#: Sub-folder names collectors and engineers sort one server's artifacts into: a folder
#: holding one of them (and no loose file) is one bundle in parts, not a folder of bundles.
_PART_DIRS = frozenset((
    "eventlogs", "eventlog", "event logs", "events", "evtx", "logs", "registry", "reg",
    "regkeys", "registrykeys", "networking", "network", "netstat", "commands", "cmd",
    "command output", "commandoutput", "systeminfo", "system info", "sysinfo", "gpresult",
    "gpo", "grouppolicy", "group policy", "policies", "rds", "terminalservices"))


def _looks_like_bundle_dir(d: Path) -> bool:
    """A folder is a bundle when it holds a non-archive file itself, an MSRD/TSS folder
    (``<PC>_EventLogs``) or a part folder (``EventLogs/``, ``Registry/``, ``Commands/``:
    ``ticket-1234/EventLogs/System.evtx`` is one ticket, not three bundles)."""
    from .bundle import _MSRD_DIR

    for e in d.iterdir():
        if e.name.startswith("."):
            continue
        if e.is_file() and not _is_archive_name(e.name):
            return True
        if e.is_dir() and (_MSRD_DIR.match(e.name) or (e.name.casefold() in _PART_DIRS
                                                       and _holds_loose_file(e))):
            return True
    return False


def _single_ticket_marker(root: Path, excl: set[Path] = frozenset()) -> str:
    """The sub-folder that makes the folder ``root`` one extracted ticket ("" when it is a
    folder of tickets): an MSRD-Collect/TSS ``<PC>_EventLogs``-style folder, or part folders
    (``EventLogs/`` with the logs themselves) with no archive or other folder beside them."""
    from .bundle import _MSRD_DIR

    try:
        entries = [e for e in sorted(root.iterdir())
                   if not e.name.startswith(".") and e.resolve() not in excl]
    except OSError:
        return ""
    dirs = [e for e in entries if e.is_dir() and not e.is_symlink()]
    for e in dirs:
        if _MSRD_DIR.match(e.name):
            return e.name
    parts = [e for e in dirs if e.name.casefold() in _PART_DIRS and _holds_loose_file(e)]
    if parts and len(parts) == len(dirs) \
            and not any(e.is_file() and _is_archive_name(e.name) for e in entries):
        return parts[0].name
    return ""


def _holds_loose_file(d: Path) -> bool:
    """A part folder holds the artifacts themselves; a ``logs/`` of ticket archives does not
    make its parent one bundle."""
    try:
        return any(e.is_file() and not e.name.startswith(".") and not _is_archive_name(e.name)
                   for e in d.iterdir())
    except OSError:
        return False


def discover(inbox: str | os.PathLike, pattern: str | None = None,
             exclude: Iterable[Path] = (),
             ignored: list[tuple[str, str]] | None = None) -> list[BundleRef]:
    """The bundles under ``inbox``, sorted by id (a list file's in its own order).

    ``inbox`` is a folder (searched recursively: archives, and folders that look like a
    bundle — those are not searched further) or a list file (one path per line, relative to
    the list file's folder — to the current folder for a pipe; blank lines and ``#`` comments
    ignored; a path named twice is taken once). ``pattern`` (fnmatch, on
    the name) restricts archives and bundle folders alike. A loose file the parsers
    recognise is a bundle of its own; ``ignored`` (when given) receives (path, why) for
    everything else that is not taken, so nothing in the inbox goes unaccounted.
    """
    root = Path(inbox)
    if not root.exists():
        raise BatchInboxError(f"no such file or folder: {inbox}")
    excl = {Path(p).resolve() for p in exclude}
    refs: list[BundleRef] = []
    if not root.is_dir():
        if root.is_file():
            if not _is_list_file(root):  # `batch ticket.zip`: one bundle, not a list of them
                return [BundleRef(root.name, str(root.resolve()))]
            text, base = root.read_text(encoding="utf-8", errors="replace"), root.resolve().parent
        elif _is_stream(root):
            # `batch <(find ...)`, `... | batch /dev/stdin`: a list read once, its relative
            # paths from the current folder (it was walked as a folder: internal error)
            try:
                with open(root, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
            except OSError as e:
                raise BatchInboxError(f"cannot read INBOX {inbox}: {e.strerror or e}") from e
            base = Path.cwd()
        else:
            raise BatchUsageError(f"INBOX {inbox} is neither a folder, a bundle nor a list file")
        return _list_refs(text, base, inbox, pattern, ignored)
    root = root.resolve()
    if root in excl:
        raise BatchUsageError(f"OUTDIR is INBOX ({root}): write the results to another folder")
    marker = _single_ticket_marker(root, excl)
    if marker:
        # its parts, analysed one by one, gave false findings (each <PC>_ folder alone had
        # a listener down without the port conflict that explains it; found by review)
        raise BatchUsageError(
            f"INBOX {inbox} is one extracted ticket (it holds {marker}/), not a folder of "
            f"tickets: analyse it with 'rdpdoctor analyze {inbox}', or give batch the folder "
            "that holds it")

    def take(e: Path, target: Path) -> None:
        if not pattern or fnmatch.fnmatch(e.name, pattern):
            refs.append(BundleRef(e.relative_to(root).as_posix(), str(target)))

    def walk(d: Path) -> None:
        try:
            entries = sorted(d.iterdir())
        except OSError as e:
            if d == root:
                raise BatchInboxError(f"cannot read INBOX {inbox}: {e.strerror or e}") from e
            if ignored is not None:
                ignored.append((d.relative_to(root).as_posix(),
                                f"a folder that cannot be read ({e.strerror or e})"))
            return
        for e in entries:
            if e.name.startswith(".") or e.resolve() in excl:
                continue
            rel = e.relative_to(root).as_posix()
            if e.is_symlink():
                # an attachment linked into the inbox is followed; a linked folder is not
                # (no loops, no walking out of the inbox)
                target = e.resolve()
                if target.is_file() and (_is_archive_name(e.name) or _is_artifact(target)):
                    take(e, target)
                elif ignored is not None:
                    ignored.append((rel, "a symbolic link to a folder or to nothing "
                                         "(not followed)" if not target.is_file()
                                    else "a symbolic link to a file that is no bundle"))
                continue
            if e.is_dir():
                if _is_batch_outdir(e):
                    if ignored is not None:
                        ignored.append((rel, "an OUTDIR of an earlier batch run"))
                elif _looks_like_bundle_dir(e):
                    take(e, e)
                else:
                    walk(e)
            elif e.is_file() and (_is_archive_name(e.name) or _is_artifact(e)):
                take(e, e)                        # an archive, or one loose log / export
            elif ignored is not None:
                ignored.append((rel, "neither an archive nor a file rdpdoctor reads"))

    walk(root)
    return sorted(refs, key=lambda r: r.bundle_id)


def _is_stream(p: Path) -> bool:
    import stat

    try:
        mode = p.stat().st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)


def _list_refs(text: str, base: Path, inbox, pattern: str | None,
               ignored: list[tuple[str, str]] | None) -> list[BundleRef]:
    """The bundles of a list file's text, in its order; a path named again (as written or
    another way) is taken once: it was analysed twice and the counts disagreed with the
    summary (found by review)."""
    refs: list[BundleRef] = []
    seen: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        p = Path(line)
        p = p if p.is_absolute() else base / p
        if pattern and not fnmatch.fnmatch(p.name, pattern):
            continue
        try:
            resolved = str(p.resolve())
        except (OSError, ValueError) as e:
            raise BatchUsageError(f"{inbox}: line {line[:80]!r} is no path ({e})") from e
        if resolved in seen:
            if ignored is not None:
                ignored.append((line, f"named again in the list file (as {seen[resolved]})"))
            continue
        seen[resolved] = line
        refs.append(BundleRef(line, resolved))
    return refs


def _is_list_file(p: Path) -> bool:
    """A text file of paths (the list form of INBOX), not an archive or a log of its own."""
    if _is_archive_name(p.name):
        return False
    with open(p, "rb") as fh:
        head = fh.read(65536)
    if b"\0" in head or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False                      # binary (an .evtx, a zip by another name), UTF-16
    return not _is_artifact(p)


def _is_batch_outdir(d: Path) -> bool:
    """An OUTDIR of a batch run: its summary, or (a run stopped before its first summary)
    the lock file every run leaves."""
    return (d / "state").is_dir() and any((d / n).exists() for n in (
        "summary.parquet", "summary.csv", LOCK_NAME))


def _is_artifact(p: Path) -> bool:
    """A loose file whose content one of the parsers recognises (a System.evtx attached
    to the ticket on its own)."""
    import parsers
    from parsers.base import read_head

    try:
        return parsers.identify(read_head(p), p.name) is not None
    except OSError:
        return False


def content_hash(path: str | os.PathLike) -> str:
    """SHA-256 of a file, or of a folder's (relative path, content) pairs in sorted order."""
    from .bundle import file_sha256        # the same hash the inventory shows

    p = Path(path)
    h = hashlib.sha256()
    if p.is_dir():
        for dirpath, dirnames, filenames in os.walk(p, followlinks=False):
            dirnames.sort()
            for name in sorted(filenames):
                f = Path(dirpath) / name
                if f.is_symlink() or not f.is_file():
                    continue
                h.update(f.relative_to(p).as_posix().encode("utf-8", "surrogateescape") + b"\0")
                h.update(file_sha256(f).encode() + b"\n")
        return h.hexdigest()
    return file_sha256(p)


def _report_stem(ref_path: str, sha: str) -> str:
    name = Path(ref_path).name
    for s in ARCHIVE_SUFFIXES:
        if name.lower().endswith(s):
            name = name[: -len(s)]
            break
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60] or "bundle"
    return f"{safe}-{sha[:12]}"


# ----------------------------------------------------------------------------- the worker task


def run_bundle(task: dict[str, Any]) -> dict[str, Any]:
    """Analyse one bundle in a process of its own; never raises for a bad bundle.

    Runs on an executor worker (a local pool process or a Dask worker). ``task`` holds
    ``path``, ``sha256``, ``outdir``, ``stem``, ``formats``, ``timeout`` (s), ``memory_mb``
    and ``analyze`` ("module:function"). Returns the bundle's record (see :func:`describe`)
    with ``status`` ``ok`` or ``failed`` and a ``reason``.

    On POSIX the bundle's process is forked from a pre-warmed "zygote" (one per worker
    thread, started on first use, single-threaded, with pandas and the analyzer already
    imported), so a bundle costs a fork rather than an interpreter start; elsewhere it is a
    fresh ``python`` subprocess. Either way it is a process of its own, in its own process
    group, that is killed at the timeout or when its resident memory (with descendants,
    Linux ``/proc``) passes the budget. Not ``RLIMIT_AS``: Arrow-backed pandas reserves
    gigabytes of address space it never touches.
    """
    t0 = time.monotonic()
    watch = _Watch(task, t0)
    if hasattr(os, "fork"):
        rec = _run_forked(task, watch)
    else:  # pragma: no cover - Windows
        rec = _run_subprocess(task, watch)
    rec["t_bundle"] = round(time.monotonic() - t0, 3)
    # the watch samples every 0.2 s: a quick bundle ends before the first sample (it said
    # 0 MiB), so the process's own high-water mark counts too
    own = rec.pop("child_peak_rss", 0)
    # (rounded up: a process killed a few KiB past a 300 MiB budget peaked above 300 MiB,
    # not at 300, as a rounded-down figure said: the fresh-clone CI caught it)
    rec["peak_rss_mb"] = _mib_up(max(watch.peak, own if isinstance(own, int) else 0))
    rec["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return rec


def _mib_up(n: int) -> int:
    """Bytes → MiB, rounded up."""
    return -(-n >> 20)


class _Watch:
    """Timeout and memory budget of one bundle's process."""

    def __init__(self, task: dict[str, Any], t0: float):
        self.task = task
        self.t0 = t0
        self.timeout = float(task.get("timeout") or 0) or None
        self.budget = int(task.get("memory_mb") or 0) << 20
        self.peak = 0
        self.verdict = ""

    def over(self, pid: int) -> str:
        """Why ``pid`` must be killed now ("" while it is within bounds)."""
        rss = _tree_rss(pid)
        self.peak = max(self.peak, rss)
        if self.budget and rss > self.budget:
            self.verdict = (f"memory budget of {self.task.get('memory_mb')} MiB exceeded "
                            f"({_mib_up(rss)} MiB resident; worker process killed)")
        elif self.timeout and time.monotonic() - self.t0 > self.timeout:
            self.verdict = f"timed out after {self.timeout:g} s (worker process killed)"
        return self.verdict


def _parse_result(text: str) -> dict[str, Any] | None:
    for line in reversed(text.splitlines()):
        if line.startswith(RESULT_MARK):
            try:
                return json.loads(line[len(RESULT_MARK):])
            except ValueError:
                return None
    return None


def _run_subprocess(task: dict[str, Any], watch: _Watch) -> dict[str, Any]:
    popen_kw: dict[str, Any] = {}
    if os.name == "posix":
        popen_kw["start_new_session"] = True     # so a kill reaches the whole group
    import tempfile

    child_tmp = tempfile.mkdtemp(prefix="rdpdoctor-bundle-")   # removed below, killed or not
    proc = subprocess.Popen([sys.executable, "-c", "from analyzer.batch import _child_main; _child_main()"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "TMPDIR": child_tmp, "TEMP": child_tmp,
                                 "TMP": child_tmp}, **popen_kw)
    data: bytes | None = json.dumps(task).encode()
    try:
        while True:
            try:
                out, errb = proc.communicate(data, timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                data = None
            if watch.over(proc.pid):
                _killpg(proc.pid)
                out, errb = proc.communicate()
                break
    except BaseException:                         # Ctrl-C, executor shutdown: leave nothing behind
        _killpg(proc.pid)
        proc.wait()
        raise
    finally:
        shutil_rm(child_tmp)
    rec = None if watch.verdict else _parse_result(out.decode("utf-8", "replace"))
    if rec is None:
        rec = {"status": "failed", "reason": watch.verdict or _failure_reason(proc.returncode, errb, task)}
    return rec


# -- the zygote: a pre-warmed, single-threaded process that forks one child per bundle

_LOCAL = __import__("threading").local()


class _Zygote:
    def __init__(self):
        import tempfile

        self.dir = tempfile.mkdtemp(prefix="rdpdoctor-batch-")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; from analyzer.batch import _zygote_main; _zygote_main(sys.argv[1])",
             self.dir],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            start_new_session=True)
        self.buf = b""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, obj: dict) -> None:
        self.proc.stdin.write(json.dumps(obj).encode() + b"\n")
        self.proc.stdin.flush()

    def readline(self, timeout: float | None) -> str | None:
        """One reply line; None on timeout; raises EOFError when the zygote is gone."""
        import select

        fd = self.proc.stdout.fileno()
        end = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = None if end is None else max(0.0, end - time.monotonic())
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                raise EOFError("zygote exited")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode()

    def close(self) -> None:
        try:
            _killpg(self.proc.pid)
            self.proc.wait(timeout=5)
        except Exception:                         # noqa: BLE001
            pass
        import shutil

        shutil.rmtree(self.dir, ignore_errors=True)


def _zygote() -> _Zygote:
    z = getattr(_LOCAL, "zygote", None)
    if z is None or not z.alive():
        if z is not None:
            z.close()
        z = _LOCAL.zygote = _Zygote()
    return z


def _drop_zygote() -> None:
    z = getattr(_LOCAL, "zygote", None)
    if z is not None:
        z.close()
        _LOCAL.zygote = None


def _run_forked(task: dict[str, Any], watch: _Watch) -> dict[str, Any]:
    z = _zygote()
    result_path = os.path.join(z.dir, "result.json")
    log_path = os.path.join(z.dir, "child.log")
    for p in (result_path, log_path):
        if os.path.exists(p):
            os.unlink(p)
    pid = 0
    try:
        z.send({"task": task, "result": result_path, "log": log_path})
        line = z.readline(120.0)                  # the zygote may still be importing
        if not line or not line.startswith("pid "):
            raise EOFError(f"no child started ({line!r})")
        pid = int(line.split()[1])
        watch.t0 = time.monotonic()               # a cold zygote's imports are not the bundle's
        while True:
            line = z.readline(0.2)
            if line is not None:
                break
            if watch.over(pid):
                _killpg(pid)
                line = z.readline(30.0)
                if line is None:
                    raise EOFError("killed child not reaped")
                break
        code = int(line.split()[1]) if line and line.startswith("exit ") else None
    except (EOFError, OSError, ValueError) as e:
        if pid:
            _killpg(pid)
        _drop_zygote()
        if watch.verdict:
            return {"status": "failed", "reason": watch.verdict}
        # the zygote died (the OOM killer, an admin, a cold start past 120 s): the machine's
        # fault, not the bundle's — not remembered, analysed again next run (found by review)
        return {"status": "failed", "transient": True,
                "reason": f"worker process lost: {e}{AGAIN}"}
    except BaseException:                         # Ctrl-C, executor shutdown: leave nothing behind
        if pid:
            _killpg(pid)
        _drop_zygote()
        raise
    if watch.verdict:
        return {"status": "failed", "reason": watch.verdict}
    rec = None
    try:
        with open(result_path, encoding="utf-8") as fh:
            rec = json.load(fh)
    except (OSError, ValueError):
        pass
    if rec is None:
        try:
            with open(log_path, "rb") as fh:
                errb = fh.read()[-20000:]
        except OSError:
            errb = b""
        rec = {"status": "failed", "reason": _failure_reason(code, errb, task)}
    return rec


def _zygote_main(workdir: str) -> None:
    """The zygote: import everything once, then fork one child per task line on stdin.

    Exits (removing ``workdir``) when its worker closes stdin, i.e. when the worker exits.
    """
    import signal as _signal

    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)   # the worker decides what to interrupt
    try:
        import analyzer  # noqa: F401
        from . import engine, report  # noqa: F401
        for name in ("json", "html", "markdown"):
            try:
                report.renderer(name)
            except Exception:                         # noqa: BLE001 - reported per bundle later
                pass
    except Exception:                                 # noqa: BLE001 - the child will say what failed
        pass
    # a pre-fork server's collector: what is imported now is frozen out of its scans (and
    # so not written to by them in the children: copy-on-write pages stay shared), and the
    # bundles' children collect less often, as parse workers do (parsers.base._pool_worker)
    import gc

    from parsers.base import WORKER_GC_THRESHOLD
    gc.freeze()
    gc.set_threshold(*WORKER_GC_THRESHOLD)
    out = sys.stdout
    fd_in = sys.stdin.fileno()
    buf = b""

    def next_line() -> bytes | None:
        nonlocal buf
        while b"\n" not in buf:
            chunk = os.read(fd_in, 65536)
            if not chunk:
                return None
            buf += chunk
        line, _, buf = buf.partition(b"\n")
        return line

    while True:
        line = next_line()
        if line is None:
            break
        if not line.strip():
            continue
        req = json.loads(line)
        # the bundle's temporary files (its extracted members) go under our workdir, so a
        # child killed at its timeout or memory budget leaves nothing behind: removed below
        child_tmp = os.path.join(workdir, "tmp")
        pid = os.fork()
        if pid == 0:                                  # the bundle's own process
            code = 0
            try:
                os.setsid()
                _signal.signal(_signal.SIGINT, _signal.SIG_DFL)
                import tempfile as _tempfile
                os.makedirs(child_tmp, mode=0o700, exist_ok=True)
                os.environ["TMPDIR"] = _tempfile.tempdir = child_tmp
                fd = os.open(req["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                rec = _child_record(req["task"])
                tmp = req["result"] + ".part"
                with open(tmp, "w", encoding="utf-8") as fh:
                    json.dump(rec, fh, default=str)
                os.replace(tmp, req["result"])
            except BaseException:                     # noqa: BLE001
                code = 70
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code)
        out.write(f"pid {pid}\n")
        out.flush()
        # wait for the child; if our worker goes away meanwhile (stdin closes: killed,
        # interrupted, shut down), take the child's whole process group with us
        import select

        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            r, _, _ = select.select([fd_in], [], [], 0.5)
            if r:
                chunk = os.read(fd_in, 65536)
                if not chunk:
                    _killpg(pid)
                    os.waitpid(pid, 0)
                    shutil_rm(workdir)
                    return
                buf += chunk
        shutil_rm(child_tmp)
        out.write(f"exit {os.waitstatus_to_exitcode(status)}\n")
        out.flush()
    shutil_rm(workdir)


def shutil_rm(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its descendants (0 where /proc is not available)."""
    total = 0
    stack = [pid]
    seen: set[int] = set()
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * page
            with open(f"/proc/{p}/task/{p}/children", "rb") as fh:
                stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError, IndexError):
            continue
    return total


def _killpg(pid: int) -> None:
    """Kill the process group led by ``pid`` (the bundle's process and anything it started)."""
    try:
        if os.name == "posix":
            os.killpg(pid, signal.SIGKILL)
        else:  # pragma: no cover
            os.kill(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _failure_reason(rc: int | None, errb: bytes, task: dict) -> str:
    tail = [ln for ln in errb.decode("utf-8", "replace").strip().splitlines() if ln.strip()]
    last = tail[-1].strip() if tail else ""
    if "MemoryError" in last:
        return f"memory budget of {task.get('memory_mb')} MiB exhausted (MemoryError)"
    if rc is not None and rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = str(-rc)
        hint = " (out of memory?)" if -rc == signal.SIGKILL else ""
        return f"worker process killed by {name}{hint}"
    return f"worker process exited with code {rc}" + (f": {last[:300]}" if last else "")


# ----------------------------------------------------------------------------- the child


def _child_record(task: dict[str, Any]) -> dict[str, Any]:
    """Run :func:`_child`, turning any exception into a failed record; with the process's
    peak resident memory (bytes, ``child_peak_rss``) where the platform tells it."""
    try:
        rec = _child(task)
    except MemoryError:
        rec = {"status": "failed",
               "reason": f"memory budget of {task.get('memory_mb')} MiB exhausted (MemoryError)"}
    except BaseException as e:                    # noqa: BLE001 - the bundle must not stop the batch
        gone = _unreachable(task["path"])
        if gone:                                  # moved away while it was being read
            rec = {"status": "failed", "transient": True, "reason": gone}
        else:
            msg = str(e).splitlines()[0][:300] if str(e) else ""
            rec = {"status": "failed",
                   "reason": f"analysis crashed: {type(e).__name__}: {msg}".rstrip(": ")}
    peak = _own_peak_rss()
    if peak:
        rec["child_peak_rss"] = peak
    return rec


def _own_peak_rss() -> int:
    """This process's resident high-water mark in bytes (a forked child's starts at what it
    had resident at the fork), 0 where ``resource`` is missing (Windows)."""
    try:
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except (ImportError, OSError, ValueError):
        return 0
    return int(peak) if sys.platform == "darwin" else int(peak) << 10     # macOS: bytes


def _child_main() -> None:
    """Entry point of a subprocess child: task JSON on stdin, one result line on stdout."""
    task = json.loads(sys.stdin.buffer.read())
    rec = _child_record(task)
    sys.stdout.write("\n" + RESULT_MARK + json.dumps(rec, default=str) + "\n")
    sys.stdout.flush()


def _test_hooks(task: dict[str, Any]) -> None:
    path = task["path"]
    hang = os.environ.get(HANG_ENV)
    if hang and hang in path:
        while True:                               # test hook: a bundle that never finishes
            time.sleep(3600)
    hog = os.environ.get(HOG_ENV)
    if hog and hog in path:
        blocks = []                               # test hook: a bundle that eats memory, up to
        cap = 2 * int(task.get("memory_mb") or 512) << 20   # twice its budget (then hangs)
        while len(blocks) * (32 << 20) < cap:
            blocks.append(b"\x01" * (32 << 20))  # written, so resident
            time.sleep(0.02)
        while True:
            time.sleep(3600)


def _import(spec: str) -> Callable:
    from importlib import import_module

    mod, _, func = spec.partition(":")
    return getattr(import_module(mod), func)


#: Appended to the reason of a failure that is not the bundle's (not remembered).
AGAIN = " (not the bundle's fault: analysed again next run)"


def _unreachable(path: str) -> str:
    """Why the bundle at ``path`` cannot be reached from this process ("" when it can): moved
    away after it was hashed, a share that blipped, a Dask worker without the mount. Not the
    bundle's fault, so not remembered: it was stored under the bundle's hash as a crash and
    every later run skipped the bundle as "failed before" (found by review)."""
    try:
        if not os.path.exists(path):
            return f"no such file or folder on {socket.gethostname()}: {path}{AGAIN}"
        if not os.access(path, os.R_OK):
            return f"not readable on {socket.gethostname()}: {path}{AGAIN}"
    except (OSError, ValueError) as e:
        return f"cannot reach {path}: {e}{AGAIN}"
    return ""


def _child(task: dict[str, Any]) -> dict[str, Any]:
    path = task["path"]
    gone = _unreachable(path)
    if gone:
        return {"status": "failed", "transient": True, "reason": gone}
    _test_hooks(task)
    analyze = _import(task.get("analyze") or DEFAULT_ANALYZE)
    t0 = time.monotonic()
    result = analyze(path)
    t_analyze = time.monotonic() - t0
    rec = describe(result)
    rec["t_analyze"] = round(t_analyze, 3)
    if rec["status"] == "failed":
        return rec
    t1 = time.monotonic()
    try:
        reports, warns = write_reports(result, Path(task["outdir"]), task["stem"],
                                       task.get("formats") or ["json"])
    except OSError as e:                          # OUTDIR's fault, not the bundle's
        return {**rec, "status": "failed", "outdir_error": True,
                "reason": f"cannot write the reports to OUTDIR: {e.strerror or e}"}
    rec["reports"] = reports
    rec["report_warnings"] = warns
    rec["t_render"] = round(time.monotonic() - t1, 3)
    return rec


def write_reports(result, outdir: Path, stem: str, formats: list[str]) -> tuple[dict[str, str], list[str]]:
    """Render ``result`` in each format into ``outdir/reports``; a missing renderer is a warning."""
    from . import export
    from .report import render

    reports: dict[str, str] = {}
    warns: list[str] = []
    for fmt in formats:
        rel = f"reports/{stem}{FORMAT_SUFFIX.get(fmt, '.' + fmt)}"
        try:
            text = render(result, fmt)
            data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        except (ImportError, AttributeError, KeyError, NotImplementedError) as e:
            if fmt == "json" and hasattr(result, "to_json"):
                data = result.to_json()
                data = data.encode("utf-8") if isinstance(data, str) else data
            else:
                warns.append(f"{fmt} report not written: renderer unavailable ({type(e).__name__}: {e})")
                continue
        except Exception as e:                    # noqa: BLE001 - a renderer bug is not the bundle's
            warns.append(f"{fmt} report not written: renderer failed ({type(e).__name__}: {e})")
            continue
        export.atomic_write_bytes(outdir / rel, data)
        reports[fmt] = rel
    return reports, warns


def _iso(t) -> str | None:
    import pandas as pd

    if t is None or (not isinstance(t, str) and pd.isna(t)):
        return None
    ts = pd.Timestamp(t)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert("UTC").isoformat()


def host_os(result) -> dict[str, str]:
    """Host → operating system name, from the parsers' meta or the systeminfo rows."""
    out: dict[str, str] = {}
    bundle = getattr(result, "bundle", result)
    for host, meta in (getattr(bundle, "meta", None) or {}).items():
        for k in ("os_name", "os", "product_name"):
            if meta.get(k):
                out[str(host)] = str(meta[k])
                break
    tl = getattr(result, "timeline", None)
    if tl is not None and len(tl) and "event_type" in tl.columns:
        rows = tl[tl["event_type"].astype("string").fillna("").str.startswith("sysinfo:")]
        for host, data in zip(rows["host"], rows["data"]):
            if host is None or str(host) in out or not isinstance(data, str):
                continue
            try:
                d = json.loads(data)
            except ValueError:
                continue
            if d.get("os_name"):
                out[str(host)] = str(d["os_name"])
    return out


def describe(result) -> dict[str, Any]:
    """The bundle record of an analysis result: status, hosts, OS, findings with times."""
    inv = getattr(result, "inventory", None)
    files = int(len(inv)) if inv is not None else 0
    parsed = int((inv["status"] == "parsed").sum()) if files else 0
    # an archive row counts as "parsed" once opened; a bundle is readable when a file is
    readable = int(((inv["status"] == "parsed") & (inv["kind"] != "archive")).sum()) if files else 0
    tl = getattr(result, "timeline", None)
    bundle_time = None
    if tl is not None and len(tl) and "time" in tl.columns and tl["time"].notna().any():
        bundle_time = _iso(tl["time"].max())
    report = getattr(result, "report", None)
    hosts = list(getattr(report, "hosts", None) or getattr(result, "hosts", None)
                 or getattr(getattr(result, "bundle", None), "hosts", None) or [])
    warnings = getattr(report, "warnings", None)
    if warnings is None:
        warnings = getattr(getattr(result, "bundle", result), "warnings", None) or []
    rec: dict[str, Any] = {
        "status": "ok", "reason": "", "hosts": [str(h) for h in hosts], "os": host_os(result),
        "bundle_time": bundle_time, "files": files, "files_parsed": parsed,
        "parse_warnings": len(warnings), "findings": [],
    }
    if inv is not None and not readable:
        rec["status"] = "failed"
        if not files:                             # an empty zip or folder is no clean bundle
            rec["reason"] = "nothing in the bundle: no file at all"
            return rec
        bad = inv[inv["status"] != "parsed"]
        reasons = list(dict.fromkeys(str(r) for r in bad["reason"] if isinstance(r, str) and r))
        rec["reason"] = "nothing readable in the bundle: " + ("; ".join(reasons[:3]) or "no file recognised")
        return rec
    damaged = inv[(inv["kind"] == "archive") & (inv["status"] == "failed")] if files else ()
    if len(damaged):
        # read in part (a zip cut short, a damaged tar): the summary says so beside "ok"
        rec["reason"] = "partly read: " + "; ".join(dict.fromkeys(
            str(r) for r in damaged["reason"] if isinstance(r, str) and r))[:500]
    if report is not None and hasattr(report, "verdict"):
        # ok / incomplete / inconclusive ...: which clean bundles need more data
        rec["verdict"] = report.verdict().status
    for f in (getattr(report, "findings", None) or []):
        times = sorted(e.time for e in f.evidence if getattr(e, "time", None))
        rec["findings"].append({
            "id": f.id, "severity": f.severity, "host": f.host, "title": f.title,
            "summary": f.summary, "explained_by": f.explained_by or "",
            "evidence_count": len(f.evidence),
            "first_evidence": _iso(times[0]) if times else None,
            "last_evidence": _iso(times[-1]) if times else None,
        })
    return rec


# ----------------------------------------------------------------------------- the driver


@dataclass
class BatchResult:
    outdir: Path
    summary: Any                                  # pandas DataFrame (this run's rows)
    counts: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    ignored: list[tuple[str, str]] = field(default_factory=list)   # (path in INBOX, why)
    notes: list[str] = field(default_factory=list)                  # warnings of the run


def _version() -> str:
    """The version a bundle record was made with: the release and a digest of the
    analysing code. A resumed record must come from the same code: the release number alone
    stayed 0.1.0 while detectors changed, and a rerun kept the old findings (and lacked the
    new columns) of every bundle it had seen (found by review)."""
    from . import __version__

    return f"{__version__}+{_code_digest()}"


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    h = hashlib.sha256()
    for pkg in ("analyzer", "parsers"):
        root = Path(importlib.import_module(pkg).__file__).parent
        for f in sorted(root.rglob("*.py")):
            h.update(f.relative_to(root.parent).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def _state_path(outdir: Path, sha: str) -> Path:
    return outdir / "state" / f"{sha}.json"


def _load_state(outdir: Path, sha: str) -> dict | None:
    """The record an earlier run saved; None (analyse again) for a missing, unreadable or
    malformed one: ``[1,2]`` or ``"str"`` stopped the whole batch with an internal error
    (found by review)."""
    try:
        d = json.loads(_state_path(outdir, sha).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(d, dict):
        return None
    for key, typ in (("reports", dict), ("findings", list), ("report_warnings", list),
                     ("hosts", list), ("os", dict), ("limits", dict)):
        if d.get(key) is not None and not isinstance(d[key], typ):
            return None
    if any(not isinstance(f, dict) for f in d.get("findings") or []):
        return None
    return d


def _reusable(state: dict | None, version: str, formats: list[str], outdir: Path,
              retry_failed: bool, limits: dict[str, Any] | None = None) -> bool:
    if not state or state.get("version") != version:
        return False
    if state.get("status") == "failed":
        if retry_failed:
            return False
        # a bundle killed at its timeout or memory budget may pass with other limits
        old = state.get("limits")
        if limits and state.get("limit_hit") and old != limits:
            return False
        return True
    have = state.get("reports") or {}
    warned = " ".join(state.get("report_warnings") or [])
    return all((fmt in have and (outdir / have[fmt]).is_file()) or f"{fmt} report" in warned
               for fmt in formats)


def make_executor(jobs: int = 1, scheduler: str | None = None) -> tuple[Executor, Callable[..., None]]:
    """(executor, close) — a local process pool, or Dask distributed's executor."""
    if scheduler:
        try:
            from distributed import Client
        except ImportError as e:
            raise BatchError("--scheduler needs Dask distributed: pip install 'rdpdoctor[dask]'") from e
        try:
            client = Client(scheduler, timeout="30s")
        except Exception as e:                # noqa: BLE001 - OSError, a malformed address
            # (ValueError), tls:// without TLS configured (TypeError): one line, exit 2
            msg = (str(e).splitlines() or [""])[0][:300]
            hint = ("; tls:// needs Dask's TLS settings (distributed.comm.tls.* in the Dask "
                    "configuration)" if scheduler.startswith("tls://") else "")
            raise BatchUsageError(f"cannot reach the Dask scheduler {scheduler}: "
                                  f"{type(e).__name__}: {msg}{hint}") from None
        try:
            # a scheduler without workers queued every bundle forever, silently (found by
            # review): wait a bounded time for one
            client.wait_for_workers(1, timeout=WORKER_WAIT)
        except Exception:                     # noqa: BLE001 - TimeoutError (asyncio's or not)
            client.close()
            raise BatchUsageError(f"the Dask scheduler {scheduler} has no workers (waited "
                                  f"{WORKER_WAIT:g} s): start some with 'dask worker "
                                  f"{scheduler}'") from None
        ex = client.get_executor(pure=False)

        def close(interrupted: bool = False) -> None:
            ex.shutdown(wait=False)
            client.close()

        return ex, close
    import multiprocessing

    # spawn, not fork (the driver runs threads: fork + threads can deadlock) nor forkserver
    # (its workers would keep the environment of whenever the server started)
    ctx = multiprocessing.get_context("spawn")
    ex = ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=ctx, initializer=_init_worker)

    def close(interrupted: bool = False) -> None:
        if interrupted:                           # stop now: a worker's death takes its bundle along
            from parsers.base import stop_pool
            stop_pool(ex, 10)
        else:
            ex.shutdown(wait=True, cancel_futures=True)

    return ex, close


def _init_worker() -> None:
    """Pool worker initializer: Ctrl-C is the driver's to handle (it stops the workers); the
    worker's Arrow memory comes from the C allocator, like the CLI's."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    from .timeline import use_system_allocator
    use_system_allocator()


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when the driver dies (SIGKILL, OOM killer): its zygote
    sees its stdin close and removes its child and temporary files. Elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)             # PR_SET_PDEATHSIG
        if os.getppid() == 1:                     # the driver died before the call
            os._exit(1)
    except (OSError, AttributeError):
        pass


def run(inbox: str | os.PathLike, outdir: str | os.PathLike, **kw: Any) -> BatchResult:
    """Analyse every bundle of ``inbox`` into ``outdir``; see the module docstring and
    :func:`_run` for the options. One run at a time per OUTDIR: two runs merging their rows
    into the same summary at once lost each other's (the second run is refused)."""
    from filelock import FileLock, Timeout

    memory_mb = kw.get("memory_mb", DEFAULT_MEMORY_MB)
    if memory_mb and memory_mb < MIN_MEMORY_MB:   # (0: no budget)
        raise BatchUsageError(memory_error(memory_mb))
    out = Path(outdir).resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BatchOutdirError(f"cannot create OUTDIR {out}: {e.strerror or e}") from e
    lock = FileLock(str(out / LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise BatchUsageError(f"OUTDIR {out} is in use by another rdpdoctor batch run; wait "
                              "for it to finish or choose another --out") from None
    except OSError as e:
        raise BatchOutdirError(f"cannot write to OUTDIR {out}: {e.strerror or e}") from e
    try:
        return _run(inbox, out, **kw)
    finally:
        lock.release()


def memory_error(memory_mb: int) -> str:
    return (f"--memory-per-bundle {memory_mb}: at least {MIN_MEMORY_MB} MiB (a process "
            "analysing even a small bundle holds about 100 MiB resident)")


def _run(inbox: str | os.PathLike, outdir: str | os.PathLike, *, jobs: int = 1,
         scheduler: str | None = None, executor: Executor | None = None,
         formats: Iterable[str] = ("json",), pattern: str | None = None,
         timeout: float = DEFAULT_TIMEOUT, memory_mb: int = DEFAULT_MEMORY_MB,
         retry_failed: bool = False, analyze: str = DEFAULT_ANALYZE,
         progress: bool = False) -> BatchResult:
    t_start = time.monotonic()
    outdir = Path(outdir).resolve()
    formats = list(dict.fromkeys(formats))
    version = _version()
    ignored: list[tuple[str, str]] = []
    notes: list[str] = []
    refs = discover(inbox, pattern, exclude=[outdir], ignored=ignored)
    limits = {"timeout": float(timeout), "memory_mb": int(memory_mb)}

    rows: dict[str, dict[str, Any]] = {}          # bundle_id → record
    todo: list[dict[str, Any]] = []
    first_by_sha: dict[str, str] = {}
    counts = {"bundles": len(refs), "analysed": 0, "ok": 0, "failed": 0, "skipped": 0,
              "resumed": 0, "resumed_failed": 0, "duplicates": 0, "outdir_faults": 0,
              "transient": 0}
    hashed: list[tuple[BundleRef, str, float]] = []
    for ref in refs:
        t0 = time.monotonic()
        try:
            sha = content_hash(ref.path)
        except OSError as e:
            rows[ref.bundle_id] = {"ref": ref, "sha256": "", "status": "failed", "action": "analysed",
                                   "reason": f"unreadable: {e.strerror or e}", "t_hash": 0.0}
            counts["failed"] += 1
            continue
        hashed.append((ref, sha, round(time.monotonic() - t0, 3)))
    # the bundle an earlier run analysed stays the original of its content: a copy added to
    # the inbox later is its duplicate, not the other way round (found by review)
    sha_of = {ref.bundle_id: sha for ref, sha, _ in hashed}
    for _ref, sha, _t in hashed:
        if sha not in first_by_sha:
            earlier = (_load_state(outdir, sha) or {}).get("bundle_id")
            # (only while that name still holds this content: a renamed bundle and a new
            # one under the old name are not copies of each other)
            if earlier is not None and sha_of.get(earlier) == sha:
                first_by_sha[sha] = earlier
    for ref, sha, t_hash in hashed:
        if first_by_sha.get(sha, ref.bundle_id) != ref.bundle_id:
            rows[ref.bundle_id] = {"ref": ref, "sha256": sha, "status": "skipped", "action": "duplicate",
                                   "reason": f"duplicate of {first_by_sha[sha]}", "t_hash": t_hash}
            counts["skipped"] += 1
            counts["duplicates"] += 1
            continue
        first_by_sha[sha] = ref.bundle_id
        state = _load_state(outdir, sha)
        if _reusable(state, version, formats, outdir, retry_failed, limits):
            rows[ref.bundle_id] = {**state, "ref": ref, "sha256": sha, "action": "resumed", "t_hash": t_hash}
            counts["skipped"] += 1
            counts["resumed"] += 1
            if state.get("status") == "failed":
                counts["resumed_failed"] += 1
            continue
        rows[ref.bundle_id] = {"ref": ref, "sha256": sha, "t_hash": t_hash}
        todo.append({"bundle_id": ref.bundle_id, "path": ref.path, "sha256": sha,
                     "outdir": str(outdir), "stem": _report_stem(ref.path, sha),
                     "formats": formats, "timeout": float(timeout), "memory_mb": int(memory_mb),
                     "analyze": analyze})

    bar = _Progress(len(refs), counts) if progress else None
    close = None
    interrupted = False
    from .signals import term_as_interrupt
    old_term = term_as_interrupt()
    try:
        if bar:
            bar.start()
        pending, second = todo, False
        while pending:
            if executor is None:
                # (no more local workers than bundles: each is a warmed-up process)
                executor, close = make_executor(jobs if scheduler else
                                                max(1, min(jobs, len(pending))), scheduler)
            futs = {executor.submit(run_bundle, t): t for t in pending}
            broken: list[dict[str, Any]] = []
            try:
                for fut in _completed(futs, executor, scheduler):
                    t = futs[fut]
                    try:
                        rec = fut.result()
                    except Exception as e:        # the executor lost the task (worker died):
                        if close is not None and not second and _broken_pool(e):
                            broken.append(t)      # a dead worker broke our pool: once more
                            continue
                        rec = {"status": "failed",   # not the bundle's fault, so not remembered
                               "reason": f"executor task failed: {type(e).__name__}: {e}{AGAIN}"}
                        lost = True
                    else:
                        lost = False
                    rec.update(version=version, sha256=t["sha256"], path=t["path"],
                               bundle_id=t["bundle_id"], limits=limits,
                               limit_hit=rec.get("status") == "failed"
                               and str(rec.get("reason", "")).startswith(LIMIT_REASONS))
                    if _outdir_fault(rec):
                        counts["outdir_faults"] += 1
                    elif lost or rec.get("transient"):
                        # the machine's fault (a worker or zygote lost, the bundle out of
                        # reach): reported now, not remembered, analysed again next run
                        counts["transient"] += 1
                    else:
                        try:
                            _save_state(outdir, t["sha256"], rec)
                        except OSError as e:
                            raise BatchOutdirError(f"cannot write to OUTDIR {outdir}: "
                                             f"{e.strerror or e}") from e
                    rows[t["bundle_id"]].update(rec, action="analysed")
                    counts["analysed"] += 1
                    counts["ok" if rec["status"] == "ok" else "failed"] += 1
                    if bar:
                        bar.advance()
            except (KeyboardInterrupt, BatchError):
                interrupted = True
                for f in futs:
                    f.cancel()
                raise
            pending, second = broken, True
            if broken:                            # a new pool for the bundles the dead one took
                close(False)
                executor = close = None
    finally:
        if close:
            close(interrupted)
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
        if bar:
            bar.stop()
        done = {k: v for k, v in rows.items() if "status" in v}
        try:
            summary = write_outputs(outdir, done, notes)
        except OSError as e:
            raise BatchOutdirError(f"cannot write the summary to OUTDIR {outdir}: "
                             f"{e.strerror or e}") from e
    return BatchResult(outdir, summary, counts, time.monotonic() - t_start, ignored, notes)


def _completed(futs, executor, scheduler: str | None):
    """The futures as they finish (as ``as_completed``). On Dask, a scheduler left without
    workers while bundles are queued is said on stderr, and after :data:`WORKER_WAIT`
    seconds the run stops with a :class:`BatchError` (the per-bundle timeout runs on a
    worker: without one nothing bounded the wait; found by review)."""
    from concurrent.futures import FIRST_COMPLETED, wait

    left = set(futs)
    idle_since: float | None = None
    while left:
        done, left = wait(left, timeout=HEARTBEAT, return_when=FIRST_COMPLETED)
        yield from done
        if done or not scheduler:
            idle_since = None
            continue
        if _dask_workers(executor) != 0:
            idle_since = None
            continue
        now = time.monotonic()
        if idle_since is None:
            idle_since = now
            sys.stderr.write(f"rdpdoctor: waiting: the Dask scheduler {scheduler} has no "
                             f"workers ({len(left)} bundle(s) queued)\n")
            sys.stderr.flush()
        elif now - idle_since >= WORKER_WAIT:
            raise BatchUsageError(f"the Dask scheduler {scheduler} has had no workers for "
                                  f"{WORKER_WAIT:g} s; {len(left)} bundle(s) not analysed "
                                  "(they are analysed next run)")


def _dask_workers(executor) -> int | None:
    """How many workers the executor's Dask scheduler has (None: unknown)."""
    client = getattr(executor, "_client", None)
    try:
        return len(client.scheduler_info().get("workers") or {})
    except Exception:                             # noqa: BLE001 - not Dask, or unreachable
        return None


def _broken_pool(e: BaseException) -> bool:
    from concurrent.futures.process import BrokenProcessPool

    return isinstance(e, BrokenProcessPool)


def _outdir_fault(rec: dict) -> bool:
    """A failure of the machine, not of the bundle (a full disk, an OUTDIR that cannot take
    the reports): not remembered, so the next run analyses the bundle again."""
    reason = str(rec.get("reason", ""))
    return bool(rec.get("outdir_error")) or "No space left on device" in reason \
        or "[Errno 28]" in reason


#: Failure reasons that depend on --timeout-per-bundle / --memory-per-bundle.
LIMIT_REASONS = ("timed out after", "memory budget of",
                 "worker process killed by SIGKILL")    # the kernel's OOM killer, most often


def _save_state(outdir: Path, sha: str, rec: dict) -> None:
    from . import export

    keep = {k: v for k, v in rec.items() if k != "ref"}
    export.atomic_write_text(_state_path(outdir, sha), json.dumps(keep, indent=1, sort_keys=True, default=str))


def _max_sev(findings: list[dict]) -> str:
    sev = [f["severity"] for f in findings if f.get("severity") in SEVERITY_ORDER]
    return max(sev, key=SEVERITY_ORDER.index) if sev else ""


def summary_rows(rec: dict) -> list[dict[str, Any]]:
    """The summary rows (one per finding, at least one) of one bundle record."""
    from .safetext import printable

    ref: BundleRef = rec["ref"]
    findings = rec.get("findings") or []
    os_map = rec.get("os") or {}
    hosts = rec.get("hosts") or []
    base = {
        # (a name the file system holds as undecodable bytes: shown as \xNN escapes)
        "bundle_id": printable(ref.bundle_id), "path": printable(ref.path),
        "sha256": rec.get("sha256", ""), "version": rec.get("version", _version()),
        "status": rec.get("status", "failed"),
        "action": rec.get("action", "analysed"), "reason": rec.get("reason", ""),
        "hosts": ",".join(hosts), "bundle_time": rec.get("bundle_time"),
        "n_findings": len(findings), "max_severity": _max_sev(findings),
        "verdict": rec.get("verdict", ""),
        "files": rec.get("files"), "files_parsed": rec.get("files_parsed"),
        "parse_warnings": rec.get("parse_warnings"),
        "report_warnings": "; ".join(rec.get("report_warnings") or []),
        "t_hash": rec.get("t_hash"), "t_analyze": rec.get("t_analyze"),
        "t_render": rec.get("t_render"), "t_bundle": rec.get("t_bundle"),
        "peak_rss_mb": rec.get("peak_rss_mb"), "worker": rec.get("worker", ""),
    }
    if not findings:
        h = hosts[0] if len(hosts) == 1 else ""
        return [{**base, "host": h, "os": os_map.get(h, ""), "finding_id": "", "severity": "",
                 "title": "", "explained_by": "", "evidence_count": 0,
                 "first_evidence": None, "last_evidence": None}]
    out = []
    for f in findings:
        out.append({**base, "host": f["host"], "os": os_map.get(f["host"], ""),
                    "finding_id": f["id"], "severity": f["severity"], "title": f["title"],
                    "explained_by": f.get("explained_by") or "",
                    "evidence_count": f.get("evidence_count", 0),
                    "first_evidence": f.get("first_evidence"), "last_evidence": f.get("last_evidence")})
    return out


def _typed(df, time_cols: Iterable[str]):
    import pandas as pd

    for c in time_cols:
        df[c] = pd.to_datetime(df[c], utc=True, errors="coerce", format="ISO8601")
    for c in ("n_findings", "evidence_count", "files", "files_parsed", "parse_warnings", "peak_rss_mb"):
        if c in df.columns:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    for c in ("t_hash", "t_analyze", "t_render", "t_bundle"):
        if c in df.columns:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("Float64")
    for c in df.columns:
        if df[c].dtype == object or str(df[c].dtype).startswith("str"):
            df[c] = df[c].astype("string")
    return df


def _stale_dropped(old, new):
    """Earlier runs' rows minus those this run replaces: the same path, the same content
    under a path that is gone (a renamed or moved bundle was counted twice), or a path
    inside, or holding, one of this run's bundles — the inbox was regrouped: a loose file
    added to ``T1/`` made the bundle ``T1/port-conflict.zip`` part of the folder bundle
    ``T1``, and both were counted (found by review). Their state files stay: a regrouping
    back is resumed."""
    paths, shas = set(new["path"]), set(new["sha256"]) - {""}
    holders = {str(a) for p in paths for a in Path(str(p)).parents}
    gone = ~old["path"].map(lambda p: Path(str(p)).exists()).astype(bool)
    moved = old["sha256"].isin(shas).astype(bool) & gone
    regrouped = old["path"].map(
        lambda p: str(p) in holders or any(str(a) in paths for a in Path(str(p)).parents)
    ).astype(bool)
    return old[~old["path"].isin(paths) & ~moved & ~regrouped]


def _history_from_state(outdir: Path) -> dict[str, dict]:
    """The records of earlier runs, from ``state/*.json`` (the newest per path): what an
    unreadable summary.parquet held, rebuilt (duplicates, never saved, are not)."""
    latest: dict[str, tuple[float, dict]] = {}
    for f in (outdir / "state").glob("*.json"):
        d = _load_state(outdir, f.stem)
        if not d or not isinstance(d.get("path"), str) or not isinstance(d.get("bundle_id"), str):
            continue
        try:
            mtime = f.stat().st_mtime
        except OSError:
            continue
        if d["path"] not in latest or latest[d["path"]][0] < mtime:
            latest[d["path"]] = (mtime, d)
    return {d["path"]: {**d, "ref": BundleRef(d["bundle_id"], d["path"]), "action": "analysed"}
            for _, d in latest.values()}


def _finding_rows(records: dict[str, dict]) -> list[dict[str, Any]]:
    from .safetext import printable

    frows = []
    for bid in sorted(records):
        rec = records[bid]
        if rec.get("status") != "ok":
            continue
        for f in rec.get("findings") or []:
            frows.append({"bundle_id": printable(rec["ref"].bundle_id),
                          "path": printable(rec["ref"].path),
                          "sha256": rec.get("sha256", ""),
                          "bundle_time": rec.get("bundle_time"), "host": f["host"],
                          "os": (rec.get("os") or {}).get(f["host"], ""), "finding_id": f["id"],
                          "severity": f["severity"], "title": f["title"], "summary": f.get("summary", ""),
                          "explained_by": f.get("explained_by") or "",
                          "evidence_count": f.get("evidence_count", 0),
                          "first_evidence": f.get("first_evidence"),
                          "last_evidence": f.get("last_evidence")})
    return frows


def write_outputs(outdir: Path, records: dict[str, dict],
                  notes: list[str] | None = None) -> Any:
    """Write summary.parquet/.csv and findings.parquet (merged with earlier runs' rows).

    An earlier summary.parquet or findings.parquet that cannot be read is rebuilt from the
    resume state (``notes`` receives a line saying so): replacing it silently lost the
    history, and findings.parquet then counted root causes of bundles the summary no longer
    had (found by review)."""
    import pandas as pd

    from . import export

    rows = [r for bid in sorted(records) for r in summary_rows(records[bid])]
    new = _typed(pd.DataFrame(rows, columns=SUMMARY_COLUMNS),
                 ["bundle_time", "first_evidence", "last_evidence"])
    full = new
    old_path = outdir / "summary.parquet"
    fpath = outdir / "findings.parquet"
    history: dict[str, dict] | None = None
    old = None
    if old_path.is_file():
        try:
            old = pd.read_parquet(old_path)
        except Exception as e:                    # noqa: BLE001 - damaged: rebuilt from state/
            history = _history_from_state(outdir)
            if notes is not None:
                notes.append(f"{old_path} could not be read ({type(e).__name__}); earlier runs' "
                             f"rows rebuilt from {outdir / 'state'} ({len(history)} bundle(s); "
                             "duplicates of earlier runs are not listed again)")
            old = _typed(pd.DataFrame([r for k in sorted(history) for r in summary_rows(history[k])],
                                      columns=SUMMARY_COLUMNS),
                         ["bundle_time", "first_evidence", "last_evidence"])
    if old is not None:
        old = _stale_dropped(old, new)
        if len(old):
            # an older version's summary may lack a column: keep its rows, blank there
            full = pd.concat([old.reindex(columns=SUMMARY_COLUMNS), new], ignore_index=True)
    full = full.sort_values(["bundle_id", "path", "host", "finding_id"], kind="stable",
                            na_position="first").reset_index(drop=True)
    buf = io.BytesIO()
    full.to_parquet(buf, index=False)
    export.atomic_write_bytes(outdir / "summary.parquet", buf.getvalue())
    # (bundle names, host names and finding summaries are customer text: no formulas)
    export.atomic_write_text(outdir / "summary.csv",
                             export.spreadsheet_safe(full).to_csv(
                                 index=False, lineterminator="\n",
                                 date_format="%Y-%m-%dT%H:%M:%S%z"))
    from .safetext import printable

    fnew = _typed(pd.DataFrame(_finding_rows(records), columns=FINDING_COLUMNS),
                  ["bundle_time", "first_evidence", "last_evidence"])
    fold = None
    if history is None and fpath.is_file():
        try:
            fold = pd.read_parquet(fpath)[FINDING_COLUMNS]
        except Exception as e:                    # noqa: BLE001 - damaged: rebuilt from state/
            history = _history_from_state(outdir)
            if notes is not None:
                notes.append(f"{fpath} could not be read ({type(e).__name__}); earlier runs' "
                             f"findings rebuilt from {outdir / 'state'}")
    if history is not None:
        # the same bundles as the summary's earlier rows, so the two files agree
        keep = set(old["path"]) if old is not None else set()
        fold = _typed(pd.DataFrame(_finding_rows({k: v for k, v in history.items()
                                                  if printable(v["ref"].path) in keep}),
                                   columns=FINDING_COLUMNS),
                      ["bundle_time", "first_evidence", "last_evidence"])
    if fold is not None:
        fold = _stale_dropped(fold, new)
        if len(fold):
            fnew = pd.concat([fold[FINDING_COLUMNS], fnew], ignore_index=True)
    fnew = fnew.sort_values(["bundle_id", "host", "finding_id"], kind="stable").reset_index(drop=True)
    buf = io.BytesIO()
    fnew.to_parquet(buf, index=False)
    export.atomic_write_bytes(fpath, buf.getvalue())
    return new


# ----------------------------------------------------------------------------- presentation


class _Progress:
    """A rich progress bar on stderr: done/failed/skipped, bundles per minute, ETA."""

    def __init__(self, total: int, counts: dict[str, int]):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self.counts = counts
        self.t0 = time.monotonic()
        self.prog = Progress(TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[status]}"), TextColumn("{task.fields[rate]}"),
                             TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                             console=Console(stderr=True), transient=False)
        self.task = self.prog.add_task("", total=total, completed=counts["skipped"] + counts["failed"],
                                       status=self._status(), rate="")

    def _status(self) -> str:
        c = self.counts
        return f"ok {c['ok']} failed {c['failed']} skipped {c['skipped']}"

    def start(self) -> None:
        self.prog.start()

    def advance(self) -> None:
        n = self.counts["analysed"]
        dt = max(time.monotonic() - self.t0, 1e-6)
        self.prog.update(self.task, advance=1, status=self._status(), rate=f"{n * 60 / dt:.1f}/min")

    def stop(self) -> None:
        self.prog.stop()


def counts_table(summary) -> Any:
    """A rich Table: bundles and hosts per finding id, most frequent first."""
    from rich.table import Table

    t = Table(title="Findings by id")
    for col, just in (("finding id", "left"), ("severity", "left"), ("bundles", "right"), ("hosts", "right")):
        t.add_column(col, justify=just)
    ok = summary[(summary["status"] == "ok") & summary["finding_id"].fillna("").ne("")]
    if len(ok):
        g = (ok.groupby(["finding_id", "severity"], dropna=False)
               .agg(bundles=("sha256", "nunique"), hosts=("host", "nunique"))
               .reset_index().sort_values(["bundles", "finding_id"], ascending=[False, True]))
        for r in g.itertuples(index=False):
            t.add_row(str(r.finding_id), str(r.severity), str(r.bundles), str(r.hosts))
    clean = summary[(summary["status"] == "ok") & (summary["n_findings"] == 0)]["sha256"].nunique()
    t.add_row("(no finding)", "", str(clean), "")
    return t
