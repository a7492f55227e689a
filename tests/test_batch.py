"""Acceptance of batch mode (issue 9) on generated scenario bundles, with the real analyzer.

One inbox of 20 bundles: 17 scenario bundles from ``analyzer.sample``, a corrupt zip, a
bundle whose worker hangs (test hook ``RDPDOCTOR_TEST_HANG_ON``) and a duplicate. It is
analysed once through the CLI with the local process pool, once more (everything is resumed)
and once through a Dask ``LocalCluster`` (2 worker processes) with ``--scheduler``; the
summaries must agree except for timings.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from analyzer import batch
from analyzer.cli import app

from analyzer import sample

pytestmark = pytest.mark.slow

HANG = "zz-hang-me"
TIMEOUT = "45"          # per-bundle timeout: only the hanging bundle may reach it
N_SCENARIOS = 17


def _write(name: str, dest: Path, seed: int) -> Path:
    return Path(sample.write_bundle(name, dest, seed=seed, fmt="zip"))


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("batch")
    box = work / "inbox"
    names = sorted(sample.SCENARIOS)[:N_SCENARIOS]
    for i, name in enumerate(names):
        _write(name, box / "tickets" / f"{name}.zip", i)
    good = box / "tickets" / f"{names[0]}.zip"
    (box / "zz-resent").mkdir()
    shutil.copy(good, box / "zz-resent" / "copy-of-first.zip")                # sent twice
    data = (box / "tickets" / f"{names[1]}.zip").read_bytes()
    # an upload interrupted inside its first member's header: nothing to read (one cut later
    # gives the members before the cut: test_intake_crafted)
    (box / "corrupt.zip").write_bytes(data[:25])
    _write(names[2], box / f"{HANG}.zip", 99)
    return box


@pytest.fixture(scope="module")
def hang_hook():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(batch.HANG_ENV, HANG)
        yield


def _batch(*args: str):
    r = CliRunner().invoke(app, ["batch", *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


@pytest.fixture(scope="module")
def local_run(inbox, hang_hook, tmp_path_factory):
    out = tmp_path_factory.mktemp("out-local")
    r = _batch(str(inbox), "--out", str(out), "--jobs", "2", "--format", "json,markdown",
               "--timeout-per-bundle", TIMEOUT)
    return out, r.output


def _comparable(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=batch.TIMING_COLUMNS).reset_index(drop=True)


def test_batch_analyses_all_others_and_records_failures(inbox, local_run):
    out, output = local_run
    s = pd.read_parquet(out / "summary.parquet")
    per = s.drop_duplicates("bundle_id").set_index("bundle_id")
    assert len(per) == N_SCENARIOS + 3

    assert per.loc["corrupt.zip", "status"] == "failed"
    assert "corrupt zip" in per.loc["corrupt.zip", "reason"]
    assert per.loc[f"{HANG}.zip", "status"] == "failed"
    assert per.loc[f"{HANG}.zip", "reason"] == f"timed out after {TIMEOUT} s (worker process killed)"
    first = sorted(sample.SCENARIOS)[0]
    assert per.loc["zz-resent/copy-of-first.zip", "status"] == "skipped"
    assert per.loc["zz-resent/copy-of-first.zip", "reason"] == f"duplicate of tickets/{first}.zip"
    ok = per[per["status"] == "ok"]
    assert sorted(ok.index) == sorted(f"tickets/{n}.zip" for n in sorted(sample.SCENARIOS)[:N_SCENARIOS])
    assert set(ok["action"]) == {"analysed"}
    # a bundle analysed within the watch's first 0.2 s sample said 0 MiB; its process's own
    # high-water mark counts too (a process with pandas imported holds tens of MiB)
    assert (ok["peak_rss_mb"] > 20).all(), ok["peak_rss_mb"].tolist()

    # the summary carries what the per-bundle reports say, finding by finding
    for bid, row in ok.iterrows():
        state = json.loads((out / "state" / f"{row['sha256']}.json").read_text())
        report = json.loads((out / state["reports"]["json"]).read_text())
        assert (out / state["reports"]["markdown"]).read_text().strip()
        want = sorted((f["id"], f["host"], f["severity"]) for f in report["findings"])
        got = s[s["bundle_id"] == bid]
        got = sorted((r.finding_id, r.host, r.severity) for r in got.itertuples() if r.finding_id)
        assert got == want, bid
        assert report["hosts"] == row["hosts"].split(",")
        assert row["verdict"] == report["verdict"]["status"] != "", bid
    assert set(per.loc[per["status"] != "ok", "verdict"].fillna("")) == {""}
    # real analysis happened: the scenarios' expected root causes are in the summary
    for n in sorted(sample.SCENARIOS)[:N_SCENARIOS]:
        ids = set(s.loc[s["bundle_id"] == f"tickets/{n}.zip", "finding_id"].dropna())
        assert ids & set(sample.SCENARIOS[n].expect) == set(sample.SCENARIOS[n].expect), n

    f = pd.read_parquet(out / "findings.parquet")
    assert len(f) == int((s["status"].eq("ok") & s["finding_id"].fillna("").ne("")).sum())
    csv = pd.read_csv(out / "summary.csv")
    assert len(csv) == len(s) and list(csv.columns) == batch.SUMMARY_COLUMNS

    # terminal output: counts table by finding id, the totals line, failures with reasons
    top = f["finding_id"].value_counts().index[0]
    assert "Findings by id" in output and top in output
    assert f"{N_SCENARIOS + 3} bundles: {N_SCENARIOS} analysed ok, 2 failed, 1 skipped" in output
    assert f"failed: {HANG}.zip: timed out" in output


def test_rerun_skips_everything_already_done(inbox, local_run):
    out, _ = local_run
    before = pd.read_parquet(out / "summary.parquet")
    states = {p: p.stat().st_mtime_ns for p in (out / "state").iterdir()}
    r = _batch(str(inbox), "--out", str(out), "--jobs", "2", "--format", "json,markdown",
               "--timeout-per-bundle", TIMEOUT)
    assert f"{N_SCENARIOS + 3} bundles: 0 analysed ok, 0 failed, {N_SCENARIOS + 3} skipped " \
           f"({N_SCENARIOS + 2} already done, 2 of them failed before, 1 duplicates)" in r.output
    after = pd.read_parquet(out / "summary.parquet")
    assert set(after["action"]) == {"resumed", "duplicate"}
    assert {p: p.stat().st_mtime_ns for p in (out / "state").iterdir()} == states
    pd.testing.assert_frame_equal(_comparable(after).drop(columns=["action"]),
                                  _comparable(before).drop(columns=["action"]))


def test_dask_local_cluster_gives_the_same_summary(inbox, local_run, hang_hook, tmp_path):
    distributed = pytest.importorskip("distributed")
    out_local, _ = local_run
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        _batch(str(inbox), "--out", str(tmp_path), "--scheduler", cluster.scheduler_address,
               "--format", "json,markdown", "--timeout-per-bundle", TIMEOUT)
    local = pd.read_parquet(out_local / "summary.parquet")
    dask = pd.read_parquet(tmp_path / "summary.parquet")
    assert dask["worker"].nunique() >= 2 or len(dask) < 2
    assert set(dask["action"]) == {"analysed", "duplicate"}
    # (the local OUTDIR has been re-run by now: its rows say "resumed")
    pd.testing.assert_frame_equal(_comparable(dask).drop(columns=["action"]),
                                  _comparable(local).drop(columns=["action"]))
    assert (tmp_path / "summary.csv").read_text().count("\n") == len(local) + 1


def test_summarize_counts_by_finding_week_and_host(local_run, tmp_path):
    out, _ = local_run
    from analyzer import rollup

    s, f = rollup.load(out)
    rc = rollup.root_causes(f)
    png = tmp_path / "weekly.png"
    r = CliRunner().invoke(app, ["summarize", str(out), "--plot", str(png)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "root causes by week" in r.output and "root causes by host" in r.output
    for fid in set(rc["finding_id"]):
        assert fid in r.output
    for host in set(rc["host"]):
        assert host in r.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"bundles: failed 2, ok {N_SCENARIOS}, skipped 1" in r.output
