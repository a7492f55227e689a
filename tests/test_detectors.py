"""Each detector on tiny in-test timelines: a positive and a negative case (and not-evaluated).

Rows are built with tests/_detector_kit.py from the timeline contract; config frames follow
the effective-config contract (analyzer.config). Names: test_<id with _>_{fires,quiet,...}.
"""
from __future__ import annotations

import orjson

from _detector_kit import (T0, cfg, ev, ids, inventory, proc, row, run, sock, sysinfo, winsta)
from analyzer.detectors import INPUTS, NotEvaluated, Passed

# ----------------------------------------------------------------------------- configuration


def test_rdp_disabled_fires_and_names_the_gpo():
    out = run("rdp-disabled", [], cfg(("fDenyTSConnections", 1, "gpresult", "RDP Lockdown",
                                       [{"value": 0, "origin": "local", "source": "TS.reg",
                                         "locator": "line 4"}])))
    assert [f.id for f in out] == ["rdp-disabled"]
    assert 'Group Policy "RDP Lockdown"' in out[0].summary
    assert out[0].severity == "critical"
    assert {e.source for e in out[0].evidence} >= {"TS01_Gpresult.xml", "TS.reg"}


def test_rdp_disabled_fires_on_disabled_listener_and_quiet_when_enabled():
    out = run("rdp-disabled", [], cfg(("fDenyTSConnections", 0), ("fEnableWinStation", 0)))
    assert len(out) == 1 and "fEnableWinStation = 0" in out[0].summary
    assert run("rdp-disabled", [], cfg(("fDenyTSConnections", 0), ("fEnableWinStation", 1))) == []


def test_rdp_disabled_not_evaluated_without_config_or_with_defaults_only():
    out = run("rdp-disabled", [], cfg(("fEnableWinStation", 1, "default")))
    assert isinstance(out, NotEvaluated)
    assert any("reg export" in m for m in out.missing)


def test_rdp_disabled_unknown_when_the_key_export_lacks_fdenytsconnections():
    # KNOWLEDGE G01: the value is on every install, absent ⇒ unknown. A partial export of the
    # Terminal Server key (a `reg query` of two values) used to pass (review finding)
    ts = row("reg", "reg:value", data={
        "key": "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server",
        "name": "TSAppCompat", "value": 0})
    out = run("rdp-disabled", [ts], cfg(("fEnableWinStation", 1)))
    assert isinstance(out, NotEvaluated)
    assert "the export of the Terminal Server key lacks it" in out.note
    # the listener disabled is a finding whatever fDenyTSConnections is
    out = run("rdp-disabled", [ts], cfg(("fEnableWinStation", 0)))
    assert [f.id for f in out] == ["rdp-disabled"]


def test_connection_limit_policy_fires_and_quiet():
    out = run("connection-limit-policy", [], cfg(("MaxInstanceCount", 2, "gpresult", "TS Limits")))
    assert len(out) == 1 and "limited to 2" in out[0].summary and "TS Limits" in out[0].summary
    assert run("connection-limit-policy", [], cfg(("MaxInstanceCount", 0xFFFFFFFF))) == []
    assert run("connection-limit-policy", [], cfg(("MaxInstanceCount", 999999, "gpresult"))) == []


def test_port_nondefault_fires_in_decimal_and_hex_and_quiet_on_3389():
    out = run("port-nondefault", [], cfg(("PortNumber", 3390)))
    assert "3390 (0x0d3e)" in out[0].summary and out[0].severity == "info"
    assert run("port-nondefault", [], cfg(("PortNumber", 3389))) == []


def test_port_nondefault_reports_tds_mismatch():
    out = run("port-nondefault", [], cfg(("PortNumber", 3390), ("PortNumberTds", 3389)))
    assert "Tds\\tcp copy says 3389" in out[0].summary


def test_tls_requires_high_encryption_fires_and_quiet():
    out = run("tls-requires-high-encryption", [],
              cfg(("SecurityLayer", 2), ("MinEncryptionLevel", 2)))
    assert len(out) == 1 and "Client Compatible (2)" in out[0].summary
    assert run("tls-requires-high-encryption", [],
               cfg(("SecurityLayer", 2), ("MinEncryptionLevel", 3))) == []
    assert run("tls-requires-high-encryption", [],
               cfg(("SecurityLayer", 0), ("MinEncryptionLevel", 1))) == []
    # FIPS forces level 4: TLS works
    assert run("tls-requires-high-encryption", [],
               cfg(("SecurityLayer", 1), ("MinEncryptionLevel", 2),
                   ("FIPSAlgorithmPolicy", 1, "security-option"))) == []
    # a FIPS security option whose state word is unreadable: the finding says FIPS is unknown
    fips = row("gpresult", "gpo:security-option", source="TS01_Gpresult.html", data={
        "setting": "FIPSAlgorithmPolicy", "value": None, "display_value": "Włączona?"})
    out = run("tls-requires-high-encryption", [fips],
              cfg(("SecurityLayer", 2), ("MinEncryptionLevel", 2)))
    assert len(out) == 1 and "FIPS security option in TS01_Gpresult.html" in out[0].summary
    assert "cannot read" not in run("tls-requires-high-encryption", [],
                                    cfg(("SecurityLayer", 2), ("MinEncryptionLevel", 2)))[0].summary
    # no Lsa export and no Group Policy report: FIPS "off" is an assumption, and says so
    out = run("tls-requires-high-encryption", [], cfg(("SecurityLayer", 2), ("MinEncryptionLevel", 2)))
    assert "FIPS security option is not in the bundle" in out[0].summary
    lsa = row("reg", "reg:value", data={"key": "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa",
                                        "name": "FIPSAlgorithmPolicy", "value": 0})
    out = run("tls-requires-high-encryption", [lsa], cfg(("SecurityLayer", 2), ("MinEncryptionLevel", 2)))
    assert "not in the bundle" not in out[0].summary
    # the article's rule is 2003's: Negotiate + Client Compatible is 2008 R2's working default
    weak = cfg(("SecurityLayer", 1), ("MinEncryptionLevel", 2))
    assert run("tls-requires-high-encryption", [sysinfo("Microsoft Windows Server 2008 R2 Enterprise",
                                                        "6.1.7601 Service Pack 1 Build 7601")], weak) == []
    out = run("tls-requires-high-encryption", [sysinfo("Microsoft(R) Windows(R) Server 2003, "
                                                       "Standard Edition", "5.2.3790")], weak)
    assert len(out) == 1 and "version is unknown" not in out[0].summary
    assert "version is unknown" in run("tls-requires-high-encryption", [], weak)[0].summary


def test_fips_overrides_encryption_fires_and_quiet():
    out = run("fips-overrides-encryption", [],
              cfg(("FIPSAlgorithmPolicy", 1, "security-option", "CIS"), ("MinEncryptionLevel", 3)))
    assert len(out) == 1 and "FIPS mode is on" in out[0].summary and "overridden" in out[0].summary
    assert run("fips-overrides-encryption", [], cfg(("FIPSAlgorithmPolicy", 0))) == []


def test_policy_overrides_local_fires_and_quiet():
    lost = [{"value": 0, "display": "RDP (0)", "origin": "local", "source": "TS.reg",
             "locator": "line 9"}]
    out = run("policy-overrides-local", [], cfg(("SecurityLayer", 2, "gpresult", "Sec", lost)))
    assert len(out) == 1 and out[0].summary.startswith("SecurityLayer: policy 2 over local RDP (0)")
    same = [{"value": 2, "origin": "local", "source": "TS.reg", "locator": "line 9"}]
    assert run("policy-overrides-local", [], cfg(("SecurityLayer", 2, "gpresult", "Sec", same))) == []
    # the policy's "unlimited" (999999) over the local one (0xFFFFFFFF) changes nothing: it
    # was reported as "policy unlimited (999999) over local unlimited" (review finding)
    unl = [{"value": 0xFFFFFFFF, "origin": "local", "source": "TS.reg", "locator": "line 9"}]
    assert run("policy-overrides-local", [],
               cfg(("MaxInstanceCount", 999999, "gpresult", "Lim", unl))) == []
    out = run("policy-overrides-local", [], cfg(("MaxInstanceCount", 5, "gpresult", "Lim", unl)))
    assert out[0].summary.startswith("MaxInstanceCount: policy 5 over local")
    # the policy alone, no local Terminal Server key in the bundle: nothing to compare it
    # with — this passed (found by review)
    ne = run("policy-overrides-local", [], cfg(("SecurityLayer", 2, "gpresult", "Sec")))
    assert isinstance(ne, NotEvaluated) and "policy sets SecurityLayer" in ne.note
    ts = row("reg", "reg:value", data={
        "key": "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server",
        "name": "fDenyTSConnections", "value": 0})
    assert run("policy-overrides-local", [ts], cfg(("SecurityLayer", 2, "gpresult", "Sec"))) == []


def test_nla_required_fires_and_quiet():
    assert [f.id for f in run("nla-required", [], cfg(("UserAuthentication", 1)))] == ["nla-required"]
    assert run("nla-required", [], cfg(("UserAuthentication", 0))) == []


def test_snp_features_enabled_only_on_2003():
    c = cfg(("EnableTCPChimney", 1), ("EnableRSS", 0))
    out = run("snp-features-enabled", [sysinfo("Microsoft Windows Server 2003 Standard Edition",
                                               "5.2.3790 Service Pack 2 Build 3790")], c)
    assert len(out) == 1 and "EnableTCPChimney = 1" in out[0].summary
    # on 2008+ it passes as not applicable, saying so: a bare pass read as "TCP Chimney,
    # RSS and NetDMA are off" (found by review)
    na = run("snp-features-enabled", [sysinfo("Microsoft Windows Server 2022 Standard",
                                              "10.0.20348 N/A Build 20348")], c)
    assert isinstance(na, Passed) and na.note.startswith("not applicable: a Windows Server "
                                                         "2003 SP2 problem")
    unknown = run("snp-features-enabled", [], c)
    assert isinstance(unknown, NotEvaluated) and unknown.missing == ["`systeminfo` output"]


# ----------------------------------------------------------------------------- listener

SQUAT = [sock(3389, 2412), proc(2412, "vncsrv.exe", ["RemoteAssistPro"]),
         proc(1096, "svchost.exe", ["TermService"])]


def test_port_conflict_names_port_pid_image_service():
    out = run("port-conflict", SQUAT)
    assert len(out) == 1
    s = out[0].summary
    assert "3389" in s and "PID 2412" in s and "vncsrv.exe" in s and "RemoteAssistPro" in s
    assert {e.source for e in out[0].evidence} == {"TS01_netstat.txt", "TS01_tasklist.txt"}


def test_an_unreadable_pid_is_nobody_s_process():
    # netstat and tasklist PIDs that did not fit their column are left empty (a warning):
    # the empty socket PID must not join the empty tasklist PID of an unrelated process
    rows = [sock(3389, None), proc(None, "notepad.exe", None, line=4),
            proc(1096, "svchost.exe", ["TermService"]), sock(445, 4, line=6)]
    out = run("port-conflict", rows)
    # (a fresh netstat is what can tell: the tasklist is there already)
    assert isinstance(out, NotEvaluated) and out.missing == ["`netstat -ano` output"]
    assert "PID of the socket on TCP 3389 could not be read" in out.note
    from _detector_kit import timeline
    from analyzer import processes
    assert processes.owners(timeline(rows))["image"].isna().all()
    # -b names the image: the finding says so, without a "PID None"
    rows = [sock(3389, None, image="vncsrv.exe"), proc(1096, "svchost.exe", ["TermService"])]
    out = run("port-conflict", rows)
    assert "PID ? (vncsrv.exe)" in out[0].summary and out[0].details["pids"] == []


def test_port_conflict_quiet_when_termservice_owns_the_port():
    rows = [sock(3389, 1096), proc(1096, "svchost.exe", ["DcomLaunch", "TermService"])]
    assert run("port-conflict", rows) == []


def test_port_conflict_checks_the_moved_port():
    rows = [sock(3389, 2412), sock(3390, 1096, line=6), proc(2412, "vncsrv.exe", ["VNC"]),
            proc(1096, "svchost.exe", ["TermService"])]
    assert run("port-conflict", rows, cfg(("PortNumber", 3390))) == []
    rows = [sock(3390, 2412), proc(2412, "vncsrv.exe", ["VNC"])]
    out = run("port-conflict", rows, cfg(("PortNumber", 3390)))
    assert "port 3390" in out[0].summary


def test_port_conflict_without_portnumber_follows_termservice_s_socket():
    # PortNumber not in the bundle, TermService listening on 3390 and a VNC server on 3389:
    # the RDP port was moved, 3389 is no conflict — the finding used to add "the RDP
    # listener is down" while listener-down passed (review finding)
    rows = [sock(3389, 2412), sock(3390, 1096, line=6), proc(2412, "vncsrv.exe", ["VNC"]),
            proc(1096, "svchost.exe", ["TermService"])]
    assert run("port-conflict", rows) == []
    assert run("listener-down", rows) == []
    # with PortNumber 3389 in the bundle the squatter is a conflict
    out = run("port-conflict", rows, cfg(("PortNumber", 3389)))
    assert "PID 2412" in out[0].summary and "port 3389" in out[0].summary
    # TermService on 3390 and something else on it too: reported on 3390, saying why
    rows2 = rows + [sock(3390, 777, local_ip="10.0.0.5", line=7),
                    proc(777, "agent.exe", None, line=8)]
    out = run("port-conflict", rows2)
    assert "port 3390 (TermService's own" in out[0].summary and "PID 777" in out[0].summary
    # nothing on 3389: the finding does not say something holds it (found by review)
    rows3 = [sock(3390, 1096, line=6), proc(1096, "svchost.exe", ["TermService"]),
             sock(3390, 777, local_ip="10.0.0.5", line=7), proc(777, "agent.exe", None, line=8)]
    s3 = run("port-conflict", rows3)[0].summary
    assert "3389" not in s3 and "(TermService's own; PortNumber not in the bundle)" in s3


def test_netstat_without_pid_column_asks_for_netstat_ano():
    # `netstat -an` (no PID column): the tasklist in the bundle cannot help; the check used to
    # ask for the `tasklist /svc` output already there (review finding)
    rows = [sock(3389, None), sock(445, None, line=6),
            proc(1096, "svchost.exe", ["TermService"])]
    out = run("port-conflict", rows)
    assert isinstance(out, NotEvaluated) and out.missing == ["`netstat -ano` output"]
    assert "no PID column" in out.note
    out = run("listener-down", rows)
    assert isinstance(out, NotEvaluated) and "`netstat -ano` output" in out.missing
    assert "no PID column" in out.note


def test_port_conflict_not_evaluated_without_netstat_or_owner():
    assert run("port-conflict", []).missing == ["`netstat -ano` output"]
    out = run("port-conflict", [sock(3389, 888)])
    assert isinstance(out, NotEvaluated) and out.missing == ["`tasklist /svc` output"]


def test_port_conflict_uses_netstat_b_owner_lines():
    out = run("port-conflict", [sock(3389, 77, services=["RemoteAssistPro"], image="[vnc.exe]")])
    assert "vnc.exe" in out[0].summary and "RemoteAssistPro" in out[0].summary


def test_listener_down_fires_on_missing_qwinsta_row_and_quiet_when_listening():
    rows = [winsta("services", "Disc", 0), winsta("console", "Active", 1, "admin")]
    out = run("listener-down", rows)
    assert "qwinsta shows no rdp-tcp listener" in out[0].summary
    ok = rows + [winsta("rdp-tcp", "Listen", 65536, line=4), sock(3389, 1096),
                 proc(1096, "svchost.exe", ["TermService"])]
    assert run("listener-down", ok) == []


def test_listener_down_fires_on_netstat_without_socket_and_on_events():
    out = run("listener-down", [sock(445, 4)])
    assert "nothing listens on TCP 3389" in out[0].summary
    # rows without a header (`| findstr ...`) that share a port or a PID may be a filter
    # that cut 3389 out: not evaluated. Rows sharing neither (`| findstr LISTENING`) are
    # every listener: 3389 missing from them is closed.
    h = {"headerless": True}
    for rows in ([sock(443, 2412, **h)], [sock(443, 2412, **h), sock(443, 900, local_ip="::", **h)],
                 [sock(135, 1172, **h), sock(445, 1172, **h)]):
        assert isinstance(run("listener-down", rows), NotEvaluated), rows
    out = run("listener-down", [sock(135, 1172, **h), sock(445, 4, **h)])
    assert "nothing listens on TCP 3389" in out[0].summary
    # on the port itself, a filtered capture is read as usual
    assert run("listener-down", [sock(3389, 2412, **h),
                                 proc(2412, "svchost.exe", ["TermService"])]) == []
    out = run("listener-down", [sock(3389, 2412, **h), proc(2412, "vnc.exe", ["VNC"])])
    assert "TCP 3389 is held by" in out[0].summary
    out = run("listener-down", [ev(1, "termservice", 1036)],
              inv=inventory(("TS01_EventLogs/System.evtx", "evtx")))
    assert "listener failure" in out[0].summary
    # a later "listener started" clears the event-only evidence
    assert run("listener-down", [ev(1, "rcm", 260), ev(5, "rcm", 258), ev(6, "rcma", 1056)]) == []


def test_termservice_not_running_fires_and_quiet():
    stop = ev(1, "scm", 7036, data={"param1": "Remote Desktop Services", "param2": "stopped"})
    start = ev(2, "scm", 7036, data={"param1": "Remote Desktop Services", "param2": "running"})
    other = ev(3, "scm", 7036, data={"param1": "Remote Desktop Services UserMode Port Redirector",
                                     "param2": "stopped"})
    out = run("termservice-not-running", [stop, other])
    assert len(out) == 1 and "stopped" in out[0].summary
    assert run("termservice-not-running", [stop, start, other]) == []
    out = run("termservice-not-running", [start], cfg(("TermServiceStart", 4)))
    assert "Disabled (Start = 4" in out[0].summary


def _scm_binary(key_state: str) -> str:
    # how Windows logs it (UTF-16LE ``Key/N`` + NUL) and the evtx readers render it (hex)
    return (key_state.encode("utf-16-le") + b"\0\0").hex()


def test_termservice_not_running_reads_the_binary_key_name_on_a_localized_server():
    """A Polish server: display name and state word are localized and on no list; the
    7036's Binary still says ``TermService/1`` (stopped) and ``TermService/4`` (running)."""
    pl = "Usługi pulpitu zdalnego"
    stop = ev(1, "scm", 7036, data={"param1": pl, "param2": "zatrzymany",
                                    "Binary": _scm_binary("TermService/1")})
    start = ev(2, "scm", 7036, data={"param1": pl, "param2": "uruchomiony",
                                     "Binary": _scm_binary("TermService/4")})
    other = ev(3, "scm", 7036, data={"param1": "Usługa Windows Update", "param2": "zatrzymany",
                                     "Binary": _scm_binary("wuauserv/1")})
    out = run("termservice-not-running", [stop, other])
    assert len(out) == 1 and "stopped (1 SCM event(s))" in out[0].summary
    assert run("termservice-not-running", [stop, start, other]) == []
    # without the Binary (2003 .evt, CSV exports) only known display names and state words
    # tell: German 2003 "Terminaldienste … beendet" does, Polish words do not
    bare = ev(1, "scm", 7036, data={"param1": pl, "param2": "zatrzymany"})
    assert run("termservice-not-running", [bare]) == []
    de2003 = ev(1, "scm", 7036, data={"param1": "Terminaldienste", "param2": "beendet"})
    assert len(run("termservice-not-running", [de2003])) == 1


def test_termservice_not_running_from_tasklist():
    core = [proc(4, "System", None, line=2), proc(600, "services.exe", None, line=4)]
    out = run("termservice-not-running", core + [proc(100, "svchost.exe", ["RpcSs"])])
    assert "no process hosting TermService" in out[0].summary
    assert run("termservice-not-running", core + [proc(100, "svchost.exe", ["TermService"])]) == []
    # `tasklist /svc /fi "PID eq 2412"` lists one process: TermService's absence from it
    # says nothing (it raised a false critical)
    assert isinstance(run("termservice-not-running", [proc(2412, "vncsrv.exe", ["RemoteAssistPro"])]),
                      NotEvaluated)


def test_logons_disabled_fires_and_quiet():
    out = run("logons-disabled", [ev(1, "rcm", 1070)])
    assert len(out) == 1 and out[0].severity == "critical"
    assert run("logons-disabled", [ev(1, "rcm", 261), ev(1, "rcma", 1056)]) == []
    # the Operational log alone: 1070/1071 are written to Admin (found by review)
    assert isinstance(run("logons-disabled", [ev(1, "rcm", 261)]), NotEvaluated)
    assert isinstance(run("logons-disabled", []), NotEvaluated)


# ----------------------------------------------------------------------------- sessions

TWO = [winsta("services", "Disc", 0), winsta("console", "Conn", 1),
       winsta("rdp-tcp#3", "Active", 2, "CORP\\alice", line=4),
       winsta("", "Disc", 3, "CORP\\bob", line=5), winsta("rdp-tcp", "Listen", 65536, line=6)]


def test_connection_limit_reached_fires_and_quiet():
    out = run("connection-limit-reached", TWO, cfg(("MaxInstanceCount", 2, "gpresult", "Lim")))
    assert len(out) == 1 and "2 RDP session(s) in use" in out[0].summary
    assert "CORP\\bob #3 disc" in out[0].summary
    assert run("connection-limit-reached", TWO, cfg(("MaxInstanceCount", 5))) == []


def test_connection_limit_reached_counts_sessions_with_unreadable_state_words():
    """A qwinsta in a language the parser has no state words for (state None): the rows
    still hold slots by their shape — an rdp-tcp#N name, or a user and an id below 65536."""
    tr = [winsta("services", None, 0), winsta("console", None, 1),
          winsta("rdp-tcp#3", None, 2, "CORP\\alice", line=4),
          winsta("", None, 3, "CORP\\bob", line=5), winsta("rdp-tcp", None, 65536, line=6)]
    out = run("connection-limit-reached", tr, cfg(("MaxInstanceCount", 2, "gpresult", "Lim")))
    assert len(out) == 1 and "2 RDP session(s) in use" in out[0].summary


def test_connection_limit_reached_from_1013_event():
    out = run("connection-limit-reached", [ev(1, "termservice", 1013)])
    assert "1013" in out[0].summary


def test_admin_sessions_exhausted_fires_and_quiet():
    out = run("admin-sessions-exhausted", TWO, cfg(("TSAppCompat", 0)))
    assert len(out) == 1 and "2 remote sessions" in out[0].summary
    assert run("admin-sessions-exhausted", TWO, cfg(("TSAppCompat", 1))) == []
    assert run("admin-sessions-exhausted", TWO[:3], cfg(("TSAppCompat", 0))) == []


def test_user_not_authorized_reads_localized_member_names_without_sids():
    """gpresult /h of a German server names members without SIDs: Remote Desktop Users is
    "VORDEFINIERT\\Remotedesktopbenutzer", the Guest account "TS01\\Gast" — neither is a
    finding; a Guest account by SID (RID 501) is harmless too, another account is not."""
    allow = row("gpresult", "gpo:user-right", data={
        "right": "SeRemoteInteractiveLogonRight",
        "members": [{"name": "VORDEFINIERT\\Administratoren", "sid": None},
                    {"name": "VORDEFINIERT\\Remotedesktopbenutzer", "sid": None}]})
    deny = row("gpresult", "gpo:user-right", line=2, data={
        "right": "SeDenyRemoteInteractiveLogonRight",
        "members": [{"name": "TS01\\Gast", "sid": None},
                    {"name": "CORP\\Guest", "sid": "S-1-5-21-11-22-33-501"}]})
    assert run("user-not-authorized", [allow, deny]) == []
    admins_only = row("gpresult", "gpo:user-right", data={
        "right": "SeRemoteInteractiveLogonRight",
        "members": [{"name": "VORDEFINIERT\\Administratoren", "sid": None}]})
    out = run("user-not-authorized", [admins_only])
    assert "Remote Desktop Users are left out" in out[0].summary
    # the group lacks the right: fixing the policy comes before adding users to the group
    first, second = out[0].remedy.splitlines()[:2]
    assert "Allow log on through Remote" in first and "Remote Desktop Users" in second
    other = row("gpresult", "gpo:user-right", line=3, data={
        "right": "SeDenyRemoteInteractiveLogonRight",
        "members": [{"name": "CORP\\Host", "sid": "S-1-5-21-11-22-33-1501"}]})
    assert "CORP\\Host" in run("user-not-authorized", [allow, other])[0].summary


def test_user_not_authorized_from_4825_and_15b():
    out = run("user-not-authorized", [ev(1, "sec", 4825, user="CORP\\carol", ip="10.1.1.1")])
    assert "4825" in out[0].summary and "CORP\\carol" in out[0].summary
    out = run("user-not-authorized", [ev(1, "sec", 4625, user="CORP\\dave",
                                         data={"Status": "0xC000015B", "LogonType": "10"})])
    assert "0xC000015B" in out[0].summary
    wrong_pw = ev(1, "sec", 4625, data={"Status": "0xC000006D", "SubStatus": "0xC000006A"})
    assert run("user-not-authorized", [wrong_pw]) == []


def test_user_not_authorized_reads_the_status_from_a_localized_export_message():
    """A French Event Viewer export: the parser knows no label of its message, so the data
    holds no Status — the rendered message still carries 0xC000015B. A message that merely
    mentions the code while the fields say otherwise does not count."""
    fr = ev(1, "sec", 4625, user="CORP\\erin", kind="evtcsv", data={"LogonType": "10"},
            message="Échec d'ouverture de session d'un compte. … Code d'état : 0xC000015B …")
    out = run("user-not-authorized", [fr])
    assert len(out) == 1 and "0xC000015B" in out[0].summary and "CORP\\erin" in out[0].summary
    read = ev(1, "sec", 4625, data={"Status": "0xC000006D", "SubStatus": "0xC000006A"},
              message="see KB about 0xC000015B")
    assert run("user-not-authorized", [read]) == []


def test_user_not_authorized_2003_534_and_user_rights():
    assert "534" in run("user-not-authorized", [ev(1, "sec2003", 534, kind="evt")])[0].summary
    allow = row("gpresult", "gpo:user-right", data={
        "right": "SeRemoteInteractiveLogonRight", "gpo": "Hardening",
        "members": [{"name": "BUILTIN\\Administrators", "sid": "S-1-5-32-544"}]})
    out = run("user-not-authorized", [allow])
    assert "Remote Desktop Users are left out" in out[0].summary and "Hardening" in out[0].summary
    fine = row("gpresult", "gpo:user-right", data={
        "right": "SeRemoteInteractiveLogonRight",
        "members": [{"name": "BUILTIN\\Administrators", "sid": "S-1-5-32-544"},
                    {"name": "BUILTIN\\Remote Desktop Users", "sid": "S-1-5-32-555"}]})
    guests = row("gpresult", "gpo:user-right", line=2, data={
        "right": "SeDenyRemoteInteractiveLogonRight",
        "members": [{"name": "BUILTIN\\Guests", "sid": "S-1-5-32-546"}]})
    assert run("user-not-authorized", [fine, guests]) == []
    deny = row("gpresult", "gpo:user-right", line=3, data={
        "right": "SeDenyRemoteInteractiveLogonRight",
        "members": [{"name": "CORP\\Contractors", "sid": "S-1-5-21-1-2-3-1105"}]})
    assert "CORP\\Contractors" in run("user-not-authorized", [fine, deny])[0].summary


def test_host_sleeps_fires_and_quiet():
    rows = [ev(0, "kp", 42), ev(5, "sec", 4625, data={"LogonType": "3"}), ev(30, "pt", 1)]
    out = run("host-sleeps", rows)
    assert len(out) == 1 and "slept 1 time(s)" in out[0].summary
    assert "1 RDP failure event(s)" in out[0].summary
    assert run("host-sleeps", [ev(0, "scm", 7036, data={"param1": "x", "param2": "running"})]) == []
    assert isinstance(run("host-sleeps", []), NotEvaluated)


def test_sessions_not_disconnecting_from_qwinsta_and_keepalive():
    rows = [winsta("rdp-tcp#1", "Active", 2, "CORP\\alice"),
            winsta("rdp-tcp#4", "Active", 5, "CORP\\alice", line=3)]
    gp = row("gpresult", "gpo:gpo", data={"scope": "computer", "name": "C", "applied": True})
    out = run("sessions-not-disconnecting", rows + [gp])
    assert len(out) == 1 and "keep-alive is not configured" in out[0].summary
    # no Group Policy report: only the local side is known (found by review)
    out = run("sessions-not-disconnecting", rows)
    assert "no Group Policy report to show whether a policy enables it" in out[0].summary
    assert run("sessions-not-disconnecting", rows, cfg(("KeepAliveEnable", 1, "gpresult"))) == []
    single = [winsta("rdp-tcp#1", "Active", 2, "CORP\\alice")]
    assert run("sessions-not-disconnecting", single) == []


def test_sessions_not_disconnecting_from_lsm():
    rows = [ev(0, "lsm", 21, user="CORP\\alice", session_id=2),
            ev(60, "lsm", 21, user="CORP\\alice", session_id=3)]
    out = run("sessions-not-disconnecting", rows)
    assert "1 logon(s) to a new session" in out[0].summary
    clean = [ev(0, "lsm", 21, user="CORP\\alice", session_id=2),
             ev(30, "lsm", 24, user="CORP\\alice", session_id=2),
             ev(60, "lsm", 21, user="CORP\\alice", session_id=3)]
    assert run("sessions-not-disconnecting", clean) == []


# ----------------------------------------------------------------------------- certificates

def test_certificate_corruption_fires_on_cluster_and_uses_2003_key():
    x224 = {"param1": "\\Device\\Termdd", "param2": "X.224"}
    rows = [ev(0, "termdd", 50, kind="evt", data=x224), ev(2, "termservice", 1004, kind="evt"),
            ev(240, "termdd", 50, kind="evt", data=x224)]
    out = run("certificate-corruption", rows)
    assert len(out) == 1 and "X.224" in out[0].summary and "2 TermDD 50" in out[0].summary
    assert "TermService\\Parameters" in out[0].remedy        # .evt only ⇒ Windows 2003
    assert "1004" in out[0].summary


def test_certificate_corruption_quiet_when_apart_or_alone():
    far = [ev(0, "termdd", 50), ev(60 * 24 * 5, "termservice", 1010)]
    assert run("certificate-corruption", far) == []
    assert run("certificate-corruption", [ev(0, "termdd", 50)]) == []
    # one TermDD 50 (a scanner's probe) beside daily grace-expired events is licensing
    # alone: it made "certificate corrupted" the root cause, hiding the licensing fix
    grace = [ev(60 * 24 * d, "termservice", 1008) for d in range(5)]
    assert run("certificate-corruption", grace + [ev(60 * 24 * 2 + 30, "termdd", 50)]) == []
    assert len(run("certificate-corruption", grace + [ev(60 * 24 * 2 + 30, "termdd", 50)],
                   certificate_min_termdd50=1)) == 1


def test_certificate_corruption_2008_key():
    rows = [ev(0, "termdd", 50), ev(1, "termservice", 1008), ev(2, "rcm", 261), ev(3, "termdd", 50)]
    out = run("certificate-corruption", rows)
    assert "Terminal Server\\RCM" in out[0].remedy


def test_tls_certificate_problem_fires_and_quiet():
    out = run("tls-certificate-problem", [ev(0, "schannel", 36870), ev(1, "rcm", 1057)])
    assert len(out) == 1 and "Schannel 36870" in out[0].summary
    # cert created: fine — when the System log (Schannel's) and both RCM logs (where 2012+
    # writes 1051-1059; the version is unknown here) are there to show no key error
    assert run("tls-certificate-problem", [ev(0, "rcm", 1056), ev(0, "rcma", 1070),
                                           ev(1, "eventlog", 6005)]) == []
    # the RCM log alone cannot show that Schannel reads the key (found by review)
    ne = run("tls-certificate-problem", [ev(0, "rcm", 1056)])
    # (and, the version unknown, the RCM Admin log where 2012+ writes 1051-1059)
    assert isinstance(ne, NotEvaluated) and ne.missing == [
        "System event log (.evtx/.evt)", "TerminalServices-RemoteConnectionManager Admin log (.evtx)"]
    assert out[0].severity == "error"
    # about to expire (RCM 1052) alone: it still works — a warning, not the root cause
    soon = run("tls-certificate-problem", [ev(0, "rcm", 1052)])
    assert soon[0].severity == "warning" and "still works" in soon[0].summary


def test_licensing_grace_expired_fires_on_1008_1088_1128():
    for rows in ([ev(0, "termservice", 1008)], [ev(0, "termservice", 1088)], [ev(0, "rcm", 1128)]):
        assert [f.id for f in run("licensing-grace-expired", rows)] == ["licensing-grace-expired"]
    # (quiet where System holds the licensing events: 2008 R2)
    r2 = sysinfo("Microsoft Windows Server 2008 R2 Enterprise", "6.1.7601 Service Pack 1 Build 7601")
    assert run("licensing-grace-expired", [ev(0, "termservice", 1010), r2]) == []


def test_rcm_events_under_the_legacy_termservice_source_count():
    # 2008/2008 R2 write RCM's events to System under the source name TermService, which is
    # what Get-EventLog / CSV exports show (KNOWLEDGE E12): a grace-expired 1128 and 1069
    # exported that way passed (review finding)
    from analyzer.knowledge import event_type_for
    rcm = "Microsoft-Windows-TerminalServices-RemoteConnectionManager"
    for eid in (1128, 1069, 1130, 1131, 1070, 1071, 1028):
        assert event_type_for("TermService", eid) == event_type_for(rcm, eid) != "event:termservice"
    assert event_type_for("TermService", 1008) == "sys:termservice:grace-expired"
    out = run("licensing-grace-expired", [ev(0, "termservice", 1128)])
    assert [f.id for f in out] == ["licensing-grace-expired"]
    assert [f.id for f in run("logons-disabled", [ev(0, "termservice", 1070)])] == ["logons-disabled"]


def test_license_server_unreachable_fires_and_quiet():
    assert len(run("license-server-unreachable", [ev(0, "rcm", 1131)])) == 1
    assert len(run("license-server-unreachable", [ev(0, "termservice", 1010)])) == 1
    r2 = sysinfo("Microsoft Windows Server 2008 R2 Enterprise", "6.1.7601 Service Pack 1 Build 7601")
    assert run("license-server-unreachable", [ev(0, "termservice", 1008), r2]) == []


def test_license_issue_failed_fires_and_quiet():
    assert len(run("license-issue-failed", [ev(0, "termservice", 1004)])) == 1
    assert len(run("license-issue-failed", [ev(0, "rcm", 1028)])) == 1
    assert run("license-issue-failed", [ev(0, "rcm", 1131), ev(1, "rcma", 1056)]) == []
    assert isinstance(run("license-issue-failed", []), NotEvaluated)


# ----------------------------------------------------------------------------- attacks

def _fails(n, logon_type, ip="203.0.113.9", step=0.2, start=0):
    return [ev(start + i * step, "sec", 4625, ip=ip, user=f"user{i}",
               data={"LogonType": logon_type, "Status": "0xC000006D"}) for i in range(n)]


def test_rdp_brute_force_type10_fires():
    out = run("rdp-brute-force", _fails(15, "10"))
    assert len(out) == 1 and "203.0.113.9" in out[0].summary and "type-10" in out[0].summary


def test_rdp_brute_force_type3_needs_rdp_evidence():
    # SMB-style guessing: type-3 failures are not an RDP attack when the RDS logs show no
    # RDP traffic at that time ...
    quiet_rds = [ev(-600, "rcm", 258), ev(-600, "rcma", 1056),
                 ev(-600, "core", 131, ip="192.0.2.50")]
    assert run("rdp-brute-force", _fails(40, "3") + quiet_rds) == []
    # ... but without those logs nothing tells NLA failures (type 3 too) from SMB ones: the
    # check used to pass (found by review)
    ne = run("rdp-brute-force", _fails(40, "3"))
    assert isinstance(ne, NotEvaluated) and len(ne.missing) == 2
    assert "40 from 203.0.113.9" in ne.note
    with_rdp = _fails(40, "3") + [ev(1, "core", 131, ip="203.0.113.9",
                                    data={"ClientIP": "[203.0.113.9]:5000"})]
    out = run("rdp-brute-force", with_rdp)
    assert "with RDP evidence" in out[0].summary


def test_rdp_brute_force_type3_address_evidence_must_be_beside_the_burst():
    # a user's PC with a stale mapped-drive password: SMB type-3 failures 12 hours after her
    # last RDP session from the same address are not RDP guessing (found by review: any
    # RDP row from the address, however old, used to attribute the burst)
    rdp_then = [ev(-720, "sec", 4624, ip="203.0.113.9", user="alice",
                   data={"LogonType": "10"}),
                ev(-720, "rcm", 261), ev(-600, "rcma", 1056),
                ev(-720, "core", 131, ip="203.0.113.9")]
    assert run("rdp-brute-force", _fails(12, "3") + rdp_then) == []
    # ... also when one stale failure fell inside her RDP session: the burst's own window
    # counts, not the span of all the address's failures (found by review)
    assert run("rdp-brute-force", _fails(12, "3") + _fails(1, "3", start=-719) + rdp_then) == []
    # the same address connecting over RDP during the burst still attributes it
    rdp_now = rdp_then + [ev(1, "core", 131, ip="203.0.113.9")]
    out = run("rdp-brute-force", _fails(12, "3") + rdp_now)
    assert len(out) == 1 and "type-3 (NLA) failures with RDP evidence" in out[0].summary


def test_rdp_brute_force_131_burst_and_140():
    conns = [ev(i * 0.01, "core", 131, ip="198.51.100.4") for i in range(40)]
    assert "RdpCoreTS 131" in run("rdp-brute-force", conns)[0].summary
    fails = [ev(i * 0.1, "core", 140, ip="198.51.100.5") for i in range(12)]
    assert "RdpCoreTS 140" in run("rdp-brute-force", fails)[0].summary
    assert run("rdp-brute-force", conns[:5]) == []


def test_rdp_brute_force_threshold_is_tunable():
    assert run("rdp-brute-force", _fails(8, "10")) == []
    assert len(run("rdp-brute-force", _fails(8, "10"), brute_force_min_failures=5)) == 1


def test_protocol_error_burst_fires_and_quiet():
    burst = [ev(i * 0.5, "termdd", 56, ip="192.0.2.7",
                data={"param1": "\\Device\\Termdd", "param2": "192.0.2.7",
                      "Binary": "00000000020030000000000038000AC0"}) for i in range(12)]
    out = run("protocol-error-burst", burst)
    assert len(out) == 1 and "192.0.2.7" in out[0].summary and "0xC00A0038" in out[0].summary
    sparse = [ev(i * 30, "termdd", 56, ip="192.0.2.7") for i in range(12)]   # every 30 min
    assert run("protocol-error-burst", sparse) == []
    # a source that left ``ip`` empty: the client is read from param2 (only for those rows)
    mixed = [ev(i * 0.5, "termdd", 56, data={"param1": "\\Device\\Termdd",
                                             "param2": "198.51.100.4"}) for i in range(6)] \
        + [ev(3 + i * 0.5, "termdd", 56, ip="198.51.100.4") for i in range(6)] \
        + [ev(i, "termdd", 50, data={"param2": "X.224"}) for i in range(3)]
    out = run("protocol-error-burst", mixed)
    assert len(out) == 1 and "12 TermDD 56 errors from 198.51.100.4" in out[0].summary
    # a localized export whose message labels the parser does not know: neither ip nor
    # param2, the address is read from the rendered message
    fr = [ev(i * 0.5, "termdd", 56, kind="evtcsv",
             message=f"Le client 203.0.113.{9 if i < 10 else 10} a provoqué une erreur de "
                     "protocole (0xC00A0038)") for i in range(12)]
    out = run("protocol-error-burst", fr)
    assert len(out) == 1 and "10 TermDD 56 errors from 203.0.113.9" in out[0].summary


def test_port_conflict_does_not_trust_netstat_b_for_shared_svchost():
    # netstat -b names one service of a shared svchost (real capture: CryptSvc on the RDP
    # listener's PID); only tasklist /svc lists them all
    rows = [sock(3389, 1668, services=["CryptSvc"], image="[svchost.exe]")]
    out = run("port-conflict", rows)
    assert isinstance(out, NotEvaluated) and out.missing == ["`tasklist /svc` output"]
    full = rows + [proc(1668, "svchost.exe", ["CryptSvc", "Dnscache", "TermService"])]
    assert run("port-conflict", full) == []
    assert run("listener-down", full) == []


def test_admin_sessions_and_policy_overrides_need_real_configuration():
    # analyzer.config always adds documented defaults; they are not evidence of the role
    defaults = cfg(("MaxInstanceCount", 0xFFFFFFFF, "default"), ("fEnableWinStation", 1, "default"))
    out = run("admin-sessions-exhausted", TWO, defaults)
    assert isinstance(out, NotEvaluated)
    out = run("policy-overrides-local", [], defaults)
    assert isinstance(out, NotEvaluated) and len(out.missing) == 2


def test_nla_required_not_asked_on_windows_server_2003():
    """2003 has no NLA: the check passes instead of asking for gpresult /x (2003 has none)."""
    from analyzer.sample import write_bundle
    import analyzer
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        r = analyzer.analyze(write_bundle("healthy-2003", Path(d) / "b.zip", seed=0, fmt="zip"))
    chk = r.checks[r.checks["id"] == "nla-required"]
    assert len(chk) and set(chk["status"]) == {"pass"}


def test_snp_not_asked_on_2008_and_later():
    """SNP only matters on 2003: a 2022 bundle without Tcpip\\Parameters passes the check."""
    from analyzer.sample import write_bundle
    import analyzer
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        r = analyzer.analyze(write_bundle("port-conflict", Path(d) / "b.zip", seed=0, fmt="zip"))
    chk = r.checks[r.checks["id"] == "snp-features-enabled"]
    assert len(chk) and set(chk["status"]) == {"pass"}
    assert set(chk["note"]) == {"not applicable: a Windows Server 2003 SP2 problem; this "
                                "host runs 2008 or later"}
    from analyzer.report import render
    md, term = render(r, "markdown"), render(r, "terminal")
    assert "not applicable: a Windows Server 2003 SP2 problem" in term
    assert "| ✔ PASS | see the note below |" in md
    assert "- TCP Chimney / RSS / NetDMA off (2003 SP2) (TS22PORT): not applicable: a " in md


# ----------------------------------------------------------------------------- the log's past vs the present
# (found by review: an old event outranked a later system start or a healthy capture)

BOOT = 6005


def test_termservice_stop_before_a_boot_or_beside_a_running_service_is_not_a_finding():
    stop = ev(10, "scm", 7036, data={"param1": "Remote Desktop Services", "param2": "stopped"})
    start = ev(1, "scm", 7036, data={"param1": "Remote Desktop Services", "param2": "running"})
    assert len(run("termservice-not-running", [start, stop])) == 1
    assert run("termservice-not-running", [start, stop, ev(20, "eventlog", BOOT)]) == []
    core = [proc(4, "System", None, line=2), proc(600, "services.exe", None, line=4)]
    assert run("termservice-not-running",
               [start, stop] + core + [proc(1184, "svchost.exe", ["TermService"])]) == []
    # a boot before the stop does not clear it
    assert len(run("termservice-not-running", [ev(0, "eventlog", BOOT), start, stop])) == 1


def test_listener_failure_events_are_superseded_by_a_boot_or_a_live_listener():
    fail = ev(0, "termservice", 1036)
    assert len(run("listener-down", [fail])) == 1
    assert run("listener-down", [fail, ev(60, "eventlog", BOOT)]) == []
    live = [winsta("rdp-tcp", "Listen", 65536, line=4), sock(3389, 1184),
            proc(1184, "svchost.exe", ["TermService"])]
    assert run("listener-down", [fail] + live) == []
    # failing again after the boot: still down
    assert len(run("listener-down", [ev(60, "eventlog", BOOT), ev(61, "termservice", 1036)])) == 1


def test_connection_limit_event_before_a_boot_is_history():
    assert len(run("connection-limit-reached", [ev(0, "termservice", 1013)])) == 1
    assert run("connection-limit-reached",
               [ev(0, "termservice", 1013), ev(60, "eventlog", BOOT)]) == []


def test_stale_sessions_reset_at_boot_and_console_logons_are_not_rdp():
    before = [ev(0, "lsm", 21, user="CORP\\alice", session_id=3,
                 data={"User": "CORP\\alice", "SessionID": 3, "Address": "10.0.0.9"})]
    again = ev(120, "lsm", 21, user="CORP\\alice", session_id=2,
               data={"User": "CORP\\alice", "SessionID": 2, "Address": "10.0.0.9"})
    assert len(run("sessions-not-disconnecting", before + [again])) == 1
    assert run("sessions-not-disconnecting", before + [ev(60, "eventlog", BOOT), again]) == []
    console = [ev(0, "lsm", 21, user="CORP\\alice", session_id=1,
                  data={"User": "CORP\\alice", "SessionID": 1, "Address": "LOCAL"})]
    assert run("sessions-not-disconnecting", console + [again]) == []


def test_groups_holding_remote_desktop_users_grant_the_right_and_baseline_deny_is_info():
    for member in ({"name": "NT AUTHORITY\\Authenticated Users", "sid": "S-1-5-11"},
                   {"name": "Everyone", "sid": None}, {"name": "BUILTIN\\Users", "sid": None}):
        allow = row("gpresult", "gpo:user-right", data={
            "right": "SeRemoteInteractiveLogonRight",
            "members": [{"name": "BUILTIN\\Administrators", "sid": "S-1-5-32-544"}, member]})
        assert run("user-not-authorized", [allow]) == [], member
    deny = row("gpresult", "gpo:user-right", line=2, data={
        "right": "SeDenyRemoteInteractiveLogonRight",
        "members": [{"name": "BUILTIN\\Guests", "sid": "S-1-5-32-546"},
                    {"name": "NT AUTHORITY\\Local account", "sid": "S-1-5-113"}]})
    out = run("user-not-authorized", [deny])
    assert out[0].severity == "info" and "local accounts only" in out[0].summary
    # with a failed RDP logon beside it, the error stands
    out = run("user-not-authorized", [deny, ev(1, "sec", 4825, user="CORP\\carol")])
    assert out[0].severity == "error"


def test_snp_values_absent_on_2003_sp2_without_kb948496_mean_enabled():
    tcpip = row("reg", "reg:value", data={"key": "HKLM\\SYSTEM\\CurrentControlSet\\Services\\"
                                               "Tcpip\\Parameters", "name": "Hostname",
                                        "value": "TS2003"})

    def si(fixes, count=None):
        return row("systeminfo", "sysinfo:host", data={
            "os_name": "Microsoft(R) Windows(R) Server 2003, Standard Edition",
            "os_version": "5.2.3790", "service_pack": 2, "hotfixes": fixes,
            "hotfix_count": count})
    out = run("snp-features-enabled", [tcpip, si(["KB2570222"])])
    assert len(out) == 1 and "without KB948496" in out[0].summary
    assert run("snp-features-enabled", [tcpip, si(["KB948496", "KB2570222"])]) == []
    assert isinstance(run("snp-features-enabled", [tcpip, si([])]), NotEvaluated)
    # "0 Hotfix(s) Installed.": KB948496 is known absent — it asked for the systeminfo it
    # had (found by review)
    out = run("snp-features-enabled", [tcpip, si([], 0)])
    assert len(out) == 1 and "without KB948496 (0 hotfixes listed)" in out[0].summary


def test_listener_down_not_read_from_one_capture_while_another_shows_the_port_open():
    """Two netstat captures of one host carry no time: the one taken as "latest" went by
    file name, and a capture without 3389 made "nothing listens" critical while the other
    showed 3389 LISTENING (found by review on two corpus files)."""
    def at(src, r):
        return {**r, "source": f"TS01_Networking/{src}"}
    a = at("a_netstat.txt", sock(135, 900))
    b, b2 = at("b_netstat.txt", sock(3389, 1668)), at("b_netstat.txt", sock(445, 4, line=6))
    z = at("z_netstat.txt", sock(135, 900))
    ts = proc(1668, "svchost.exe", ["TermService"])
    for rows in ([a, b, b2], [b, b2, z]):          # whichever name sorts last
        assert run("listener-down", rows + [ts]) == [], [r["source"] for r in rows]
        # 3389 open, by a PID no process list names: TermService, or a squatter? This
        # passed ("listener up") with no tasklist at all (found by review)
        ne = run("listener-down", rows)
        assert isinstance(ne, NotEvaluated) and "listened on by PID 1668" in ne.note, rows
    out = run("listener-down", [a, z])
    assert "nothing listens on TCP 3389" in out[0].summary


def test_a_filtered_qwinsta_is_no_proof_the_listener_is_gone():
    """`qwinsta | findstr console` (no header, no rdp-tcp row) beside a netstat showing
    TermService on 3389 was a critical listener-down root cause (found by review)."""
    cut = winsta("console", "Active", 1, "Administrator")
    cut["data"] = '{"session_name": "console", "state": "Active", "headerless": true}'
    up = [sock(3389, 1096), proc(1096, "svchost.exe", ["TermService"]),
          proc(4, "System", None), proc(600, "services.exe", None)]
    assert run("listener-down", [cut] + up) == []
    ne = run("listener-down", [cut])
    assert isinstance(ne, NotEvaluated) and "no header line" in ne.note
    # a whole qwinsta without rdp-tcp, while netstat shows TermService on the port: netstat
    # wins (the captures may be minutes apart; the port's owner is the stronger evidence)
    whole = winsta("console", "Active", 1, "Administrator")
    assert run("listener-down", [whole] + up) == []
    assert "qwinsta shows no rdp-tcp listener" in run("listener-down", [whole])[0].summary
    # ... and a 3389 held by something else keeps both reasons
    out = run("listener-down", [whole, sock(3389, 2412), proc(2412, "vnc.exe", ["VNC"])])
    assert out[0].summary.startswith("RDP listener down: qwinsta shows no rdp-tcp listener; "
                                     "TCP 3389 is held by PID 2412")


def test_port_conflict_not_read_from_a_capture_filtered_on_another_port():
    """`netstat -ano | findstr :135` has no 3389 row because of the filter: port-conflict
    passed on it (found by review)."""
    h = {"headerless": True}
    ne = run("port-conflict", [sock(135, 1172, **h), sock(135, 1172, local_ip="::", **h)])
    assert isinstance(ne, NotEvaluated) and "filtered (findstr)" in ne.note
    assert run("port-conflict", [sock(135, 1172), sock(445, 4)]) == []     # whole capture


def test_quser_output_is_no_proof_the_listener_is_gone():
    """`quser` lists user sessions only, never the rdp-tcp listener: a bundle whose session
    capture was quser got a critical "qwinsta shows no rdp-tcp listener" (found by review)."""
    rows = [row("qwinsta", "session:winstation", line=2, user="administrator", session_id=2,
                data={"session_name": "rdp-tcp#0", "state": "Active", "command": "quser"})]
    ne = run("listener-down", rows)
    assert isinstance(ne, NotEvaluated) and ne.missing[0] == "`qwinsta` output"
    assert run("listener-down", rows + [winsta("console", "Active", 1, "admin")])[0].summary \
        .startswith("RDP listener down: qwinsta shows no rdp-tcp listener")


def test_a_capture_without_listening_sockets_is_no_proof_the_port_is_closed():
    """Plain `netstat` / `netstat -n` (no -a) prints connections only: on a real Windows 10
    capture of 32 ESTABLISHED rows, listener-down was a critical root cause ("nothing
    listens on TCP 3389") and port-conflict passed (found by review on the corpus)."""
    conns = [sock(50000 + i, 4000 + i, state="ESTABLISHED", listening=False,
                  remote="52.1.2.3:443") for i in range(3)]
    for det in ("listener-down", "port-conflict"):
        ne = run(det, conns)
        assert isinstance(ne, NotEvaluated), det
        assert ne.missing == ["`netstat -ano` output"] and "taken without -a" in ne.note, det
    # one listening socket elsewhere and the port is readable again
    assert "nothing listens on TCP 3389" in run("listener-down", conns + [sock(445, 4)])[0].summary
    assert run("port-conflict", conns + [sock(445, 4)]) == []


def test_a_b_labelled_svchost_on_the_port_asks_for_the_process_list_not_another_capture():
    """`netstat -naob` shows 3389 in a shared svchost that -b labels with one service: the
    note said "one netstat capture shows ..., the latest none on it" for the only capture
    there was, and did not ask for `tasklist /svc` (found by review on the corpus)."""
    ne = run("listener-down", [sock(3389, 1668, image="[svchost.exe]", services=["CryptSvc"])])
    assert isinstance(ne, NotEvaluated) and "`tasklist /svc` output" in ne.missing
    assert ne.note.startswith("TCP 3389 is listened on by PID 1668 (svchost.exe, service "
                              "CryptSvc); `tasklist /svc` tells") and "latest" not in ne.note


def test_termservice_start_type_alone_does_not_show_it_running():
    """Start = 3 (Manual) with no System log or process list passed the check (found by
    review): only Disabled can be read from the start type alone."""
    manual = cfg(("TermServiceStart", 3))
    ne = run("termservice-not-running", [], manual)
    assert isinstance(ne, NotEvaluated) and "Start = 3" in ne.note
    out = run("termservice-not-running", [], cfg(("TermServiceStart", 4)))
    assert "Disabled" in out[0].summary


def test_checks_do_not_pass_without_the_logs_they_read():
    """A Security log alone made listener-down PASS ("listener is up") and the verdict OK;
    the RCM log alone passed certificate-corruption (TermDD 50 and licensing are System's)
    and, on 2008+, tls-requires-high-encryption with no registry at all (found by review)."""
    security_only = [ev(0, "sec", 4625, user="CORP\\bob")]
    assert isinstance(run("listener-down", security_only), NotEvaluated)
    rcm_only = [ev(0, "rcm", 261)]
    assert isinstance(run("certificate-corruption", rcm_only), NotEvaluated)
    assert isinstance(run("tls-requires-high-encryption", rcm_only), NotEvaluated)
    # with the System log they are evaluated
    assert run("certificate-corruption", [ev(0, "termservice", 1004)]) == []


def test_listener_down_names_a_listener_bound_to_one_adapter():
    """The listener-down sample's own cause, LanAdapter = 2 (bound to a replaced NIC), was
    in the bundle but in neither the finding nor the fix (found by review)."""
    out = run("listener-down", [sock(445, 4)], cfg(("LanAdapter", 2)))
    assert "bound to network adapter 2" in out[0].summary
    assert "/v LanAdapter /t REG_DWORD /d 0" in out[0].remedy.splitlines()[0]
    out = run("listener-down", [sock(445, 4)], cfg(("LanAdapter", 0)))
    assert "adapter" not in out[0].summary and "LanAdapter" not in out[0].remedy
    assert run("listener-down", [sock(3389, 1184), proc(1184, "svchost.exe", ["TermService"])],
               cfg(("LanAdapter", 2))) == []


def test_localized_well_known_accounts_in_logon_rights():
    """gpresult /h and /z name members without SIDs in the report's language: a German
    report granting "Authentifizierte Benutzer" gave a false error, and a French "Tout le
    monde" too; a German baseline deny of "Lokales Konto" was an error, not info."""
    for name in ("NT-AUTORITÄT\\Authentifizierte Benutzer", "Tout le monde",
                 "VORDEFINIERT\\Benutzer", "Iedereen"):
        allow = row("gpresult", "gpo:user-right", data={
            "right": "SeRemoteInteractiveLogonRight",
            "members": [{"name": "VORDEFINIERT\\Administratoren", "sid": None},
                        {"name": name, "sid": None}]})
        assert run("user-not-authorized", [allow]) == [], name
    deny = row("gpresult", "gpo:user-right", data={
        "right": "SeDenyRemoteInteractiveLogonRight",
        "members": [{"name": "NT-AUTORITÄT\\Lokales Konto", "sid": None}]})
    assert run("user-not-authorized", [deny])[0].severity == "info"


def test_a_sleep_ends_at_a_wake_a_boot_or_the_next_sleep():
    """Each sleep was paired with the first later wake: a sleep ended by a reboot ran until
    a wake hours later and swallowed RDP failures in between (found by review)."""
    rows = [ev(0, "kp", 42), ev(30, "eventlog", BOOT),
            *[ev(60 + i, "sec", 4625, data={"LogonType": 10}) for i in range(3)],
            ev(240, "kp", 42), ev(300, "pt", 1)]
    out = run("host-sleeps", rows)
    assert len(out) == 1
    assert out[0].details == {"intervals": 2, "failures_inside": 0}
    assert out[0].summary.count(" UTC") == 4          # every time with its zone
    # Kernel-General 12 ("the operating system started") is a boot too
    rows[1] = ev(30, "kg", 12)
    assert run("host-sleeps", rows)[0].details["failures_inside"] == 0
    rows[1] = ev(30, "pt", 1)                     # a logged wake: the same interval
    assert run("host-sleeps", rows)[0].details["failures_inside"] == 0
    del rows[1]                                   # nothing ends the first sleep until 300
    assert run("host-sleeps", rows)[0].details["failures_inside"] == 3


def test_systeminfo_boot_time_supersedes_older_listener_failures():
    """A listener failure in the RCM log, then a System Boot Time (systeminfo, local time)
    a week later: a boot the System log did not show. It gave a false critical
    listener-down (found by review)."""
    fail = ev(0, "rcm", 260)
    assert len(run("listener-down", [fail])) == 1

    def si(boot, tz="(UTC-05:00) Eastern Time (US & Canada)", locale="en-us;English (United States)"):
        return row("systeminfo", "sysinfo:host", data={
            "os_name": "Microsoft Windows Server 2019 Standard", "os_version": "10.0.17763",
            "boot_time": boot, "time_zone": tz, "system_locale": locale})
    assert run("listener-down", [fail, si("3/12/2024, 9:00:00 AM")]) == []
    # a boot before the failure does not supersede it; a boot time without a zone is unknown
    assert len(run("listener-down", [fail, si("3/1/2024, 9:00:00 AM")])) == 1
    assert len(run("listener-down", [fail, si("3/12/2024, 9:00:00 AM", tz=None)])) == 1
    # day first outside en-us: 12.03. is 12 March, after the failure (5 March)
    assert run("listener-down", [fail, si("12.03.2024, 09:00:00",
                                          "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
                                          "de;Deutsch (Deutschland)")]) == []
    assert len(run("listener-down", [fail, si("04.03.2024, 09:00:00",
                                              "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
                                              "de;Deutsch (Deutschland)")])) == 1


def test_not_evaluated_does_not_ask_for_what_the_bundle_holds():
    """With a gpresult in the bundle that sets no RDP policy, rdp-disabled asked for
    "`gpresult /x` (or `/h`) report" again (found by review)."""
    from analyzer.detectors import INPUTS
    gp = row("gpresult", "gpo:gpo", data={"scope": "computer", "name": "Default Domain Policy",
                                           "applied": True})
    out = run("rdp-disabled", [gp])
    assert isinstance(out, NotEvaluated) and out.missing == [INPUTS["reg"]]
    out = run("rdp-disabled", [])
    assert isinstance(out, NotEvaluated) and INPUTS["gpresult"] in out.missing


def test_a_user_only_gpresult_cannot_pass_logon_rights():
    """A gpresult of user settings only holds no user rights: user-not-authorized passed
    (found by review)."""
    user_only = row("gpresult", "gpo:policy", data={"scope": "user", "name": "Remove Run menu",
                                                    "state": "Enabled", "gpo": "U"})
    assert isinstance(run("user-not-authorized", [user_only]), NotEvaluated)
    computer = row("gpresult", "gpo:gpo", data={"scope": "computer", "name": "C", "applied": True})
    # a computer-scope report that sets neither RDP logon right: local policy decides them,
    # which the bundle does not show (found by review)
    ne = run("user-not-authorized", [user_only, computer])
    assert isinstance(ne, NotEvaluated) and "sets neither RDP logon right" in ne.note
    right = row("gpresult", "gpo:user-right", data={
        "scope": "computer", "right": "SeRemoteInteractiveLogonRight",
        "members": [{"name": "BUILTIN\\Administrators", "sid": "S-1-5-32-544"},
                    {"name": "BUILTIN\\Remote Desktop Users", "sid": "S-1-5-32-555"}]})
    assert run("user-not-authorized", [user_only, computer, right]) == []


def test_a_domain_account_named_like_a_well_known_group_is_not_that_group():
    """"WIN-ARN1\\Benutzer" (a local user) and "CONTOSO\\Alla" were taken for Users and
    Everyone once the names were localized: a grant to them only hid the error (found by
    review)."""
    for name in ("WIN-ARN1DBGV2D1\\Benutzer", "CONTOSO\\Alla", "CONTOSO\\Todos",
                 "CONTOSO\\Remote Desktop Users"):
        allow = row("gpresult", "gpo:user-right", data={
            "right": "SeRemoteInteractiveLogonRight",
            "members": [{"name": "BUILTIN\\Administrators", "sid": None},
                        {"name": name, "sid": None}]})
        assert len(run("user-not-authorized", [allow])) == 1, name


def test_admin_mode_is_not_inferred_without_the_terminal_server_key():
    """A session host's bundle without its registry export (a gpresult silent on licensing
    beside it): "no licensing configuration" was read as administration mode, and two
    sessions made a false critical root cause (found by review)."""
    gp = row("gpresult", "gpo:gpo", data={"scope": "computer", "name": "Default Domain Policy",
                                           "applied": True})
    out = run("admin-sessions-exhausted", TWO + [gp])
    assert isinstance(out, NotEvaluated)
    ts = row("reg", "reg:value", data={
        "key": "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server", "name": "fDenyTSConnections",
        "type": "REG_DWORD", "value": 0})
    assert len(run("admin-sessions-exhausted", TWO + [gp, ts])) == 1     # exported, no licensing


def test_listener_down_needs_the_log_that_holds_its_events():
    """On 2008+ listener failures are in the RemoteConnectionManager log, not System: a
    bundle with only a System log said "No fault found" (found by review)."""
    system_only = [ev(0, "eventlog", BOOT), sysinfo("Microsoft Windows Server 2019 Standard",
                                                    "10.0.17763")]
    assert isinstance(run("listener-down", system_only), NotEvaluated)
    assert run("listener-down", system_only + [ev(5, "rcm", 258), ev(5, "rcma", 1056)]) == []
    # the session manager's log holds no listener event either (it counted as "RDS logs")
    ne = run("listener-down", system_only + [ev(5, "lsm", 21)])
    assert isinstance(ne, NotEvaluated)
    assert ne.missing[-1] == INPUTS["rcm-log"]
    # 2008 R2 writes RCM's events to System too: there the System log is enough
    r2 = [ev(0, "eventlog", BOOT), sysinfo("Microsoft Windows Server 2008 R2 Enterprise",
                                           "6.1.7601 Service Pack 1 Build 7601")]
    assert run("listener-down", r2) == []


def test_logons_disabled_reads_the_log_rcm_writes_to():
    """RCM 1070/1071 are in the RemoteConnectionManager logs (System on 2008/2008 R2):
    a 2019 bundle with System and LocalSessionManager logs passed the check (found by
    review); a 2003 bundle was asked for 2008+ logs."""
    y2019 = sysinfo("Microsoft Windows Server 2019 Standard", "10.0.17763")
    ne = run("logons-disabled", [y2019, ev(0, "eventlog", BOOT), ev(1, "lsm", 21)])
    # (or the live state: `change logon /query` output, read since the chglogon parser)
    assert isinstance(ne, NotEvaluated) and ne.missing == [INPUTS["rcm-log"], INPUTS["chglogon"]]
    assert run("logons-disabled", [y2019, ev(1, "rcm", 258), ev(1, "rcma", 1056)]) == []
    assert ids(run("logons-disabled", [y2019, ev(1, "rcm", 1070)])) == ["logons-disabled"]
    r2 = sysinfo("Microsoft Windows Server 2008 R2 Standard", "6.1.7601 Service Pack 1 Build 7601")
    assert run("logons-disabled", [r2, ev(0, "eventlog", BOOT)]) == []
    w2003 = sysinfo("Microsoft(R) Windows(R) Server 2003, Standard Edition", "5.2.3790")
    ne = run("logons-disabled", [w2003])
    # (2003 logs no event for it: WinStationsDisabled or `change logon /query` tells)
    assert isinstance(ne, NotEvaluated) and ne.missing[0] == "`change logon /query` output"


def test_licensing_checks_need_system_or_the_rcm_log():
    """Licensing events are System's (and RCM's): an LSM or RdpCoreTS log alone passed the
    three licensing checks (found by review)."""
    lsm_only = [ev(0, "lsm", 21)]
    for det in ("licensing-grace-expired", "license-server-unreachable", "license-issue-failed"):
        ne = run(det, lsm_only)
        assert isinstance(ne, NotEvaluated), det
        assert ne.missing == [INPUTS["rcm-log"]], det
        # the version unknown, System may hold them (2008/2008 R2 write them there) but
        # cannot show them absent: from 2012 on they are in the RCM logs only — a System
        # log alone used to pass the licensing and drain-mode checks (review finding)
        ne = run(det, lsm_only + [ev(2, "eventlog", BOOT)])
        assert isinstance(ne, NotEvaluated) and ne.missing == [INPUTS["rcm-log"]], det
        r2 = sysinfo("Microsoft Windows Server 2008 R2 Enterprise",
                     "6.1.7601 Service Pack 1 Build 7601")
        assert run(det, lsm_only + [ev(2, "eventlog", BOOT), r2]) == [], det
        # ... and a fault found in System is reported whatever the version
        fault = {"licensing-grace-expired": 1008, "license-server-unreachable": 1010,
                 "license-issue-failed": 1004}[det]
        assert [f.id for f in run(det, [ev(0, "termservice", fault)])] == [det]
        assert run(det, lsm_only + [ev(2, "rcm", 258), ev(2, "rcma", 1056)]) == [], det
        # an RdpCoreTS log exists from 2012 on, when RCM no longer writes to System
        core = lsm_only + [ev(1, "core", 131, ip="192.0.2.1"), ev(2, "eventlog", BOOT)]
        assert isinstance(run(det, core), NotEvaluated), det


def test_an_event_log_without_records_is_no_input():
    """A System.evtx of which nothing could be read (empty, or every chunk damaged) made
    host-sleeps and the other System checks pass (found by review)."""
    src = "TS01_EventLogs/System.evtx"
    empty = inventory((src, "evtx")).assign(records=0, dropped=0, records_expected=1200,
                                            warnings=3)        # every chunk damaged
    ne = run("host-sleeps", [], inv=empty)
    assert isinstance(ne, NotEvaluated) and ne.missing == [INPUTS["system"]]
    assert f"no record could be read from {src}" in ne.note
    assert run("host-sleeps", [], inv=empty.assign(dropped=12)) == []    # read, none relevant
    assert run("host-sleeps", [], inv=inventory((src, "evtx"))) == []     # count unknown
    # a sound file with no record (nothing was logged: an Admin channel of a healthy
    # server) is input: it shows nothing went wrong
    sound = empty.assign(records_expected=0, warnings=0)
    assert run("host-sleeps", [], inv=sound) == []


def test_nt_version_from_systeminfo_name_and_registry():
    from analyzer.detectors import Context
    from _detector_kit import timeline

    def nt(rows):
        return Context.build("TS01", timeline(rows)).nt_version()

    assert nt([sysinfo("Microsoft Windows Server 2016 Datacenter", "10.0.14393")]) == 10.0
    assert nt([sysinfo("Microsoft Windows Server 2008 R2 Standard", "")]) == 6.1
    assert nt([sysinfo("Microsoft Windows Server 2012 R2 Standard", "")]) == 6.3
    key = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"
    reg = [row("reg", "reg:value", data={"key": key, "name": n, "value": v})
           for n, v in (("CurrentVersion", "6.3"), ("CurrentMajorVersionNumber", 10),
                        ("CurrentMinorVersionNumber", 0))]
    assert nt(reg) == 10.0 and nt(reg[:1]) == 6.3
    assert nt([]) is None


def test_brute_force_asks_only_for_logs_the_os_has():
    """2003 has no NLA (a type-3 failure there is not RDP) and 2008 R2 no RdpCoreTS log:
    both were asked for logs that cannot exist (found by review)."""
    w2003 = sysinfo("Microsoft(R) Windows(R) Server 2003, Standard Edition", "5.2.3790")
    assert run("rdp-brute-force", [w2003] + _fails(40, "3")) == []
    r2 = sysinfo("Microsoft Windows Server 2008 R2 Standard", "6.1.7601 Service Pack 1 Build 7601")
    ne = run("rdp-brute-force", [r2] + _fails(40, "3"))
    assert isinstance(ne, NotEvaluated) and ne.missing == [INPUTS["rcm-log"]]
    ne = run("rdp-brute-force", [r2])
    assert isinstance(ne, NotEvaluated) and ne.missing == [INPUTS["security"]]


def test_termservice_runs_when_a_capture_shows_its_listener():
    """No System log, no tasklist, Start = 3: netstat -b naming TermService on 3389 (or a
    qwinsta rdp-tcp Listen row) shows the service running (found by review)."""
    manual = cfg(("TermServiceStart", 3))
    owned = sock(3389, 1096, services=["TermService"], image="svchost.exe")
    assert run("termservice-not-running", [owned], manual) == []
    assert run("termservice-not-running", [winsta("rdp-tcp", "Listen", 65536)], manual) == []
    assert isinstance(run("termservice-not-running", [sock(3389, 1096)], manual), NotEvaluated)


def test_listener_down_names_a_squatter_seen_in_another_capture():
    def at(src, r):
        return {**r, "source": f"TS01_Networking/{src}"}
    rows = [at("a_netstat.txt", sock(3389, 2412)), at("z_netstat.txt", sock(135, 900)),
            proc(2412, "vncsrv.exe", ["RemoteAssistPro"])]
    ne = run("listener-down", rows)
    assert isinstance(ne, NotEvaluated) and ne.missing == [INPUTS["netstat"]]
    assert "PID 2412 (vncsrv.exe, service RemoteAssistPro)" in ne.note


def test_the_empty_log_note_names_only_logs_of_the_input_asked():
    inv = inventory(("TS01_EventLogs/System.evtx", "evtx"),
                    ("TS01_EventLogs/LocalSessionManager%4Admin.evtx", "evtx")).assign(
        records=0, dropped=0, records_expected=10, warnings=1)
    ne = run("host-sleeps", [], inv=inv)
    assert "System.evtx" in ne.note and "LocalSessionManager" not in ne.note


def test_nt_version_from_the_kernel_start_event():
    from analyzer.detectors import Context
    from _detector_kit import timeline

    rows = [ev(0, "kg", 12, data={"MajorVersion": 10, "MinorVersion": 0})]
    assert Context.build("TS01", timeline(rows)).nt_version() == 10.0
    assert Context.build("TS01", timeline([ev(0, "core", 131)])).nt_version() == 6.2


def _cut_rows(rows):
    """The same qwinsta rows as a capture without its header (``| findstr ...``)."""
    out = []
    for r in rows:
        d = orjson.loads(r["data"])
        out.append({**r, "data": orjson.dumps({**d, "headerless": True}).decode()})
    return out


def test_session_counts_are_not_read_from_a_cut_qwinsta():
    """`qwinsta | findstr rdp-tcp` drops the disconnected sessions' rows: the count fell
    below the limit and the checks passed (found by review)."""
    lim = cfg(("MaxInstanceCount", 2, "gpresult", "Lim"))
    cut = _cut_rows([r for r in TWO if r["locator"] != "line 5"])        # bob's row gone
    ne = run("connection-limit-reached", cut, lim)
    assert isinstance(ne, NotEvaluated) and "no header line" in ne.note
    assert len(run("connection-limit-reached", _cut_rows(TWO), lim)) == 1  # what it shows counts
    ts = row("reg", "reg:value", data={
        "key": "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server",
        "name": "fDenyTSConnections", "value": 0})
    assert isinstance(run("admin-sessions-exhausted", cut + [ts]), NotEvaluated)
    assert isinstance(run("sessions-not-disconnecting", cut), NotEvaluated)


def test_an_rdp_tcp_export_says_nothing_of_the_terminal_server_key_itself():
    """An export of WinStations\\RDP-Tcp alone: admin-sessions-exhausted read "no licensing"
    as administration mode (false critical), rdp-disabled passed on fEnableWinStation = 1
    with fDenyTSConnections unknown (found by review)."""
    rdptcp = row("reg", "reg:value", data={
        "key": "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp",
        "name": "fEnableWinStation", "value": 1})
    assert isinstance(run("admin-sessions-exhausted", TWO + [rdptcp]), NotEvaluated)
    ne = run("rdp-disabled", [rdptcp], cfg(("fEnableWinStation", 1)))
    assert isinstance(ne, NotEvaluated) and "fDenyTSConnections is not in the bundle" in ne.note
    # the Lsa key alone is not the registry export the configuration checks ask for
    lsa = row("reg", "reg:value", data={"key": "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa",
                                        "name": "LmCompatibilityLevel", "value": 5})
    ne = run("connection-limit-policy", [lsa])
    assert isinstance(ne, NotEvaluated) and INPUTS["reg"] in ne.missing


def test_a_file_named_system_holding_security_records_is_not_the_system_log():
    """A Security log saved as TS22_System.evtx passed host-sleeps, protocol-error-burst
    and certificate-corruption (found by review)."""
    sec = {**ev(0, "sec", 4624, user="CORP\\alice"), "source": "TS01_EventLogs/TS01_System.evtx"}
    inv = inventory(("TS01_EventLogs/TS01_System.evtx", "evtx")).assign(
        records=1, dropped=0, records_expected=1, warnings=0)
    for det in ("host-sleeps", "protocol-error-burst", "certificate-corruption"):
        assert isinstance(run(det, [sec], inv=inv), NotEvaluated), det


def test_administrators_only_is_a_domain_controllers_default():
    dc = row("gpresult", "gpo:user-right", data={
        "scope": "computer", "right": "SeRemoteInteractiveLogonRight",
        "gpo": "Default Domain Controllers Policy",
        "members": [{"name": "BUILTIN\\Administrators", "sid": "S-1-5-32-544"}]})
    out = run("user-not-authorized", [dc])
    assert out[0].severity == "info" and "default of a domain controller" in out[0].summary
    denied = ev(5, "sec", 4825, user="CORP\\bob")
    assert run("user-not-authorized", [dc, denied])[0].severity == "error"


def test_a_2003_server_is_asked_for_the_gpresult_it_can_write():
    """2003's gpresult has no /x or /h: a 2003 bundle was asked for them (found by review)."""
    from analyzer.detectors import GPRESULT_2003

    w2003 = sysinfo("Microsoft(R) Windows(R) Server 2003, Standard Edition", "5.2.3790")
    ne = run("rdp-disabled", [w2003])
    assert isinstance(ne, NotEvaluated) and GPRESULT_2003 in ne.missing
    assert INPUTS["gpresult"] not in ne.missing
    assert INPUTS["gpresult"] in run("rdp-disabled", []).missing


def test_host_sleeps_on_2003_is_not_read_from_an_event_log_without_sleep_events():
    """Kernel-Power 42 / Power-Troubleshooter 1 do not exist on 2003: its System log passed
    the check whatever the server did (found by review)."""
    w2003 = sysinfo("Microsoft(R) Windows(R) Server 2003, Standard Edition", "5.2.3790")
    ne = run("host-sleeps", [w2003, ev(0, "eventlog", BOOT, kind="evt")])
    # its power scheme tells: `powercfg /query` is asked for like any other input
    assert isinstance(ne, NotEvaluated) and ne.missing == [INPUTS["powercfg"]]
    assert "2003 logs no sleep" in ne.note
    assert run("host-sleeps", [ev(0, "eventlog", BOOT)]) == []          # version unknown


W2003 = ("Microsoft(R) Windows(R) Server 2003, Standard Edition", "5.2.3790")
W2019 = ("Microsoft Windows Server 2019 Standard", "10.0.17763")


def power(setting, ac, dc=0, *, fmt="query", scheme="Balanced", line=11, active=None, **extra):
    guid = "381b4222-f694-41f0-9685-ff5bb260df2e" if fmt == "query" else None
    return row("powercfg", "powercfg:setting", line=line, data={
        "format": fmt, "scheme": scheme, "scheme_guid": guid, "active": active,
        "setting": setting, "unit": "seconds", "ac": ac, "dc": dc, **extra})


def test_host_sleeps_on_2003_reads_the_power_scheme():
    w2003 = sysinfo(*W2003)
    rows = [w2003, ev(0, "eventlog", BOOT, kind="evt"),
            power("standby", 1800, 300, fmt="query-2003", scheme="Home/Office Desk", line=11,
                  ac_original="After 30 mins"),
            power("hibernate", 0, 1200, fmt="query-2003", scheme="Home/Office Desk", line=13)]
    out = run("host-sleeps", rows)
    assert len(out) == 1 and out[0].severity == "warning"
    f = out[0]
    assert "'Home/Office Desk' puts the server to sleep after 30 min" in f.summary
    assert "hibernate" not in f.summary
    assert [e.locator for e in f.evidence] == ["line 11", "line 13"]
    assert '`powercfg /change "Home/Office Desk" /standby-timeout-ac 0`' in f.remedy
    assert "/hibernate-timeout-ac" not in f.remedy and "High performance" not in f.remedy
    # Never on AC (whatever DC says): checked, fine, and said
    rows[2] = power("standby", 0, 300, fmt="query-2003", scheme="Always On", line=11)
    rows[3] = power("hibernate", 0, 0, fmt="query-2003", scheme="Always On", line=13)
    ok = run("host-sleeps", rows)
    assert isinstance(ok, Passed) and "'Always On' neither sleeps nor hibernates" in ok.note
    # values not understood (a language not known): still a question for the customer
    rows[2] = power("standby", None, None, fmt="query-2003", line=11)
    rows[3] = power("hibernate", None, None, fmt="query-2003", line=13)
    assert isinstance(run("host-sleeps", rows), NotEvaluated)


def test_host_sleeps_on_2019_without_sleep_events_reads_powercfg():
    rows = [sysinfo(*W2019), ev(0, "eventlog", BOOT),
            power("standby", 0, 900, line=28), power("hibernate", 3600, 0, line=44)]
    f = run("host-sleeps", rows)[0]
    assert "'Balanced' puts the server to hibernate after 60 min" in f.summary
    assert "`powercfg /change hibernate-timeout-ac 0`" in f.remedy
    assert "`powercfg /hibernate off`" in f.remedy and '"Balanced"' not in f.remedy
    # the active scheme (powercfg /list's *) is the one judged, not the first shown
    rows = [sysinfo(*W2019), power("hibernate", 3600, 0, line=5, active=False),
            power("standby", 0, 0, scheme="High performance", line=30, active=True),
            power("hibernate", 0, 0, scheme="High performance", line=38, active=True)]
    ok = run("host-sleeps", rows)
    assert isinstance(ok, Passed) and "High performance" in ok.note
    # no System log, but powercfg: evaluated all the same
    assert isinstance(run("host-sleeps", [power("standby", 0), power("hibernate", 0)]), Passed)


def test_host_sleeps_timeouts_that_cannot_act_pass_with_a_note():
    states = row("powercfg", "powercfg:sleep-states", line=70, data={
        "available": ["S1"], "unavailable": ["S3", "hibernate"], "hibernate": False,
        "standby": True})
    rows = [sysinfo(*W2019), power("standby", 0), power("hibernate", 3600, line=44), states]
    ok = run("host-sleeps", rows)
    assert isinstance(ok, Passed) and "no hibernation available" in ok.note


def test_host_sleeps_events_carry_the_scheme_that_lets_it_sleep():
    rows = [ev(0, "kp", 42), ev(120, "pt", 1, data={"SleepTime": str(T0), "WakeTime": str(T0)}),
            power("standby", 1800, line=28), power("hibernate", 0, line=44)]
    f = run("host-sleeps", rows)[0]
    assert "slept" in f.summary and "line 28" in [e.locator for e in f.evidence]


def test_with_one_rcm_log_the_other_is_asked_for():
    y2019 = sysinfo("Microsoft Windows Server 2019 Standard", "10.0.17763")
    ne = run("logons-disabled", [y2019, ev(1, "rcm", 261)])
    assert ne.missing == ["TerminalServices-RemoteConnectionManager Admin log (.evtx)",
                          INPUTS["chglogon"]]
    ne = run("logons-disabled", [y2019, ev(1, "rcma", 1056)])
    assert ne.missing == ["TerminalServices-RemoteConnectionManager Operational log (.evtx)",
                          INPUTS["chglogon"]]


def test_brute_force_attribution_needs_rcm_operational_not_admin():
    """Type-3 bursts are tied to RDP by RCM 261 (Operational) and RdpCoreTS: a bundle
    without the RCM Admin log was not-evaluated (found by review)."""
    quiet = [ev(-600, "rcm", 258), ev(-600, "core", 131, ip="192.0.2.50")]
    assert run("rdp-brute-force", _fails(40, "3") + quiet) == []


def _dc_subject(**data) -> dict:
    """The computer details of a Group Policy report (parsers' ``gpo:subject`` row)."""
    return row("gpresult", "gpo:subject", line=376,
               data={"scope": "computer", "name": "CORP\\DC01$", "som": None, "groups": [], **data})


def test_a_domain_controller_is_told_by_its_ou_or_group_not_only_by_the_gpo_name():
    """A CIS-hardened DC grants the RDS logon right to Administrators in its own GPO ("02
    Local Policies - DC"), not the Default Domain Controllers Policy: rdpdoctor called the
    DC's default an error root cause (review, on the corpus' hershey DC report). The report's
    computer details tell a DC: the Domain Controllers OU, or the Domain Controllers group."""
    allow = row("gpresult", "gpo:user-right", line=1720, data={
        "scope": "computer", "right": "SeRemoteInteractiveLogonRight",
        "gpo": "02 Local Policies - DC",
        "members": [{"name": "BUILTIN\\Administrators", "sid": "S-1-5-32-544"}]})
    by_ou = _dc_subject(som="corp.example/Domain Controllers")
    by_sid = _dc_subject(groups=[{"name": "CORP\\Domain Controllers",
                                  "sid": "S-1-5-21-11-22-33-516"}])
    by_name = _dc_subject(groups=[{"name": "NT AUTHORITY\\ENTERPRISE DOMAIN CONTROLLERS",
                                   "sid": None}])
    for subject in (by_ou, by_sid, by_name):
        out = run("user-not-authorized", [allow, subject])
        assert out[0].severity == "info", subject
        assert "only administrators may connect to it, by design" in out[0].summary
        assert any(e.locator == "line 376" for e in out[0].evidence)      # what shows the DC
        assert "Remote Desktop Users" not in out[0].remedy.splitlines()[0]
    # a member server (another OU, no DC group) granting Administrators only: the error stands
    member = _dc_subject(som="corp.example/Servers/RDS",
                         groups=[{"name": "CORP\\Domain Computers", "sid": "S-1-5-21-11-22-33-515"}])
    out = run("user-not-authorized", [allow, member])
    assert out[0].severity == "error" and "by design" not in out[0].summary
    assert run("user-not-authorized", [allow])[0].severity == "error"
    # a refused logon on the DC: the error stands
    out = run("user-not-authorized", [allow, by_ou, ev(5, "sec", 4825, user="CORP\\bob")])
    assert out[0].severity == "error"


def test_a_denied_group_without_a_refused_logon_is_a_warning_not_an_error():
    """ "Deny log on through RDS" naming a group (CIS DC: oriontech\\Contractors) with no
    refused logon and no affected user in the bundle was an error root cause (review): it
    says who *would* be refused — a warning, "members of X cannot connect"."""
    deny = row("gpresult", "gpo:user-right", line=1378, data={
        "scope": "computer", "right": "SeDenyRemoteInteractiveLogonRight",
        "gpo": "02 Local Policies - DC",
        "members": [{"name": "Guests", "sid": "S-1-5-32-546"},
                    {"name": "CORP\\Contractors", "sid": "S-1-5-21-11-22-33-1105"}]})
    out = run("user-not-authorized", [deny])
    assert out[0].severity == "warning"
    assert "CORP\\Contractors, and every member of a group listed, cannot connect" in out[0].summary
    assert out[0].details["users"] == []
    assert "If the user who cannot connect belongs to a group" in out[0].remedy.splitlines()[0]
    # with a refused logon beside it, the deny may be why: error
    out = run("user-not-authorized", [deny, ev(5, "sec", 4825, user="CORP\\carol")])
    assert out[0].severity == "error" and "CORP\\carol" in out[0].summary
    # a DC's default allow (info) and a denied group (warning): the finding is a warning
    allow = row("gpresult", "gpo:user-right", line=1720, data={
        "scope": "computer", "right": "SeRemoteInteractiveLogonRight",
        "members": [{"name": "BUILTIN\\Administrators", "sid": "S-1-5-32-544"}]})
    out = run("user-not-authorized", [allow, deny, _dc_subject(som="corp.example/Domain Controllers")])
    assert out[0].severity == "warning"
    # a deny of a group that holds every user allowed to connect refuses them all: an error
    # (it was a warning that "the user may be among them"; regression review)
    for name, sid in (("Everyone", "S-1-1-0"), ("NT AUTHORITY\\Authenticated Users", "S-1-5-11"),
                      ("BUILTIN\\Remote Desktop Users", "S-1-5-32-555"),
                      ("BUILTIN\\Administrators", "S-1-5-32-544")):
        every = row("gpresult", "gpo:user-right", line=1378, data={
            "scope": "computer", "right": "SeDenyRemoteInteractiveLogonRight",
            "members": [{"name": name, "sid": sid}]})
        out = run("user-not-authorized", [every])
        assert out[0].severity == "error", name
        assert f"{name} holds every user allowed to connect: nobody can log on" in out[0].summary


def _conn(minutes, ip="10.0.2.16", conn_type="TCP", port=52000):
    """An RdpCoreTS 131 as the parsers give it (ClientIP as the real samples print it)."""
    client = f"{ip}:{port}" if conn_type == "TCP" else f"[{ip}]:{port}"
    return ev(minutes, "core", 131, ip=ip, data={"ConnType": conn_type, "ClientIP": client})


def test_rdp_brute_force_counts_tcp_connections_not_their_udp_side_channel():
    """RDP 8+ logs a 131 ConnType=UDP for the UDP side channel of a TCP connection: the
    esa rdpsharp sample (6 sessions, 9 TCP + 6 UDP 131 in 10 min) was called password
    guessing on 15 "connections" (review)."""
    pairs = [c for i in range(6) for c in (_conn(i, port=52700 + i),
                                           _conn(i + 0.005, conn_type="UDP", port=64000 + i))]
    assert run("rdp-brute-force", pairs) == []
    tcp = [_conn(i * 0.5, port=52700 + i) for i in range(10)]
    out = run("rdp-brute-force", tcp + pairs[1::2])
    assert len(out) == 1 and "10 RdpCoreTS 131 TCP connections from 10.0.2.16" in out[0].summary


def test_rdp_brute_force_does_not_count_connections_a_logon_followed():
    """A connection a logon from its address followed (RCM 1149 — NLA accepted the password
    —, 4624 type 10, LSM 21/25) is no failed guess (KNOWLEDGE: the rule is *failed* RDP
    logons; 131 → … → 1149 → LSM 21 → 4624 type 10 is the funnel of a successful one)."""
    conns = [_conn(i * 0.5, port=52700 + i) for i in range(12)]
    ok1149 = [ev(i * 0.5 + 0.02, "rcm", 1149, ip="10.0.2.16",
                 data={"Param1": "alice", "Param3": "10.0.2.16"}) for i in range(12)]
    assert run("rdp-brute-force", conns + ok1149) == []
    ok4624 = [ev(i * 0.5 + 0.1, "sec", 4624, ip="10.0.2.16", user="CORP\\alice",
                 data={"LogonType": "10"}) for i in range(12)]
    assert run("rdp-brute-force", conns + ok4624) == []
    lsm = [ev(i * 0.5 + 0.1, "lsm", 21, ip="10.0.2.16", session_id=2 + i,
              data={"User": "CORP\\alice", "SessionID": 2 + i, "Address": "10.0.2.16"})
           for i in range(12)]
    assert run("rdp-brute-force", conns + lsm) == []
    # a few logons excuse a few connections: 12 - 2 = 10 guesses still make a burst
    out = run("rdp-brute-force", conns + ok1149[:2])
    assert len(out) == 1 and "10 RdpCoreTS 131 TCP connections" in out[0].summary
    # logons from another address, or long after, excuse nothing
    other = [ev(i * 0.5 + 0.02, "rcm", 1149, ip="10.0.2.99") for i in range(12)]
    assert len(run("rdp-brute-force", conns + other)) == 1
    late = [ev(60 + i, "rcm", 1149, ip="10.0.2.16") for i in range(12)]
    assert len(run("rdp-brute-force", conns + late)) == 1


def test_rdp_brute_force_evidence_is_the_burst_the_summary_names():
    """Evidence led with the address's first rows, hours before the burst the summary
    names (the omer RdpCoreTS log: "from 19:20", evidence at 14:28; review)."""
    early = [ev(-290 + i * 0.5, "core", 140, ip="198.51.100.5") for i in range(2)]
    burst = [ev(i * 0.5, "core", 140, ip="198.51.100.5") for i in range(12)]
    out = run("rdp-brute-force", early + burst)
    assert len(out) == 1 and "12 RdpCoreTS 140" in out[0].summary
    assert "(from 2024-03-05 08:00 UTC)" in out[0].summary
    assert out[0].evidence and all(e.time >= "2024-03-05T08:00" for e in out[0].evidence)


def test_protocol_error_burst_evidence_and_statuses_are_the_burst_window():
    """Same defect as the brute-force evidence: a client's errors hours before its burst
    led the evidence and their NTSTATUS was counted with the burst's."""
    old = [ev(-300 + i, "termdd", 56, ip="192.0.2.7",
              data={"param2": "192.0.2.7", "Binary": "0000000002003000000000005B0300C0"})
           for i in range(3)]
    burst = [ev(i * 0.5, "termdd", 56, ip="192.0.2.7",
                data={"param2": "192.0.2.7", "Binary": "00000000020030000000000038000AC0"})
             for i in range(12)]
    out = run("protocol-error-burst", old + burst)
    assert len(out) == 1 and "12 TermDD 56 errors from 192.0.2.7" in out[0].summary
    assert out[0].details["statuses"] == {"0xC00A0038": 12}
    assert all(e.time >= "2024-03-05T08:00" for e in out[0].evidence)


def test_host_sleeps_with_several_schemes_and_none_active_does_not_pick_by_file_order():
    """Several schemes, none marked active: the first block in the file decided, and the
    finding called it "the active power scheme" (reversing the blocks turned the warning
    into a pass; found by the regression review)."""
    balanced = [power("standby", 1800, line=5), power("hibernate", 0, line=9)]
    high = [power("standby", 0, scheme="High performance", line=30),
            power("hibernate", 0, scheme="High performance", line=38)]
    for rows in (balanced + high, high + balanced):
        ne = run("host-sleeps", [sysinfo(*W2019), *rows])
        assert isinstance(ne, NotEvaluated), rows
        assert ne.missing == ["`powercfg /getactivescheme` output"]
        assert "'Balanced', 'High performance'" in ne.note or \
            "'High performance', 'Balanced'" in ne.note
    # all of them sleep: a finding, which says none was marked active
    slow = [power("standby", 3600, scheme="Power saver", line=50),
            power("hibernate", 0, scheme="Power saver", line=55)]
    f = run("host-sleeps", [sysinfo(*W2019), *balanced, *slow])[0]
    assert "every power scheme shown" in f.summary and "none marked active" in f.summary
    # none of them sleeps: passes, naming them all
    ok = run("host-sleeps", [sysinfo(*W2019), *high,
                             power("standby", 0, scheme="Ultimate", line=60),
                             power("hibernate", 0, scheme="Ultimate", line=66)])
    assert isinstance(ok, Passed) and "'High performance', 'Ultimate' neither sleep" in ok.note
    # on 2003 the ask is a plain `powercfg /query` (it shows the active scheme)
    ne = run("host-sleeps", [sysinfo(*W2003), power("standby", 1800, fmt="query-2003"),
                             power("standby", 0, fmt="query-2003", scheme="Always On")])
    assert ne.missing == ["`powercfg /query` output (without a scheme name: the active scheme)"]
