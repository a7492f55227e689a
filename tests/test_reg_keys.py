"""Registry keys without values (``reg:key`` rows): the .reg and ``reg query`` parsers name
them, and the configuration reads 2003's license servers from them.

On Windows Server 2003 a license server is named by a *subkey* of
``HKLM\\SYSTEM\\CurrentControlSet\\Services\\TermService\\Parameters\\LicenseServers``, which is
usually empty (KB301932 "Terminal Services Licensing service discovery", Method 1, citing
KB279561). The parsers wrote one row per value, so an empty ``LicenseServers\\LS01`` reached
nothing and a 2003 host looked as if no license server were configured (found by review).
The hive parser's key rows are tested in tests/test_reg_hive.py."""
from __future__ import annotations

import codecs
from pathlib import Path

import orjson
import pytest

import analyzer
from analyzer import config as C
from analyzer import timeline as tl
from analyzer.engine import analyze_bundle
from analyzer.sample import write_bundle
from parsers import regfile, regquery

HKLM = "HKEY_LOCAL_MACHINE"
PARAMS = r"SYSTEM\CurrentControlSet\Services\TermService\Parameters"
LIC = PARAMS + r"\LicenseServers"
NORM = "HKLM\\" + LIC


def rows(res, event_type: str) -> list[tuple[str, dict]]:
    """(locator, data) of the rows of one event type."""
    return [(loc, orjson.loads(d)) for et, loc, d in
            zip(res.frame["event_type"], res.frame["locator"], res.frame["data"])
            if et == event_type]


# --------------------------------------------------------------------------- .reg exports

EXPORT_2003 = (
    "Windows Registry Editor Version 5.00\r\n"
    "\r\n"
    f"[{HKLM}\\{PARAMS}]\r\n"                                   # line 3
    '"Certificate"=hex:01,02\r\n'
    "\r\n"
    f"[{HKLM}\\{LIC}]\r\n"                                      # line 6: empty
    "\r\n"
    f"[{HKLM}\\{LIC}\\LS01]\r\n"                                # line 8: empty
    "\r\n"
    f"[{HKLM}\\SYSTEM\\ControlSet001\\Control\\Terminal Server\\Wds]\r\n"   # line 10: empty
    "\r\n"
    f"[{HKLM}\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server]\r\n"    # line 12
    '"fDenyTSConnections"=dword:00000000\r\n'
    "\r\n"
    f"[-{HKLM}\\SOFTWARE\\Old]\r\n"                             # line 15: a deletion
    "\r\n")


def test_a_reg_export_names_the_keys_that_hold_no_value():
    res = regfile.parse_text(EXPORT_2003, "TS2003_TermService.reg")
    assert res.warnings == []
    assert set(res.frame["kind"]) == {"reg"}
    keys = rows(res, "reg:key")
    assert keys == [
        (f"line 6 [{NORM}]", {"hive": "HKLM", "key": NORM, "key_original": f"{HKLM}\\{LIC}"}),
        (f"line 8 [{NORM}\\LS01]", {"hive": "HKLM", "key": NORM + "\\LS01",
                                    "key_original": f"{HKLM}\\{LIC}\\LS01"}),
        (r"line 10 [HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\Wds]",
         {"hive": "HKLM", "key": r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\Wds",
          "key_original": HKLM + r"\SYSTEM\ControlSet001\Control\Terminal Server\Wds"}),
    ]
    # keys with values get no extra row; a deletion stays a deletion
    assert [d["name"] for _, d in rows(res, "reg:value")] == ["Certificate", "fDenyTSConnections"]
    assert [loc for loc, _ in rows(res, "reg:key-deleted")] == [r"line 15 [HKLM\SOFTWARE\Old]"]
    assert len(res.frame) == 6


def test_a_key_written_again_with_values_gets_no_key_row():
    """regedit writes each key once; a script that writes one twice, once empty, names it
    by its values alone (no row per key of a big export that holds values)."""
    text = ("Windows Registry Editor Version 5.00\r\n\r\n"
            f"[{HKLM}\\{LIC}\\LS01]\r\n\r\n"
            f"[{HKLM}\\{PARAMS}]\r\n\"A\"=dword:00000001\r\n\r\n"
            f"[{HKLM.lower()}\\{LIC}\\ls01]\r\n\"Note\"=\"backup\"\r\n")
    res = regfile.parse_text(text, "x.reg")
    assert rows(res, "reg:key") == []
    assert len(res.frame) == 2
    # REGEDIT4 (2003's "Win9x/NT4 registration file" save) and a file without a final
    # newline: the last key is empty, and still named
    text4 = f"REGEDIT4\r\n\r\n[{HKLM}\\{PARAMS}]\r\n\"A\"=dword:00000001\r\n\r\n[{HKLM}\\{LIC}\\LS01]"
    assert [loc for loc, _ in rows(regfile.parse_text(text4, "x.reg"), "reg:key")] == \
        [f"line 6 [{NORM}\\LS01]"]


def test_corpus_exports_keep_their_values_and_name_their_empty_keys(corpus):
    """Real .reg files: the values are read as before; the keys regedit wrote without
    values (the CredSSP parent key, the HKCR\\rdp\\shell verbs) are now rows too."""
    res = regfile.parse(corpus / "reg" / "ducbo__rdp.reg")
    assert [loc for loc, _ in rows(res, "reg:key")] == [
        r"line 3 [HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\CredSSP]"]
    assert [(d["name"], d["value"]) for _, d in rows(res, "reg:value")] == \
        [("", ""), ("AllowEncryptionOracle", 2)]
    res = regfile.parse(corpus / "reg" / "dusyachkin__RDP_url_handler.reg")
    assert [(loc, d["hive"]) for loc, d in rows(res, "reg:key")] == [
        (r"line 8 [HKCR\rdp\shell]", "HKCR"), (r"line 10 [HKCR\rdp\shell\open]", "HKCR")]
    assert len(rows(res, "reg:value")) == 4
    res = regfile.parse(corpus / "reg" / "gregchuchro__RDP.reg")     # every key has values
    assert rows(res, "reg:key") == [] and len(res.frame) == 3


# --------------------------------------------------------------------------- reg query

#: ``reg query "...\\Parameters" /s`` (Vista+ layout): every subkey is printed, empty ones
#: too; Wine's reimplementation (programs/reg/query.c, query_all) prints a key's path when it
#: has values or is reached by the recursion.
QUERY_S = (f"\r\n{HKLM}\\{PARAMS}\r\n"                     # line 2
           "    Certificate    REG_BINARY    0102\r\n"
           "\r\n"
           f"{HKLM}\\{LIC}\r\n"                           # line 5
           "\r\n"
           f"{HKLM}\\{LIC}\\LS01\r\n"                     # line 7
           "\r\n")
#: ``reg query "...\\Parameters"`` without /s: the values, then the subkeys' paths (query_all
#: prints ``path\\subkey`` for each), with nothing under them.
QUERY_FLAT = (f"\r\n{HKLM}\\{PARAMS}\r\n"
              "    Certificate    REG_BINARY    0102\r\n"
              "\r\n"
              f"{HKLM}\\{LIC}\r\n")                      # line 5


def test_reg_query_names_the_keys_it_shows_without_values():
    res = regquery.parse_text(QUERY_S, "TS2003_query.txt")
    assert res.warnings == []
    assert rows(res, "reg:key") == [
        (f"line 5 [{NORM}]", {"hive": "HKLM", "key": NORM, "key_original": f"{HKLM}\\{LIC}"}),
        (f"line 7 [{NORM}\\LS01]", {"hive": "HKLM", "key": NORM + "\\LS01",
                                    "key_original": f"{HKLM}\\{LIC}\\LS01"})]
    assert [d["name"] for _, d in rows(res, "reg:value")] == ["Certificate"]
    assert len(res.frame) == 3
    flat = regquery.parse_text(QUERY_FLAT, "q.txt")
    assert [loc for loc, _ in rows(flat, "reg:key")] == [f"line 5 [{NORM}]"]
    # a key with values gets no extra row; "(value not set)" is no value
    res = regquery.parse_text(f"{HKLM}\\{LIC}\\LS01\r\n    (Default)    REG_SZ    (value not set)\r\n"
                              f"\r\n{HKLM}\\{PARAMS}\r\n    A    REG_DWORD    0x1\r\n", "q.txt")
    assert [loc for loc, _ in rows(res, "reg:key")] == [f"line 1 [{NORM}\\LS01]"]
    assert len(res.frame) == 2


# --------------------------------------------------------------------------- configuration


def _config(text: str, parse=regfile.parse_text, host: str = "TS2003"):
    res = parse(text, f"{host}_lic.reg")
    return C.effective_config(tl.finalize_part(res.frame, source=f"{host}_lic.reg", host=host))


def test_an_empty_licenseservers_subkey_names_the_2003_license_server():
    cfg = _config(EXPORT_2003)
    row = C.get(cfg, "TS2003", "LicenseServers")
    assert row["value"] == ["LS01"] and row["origin"] == "local"
    assert row["display"] == "LS01 (subkeys of TermService\\Parameters\\LicenseServers)"
    assert row["locator"] == f"line 8 [{NORM}\\LS01]"
    # the empty keys set nothing else
    assert set(cfg[~cfg["is_default"]]["setting"]) == {"LicenseServers", "fDenyTSConnections",
                                                       "CertificateValues"}
    # reg query text says the same
    assert C.value(_config(QUERY_S, regquery.parse_text), "TS2003", "LicenseServers") == ["LS01"]


def test_an_empty_licenseservers_subkey_follows_the_control_set_and_deletion_rules():
    head = "Windows Registry Editor Version 5.00\r\n\r\n"
    sel = f"[{HKLM}\\SYSTEM\\Select]\r\n\"Current\"=dword:00000001\r\n\r\n"
    cs2 = LIC.replace("CurrentControlSet", "ControlSet002")
    # LastKnownGood's (ControlSet002, not Select\Current) subkey is not what runs
    cfg = _config(head + sel + f"[{HKLM}\\{cs2}\\LS02]\r\n\r\n")
    assert C.get(cfg, "TS2003", "LicenseServers") is None
    cs1 = LIC.replace("CurrentControlSet", "ControlSet001")
    cfg = _config(head + sel + f"[{HKLM}\\{cs2}\\LS02]\r\n\r\n[{HKLM}\\{cs1}\\LS01]\r\n\r\n")
    assert C.value(cfg, "TS2003", "LicenseServers") == ["LS01"]
    # a key the script deletes further down names nothing; a value deletion is no key's
    cfg = _config(head + f"[{HKLM}\\{LIC}\\LS01]\r\n\r\n[-{HKLM}\\{LIC}]\r\n\r\n")
    assert C.get(cfg, "TS2003", "LicenseServers") is None
    cfg = _config(head + f"[{HKLM}\\{LIC}\\LS01]\r\n\r\n[{HKLM}\\{LIC}\\LS01]\r\n@=-\r\n\r\n")
    assert C.value(cfg, "TS2003", "LicenseServers") == ["LS01"]


def test_the_specifiedlicenseservers_subkey_is_no_license_server():
    """Microsoft Learn's "Remote Desktop licensing mode is not configured warning when you
    connect to an RD Session Host" (Use Registry Editor) names the 2008+ list at
    ``LicenseServers\\SpecifiedLicenseServers`` (value ``SpecifiedLicenseServers``): that
    subkey, empty or not, names no server called "SpecifiedLicenseServers"."""
    head = "Windows Registry Editor Version 5.00\r\n\r\n"
    cfg = _config(head + f"[{HKLM}\\{LIC}\\SpecifiedLicenseServers]\r\n\r\n", host="TS08")
    assert C.get(cfg, "TS08", "LicenseServers") is None
    cfg = _config(head + f"[{HKLM}\\{LIC}\\SpecifiedLicenseServers]\r\n"
                  '"SpecifiedLicenseServers"=hex(7):4c,00,53,00,31,00,00,00,00,00\r\n\r\n', host="TS08")
    assert C.value(cfg, "TS08", "LicenseServers") == ["LS1"]


# --------------------------------------------------------------------------- detectors


def _utf16(text: str) -> bytes:
    return codecs.BOM_UTF16_LE + text.replace("\n", "\r\n").encode("utf-16-le")


LS01_EXPORT = ("Windows Registry Editor Version 5.00\n\n"
               f"[{HKLM}\\{LIC}]\n\n[{HKLM}\\{LIC}\\LS01]\n\n")


def _bundle_2003(tmp_path: Path, scenario: str, host: str, *, drop_tsappcompat=False) -> Path:
    """A generated 2003 bundle plus an export whose only license-server information is the
    empty ``LicenseServers\\LS01`` subkey."""
    d = write_bundle(scenario, tmp_path / scenario, seed=0, fmt="dir")
    logs = d / f"{host}_Logs"
    if drop_tsappcompat:
        ts = logs / "Control-TerminalServer.reg"
        text = ts.read_bytes().decode("utf-16")
        assert '"TSAppCompat"=dword:00000000\r\n' in text
        ts.write_bytes(_utf16(text.replace('"TSAppCompat"=dword:00000000\r\n', "")
                              .replace("\r\n", "\n")))
    (logs / "Services-TermService-LicenseServers.reg").write_bytes(_utf16(LS01_EXPORT))
    return d


def test_a_2003_server_with_an_empty_licenseservers_subkey_is_licensed(tmp_path):
    """2003 without TSAppCompat in the export: the licensing configuration decides whether
    the server is in Remote Desktop for Administration mode. The empty LS01 subkey is one,
    so two remote sessions are not "both administrative sessions in use"."""
    b = analyzer.load(_bundle_2003(tmp_path, "admin-sessions-exhausted", "TS2003ADM",
                                   drop_tsappcompat=True))
    row = C.get(b.config, "TS2003ADM", "LicenseServers")
    assert row["value"] == ["LS01"]
    assert row["source"].endswith("Services-TermService-LicenseServers.reg")
    assert C.get(b.config, "TS2003ADM", "TSAppCompat") is None
    r = analyze_bundle(b)
    assert "admin-sessions-exhausted" not in [f.id for f in r.report.findings]
    chk = r.checks[r.checks["id"] == "admin-sessions-exhausted"]
    assert set(chk["status"]) == {"pass"}


def test_licensing_grace_expired_on_2003_names_the_server_of_an_empty_subkey(tmp_path):
    b = analyzer.load(_bundle_2003(tmp_path, "licensing-grace-expired", "TS2003LIC"))
    assert C.value(b.config, "TS2003LIC", "LicenseServers") == ["LS01"]
    f = [f for f in analyze_bundle(b).report.findings if f.id == "licensing-grace-expired"]
    assert len(f) == 1
    assert "The bundle names LS01 (the local registry" in f[0].remedy
    assert "check that it is reachable and activated" in f[0].remedy


def test_analyze_reads_the_empty_licenseservers_subkey(tmp_path):
    r = analyzer.analyze(_bundle_2003(tmp_path, "admin-sessions-exhausted", "TS2003ADM",
                                      drop_tsappcompat=True))
    assert "admin-sessions-exhausted" not in [f.id for f in r.report.findings]


def test_analyze_reads_a_deletion_line_of_a_reg_script(tmp_path):
    """``analyze`` handed the configuration only value and policy rows: a ``.reg`` script's
    ``"PortNumber"=-`` did not cancel the PortNumber set above it (3390 under ``analyze``,
    the default 3389 through ``Bundle.config``; found by review)."""
    d = write_bundle("healthy-2003", tmp_path / "h", seed=0, fmt="dir")
    (host,) = [p.name[: -len("_Logs")] for p in d.iterdir() if p.name.endswith("_Logs")]
    rdp_tcp = r"SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp"
    (d / f"{host}_Logs" / "port-change-undone.reg").write_bytes(_utf16(
        "Windows Registry Editor Version 5.00\n\n"
        f"[{HKLM}\\{rdp_tcp}]\n\"PortNumber\"=dword:00000d3e\n\n"
        f"[{HKLM}\\{rdp_tcp}]\n\"PortNumber\"=-\n\n"))
    r = analyzer.analyze(d)
    assert C.value(r.config, host, "PortNumber") != 3390
    assert "port-nondefault" not in [f.id for f in r.report.findings]


# --------------------------------------------------------------------------- what a key row says


def test_a_key_row_says_no_values_are_shown_and_why_when_known():
    """A ``reg:key`` row said "(key without values)" (found by review) where the input only
    shows none: ``reg query`` without ``/s`` lists subkeys whose values it never queried, and
    a ``.reg`` key whose value lines could not be read may hold values."""
    flat = (f"\r\n{HKLM}\\{PARAMS}\r\n"
            "    Certificate    REG_BINARY    0102\r\n"
            "\r\n"
            f"{HKLM}\\{LIC}\r\n"                                 # line 5: listed
            f"{HKLM}\\{PARAMS}\\Parameters2\r\n"                 # line 6: listed
            "\r\n"
            f"{HKLM}\\{LIC}\r\n"                                 # line 8: queried, no values
            f"{HKLM}\\{LIC}\\LS01\r\n")                          # line 9: listed
    res = regquery.parse_text(flat, "q.txt")
    got = [(loc, msg, d.get("values")) for (loc, d), msg in
           zip(rows(res, "reg:key"), res.frame[res.frame["event_type"] == "reg:key"]["message"])]
    assert got == [
        (f"line 5 [{NORM}]", f"{NORM} (no values shown: not queried)", "not queried"),
        (f"line 6 [HKLM\\{PARAMS}\\Parameters2]",
         f"HKLM\\{PARAMS}\\Parameters2 (no values shown: not queried)", "not queried"),
        (f"line 8 [{NORM}]", f"{NORM} (no values shown)", None),
        (f"line 9 [{NORM}\\LS01]", f"{NORM}\\LS01 (no values shown: not queried)", "not queried")]
    # /s ends every key with a blank line: its empty keys are queried, and say no reason
    assert [d.get("values") for _, d in rows(regquery.parse_text(QUERY_S, "q.txt"), "reg:key")] \
        == [None, None]
    # .reg: every value line of the key failed to read
    text = ("Windows Registry Editor Version 5.00\r\n\r\n"
            f"[{HKLM}\\{PARAMS}]\r\n\"A\"=dword:xyz\r\n\r\n[{HKLM}\\{LIC}\\LS01]\r\n\r\n")
    res = regfile.parse_text(text, "x.reg")
    assert len(res.warnings) == 1
    got = dict(zip(res.frame["locator"], res.frame["message"]))
    assert got == {f"line 3 [HKLM\\{PARAMS}]": f"HKLM\\{PARAMS} (no values shown: unreadable)",
                   f"line 6 [{NORM}\\LS01]": f"{NORM}\\LS01 (no values shown)"}


def test_a_key_spelled_two_ways_with_values_under_one_gets_no_key_row():
    """The "has values" test compared the key as written: an empty ``[HKEY_LOCAL_MACHINE\\X]``
    kept its key row though ``[HKLM\\X]`` held values (found by review)."""
    text = ("Windows Registry Editor Version 5.00\r\n\r\n"
            f"[{HKLM}\\{PARAMS}]\r\n\r\n"
            f"[HKLM\\{PARAMS}]\r\n\"A\"=dword:00000001\r\n")
    res = regfile.parse_text(text, "x.reg")
    assert rows(res, "reg:key") == [] and len(res.frame) == 1
    q = (f"\r\n{HKLM}\\{PARAMS}\r\n\r\nHKLM\\{PARAMS}\r\n    A    REG_DWORD    0x1\r\n")
    res = regquery.parse_text(q, "q.txt")
    assert rows(res, "reg:key") == [] and len(res.frame) == 1
