"""`rdpdoctor analyze / detectors / explain` as a user runs them (hand-written bundle).

The bundle is tests/fixtures/analyze/port-conflict (see the README there): TCP 3389 held by
PID 2412, vncsrv.exe hosting RemoteAssistPro.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer.cli import main

BUNDLE = Path(__file__).parent / "fixtures" / "analyze" / "port-conflict"


def rd(capsys, *argv) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return e.value.code, out, err


def test_terminal_verdict_in_first_three_lines(capsys):
    code, out, _ = rd(capsys, "analyze", BUNDLE)
    assert code == 0
    head = "\n".join(out.splitlines()[:3])
    for word in ("ROOT CAUSE", "TS01", "3389", "PID 2412", "vncsrv.exe", "RemoteAssistPro",
                 "listener is down"):
        assert word in head, word
    assert "\x1b[" not in out                       # piped: no colour codes
    assert "CHECKLIST" in out and "NOT EVALUATED" in out and "ASK THE CUSTOMER FOR" in out


def test_json_contract(capsys):
    code, out, _ = rd(capsys, "analyze", BUNDLE, "--format", "json")
    assert code == 0
    d = json.loads(out)
    assert list(d)[:7] == ["tool", "bundle", "hosts", "findings", "checks", "inventory", "warnings"]
    assert d["bundle"] == str(BUNDLE) and d["hosts"] == ["TS01"]
    pc = d["findings"][0]
    assert pc["id"] == "port-conflict" and pc["severity"] == "critical" and pc["host"] == "TS01"
    for k in ("title", "summary", "remedy"):
        assert isinstance(pc[k], str) and pc[k]
    assert "3389" in pc["summary"] and "2412" in pc["summary"] and "vncsrv.exe" in pc["summary"]
    assert isinstance(pc["references"], list) and "KB2477023" in pc["references"]
    for e in pc["evidence"]:
        assert {"source", "locator", "excerpt"} <= set(e) and e["source"].startswith("TS01_")
    assert all(c["status"] in ("fail", "pass", "not-evaluated") and isinstance(c["missing"], list)
               for c in d["checks"])
    for row in d["inventory"]:
        assert {"source", "kind", "records", "warnings", "status", "reason"} <= set(row)
        assert isinstance(row["records"], int) and row["status"] in ("parsed", "skipped", "failed")
    assert isinstance(d["warnings"], list)


def test_exit_codes_fail_on(capsys):
    assert rd(capsys, "analyze", BUNDLE, "--fail-on", "critical", "-f", "json")[0] == 1
    cfgp = BUNDLE.parent / "missing.toml"
    assert rd(capsys, "analyze", BUNDLE, "--config", cfgp)[0] == 2          # no such file
    assert rd(capsys, "analyze", BUNDLE.parent / "no-such-bundle")[0] == 3
    assert rd(capsys, "analyze", BUNDLE, "--min-severity", "fatal")[0] == 2


def test_a_corrupt_bundle_zip_is_one_error_line_and_exit_3(capsys, tmp_path):
    """A truncated upload used to print "NO DATA" and exit 0 (found by review)."""
    z = tmp_path / "ticket.zip"
    z.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    code, out, err = rd(capsys, "analyze", z)
    assert code == 3 and out == ""
    assert err.strip().splitlines() == [f"rdpdoctor: error: {z}: corrupt zip: File is not a zip file"]


def test_config_tuning_and_min_severity(capsys, tmp_path):
    t = tmp_path / "rdpdoctor.toml"
    t.write_text('[detectors]\ndisable = ["port-conflict"]\n[severity]\n"listener-down" = "warning"\n')
    code, out, _ = rd(capsys, "analyze", BUNDLE, "--config", t, "-f", "json", "--fail-on", "error")
    d = json.loads(out)
    assert code == 0                                        # only a warning is left
    assert [(f["id"], f["severity"]) for f in d["findings"]] == [("listener-down", "warning")]
    code, out, _ = rd(capsys, "analyze", BUNDLE, "--config", t, "-f", "json",
                      "--min-severity", "error")
    assert json.loads(out)["findings"] == []
    t.write_text('[detectors]\ndisable = ["no-such-id"]\n')
    code, _, err = rd(capsys, "analyze", BUNDLE, "--config", t)
    assert code == 2 and "no-such-id" in err


def test_repeatable_output_follows_extension(capsys, tmp_path):
    a, b = tmp_path / "r.json", tmp_path / "r.txt"
    code, out, err = rd(capsys, "analyze", BUNDLE, "-o", a, "-o", b)
    assert code == 0 and out == ""
    assert json.loads(a.read_text())["findings"][0]["id"] == "port-conflict"
    assert b.read_text().startswith("ROOT CAUSE on TS01")
    assert str(a) in err and str(b) in err


def test_detectors_and_explain(capsys):
    code, out, _ = rd(capsys, "detectors", "--format", "json")
    rows = json.loads(out)
    assert code == 0 and len(rows) >= 24
    pc = [r for r in rows if r["id"] == "port-conflict"][0]
    assert pc["severity"] == "critical" and "netstat" in pc["inputs"] and "KB2477023" in pc["references"]
    code, out, _ = rd(capsys, "detectors")
    assert code == 0 and "port-conflict" in out and "critical" in out
    code, out, _ = rd(capsys, "explain", "certificate-corruption")
    assert code == 0 and "X509 Certificate" in out and "TermDD 50" in out and "KB329896" in out
    code, out, _ = rd(capsys, "explain", "port-conflict")
    # needs netstat and tasklist together: no "any of"; reST ``literals`` shown as `literals`
    assert "any of" not in out and "``" not in out and "`netstat -ano` shows" in out
    assert rd(capsys, "explain", "nope")[0] == 2


def test_terminal_report_of_a_multi_host_bundle(tmp_path):
    """Two scenario bundles in one zip: both hosts analysed, checklist rows name the hosts."""
    import zipfile as _zf

    from typer.testing import CliRunner

    from analyzer.cli import app
    from analyzer.sample import write_bundle

    out = tmp_path / "multi.zip"
    with _zf.ZipFile(out, "w") as dst:
        for name in ("port-conflict", "certificate-corruption"):
            src = write_bundle(name, tmp_path / f"{name}.zip", seed=0, fmt="zip")
            with _zf.ZipFile(src) as z:
                for i in z.infolist():
                    dst.writestr(f"{name}/{i.filename}", z.read(i))
    r = CliRunner().invoke(app, ["analyze", str(out)])
    assert r.exit_code == 0, r.output
    text = r.output
    assert "port-conflict on" in text and "certificate-corruption on" in text
    assert "2 host(s)" in text.splitlines()[2]


def test_a_file_that_is_no_bundle_is_not_called_healthy(tmp_path):
    from typer.testing import CliRunner

    from analyzer.cli import app

    p = tmp_path / "notes.txt"
    p.write_text("hello, this is not a diagnostic bundle\n")
    r = CliRunner().invoke(app, ["analyze", str(p)])
    first = r.output.splitlines()[0]
    assert "Nothing to analyse" in first and "[NO DATA]" in first
    assert "No fault found" not in r.output


def test_unwritable_outputs_are_one_usage_error_line(capsys, tmp_path):
    """timeline -o under a file, batch --out onto a file and summarize --plot with an
    unknown extension were internal errors (exit 4) with a traceback's last line."""
    blocker = tmp_path / "pc.md"
    blocker.write_text("x", encoding="utf-8")
    code, out, err = rd(capsys, "timeline", BUNDLE, "-f", "csv", "-o", blocker / "x.csv")
    assert code == 2 and err.strip() == f"rdpdoctor: error: cannot write {blocker / 'x.csv'}: Not a directory"
    code, _, err = rd(capsys, "batch", BUNDLE.parent, "-o", blocker)
    assert code == 2 and err.strip() == f"rdpdoctor: error: --out {blocker}: exists and is not a folder"
    assert rd(capsys, "batch", BUNDLE.parent, "-o", tmp_path / "out")[0] == 0
    code, _, err = rd(capsys, "summarize", tmp_path / "out", "--plot", tmp_path / "p.txt")
    assert code == 2 and err.strip().splitlines()[-1] == (
        f"rdpdoctor: error: --plot {tmp_path / 'p.txt'}: the chart is written as .png, .svg or .pdf")


def test_config_for_a_host_not_in_the_bundle_is_an_error(capsys):
    code, out, err = rd(capsys, "config", BUNDLE, "--host", "NOPE")
    assert code == 2 and out == ""
    assert err.strip() == "rdpdoctor: error: --host NOPE: not in this bundle (hosts: TS01)"


def test_report_extension_without_a_format_is_an_error(capsys, tmp_path):
    """`-o r.pdf` wrote terminal text under a PDF name; an unknown extension now needs
    --format (found by review). inventory's --format offers only what it writes."""
    code, _, err = rd(capsys, "analyze", BUNDLE, "-o", tmp_path / "r.pdf")
    assert code == 2 and "no report format for '.pdf'" in err and not (tmp_path / "r.pdf").exists()
    code, _, _ = rd(capsys, "analyze", BUNDLE, "-o", tmp_path / "r.report", "-f", "json")
    assert code == 0 and json.loads((tmp_path / "r.report").read_text(encoding="utf-8"))["hosts"]
    assert rd(capsys, "inventory", BUNDLE, "-f", "parquet")[0] == 2


def test_unknown_extension_is_an_error_for_an_existing_file_too(capsys, tmp_path):
    """An existing r.pdf was overwritten with terminal text while a new one was refused."""
    old = tmp_path / "r.pdf"
    old.write_bytes(b"%PDF-1.7 the customer's document")
    code, _, err = rd(capsys, "analyze", BUNDLE, "-o", old)
    assert code == 2 and "no report format for '.pdf'" in err
    assert old.read_bytes() == b"%PDF-1.7 the customer's document"


def test_dash_output_is_stdout_beside_files(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = rd(capsys, "analyze", BUNDLE, "-f", "json", "-o", "-", "-o", "r.html")
    assert code == 0 and json.loads(out)["hosts"] == ["TS01"]
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not (tmp_path / "-").exists()
    code, out, _ = rd(capsys, "analyze", BUNDLE, "-o", "r.md")
    assert code == 0 and out == ""


@pytest.mark.parametrize("toml", ['detectors = "x"', "severity = 5", "params = []",
                                  "[detectors]\ndisable = [[1]]"])
def test_config_of_the_wrong_shape_is_a_usage_error(capsys, tmp_path, toml):
    p = tmp_path / "rdpdoctor.toml"
    p.write_text(toml + "\n")
    code, _, err = rd(capsys, "analyze", BUNDLE, "--config", p)
    assert code == 2 and err.startswith("rdpdoctor: error: --config:") and "internal" not in err


def test_checks_host_is_listed_when_no_host_is_known(capsys, tmp_path):
    code, out, _ = rd(capsys, "analyze", tmp_path, "-f", "json")
    d = json.loads(out)
    assert d["hosts"] == ["UNKNOWN"] and {c["host"] for c in d["checks"]} == {"UNKNOWN"}
    assert all(c["status"] == "not-evaluated" for c in d["checks"])


def _cli(args, **kw):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "analyzer.cli", *map(str, args)],
                          stderr=subprocess.PIPE, text=True, timeout=300, **kw)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_stdout_that_cannot_be_written_is_one_line_not_an_internal_error():
    # `> /dev/full` was "internal error: OSError" (exit 4) for analyze and the listings,
    # "cannot write None" (exit 2) for timeline/inventory (review finding)
    for args in (["analyze", BUNDLE], ["timeline", BUNDLE], ["detectors"]):
        with open("/dev/full", "w") as full:
            p = _cli(args, stdout=full)
        assert p.returncode == 2, args
        assert p.stderr == "rdpdoctor: error: cannot write to standard output: " \
                           "No space left on device\n", args


def test_a_reader_that_goes_away_is_exit_141_without_noise():
    import subprocess
    import sys
    # `rdpdoctor inventory ... | head -0`: "cannot write None: Broken pipe", exit 2; then
    # exit 1, which a script could not tell from --fail-on's "a finding matched"
    p = subprocess.Popen([sys.executable, "-m", "analyzer.cli", "timeline", str(BUNDLE)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=300) == 141 and err == ""


@pytest.mark.timeout(120)
def test_ctrl_c_while_the_console_script_is_still_importing_is_one_line():
    import signal
    import subprocess
    import sys
    import time
    # the console script imported pandas (through `import analyzer`) before main() set its
    # handlers: a Ctrl-C in the first ~0.4 s printed a traceback of the import machinery
    script = ("import sys; sys.stderr.write('up\\n'); sys.stderr.flush()\n"
              "from analyzer.entry import main; main()")
    for delay in (0.02, 0.1, 0.3):
        # (a shell without job control starts background jobs with SIGINT ignored, and
        # Python then never turns it into KeyboardInterrupt: the child gets the default)
        p = subprocess.Popen([sys.executable, "-c", script, "analyze", str(BUNDLE)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        assert p.stderr.readline() == b"up\n"
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=100)
        assert (p.returncode, err.decode()) == (130, "rdpdoctor: interrupted\n"), delay


def test_output_that_is_not_utf8_is_written_not_an_internal_error():
    """`rdpdoctor analyze -f markdown > report.md` on Windows writes cp1252: the tool's own
    '·' and '✖' made every format exit 4 with nothing written (found by review)."""
    import os
    import subprocess
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    for fmt in ("terminal", "markdown", "json", "html"):
        p = _cli(["analyze", BUNDLE, "-f", fmt], stdout=subprocess.PIPE, env=env)
        assert (p.returncode, p.stderr) == (0, ""), fmt
    md = _cli(["analyze", BUNDLE, "-f", "markdown"], stdout=subprocess.PIPE, env=env,
              encoding="utf-8").stdout
    assert "Another program holds the RDP port" in md and "✖ CRITICAL" in md   # UTF-8
    d = json.loads(_cli(["analyze", BUNDLE, "-f", "json"], stdout=subprocess.PIPE,
                        env=env, encoding="utf-8").stdout)
    assert d["findings"][0]["id"] == "port-conflict"


@pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="needs a pseudo-terminal")
def test_a_terminal_that_is_not_utf8_shows_escapes():
    import os
    import subprocess
    import sys
    main_fd, term = os.openpty()
    p = subprocess.Popen([sys.executable, "-m", "analyzer.cli", "analyze", str(BUNDLE)],
                         stdout=term, stderr=subprocess.PIPE,
                         env={**os.environ, "PYTHONIOENCODING": "ascii"})
    os.close(term)
    out = b""
    while True:
        try:
            chunk = os.read(main_fd, 1 << 16)
        except OSError:                          # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(main_fd)
    assert p.wait(timeout=300) == 0 and p.stderr.read() == b""
    assert b"Another program holds the RDP port" in out and b"\\xb7" in out


def test_sample_to_an_unwritable_place_and_a_utf16_config(capsys, tmp_path):
    blocker = tmp_path / "f"
    blocker.write_text("x")
    code, _, err = rd(capsys, "sample", "port-conflict", "-o", blocker / "x.zip")
    assert code == 2 and err.startswith(f"rdpdoctor: error: cannot write {blocker / 'x.zip'}: ")
    code, _, err = rd(capsys, "sample", "--all", "-o", blocker)
    assert code == 2 and err.count("\n") == 1
    # a tuning file as PowerShell 5.1's `>` writes it (UTF-16) and with a UTF-8 BOM: it was
    # an internal error / "Invalid statement"
    toml = '[severity]\n"nla-required" = "warning"\n'
    for enc, name in (("utf-16", "u16.toml"), ("utf-8-sig", "bom.toml")):
        (tmp_path / name).write_text(toml, encoding=enc)
        code, out, _ = rd(capsys, "analyze", BUNDLE, "--config", tmp_path / name, "--format", "json")
        assert code == 0 and json.loads(out)["tool"]["name"] == "rdpdoctor", enc
    # a file far beyond a tuning file's size is refused, not read in part
    (tmp_path / "big.toml").write_text(toml + "#" * (1 << 20), encoding="utf-8")
    code, _, err = rd(capsys, "analyze", BUNDLE, "--config", tmp_path / "big.toml")
    assert code == 2 and "larger than 1 MiB" in err


def test_timeline_dash_output_is_stdout(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = rd(capsys, "timeline", BUNDLE, "-f", "csv", "-o", "-")
    assert code == 0 and out.startswith("time,host,source") and not (tmp_path / "-").exists()


def test_import_analyzer_is_light_and_keeps_its_submodules_reachable():
    """`import analyzer` no longer loads pandas (the console script owns Ctrl-C before the
    heavy imports); the names and submodules it used to load eagerly are still attributes
    (`analyzer.bundle.Limits` raised AttributeError; regression review)."""
    import subprocess
    import sys
    code = ("import sys, analyzer\n"
            "light = 'pandas' not in sys.modules\n"
            "print(light, analyzer.bundle.Limits.__name__, analyzer.load.__module__,\n"
            "      analyzer.timeline.__name__, bool(analyzer.__version__))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.stdout.split() == ["True", "Limits", "analyzer.bundle", "analyzer.timeline", "True"], \
        p.stderr[-500:]


def test_a_ctrl_c_during_the_heavy_imports_waits_until_they_are_done(tmp_path):
    import signal
    import subprocess
    import sys
    # delivered inside an extension module's init, the KeyboardInterrupt crashed the
    # interpreter (orjson: SIGSEGV) or was swallowed by importlib and the run went on
    (tmp_path / "slowmod.py").write_text(
        "import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\n"
        "time.sleep(0.2)\nDONE = True\n")
    script = ("import sys\nsys.path.insert(0, sys.argv[1])\nimport analyzer.entry as e\n"
              "e._HEAVY = ('slowmod',)\n"
              "try:\n    e._import_heavy(['analyze', 'x.zip'])\n"
              "except KeyboardInterrupt:\n"
              "    print('after' if getattr(sys.modules.get('slowmod'), 'DONE', 0) else 'inside')\n"
              "else:\n    print('lost')\n")
    p = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                       timeout=60, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert p.stdout.decode().strip() == "after", p.stderr.decode()
