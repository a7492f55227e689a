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
