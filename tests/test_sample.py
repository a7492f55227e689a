"""The scenario table, determinism, sizes, the CLI, and the port-conflict story in detail."""
from __future__ import annotations

import io
import re
import zipfile

import pytest
from typer.testing import CliRunner

import analyzer
from analyzer.cli import app
from analyzer.sample import FINDING_IDS, SCENARIOS, bundle_files, scenario_names, write_bundle
from tests.conftest import ROOT

EXTRA = {"healthy-2003", "healthy-2022", "noisy-but-fine"}


def _part_a() -> dict[str, str] | None:
    """{finding id: severity} from the Part A table of ../shared/KNOWLEDGE.md, if present."""
    for p in (ROOT.parent / "shared" / "KNOWLEDGE.md", ROOT.parent.parent / "shared" / "KNOWLEDGE.md"):
        if p.is_file():
            text = p.read_text(encoding="utf-8").split("# Part B")[0]
            return {m.group(1): m.group(2) for m in
                    re.finditer(r"^\| `([a-z0-9-]+)` \| [^|]+ \| (critical|error|warning|info) \|",
                                text, re.M)}
    return None


def test_one_scenario_per_finding_id_named_like_it_plus_healthy_and_noisy():
    part_a = _part_a()
    if part_a is not None:
        assert set(FINDING_IDS) == set(part_a), set(FINDING_IDS) ^ set(part_a)
    assert set(scenario_names()) == set(FINDING_IDS) | EXTRA
    assert len(scenario_names()) == len(set(scenario_names())) == len(FINDING_IDS) + 3


@pytest.mark.parametrize("name", scenario_names())
def test_declarations_partition_the_ids(name):
    sc = SCENARIOS[name]
    assert sc.expect | sc.forbid | sc.tolerate == set(FINDING_IDS)
    assert not (sc.expect & sc.forbid) and not (sc.expect & sc.tolerate) and not (sc.forbid & sc.tolerate)
    if name not in EXTRA:
        assert name in sc.expect
    assert sc.hosts and sc.description


def test_healthy_and_noisy_expect_nothing_above_info():
    sev = _part_a() or {"nla-required": "info"}
    for name in EXTRA:
        sc = SCENARIOS[name]
        assert all(sev[i] == "info" for i in sc.expect), (name, sc.expect)
        assert {"protocol-error-burst", "rdp-brute-force", "user-not-authorized"} <= sc.forbid


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = write_bundle("port-conflict", tmp_path / "a.zip", seed=3).read_bytes()
    b = write_bundle("port-conflict", tmp_path / "b.zip", seed=3).read_bytes()
    c = write_bundle("port-conflict", tmp_path / "c.zip", seed=4).read_bytes()
    assert a == b
    assert a != c
    names = zipfile.ZipFile(io.BytesIO(a)).namelist()
    assert names == sorted(names) and "TS22PORT_EventLogs/TS22PORT_System.evtx" in names


@pytest.mark.parametrize("name", ["certificate-corruption", "healthy-2022", "rdp-brute-force"])
def test_zipped_bundles_are_small(tmp_path, name):
    assert write_bundle(name, tmp_path / f"{name}.zip").stat().st_size < 1_000_000


def test_folder_output_matches_zip_members(tmp_path):
    d = write_bundle("healthy-2003", tmp_path / "h", fmt="dir")
    on_disk = {p.relative_to(d).as_posix(): p.read_bytes() for p in d.rglob("*") if p.is_file()}
    assert on_disk == bundle_files("healthy-2003")
    assert {"TS2003_Logs/SysEvent.Evt", "TS2003_Logs/SecEvent.Evt", "TS2003_Logs/qwinsta.txt",
            "TS2003_Logs/gpresult-z.txt"} <= set(on_disk)
    assert on_disk["TS2003_Logs/Control-TerminalServer.reg"][:2] == b"\xff\xfe"   # regedit 5.00
    assert b"\r\n" in on_disk["TS2003_Logs/netstat-ano.txt"]


def test_cli_list_names_every_scenario_and_writes_one(tmp_path):
    r = CliRunner().invoke(app, ["sample", "--list"])
    assert r.exit_code == 0
    listed = {line.split()[0] for line in r.output.splitlines() if line and not line[0].isspace()}
    assert listed == set(scenario_names())
    r = CliRunner().invoke(app, ["sample", "port-conflict", "-o", str(tmp_path / "pc.zip")])
    assert r.exit_code == 0, r.output
    assert zipfile.is_zipfile(tmp_path / "pc.zip")
    r = CliRunner().invoke(app, ["sample", "no-such-thing", "-o", str(tmp_path / "x")])
    assert r.exit_code == 2


def test_port_conflict_story_is_consistent_across_artifacts(tmp_path):
    b = analyzer.load(write_bundle("port-conflict", tmp_path / "pc", fmt="dir"))
    tl = b.timeline
    net, tasks = tl[tl.kind == "netstat"], tl[tl.kind == "tasklist"]
    listeners = net[(net.port == 3389) & net.data.str.contains('"listening":true')]
    assert set(listeners.pid) == {2412}
    squatter = tasks[tasks.pid == 2412]
    assert len(squatter) == 1 and "vncsrv.exe" in squatter.data.iloc[0]
    assert "RemoteAssistPro" in squatter.data.iloc[0]
    termsvc = tasks[tasks.data.str.contains("TermService", na=False)]
    assert len(termsvc) == 1 and termsvc.pid.iloc[0] not in set(net.pid)   # present, not listening
    qw = tl[tl.kind == "qwinsta"]
    assert qw[qw.data.str.contains('"rdp-tcp"', na=False)].data.str.contains('"Down"').all()
    rcm = tl[(tl.event_id == 260) & tl.provider.str.contains("RemoteConnectionManager", na=False)]
    assert len(rcm) == 1 and "0x80072740" in rcm.data.iloc[0]
    # every netstat PID is a process in tasklist
    assert set(net.pid.dropna()) <= set(tasks.pid.dropna())


def test_committed_sample_data_is_up_to_date(tmp_path):
    """sample_data/*.zip are what the generator writes now (run sample_data/regenerate.py)."""
    sd = ROOT / "sample_data"
    committed = sorted(p.name for p in sd.glob("*.zip"))
    assert committed == sorted(f"{n}.zip" for n in scenario_names())
    for name in scenario_names():
        fresh = write_bundle(name, tmp_path / f"{name}.zip").read_bytes()
        assert (sd / f"{name}.zip").read_bytes() == fresh, f"{name}.zip is stale"


def test_text_layouts_match_real_captures(corpus):
    """Our netstat / tasklist columns line up exactly with real Windows captures."""
    from analyzer.sample.textfmt import Process, Socket, netstat, tasklist_svc

    real = (corpus / "netstat" / "jc__win10_netstat-aonb.out").read_bytes().decode("ascii")
    ours = netstat([Socket("TCP", "0.0.0.0:135", "0.0.0.0:0", "LISTENING", 1712, "RpcSs")],
                   owners={1712: "svchost.exe"})
    assert ours.split("\r\n")[:7] == real.split("\r\n")[:7]
    real_de = (corpus / "netstat" / "vnschilling__netstat_output_de-DE_utf16.txt").read_bytes()
    real_de = real_de[2:].decode("utf-16-le")
    ours_de = netstat([Socket("TCP", "0.0.0.0:135", "0.0.0.0:0", "LISTENING", 2132)], locale="de")
    assert ours_de.split("\r\n")[:5] == real_de.split("\r\n")[:5]
    real_tl = (corpus / "tasklist" / "logancave__tasklist.txt").read_bytes().decode("ascii").split("\r\n")
    ours_tl = tasklist_svc([Process("System Idle Process", 0), Process("System", 4)]).split("\r\n")
    assert [line[:34] for line in ours_tl[:5]] == [line[:34] for line in real_tl[:5]]
