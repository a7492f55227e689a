"""The verdict's status: "no fault found" only when the checks for faults that stop every
connection could run. A bundle holding one netstat used to say "No fault found that would
stop Remote Desktop connections [OK]" with 22 of 24 checks not evaluated (found by review).

Bundles are cut from the project's own sample (sample_data/healthy-2022.zip, a healthy
server): all of it, without its qwinsta, and its netstat alone.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

import analyzer
from analyzer.cli import main
from analyzer.report import common, html, markdown

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "healthy-2022.zip"


def _cut(tmp_path: Path, keep) -> Path:
    out = tmp_path / "bundle"
    with zipfile.ZipFile(SAMPLE) as z:
        for name in z.namelist():
            if keep(name):
                z.extract(name, out)
    return out


def _healthy_2003(into: Path, drop: str = "") -> Path:
    """sample_data/healthy-2003.zip extracted into ``into``, without the members whose name
    ends with ``drop`` (when given)."""
    with zipfile.ZipFile(SAMPLE.parent / "healthy-2003.zip") as z:
        for name in z.namelist():
            if not (drop and name.endswith(drop)):
                z.extract(name, into)
    return into


def _json(capsys, path) -> dict:
    with pytest.raises(SystemExit) as e:
        main(["analyze", str(path), "-f", "json"])
    assert e.value.code == 0
    return json.loads(capsys.readouterr().out)


def test_every_blocking_check_ran_is_ok(capsys):
    d = _json(capsys, SAMPLE)
    assert d["findings"] and all(f["severity"] == "info" for f in d["findings"])
    v = d["verdict"]
    assert v["status"] == "ok" and v["unchecked"] == [] and v["root_cause"] is None
    assert v["headline"] == "No fault found that would stop Remote Desktop connections"
    assert list(d)[-1] == "verdict"


def test_without_qwinsta_the_session_limits_are_unchecked(tmp_path, capsys):
    b = _cut(tmp_path, lambda n: not n.endswith("_Qwinsta.txt"))
    d = _json(capsys, b)
    v = d["verdict"]
    assert v["status"] == "incomplete"
    assert v["unchecked"] == ["connection-limit-reached", "admin-sessions-exhausted"]
    assert v["headline"] == "No fault found in what the bundle holds"
    assert "2 of the 9 checks for faults that stop every connection" in v["detail"]
    ne = {c["id"] for c in d["checks"] if c["status"] == "not-evaluated"}
    assert set(v["unchecked"]) <= ne
    res = analyzer.analyze(b)
    assert "## Verdict: ℹ INCOMPLETE" in markdown.render(res).splitlines()
    sec = html.render(res).split('<section id="verdict"', 1)[1].split("</section>", 1)[0]
    assert "<span>INCOMPLETE</span>" in sec and "<li><code>qwinsta</code> output</li>" in sec


def test_a_netstat_alone_is_inconclusive(tmp_path, capsys):
    b = _cut(tmp_path, lambda n: n.endswith("_Netstat.txt"))
    d = _json(capsys, b)
    v = d["verdict"]
    assert v["status"] == "inconclusive", v
    assert "rdp-disabled" in v["unchecked"] and "listener-down" not in v["unchecked"]
    # netstat -b names TermService on 3389: the service runs, that check passes
    assert "termservice-not-running" not in v["unchecked"]
    assert len(v["unchecked"]) * 2 > len(common.blocking_checks())
    assert v["unchecked_by_host"] == {"TS22": v["unchecked"]}
    with pytest.raises(SystemExit):
        main(["analyze", str(b)])
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("Inconclusive:") and first.endswith("[INCONCLUSIVE]")
    assert "No fault found" not in first


def test_blocking_checks_are_the_critical_detectors():
    from analyzer.detectors import REGISTRY

    ids = common.blocking_checks()
    assert len(ids) == 9 and {"rdp-disabled", "port-conflict", "listener-down",
                              "termservice-not-running"} <= set(ids)
    assert all(REGISTRY[i].severity == "critical" for i in ids)


def test_the_verdict_is_told_host_by_host(tmp_path, capsys):
    """A file no host can be told for made a bundle of two fully checked hosts
    "Inconclusive" without saying for whom (found by review)."""
    b = tmp_path / "two"
    with zipfile.ZipFile(SAMPLE) as z:
        z.extractall(b)
    _healthy_2003(b)
    assert _json(capsys, b)["verdict"]["status"] == "ok"
    with zipfile.ZipFile(SAMPLE) as z:
        netstat = [n for n in z.namelist() if n.endswith("_Netstat.txt")][0]
        (b / "netstat.txt").write_bytes(z.read(netstat))
    v = _json(capsys, b)["verdict"]
    assert v["status"] == "inconclusive"
    assert v["headline"].startswith("Inconclusive for UNKNOWN:")
    assert "every check ran on" in v["headline"] and "TS22" in v["headline"]
    assert list(v["unchecked_by_host"]) == ["UNKNOWN"]


def test_a_fault_still_says_what_could_not_be_checked(tmp_path, capsys):
    b = _cut(tmp_path, lambda n: n.endswith("_Security.evtx"))
    d = _json(capsys, b)
    assert d["verdict"]["unchecked"] == [] or d["verdict"]["status"] != "ok"
    res = analyzer.analyze(SAMPLE.parent / "rdp-brute-force.zip")
    v = res.report.verdict()
    assert v.status == "fault" and v.unchecked == []


def test_checks_disabled_in_the_configuration_do_not_count(tmp_path):
    b = _cut(tmp_path, lambda n: n.endswith("_Netstat.txt"))
    from analyzer.engine import Tuning, analyze

    off = {"rdp-disabled", "logons-disabled", "certificate-corruption",
           "licensing-grace-expired", "admin-sessions-exhausted"}
    v = analyze(b, tuning=Tuning(disabled=off)).report.verdict()
    assert not set(v.unchecked) & off
    assert f"of the {9 - len(off)} checks" in v.detail


def test_a_2003_bundle_without_powercfg_asks_for_it(capsys, tmp_path):
    """On Windows Server 2003 host-sleeps is not evaluated (2003 logs no sleep event) and asks
    for `powercfg /query`, whose power scheme tells (it named nothing to ask for before the
    powercfg parser, and pointed at a note for a manual check)."""
    from analyzer.report import terminal

    bundle = _healthy_2003(tmp_path / "healthy-2003", drop="powercfg-query.txt")
    d = _json(capsys, bundle)
    ne = [c for c in d["checks"] if c["status"] == "not-evaluated"]
    assert [(c["id"], c["missing"]) for c in ne] == [("host-sleeps", ["`powercfg /query` output"])]
    res = analyzer.analyze(bundle)
    v = common.verdict(res.report)
    assert v.status == "ok" and v.ask_for == ["`powercfg /query` output"]
    assert v.detail == ("23 checks passed; 1 could not be evaluated because the bundle lacks "
                        "their inputs — ask the customer for the items listed below.")
    assert d["verdict"]["detail"] == v.detail
    for text in (terminal.render(res), markdown.render(res), html.render(res)):
        assert "powercfg /query" in text


def test_a_check_that_names_nothing_to_ask_for_points_at_its_note():
    """A not-evaluated check with a note and nothing to ask for: the verdict points at the
    note ("see its note in the checklist"), not at a list that would not follow."""
    from analyzer.findings import Check, Report

    noted = Check(id="host-sleeps", host="H", status="not-evaluated",
                  note="nothing the bundle can hold tells: check by hand")
    passed = [Check(id=i, host="H", status="pass") for i in common.blocking_checks()]
    rep = Report(tool={}, bundle="b", hosts=["H"], findings=[], checks=[*passed, noted],
                 inventory=[], warnings=[])
    v = common.verdict(rep)
    assert v.status == "ok" and v.ask_for == []
    assert v.detail.endswith("1 could not be evaluated — see its note in the checklist.")


def test_the_verdict_asks_for_items_and_points_at_notes_when_both_are_needed():
    from analyzer.findings import Check, Report

    def rep(*checks):
        return Report(tool={}, bundle="b", hosts=["H"], findings=[], checks=list(checks),
                      inventory=[], warnings=[])

    sleeps = Check(id="host-sleeps", host="H", status="not-evaluated",
                   note="2003 logs no sleep event: check its power scheme by hand")
    port = Check(id="port-conflict", host="H", status="not-evaluated",
                 missing=["`netstat -ano` output"])
    listener = Check(id="listener-down", host="H", status="not-evaluated",
                     note="the netstat capture is filtered")
    passed = [Check(id=i, host="H", status="pass") for i in common.blocking_checks()
              if i not in ("port-conflict", "listener-down")]
    v = common.verdict(rep(*passed, port, sleeps))
    assert v.status == "incomplete"
    assert v.detail.endswith("(port-conflict), and 1 other check(s) — ask the customer for "
                             "the items listed below, and see the checklist's notes on the "
                             "others.")
    v = common.verdict(rep(*passed, listener, sleeps,
                           Check(id="port-conflict", host="H", status="pass")))
    assert v.status == "incomplete" and v.ask_for == []
    assert v.detail.endswith("(listener-down), and 1 other check(s) — see their notes in the "
                             "checklist.")
    v = common.verdict(rep(*passed, sleeps, Check(id="port-conflict", host="H", status="pass"),
                           Check(id="listener-down", host="H", status="pass"),
                           Check(id="nla-required", host="H", status="not-evaluated",
                                 missing=["`reg export` output"])))
    assert v.status == "ok"
    assert v.detail == (f"{len(passed) + 2} checks passed; 2 could not be evaluated — ask the "
                        "customer for the items listed below, and see the checklist's notes "
                        "on the others.")


def test_the_2003_sample_is_fully_checked_from_its_own_outputs(capsys):
    """healthy-2003 carries what 2003 needs for the checks no 2003 event can tell: the active
    power scheme (`powercfg /query`) and the Winlogon key's WinStationsDisabled."""
    d = _json(capsys, SAMPLE.parent / "healthy-2003.zip")
    assert d["verdict"]["status"] == "ok" and d["verdict"]["unchecked"] == []
    checks = {c["id"]: c for c in d["checks"]}
    assert checks["host-sleeps"]["status"] == "pass"
    assert checks["logons-disabled"]["status"] == "pass"
    assert all(c["status"] == "pass" for c in d["checks"]), \
        [(c["id"], c["status"]) for c in d["checks"] if c["status"] != "pass"]
