"""No side effects: no network, nothing executed or unpickled from a bundle, temp dirs cleaned,
and the same input gives byte-identical JSON."""
from __future__ import annotations

import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

import analyzer

FIXTURE = Path(__file__).parent / "fixtures" / "analyze" / "port-conflict"


def _bundle(tmp_path: Path) -> Path:
    """The hand-written port-conflict bundle, zipped, plus hostile passengers: a pickle and a
    Python file that would leave a marker if anything executed or unpickled them."""
    marker = tmp_path / "EXECUTED"

    class Boom:
        def __reduce__(self):
            return (Path.write_text, (marker, "pickle"))

    z = tmp_path / "ticket.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in sorted(FIXTURE.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(FIXTURE).as_posix())
        zf.writestr("evil.pkl", pickle.dumps(Boom()))
        zf.writestr("sitecustomize.py", f"open({str(marker)!r}, 'w').write('import')\n")
        zf.writestr("__init__.py", f"open({str(marker)!r}, 'w').write('import')\n")
    return z


def test_analyze_opens_no_socket_and_executes_nothing(tmp_path, monkeypatch):
    z = _bundle(tmp_path)

    def no_network(*a, **k):
        raise AssertionError("analysis tried to open a network connection")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    r = analyzer.analyze(z)
    assert r.report.findings, "the port-conflict bundle must still be analysed"
    assert not (tmp_path / "EXECUTED").exists()
    inv = r.inventory.set_index("source")
    assert inv.loc["evil.pkl", "status"] == "skipped"


def test_temp_dir_removed_after_load(tmp_path, monkeypatch):
    base = tmp_path / "tmp"
    base.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    analyzer.load(_bundle(tmp_path))
    assert list(base.iterdir()) == []


def test_temp_dir_removed_on_ctrl_c(tmp_path):
    """SIGINT in the middle of a (slowed-down) parse: the private temp dir is gone."""
    base = tmp_path / "tmp"
    base.mkdir()
    z = _bundle(tmp_path)
    code = (
        "import time, parsers\n"
        "def slow(*a, **k):\n"
        "    print('PARSING', flush=True); time.sleep(30)\n"
        "for m in parsers.PARSERS:\n"
        "    m.parse = slow\n"
        "import analyzer\n"
        f"analyzer.load({str(z)!r})\n")
    env = dict(os.environ, TMPDIR=str(base))
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        line = ""
        while "PARSING" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
        assert "PARSING" in line, proc.stderr.read()
        assert any(base.iterdir()), "extraction should be in progress"
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert list(base.iterdir()) == []


def test_two_runs_give_byte_identical_json(tmp_path):
    z = _bundle(tmp_path)
    exe = shutil.which("rdpdoctor") or str(Path(sys.executable).with_name("rdpdoctor"))
    outs = []
    for _ in range(2):
        p = subprocess.run([exe, "analyze", str(z), "--format", "json"], capture_output=True,
                           timeout=300)
        assert p.returncode in (0, 1), p.stderr.decode()[-2000:]
        outs.append(p.stdout)
    assert outs[0] and outs[0] == outs[1]


def test_strict_turns_loss_into_exit_1(tmp_path):
    from typer.testing import CliRunner

    from analyzer.cli import app

    clean = tmp_path / "clean.zip"
    with zipfile.ZipFile(clean, "w") as zf:
        for p in sorted(FIXTURE.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(FIXTURE).as_posix())
    lossy = tmp_path / "lossy.zip"
    shutil.copy(clean, lossy)
    with zipfile.ZipFile(lossy, "a") as zf:
        zf.writestr("../escape.txt", b"x")                      # a refused member
    runner = CliRunner()
    ok = runner.invoke(app, ["analyze", str(clean), "--format", "json", "--strict"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["analyze", str(lossy), "--format", "json", "--strict"])
    assert bad.exit_code == 1
    assert "data was lost" in (bad.stderr if hasattr(bad, "stderr") else bad.output)
    plain = runner.invoke(app, ["analyze", str(lossy), "--format", "json"])
    assert plain.exit_code == 0


def test_output_to_a_symlink_or_a_device_is_written_through(tmp_path):
    """``-o`` wrote a temporary file and renamed it over the target: a symlink became a
    plain file (its target never written) and, as root, ``-o /dev/null`` replaced the
    device node. Such targets are now written through."""
    import stat

    from analyzer.export import atomic_write_text
    target = tmp_path / "real.txt"
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    atomic_write_text(link, "new")
    assert link.is_symlink() and target.read_text(encoding="utf-8") == "new"
    atomic_write_text(Path(os.devnull), "nothing")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    plain = tmp_path / "plain.txt"
    atomic_write_text(plain, "x")
    assert plain.read_text(encoding="utf-8") == "x" and not list(tmp_path.glob(".*.part"))


def test_reports_get_the_usual_file_mode(tmp_path):
    """Reports were written 0600 (the temporary file's mode): a colleague could not open
    one on a shared box. They now get 0666 less the umask, as any file the user writes."""
    from analyzer.export import atomic_write_text
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "r.html", "x")
        os.umask(0o077)
        atomic_write_text(tmp_path / "private.html", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "r.html").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "private.html").stat().st_mode & 0o777 == 0o600


def test_strict_counts_an_event_log_cut_short_as_loss(tmp_path):
    """A System.evtx cut after its first chunks (its header announces more than the file
    holds) passed --strict: the missing chunks were never counted as lost (found by review)."""
    from typer.testing import CliRunner

    from analyzer.cli import app

    sample = Path(__file__).resolve().parents[1] / "sample_data" / "port-conflict.zip"
    with zipfile.ZipFile(sample) as z:
        name = next(n for n in z.namelist() if n.endswith("System.evtx"))
        data = bytearray(z.read(name))
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "System.evtx").write_bytes(bytes(data))
    runner = CliRunner()
    assert runner.invoke(app, ["analyze", str(folder), "-f", "json", "--strict"]).exit_code == 0
    data[0x2A:0x2C] = (48).to_bytes(2, "little")        # as a log cut after its first chunk
    (folder / "System.evtx").write_bytes(bytes(data))
    r = runner.invoke(app, ["analyze", str(folder), "-f", "json", "--strict"])
    assert r.exit_code == 1
    import json
    d = json.loads(r.stdout)
    row = [i for i in d["inventory"] if i["source"] == "System.evtx"][0]
    assert row["skipped_ranges"] == d["accounting"]["skipped_ranges"] == 1
