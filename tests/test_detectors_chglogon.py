"""logons-disabled on `change logon /query` output (parsers/chglogon.py): the live state
decides on every Windows version — enabled passes citing the output (even on 2003 without
the Winlogon value, or beside older RCM 1070 events), disabled and drain mode fail with the
remedy for the OS, a Group Policy state names the policy — and where the registry export
disagrees the output wins and the other is said.

Found by review: the check asked 2003 customers for `change logon /query` output that
nothing read, and on 2008+ never asked for it.
"""
from __future__ import annotations

import json

import pandas as pd
from _detector_kit import HOST, ev, inventory, row, run, sysinfo

from analyzer.cli import main
from analyzer.detectors import INPUTS, NotEvaluated, Passed

W2003 = sysinfo("Microsoft(R) Windows(R) Server 2003, Standard Edition", "5.2.3790 Service Pack 2")
W2019 = sysinfo("Microsoft Windows Server 2019 Standard", "10.0.17763 N/A Build 17763")
BOOT2003 = ev(0, "eventlog", 6005, kind="evt")
WINLOGON = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon"
SRC = f"{HOST}/chglogon.txt"

ENABLED = "Session logins are currently ENABLED"
DISABLED = "Session logins are currently DISABLED"
DRAIN = "New user logons are DISABLED, but reconnections to existing sessions are ENABLED"
DRAIN_RESTART = ("New user logons are DISABLED until the server is restarted, but "
                 "reconnections to existing sessions are ENABLED")
GP_DISABLED = ("Connections are currently DISABLED by Group Policy for this machine, unable to "
               "change.")
GP_ENABLED = "Connections are currently ENABLED by Group Policy for this machine, unable to change."


def chg(text: str, state: str, *, gp: bool = False, line: int = 2) -> dict:
    """A `change logon /query` row as parsers.chglogon writes it (a state snapshot)."""
    r = row("chglogon", "chglogon:state", source=SRC, line=line, message=text,
            data={"state": state, "group_policy": gp, "text": text, "cut": False,
                  "form": "keywords" if gp or "drain" in state else "sentence"})
    r["time"] = pd.NaT
    return r


def wsd(value) -> dict:
    return row("reg", "reg:value", source=f"{HOST}_RegistryKeys/winlogon.reg", line=7,
               data={"key": WINLOGON, "name": "WinStationsDisabled", "type": "REG_SZ",
                     "value": value})


# ----------------------------------------------------------------- Windows Server 2003

def test_2003_enabled_output_passes_without_the_winlogon_value():
    out = run("logons-disabled", [W2003, BOOT2003, chg(ENABLED, "enabled")])
    assert isinstance(out, Passed), out
    assert ENABLED in out.note and SRC in out.note and "line 2" in out.note


def test_2003_disabled_output_fails_with_the_2003_remedy():
    out = run("logons-disabled", [W2003, BOOT2003, chg(DISABLED, "disabled")])
    assert [(f.id, f.severity) for f in out] == [("logons-disabled", "critical")]
    f = out[0]
    assert "logons from client sessions are disabled" in f.summary and DISABLED in f.summary
    assert (f.evidence[0].source, f.evidence[0].locator) == (SRC, "line 2")
    assert "`change logon /enable`" in f.remedy and "chglogon" not in f.remedy


def test_2003_output_outranks_the_registry_and_says_so():
    # the registry says disabled, the live output enabled: passes, mentioning the value
    out = run("logons-disabled", [W2003, BOOT2003, wsd("1"), chg(ENABLED, "enabled")])
    assert isinstance(out, Passed)
    assert "WinStationsDisabled = 1" in out.note and "outranks" in out.note
    # the registry says enabled, the output disabled: fails, the disagreement said
    out = run("logons-disabled", [W2003, BOOT2003, wsd("0"), chg(DISABLED, "disabled")])
    assert len(out) == 1 and "WinStationsDisabled = 0" in out[0].summary
    assert "disagrees" in out[0].summary
    assert [e.source for e in out[0].evidence] == [SRC, f"{HOST}_RegistryKeys/winlogon.reg"]


def test_2003_group_policy_state_names_the_policy_not_change_logon():
    out = run("logons-disabled", [W2003, BOOT2003, chg(GP_DISABLED, "disabled", gp=True)])
    f = out[0]
    assert "set by Group Policy" in f.summary
    assert "`change logon /enable` cannot change it" in f.remedy and "`gpresult /h`" in f.remedy
    assert "Allow users to connect remotely using Terminal Services" in f.remedy
    assert "Windows Components > Terminal Services" in f.remedy


# ----------------------------------------------------------------- Windows Server 2019

def test_2019_enabled_output_passes_without_rcm_logs_and_beside_old_1070():
    out = run("logons-disabled", [W2019, chg(ENABLED, "enabled")])
    assert isinstance(out, Passed) and ENABLED in out.note
    # RCM logged "logons disabled" earlier; the output shows them enabled since: a
    # warning saying when (a ticket's failure may be that window; it was a silent pass,
    # found by review), with the output first in the evidence
    out = run("logons-disabled", [W2019, ev(1, "rcm", 261), ev(2, "rcma", 1070),
                                  chg(ENABLED, "enabled")])
    assert [(f.id, f.severity) for f in out] == [("logons-disabled", "warning")]
    f = out[0]
    assert f.title == "New logons were disabled earlier (enabled at capture)"
    assert f.summary.startswith("Logons were disabled earlier: RemoteConnectionManager logged "
                                "1 \"logons disabled\" event(s), last at ")
    assert ENABLED in f.summary and ENABLED in f.evidence[0].excerpt
    assert f.evidence[1].source.endswith("RemoteConnectionManager%4Admin.evtx")
    assert "Nothing to change now: `chglogon /query` says session logins are ENABLED." in f.remedy
    # enabled by Group Policy: passes too
    assert isinstance(run("logons-disabled", [W2019, chg(GP_ENABLED, "enabled", gp=True)]),
                      Passed)


def test_2019_disabled_output_fails_with_chglogon_enable():
    out = run("logons-disabled", [W2019, chg(DISABLED, "disabled")])
    assert [(f.id, f.severity) for f in out] == [("logons-disabled", "critical")]
    assert "`chglogon /enable`" in out[0].remedy and DISABLED in out[0].summary
    # with RCM 1070 beside it: both are evidence, the output first
    out = run("logons-disabled", [W2019, ev(1, "rcm", 261), ev(2, "rcma", 1070),
                                  chg(DISABLED, "disabled")])
    assert out[0].evidence[0].source == SRC and len(out[0].evidence) == 2
    assert "RemoteConnectionManager logged 1" in out[0].summary


def test_2019_drain_mode_fails_new_logons_refused_reconnections_allowed():
    f = run("logons-disabled", [W2019, chg(DRAIN, "drain")])[0]
    assert "drain mode" in f.summary and "reconnections to existing sessions are allowed" \
        in f.summary and DRAIN in f.summary
    assert "`chglogon /enable`" in f.remedy and "Connection Broker" in f.remedy
    f = run("logons-disabled", [W2019, chg(DRAIN_RESTART, "drain-until-restart")])[0]
    assert "until it restarts" in f.summary
    assert "`chglogon /drainuntilrestart`" in f.remedy and "restart" in f.remedy
    # the registry's WinStationsDisabled = 0 (drain mode does not set it) does not clear it
    assert len(run("logons-disabled", [W2019, wsd("0"), chg(DRAIN, "drain")])) == 1
    # = 1 beside drain output is `change logon /disable`'s flag, not drain mode's support;
    # beside "disabled" with RCM events, both are said (found by review)
    f = run("logons-disabled", [W2019, wsd("1"), chg(DRAIN, "drain")])[0]
    assert "the registry export also has WinStationsDisabled = 1 in " in f.summary
    assert "(`change logon /disable`)" in f.summary
    f = run("logons-disabled", [W2019, wsd("0"), ev(2, "rcma", 1070), chg(DISABLED, "disabled")])[0]
    assert "disagrees" in f.summary and "RemoteConnectionManager logged 1" in f.summary


def test_2019_registry_disabled_but_output_enabled_passes():
    out = run("logons-disabled", [W2019, wsd("1"), chg(ENABLED, "enabled")])
    assert isinstance(out, Passed) and "WinStationsDisabled = 1" in out.note


def test_2019_group_policy_disabled_names_the_rds_policy():
    f = run("logons-disabled", [W2019, chg(GP_DISABLED, "disabled", gp=True)])[0]
    assert "Allow users to connect remotely by using Remote Desktop Services" in f.remedy
    assert "Remote Desktop Session Host > Connections" in f.remedy
    assert "`chglogon /query`" in f.remedy


def test_2019_without_output_or_rcm_logs_asks_for_change_logon_query():
    ne = run("logons-disabled", [W2019])
    assert isinstance(ne, NotEvaluated)
    assert ne.missing == [INPUTS["rcm-log"], INPUTS["chglogon"]]
    assert INPUTS["chglogon"] == "`change logon /query` output"
    # an output that was read but held no state is not asked for again
    ne = run("logons-disabled", [W2019], inv=inventory((SRC, "chglogon")))
    assert ne.missing == [INPUTS["rcm-log"]]


def _analyze_2019_folder(tmp_path, capsys, name: str, content: bytes) -> dict:
    """`rdpdoctor analyze -f json` of a 2019 host folder: systeminfo and one more file."""
    host = tmp_path / "TS19"
    host.mkdir()
    (host / "systeminfo.txt").write_bytes(
        b"Host Name:                 TS19\r\n"
        b"OS Name:                   Microsoft Windows Server 2019 Standard\r\n"
        b"OS Version:                10.0.17763 N/A Build 17763\r\n")
    (host / name).write_bytes(content)
    try:
        main(["analyze", str(tmp_path), "-f", "json"])
    except SystemExit:
        pass
    return json.loads(capsys.readouterr().out)


def test_end_to_end_a_2019_folder_with_drain_output(tmp_path, capsys):
    """The parser and the check together: a host folder with systeminfo and the output."""
    d = _analyze_2019_folder(tmp_path, capsys, "logon_state.txt",
                             b"\xff\xfe" + ("\r\n" + DRAIN + "\r\n").encode("utf-16-le"))
    f = [f for f in d["findings"] if f["id"] == "logons-disabled"]
    assert len(f) == 1 and "drain mode" in f[0]["summary"]
    assert f[0]["evidence"][0]["source"].endswith("logon_state.txt")
    assert f[0]["evidence"][0]["locator"] == "line 2"
    assert DRAIN in f[0]["evidence"][0]["excerpt"]
    kinds = {i["source"].rsplit("/", 1)[-1]: i["kind"] for i in d["inventory"]}
    assert kinds["logon_state.txt"] == "chglogon"


def test_end_to_end_a_script_status_line_is_no_logon_state(tmp_path, capsys):
    """A status file worded like the Group Policy line but without it made a 2019 host's
    check fail as critical (found by review); it is no `change logon /query` output."""
    d = _analyze_2019_folder(tmp_path, capsys, "rdpcheck.txt",
                             b"Checking RDP...\r\nRemote Desktop connections are currently "
                             b"DISABLED\r\n")
    assert "logons-disabled" not in [f["id"] for f in d["findings"]]
    kinds = {i["source"].rsplit("/", 1)[-1]: i["kind"] for i in d["inventory"]}
    assert kinds["rdpcheck.txt"] != "chglogon"


def test_several_outputs_that_disagree_are_said():
    """A log of repeated checks, or two files: the last one read decides and the others are
    named (found by review: they were never mentioned)."""
    out = run("logons-disabled", [W2019, chg(DISABLED, "disabled", line=2),
                                  chg(ENABLED, "enabled", line=9)])
    assert isinstance(out, Passed)
    assert (f"1 other `change logon /query` output(s) in the bundle say otherwise: disabled "
            f"({SRC}, line 2) — the last one read is taken") in out.note
    (f,) = run("logons-disabled", [W2019, chg(ENABLED, "enabled", line=2),
                                   chg(DRAIN, "drain", line=9)])
    assert f"say otherwise: enabled ({SRC}, line 2)" in f.summary
    # outputs that agree: nothing more is said
    (f,) = run("logons-disabled", [W2019, chg(DRAIN, "drain", line=2), chg(DRAIN, "drain", line=9)])
    assert "otherwise" not in f.summary


def test_enabled_at_capture_names_the_outputs_that_disagree():
    """Found by the second review: the "enabled at capture" warning left out an earlier
    DISABLED output."""
    (f,) = run("logons-disabled", [W2019, ev(2, "rcma", 1070), chg(DISABLED, "disabled", line=2),
                                   chg(ENABLED, "enabled", line=9)])
    assert f.severity == "warning"
    assert f"say otherwise: disabled ({SRC}, line 2)" in f.summary
