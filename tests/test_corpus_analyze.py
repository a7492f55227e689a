"""`analyze` on every real corpus file (read in place): no exception, findings pinned.

The pinned findings (tests/golden/corpus_findings.json) were checked by hand once:

* e2m 4825 sample — two 4825 "denied access to Remote Desktop" for OFFSEC\\svc6test1 on FS02:
  ``user-not-authorized``.
* e2m 131 "brutforce" sample — one address (10.23.123.11) opening 14 RdpCoreTS 131
  connections within seconds on each of 11 servers: ``rdp-brute-force`` on each host.
* omer VSS RdpCoreTS log — 12 RdpCoreTS 140 credential failures from a public address:
  ``rdp-brute-force``. esa rdpsharp — 15 RdpCoreTS 131 from 10.0.2.16 in 10 min, but six are
  ConnType=UDP (the side channel of the TCP connection just before) and six connections
  went on to a session (RdpCoreTS 68), no 140: 9 TCP connections, below the burst — no
  finding (it was one until a review found the UDP rows counted).
* deepblue SMB password guessing — 3,561 failed *network* (type 3) logons and no RDP
  evidence at all: must NOT be called an RDP attack.
* e2m 4625 "account restriction" — status 0xC000006E, not 0xC000015B: no finding.
* CIS-hardened DC gpresult (XML and HTML twin) — "Allow log on through RDS" = Administrators
  only (a domain controller's default: its OU is Domain Controllers) and "Deny" lists
  oriontech\\Contractors (no refused logon in the bundle): ``user-not-authorized`` as a
  *warning*, not an error; NLA required by GPO: ``nla-required`` (info). The "Fail" report
  has the allow right without RD Users on the same DC: ``user-not-authorized`` (info).
* netstat captures of Windows 10 desktops — nothing listens on 3389: ``listener-down``
  (host unknown: netstat has no computer name); but the plain ``netstat`` capture (no -a,
  connections only) cannot show a listener: no finding. The layton ``-naob`` capture shows 3389 in a
  shared svchost that ``-b`` labels CryptSvc: *not* a port conflict (``-b`` names one service
  of the process; only ``tasklist /svc`` can tell) — so no finding.
* winapps RDPApps.reg sets UserAuthentication=1: ``nla-required``.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import analyzer
from conftest import corpus_dir

GOLDEN = json.loads((Path(__file__).parent / "golden" / "corpus_findings.json")
                    .read_text(encoding="utf-8"))["files"]
CORPUS = corpus_dir()
FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix != ".md") if CORPUS else []

pytestmark = pytest.mark.corpus


def _found(result) -> list[str]:
    return sorted({f"{f.id}@{f.host}" for f in result.report.findings})


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_single_file_bundle_matches_golden(path, corpus):
    rel = path.relative_to(corpus).as_posix()
    r = analyzer.analyze(path)
    assert len(r.report.checks) == 24 * max(1, len(r.report.hosts))
    assert rel in GOLDEN, f"{rel} not in the golden file: check its findings by hand and pin them"
    assert _found(r) == GOLDEN[rel]


def test_key_corpus_verdicts(corpus):
    r = analyzer.analyze(corpus / "evtx" / "e2m__ID4825-Denied_RDP_connection_with_valid_credentials.evtx")
    f = [x for x in r.report.findings if x.id == "user-not-authorized"]
    assert f and "OFFSEC\\svc6test1" in f[0].summary and len(f[0].evidence) == 2
    r = analyzer.analyze(corpus / "evtx" / "e2m__ID131-RDP_brutforce_no_user_info.evtx")
    bf = [x for x in r.report.findings if x.id == "rdp-brute-force"]
    assert len(bf) == 11 and all("10.23.123.11" in x.summary for x in bf)
    r = analyzer.analyze(corpus / "evtx" / "deepblue__smb-password-guessing-security.evtx")
    assert "rdp-brute-force" not in r.ids
    fails = r.timeline[r.timeline["event_id"] == 4625]
    assert len(fails) == 3561                        # the failures are there, all type 3
    # a Security log alone cannot tell SMB guessing from NLA (RDP) failures, which are type 3
    # too: not a pass, and the request names the burst and the logs that would tell
    chk = [c for c in r.report.checks if c.id == "rdp-brute-force"]
    assert chk and chk[0].status == "not-evaluated"
    assert "3561 from 192.168.198.149" in chk[0].note
    assert any("RemoteConnectionManager" in m for m in chk[0].missing)


@pytest.mark.slow
def test_whole_corpus_as_one_bundle(corpus):
    r = analyzer.analyze(corpus)
    found = set(_found(r))
    for rel, pins in GOLDEN.items():
        for pin in pins:
            if not pin.endswith("@UNKNOWN"):
                assert pin in found, f"{pin} (from {rel}) lost when analysing the whole corpus"
    assert "rdp-brute-force@DESKTOP-M5SN04R" not in found        # the SMB-guessing host
    doc = json.loads(r.to_json())
    assert set(doc) >= {"tool", "bundle", "hosts", "findings", "checks", "inventory", "warnings"}


def test_cis_dc_gpresult_is_not_an_error_root_cause(corpus):
    """The CIS-hardened DC's reports (review: "Root cause on WIN-1CPI0V6RVEL … [error]"):
    Administrators-only is a DC's default (its OU is Domain Controllers), and the deny of
    oriontech\\Contractors refuses no one the bundle shows — a warning, not an error."""
    for name in ("hershey__GPResult-DC.xml", "hershey__GPResult-DC.html"):
        r = analyzer.analyze(corpus / "gpresult" / name)
        f = [x for x in r.report.findings if x.id == "user-not-authorized"]
        assert len(f) == 1 and f[0].severity == "warning", name
        assert "only administrators may connect to it, by design" in f[0].summary
        assert "corp.oriontech.info/Domain Controllers" in f[0].summary
        assert "oriontech\\Contractors, and every member of a group listed, cannot connect" \
            in f[0].summary
    r = analyzer.analyze(corpus / "gpresult" / "hershey__GPResult-Fail.xml")
    f = [x for x in r.report.findings if x.id == "user-not-authorized"]
    assert len(f) == 1 and f[0].severity == "info"


def test_rdpsharp_reconnections_are_not_password_guessing(corpus):
    """esa rdpsharp: 9 TCP + 6 UDP 131 in 10 min, six sessions, no 140 — an RDP tool
    reconnecting, not guessing (review: "15 RdpCoreTS 131 connections")."""
    r = analyzer.analyze(corpus / "evtx" / "esa__dfir_rdpsharp_target_RdpCoreTs_168_68_131.evtx")
    assert "rdp-brute-force" not in r.ids
    assert [c.status for c in r.report.checks if c.id == "rdp-brute-force"] == ["pass"]


def test_rdpcorets_burst_evidence_is_the_window_the_summary_names(corpus):
    """omer: the true positive (140/131 pairs from 212.92.115.217) keeps firing, and its
    evidence is the burst the summary names — it showed rows from 14:28 for "from 19:20"."""
    r = analyzer.analyze(corpus / "evtx" / "omer__2-vss_0-Microsoft-Windows-RemoteDesktopServices-"
                                           "RdpCoreTS%4Operational.evtx")
    bf = [x for x in r.report.findings if x.id == "rdp-brute-force"]
    assert len(bf) == 1
    assert "12 RdpCoreTS 140 credential failures from 212.92.115.217 within 10 min " \
           "(from 2018-08-07 19:20 UTC)" in bf[0].summary
    assert "RdpCoreTS 131" in bf[0].summary and "from 212.92.115.217" in bf[0].summary
    times = sorted(e.time for e in bf[0].evidence)
    assert times and "2018-08-07T19:20" <= times[0] and times[-1] <= "2018-08-07T19:31"
