"""docs/output.md says what the tool does: its finding table is the registry's, and the JSON
keys it documents are the ones `analyze --format json` writes."""
from __future__ import annotations

import json
import re
from pathlib import Path

from analyzer.cli import main
from analyzer.detectors import INPUTS, REGISTRY, load_all

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "output.md").read_text(encoding="utf-8")


def test_the_finding_table_is_the_registry():
    load_all()
    table = {i: (sev, title, tuple(x.strip() for x in inputs.split(",")))
             for i, sev, title, inputs in re.findall(
                 r"^\| `([a-z0-9-]+)` \| (\w+) \| (.+?) \| (.+?) \|$", DOC, re.M)}
    # severity, title and inputs: the inputs column went stale once (found by review)
    assert table == {i: (d.severity, d.title, d.inputs) for i, d in REGISTRY.items()}
    legend = dict(re.findall(r"^\| ([a-z-]+) \| (.+) \|$", DOC, re.M))
    assert {i for d in REGISTRY.values() for i in d.inputs} <= set(legend)
    assert all(legend[k].replace("\\|", "|") == v for k, v in INPUTS.items())


def test_the_documented_json_keys_are_written(capsys):
    try:
        main(["analyze", str(ROOT / "sample_data" / "port-conflict.zip"), "-f", "json"])
    except SystemExit as e:
        assert e.code == 0
    d = json.loads(capsys.readouterr().out)
    assert list(d) == ["tool", "bundle", "hosts", "findings", "checks", "inventory", "warnings",
                       "accounting", "verdict"]
    for key in ("tool", "bundle", "hosts", "findings", "checks", "inventory", "warnings",
                "accounting", "verdict", "status", "root_cause", "unchecked"):
        assert f'"{key}":' in DOC, key
    f = d["findings"][0]
    for key in ("id", "severity", "host", "title", "summary", "evidence", "remedy",
                "references"):
        assert all(key in x for x in d["findings"]) and f'"{key}":' in DOC, key
    for key in ("explains", "details"):                      # when set
        assert key in f and f'"{key}":' in DOC and "explains, details, explained_by: when set" in DOC
    assert f'"explained_by":' in DOC and d["findings"][1]["explained_by"] == "port-conflict"
    for key in ("source", "locator", "excerpt"):
        assert all(key in e for e in f["evidence"]) and f'"{key}":' in DOC
