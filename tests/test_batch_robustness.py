"""Batch mode under faults a robustness review found (exit codes, failures that are not the
bundle's, regrouped or single-ticket inboxes, odd list files, Dask without workers, memory
limits). Bundles are built here (tiny netstat zips) or with the project's sample generator.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from analyzer import batch
from analyzer.cli import app

NETSTAT = """
Active Connections

  Proto  Local Address          Foreign Address        State           PID
  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       900
  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       {pid}
"""
LOAD = "analyzer.bundle:load"


def tiny_zip(path: Path, host: str, pid: int = 1234) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{host}_Netstat.txt", NETSTAT.format(pid=pid))
    return path


def cli(*args: str):
    return CliRunner().invoke(app, ["batch", *args])


# ------------------------------------------------------------------------- 1. exit codes


@pytest.mark.timeout(300)
def test_an_outdir_that_cannot_be_written_exits_2_not_3(tmp_path):
    """'cannot write to OUTDIR' / 'cannot write the summary' exited 3 ("the bundle cannot
    be opened") without --scheduler and 2 with it; README says 2 (found by review)."""
    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "a.zip", "TS01")
    out = tmp_path / "out"
    out.mkdir()
    (out / "state").write_text("a file where the state folder goes")
    r = cli(str(inbox), "--out", str(out))
    assert r.exit_code == 2, r.output
    assert "rdpdoctor: error: cannot write to OUTDIR" in r.output
    out2 = tmp_path / "out2"
    (out2 / "summary.parquet").mkdir(parents=True)       # the summary cannot be replaced
    r = cli(str(inbox), "--out", str(out2))
    assert r.exit_code == 2, r.output
    assert "cannot write the summary to OUTDIR" in r.output
    # only an INBOX that cannot be opened is 3
    r = cli(str(tmp_path / "no-such-inbox"), "--out", str(tmp_path / "out3"))
    assert r.exit_code == 3 and "no such file or folder" in r.output
    with pytest.raises(batch.BatchInboxError):
        batch.run(tmp_path / "no-such-inbox", tmp_path / "out3")


# --------------------------------------------- 2, 3. failures that are not the bundle's


@pytest.fixture
def helpers(tmp_path, monkeypatch):
    """A module the analysing children import (PYTHONPATH reaches the pool's zygotes)."""
    d = tmp_path / "helpers"
    d.mkdir()
    (d / "rvb_helpers.py").write_text(
        "import os, signal, time\n"
        "from pathlib import Path\n"
        "from analyzer.bundle import load\n"
        "def move_then_load(path):\n"
        "    Path(path).rename(path + '.away')       # moved while the batch runs\n"
        "    return load(path)\n"
        "def gc_then_load(path):\n"
        "    import gc, json\n"
        "    Path(path + '.gc').write_text(json.dumps([gc.get_threshold(), gc.get_freeze_count()]))\n"
        "    return load(path)\n"
        +         "def kill_zygote(path):\n"
        "    os.kill(os.getppid(), signal.SIGKILL)   # our parent is the zygote\n"
        "    time.sleep(60)\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(d), os.environ.get("PYTHONPATH")])))
    return d


class _InlinePool:
    """An executor that runs the task in this process, after ``before(task)``."""

    def __init__(self, before=lambda t: None):
        self.before = before

    def submit(self, fn, task):
        from concurrent.futures import Future

        self.before(task)
        f = Future()
        f.set_result(fn(task))
        return f


@pytest.mark.timeout(300)
def test_a_bundle_out_of_reach_at_analysis_time_is_analysed_again_next_run(tmp_path, helpers):
    """Moved away after hashing (or a Dask worker without the mount): it was stored as
    'analysis crashed: BundleError: no such file' under its hash and skipped for good."""
    inbox = tmp_path / "inbox"
    a = tiny_zip(inbox / "a.zip", "TS01")
    tiny_zip(inbox / "b.zip", "TS02")
    out = tmp_path / "out"
    # moved while it was being read
    res = batch.run(inbox, out, timeout=120, analyze="rvb_helpers:move_then_load")
    s = res.summary.drop_duplicates("bundle_id").set_index("bundle_id")
    assert s.loc["a.zip", "status"] == "failed"
    assert s.loc["a.zip", "reason"].startswith("no such file or folder on ")
    assert s.loc["a.zip", "reason"].endswith("(not the bundle's fault: analysed again next run)")
    assert not list((out / "state").glob("*.json"))
    assert res.counts.get("transient") == 2
    for p in inbox.glob("*.away"):
        p.rename(str(p)[: -len(".away")])
    # gone before its turn came (the executor's worker does not see it)
    res = batch.run(inbox, out, timeout=120, analyze=LOAD,
                    executor=_InlinePool(lambda t: t["bundle_id"] == "a.zip"
                                         and a.rename(tmp_path / "away.zip")))
    s = res.summary.drop_duplicates("bundle_id").set_index("bundle_id")
    assert s.loc["a.zip", "status"] == "failed" and "no such file or folder" in s.loc["a.zip", "reason"]
    assert s.loc["b.zip", "status"] == "ok"
    (tmp_path / "away.zip").rename(a)
    again = batch.run(inbox, out, timeout=120, analyze=LOAD)
    s = again.summary.drop_duplicates("bundle_id").set_index("bundle_id")
    assert (again.counts["analysed"], again.counts["resumed"], again.counts["resumed_failed"]) == (1, 1, 0)
    assert s.loc["a.zip", "status"] == "ok" and s.loc["a.zip", "hosts"] == "TS01"


@pytest.mark.timeout(300)
@pytest.mark.skipif(not hasattr(os, "fork"), reason="the zygote is POSIX only")
def test_a_lost_zygote_is_not_remembered_as_the_bundles_failure(tmp_path, helpers):
    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "a.zip", "TS01")
    out = tmp_path / "out"
    res = batch.run(inbox, out, timeout=120, analyze="rvb_helpers:kill_zygote")
    (row,) = res.summary.itertuples()
    assert row.status == "failed" and row.reason.startswith("worker process lost: zygote exited")
    again = batch.run(inbox, out, timeout=120, analyze=LOAD)
    (row,) = again.summary.itertuples()
    assert (row.status, row.action, row.hosts) == ("ok", "analysed", "TS01")
    assert res.counts.get("transient") == 1


# ----------------------------------------------------------- 4. an inbox regrouped


def _scenario(name: str, dest: Path, seed: int = 0) -> Path:
    from analyzer import sample

    return Path(sample.write_bundle(name, dest, seed=seed, fmt="zip"))


@pytest.mark.timeout(600)
def test_a_ticket_folder_regrouped_between_runs_is_counted_once(tmp_path):
    """T1/ holding one zip is the bundle T1/port-conflict.zip; a notes.pdf added beside it
    makes T1 a folder bundle, and both row sets stayed: summarize counted the ticket twice."""
    from analyzer import rollup

    inbox = tmp_path / "inbox"
    _scenario("port-conflict", inbox / "T1" / "port-conflict.zip")
    _scenario("listener-down", inbox / "T2" / "listener-down.zip", 1)
    out = tmp_path / "out"
    batch.run(inbox, out, timeout=300)
    (inbox / "T1" / "notes.pdf").write_bytes(b"%PDF-1.4\n")
    second = batch.run(inbox, out, timeout=300)
    assert sorted(second.summary["bundle_id"].unique()) == ["T1", "T2/listener-down.zip"]

    def counted(out):
        summary, findings = rollup.load(out)
        rc = rollup.root_causes(findings)
        return (dict(rollup.status_counts(summary)),
                rc.groupby("finding_id")["sha256"].nunique().to_dict(),
                sorted(summary["bundle_id"].unique()), sorted(findings["bundle_id"].unique()))

    st, by_id, sids, fids = counted(out)
    assert st == {"ok": 2}
    assert by_id["port-conflict"] == 1
    assert sids == ["T1", "T2/listener-down.zip"] and fids == sids
    r = CliRunner().invoke(app, ["summarize", str(out), "--by", "host"])
    assert r.exit_code == 0 and "bundles: ok 2" in r.output
    # and back: the loose file removed, T1/port-conflict.zip is resumed, T1's rows go
    (inbox / "T1" / "notes.pdf").unlink()
    third = batch.run(inbox, out, timeout=300)
    assert third.counts["resumed"] == 2 and third.counts["analysed"] == 0
    st, by_id, sids, _ = counted(out)
    assert st == {"ok": 2} and by_id["port-conflict"] == 1
    assert sids == ["T1/port-conflict.zip", "T2/listener-down.zip"]


# ----------------------------------------------------- 5. INBOX is one extracted ticket


@pytest.mark.timeout(600)
def test_an_extracted_ticket_given_as_inbox_is_refused_not_split(tmp_path):
    """Its <PC>_ folders were analysed one by one: TS22PORT_EventLogs and _SystemInfo each
    got a listener-down fault without the port conflict that explains it."""
    tk = tmp_path / "tickets" / "tk"
    tk.mkdir(parents=True)
    with zipfile.ZipFile(_scenario("port-conflict", tmp_path / "pc.zip")) as zf:
        zf.extractall(tk)
    assert (tk / "TS22PORT_EventLogs").is_dir()
    with pytest.raises(batch.BatchUsageError, match="one extracted ticket"):
        batch.discover(tk)
    r = cli(str(tk), "--out", str(tmp_path / "out"))
    assert r.exit_code == 2
    assert r.output.count("\n") == 1 and "rdpdoctor analyze" in r.output
    assert "TS22PORT_" in r.output
    # a ticket sorted into part folders, with no archive beside them, is one ticket too
    parts = tmp_path / "parts"
    (parts / "EventLogs").mkdir(parents=True)
    shutil.copy(next((tk / "TS22PORT_EventLogs").glob("*System.evtx")), parts / "EventLogs")
    (parts / "Commands").mkdir()
    (parts / "Commands" / "netstat.txt").write_text(NETSTAT.format(pid=1))
    with pytest.raises(batch.BatchUsageError, match=r"holds (Commands|EventLogs)/"):
        batch.discover(parts)
    # the folder that holds the ticket is the way: one bundle, the real root cause
    res = batch.run(tmp_path / "tickets", tmp_path / "out", timeout=300)
    s = res.summary
    assert list(s["bundle_id"].unique()) == ["tk"]
    rc = s[(s["finding_id"] != "") & (s["explained_by"] == "")]
    assert "port-conflict" in set(rc["finding_id"])
    assert "listener-down" not in set(rc["finding_id"])       # explained by the conflict
    # a folder of tickets with a part-folder name beside archives is still a folder of them
    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "a.zip", "TS01")
    (inbox / "logs").mkdir()
    (inbox / "logs" / "TS02_Netstat.txt").write_text(NETSTAT.format(pid=2))
    assert [r.bundle_id for r in batch.discover(inbox)] == ["a.zip", "logs"]


# ------------------------------------------------------------ 6. malformed state file


@pytest.mark.timeout(300)
@pytest.mark.parametrize("content", ["[1,2]", '"str"', "findings-not-a-list"])
def test_a_state_file_of_valid_json_but_no_record_is_analysed_again(tmp_path, content):
    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "a.zip", "TS01")
    tiny_zip(inbox / "b.zip", "TS02")
    out = tmp_path / "out"
    first = batch.run(inbox, out, timeout=120, analyze=LOAD)
    sha = first.summary.set_index("bundle_id").loc["a.zip", "sha256"]
    state = out / "state" / f"{sha}.json"
    if content == "findings-not-a-list":      # the right version, a field of the wrong type
        rec = json.loads(state.read_text())
        content = json.dumps({**rec, "findings": "x"})
    state.write_text(content)
    r = cli(str(inbox), "--out", str(out))
    assert r.exit_code == 0, r.output
    s = pd.read_parquet(out / "summary.parquet").set_index("bundle_id")
    assert s.loc["a.zip", "action"] == "analysed" and s.loc["a.zip", "hosts"] == "TS01"
    assert s.loc["b.zip", "action"] == "resumed"


# ----------------------------------------------------------- 9, 10. list files


@pytest.mark.timeout(300)
def test_a_path_named_twice_in_a_list_file_is_analysed_once(tmp_path):
    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "a.zip", "TS01")
    tiny_zip(inbox / "b.zip", "TS02")
    lst = tmp_path / "list.txt"
    lst.write_text("inbox/a.zip\ninbox/a.zip\n./inbox/a.zip\n# c\n\ninbox/b.zip\n")
    res = batch.run(lst, tmp_path / "out", timeout=120, analyze=LOAD)
    assert res.counts["bundles"] == 2 and res.counts["analysed"] == 2 and res.counts["ok"] == 2
    assert sorted(res.summary["bundle_id"]) == ["inbox/a.zip", "inbox/b.zip"]
    assert res.ignored == [("inbox/a.zip", "named again in the list file (as inbox/a.zip)"),
                           ("./inbox/a.zip", "named again in the list file (as inbox/a.zip)")]
    csv = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert len(csv["bundle_id"].unique()) == res.counts["bundles"]


@pytest.mark.timeout(300)
def test_a_list_given_through_a_pipe_is_read_as_a_list_file(tmp_path):
    """`batch <(find ...)` and `... | batch /dev/stdin` walked the pipe as a folder:
    FileNotFoundError, internal error (exit 4)."""
    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "a.zip", "TS01")
    tiny_zip(inbox / "b.zip", "TS02")
    p = subprocess.run([sys.executable, "-m", "analyzer.cli", "batch", "/dev/stdin", "--out",
                        str(tmp_path / "out"), "--timeout-per-bundle", "120"],
                       input="inbox/a.zip\n", capture_output=True, text=True, cwd=tmp_path,
                       timeout=240)
    assert p.returncode == 0, p.stderr
    assert "1 bundles: 1 analysed ok, 0 failed" in p.stdout
    s = pd.read_parquet(tmp_path / "out" / "summary.parquet")
    assert list(s["bundle_id"]) == ["inbox/a.zip"] and list(s["hosts"]) == ["TS01"]
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    import threading

    def feed():
        with open(fifo, "w") as fh:
            fh.write(f"{inbox / 'b.zip'}\n")
    t = threading.Thread(target=feed)
    t.start()
    refs = batch.discover(fifo)
    t.join(10)
    assert [r.path for r in refs] == [str((inbox / "b.zip").resolve())]


# ------------------------------------------------------------------- 8. --scheduler


def test_scheduler_address_problems_are_one_line_usage_errors(tmp_path):
    pytest.importorskip("distributed")
    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "a.zip", "TS01")
    r = cli(str(inbox), "--out", str(tmp_path / "out"), "--scheduler", "")
    assert r.exit_code == 2 and "--scheduler needs a Dask scheduler address" in r.output
    assert not (tmp_path / "out" / "summary.parquet").exists()      # did not run locally
    r = cli(str(inbox), "--out", str(tmp_path / "out"), "--scheduler", "tls://127.0.0.1:9")
    assert r.exit_code == 2, r.output
    assert r.output.startswith("rdpdoctor: error: cannot reach the Dask scheduler tls://")
    assert r.output.count("\n") == 1 and "TLS settings" in r.output


@pytest.mark.timeout(90)
def test_a_scheduler_without_workers_is_an_error_after_a_bounded_wait(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    import time

    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "a.zip", "TS01")
    monkeypatch.setattr(batch, "WORKER_WAIT", 3.0, raising=False)
    with distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        t0 = time.monotonic()
        r = cli(str(inbox), "--out", str(tmp_path / "out"), "--scheduler", cluster.scheduler_address)
        assert time.monotonic() - t0 < 60
    assert r.exit_code == 2, r.output
    assert "has no workers (waited 3 s)" in r.output and r.output.count("\n") == 1


@pytest.mark.timeout(60)
def test_workers_lost_while_bundles_are_queued_stop_the_run(monkeypatch, capsys):
    """The per-bundle timeout runs on a worker: with none left the wait had no bound."""
    from concurrent.futures import Future

    class Client:
        def scheduler_info(self):
            return {"workers": {}}

    class Executor:
        _client = Client()

    monkeypatch.setattr(batch, "HEARTBEAT", 0.1)
    monkeypatch.setattr(batch, "WORKER_WAIT", 0.5)
    done, queued = Future(), Future()
    done.set_result({})
    got = []
    with pytest.raises(batch.BatchUsageError, match="has had no workers for 0.5 s; 1 bundle"):
        for f in batch._completed([done, queued], Executor(), "tcp://127.0.0.1:1"):
            got.append(f)
    assert got == [done]
    assert "waiting: the Dask scheduler tcp://127.0.0.1:1 has no workers (1 bundle(s) queued)" \
        in capsys.readouterr().err


# ------------------------------------------------------------ 11. --memory-per-bundle


@pytest.mark.timeout(300)
def test_a_memory_budget_no_bundle_fits_in_is_refused_naming_the_minimum(tmp_path):
    """64 MiB failed every bundle as 'memory budget exceeded (93 MiB resident)'."""
    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "a.zip", "TS01")
    r = cli(str(inbox), "--out", str(tmp_path / "out"), "--memory-per-bundle", "64")
    assert r.exit_code == 2
    assert r.output == ("rdpdoctor: error: --memory-per-bundle 64: at least 256 MiB (a process "
                        "analysing even a small bundle holds about 100 MiB resident)\n")
    with pytest.raises(batch.BatchUsageError, match="at least 256 MiB"):
        batch.run(inbox, tmp_path / "out", memory_mb=200)
    # the minimum is enough for a real analysis
    res = batch.run(inbox, tmp_path / "out", memory_mb=batch.MIN_MEMORY_MB, timeout=120)
    (row,) = res.summary.itertuples()
    assert row.status == "ok", row.reason
    assert row.peak_rss_mb < batch.MIN_MEMORY_MB


# ------------------------------------------------------- 7. a damaged summary.parquet


@pytest.mark.timeout(600)
def test_a_damaged_summary_is_rebuilt_from_the_state_and_agrees_with_the_findings(tmp_path):
    """A truncated summary.parquet was replaced silently: a.zip (from another inbox) left
    the summary while its port-conflict finding stayed in findings.parquet."""
    from analyzer import rollup

    _scenario("port-conflict", tmp_path / "inbA" / "a.zip")
    _scenario("listener-down", tmp_path / "inbB" / "b.zip", 1)
    out = tmp_path / "out"
    batch.run(tmp_path / "inbA", out, timeout=300)
    batch.run(tmp_path / "inbB", out, timeout=300)
    before = pd.read_parquet(out / "summary.parquet")
    with open(out / "summary.parquet", "r+b") as fh:
        fh.truncate(100)
    r = cli(str(tmp_path / "inbB"), "--out", str(out))
    assert r.exit_code == 0, r.output
    summary, findings = rollup.load(out)
    assert sorted(summary["bundle_id"].unique()) == ["a.zip", "b.zip"]
    assert "rdpdoctor: warning: " in r.output and "rows rebuilt from" in r.output
    assert dict(rollup.status_counts(summary)) == {"ok": 2}
    assert sorted(findings["bundle_id"].unique()) == ["a.zip", "b.zip"]
    a = summary[summary["bundle_id"] == "a.zip"]
    assert "port-conflict" in set(a["finding_id"])
    cols = ["bundle_id", "finding_id", "host", "severity", "explained_by"]
    pd.testing.assert_frame_equal(
        summary[cols].sort_values(cols).reset_index(drop=True),
        before[cols].sort_values(cols).reset_index(drop=True))
    # a damaged findings.parquet alone is rebuilt too
    n = len(findings)
    (out / "findings.parquet").write_bytes(b"PAR1 cut")
    res = batch.run(tmp_path / "inbB", out, timeout=300)
    assert any("findings rebuilt" in n for n in res.notes)
    _, findings = rollup.load(out)
    assert len(findings) == n and sorted(findings["bundle_id"].unique()) == ["a.zip", "b.zip"]


@pytest.mark.timeout(300)
def test_a_batch_left_with_bundles_to_analyse_again_exits_75(tmp_path, helpers, monkeypatch):
    """A run whose bundle went out of reach exited 0 like a complete one: a cron job or CI
    step could not tell that the batch must run again (noted in the last review)."""
    inbox = tmp_path / "inbox"
    tiny_zip(inbox / "a.zip", "TS01")
    tiny_zip(inbox / "b.zip", "TS02")
    out = tmp_path / "out"
    real = batch.run
    monkeypatch.setattr(batch, "run", lambda *a, **k: real(*a, analyze="rvb_helpers:move_then_load", **k))
    r = cli(str(inbox), "--out", str(out), "-j", "1")
    assert r.exit_code == 75, r.output
    assert "2 bundle(s) could not be analysed for a reason outside them" in r.output
    for p in inbox.glob("*.away"):
        p.rename(str(p)[: -len(".away")])
    monkeypatch.setattr(batch, "run", real)
    r = cli(str(inbox), "--out", str(out), "-j", "1")
    assert r.exit_code == 0, r.output
    assert "2 analysed ok, 0 failed" in r.output


@pytest.mark.timeout(300)
@pytest.mark.skipif(not hasattr(os, "fork"), reason="the zygote is POSIX only")
def test_bundle_children_collect_garbage_as_parse_workers_do(tmp_path, helpers):
    """The zygote freezes what it imported before forking and the bundles' children run
    the collector less often (the parse workers' setting)."""
    from parsers.base import WORKER_GC_THRESHOLD

    inbox = tmp_path / "inbox"
    a = tiny_zip(inbox / "a.zip", "TS01")
    res = batch.run(inbox, tmp_path / "out", timeout=120, analyze="rvb_helpers:gc_then_load")
    (row,) = res.summary.itertuples()
    assert row.status == "ok"
    threshold, frozen = json.loads(Path(str(a) + ".gc").read_text())
    assert tuple(threshold) == WORKER_GC_THRESHOLD
    assert frozen > 1000
