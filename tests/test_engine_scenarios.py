"""Every generated scenario bundle yields exactly its declared finding ids.

``analyzer.sample.SCENARIOS`` declares, per scenario, ``expect`` (must be produced),
``forbid`` (must not be) and ``tolerate`` (thresholds Part A leaves to the detector). The
healthy and noisy bundles must yield nothing above ``info``.
"""
from __future__ import annotations

import json

import pytest

import analyzer
from analyzer.findings import SEVERITY_RANK

sample = pytest.importorskip("analyzer.sample")
SCENARIOS = getattr(sample, "SCENARIOS", {})
QUIET = ("healthy-2003", "healthy-2022", "noisy-but-fine")

#: Scenario-side disagreements with KNOWLEDGE.md, reported to the generator engineer.
#: strict: the test starts failing (XPASS) as soon as the scenario is fixed.
KNOWN_SCENARIO_BUGS: dict[str, str] = {}   # none open: healthy-2022 is a licensed RDSH now


def _params():
    out = []
    for name in sorted(SCENARIOS):
        marks = []
        if name in KNOWN_SCENARIO_BUGS:
            marks.append(pytest.mark.xfail(reason=KNOWN_SCENARIO_BUGS[name], strict=True))
        out.append(pytest.param(name, marks=marks, id=name))
    return out


@pytest.mark.parametrize("name", _params())
def test_scenario_yields_its_declared_ids(name, tmp_path):
    sc = SCENARIOS[name]
    path = sample.write_bundle(name, tmp_path / name, seed=0, fmt="dir")
    r = analyzer.analyze(path)
    got = r.ids
    assert set(sc.expect) <= got, f"missing {sorted(set(sc.expect) - got)}"
    assert not (set(sc.forbid) & got), f"forbidden {sorted(set(sc.forbid) & got)}"
    assert got <= set(sc.expect) | set(getattr(sc, "tolerate", ())), sorted(got)
    assert {h.upper() for h in sc.hosts} <= set(r.report.hosts)
    if name in QUIET:
        loud = [f"{f.id} ({f.severity})" for f in r.report.findings if SEVERITY_RANK[f.severity] > 0]
        assert not loud, loud
    for f in r.report.findings:                   # every finding is proved from the files
        assert f.evidence and all(e.source and e.locator for e in f.evidence), f.id


def test_scenario_ids_cover_part_a():
    from analyzer.detectors import REGISTRY, load_all

    load_all()
    named = set(SCENARIOS)
    assert set(REGISTRY) <= named, sorted(set(REGISTRY) - named)
    assert set(QUIET) <= named


def test_port_conflict_scenario_as_a_new_user_sees_it(tmp_path, capsys):
    from analyzer.cli import main

    z = sample.write_bundle("port-conflict", tmp_path / "ticket.zip", seed=0, fmt="zip")
    with pytest.raises(SystemExit) as e:
        main(["analyze", str(z)])
    out = capsys.readouterr().out
    assert e.value.code == 0
    head = "\n".join(out.splitlines()[:3])
    for word in ("ROOT CAUSE", "3389", "PID 2412", "vncsrv.exe", "RemoteAssistPro", "listener"):
        assert word in head, (word, head)
    with pytest.raises(SystemExit) as e:
        main(["analyze", str(z), "--format", "json", "--fail-on", "critical"])
    assert e.value.code == 1
    d = json.loads(capsys.readouterr().out)
    pc = d["findings"][0]
    assert pc["id"] == "port-conflict" and pc["explains"] == ["listener-down"]
    assert {e["source"].rsplit("/", 1)[-1].split("_")[-1] for e in pc["evidence"]} >= {
        "Netstat.txt", "Tasklist.txt"}
