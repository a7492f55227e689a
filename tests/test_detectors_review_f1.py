"""Detector fixes found by the domain review (configuration, listener, sessions): each test
builds a tiny bundle the way tests/test_detectors.py does and checks ids, severities and
the OS-specific remedy text."""
from __future__ import annotations

from _detector_kit import cfg, ev, proc, run, sock, sysinfo

from analyzer.detectors import NotEvaluated

W2003 = sysinfo("Microsoft(R) Windows(R) Server 2003, Standard Edition", "5.2.3790 Service Pack 2 Build 3790")
W2008 = sysinfo("Microsoft Windows Server 2008 Enterprise", "6.0.6002 Service Pack 2 Build 6002")
W2008R2 = sysinfo("Microsoft Windows Server 2008 R2 Enterprise", "6.1.7601 Service Pack 1 Build 7601")
W2016 = sysinfo("Microsoft Windows Server 2016 Standard", "10.0.14393 N/A Build 14393")


# ----------------------------------------------------------------- tls-requires-high-encryption

def test_tls_high_encryption_ssl_is_an_error_negotiate_a_warning_on_2003():
    """Negotiate falls back to native RDP security (the connection works, without TLS);
    only SSL (2) fails the connection (found by review: Negotiate was an error)."""
    ssl = run("tls-requires-high-encryption", [W2003], cfg(("SecurityLayer", 2), ("MinEncryptionLevel", 2)))
    assert [f.severity for f in ssl] == ["error"]
    assert "connections fail" in ssl[0].summary
    neg = run("tls-requires-high-encryption", [W2003], cfg(("SecurityLayer", 1), ("MinEncryptionLevel", 2)))
    assert [f.id for f in neg] == ["tls-requires-high-encryption"]
    assert neg[0].severity == "warning"
    assert "falls back to native RDP security" in neg[0].summary
    assert "not authenticated" in neg[0].summary and "connections fail" not in neg[0].summary
    assert "tscc.msc" in neg[0].remedy


def test_tls_high_encryption_unknown_os_is_a_warning_asking_for_systeminfo():
    """Negotiate + Client Compatible is 2008's own default: with the OS unknown the rule
    must not raise an error (found by review: three `reg query` lines gave an error)."""
    for layer in (1, 2):
        out = run("tls-requires-high-encryption", [],
                  cfg(("SecurityLayer", layer), ("MinEncryptionLevel", 2)))
        assert [f.severity for f in out] == ["warning"], layer
        assert "Windows version is unknown" in out[0].summary
        assert "systeminfo" in out[0].summary and "systeminfo" in out[0].remedy
    # 2008 and later: not reported (the default works there)
    assert run("tls-requires-high-encryption", [W2008],
               cfg(("SecurityLayer", 1), ("MinEncryptionLevel", 2))) == []


# ----------------------------------------------------------------- Group Policy paths and names

def test_policy_step_names_the_2008_folder_and_policy_and_the_real_leaf():
    """Server 2008 (NT 6.0) has "Terminal Services > Terminal Server > Connections" and
    "Allow users to connect remotely using Terminal Services"; the step names the folder
    instead of "…" (found by review)."""
    deny = cfg(("fDenyTSConnections", 1, "gpresult", "RDP Lockdown"))
    r2008 = run("rdp-disabled", [W2008], deny)[0].remedy
    assert ("Windows Components > Terminal Services > Terminal Server > Connections"
            in r2008), r2008
    assert "\"Allow users to connect remotely using Terminal Services\"" in r2008
    assert "…" not in r2008.splitlines()[0]
    r2008r2 = run("rdp-disabled", [W2008R2], deny)[0].remedy
    assert "Remote Desktop Services > Remote Desktop Session Host > Connections" in r2008r2
    assert "\"Allow users to connect remotely by using Remote Desktop Services\"" in r2008r2
    r2003 = run("rdp-disabled", [W2003], deny)[0].remedy
    assert "Windows Components > Terminal Services)" in r2003
    assert "\"Allow users to connect remotely using Terminal Services\"" in r2003
    # the encryption level policy: 2003's "Encryption and Security" folder
    tls = run("tls-requires-high-encryption", [W2003],
              cfg(("SecurityLayer", 2), ("MinEncryptionLevel", 2, "gpresult", "Enc")))[0].remedy
    assert "Windows Components > Terminal Services > Encryption and Security" in tls
    lim = run("connection-limit-policy", [W2016],
              cfg(("MaxInstanceCount", 2, "gpresult", "Lim")))[0].remedy
    assert "Remote Desktop Session Host > Connections" in lim


def test_nla_required_by_policy_points_at_the_gpo_not_the_greyed_out_box():
    out = run("nla-required", [W2016], cfg(("UserAuthentication", 1, "gpresult", "RDS Session Hosts")))
    steps = out[0].remedy.splitlines()
    assert steps[0].startswith("1. If NLA has to be relaxed: the value comes from Group Policy "
                               "\"RDS Session Hosts\""), steps
    assert "Require user authentication for remote connections by using Network Level " \
           "Authentication" in steps[0]
    assert "Remote Desktop Session Host > Security" in steps[0]
    assert "untick" not in out[0].remedy
    local = run("nla-required", [W2016], cfg(("UserAuthentication", 1)))[0].remedy
    assert "untick" in local and "Group Policy" not in local


# ----------------------------------------------------------------- ports and service restarts

def test_rdp_disabled_firewall_step_uses_the_effective_port_and_the_os_wording():
    """Found by review: "allows TCP 3389 ("Remote Desktop" rule group)" whatever the port,
    and in 2008+ words on 2003."""
    c = cfg(("fDenyTSConnections", 1), ("PortNumber", 3390))
    r2003 = run("rdp-disabled", [W2003], c)[0].remedy
    assert "TCP 3390" in r2003 and "TCP 3389 (" not in r2003
    assert "Windows Firewall > Exceptions > Add Port" in r2003 and "rule group" not in r2003
    r2016 = run("rdp-disabled", [W2016], c)[0].remedy
    assert "localport=3390" in r2016 and "rule group" not in r2016
    d2003 = run("rdp-disabled", [W2003], cfg(("fDenyTSConnections", 1)))[0].remedy
    assert "tick \"Remote Desktop\"" in d2003 and "TCP 3389" in d2003
    d2016 = run("rdp-disabled", [W2016], cfg(("fDenyTSConnections", 1), ("PortNumber", 3389)))[0].remedy
    assert "\"Remote Desktop\" rule group" in d2016 and "TCP 3389" in d2016


def _squat():
    return [sock(3389, 2412), proc(2412, "vncsrv.exe", ["RemoteAssistPro"]),
            proc(1096, "svchost.exe", ["TermService"])]


def test_port_conflict_restart_step_answers_the_prompt_restarts_umrdpservice_and_warns():
    """`net stop termservice` prompts Y/N for UmRdpService and leaves it stopped; the step
    must say that every RDP session ends (found by review)."""
    r2016 = run("port-conflict", _squat() + [W2016])[0].remedy
    assert "`net stop TermService /y`" in r2016 and "`net start TermService`" in r2016
    assert "`net start UmRdpService`" in r2016
    assert "ends every RDP session" in r2016 and "&&" not in r2016
    assert "Restart the Remote Desktop Services service" in r2016
    r2008 = run("port-conflict", _squat() + [W2008])[0].remedy
    assert "Restart the Terminal Services service" in r2008
    r2003 = run("port-conflict", _squat() + [W2003])[0].remedy
    assert "Reboot the server" in r2003 and "net stop" not in r2003
    off = run("rdp-disabled", [W2016], cfg(("fDenyTSConnections", 0), ("fEnableWinStation", 0)))
    assert "`net stop TermService /y`" in off[0].remedy


# ----------------------------------------------------------------- listener-down: TermService 1015

def test_listener_down_reads_termservice_1015_adapter_gone():
    """TermService 1015: the connection was disabled because its network adapter could not
    be found — a System log holding it passed (found by review)."""
    from analyzer.knowledge import event_type_for
    boot = ev(0, "eventlog", 6005, kind="evt")
    gone = ev(2, "termservice", 1015, kind="evt", data={"param1": "RDP-Tcp"})
    out = run("listener-down", [W2003, boot, gone])
    assert [f.id for f in out] == ["listener-down"] and out[0].severity == "critical"
    assert "1015" in out[0].summary and "RDP-Tcp" in out[0].summary
    assert "could not find the adapter" in out[0].summary
    r = out[0].remedy
    assert "tscc.msc" in r and "/v LanAdapter /t REG_DWORD /d 0" in r
    assert "/v fEnableWinStation /t REG_DWORD /d 1" in r and "Reboot the server" in r
    # a configuration change: a later system start does not undo it
    assert len(run("listener-down", [W2003, boot, gone, ev(60, "eventlog", 6005, kind="evt")])) == 1
    # RDP-Tcp enabled again in the export, or a later "listener started": history
    assert run("listener-down", [W2003, boot, gone], cfg(("fEnableWinStation", 1))) == []
    # 2008 R2: the remedy names tsconfig.msc and the service restart
    r2 = run("listener-down", [W2008R2, ev(2, "termservice", 1015, data={"param1": "RDP-Tcp"})])
    assert "tsconfig.msc" in r2[0].remedy and "`net stop TermService /y`" in r2[0].remedy
    assert event_type_for("Microsoft-Windows-TerminalServices-RemoteConnectionManager", 1015) \
        == "rdp:rcm:connection-disabled"


# ----------------------------------------------------------------- logons-disabled on 2003

WINLOGON = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon"
TSKEY = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server"


def _wsd(value, key=WINLOGON):
    from _detector_kit import row
    return row("reg", "reg:value", source="TS01_RegistryKeys/winlogon.reg", line=7,
               data={"key": key, "name": "WinStationsDisabled", "type": "REG_SZ", "value": value})


def test_logons_disabled_on_2003_is_not_passed_for_lack_of_rcm_events():
    """RCM 1070/1071 came with 2008: a 2003 System log cannot show logons disabled, and the
    check passed on every one (found by review)."""
    from analyzer.detectors import CHGLOGON_QUERY_2003, WINLOGON_REG
    boot = ev(0, "eventlog", 6005, kind="evt")
    ne = run("logons-disabled", [W2003, boot])
    assert isinstance(ne, NotEvaluated)
    assert ne.missing == [CHGLOGON_QUERY_2003, WINLOGON_REG]
    assert "`change logon /query` output" in ne.missing and "2003 logs no event" in ne.note
    # WinStationsDisabled decides, on any OS: "1" (REG_SZ in Winlogon) fails, "0" passes
    out = run("logons-disabled", [W2003, boot, _wsd("1")])
    assert [f.severity for f in out] == ["critical"]
    assert "WinStationsDisabled = 1" in out[0].summary and "Winlogon" in out[0].summary
    assert out[0].evidence[0].source == "TS01_RegistryKeys/winlogon.reg"
    assert "`change logon /enable`" in out[0].remedy and "chglogon" not in out[0].remedy
    assert run("logons-disabled", [W2003, boot, _wsd("0")]) == []
    # the Terminal Server key's DWORD (where the sample generator writes it) is read too
    assert len(run("logons-disabled", [W2016, _wsd(1, TSKEY)])) == 1
    out = run("logons-disabled", [W2016, _wsd("1")])
    assert "`chglogon /enable`" in out[0].remedy
    # from 2008 on "0" tells only of `change logon`: without the RCM logs (drain mode) the
    # check stays not evaluated (it passed, found by the regression review)
    ne = run("logons-disabled", [W2016, _wsd("0")])
    assert isinstance(ne, NotEvaluated) and ne.missing


# ----------------------------------------------------------------- admin-sessions-exhausted

def _two():
    from _detector_kit import winsta
    return [winsta("services", "Disc", 0), winsta("console", "Conn", 1),
            winsta("rdp-tcp#3", "Active", 2, "CORP\\alice", line=4),
            winsta("", "Disc", 3, "CORP\\bob", line=5), winsta("rdp-tcp", "Listen", 65536, line=6)]


def test_admin_sessions_exhausted_remedy_and_text_per_os():
    """2003: `/admin` (RDC 6.1+) or `/console`; 2008+: no console claim, the client offers to
    disconnect a session — an error there, not critical (found by review)."""
    c = cfg(("TSAppCompat", 0))
    old = run("admin-sessions-exhausted", _two() + [W2003], c)[0]
    assert old.severity == "critical"
    assert "`mstsc /admin` with Remote Desktop Connection 6.1 or later" in old.remedy
    assert "`mstsc /console` with older clients" in old.remedy
    assert "a third administrator is refused" in old.summary
    new = run("admin-sessions-exhausted", _two() + [W2016], c)[0]
    assert new.severity == "error"
    assert "console session to administer" not in new.remedy
    assert "offered the list of sessions and can disconnect one" in new.remedy
    assert "gives no extra session" in new.remedy
    assert "third administrator is refused" not in new.summary
    assert "offered to disconnect one" in new.summary


# ----------------------------------------------------------------- user-not-authorized requests

def test_user_not_authorized_asks_for_the_group_the_local_right_and_an_elevated_gpresult():
    """KB2477023 part 1 checks Remote Desktop Users and the local logon right first; a
    gpresult without computer settings was not run elevated (found by review)."""
    from _detector_kit import row

    from analyzer.detectors import INPUTS, RDU_MEMBERS, USER_RIGHTS_EXPORT
    assert RDU_MEMBERS == "`net localgroup \"Remote Desktop Users\"` output"
    assert USER_RIGHTS_EXPORT.startswith("`secedit /export /areas USER_RIGHTS /cfg ur.inf`")
    assert "elevated" in INPUTS["gpresult"]
    computer = row("gpresult", "gpo:gpo", data={"scope": "computer", "name": "C", "applied": True})
    ne = run("user-not-authorized", [W2016, computer])
    assert isinstance(ne, NotEvaluated)
    assert ne.missing == [RDU_MEMBERS, USER_RIGHTS_EXPORT, INPUTS["security"]]
    assert "sets neither RDP logon right" in ne.note
    user_only = row("gpresult", "gpo:policy", data={"scope": "user", "name": "Remove Run menu",
                                                    "state": "Enabled", "gpo": "U"})
    ne = run("user-not-authorized", [W2016, user_only])
    assert ne.missing == [RDU_MEMBERS, USER_RIGHTS_EXPORT, INPUTS["security"], INPUTS["gpresult"]]
    assert "elevated prompt" in ne.note
    ne = run("user-not-authorized", [])
    assert ne.missing == [RDU_MEMBERS, USER_RIGHTS_EXPORT, INPUTS["security"], INPUTS["gpresult"]]
