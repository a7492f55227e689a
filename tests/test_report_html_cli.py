"""``rdpdoctor analyze`` writing several report formats in one run (-o by extension, --out-dir)."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from analyzer.cli import _report_stem, app

EVTX_4825 = "e2m__ID4825-Denied_RDP_connection_with_valid_credentials.evtx"


@pytest.fixture(scope="module")
def evtx(corpus):
    return corpus / "evtx" / EVTX_4825


def test_several_outputs_follow_their_extension(evtx, tmp_path):
    outs = [tmp_path / "r.html", tmp_path / "r.json", tmp_path / "r.md"]
    r = CliRunner().invoke(app, ["analyze", str(evtx), *sum((["-o", str(p)] for p in outs), [])])
    assert r.exit_code == 0, r.output
    assert r.stdout == ""                              # everything went to the files
    doc = outs[0].read_text(encoding="utf-8")
    assert doc.startswith("<!DOCTYPE html>") and 'id="verdict"' in doc
    data = json.loads(outs[1].read_text(encoding="utf-8"))
    assert "user-not-authorized" in {f["id"] for f in data["findings"]}
    md = outs[2].read_text(encoding="utf-8")
    assert md.startswith("# rdpdoctor report") and "(user-not-authorized)" in md
    assert "<" not in md.replace("\\<", "")
    # the same finding in all three
    assert "OFFSEC" in doc and "OFFSEC" in md
    assert not list(tmp_path.glob(".*.part"))          # atomic writes left no temp files


def test_out_dir_writes_json_html_markdown(evtx, tmp_path):
    d = tmp_path / "reports"
    r = CliRunner().invoke(app, ["analyze", str(evtx), "--out-dir", str(d), "-f", "json"])
    assert r.exit_code == 0, r.output
    stem = EVTX_4825[: -len(".evtx")]
    assert sorted(p.name for p in d.iterdir()) == sorted(
        f"{stem}.evtx{ext}" for ext in (".html", ".json", ".md"))
    data = json.loads((d / f"{stem}.evtx.json").read_text(encoding="utf-8"))
    assert data["findings"] and r.stdout == ""


def test_markdown_to_stdout(evtx):
    r = CliRunner().invoke(app, ["analyze", str(evtx), "--format", "markdown"])
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("# rdpdoctor report")
    assert max(len(x) for x in r.stdout.splitlines()) <= 100


@pytest.mark.parametrize("name,stem", [("ticket-1234.zip", "ticket-1234"),
                                       ("T 1.tar.gz", "T_1"), ("case.tgz", "case"),
                                       ("folder", "folder"), (".zip", "zip")])
def test_report_stem(name, stem, tmp_path):
    assert _report_stem(tmp_path / name) == stem
