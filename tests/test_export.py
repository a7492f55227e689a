"""Timeline exports (CSV, JSON Lines): times in one fixed format that reads back exactly."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from analyzer import export
from analyzer import timeline as tl
from parsers.base import conform

TIMES = ["2024-02-13 13:07:07", "2024-02-13 13:07:07.015", "2024-02-13 13:07:08.000001",
         None, "2024-02-13 13:07:09"]


def _frame() -> pd.DataFrame:
    rows = [{"time": pd.Timestamp(t, tz="UTC") if t else None, "host": "TS01",
             "source": "System.evtx", "locator": f"record {i}", "kind": "evtx",
             "event_type": "sys:termdd:security-error", "event_id": 56,
             "message": f"row {i}"} for i, t in enumerate(TIMES)]
    return tl.concat([conform(pd.DataFrame(rows))])


def test_csv_times_round_trip_through_pandas():
    """Whole seconds were written without their fraction ("…13:07:07+00:00" beside
    "…13:07:07.015000+00:00"), so pandas inferred the format from the first row and
    ``pd.to_datetime`` of the column failed ("doesn't match format")."""
    df = _frame()
    text = export.render(df, "csv", None)
    back = pd.read_csv(io.StringIO(text), parse_dates=["time"])
    assert str(back["time"].dtype).startswith("datetime64[") and str(back["time"].dt.tz) == "UTC"
    assert back["time"].equals(df["time"].astype(back["time"].dtype))
    raw = pd.read_csv(io.StringIO(text), dtype=str)["time"]
    assert raw.dropna().str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00").all()
    assert "2024-02-13T13:07:07.000000+00:00" in raw.tolist()
    assert raw[df["time"].isna().to_numpy()].isna().all()       # no time: an empty cell
    parsed = pd.to_datetime(raw)                  # one format: no "doesn't match format"
    assert parsed.equals(df["time"].astype(parsed.dtype))


def test_jsonl_times_round_trip_through_pandas():
    df = _frame()
    objs = [json.loads(x) for x in export.render(df, "jsonl", None).splitlines()]
    times = pd.Series([o["time"] for o in objs])
    assert "2024-02-13T13:07:07.000000+00:00" in times.tolist()
    assert times[df["time"].isna().to_numpy()].isna().all()
    parsed = pd.to_datetime(times)
    assert parsed.equals(df["time"].astype(parsed.dtype))


def test_timesketch_csv_keeps_every_row_through_its_importer():
    """Timesketch's CSV importer parses ``datetime`` with ``pd.to_datetime(...,
    errors="coerce")`` and drops the rows that come out NaT: with two formats in one file,
    the rows of the other format were lost."""
    df = _frame()
    ts = pd.read_csv(io.StringIO(export.render(df, "timesketch-csv", None)))
    got = pd.to_datetime(ts["datetime"], errors="coerce")
    assert got.notna().all()
    timed = df["time"].notna().to_numpy()
    assert got[timed].equals(df["time"][timed].astype(got.dtype))
    assert ts["datetime"][~timed].tolist() == ["1970-01-01T00:00:00.000000+00:00"]


def test_writing_over_a_file_keeps_its_permission_bits(tmp_path):
    """``-o FILE`` renamed a fresh temporary file over the target, so a report the user
    had made read-only (0444) or group-readable (0640) came back with the umask's mode."""
    import os
    import stat

    from typer.testing import CliRunner

    from analyzer.cli import app

    for mode in (0o444, 0o640, 0o600):
        target = tmp_path / f"r{mode:o}.txt"
        target.write_text("old")
        target.chmod(mode)
        export.atomic_write_text(target, "new")
        assert target.read_text() == "new"
        assert stat.S_IMODE(target.stat().st_mode) == mode
    fresh = tmp_path / "fresh.txt"                  # a new file: 0666 less the umask, as before
    mask = os.umask(0o022)
    os.umask(mask)
    export.atomic_write_bytes(fresh, b"x")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~mask
    report = tmp_path / "timeline.csv"
    report.write_text("old")
    report.chmod(0o640)
    sample = Path(__file__).resolve().parents[1] / "sample_data" / "healthy-2003.zip"
    r = CliRunner().invoke(app, ["timeline", str(sample), "-j", "1", "-f", "csv",
                                 "-o", str(report)])
    assert r.exit_code == 0, r.output
    assert report.read_text() != "old" and stat.S_IMODE(report.stat().st_mode) == 0o640
