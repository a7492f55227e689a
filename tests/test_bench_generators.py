"""The benchmark's generated logs are real event logs: both backends read them alike, with
the event mix and fields the benchmark tables describe."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from parsers import evtx
from parsers.base import ParseOptions

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
evtx_ingest = pytest.importorskip("evtx_ingest", reason="benchmarks/ not importable")


@pytest.mark.skipif(not (evtx.rust_available() and evtx.python_available()),
                    reason="needs both evtx backends")
@pytest.mark.parametrize("kind", ["security", "system", "rdp"])
def test_generated_logs_read_the_same_with_both_backends(tmp_path, kind):
    from analyzer import knowledge
    path = evtx_ingest.GENERATORS[kind](tmp_path / f"{kind}.evtx", 400)
    rust = evtx.parse(path, ParseOptions(evtx_backend="rust"))
    py = evtx.parse(path, ParseOptions(evtx_backend="python"))
    assert len(rust.frame) == 400 and not rust.warnings
    pd.testing.assert_frame_equal(rust.frame, py.frame)
    f = rust.frame
    kept = evtx.parse(path, ParseOptions(evtx_backend="rust", relevance=knowledge.relevance()))
    if kind == "system":
        assert set(f["event_id"]) == {7036, 37, 16, 6013, 36888, 56}
        termdd = f[f["provider"] == "TermDD"].iloc[0]
        assert "param2=10." in termdd["message"] and "\"ntstatus\":\"0xC00A0038\"" in termdd["data"]
        assert termdd["ip"].startswith("10.")         # the client address (param2)
    elif kind == "rdp":
        assert set(f["event_id"]) == {21, 22, 23, 24, 25, 40, 41, 42}
        logon = f[f["event_id"] == 21].iloc[0]
        assert logon["user"].startswith("CONTOSO\\user") and logon["session_id"] > 1 and logon["ip"]
        assert len(kept.frame) == 400                     # every LSM event is RDP-relevant
    else:
        assert {4624, 4625, 5156, 4688} <= set(f["event_id"])
        assert len(kept.frame) < len(f) and sum(kept.stats["dropped"].values()) + len(kept.frame) == 400


def test_generated_log_is_reused_only_while_the_generator_is_unchanged(tmp_path, monkeypatch):
    first = evtx_ingest.generated_log(tmp_path, "rdp", 50)
    assert first.name.startswith("LocalSessionManager-Operational-50-") and first.exists()
    stamp = first.stat().st_mtime_ns
    assert evtx_ingest.generated_log(tmp_path, "rdp", 50) == first      # reused, not rewritten
    assert first.stat().st_mtime_ns == stamp

    def other_generator(path, n):           # a changed generator: a new file, not the old one
        return evtx_ingest.generate_rdp(path, n, seed=99)
    monkeypatch.setitem(evtx_ingest.GENERATORS, "rdp", other_generator)
    second = evtx_ingest.generated_log(tmp_path, "rdp", 50)
    assert second != first and second.exists()
    assert evtx.parse(second, ParseOptions(evtx_backend="rust")).stats["records"] == 50


@pytest.mark.skipif(not evtx.rust_available(), reason="the reference row needs the Rust evtx")
def test_perf_benchmark_runs_each_kind_of_log_end_to_end(tmp_path, capsys):
    perf = pytest.importorskip("perf_security")
    assert perf.main(["--kind", "system", "--records", "300", "--gen-dir", str(tmp_path),
                      "--only", "parse rust +relevance,analyze", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "**generated System.evtx: 300 records" in out
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ")[1:]
            for line in out.splitlines() if line.startswith("| ") and "---" not in line}
    assert rows["rust raw"][0] == "300"
    # the relevance row counts kept + dropped records: every one accounted for
    assert int(rows["parse rust +relevance"][0].replace(",", "")) == 300
    # analyze reads the bundle's one log: its records kept + dropped, not the findings
    assert int(rows["analyze"][0].replace(",", "")) == 300
