"""Every scenario bundle loads through the project's own parsers with zero warnings.

This is the generator's acceptance test (issue 6): every event log is read by both evtx
backends (Rust ``evtx`` and python-evtx) with identical rows — and by libyal's libevtx when
it is installed — every ``.evt`` by the .evt reader, and every text artifact by its parser,
all without a single ParseWarning.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import analyzer
import parsers
from analyzer.sample import SCENARIOS, bundle_files, scenario_names

# The kinds each bundle must contain (the generator writes all of them for every host).
MODERN_KINDS = {"evtx", "netstat", "tasklist", "systeminfo", "reg", "gpresult"}
LEGACY_KINDS = {"evt", "netstat", "tasklist", "systeminfo", "reg", "gpresult", "qwinsta"}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("scenarios")
    out = {}
    for name in scenario_names():
        d = root / name
        for rel, data in bundle_files(name).items():
            p = d / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        out[name] = d
    return out


@pytest.mark.parametrize("name", scenario_names())
def test_every_artifact_parses_without_warnings(bundles, name):
    b = analyzer.load(bundles[name])
    inv = b.inventory
    assert list(inv["status"].unique()) == ["parsed"], inv[inv.status != "parsed"][["source", "reason"]]
    assert [w for w in b.warnings] == []
    assert (inv["warnings"] == 0).all()
    # every log holds records, but RCM's Admin log of a server where nothing went wrong:
    # a sound file with none (records expected 0)
    empty = inv["records"] == 0
    quiet = inv["source"].str.contains("RemoteConnectionManager%4Admin", regex=False)
    assert not (empty & ~quiet).any(), inv[empty & ~quiet]["source"].tolist()
    assert (inv.loc[empty, "records_expected"] == 0).all()
    kinds = set(inv["kind"])
    sc = SCENARIOS[name]
    want = LEGACY_KINDS if sc.os == "2003" else MODERN_KINDS
    assert want <= kinds, want - kinds
    # the bundle is about the scenario's host(s), found from content and layout
    assert b.hosts == sorted(sc.hosts)
    # every file of the generator became an inventory row
    assert len(inv) == len(bundle_files(name))
    _assert_story_is_consistent(b, sc)


def _assert_story_is_consistent(b, sc) -> None:
    """What the artifacts say about each other, read back through the project's parsers."""
    tl = b.timeline
    net, tasks = tl[tl.kind == "netstat"], tl[tl.kind == "tasklist"]
    # every socket's PID is a process in tasklist
    assert set(net.pid.dropna()) <= set(tasks.pid.dropna())
    # every user holding a session in qwinsta logged on (Security log: 4624 / 528)
    sec = tl[(tl.channel == "Security") & tl.event_id.isin([4624, 528])]
    logged_on = {str(u).split("\\")[-1].lower() for u in sec.user.dropna()}
    qw = tl[tl.kind == "qwinsta"]
    for u in qw.user.dropna():
        assert u.lower() in logged_on, (u, sorted(logged_on))
    # RDP listener sockets belong to TermService's process, or the scenario says otherwise
    term = tasks[tasks.data.str.contains('"TermService"', na=False)]
    rdp = net[(net.port == 3389) & net.data.str.contains('"listening":true', na=False)]
    if len(rdp) and "port-conflict" not in sc.expect:
        assert set(rdp.pid) <= set(term.pid)
    # nothing happens after the customer collected the bundle
    events = tl[tl.kind.isin(["evtx", "evt"])]
    assert events.time.max() <= pd.Timestamp(sc.capture)
    assert events.time.min() >= pd.Timestamp(sc.capture) - pd.Timedelta(days=5)


@pytest.mark.parametrize("name", [n for n in scenario_names() if SCENARIOS[n].os != "2003"])
def test_both_evtx_backends_give_identical_rows(bundles, name):
    files = sorted(bundles[name].rglob("*.evtx"))
    assert files
    try:
        import pyevtx          # libyal's stricter reader, when installed (dev extra)
    except ImportError:
        pyevtx = None
    for f in files:
        if pyevtx is not None:
            lf = pyevtx.file()
            lf.open(str(f))
            xml = [r.xml_string for r in lf.records]
            lf.close()
            assert all(x.startswith("<Event") for x in xml)
            assert xml or "RemoteConnectionManager%4Admin" in f.name
        rs = parsers.evtx.parse(f, parsers.ParseOptions(evtx_backend="rust"))
        py = parsers.evtx.parse(f, parsers.ParseOptions(evtx_backend="python"))
        assert rs.warnings == [] and py.warnings == []
        assert len(rs.frame) == len(py.frame)
        assert len(rs.frame) or "RemoteConnectionManager%4Admin" in f.name
        pd.testing.assert_frame_equal(rs.frame.reset_index(drop=True),
                                      py.frame.reset_index(drop=True), check_dtype=False)
