"""Registry keys without values (``reg:key`` rows): the .reg and ``reg query`` parsers name
them.

On Windows Server 2003 a license server is named by a *subkey* of
``HKLM\\SYSTEM\\CurrentControlSet\\Services\\TermService\\Parameters\\LicenseServers``, which is
usually empty (KB301932 "Terminal Services Licensing service discovery", Method 1, citing
KB279561). The parsers wrote one row per value, so an empty ``LicenseServers\\LS01`` reached
nothing and a 2003 host looked as if no license server were configured (found by review).
The hive parser's key rows are tested in tests/test_reg_hive.py."""
from __future__ import annotations

import orjson

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
