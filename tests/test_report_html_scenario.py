"""Reports of a real analysis: the generated port-conflict scenario, end to end.

bundle (analyzer.sample) → analyzer.analyze → HTML / Markdown / Timesketch. Skips with the
reason until the scenario generator is available.
"""
from __future__ import annotations

import csv
import io
import json
import re

import pytest
from typer.testing import CliRunner

from analyzer import export
from analyzer.cli import app
from analyzer.report import html, markdown


def write_port_conflict(dest):
    sample = pytest.importorskip("analyzer.sample", reason="analyzer.sample not available")
    if not hasattr(sample, "write_bundle"):
        pytest.skip("analyzer.sample.write_bundle (scenario generator) not available yet")
    return sample.write_bundle("port-conflict", dest / "port-conflict.zip", seed=0, fmt="zip")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return write_port_conflict(tmp_path_factory.mktemp("scenario"))


@pytest.fixture(scope="module")
def result(bundle):
    import analyzer

    return analyzer.analyze(bundle)


def _section(doc: str, sid: str) -> str:
    sec = re.search(rf'<section id="{sid}"[^>]*>(.*?)</section>', doc, re.S).group(1)
    return sec.replace("<wbr>", "")                 # paths may wrap after separators


def test_html_of_the_port_conflict_scenario(result):
    pc = [f for f in result.report.findings if f.id == "port-conflict"]
    assert pc, [f.id for f in result.report.findings]
    doc = html.render(result)
    v = _section(doc, "verdict")
    assert "CRITICAL" in v and f"Root cause on {pc[0].host}: {html.e(pc[0].title)}" in v
    assert html.e(pc[0].summary) in v
    # the chart of the scenario's events is there and counts what the timeline holds
    assert 'id="timeline-chart"' in doc
    drawn = int(re.search(r"([\d,]+) events in this window", doc)[1].replace(",", ""))
    assert drawn > 0
    # every evidence row of the root cause is shown with its file and locator
    f = _section(doc, "findings")
    for ev in pc[0].evidence[:html.MAX_EVIDENCE]:
        assert html.e(ev.source) in f and html.e(ev.locator) in f
    c = _section(doc, "checklist")
    row = re.search(r"<tr>(?:(?!</tr>).)*<code class=\"small\">port-conflict<(?:(?!</tr>).)*</tr>",
                    c, re.S)[0]
    assert ">FAIL<" in row
    inv = _section(doc, "inventory")
    assert f"{len(result.inventory)} files:" in inv
    for src in result.inventory["source"]:
        assert html.e(src) in inv
    assert len(doc.encode()) < 2_000_000


def test_markdown_of_the_port_conflict_scenario(result):
    text = markdown.render(result)
    assert max(len(x) for x in text.splitlines()) <= markdown.WIDTH
    assert "(port-conflict)" in text and "## Verdict: ✖ CRITICAL" in text
    mdit = pytest.importorskip("markdown_it", reason="markdown-it-py (a rich dependency) missing")
    out = mdit.MarkdownIt("commonmark").enable("table").render(text)
    tags = set(re.findall(r"</?([a-zA-Z][a-zA-Z0-9]*)", out))
    assert tags <= {"h1", "h2", "h3", "p", "ul", "li", "strong", "code", "blockquote", "table",
                    "thead", "tbody", "tr", "th", "td"}, tags


def test_timesketch_export_of_the_scenario(bundle, result):
    ts = export.timesketch(result.timeline)
    assert len(ts) == len(result.timeline)
    assert list(ts.columns[:4]) == ["message", "datetime", "timestamp", "timestamp_desc"]
    assert (ts["message"].str.len() > 0).all() and ts["datetime"].notna().all()
    runner = CliRunner()
    r_ts = runner.invoke(app, ["timeline", str(bundle), "--format", "timesketch-jsonl"])
    r_pl = runner.invoke(app, ["timeline", str(bundle), "--format", "jsonl"])
    assert r_ts.exit_code == 0 and r_pl.exit_code == 0, r_ts.output + r_pl.output
    rows = [json.loads(x) for x in r_ts.stdout.splitlines()]
    assert len(rows) == len(r_pl.stdout.splitlines()) > 0         # one row per event
    assert all({"message", "datetime", "timestamp_desc", "timestamp"} <= set(o) for o in rows)
    r_csv = runner.invoke(app, ["timeline", str(bundle), "--format", "timesketch-csv"])
    assert len(list(csv.DictReader(io.StringIO(r_csv.stdout)))) == len(rows)


@pytest.mark.slow
def test_100k_event_bundle_report_under_2mb(tmp_path):
    """Acceptance: the HTML report of a 100k-event bundle is < 2 MB (real parse + analysis)."""
    import shutil
    from datetime import datetime, timedelta, timezone

    import analyzer
    from analyzer.sample.evtxwriter import Event, write_evtx

    fixtures = __import__("pathlib").Path(__file__).parent / "fixtures" / "analyze" / "port-conflict"
    for p in fixtures.iterdir():
        shutil.copy(p, tmp_path / p.name)
    t = datetime(2024, 5, 6, tzinfo=timezone.utc)
    write_evtx(tmp_path / "TS01_Security.evtx", (Event(
        provider="Microsoft-Windows-Security-Auditing", event_id=4625, level=0, channel="Security",
        computer="TS01", time=t + timedelta(seconds=i * 2.5),
        data=[("TargetUserName", f"<script>u{i % 900}"), ("TargetDomainName", "CORP"),
              ("Status", "0xc000006d"), ("SubStatus", "0xc000006a"), ("LogonType", "3"),
              ("IpAddress", f"198.51.100.{i % 200}"), ("IpPort", "0")]) for i in range(90_000)))
    write_evtx(tmp_path / "TS01_System.evtx", (Event(
        provider="TermDD", event_id=56, level=2, qualifiers=49162, channel="System",
        computer="TS01", time=t + timedelta(seconds=i * 20),
        data=[(None, "\\Device\\Termdd"), (None, f"10.0.0.{i % 200}")],
        binary=bytes.fromhex("00000000020030000000000038000ac0")) for i in range(10_000)))
    result = analyzer.analyze(tmp_path)
    assert len(result.timeline) >= 100_000
    doc = html.render(result)
    assert len(doc.encode()) < 2_000_000
    assert "port-conflict" in doc and 'id="timeline-chart"' in doc
    svg = re.search(r'<svg id="timeline-chart".*?</svg>', doc, re.S)[0]
    assert svg.count("<rect") < 1500                  # binned, not one element per event
    assert "<script>u" not in doc


def _scenario_names():
    try:
        from analyzer.sample import SCENARIOS
    except ImportError:
        return []
    return sorted(SCENARIOS)


@pytest.mark.slow
@pytest.mark.parametrize("name", _scenario_names())
def test_every_scenario_renders(name, tmp_path):
    """Both reports for every generated scenario: the verdict names the top root cause (or
    says nothing stops RDP when only info findings exist), Markdown fits 100 columns."""
    import analyzer
    from analyzer.findings import SEVERITY_RANK
    from analyzer.report import common
    from analyzer.sample import write_bundle

    result = analyzer.analyze(write_bundle(name, tmp_path / f"{name}.zip", seed=0, fmt="zip"))
    doc, text = html.render(result), markdown.render(result)
    v = _section(doc, "verdict")
    roots = [f for f in common.ordered_findings(result.report)
             if not f.explained_by and SEVERITY_RANK[f.severity] >= 1]
    if roots:
        assert html.e(roots[0].title) in v and html.e(roots[0].host) in v
    else:
        verdict = common.verdict(result.report)
        assert verdict.status in ("ok", "incomplete"), (name, verdict.status)
        assert html.e(verdict.headline) in v
        assert ("No fault found that would stop Remote Desktop connections" in v) == (
            verdict.status == "ok")
    assert len(re.findall(r'<article class="finding', doc)) == len(result.report.findings)
    assert max(len(x) for x in text.splitlines()) <= markdown.WIDTH
    assert text.count("\n### ") >= len(result.report.findings)
