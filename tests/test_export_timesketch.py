"""Timesketch exports: required columns, one row per event, importable values.

Timesketch's CSV/JSONL importer needs ``message``, ``datetime`` (ISO 8601) and
``timestamp_desc``; ``timestamp`` (microseconds since the epoch) is optional. Every timeline
column is kept next to them.
"""
from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import _report_fixture as F
from analyzer import export
from analyzer import timeline as tl
from analyzer.cli import app
from parsers.base import TIMELINE_COLUMNS

REQUIRED = ("message", "datetime", "timestamp", "timestamp_desc")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return tl.concat([F.timeline()])        # categoricals, like a loaded bundle's timeline


def test_columns_rows_and_values(frame):
    ts = export.timesketch(frame)
    assert list(ts.columns[:4]) == list(REQUIRED)
    assert set(TIMELINE_COLUMNS) - {"message"} <= set(ts.columns)
    assert len(ts) == len(frame) == 22
    timed = frame["time"].notna().to_numpy()
    back = pd.to_datetime(ts["datetime"][timed], utc=True, format="ISO8601")
    assert (back.to_numpy() == frame["time"][timed].to_numpy()).all()
    us = (frame["time"][timed] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1)
    assert ts["timestamp"][timed].tolist() == us.tolist()
    first = ts[ts["event_type"] == "rdp:lsm:logon"].iloc[0]
    # one format for every row (whole seconds too): Timesketch's importer parses the column
    # with the format of its first row and drops the rows that do not match it
    assert first["datetime"] == "2024-03-05T08:00:00.000000+00:00"
    assert first["timestamp"] == 1_709_625_600_000_000
    assert first["timestamp_desc"] == "Event Recorded"
    # the netstat snapshot has no time: epoch, said so, not dropped
    snap = ts[ts["kind"] == "netstat"].iloc[0]
    assert (snap["datetime"], snap["timestamp"], snap["timestamp_desc"]) == (
        "1970-01-01T00:00:00.000000+00:00", 0, "Unknown time (state snapshot)")
    assert snap["message"] == "TCP 0.0.0.0:3389 LISTENING 2412"


def test_message_is_never_empty(frame):
    ts = export.timesketch(frame)
    assert (ts["message"].str.len() > 0).all()
    logon = ts[(ts["event_type"] == "rdp:lsm:logon") & (ts["host"] == "TS01")].iloc[0]
    assert logon["message"] == ("[rdp:lsm:logon] Microsoft-Windows-TerminalServices-"
                                "LocalSessionManager 21 user CORP\\alice from 10.0.0.7 in "
                                "TS01_EventLogs/LSM.evtx record 0")


def test_csv_and_jsonl_round_trip(frame):
    text = export.render(frame, "timesketch-csv", None)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(frame)
    assert all(r["message"] and r["datetime"] and r["timestamp_desc"] for r in rows)
    hostile = [r for r in rows if r["user"] == F.HOSTILE_USER]
    assert len(hostile) == 5 and hostile[0]["source"] == F.HOSTILE_FILE
    lines = export.render(frame, "timesketch-jsonl", None).splitlines()
    assert len(lines) == len(frame)
    objs = [json.loads(x) for x in lines]
    assert all(isinstance(o["timestamp"], int) and o["datetime"] and o["message"] for o in objs)
    assert [o["datetime"] for o in objs] == [r["datetime"] for r in rows]


def test_empty_timeline():
    empty = tl.concat([])
    assert export.render(empty, "timesketch-jsonl", None) == ""
    assert export.render(empty, "timesketch-csv", None).splitlines()[0].startswith(
        "message,datetime,timestamp,timestamp_desc,")


def test_cli_timesketch_on_real_files(corpus):
    """``rdpdoctor timeline --format timesketch-*`` on real files read in place."""
    runner = CliRunner()
    evtx = corpus / "evtx" / "e2m__ID4825-Denied_RDP_connection_with_valid_credentials.evtx"
    r = runner.invoke(app, ["timeline", str(evtx), "--format", "timesketch-jsonl"])
    assert r.exit_code == 0, r.output
    objs = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(objs) == 2 and {o["event_id"] for o in objs} == {4825}
    assert objs[0]["datetime"] == "2020-07-12T05:27:05.579704+00:00"   # PROVENANCE: 05:27:06 rounded
    assert {o["timestamp_desc"] for o in objs} == {"Event Recorded"}
    # a folder of netstat outputs: snapshots without a time, one row per socket
    folder = corpus / "netstat"
    r = runner.invoke(app, ["timeline", str(folder), "--format", "timesketch-csv"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    r2 = runner.invoke(app, ["timeline", str(folder), "--format", "jsonl"])
    assert len(rows) == len(r2.stdout.splitlines()) > 50
    assert all(row["message"] and row["datetime"] and row["timestamp_desc"] for row in rows)
    assert {row["event_type"] for row in rows} >= {"net:socket"}
