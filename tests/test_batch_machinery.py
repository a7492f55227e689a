"""Batch mode machinery: discovery, content hashing, isolation (crash, memory), resume, reports.

The bundles here are tiny and built in the test: a netstat -ano capture (hand-written, the
column layout of KNOWLEDGE.md Part B §4.1) zipped under an MSRD-Collect style name, so the
bundle has one host. The scenario-based acceptance runs are in tests/test_batch.py.
"""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from analyzer import batch

NETSTAT = """
Active Connections

  Proto  Local Address          Foreign Address        State           PID
  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       900
  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       {pid}
"""


def tiny_zip(path: Path, host: str, pid: int = 1234) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{host}_Netstat.txt", NETSTAT.format(pid=pid))
    return path


# ----------------------------------------------------------------------------- discovery


def test_discover_folders_archives_and_list_file(tmp_path):
    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "a.zip", "TS01")
    tiny_zip(inbox / "2024-05" / "b.zip", "TS02")
    (inbox / "2024-05" / "c.tar.gz").write_bytes(b"")          # name decides discovery
    fb = inbox / "2024-05" / "folder-bundle"                    # a file of its own: a bundle
    fb.mkdir(parents=True)
    (fb / "netstat.txt").write_text(NETSTAT.format(pid=1))
    (fb / "inner.zip").write_bytes(b"PK")                       # inside a bundle: not separate
    msrd = inbox / "msrd"                                        # only MSRD sub-folders
    (msrd / "TS09_EventLogs").mkdir(parents=True)
    (msrd / "TS09_EventLogs" / "System.evtx").write_bytes(b"ElfFile\0")
    (inbox / ".hidden.zip").write_bytes(b"")
    (inbox / "notes.txt").write_text("not a bundle at top level of the inbox")
    ids = [r.bundle_id for r in batch.discover(inbox)]
    assert ids == ["2024-05/b.zip", "2024-05/c.tar.gz", "2024-05/folder-bundle", "a.zip", "msrd"]
    assert [r.bundle_id for r in batch.discover(inbox, "*.zip")] == ["2024-05/b.zip", "a.zip"]
    # the output folder inside the inbox is never taken for a bundle
    out = inbox / "out"
    (out / "reports").mkdir(parents=True)
    (out / "summary.csv").write_text("x")
    assert "out" not in [r.bundle_id for r in batch.discover(inbox, exclude=[out])]

    lst = tmp_path / "list.txt"
    lst.write_text("# tickets of the day\n\ninbox/a.zip\n" + str((inbox / "msrd").resolve()) + "\n")
    refs = batch.discover(lst)
    assert [Path(r.path) for r in refs] == [(inbox / "a.zip").resolve(), (inbox / "msrd").resolve()]


def test_discover_takes_a_ticket_folder_sorted_into_parts_as_one_bundle(tmp_path):
    # ticket-1234/{EventLogs,Commands,Registry}/...: no loose file at its top, no MSRD
    # folder names — it was taken for three bundles, each analysed alone (review finding)
    inbox = tmp_path / "inbox"
    t = inbox / "2024-05" / "ticket-1234"
    (t / "EventLogs").mkdir(parents=True)
    (t / "EventLogs" / "System.evtx").write_bytes(b"ElfFile\0")
    (t / "Commands").mkdir()
    (t / "Commands" / "netstat.txt").write_text(NETSTAT.format(pid=1))
    (t / "Registry").mkdir()
    (t / "Registry" / "ts.reg").write_text("Windows Registry Editor Version 5.00\n")
    other = inbox / "2024-05" / "ticket-1235"                  # a plain folder bundle beside it
    other.mkdir()
    (other / "netstat.txt").write_text(NETSTAT.format(pid=2))
    ids = [r.bundle_id for r in batch.discover(inbox)]
    assert ids == ["2024-05/ticket-1234", "2024-05/ticket-1235"]
    # a part-folder name that holds ticket archives is a folder of bundles, not a part
    (inbox / "acme" / "logs").mkdir(parents=True)
    tiny_zip(inbox / "acme" / "logs" / "t-101.zip", "TS01")
    tiny_zip(inbox / "acme" / "logs" / "t-102.zip", "TS02")
    ids = [r.bundle_id for r in batch.discover(inbox)]
    assert ids[:2] == ["2024-05/ticket-1234", "2024-05/ticket-1235"]
    assert ids[2:] == ["acme/logs/t-101.zip", "acme/logs/t-102.zip"]


def test_a_copy_added_later_is_the_duplicate_not_the_bundle_analysed_before(tmp_path):
    # a copy of port.zip added as a-copy.zip (sorting first) took the original's place:
    # port.zip, analysed ok earlier, became "duplicate of a-copy.zip" in the summary and its
    # findings moved to the new name (found by review)
    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "port.zip", "TS01")
    out = tmp_path / "out"
    first = batch.run(inbox, out, analyze="analyzer.bundle:load", timeout=120)
    assert first.counts["analysed"] == 1
    (inbox / "a-copy.zip").write_bytes((inbox / "port.zip").read_bytes())
    again = batch.run(inbox, out, analyze="analyzer.bundle:load", timeout=120)
    s = again.summary.drop_duplicates("bundle_id").set_index("bundle_id")
    assert s.loc["port.zip", "action"] == "resumed"
    assert s.loc["a-copy.zip", "action"] == "duplicate"
    assert s.loc["a-copy.zip", "reason"] == "duplicate of port.zip"
    # a bundle renamed, and a new one under the old name: no copies of each other — the
    # renamed one was called a duplicate of the new one and its findings left the summary
    (inbox / "a-copy.zip").unlink()
    (inbox / "port.zip").rename(inbox / "port-old.zip")
    tiny_zip(inbox / "port.zip", "TS09", pid=4321)
    third = batch.run(inbox, out, analyze="analyzer.bundle:load", timeout=120)
    s = third.summary.drop_duplicates("bundle_id").set_index("bundle_id")
    assert s.loc["port-old.zip", "action"] == "resumed"
    assert s.loc["port.zip", "action"] == "analysed"
    (inbox / "a-copy.zip").write_bytes((inbox / "port-old.zip").read_bytes())
    (inbox / "port.zip").unlink()
    (inbox / "port-old.zip").rename(inbox / "port.zip")
    # with no earlier run, the first in order is the original (as before)
    fresh = batch.run(inbox, tmp_path / "out2", analyze="analyzer.bundle:load", timeout=120)
    s = fresh.summary.drop_duplicates("bundle_id").set_index("bundle_id")
    assert s.loc["port.zip", "reason"] == "duplicate of a-copy.zip"


def test_content_hash_folder_depends_on_names_and_bytes(tmp_path):
    a = tmp_path / "a"
    a.mkdir()
    (a / "x.txt").write_text("one")
    (a / "sub").mkdir()
    (a / "sub" / "y.txt").write_text("two")
    h1 = batch.content_hash(a)
    b = tmp_path / "b"
    b.mkdir()
    (b / "sub").mkdir()
    (b / "sub" / "y.txt").write_text("two")
    (b / "x.txt").write_text("one")
    assert batch.content_hash(b) == h1                  # same content elsewhere: same hash
    (b / "x.txt").write_text("one!")
    assert batch.content_hash(b) != h1
    (b / "x.txt").write_text("one")
    (b / "x.txt").rename(b / "z.txt")
    assert batch.content_hash(b) != h1                  # a renamed file is another bundle
    f = tiny_zip(tmp_path / "t.zip", "TS01")
    import hashlib
    assert batch.content_hash(f) == hashlib.sha256(f.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- isolation


def test_crashing_and_memory_hungry_bundles_fail_alone(tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "good.zip", "TS01")
    tiny_zip(inbox / "hog.zip", "TS02")
    tiny_zip(inbox / "good2.zip", "TS03")
    monkeypatch.setenv(batch.HOG_ENV, "hog.zip")
    res = batch.run(inbox, tmp_path / "out", jobs=2, memory_mb=300, timeout=120,
                    analyze="analyzer.bundle:load")
    s = res.summary.set_index("bundle_id")
    assert s.loc["hog.zip", "status"] == "failed"
    assert "memory budget of 300 MiB exceeded" in s.loc["hog.zip", "reason"]
    assert s.loc["hog.zip", "peak_rss_mb"] > 300
    assert list(s.loc[["good.zip", "good2.zip"], "status"]) == ["ok", "ok"]
    assert list(s.loc[["good.zip", "good2.zip"], "hosts"]) == ["TS01", "TS03"]



@pytest.fixture
def crashers(monkeypatch):
    """Make tests/fixtures/batch/crashers.py importable by the analysing child processes."""
    here = str(Path(__file__).parent / "fixtures" / "batch")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")])))


def test_native_crash_and_exception_are_recorded(tmp_path, crashers):
    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "a.zip", "TS01")
    # a native crash (segfault) of the analysing process is a failed bundle, not a dead batch
    res = batch.run(inbox, tmp_path / "out", timeout=120, analyze="crashers:segfault")
    (row,) = res.summary.itertuples()
    assert row.status == "failed" and row.reason == "worker process killed by SIGSEGV"
    res = batch.run(inbox, tmp_path / "out2", timeout=120, analyze="crashers:raise_error")
    (row,) = res.summary.itertuples()
    assert row.status == "failed"
    assert row.reason == "analysis crashed: RuntimeError: detector bug while reading a.zip"


# ----------------------------------------------------------------------------- resume


def test_resume_keys_on_content_and_version(tmp_path):
    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "a.zip", "TS01")
    tiny_zip(inbox / "b.zip", "TS02")
    out = tmp_path / "out"
    first = batch.run(inbox, out, analyze="analyzer.bundle:load", timeout=120)
    assert first.counts["analysed"] == 2
    sha_b = first.summary.set_index("bundle_id").loc["b.zip", "sha256"]
    # an earlier rdpdoctor version's record is not trusted; a changed bundle is a new one
    state = out / "state" / f"{sha_b}.json"
    rec = json.loads(state.read_text())
    # the release alone is not the version: records of other analysing code are redone
    # (the release stayed 0.1.0 while detectors changed, and reruns kept stale findings)
    from analyzer import __version__
    assert rec["version"].startswith(__version__ + "+") and len(rec["version"]) > len(__version__) + 8
    rec["version"] = __version__
    state.write_text(json.dumps(rec))
    tiny_zip(inbox / "a.zip", "TS01", pid=4321)
    tiny_zip(inbox / "c.zip", "TS03")
    again = batch.run(inbox, out, analyze="analyzer.bundle:load", timeout=120)
    s = again.summary.set_index("bundle_id")
    assert again.counts == {"bundles": 3, "analysed": 3, "ok": 3, "failed": 0, "skipped": 0,
                            "resumed": 0, "resumed_failed": 0, "duplicates": 0, "outdir_faults": 0,
                            "transient": 0}
    assert set(s["action"]) == {"analysed"}
    third = batch.run(inbox, out, analyze="analyzer.bundle:load", timeout=120)
    assert third.counts["resumed"] == 3 and third.counts["analysed"] == 0
    assert set(third.summary["action"]) == {"resumed"}
    assert set(third.summary["status"]) == {"ok"}
    # no temporary file is left behind
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]


def test_summary_accumulates_earlier_runs(tmp_path):
    out = tmp_path / "out"
    tiny_zip(tmp_path / "day1" / "a.zip", "TS01")
    tiny_zip(tmp_path / "day2" / "b.zip", "TS02")
    batch.run(tmp_path / "day1", out, analyze="analyzer.bundle:load", timeout=120)
    batch.run(tmp_path / "day2", out, analyze="analyzer.bundle:load", timeout=120)
    s = pd.read_parquet(out / "summary.parquet")
    assert list(s["bundle_id"]) == ["a.zip", "b.zip"]
    assert list(s["hosts"]) == ["TS01", "TS02"]
    csv = pd.read_csv(out / "summary.csv")
    assert list(csv.columns) == batch.SUMMARY_COLUMNS and len(csv) == 2


def test_an_older_summary_without_a_new_column_keeps_its_rows(tmp_path):
    """Adding the ``verdict`` column made an older OUTDIR's summary fail ``old[COLUMNS]``,
    and the except dropped every earlier run's row silently."""
    out = tmp_path / "out"
    tiny_zip(tmp_path / "day1" / "a.zip", "TS01")
    tiny_zip(tmp_path / "day2" / "b.zip", "TS02")
    batch.run(tmp_path / "day1", out, analyze="analyzer.bundle:load", timeout=120)
    old = pd.read_parquet(out / "summary.parquet").drop(columns=["verdict"])
    old.to_parquet(out / "summary.parquet", index=False)          # as an older version wrote it
    batch.run(tmp_path / "day2", out, analyze="analyzer.bundle:load", timeout=120)
    s = pd.read_parquet(out / "summary.parquet")
    assert list(s["bundle_id"]) == ["a.zip", "b.zip"] and list(s.columns) == batch.SUMMARY_COLUMNS


# ----------------------------------------------------------------------------- reports


def test_missing_renderer_is_a_warning(tmp_path, monkeypatch):
    import analyzer
    from analyzer import report

    monkeypatch.setitem(report.RENDERERS, "markdown", "analyzer.report.no_such_module:render")
    f = tiny_zip(tmp_path / "a.zip", "TS01")
    result = analyzer.analyze(f)
    reports, warns = batch.write_reports(result, tmp_path / "out", "a-0000", ["json", "markdown"])
    assert reports == {"json": "reports/a-0000.json"}
    assert len(warns) == 1 and warns[0].startswith("markdown report not written: renderer unavailable")
    doc = json.loads((tmp_path / "out" / "reports" / "a-0000.json").read_text())
    assert doc["hosts"] == ["TS01"]


# ----------------------------------------------------------------------------- interruption


def test_ctrl_c_stops_cleanly_and_the_rerun_picks_up(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    inbox = tmp_path / "inbox"
    for i in range(3):
        tiny_zip(inbox / f"a{i}.zip", f"TS0{i}")
    tiny_zip(inbox / "z-hangs.zip", "TS09")
    out = tmp_path / "out"
    env = dict(os.environ, **{batch.HANG_ENV: "z-hangs"})
    proc = subprocess.Popen([sys.executable, "-m", "analyzer.cli", "batch", str(inbox), "--out", str(out),
                             "--jobs", "2", "--timeout-per-bundle", "600"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 300
        while len(list((out / "state").glob("*.json"))) < 3 and proc.poll() is None:
            assert time.monotonic() < deadline, "the three good bundles were never analysed"
            time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGINT)              # Ctrl-C while the hanging bundle runs
        proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
    done = pd.read_parquet(out / "summary.parquet")
    assert sorted(done["bundle_id"]) == ["a0.zip", "a1.zip", "a2.zip"]
    # the interrupted bundle was not recorded: the rerun analyses it, and only it
    again = batch.run(inbox, out, analyze="analyzer.bundle:load", timeout=120)
    assert again.counts["analysed"] == 1 and again.counts["resumed"] == 3
    assert again.summary.set_index("bundle_id").loc["z-hangs.zip", "status"] == "ok"


def test_a_bundle_killed_at_its_timeout_leaves_no_extracted_files(tmp_path, crashers,
                                                                 monkeypatch):
    """The child is SIGKILLed, so its own cleanup never runs: the customer's extracted files
    stayed in $TMPDIR (found by review). The zygote now owns the child's temp folder."""
    import tempfile
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    monkeypatch.setattr(tempfile, "tempdir", None)
    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "a.zip", "TS01")
    res = batch.run(inbox, tmp_path / "out", timeout=3, analyze="crashers:extract_then_hang")
    (row,) = res.summary.itertuples()
    assert row.status == "failed" and row.reason.startswith("timed out after 3 s")
    assert not [p for p in tmpdir.rglob("*") if p.is_file()]


def test_empty_bundle_fails_and_nothing_in_the_inbox_goes_unaccounted(tmp_path):
    from parsers.base import ParseOptions  # noqa: F401  (parsers importable: content sniffing)
    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "a.zip", "TS01")
    zipfile.ZipFile(inbox / "empty.zip", "w").close()
    (inbox / "TS05_Netstat.txt").write_text(NETSTAT.format(pid=77))   # a loose capture
    (inbox / "notes.pdf").write_bytes(b"%PDF-1.7\n")
    (inbox / "linked.zip").symlink_to(inbox / "a.zip")
    (inbox / "dangling.zip").symlink_to(tmp_path / "gone.zip")
    old = inbox / "old-out"                                         # an earlier run's OUTDIR
    (old / "state").mkdir(parents=True)
    (old / "summary.csv").write_text("x")
    ignored: list = []
    ids = [r.bundle_id for r in batch.discover(inbox, ignored=ignored)]
    assert ids == ["TS05_Netstat.txt", "a.zip", "empty.zip", "linked.zip"]
    assert sorted(p for p, _ in ignored) == ["dangling.zip", "notes.pdf", "old-out"]
    res = batch.run(inbox, tmp_path / "out", timeout=120, analyze="analyzer.bundle:load")
    s = res.summary.drop_duplicates("bundle_id").set_index("bundle_id")
    assert s.loc["empty.zip", "status"] == "failed"
    assert s.loc["empty.zip", "reason"] == "nothing in the bundle: no file at all"
    assert s.loc["TS05_Netstat.txt", "status"] == "ok" and s.loc["TS05_Netstat.txt", "hosts"] == "TS05"
    assert s.loc["linked.zip", "action"] == "duplicate"              # the same content as a.zip
    assert len(res.ignored) == 3
    with pytest.raises(batch.BatchError, match="OUTDIR is INBOX"):
        batch.run(inbox, inbox)


def test_a_failure_at_the_limits_is_retried_when_the_limits_change(tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "hang.zip", "TS01")
    monkeypatch.setenv(batch.HANG_ENV, "hang.zip")
    out = tmp_path / "out"
    first = batch.run(inbox, out, timeout=2, analyze="analyzer.bundle:load")
    assert first.counts["failed"] == 1
    again = batch.run(inbox, out, timeout=2, analyze="analyzer.bundle:load")
    assert again.counts["resumed"] == 1 and again.counts["resumed_failed"] == 1
    monkeypatch.delenv(batch.HANG_ENV)
    third = batch.run(inbox, out, timeout=60, analyze="analyzer.bundle:load")
    assert third.counts["analysed"] == 1 and third.counts["ok"] == 1


def _procs_mentioning(text: str) -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if text.encode() in (p / "cmdline").read_bytes() or \
                        text.encode() in (p / "environ").read_bytes():
                    out.append(int(p.name))
            except OSError:
                pass
    return out


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_a_killed_driver_leaves_no_processes_or_files(tmp_path, sig):
    """SIGTERM (kill, timeout, a cancelled CI job) stops the batch as Ctrl-C does; after a
    SIGKILL the pool workers die with the driver and their zygotes clean up. Both used to
    leave workers, zygotes and temp folders behind (found by review)."""
    import signal
    import subprocess
    import sys
    import time
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    inbox = tmp_path / "inbox"
    for n in ("hang-a.zip", "hang-b.zip"):
        tiny_zip(inbox / n, "TS01", pid=len(n))
    env = {**os.environ, "TMPDIR": str(tmpdir), batch.HANG_ENV: "hang-"}
    p = subprocess.Popen([sys.executable, "-c", "import sys; from analyzer.cli import main; "
                          "main(sys.argv[1:])", "batch", str(inbox), "-o", str(tmp_path / "out"),
                          "-j", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(_procs_mentioning(str(tmpdir))) < 5 and time.monotonic() < deadline:
        time.sleep(0.5)                 # driver, 2 workers, 2 zygotes (+ children) running
    time.sleep(1)
    p.send_signal(getattr(signal, sig))
    p.communicate(timeout=60)
    deadline = time.monotonic() + 30
    while _procs_mentioning(str(tmpdir)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _procs_mentioning(str(tmpdir)) == []
    assert not [x for x in tmpdir.rglob("*") if x.is_file()]
    if sig == "SIGTERM":
        assert p.returncode == 130


def test_a_renamed_bundle_is_counted_once(tmp_path):
    """Its old path's rows stayed in the summary forever: 'ok 4' for 3 files (found by
    review)."""
    from analyzer import rollup
    inbox = tmp_path / "inbox"
    for n, h in (("a.zip", "TS01"), ("b.zip", "TS02"), ("c.zip", "TS03")):
        tiny_zip(inbox / n, h)
    out = tmp_path / "out"
    batch.run(inbox, out, timeout=120, analyze="analyzer.bundle:load")
    (inbox / "b.zip").rename(inbox / "b-renamed.zip")
    batch.run(inbox, out, timeout=120, analyze="analyzer.bundle:load")
    summary, _ = rollup.load(out)
    assert sorted(summary["bundle_id"].unique()) == ["a.zip", "b-renamed.zip", "c.zip"]
    assert dict(rollup.status_counts(summary)) == {"ok": 3}


# ---------------------------------------------------------------- OUTDIR, pool and INBOX faults


def test_a_second_run_into_the_same_outdir_is_refused(tmp_path):
    # two runs merging their rows into one summary at once lost each other's rows
    from filelock import FileLock

    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "a.zip", "TS01")
    out = tmp_path / "out"
    out.mkdir()
    with FileLock(str(out / ".rdpdoctor-batch.lock")):
        with pytest.raises(batch.BatchUsageError, match="in use by another rdpdoctor batch"):
            batch.run(inbox, out, analyze="analyzer.bundle:load", timeout=120)
    assert batch.run(inbox, out, analyze="analyzer.bundle:load", timeout=120).counts["ok"] == 1


def test_an_outdir_that_cannot_take_the_reports_is_not_the_bundles_fault(tmp_path):
    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "a.zip", "TS01")
    out = tmp_path / "out"
    out.mkdir()
    (out / "reports").write_text("a file where the reports folder goes")
    first = batch.run(inbox, out, timeout=120)        # the full analysis writes a report
    assert first.counts["failed"] == 1
    assert "cannot write the reports to OUTDIR" in first.summary["reason"].iloc[0]
    assert not list((out / "state").glob("*.json"))      # not remembered as the bundle's
    assert first.counts["outdir_faults"] == 1
    # the command says so and exits 2: a cron or CI wrapper read exit 0 as a complete run
    # (review finding)
    from analyzer.cli import main
    with pytest.raises(SystemExit) as e:
        main(["batch", str(inbox), "--out", str(out), "-j", "1"])
    assert e.value.code == 2
    (out / "reports").unlink()
    again = batch.run(inbox, out, timeout=120)
    assert (again.counts["analysed"], again.counts["ok"]) == (1, 1)
    assert again.counts["outdir_faults"] == 0
    # the state folder is a file: one clear error, not an internal one
    out2 = tmp_path / "out2"
    out2.mkdir()
    (out2 / "state").write_text("x")
    with pytest.raises(batch.BatchError, match="cannot write to OUTDIR"):
        batch.run(inbox, out2, analyze="analyzer.bundle:load", timeout=120)


def test_a_dead_pool_worker_does_not_fail_the_other_bundles(tmp_path, monkeypatch):
    # one killed worker broke the process pool and every bundle not yet done "failed"
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    inbox = tmp_path / "inbox"
    for i in range(3):
        tiny_zip(inbox / f"{i}.zip", f"TS0{i}")
    pools = []

    class Pool:
        def __init__(self):
            self.broken = not pools          # the first pool dies
            pools.append(self)

        def submit(self, fn, task):
            f = Future()
            if self.broken and task["bundle_id"] != "0.zip":
                f.set_exception(BrokenProcessPool("a child process terminated abruptly"))
            else:
                f.set_result(fn(task))
            return f

    monkeypatch.setattr(batch, "make_executor", lambda jobs, scheduler: (Pool(), lambda i: None))
    res = batch.run(inbox, tmp_path / "out", analyze="analyzer.bundle:load", timeout=120)
    assert len(pools) == 2 and res.counts["ok"] == 3 and res.counts["failed"] == 0


def test_one_bundle_given_as_inbox_is_analysed(tmp_path):
    # `batch ticket.zip` read the zip as a list file: "embedded null byte", internal error
    z = tiny_zip(tmp_path / "ticket.zip", "TS01")
    assert [r.bundle_id for r in batch.discover(z)] == ["ticket.zip"]
    ev = tmp_path / "System.evtx"
    ev.write_bytes(b"ElfFile\0" + bytes(4088))
    assert [r.bundle_id for r in batch.discover(ev)] == ["System.evtx"]
    lst = tmp_path / "list.txt"
    lst.write_text("ticket.zip\n# a comment\n\nSystem.evtx\n")
    assert [r.bundle_id for r in batch.discover(lst)] == ["ticket.zip", "System.evtx"]
    res = batch.run(z, tmp_path / "out", analyze="analyzer.bundle:load", timeout=120)
    assert res.counts["ok"] == 1


def test_outdir_equal_to_inbox_is_a_usage_error(tmp_path):
    from typer.testing import CliRunner

    from analyzer.cli import app

    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "a.zip", "TS01")
    r = CliRunner().invoke(app, ["batch", str(inbox), "--out", str(inbox)])
    assert r.exit_code == 2 and "OUTDIR is INBOX" in r.output


def test_a_bundle_the_oom_killer_took_is_retried_with_other_limits(tmp_path):
    rec = {"status": "failed", "reason": "worker process killed by SIGKILL (out of memory?)"}
    assert str(rec["reason"]).startswith(batch.LIMIT_REASONS)
    state = {**rec, "version": "v", "limit_hit": True, "limits": {"timeout": 60, "memory_mb": 2000}}
    assert batch._reusable(state, "v", ["json"], tmp_path, False,
                           {"timeout": 60, "memory_mb": 2000})
    assert not batch._reusable(state, "v", ["json"], tmp_path, False,
                               {"timeout": 60, "memory_mb": 8000})


def test_an_outdir_stopped_before_its_first_summary_is_no_bundle(tmp_path):
    # a run killed before writing summary.parquet left state/ and reports/: a later run over
    # the folder holding it took them for two failed bundles
    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "a.zip", "TS01")
    out = inbox / "results"
    (out / "state").mkdir(parents=True)
    (out / "reports").mkdir()
    (out / "state" / "x.json").write_text("{}")
    (out / batch.LOCK_NAME).write_text("")
    ignored: list = []
    assert [r.bundle_id for r in batch.discover(inbox, ignored=ignored)] == ["a.zip"]
    assert ignored == [("results", "an OUTDIR of an earlier batch run")]


def test_a_bundle_read_in_part_says_so_in_the_summary(tmp_path):
    # a zip cut short is analysed from the members before the cut: "ok", and the summary's
    # reason says it was read in part (nothing told it from a whole bundle)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    whole = Path(__file__).resolve().parents[1] / "sample_data" / "port-conflict.zip"
    data = whole.read_bytes()
    (inbox / "cut.zip").write_bytes(data[: len(data) * 2 // 3])
    res = batch.run(inbox, tmp_path / "out", timeout=120)
    row = res.summary.drop_duplicates("bundle_id").set_index("bundle_id").loc["cut.zip"]
    assert row["status"] == "ok"
    assert row["reason"].startswith("partly read: zip without its central directory")
    assert "member(s) read from their local headers" in row["reason"]


def test_a_kill_just_past_the_budget_reports_a_peak_above_it(monkeypatch):
    """The watch kills at resident memory > budget; the figures it reports are rounded up
    to MiB, so a process a few KiB past 300 MiB reads 301, not 300 (fresh-clone CI: the
    hog test's "peak > 300" failed on exactly 300 with rounding down)."""
    from analyzer import batch as B
    monkeypatch.setattr(B, "_tree_rss", lambda pid: (300 << 20) + 4096)
    w = B._Watch({"memory_mb": 300}, 0.0)
    assert "memory budget of 300 MiB exceeded (301 MiB resident" in w.over(1)
    assert B._mib_up(w.peak) == 301 and B._mib_up(300 << 20) == 300 and B._mib_up(0) == 0
