"""Certificate, licensing and protocol-error detectors against what Microsoft documents
(domain review items 2, 3, 4, 5, 6 and 10): tiny in-test timelines built with
tests/_detector_kit.py, and event logs written with the project's own writers."""
from __future__ import annotations

import pandas as pd

from _detector_kit import cfg, ev, run, sysinfo, timeline
from analyzer.bundle import Bundle
from analyzer.detectors import ROOT_CAUSES, NotEvaluated
from analyzer.engine import analyze_bundle

S2003 = sysinfo("Microsoft(R) Windows(R) Server 2003, Standard Edition",
                "5.2.3790 Service Pack 2 Build 3790")
S2008R2 = sysinfo("Microsoft Windows Server 2008 R2 Standard", "6.1.7601 Service Pack 1 Build 7601")
S2008 = sysinfo("Microsoft Windows Server 2008 Standard", "6.0.6002 Service Pack 2 Build 6002")
S2016 = sysinfo("Microsoft Windows Server 2016 Standard", "10.0.14393 N/A Build 14393")


def _bundle(rows, config=None) -> Bundle:
    b = Bundle(path="tiny.zip", timeline=timeline(rows), inventory=pd.DataFrame(
        columns=["source", "kind", "status", "host", "records", "warnings", "reason"]),
        warnings=[], hosts=["TS01"])
    b._config = config if config is not None else cfg()
    return b


# ----------------------------------------------------------------------------- item 5


def test_certificate_corruption_does_not_explain_the_tls_certificate_problem():
    """The proprietary certificate (TermService\\Parameters / RCM ``X509 Certificate*``) is
    not the TLS certificate: deleting its values does nothing for an unreadable TLS key, yet
    the report showed the TLS finding as explained by it (found by review, item 5)."""
    assert ("certificate-corruption", "tls-certificate-problem") not in ROOT_CAUSES
    x224 = {"param1": "\\Device\\Termdd", "param2": "X.224"}
    rows = [S2003, ev(0, "termdd", 50, kind="evt", data=x224),
            ev(1, "termservice", 1004, kind="evt"), ev(2, "termdd", 50, kind="evt", data=x224),
            ev(2.01, "schannel", 36870, kind="evt")]
    fs = {f.id: f for f in analyze_bundle(_bundle(rows)).report.findings}
    assert {"certificate-corruption", "tls-certificate-problem"} <= set(fs)
    assert fs["tls-certificate-problem"].explained_by is None
    assert "tls-certificate-problem" not in fs["certificate-corruption"].explains


# ----------------------------------------------------------------------------- item 6

X224 = {"param1": "\\Device\\Termdd", "param2": "X.224"}


def _corruption(si, kind="evtx"):
    return [si, ev(0, "termdd", 50, kind=kind, data=X224), ev(1, "termservice", 1004, kind=kind),
            ev(30, "termdd", 50, kind=kind, data=X224)]


def test_certificate_corruption_remedy_on_2008_and_later_deletes_four_values_and_restarts():
    """2008+: Microsoft deletes Certificate, X509 Certificate, X509 Certificate ID and
    X509 Certificate2 under Terminal Server\\RCM and restarts the RDSH server; the remedy
    deleted three and offered a service restart (found by review, item 6)."""
    for si in (S2008R2, S2016):
        r = run("certificate-corruption", _corruption(si))[0].remedy
        assert "`Certificate`, `X509 Certificate`, `X509 Certificate ID` and `X509 Certificate2` " \
               "under HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\RCM" in r
        assert "Restart the server" in r and "Restart the Remote Desktop Services service" not in r
        assert "Telephone" not in r


def test_certificate_corruption_remedy_on_2003_reactivates_by_telephone():
    """KB2477023: 2003 deletes three values under TermService\\Parameters, restarts the server
    and reactivates the license server by the Telephone connection method."""
    r = run("certificate-corruption", _corruption(S2003, "evt"))[0].remedy
    assert "`Certificate`, `X509 Certificate` and `X509 Certificate ID` under " \
           "HKLM\\SYSTEM\\CurrentControlSet\\Services\\TermService\\Parameters" in r
    assert "X509 Certificate2" not in r
    assert "Restart the server" in r and "Telephone" in r


# ----------------------------------------------------------------------------- items 2, 3


def _iis_key_errors(si):
    """Schannel 36870 hourly on a session host whose users log on fine in between."""
    rows = [si, ev(-60, "rcma", 1070)]            # (both RCM logs held)
    rows += [ev(60 * i, "schannel", 36870) for i in range(5)]
    rows += [ev(60 * i + 30, "rcm", 1149, ip="10.0.0.5") for i in range(5)]
    return rows


def test_schannel_alone_is_a_warning_that_it_may_not_be_rdps():
    """Schannel's key errors are system-wide (IIS, LDAPS, SQL Server, WinRM, AD FS): five
    36870 on a healthy 2022 session host, logons succeeding between them, were an *error*
    with RDP remedies (found by review, item 2)."""
    out = run("tls-certificate-problem", _iis_key_errors(S2016), cfg(("SecurityLayer", 2)))
    assert len(out) == 1
    f = out[0]
    assert f.severity == "warning" and "maybe not RDP's" in f.title
    assert "5 Schannel TLS server-credential error(s): Schannel 36870 ×5" in f.summary
    assert "may belong to another service (IIS, LDAPS" in f.summary
    assert "RDP logons succeeded after the first of them (5, last at" in f.summary
    assert "`netsh http show sslcert`" in f.remedy and "certlm.msc" in f.remedy
    assert f.details == {"schannel_tied_to_rdp": 0, "schannel_untied": 5}


def test_schannel_beside_rdp_failing_is_rdps_error():
    """An RDP connection no logon followed (RdpCoreTS 131), a TermDD 56 or an RCM
    certificate event within minutes ties the Schannel error to RDP: error."""
    conn = ev(0, "core", 131, ip="10.0.0.9",
              data={"ConnType": "TCP", "ClientIP": "[10.0.0.9]:50200"})
    # (an RCM Operational log that records logons: an hour-old one, from elsewhere)
    logon_log = ev(-3600, "rcm", 1149, ip="10.0.0.5")
    for beside in ([conn], [ev(0.5, "termdd", 56, ip="10.0.0.9")], [ev(1, "rcma", 1057)]):
        rows = [S2016, ev(-60, "rcma", 1070), logon_log, ev(0.01, "schannel", 36870),
                ev(300, "schannel", 36870)] + beside
        f = run("tls-certificate-problem", rows)[0]
        assert f.severity == "error"
        assert f.title == "The RDP TLS certificate or its private key is unusable"
        assert "the Schannel errors come with RDP failing within 5 min" in f.summary
        assert "1 other Schannel error(s) without RDP failing beside them are left out" in f.summary
        assert f.details["schannel_tied_to_rdp"] == 1
    # no log that records logons (RCM Operational, LocalSessionManager, Security): "no
    # logon followed" says nothing, and the connection ties nothing (found by the
    # regression review: every connection became a failure)
    rows = [S2016, ev(-60, "rcma", 1070), conn, ev(0.01, "schannel", 36870)]
    assert run("tls-certificate-problem", rows)[0].severity == "warning"
    # a connection a logon from its address followed worked: no tie
    rows = [S2016, ev(-60, "rcma", 1070), conn, ev(0.01, "schannel", 36870),
            ev(0.5, "rcm", 1149, ip="10.0.0.9")]
    assert run("tls-certificate-problem", rows)[0].severity == "warning"


def test_system_log_alone_on_2012_plus_asks_for_the_rcm_logs():
    """From 2012 on RCM 1051-1059 are only in the RCM logs: a System log without Schannel
    errors passed the check (found by review, item 2)."""
    ne = run("tls-certificate-problem", [S2016, ev(0, "eventlog", 6005)])
    assert isinstance(ne, NotEvaluated)
    assert ne.missing == [
        "TerminalServices-RemoteConnectionManager Operational and Admin logs (.evtx)"]
    assert "RemoteConnectionManager writes its certificate events" in ne.note
    # 2008 R2 and 2003 write them to System: the System log is enough
    assert run("tls-certificate-problem", [S2008R2, ev(0, "eventlog", 6005)]) == []
    assert run("tls-certificate-problem", [S2003, ev(0, "eventlog", 6005, kind="evt")]) == []


def _rdp_key_error(si, kind="evtx"):
    return [si, ev(-60, "rcma", 1070), ev(0, "schannel", 36870, kind=kind),
            ev(0.02, "termdd", 56, kind=kind, ip="10.0.0.9")]


def test_tls_certificate_remedy_on_2003():
    """2003: no certlm.msc, no self-signed "Remote Desktop" store (KB895433), TermService is
    LocalSystem, no C:\\ProgramData; the certificate is chosen in tscc.msc (KB2477023 step 6)
    (found by review, item 3)."""
    f = run("tls-certificate-problem", _rdp_key_error(S2003, "evt"))[0]
    assert f.severity == "error"
    r = f.remedy
    assert "tscc.msc > Connections > RDP-Tcp > Properties > General > Certificate" in r
    assert "no self-signed fallback" in r and "LocalSystem" in r
    assert "C:\\Documents and Settings\\All Users\\Application Data\\Microsoft\\Crypto\\RSA\\" \
           "MachineKeys" in r
    for wrong in ("certlm.msc", "NETWORK SERVICE", "ProgramData", "Remote Desktop (self-signed)"):
        assert wrong not in r, wrong


def test_tls_certificate_remedy_on_2008_r2_and_2016():
    for si in (S2008, S2008R2):
        r = run("tls-certificate-problem", _rdp_key_error(si))[0].remedy
        assert "mmc > Add/Remove Snap-in > Certificates > Computer account" in r
        assert "tsconfig.msc" in r and "NETWORK SERVICE" in r and "certlm.msc" not in r
    r = run("tls-certificate-problem", _rdp_key_error(S2016))[0].remedy
    assert "Open certlm.msc > Remote Desktop (self-signed)" in r and "tsconfig.msc" not in r
    assert "NETWORK SERVICE" in r


# ----------------------------------------------------------------------------- item 10


def test_licensing_grace_expired_on_2003_names_the_license_server_where_2003_reads_it():
    """On 2003 tscc.msc > Server Settings > Licensing sets only the licensing mode; a license
    server is named by a subkey of TermService\\Parameters\\LicenseServers (KB279561) or the
    SP1 discovery-mode node / policy (found by review, item 10)."""
    r = run("licensing-grace-expired", [S2003, ev(0, "termservice", 1008, kind="evt")])[0].remedy
    assert "point the server at it (tscc.msc > Server Settings > Licensing)" not in r
    assert "Licensing: Per Device or Per User" in r
    assert "License Server Discovery Mode > Use these license servers" in r
    assert "Services\\TermService\\Parameters\\LicenseServers (KB279561)" in r
    named = run("licensing-grace-expired", [S2003, ev(0, "termservice", 1008, kind="evt")],
                cfg(("LicenseServers", ["LS2003"])))[0].remedy
    assert "The bundle names LS2003 (the local registry" in named


def test_2003_license_servers_are_read_from_the_subkeys_of_licenseservers():
    """2003 keeps one subkey per license server under TermService\\Parameters\\LicenseServers;
    only 2008's SpecifiedLicenseServers value was read (found by review, item 10)."""
    from analyzer import config as C
    from analyzer import timeline as tl
    from parsers import regfile
    lic = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\TermService\\Parameters\\" \
          "LicenseServers"
    text = ("Windows Registry Editor Version 5.00\r\n\r\n"
            f"[{lic}]\r\n\r\n[{lic}\\LS2003.corp.example]\r\n@=\"\"\r\n\r\n"
            f"[{lic}\\LS2003B]\r\n\"Note\"=\"backup\"\r\n\r\n")
    r = regfile.parse_text(text, "TS2003_lic.reg")
    cfg_ = C.effective_config(tl.finalize_part(r.frame, source="TS2003_lic.reg", host="TS2003"))
    row = C.get(cfg_, "TS2003", "LicenseServers")
    assert row["value"] == ["LS2003.corp.example", "LS2003B"]
    assert "subkeys of TermService\\Parameters\\LicenseServers" in row["display"]
    # 2008+: the SpecifiedLicenseServers value is the list, subkeys or not
    text2 = text + (f"[{lic}]\r\n"
                    "\"SpecifiedLicenseServers\"=hex(7):4c,00,53,00,31,00,00,00,00,00\r\n")
    r = regfile.parse_text(text2, "TS08_lic.reg")
    cfg_ = C.effective_config(tl.finalize_part(r.frame, source="TS08_lic.reg", host="TS08"))
    assert C.value(cfg_, "TS08", "LicenseServers") == ["LS1"]


# ----------------------------------------------------------------------------- item 4

#: The Binary of Ask the Performance Team's "The Curious Case of Event ID 56 with Source
#: TermDD": IO_ERROR_LOG_PACKET, ErrorCode / FinalStatus 0xC00A0038 at 0x0C / 0x14, and the
#: underlying error 0xD0000184 (HRESULT of NTSTATUS 0xC0000184) as the last DWORD.
ASKPERF_56 = ("00000400010000000000000038000AC00000000038000AC0000000000000000000000000"
              "00000000840100D0")


def _burst(binary: str, n: int = 15):
    return [ev(i * 0.3, "termdd", 56, ip="10.1.2.3",
               data={"param1": "\\Device\\Termdd", "param2": "10.1.2.3", "Binary": binary})
            for i in range(n)]


def test_generator_writes_the_real_termdd_binary_layout():
    from analyzer.sample import story
    from analyzer.sample.evtwriter import termdd_binary
    assert termdd_binary(0xC00A0038, 0xC0000184).hex().upper() == ASKPERF_56
    assert story.termdd_binary is termdd_binary
    b = termdd_binary(0xC00A0032)                  # no underlying error: DumpData 0
    assert len(b) == 0x2C and b[0x0C:0x10] == bytes.fromhex("32000ac0") == b[0x14:0x18]


def test_protocol_error_burst_names_the_underlying_error_not_the_hresult_as_status():
    """The last DWORD of a TermDD 56 is the underlying error as an HRESULT (0xD0000184 =
    NTSTATUS 0xC0000184 STATUS_INVALID_DEVICE_STATE); the event's status is at 0x0C. It was
    shown as "NTSTATUS 0xD0000184" and the remedy keyed on 0xC00A0038 bursts (found by
    review, item 4)."""
    f = run("protocol-error-burst", _burst(ASKPERF_56))[0]
    assert "NTSTATUS 0xC00A0038 ×15" in f.summary and "0xD0000184" not in f.summary
    assert "underlying error 0xC0000184 STATUS_INVALID_DEVICE_STATE (the server sent data " \
           "after the connection had broken) ×15" in f.summary
    assert "0xC0000184 STATUS_INVALID_DEVICE_STATE: the connection broke" in f.remedy
    assert "network path" in f.remedy and "0xC00A0038 (security-layer error)" not in f.remedy
    assert f.details == {"statuses": {"0xC00A0038": 15}, "causes": {"0xC0000184": 15}}


def test_protocol_error_burst_remedy_follows_the_underlying_error():
    from analyzer.sample.evtwriter import termdd_binary
    tls = run("protocol-error-burst", _burst(termdd_binary(0xC00A0038, 0x80090304).hex()))[0]
    assert "0x80090304 SEC_E_INTERNAL_ERROR" in tls.summary
    assert "TLS fails" in tls.remedy and "tls-certificate-problem" in tls.remedy
    assert "network path" not in tls.remedy
    slow = run("protocol-error-burst", _burst(termdd_binary(0xC00A0038, 0xC00000B5).hex()))[0]
    assert "0xC00000B5 STATUS_IO_TIMEOUT" in slow.summary and "keep-alive" in slow.remedy
    hours = run("protocol-error-burst", _burst(termdd_binary(0xC00A0038, 0xC000006F).hex()))[0]
    assert "Logon Hours" in hours.remedy
    odd = run("protocol-error-burst", _burst(termdd_binary(0xC00A0038, 0xC0000022).hex()))[0]
    assert "underlying error 0xC0000022 ×15" in odd.summary and "Look up 0xC0000022" in odd.remedy


def test_protocol_error_burst_reads_older_bundles_binary_layouts():
    """Bundles generated before the fix carry the status as the last DWORD (40 or 24 bytes,
    nothing at 0x0C); a real 16-byte first row ends with ErrorCode. All give the status and
    no underlying error: the security-layer step stays."""
    import struct
    old_evt = b"".join(struct.pack("<I", w) for w in [0x00040000] + [0] * 8 + [0xC00A0038])
    old_evtx = struct.pack("<HHHHIIII", 0, 4, 0, 0, 0xC00A0038, 0, 0, 0xC00A0038)
    for b in (old_evt.hex(), old_evtx.hex(), "00000000020030000000000038000AC0"):
        f = run("protocol-error-burst", _burst(b))[0]
        assert f.details == {"statuses": {"0xC00A0038": 15}, "causes": {}}, b
        assert "security-layer errors (0xC00A0038)" in f.remedy


def test_parsers_read_the_event_status_at_0x0c(tmp_path):
    """The parsers' ``ntstatus`` is the event's own status (ErrorCode, 0x0C), not the last
    DWORD (the underlying error), for .evtx and .evt alike."""
    from datetime import datetime, timezone

    import orjson

    from analyzer.sample import evtxwriter as W
    from analyzer.sample.evtwriter import EVENTLOG_ERROR_TYPE, EvtRecord, write_evt
    from parsers import evt, evtx
    t = datetime(2024, 2, 14, 12, 0, tzinfo=timezone.utc)
    W.write_evtx(tmp_path / "System.evtx", [W.Event(
        provider="TermDD", event_id=56, time=t, channel="System", computer="TS16X", level=2,
        qualifiers=49162, data=[(None, "\\Device\\Termdd"), (None, "10.1.2.3")],
        binary=bytes.fromhex(ASKPERF_56), process_id=4)])
    write_evt(tmp_path / "SysEvent.Evt", [EvtRecord(
        source="TermDD", computer="TS2003", event_id=56, qualifiers=0xC00A,
        event_type=EVENTLOG_ERROR_TYPE, strings=("\\Device\\Termdd", "10.1.2.3"),
        data=bytes.fromhex(ASKPERF_56), time_generated=t)])
    for res in (evtx.parse(tmp_path / "System.evtx"), evt.parse(tmp_path / "SysEvent.Evt")):
        d = orjson.loads(res.frame.iloc[0]["data"])
        assert d["ntstatus"] == "0xC00A0038" and d["Binary"].upper() == ASKPERF_56


def test_termdd_binary_without_dump_data_has_no_underlying_error():
    """DumpDataSize 0: bytes after the packet are not the driver's, and their last DWORD was
    read as the underlying error (0x00420041 from trailing text; found by the regression
    review)."""
    from parsers.eventcommon import termdd_codes
    packet = bytearray(bytes.fromhex(ASKPERF_56))
    assert termdd_codes(bytes(packet)) == (0xC00A0038, 0xD0000184)
    packet[2:4] = b"\0\0"                            # DumpDataSize 0
    junk = bytes(packet[:0x28]) + "AB".encode("utf-16-le")
    assert termdd_codes(junk) == (0xC00A0038, None)
