"""HTML report: escaping, structure, checklist, config, inventory, chart, size."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from types import SimpleNamespace

import pandas as pd
import pytest

import _report_fixture as F
from analyzer.findings import Check, Report
from analyzer.report import chart, html, render


class Collect(HTMLParser):
    """Every start tag with its attributes, and the text per element id."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(doc: str) -> Collect:
    p = Collect()
    p.feed(doc)
    p.close()
    return p


@pytest.fixture(scope="module")
def doc() -> str:
    return html.render(F.result())


def section(doc: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}"[^>]*>(.*?)</section>', doc, re.S)
    assert m, f"no section {sid}"
    return m.group(1).replace("<wbr>", "")          # paths may wrap after '/' and '\\'


def test_registered_as_html_format(doc):
    assert render(F.result(), "html") == doc


def test_hostile_strings_are_inert(doc):
    p = parse(doc)
    # no script element and no event-handler attribute anywhere: the strings stayed text
    assert [t for t, _ in p.tags if t in ("script", "iframe", "object", "embed", "b")] == []
    assert not [a for _, attrs in p.tags for a in attrs if a.lower().startswith("on")]
    text = "".join(p.text)
    # ...and they are shown, readable, where they belong
    assert 'CORP\\<script>alert("user")</script>' in text
    assert '<script>alert("file")</script>.evtx' in text
    assert "tickets/1234 <b>.zip" in text
    assert "&lt;script&gt;alert(&quot;user&quot;)&lt;/script&gt;" in doc
    for sid in ("findings", "inventory", "warnings"):
        assert "&lt;script&gt;alert(&quot;file&quot;)" in section(doc, sid)


def test_self_contained_no_network_no_script(doc):
    p = parse(doc)
    csp = [a["content"] for t, a in p.tags if t == "meta" and a.get("http-equiv") ==
           "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0]
    refs = [(t, k, v) for t, a in p.tags for k, v in a.items() if k in ("src", "href", "action")]
    assert refs and all(v.startswith("#") for _, _, v in refs), refs
    assert not [t for t, _ in p.tags if t in ("link", "img", "script", "iframe")]
    # the only URL is the SVG namespace identifier (never fetched)
    assert set(re.findall(r"https?://[^\s\"'<>]+", doc)) == {"http://www.w3.org/2000/svg"}
    assert "@import" not in doc and "url(" not in doc


def test_verdict_first_with_label_and_icon(doc):
    body = doc[doc.index("<main>"):]
    assert body.index('id="verdict"') < body.index('id="timeline"') < body.index('id="findings"')
    v = section(doc, "verdict")
    assert "CRITICAL" in v and 'href="#i-critical"' in v        # works without colour
    assert "Root cause on TS01: Another program holds the RDP port" in v
    assert "port 3389 held by PID 2412 (vncsrv.exe, service RemoteAssistPro)" in v
    # the explained consequence is not offered as another root cause
    assert "The RDP-Tcp listener is not listening" not in v
    assert "Failed logons from one address" in v and "WARNING" in v
    assert "Checks: 3 failed, 2 passed, 2 not evaluated" in v


def test_findings_evidence_and_remedy(doc):
    f = section(doc, "findings")
    arts = re.findall(r'<article class="finding sev-(\w+)" id="finding-(\d)">(.*?)</article>', f, re.S)
    # the root cause, then the consequence it explains, then the next root cause
    assert [(s, n) for s, n, _ in arts] == [("critical", "1"), ("critical", "2"), ("warning", "3")]
    first = arts[0][2]
    for piece in ("TS01_Netstat.txt", "line 5", "TCP 0.0.0.0:3389 0.0.0.0:0 LISTENING 2412",
                  "TS01_Tasklist.txt", "vncsrv.exe 2412 RemoteAssistPro", "record 700",
                  "2024-03-05T09:10:00+00:00", "Stop or reconfigure RemoteAssistPro.",
                  "KB2477023", "Also explains: listener-down"):
        assert piece in first, piece
    assert "Explained by <code>port-conflict</code>" in arts[1][2]
    assert "<th>time (UTC)</th>" in first            # one of its rows has a time


def test_checklist_sections_statuses_and_asks(doc):
    c = section(doc, "checklist")
    parts = re.split(r'<h3 id="part-', c)[1:]
    by_part = {p.split('"', 1)[0]: p for p in parts}
    assert list(by_part) == ["1", "2", "3", "4", "modern"]
    assert "rdp-disabled" in by_part["1"] and "connection-limit-reached" in by_part["1"]
    assert "port-conflict" in by_part["2"] and "listener-down" in by_part["2"]
    assert "tls-requires-high-encryption" in by_part["3"]
    assert "licensing-grace-expired" in by_part["4"]
    assert "rdp-brute-force" in by_part["modern"]
    row = re.search(r"<tr>(?:(?!</tr>).)*connection-limit-reached(?:(?!</tr>).)*</tr>", c, re.S)[0]
    assert "NOT EVALUATED" in row and "Ask the customer for <code>qwinsta</code> output" in row
    row = re.search(r"<tr>(?:(?!</tr>).)*<code class=\"small\">port-conflict(?:(?!</tr>).)*</tr>",
                    c, re.S)[0]
    assert "FAIL" in row and "i-fail" in row and "held by PID 2412" in row
    assert c.count(">PASS<") == 2 and c.count(">FAIL<") == 3 and c.count(">NOT EVALUATED<") == 2
    assert "<li><code>gpresult /x</code> output</li>" in c


def test_effective_config_table(doc):
    c = section(doc, "config")
    assert "SSL (2)" in c and "gpresult: GPO RDP &lt;Hardening&gt;" in c
    assert "<s>Negotiate (1)</s> — local" in c and "line 41" in c
    assert "3389 (0x0d3d)" in c and "TS01_RegistryKeys/TS.reg line 40" in c
    assert "<td>documented default (not seen in the bundle)</td>" in c


def test_inventory_and_warnings(doc):
    assert "<code>TS01_EventLogs/<wbr>System.evtx</code>" in doc    # wraps after the folder
    inv = section(doc, "inventory")
    assert "4 files: 3 parsed, 1 skipped, 0 failed." in inv
    assert "notes/readme.docx" in inv and "not a format rdpdoctor reads" in inv
    assert "120 irrelevant events dropped" in inv and "1 unreadable ranges skipped" in inv
    w = section(doc, "warnings")
    assert "offset 0x1a00" in w and "chunk checksum mismatch &lt;b&gt;bad&lt;/b&gt;" in w


def test_chart_lanes_and_counts():
    tl = F.timeline()
    ev = chart.relevant_events(tl)
    counts = ev.groupby(["host", "lane"]).size().to_dict()
    assert counts == {
        ("TS01", "sessions"): 3,       # LSM 21, LSM 24, 4624 type 10 (not the type-3 one)
        ("TS01", "failed"): 5,
        ("TS01", "termdd"): 2,
        ("TS01", "licensing"): 1,
        ("TS01", "tls"): 1,
        ("TS01", "service"): 3,        # TermService stopped/running + RCM 260, not the Spooler
        ("TS02", "sessions"): 1,
    }
    assert chart.sleep_intervals(tl) == [("TS01", F.T0 + pd.Timedelta(minutes=120),
                                          F.T0 + pd.Timedelta(minutes=180))]


def test_chart_window_follows_evidence_and_counts_add_up(doc):
    marks = [("TS01", F.T0 + pd.Timedelta(minutes=70)), ("TS01", F.T0 + pd.Timedelta(minutes=130))]
    ch = chart.build(F.timeline(), marks=marks, hosts_first=["TS01"])
    # failures: evidence 09:10 and 10:10, errors 09:10-09:35, failed logons 10:10-10:14;
    # widened to the sessions before (08:00) and after (RDP 4624 at 11:20), then padded
    assert ch.start == F.T0 - pd.Timedelta(hours=2)
    assert ch.end == F.T0 + pd.Timedelta(minutes=200 + 60)
    assert (ch.drawn, ch.outside, ch.sleeps) == (16, 0, 1)
    # failures alone, sessions a day earlier: the window reaches back to them
    tl = F.timeline()
    early = tl["event_type"].isin(["rdp:lsm:logon", "rdp:lsm:disconnect"])
    tl.loc[early, "time"] = tl.loc[early, "time"] - pd.Timedelta(hours=20)
    ch3 = chart.build(tl, marks=marks)
    lo, hi = F.T0 - pd.Timedelta(hours=20), F.T0 + pd.Timedelta(minutes=200)
    assert (ch3.start, ch3.end) == (lo - (hi - lo) / 4, hi + (hi - lo) / 4)   # padded by 1/4
    assert ch3.outside == 0
    # without marks the window still covers the errors and failed logons
    ch2 = chart.build(F.timeline())
    assert (ch2.start, ch2.end) == (ch.start, ch.end)
    titles = re.findall(r"<title>[^<]*: (\d+) events?</title>", ch.svg)
    assert sum(map(int, titles)) == ch.drawn
    assert ch.svg.count('class="ch-mark"') == 2
    labels = re.findall(r'class="ch-lane"[^>]*>([^<]+)<', ch.svg)
    assert labels == ["Sessions", "Failed logons", "TermDD errors", "Licensing",
                      "TLS / certificate", "Listener / service", "Sleep / hibernate", "Sessions"]
    assert ch.svg in doc


def test_chart_hostile_host_name_escaped():
    tl = F.timeline()
    tl["host"] = tl["host"].astype("string").replace("TS02", "<script>x</script>")
    ch = chart.build(tl)
    assert "<script>" not in ch.svg and "&lt;script&gt;x&lt;/script&gt;" in ch.svg


def test_chart_shows_control_characters_in_host_names_as_escapes():
    """The chart escaped host names with plain html.escape, so ESC, BEL and a bidi override
    from the customer's data reached the HTML raw (in the lane label and every bar's
    tooltip), while the rest of the report shows them as visible escapes."""
    hostile = "CTL\x1b[31mRED\x07\u202eHOST"
    res = F.result()
    res.timeline["host"] = res.timeline["host"].astype("string").replace("TS02", hostile)
    res.report.hosts = ["TS01", hostile]
    doc = html.render(res)
    svg = re.search(r"<svg id=\"timeline-chart\".*?</svg>", doc, re.S)[0]
    for c in "\x1b\x07\u202e":
        assert c not in doc, repr(c)
    shown = "CTL\\x1b[31mRED\\x07\\u202eHOST"
    assert f'class="ch-host" x="4" y="' in svg and f">{shown}</text>" in svg
    assert re.search(rf"<title>{re.escape(shown)} · Sessions · [^<]*: 1 event</title>", svg)


def test_code_spans_are_read_by_their_fences_so_data_backticks_stay_inside():
    """ec() paired any two backticks, so a customer's backtick inside a remedy's command
    closed the tool's code span and opened one around the following text."""
    text = ('Run ``sc config "Rem<script>|a`b&Pro" start= disabled`` then '
            '```sc stop "x``y`z"``` now.')
    assert html.ec(text) == (
        'Run <code>sc config &quot;Rem&lt;script&gt;|a`b&amp;Pro&quot; start= disabled</code>'
        ' then <code>sc stop &quot;x``y`z&quot;</code> now.')
    assert html.ec("`` a` `` and `qwinsta` output") == "<code>a`</code> and <code>qwinsta</code> output"
    # a run without its closing run is text; spans never cross a line
    assert html.ec("un`paired ``x y\n`a\nb`") == "un`paired ``x y\n`a\nb`"
    assert html.ec(None) == ""


def test_100k_event_bundle_stays_small():
    res = F.result(n_noise=100_000)
    doc = html.render(res)
    size = len(doc.encode("utf-8"))
    assert size < 2_000_000, size
    svg = re.search(r"<svg id=\"timeline-chart\".*?</svg>", doc, re.S)[0]
    n_rect = svg.count("<rect")
    assert n_rect < 1500, n_rect
    titles = re.findall(r"<title>[^<]*: (\d+) events?</title>", svg)
    drawn = int(re.search(r"([\d,]+) events in this window", doc)[1].replace(",", ""))
    assert sum(map(int, titles)) == drawn and drawn > 1000
    assert "100,022 timeline rows" in doc


def test_no_findings_verdict_asks_for_missing_inputs():
    doc = html.render(F.result(findings=False))
    v = section(doc, "verdict")
    # connection-limit-reached (it stops every connection) could not run: not an "OK"
    assert "INCOMPLETE" in v and 'href="#i-info"' in v and "NO FAULT FOUND" not in v
    assert "No fault found in what the bundle holds" in v
    # (the fixture's report ran 5 of the blocking checks: only those count)
    assert "1 of the 5 checks for faults that stop every connection" in v
    assert "<li><code>qwinsta</code> output</li>" in v
    assert "No findings." in section(doc, "findings")


def test_bare_report_without_frames_renders():
    rep = Report(tool={"name": "rdpdoctor", "version": "x"}, bundle="b.zip", hosts=[],
                 findings=[], checks=[Check(id="port-conflict", host="H", status="not-evaluated",
                                            missing=["`netstat -ano` output"])],
                 inventory=[], warnings=[])
    for res in (rep, SimpleNamespace(report=rep, timeline=None, config=None, inventory=None)):
        doc = html.render(res)
        assert "No timed RDP-relevant events" in section(doc, "timeline")
        assert "No RDP configuration in the bundle" in section(doc, "config")
        assert "The bundle held no files." in section(doc, "inventory")
        assert "<code>netstat -ano</code> output" in section(doc, "checklist")


def test_deterministic(doc):
    assert html.render(F.result()) == doc


def test_checklist_groups_hosts_but_keeps_failures_apart():
    hosts = ["TS01", "TS02", "TS03"]
    checks = [Check(id="rdp-disabled", host=h, status="pass") for h in hosts]
    checks += [Check(id="port-conflict", host=h, status="fail") for h in hosts[:2]]
    checks += [Check(id="listener-down", host=h, status="not-evaluated",
                     missing=["`qwinsta` output"]) for h in hosts[1:]]
    rep = Report(tool={}, bundle="b", hosts=hosts, findings=[], checks=checks, inventory=[],
                 warnings=[])
    c = section(html.render(rep), "checklist")
    rows = re.findall(r"<tr><td>.*?</tr>", c, re.S)
    assert len(rows) == 4
    assert [r for r in rows if "all 3 hosts" in r and "rdp-disabled" in r]
    assert len([r for r in rows if "port-conflict" in r]) == 2
    assert [r for r in rows if "listener-down" in r and "TS02, TS03" in r]


def test_evidence_is_capped_with_the_true_total():
    from analyzer.findings import Evidence, Finding

    ev = [Evidence(source="S.evtx", locator=f"record {i}", excerpt=f"row {i}") for i in range(40)]
    f = Finding(id="rdp-brute-force", severity="warning", host="H", title="t", summary="s",
                evidence=ev, evidence_total=500)
    rep = Report(tool={}, bundle="b", hosts=["H"], findings=[f], checks=[], inventory=[],
                 warnings=[])
    body = section(html.render(rep), "findings")
    assert body.count("<code>S.evtx</code>") == html.MAX_EVIDENCE
    assert "… and 475 more matching rows not shown here; the JSON report carries 40 of them." in body
    assert "time (UTC)" not in body                  # no evidence row has a time: no column


def test_empty_cells_never_print_as_nan(doc):
    # the fixture's frames hold None/NaN/<NA> in gpo, source, records_expected, host...
    text = "".join(parse(doc).text)
    assert not re.search(r"\b(nan|NaT|None)\b|&lt;NA&gt;|<NA>", text), \
        re.findall(r".{20}\b(?:nan|NaT|None)\b.{20}", text)


def test_failed_check_with_only_info_findings_shows_info():
    from analyzer.findings import Finding

    f = Finding(id="nla-required", severity="info", host="H", title="NLA is required",
                summary="UserAuthentication = 1")
    rep = Report(tool={}, bundle="b", hosts=["H"], findings=[f],
                 checks=[Check(id="nla-required", host="H", status="fail")], inventory=[],
                 warnings=[])
    c = section(html.render(rep), "checklist")
    assert ">INFO<" in c and "i-info" in c and ">FAIL<" not in c
    assert "NO FAULT FOUND" in section(html.render(rep), "verdict")


def test_data_loss_is_said_in_the_verdict():
    res = F.result()
    res.report.accounting = {"lost": True, "lost_records": 1234, "damaged_files": 2,
                             "refused_files": 1, "summary": "4 files, 22 records parsed"}
    doc = html.render(res)
    assert ("Data was lost while reading the bundle (1,234 records lost, 2 damaged file(s), "
            "1 archive member(s) refused): findings may be incomplete.") in section(doc, "verdict")
    assert "4 files, 22 records parsed." in section(doc, "inventory")
    assert "Data was lost" not in html.render(F.result())


def test_verdict_asks_for_every_missing_input(tmp_path):
    """With no fault found, the verdict's "ask the customer for" list was cut at 8 items
    while the terminal and Markdown listed all (here a lone qwinsta leaves 9 open)."""
    import analyzer
    from analyzer.report import common
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "qwinsta.txt").write_text(
        " SESSIONNAME       USERNAME                 ID  STATE   TYPE        DEVICE\n"
        " rdp-tcp                                 65536  Listen\n", encoding="utf-8")
    res = analyzer.analyze(tmp_path / "b")
    asks = common.ask_for(res.report.checks)
    assert len(asks) > 8
    verdict = section(html.render(res), "verdict")
    listed = re.search(r'<ul class="ask">(.*?)</ul>', verdict, re.S).group(1)
    assert listed.count("<li>") == len(asks)
