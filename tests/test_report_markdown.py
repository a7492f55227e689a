"""Markdown report: no HTML, lines ≤ 100, pipe tables that render, hostile text stays text.

Rendering checks use markdown-it-py (CommonMark + GFM tables), which rich already depends
on, as a stand-in for a ticket system's renderer.
"""
from __future__ import annotations

import re

import pytest

import _report_fixture as F
from analyzer.findings import Check, Evidence, Finding
from analyzer.report import markdown as md
from analyzer.report import render

markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py (a rich dependency) missing")


def to_html(text: str) -> str:
    return markdown_it.MarkdownIt("commonmark").enable("table").render(text)


@pytest.fixture(scope="module")
def text() -> str:
    return md.render(F.result())


def hostile_result():
    res = F.result()
    long_path = "C:/" + "/".join(["Very_Long_Folder<Name>|x"] * 12) + "/System.evtx"
    res.report.findings.append(Finding(
        id="termservice-not-running", severity="error", host="TS01|<b>",
        title="Remote Desktop Services stopped | * _ # [link](http://x)",
        summary=("TermService stopped " + "word " * 30 + "- 1. # > + " + "again " * 30),
        evidence=[Evidence(source=long_path, locator="record 9 | <i>", excerpt="x" * 250)],
        remedy="Run `sc config TermService start= auto` then:\n1. restart\n- <img src=x>",
        references=["KB2477023"]))
    res.report.checks.append(Check(id="termservice-not-running", host="TS01|<b>", status="fail"))
    return res


def test_registered_as_markdown_format(text):
    assert render(F.result(), "markdown") == text


@pytest.mark.parametrize("make", [F.result, hostile_result, lambda: F.result(findings=False)],
                         ids=["port-conflict", "hostile", "no-findings"])
def test_lines_fit_and_no_html_survives_rendering(make):
    text = md.render(make())
    assert max(len(line) for line in text.splitlines()) <= md.WIDTH
    out = to_html(text)
    tags = set(re.findall(r"</?([a-zA-Z][a-zA-Z0-9]*)", out))
    # only the tags Markdown itself produces — none came from the customer's strings
    assert tags <= {"h1", "h2", "h3", "p", "ul", "li", "strong", "code", "blockquote", "table",
                    "thead", "tbody", "tr", "th", "td"}, tags
    assert "<script" not in out and "<img" not in out and "<a " not in out


def test_hostile_strings_render_literally(text):
    out = to_html(text)
    assert "CORP\\&lt;script&gt;alert(&quot;user&quot;)&lt;/script&gt;" in out
    assert "&lt;script&gt;alert(&quot;file&quot;)&lt;/script&gt;.evtx" in out
    assert "tickets/1234 &lt;b&gt;.zip" in out


def test_wrapping_never_creates_lists_or_headings():
    res = hostile_result()
    out = to_html(md.render(res))
    # the summary with "- 1. # > +" words wraps into one paragraph, whatever the line breaks
    summary = re.search(r"<p>TermService stopped (.*?)</p>", out, re.S)
    assert summary and "- 1. # &gt; + again" in " ".join(summary[1].split())
    # the remedy's own lines stay in the quote as text, not a list
    quote = re.search(r"<blockquote>(.*?)</blockquote>", out.split("termservice-not-running")[1],
                      re.S)[1]
    assert "<ol" not in quote and "<ul" not in quote and "1. restart" in quote
    assert "<code>sc config TermService start= auto</code>" in quote
    assert "&lt;img src=x&gt;" in quote


def test_verdict_findings_checklist_content(text):
    out = to_html(text)
    assert "<h2>Verdict: ✖ CRITICAL</h2>" in out
    assert "<strong>Root cause on TS01: Another program holds the RDP port</strong>" in out
    assert "port 3389 held by PID 2412 (vncsrv.exe, service RemoteAssistPro)" in out
    heads = re.findall(r"<h3>(.*?)</h3>", out)
    assert heads[:3] == [
        "1. ✖ CRITICAL: Another program holds the RDP port on TS01 (port-conflict)",
        "2. ✖ CRITICAL: The RDP-Tcp listener is not listening on TS01 (listener-down)",
        "3. ◆ WARNING: Failed logons from one address on TS01 (rdp-brute-force)"]
    assert [h for h in heads if h.startswith("Part") or h.startswith("Beyond")] == [
        "Part 1 — Remote Desktop enabled, connection limits, logon rights, sleep",
        "Part 2 — Port assignment conflict and listener availability",
        "Part 3 — Authentication and encryption settings",
        "Part 4 — Certificate corruption and licensing",
        "Beyond the article — modern Windows signals"]
    assert "<li>TS01_Netstat.txt (line 5): TCP 0.0.0.0:3389 0.0.0.0:0 LISTENING 2412</li>" in out
    assert "Stop or reconfigure RemoteAssistPro." in out


def test_checklist_tables_render_one_row_per_check(text):
    out = to_html(text)
    tables = re.findall(r"<table>(.*?)</table>", out, re.S)
    assert len(tables) == 5
    rows = [re.findall(r"<td>(.*?)</td>", r) for t in tables for r in re.findall(
        r"<tr>(.*?)</tr>", t.split("<tbody>")[1], re.S)]
    assert len(rows) == 7 and all(len(r) == 4 for r in rows)
    status = {r[0]: r[2] for r in rows}
    assert status["Remote Desktop is enabled"] == "✔ PASS"
    assert status["No other program holds the RDP port"] == "✖ FAIL"
    assert status["Connection limit not reached"] == "? NOT EVALUATED"
    detail = {r[0]: r[3] for r in rows}
    assert detail["Connection limit not reached"] == "ask the customer for <code>qwinsta</code> output"
    asks = re.search(r"ask the customer for:</p>\s*<ul>(.*?)</ul>", out, re.S)[1]
    assert re.findall(r"<li>(.*?)</li>", asks) == [
        "<code>qwinsta</code> output",
        "<code>reg export HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server</code> output",
        "<code>gpresult /x</code> output"]


def test_pipe_in_a_cell_does_not_split_the_row():
    out = to_html(md.render(hostile_result()))
    row = [r for r in re.findall(r"<tr>(.*?)</tr>", out, re.S) if "TS01|" in r]
    assert row and len(re.findall(r"<td>", row[0])) == 4
    assert "<td>TS01|&lt;b&gt;</td>" in row[0]


def test_wrap_and_escape_units():
    assert md.esc("a|b <c> *d* _e_ `code|x`") == r"a\|b \<c\> \*d\* \_e\_ `code|x`"
    assert md.esc("`code|x`", cell=True) == r"`code\|x`"
    assert md.esc("un`balanced") == r"un\`balanced"
    lines = md.wrap(("word " * 19) + "- tail " + ("w " * 10) + "1. x", width=40)
    assert all(len(x) <= 40 for x in lines)
    assert not any(re.match(r"^(-|\d+\.) ", x) for x in lines), lines
    long = md.wrap(md.esc("<" * 150), width=30)
    assert all(len(x) <= 30 for x in long) and "".join(long) == md.esc("<" * 150)
    assert all(not x.endswith("\\") for x in long)


def test_code_spans_keep_the_customers_backticks_inside():
    """esc() gave up on code spans at any doubled backtick, and paired single ones across
    the tool's spans and the customer's data."""
    text = ('Run ``sc config "Rem<script>|a`b&Pro" start= disabled`` then '
            '``sc stop "Rem<script>|a`b&Pro"``; `qwinsta` too.')
    out = to_html(md.esc(text))
    assert re.findall(r"<code>(.*?)</code>", out) == [
        'sc config &quot;Rem&lt;script&gt;|a`b&amp;Pro&quot; start= disabled',
        'sc stop &quot;Rem&lt;script&gt;|a`b&amp;Pro&quot;', "qwinsta"]
    assert "<script" not in out
    cell = md.esc('``sc stop "a|b`c"``', cell=True)
    table = to_html("| h |\n|---|\n| " + cell + " |\n")
    assert '<td><code>sc stop &quot;a|b`c&quot;</code></td>' in table
    # content that could open a fenced block once wrapped to a line start stays text
    for text in ("````a ``` b````", "`x ~~~ y`"):
        out = md.esc(text)
        assert "```" not in out and "~~~" not in out, out
        assert "<code>" not in to_html(out) and "<pre>" not in to_html(out)


def test_no_findings_verdict():
    out = to_html(md.render(F.result(findings=False)))
    assert "<h2>Verdict: ℹ INCOMPLETE</h2>" in out
    assert "No fault found in what the bundle holds" in out
    assert "(connection-limit-reached)" in out
    assert "<p>No findings.</p>" in out


@pytest.mark.parametrize("line", ["0.1.0.", "1. x", "1)", "- a", "-a", "## h", "#tag", "===",
                                  "---", "-- x", "+", "12. y", "* b", "> q", "1.5 GB"])
def test_guarded_line_renders_as_plain_paragraph(line):
    """A wrapped line starting like a list/heading/rule is escaped — only when it would be one."""
    guarded = md._guard_start(line, 0)
    out = to_html("para\n" + guarded).strip()
    assert out.startswith("<p>") and out.count("<p>") == 1 and "<h" not in out, out
    assert line.replace(">", "&gt;") in out.replace("\\", "") or line == "> q"
    if line in ("0.1.0.", "-a", "#tag", "-- x", "1.5 GB"):
        assert guarded == line                 # nothing to escape: left readable


def test_long_lists_are_capped():
    res = F.result()
    f = res.report.findings[0]
    f.evidence = [Evidence(source="S.evtx", locator=f"record {i}", excerpt=f"row {i}")
                  for i in range(60)]
    f.evidence[0].excerpt = "y" * 1000
    res.report.findings.extend(Finding(id="rdp-brute-force", severity="warning", host=f"H{i}",
                                       title="Guessing", summary="s") for i in range(12))
    text = md.render(res)
    assert "- and 5 more below" in text            # 13 other root causes, 8 listed
    assert "and 50 more matching rows (the JSON report lists 60)" in text
    assert "record 10" not in text and "record 9" in text
    runs = re.findall(r"y+", "".join(text.split()))
    assert max(map(len, runs)) == md.MAX_EXCERPT - 1  # the 1000-char excerpt cut to 300 with "…"


def test_data_loss_is_said_under_the_verdict():
    res = F.result()
    res.report.accounting = {"lost": True, "lost_records": 12}
    out = to_html(md.render(res))
    assert "<strong>Warning:</strong> Data was lost while reading the bundle (12 records lost)" \
        in " ".join(out.split())
