"""The engine: per-host runs, checks, root-cause linking and ordering, tuning, JSON."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from _detector_kit import cfg, ev, proc, sock, timeline, winsta
from analyzer.bundle import Bundle
from analyzer.detectors import REGISTRY
from analyzer.engine import Tuning, TuningError, analyze_bundle, link_and_order
from analyzer.findings import Finding

import analyzer

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"


def _bundle(rows, config=None, hosts=("TS01",)) -> Bundle:
    b = Bundle(path="tiny.zip", timeline=timeline(rows), inventory=pd.DataFrame(
        columns=["source", "kind", "status", "host", "records", "warnings", "reason"]),
        warnings=[], hosts=list(hosts))
    b._config = config if config is not None else cfg()
    return b


CONFLICT = [sock(3389, 2412), proc(2412, "vncsrv.exe", ["RemoteAssistPro"]),
            proc(1096, "svchost.exe", ["TermService"]), winsta("services", "Disc", 0)]


def test_port_conflict_explains_listener_down_and_comes_first():
    r = analyze_bundle(_bundle(CONFLICT))
    fs = r.report.findings
    assert [f.id for f in fs] == ["port-conflict", "listener-down"]
    assert fs[0].explains == ["listener-down"] and fs[1].explained_by == "port-conflict"
    st = {c.id: c.status for c in r.report.checks}
    assert st["port-conflict"] == "fail" and st["listener-down"] == "fail"
    assert st["rdp-disabled"] == "not-evaluated"
    assert len(r.report.checks) == len(REGISTRY)
    df = r.findings
    assert list(df.columns[:5]) == ["id", "severity", "host", "title", "summary"]
    assert df.loc[1, "explained_by"] == "port-conflict"


def test_rdp_disabled_explains_listener_down():
    rows = [winsta("services", "Disc", 0)]
    r = analyze_bundle(_bundle(rows, cfg(("fDenyTSConnections", 1, "gpresult", "No RDP"))))
    assert [f.id for f in r.report.findings][:2] == ["rdp-disabled", "listener-down"]
    assert r.report.findings[1].explained_by == "rdp-disabled"


def test_hosts_are_analysed_separately():
    rows = CONFLICT + [dict(sock(3389, 500), host="TS02", source="TS02_netstat.txt"),
                       dict(proc(500, "svchost.exe", ["TermService"]), host="TS02",
                            source="TS02_tasklist.txt")]
    r = analyze_bundle(_bundle(rows, hosts=("TS01", "TS02")))
    assert {(f.id, f.host) for f in r.report.findings} == {("port-conflict", "TS01"),
                                                           ("listener-down", "TS01")}
    ts02 = {c.id: c.status for c in r.report.checks if c.host == "TS02"}
    assert ts02["port-conflict"] == "pass" and ts02["listener-down"] == "pass"


def test_link_never_links_across_hosts():
    a = Finding("port-conflict", "critical", "A", "t", "s")
    b = Finding("listener-down", "critical", "B", "t", "s")
    out = link_and_order([b, a])
    assert all(f.explained_by is None for f in out)


def test_order_is_severity_then_cause_priority():
    fs = [Finding("nla-required", "info", "H", "t", "s"),
          Finding("host-sleeps", "warning", "H", "t", "s"),
          Finding("listener-down", "critical", "H", "t", "s"),
          Finding("termservice-not-running", "critical", "H", "t", "s")]
    out = link_and_order(fs)
    assert [f.id for f in out] == ["termservice-not-running", "listener-down", "host-sleeps",
                                   "nla-required"]
    assert out[1].explained_by == "termservice-not-running"


def test_tuning_disables_and_changes_severity_and_thresholds():
    t = Tuning.from_dict({"detectors": {"disable": ["listener-down"]},
                          "severity": {"port-conflict": "error"},
                          "params": {"evidence_rows": 1}})
    r = analyze_bundle(_bundle(CONFLICT), tuning=t)
    assert [(f.id, f.severity) for f in r.report.findings] == [("port-conflict", "error")]
    assert "listener-down" not in {c.id for c in r.report.checks}
    assert len(r.report.findings[0].evidence) <= 2        # netstat row + tasklist row head(1)


@pytest.mark.parametrize("bad", [
    {"detectors": {"disable": ["no-such-id"]}},
    {"severity": {"port-conflict": "fatal"}},
    {"params": {"brute_force_min_failures": -1}},
    {"params": {"nope": 1}},
    {"surprise": {}},
])
def test_tuning_rejects_mistakes(bad):
    with pytest.raises(TuningError):
        Tuning.from_dict(bad)


def test_tuning_from_toml(tmp_path):
    p = tmp_path / "rdpdoctor.toml"
    p.write_text('[detectors]\ndisable = ["nla-required"]\n[severity]\n"host-sleeps" = "critical"\n')
    t = Tuning.from_toml(p)
    assert t.disabled == {"nla-required"} and t.severity == {"host-sleeps": "critical"}
    p.write_text("[detectors\n")
    with pytest.raises(TuningError):
        Tuning.from_toml(p)


def test_a_failing_detector_becomes_a_warning_not_a_crash(monkeypatch):
    det = REGISTRY["host-sleeps"]

    def boom(ctx):
        raise RuntimeError("bug")

    monkeypatch.setattr(det, "func", boom)
    r = analyze_bundle(_bundle(CONFLICT + [ev(0, "kp", 42)]))
    chk = [c for c in r.report.checks if c.id == "host-sleeps"][0]
    assert chk.status == "not-evaluated" and "RuntimeError" in chk.note
    assert any("host-sleeps" in w["locator"] for w in r.report.warnings)
    assert "port-conflict" in r.ids


def test_json_follows_the_contract_and_is_deterministic():
    r1 = analyze_bundle(_bundle(CONFLICT))
    r2 = analyze_bundle(_bundle(CONFLICT))
    assert r1.to_json() == r2.to_json()
    d = json.loads(r1.to_json())
    assert d["tool"]["name"] == "rdpdoctor" and d["bundle"] == "tiny.zip" and d["hosts"] == ["TS01"]
    f = d["findings"][0]
    assert set(f) >= {"id", "severity", "host", "title", "summary", "evidence", "remedy",
                      "references"}
    assert set(f["evidence"][0]) >= {"source", "locator", "excerpt"}
    assert f["explains"] == ["listener-down"] and d["findings"][1]["explained_by"] == "port-conflict"
    c = d["checks"][0]
    assert set(c) >= {"id", "host", "status", "missing"} and c["status"] in ("fail", "pass",
                                                                           "not-evaluated")


def test_min_severity_filter_keeps_checks():
    rows = CONFLICT
    r = analyze_bundle(_bundle(rows, cfg(("UserAuthentication", 1))))
    assert "nla-required" in r.ids
    f = r.filtered("warning")
    assert "nla-required" not in f.ids and "port-conflict" in f.ids
    assert len(f.report.checks) == len(r.report.checks)


def test_min_severity_keeps_checks_and_links_consistent():
    """--min-severity hides findings, not facts: the check of a hidden finding still failed and
    says why nothing is shown, no shown finding explains (or is explained by) a hidden one,
    and the verdict does not claim "no fault" while a check failed below the floor."""
    from analyzer.report import common
    rows = CONFLICT
    r = analyze_bundle(_bundle(rows, cfg(("UserAuthentication", 1, "local"))))
    ids = [f.id for f in r.report.findings]
    assert ids[:2] == ["port-conflict", "listener-down"] and "nla-required" in ids
    r = analyze_bundle(_bundle(rows, cfg(("UserAuthentication", 1, "local")),
                               ), tuning=Tuning.from_dict({"severity": {"port-conflict": "warning"}}))
    shown = r.filtered("error")
    assert [f.id for f in shown.report.findings] == ["listener-down"]
    ld = shown.report.findings[0]
    assert ld.explained_by is None                       # its cause is hidden: it is a root
    assert r.report.findings[1].explained_by == "port-conflict"   # the original is untouched
    st = {c.id: c for c in shown.report.checks}
    assert st["port-conflict"].status == "fail" and st["port-conflict"].hidden == ["warning"]
    assert "below --min-severity error" in st["port-conflict"].note
    assert st["nla-required"].hidden == ["info"]
    d = json.loads(shown.to_json())
    assert {c["id"]: c.get("note", "") for c in d["checks"]}["port-conflict"].startswith("1 warning")
    v = common.verdict(shown.report)
    assert v.root.id == "listener-down"
    assert (v.checks["fail"], v.checks["info"]) == (2, 1)

    # everything hidden: the verdict says so instead of "no fault found"
    r = analyze_bundle(_bundle(rows, cfg(("UserAuthentication", 1, "local"))),
                       tuning=Tuning.from_dict({"severity": {"port-conflict": "warning",
                                                             "listener-down": "error"}}))
    v = common.verdict(r.filtered("critical").report)
    assert v.filtered and v.root is None and v.checks["fail"] == 2
    # the nla-required check (informational) failed too: the JSON says "fail" for three
    # checks, the verdict said "2 check(s) failed with 2 finding(s)" (found by review)
    assert v.detail.startswith("3 check(s) failed with 3 finding(s) below --min-severity "
                               "(1 of them informational); run without it")


def test_informational_checks_are_counted_apart_from_failures():
    from analyzer.report import common
    r = analyze_bundle(_bundle([winsta("rdp-tcp", "Listen", 65536)],
                               cfg(("UserAuthentication", 1, "local"))))
    assert [f.id for f in r.report.findings] == ["nla-required"]
    v = common.verdict(r.report)
    assert v.root is None and not v.filtered
    assert v.checks["fail"] == 0 and v.checks["info"] == 1

    h = analyzer.analyze(SAMPLES / "healthy-2022.zip")
    v = common.verdict(h.report)
    assert [f.id for f in h.report.findings] == ["nla-required"]
    assert v.checks == {"fail": 0, "info": 1, "pass": len(REGISTRY) - 1, "not-evaluated": 0}
    assert v.detail.startswith(f"{len(REGISTRY) - 1} checks passed. 1 informational")


def test_every_format_orders_findings_as_the_json_does(tmp_path):
    """JSON findings[0] named port-conflict while the verdict and the Markdown/HTML lists
    led with certificate-corruption: two sort keys. One order now (severity, causes before
    symptoms, host, id)."""
    import re
    import zipfile

    from analyzer.report import common, markdown
    multi = tmp_path / "multi.zip"
    with zipfile.ZipFile(multi, "w") as z:
        for n in ("certificate-corruption", "port-nondefault", "port-conflict", "healthy-2022"):
            z.write(SAMPLES / f"{n}.zip", f"{n}.zip")
    r = analyzer.analyze(multi)
    js = [(f["id"], f["host"]) for f in json.loads(r.to_json())["findings"]]
    assert len(js) >= 6 and js[0] == ("port-conflict", "TS22PORT")
    assert [(f.id, f.host) for f in common.ordered_findings(r.report)] == js
    v = common.verdict(r.report)
    assert (v.root.id, v.root.host) == js[0]
    md = [tuple(m) for m in re.findall(r"^### \d+\. .* on (\S+) \((\S+)\)$",
                                       markdown.render(r.report), re.M)]
    assert [(i, h) for h, i in md] == js


def test_min_severity_reorders_a_consequence_freed_from_its_hidden_cause():
    """port-conflict lowered to warning and hidden at --min-severity error: listener-down
    (critical) stood after tls-certificate-problem (error) in JSON while the verdict named
    it first (found by review)."""
    from analyzer.report import common
    # (the key error beside a TermDD 56: RDP's — Schannel alone is only a warning now)
    rows = CONFLICT + [ev(0, "schannel", 36870), ev(0.01, "termdd", 56, ip="192.0.2.7")]
    r = analyze_bundle(_bundle(rows), tuning=Tuning.from_dict(
        {"severity": {"port-conflict": "warning"}}))
    shown = r.filtered("error")
    ids = [f.id for f in shown.report.findings]
    assert ids[:2] == ["listener-down", "tls-certificate-problem"], ids
    assert common.verdict(shown.report).root.id == ids[0]
    assert [f.id for f in common.ordered_findings(shown.report)] == ids
