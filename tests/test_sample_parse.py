"""Every scenario bundle loads through the project's own parsers with zero warnings.

This is the generator's acceptance test (issue 6): every event log is read by both evtx
backends (Rust ``evtx`` and python-evtx) with identical rows, every ``.evt`` by the .evt
reader, and every text artifact by its parser, all without a single ParseWarning.
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
    assert (inv["records"] > 0).all(), inv[inv.records == 0]["source"].tolist()
    kinds = set(inv["kind"])
    sc = SCENARIOS[name]
    want = LEGACY_KINDS if sc.os == "2003" else MODERN_KINDS
    assert want <= kinds, want - kinds
    # the bundle is about the scenario's host(s), found from content and layout
    assert b.hosts == sorted(sc.hosts)
    # every file of the generator became an inventory row
    assert len(inv) == len(bundle_files(name))


@pytest.mark.parametrize("name", [n for n in scenario_names() if SCENARIOS[n].os != "2003"])
def test_both_evtx_backends_give_identical_rows(bundles, name):
    files = sorted(bundles[name].rglob("*.evtx"))
    assert files
    for f in files:
        rs = parsers.evtx.parse(f, parsers.ParseOptions(evtx_backend="rust"))
        py = parsers.evtx.parse(f, parsers.ParseOptions(evtx_backend="python"))
        assert rs.warnings == [] and py.warnings == []
        assert len(rs.frame) == len(py.frame) > 0
        pd.testing.assert_frame_equal(rs.frame.reset_index(drop=True),
                                      py.frame.reset_index(drop=True), check_dtype=False)
