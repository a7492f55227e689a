"""Customer-controlled names and text in the outputs: a bundle whose file name the file
system holds as undecodable bytes (a Latin-1 name from an old archive) must be analysed and
reported like any other; control characters must not reach a terminal raw; backtick runs
in a service name must not turn a Markdown report into one code block."""
from __future__ import annotations

import json
import os
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from analyzer import sample
from analyzer.cli import app

pytestmark = pytest.mark.skipif(sys.platform == "win32" or sys.getfilesystemencoding() != "utf-8",
                                reason="needs a POSIX file system that stores bytes names")


def _latin1_path(parent, stem: bytes, suffix: str = ""):
    return parent / (os.fsdecode(stem) + suffix)


def test_a_bundle_named_in_undecodable_bytes_is_analysed_and_reported(tmp_path):
    bundle = _latin1_path(tmp_path, b"caf\xe9-ticket")     # a folder bundle
    sample.write_bundle("port-conflict", bundle, seed=1, fmt="dir")
    r = CliRunner().invoke(app, ["analyze", str(bundle), "--format", "json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["bundle"].endswith("caf\\xe9-ticket")
    assert "port-conflict" in {f["id"] for f in rep["findings"]}
    # the Rust reader opens a path only as UTF-8: it is given the file, so it reads the logs
    assert not [w for w in rep["warnings"] if "refused" in w["message"]], rep["warnings"]
    evtx = [i for i in rep["inventory"] if i["kind"] == "evtx"]
    assert evtx and all(i["status"] == "parsed" and i["records"] > 0 for i in evtx)
    for ext in ("html", "md", "txt"):
        out = tmp_path / f"report.{ext}"
        r = CliRunner().invoke(app, ["analyze", str(bundle), "-o", str(out)])
        assert r.exit_code == 0, r.output
        shown = "caf\\\\xe9" if ext == "md" else "caf\\xe9"      # Markdown escapes the \\
        assert shown + "-ticket" in out.read_text(encoding="utf-8")


def test_batch_over_an_inbox_with_an_undecodable_name_writes_its_summary(tmp_path):
    inbox = tmp_path / "inbox"
    sample.write_bundle("port-conflict", _latin1_path(inbox, b"caf\xe9", ".zip"), seed=1)
    sample.write_bundle("healthy-2022", inbox / "ok.zip", seed=2)
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["batch", str(inbox), "--out", str(out), "--jobs", "1"])
    assert r.exit_code == 0, r.output
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["bundle_id"]) == {"caf\\xe9.zip", "ok.zip"}
    assert set(summary["status"]) == {"ok"}
    bad = summary[summary["bundle_id"] == "caf\\xe9.zip"]
    assert "port-conflict" in set(bad["finding_id"])
    r = CliRunner().invoke(app, ["batch", str(inbox), "--out", str(out), "--jobs", "1"])
    assert r.exit_code == 0 and "2 already done" in r.output, r.output


def _hostile_port_conflict(dest, service: str):
    """The port-conflict sample with the squatter's service renamed to ``service`` (in
    tasklist /svc and in netstat -b), written as a folder."""
    files = sample.bundle_files("port-conflict", 1)
    line = "vncsrv.exe                    2412 RemoteAssistPro"
    for name in ("TS22PORT_SystemInfo/TS22PORT_Tasklist.txt",
                 "TS22PORT_Networking/TS22PORT_Netstat.txt"):
        text = files[name].decode("utf-16")
        assert "RemoteAssistPro" in text
        text = text.replace(line, "vncsrv.exe".ljust(25) + " " + "2412".rjust(8) + " " + service)
        files[name] = text.replace("  RemoteAssistPro\r\n", f"  {service}\r\n").encode("utf-16")
    for name, data in files.items():
        p = dest / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return dest


TERMINAL_ATTACK = "Evil\x1b[2J\x1b]0;PWNED\x07\x1b[31mRED\rOVER\bWRITE\u202eexe.txt"


def test_control_characters_from_customer_text_never_reach_the_terminal(tmp_path):
    bundle = _hostile_port_conflict(tmp_path / "b", TERMINAL_ATTACK)
    for args in (["analyze", str(bundle)], ["timeline", str(bundle)],
                 ["analyze", str(bundle), "--format", "markdown"],
                 ["analyze", str(bundle), "--format", "html"]):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 0, r.output
        out = r.stdout
        shown = out.replace("\\\\", "\\").replace("\\[", "[").replace("\\]", "]")  # Markdown escapes
        assert "Evil\\x1b[2J\\x1b]0;PWNED\\x07" in shown, args
        for c in "\x1b\x07\b\u202e":
            assert c not in out, (args, repr(c))
    r = CliRunner().invoke(app, ["analyze", str(bundle), "--format", "json"])
    rep = json.loads(r.stdout)                # JSON keeps the data exact (escaped by JSON)
    assert any(TERMINAL_ATTACK in f["summary"] for f in rep["findings"])


def test_backtick_runs_in_customer_text_cannot_open_code_or_fences_in_markdown(tmp_path):
    from markdown_it import MarkdownIt

    for service in ("A|B ```<img src=https://evil.example/md.png>[click](https://evil.example)`x``",
                    "x" * 38 + " ```", "x ~~~ y", "``` ``"):
        bundle = _hostile_port_conflict(tmp_path / str(len(service)), service)
        r = CliRunner().invoke(app, ["analyze", str(bundle), "--format", "markdown"])
        assert r.exit_code == 0, r.output
        text = r.stdout
        assert not [ln for ln in text.splitlines() if ln.lstrip().startswith(("```", "~~~"))]
        html = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
        assert "<img" not in html and "<a " not in html, service
        assert "<pre>" not in html
        # the findings and the checklist still render as sections
        assert html.count("<h2") >= 3 and "<table>" in html


def test_csv_for_spreadsheets_neutralises_formulas_other_exports_stay_exact(tmp_path):
    from analyzer.export import spreadsheet_safe

    cells = ["-", "-5", "+1.5", "=1+2", "@SUM(A1)", "+49 30 1", "-2+3", "\tx", "ok", None]
    got = spreadsheet_safe(pd.DataFrame({"c": cells}))["c"].tolist()
    assert got[:3] == ["-", "-5", "+1.5"] and got[8] == "ok" and pd.isna(got[9])
    assert got[3:8] == ["'=1+2", "'@SUM(A1)", "'+49 30 1", "'-2+3", "'\tx"]

    evil = "=CMD|' /C CALC'!A0"
    files = sample.bundle_files("port-conflict", 1)
    name = "TS22PORT_SystemInfo/TS22PORT_SystemInfo.txt"
    text = files[name].decode("utf-16")
    assert "Host Name:                 TS22PORT" in text
    files[name] = text.replace("Host Name:                 TS22PORT",
                               f"Host Name:                 {evil}").encode("utf-16")
    bundle = tmp_path / "b"
    for n, data in files.items():
        (bundle / n).parent.mkdir(parents=True, exist_ok=True)
        (bundle / n).write_bytes(data)
    r = CliRunner().invoke(app, ["timeline", str(bundle), "--format", "csv"])
    assert r.exit_code == 0, r.output
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    hosts = {row["host"] for row in rows}
    assert "'" + evil in hosts and evil not in hosts
    assert not [v for row in rows for v in row.values() if v and v[0] in "=@"]
    r = CliRunner().invoke(app, ["timeline", str(bundle), "--format", "jsonl"])
    assert evil in {json.loads(ln)["host"] for ln in r.stdout.splitlines()}
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    import shutil
    shutil.copytree(bundle, inbox / "=1+2")
    r = CliRunner().invoke(app, ["batch", str(inbox), "--out", str(tmp_path / "out"), "--jobs", "1"])
    assert r.exit_code == 0, r.output
    summary = pd.read_csv(tmp_path / "out" / "summary.csv", dtype=str)
    assert set(summary["bundle_id"]) == {"'=1+2"}
    assert {h.startswith("'=CMD") for h in summary["hosts"].dropna() if "CMD" in h} == {True}
    assert set(pd.read_parquet(tmp_path / "out" / "summary.parquet")["bundle_id"]) == {"=1+2"}


def test_a_service_name_with_backticks_stays_inside_its_quoted_command(tmp_path):
    """The port-conflict remedy put the squatter's service name unquoted into a code span
    (`sc config NAME start= disabled`): a backtick in the name paired with the tool's own,
    so HTML showed `<code>sc config Rem&lt;script&gt;|a</code>b…` and Markdown the same,
    and a name with spaces, & or | made a wrong or dangerous cmd line."""
    from html.parser import HTMLParser

    from markdown_it import MarkdownIt

    class Codes(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.codes, self.tags, self._in = [], [], 0

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            if tag == "code":
                self._in += 1
                self.codes.append("")

        def handle_endtag(self, tag):
            if tag == "code":
                self._in -= 1

        def handle_data(self, data):
            if self._in:
                self.codes[-1] += data

    def codes(html_text):
        p = Codes()
        p.feed(html_text)
        p.close()
        return p

    for service in ("Rem<script>|a`b&Pro", "Remote ``Assist`` Pro", "A & B | C"):
        bundle = _hostile_port_conflict(tmp_path / str(abs(hash(service))), service)
        config = f'sc config "{service}" start= disabled'
        stop = f'sc stop "{service}"'
        r = CliRunner().invoke(app, ["analyze", str(bundle), "--format", "json"])
        assert r.exit_code == 0, r.output
        pc = next(f for f in json.loads(r.stdout)["findings"] if f["id"] == "port-conflict")
        assert config in pc["remedy"] and stop in pc["remedy"]
        r = CliRunner().invoke(app, ["analyze", str(bundle), "--format", "html"])
        p = codes(r.stdout)
        assert config in p.codes and stop in p.codes, (service, p.codes)
        assert "script" not in p.tags
        r = CliRunner().invoke(app, ["analyze", str(bundle), "--format", "markdown"])
        md_html = MarkdownIt("commonmark", {"html": True}).enable("table").render(r.stdout)
        p = codes(md_html)
        assert [c for c in p.codes if c.startswith("sc ")] == [config, stop], (service, p.codes)
        assert "script" not in p.tags

    # a quote (or %) cannot be made literal on a cmd line: no command is offered for it
    service = 'Rem<script>|a`b"&Pro'
    bundle = _hostile_port_conflict(tmp_path / "quote", service)
    r = CliRunner().invoke(app, ["analyze", str(bundle), "--format", "json"])
    pc = next(f for f in json.loads(r.stdout)["findings"] if f["id"] == "port-conflict")
    assert "sc config" not in pc["remedy"] and "services.msc" in pc["remedy"]
    assert "`taskkill /PID 2412`" in pc["remedy"]
    r = CliRunner().invoke(app, ["analyze", str(bundle), "--format", "html"])
    p = codes(r.stdout)
    assert "script" not in p.tags and "taskkill /PID 2412" in p.codes
    # named as code, so its backtick cannot pair with the taskkill command's
    assert [c for c in p.codes if "Rem<script>" in c] == [service]
