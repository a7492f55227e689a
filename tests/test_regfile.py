""".reg exports and pasted `reg query` text: corpus files in place, hand-written fixtures,
bad input, and a hypothesis round trip through both .reg formats."""
from __future__ import annotations

import codecs
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import parsers
from parsers import regcommon, regfile, regquery
from parsers.base import NotMyFormat

from conftest import corpus_files, ids

FIX = Path(__file__).parent / "fixtures" / "reg"
REG_CORPUS = corpus_files("reg")


def values(res) -> dict[tuple[str, str], dict]:
    """{(normalised key, value name): data} of the reg:value rows."""
    out = {}
    for et, d in zip(res.frame["event_type"], res.frame["data"]):
        if et == "reg:value":
            d = orjson.loads(d)
            out[(d["key"], d["name"])] = d
    return out


TS = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server"
RDPTCP = TS + r"\WinStations\RDP-Tcp"
CREDSSP = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\CredSSP\Parameters"


# --------------------------------------------------------------------------- corpus


@pytest.mark.parametrize("path", REG_CORPUS, ids=ids(REG_CORPUS))
def test_corpus_file_is_recognised_and_parses_cleanly(path):
    head = path.read_bytes()[:65536]
    assert parsers.identify(head, path.name) is regfile
    res = regfile.parse(path)
    assert res.warnings == []
    assert len(res.frame) > 0
    assert set(res.frame["kind"]) == {"reg"}
    assert res.frame["locator"].str.match(r"^line \d+ \[").all()


def _corpus(name):
    p = [x for x in REG_CORPUS if x.name == name]
    if not p:
        pytest.skip(f"corpus file {name} not present")
    return p[0]


@pytest.mark.parametrize("name,line", [("nickneymos__CredSSP_utf16.reg", 6),
                                       ("zhouxing__CredSSP.reg", 5),
                                       ("ducbo__rdp.reg", 7)])
def test_credssp_allow_encryption_oracle(name, line):
    v = values(regfile.parse(_corpus(name)))
    d = v[(CREDSSP, "AllowEncryptionOracle")]
    assert d["value"] == 2 and d["type"] == "REG_DWORD" and d["hive"] == "HKLM"
    res = regfile.parse(_corpus(name))
    assert f"line {line} [" in " ".join(res.frame["locator"])


def test_credssp_utf16_export_encoding_and_zhouxing_lower_case_software():
    res = regfile.parse(_corpus("nickneymos__CredSSP_utf16.reg"))
    assert res.stats["encoding"] == "utf-16-le"
    d = values(regfile.parse(_corpus("zhouxing__CredSSP.reg")))[(CREDSSP, "AllowEncryptionOracle")]
    assert d["key_original"].startswith(r"HKEY_LOCAL_MACHINE\Software\Microsoft")


def test_ducbo_default_value_is_empty_string_named_empty():
    v = values(regfile.parse(_corpus("ducbo__rdp.reg")))
    assert v[(CREDSSP, "")]["value"] == "" and v[(CREDSSP, "")]["type"] == "REG_SZ"


def test_gregchuchro_comments_inside_keys():
    v = values(regfile.parse(_corpus("gregchuchro__RDP.reg")))
    assert v[(TS, "fDenyTSConnections")]["value"] == 0
    assert v[(RDPTCP, "UserAuthentication")]["value"] == 0
    assert v[(r"HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services\Client",
              "fClientDisableUDP")]["value"] == 1
    assert len(v) == 3


def test_winapps_indented_keys_and_values():
    res = regfile.parse(_corpus("winapps__RDPApps.reg"))
    v = values(res)
    assert len(v) == 7
    assert v[(RDPTCP, "UserAuthentication")]["value"] == 1
    assert v[(r"HKCU\Software\Microsoft\Windows\CurrentVersion\Explorer\Advanced",
              "EnableSnapBar")]["value"] == 0
    assert v[(r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon",
              "AutoAdminLogon")]["value"] == "0"


def test_no_final_newline_and_crlf():
    v = values(regfile.parse(_corpus("necessarymountain__Enable_RDP.reg")))
    assert v == {(TS, "fDenyTSConnections"): v[(TS, "fDenyTSConnections")]}
    assert v[(TS, "fDenyTSConnections")]["value"] == 0


def test_url_handler_default_with_percent_and_lone_space_lines():
    v = values(regfile.parse(_corpus("dusyachkin__RDP_url_handler.reg")))
    assert v[(r"HKCR\rdp", "URL Protocol")]["value"] == ""
    assert v[(r"HKCR\rdp\shell\open\command", "")]["value"].startswith("cmd /V:ON  /c setlocal")
    assert v[(r"HKCR\rdp", "EditFlags")]["value"] == 2


# --------------------------------------------------------------------------- fixtures


def test_full_terminal_server_export():
    res = regfile.parse(FIX / "ts2019_full_export.reg")
    assert res.warnings == []
    v = values(res)
    assert v[(RDPTCP, "PortNumber")]["value"] == 3389
    assert v[(RDPTCP, "SecurityLayer")]["value"] == 1
    assert v[(RDPTCP, "MaxInstanceCount")]["value"] == 0xFFFFFFFF
    h = v[(RDPTCP, "SSLCertificateSHA1Hash")]
    assert h["type"] == "REG_BINARY" and h["raw"] == "3f2a9c1e5b7d4e6f8a0b1c2d3e4f5a6b7c8d9e0f"
    assert v[(TS, "RCDependentServices")]["value"] == ["CertPropSvc", "SessionEnv"]
    assert v[(TS + r"\Wds\rdpwd", "StartupPrograms")]["value"] == "rdpclip"
    assert v[(RDPTCP, "WdName")]["type"] == "REG_EXPAND_SZ"
    assert v[(RDPTCP, "InitialProgram")]["value"] == r'C:\Program Files\App "Pro"\app.exe'
    cert = v[(TS + r"\RCM", "X509 Certificate")]
    assert len(bytes.fromhex(cert["raw"])) == 300          # wrapped over 13 lines
    assert v[(TS + r"\RCM\Licensing Core", "LicensingMode")]["value"] == 4
    assert v[(TS + r"\Wds\rdpwd\Tds\tcp", "PortNumber")]["value"] == 3389


def test_2003_export_controlset001_is_current_control_set():
    v = values(regfile.parse(FIX / "ts2003_termservice_certs.reg"))
    params = r"HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters"
    assert {n for (k, n) in v if k == params} == {"Certificate", "X509 Certificate",
                                                   "X509 Certificate ID"}
    d = v[(params, "Certificate")]
    assert d["key_original"] == r"HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Services\TermService\Parameters"
    assert len(bytes.fromhex(d["raw"])) == 184
    assert v[(r"HKLM\SYSTEM\CurrentControlSet\Services\TermService", "DependOnService")]["value"] \
        == ["RPCSS", "TermDD"]
    assert v[(r"HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters", "EnableTCPChimney")]["value"] == 1


def test_regedit4_ansi_typed_hex_qword_and_deletions():
    res = regfile.parse(FIX / "regedit4_policies.reg")
    assert res.warnings == []
    assert res.stats["format"] == "REGEDIT4"
    pol = r"HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services"
    v = values(res)
    assert v[(pol, "ProfilePath")] == {**v[(pol, "ProfilePath")], "type": "REG_EXPAND_SZ",
                                       "value": "%SystemDrive%\\Profiles\\Café"}
    assert v[(pol, "Servers")]["value"] == ["ts01", "ts02", "Ümlaut"]
    assert v[(pol, "Big")]["value"] == 0x0000000100001000 and v[(pol, "Big")]["type"] == "REG_QWORD"
    assert v[(r"HKCU\Software\Policies\Microsoft\Windows NT\Terminal Services", "MaxIdleTime")]["value"] == 900000
    et = list(res.frame["event_type"])
    assert et.count("reg:value-deleted") == 1 and et.count("reg:key-deleted") == 1
    deleted = [orjson.loads(d) for e, d in zip(res.frame["event_type"], res.frame["data"])
               if e == "reg:key-deleted"][0]
    assert deleted["key"] == pol + r"\Old"


def test_reg_query_text():
    path = FIX / "regquery_rdptcp.txt"
    assert parsers.identify(path.read_bytes(), path.name) is regquery
    res = regquery.parse(path)
    assert res.warnings == []
    v = values(res)
    assert v[(RDPTCP, "PortNumber")]["value"] == 3389
    assert v[(RDPTCP, "SecurityLayer")]["value"] == 0
    assert v[(RDPTCP, "SSLCertificateSHA1Hash")]["raw"] == "3f2a9c1e5b7d4e6f8a0b1c2d3e4f5a6b7c8d9e0f"
    assert v[(RDPTCP, "")]["value"] == ""
    svc = r"HKLM\SYSTEM\CurrentControlSet\Services\TermService"
    assert v[(svc, "DependOnService")]["value"] == ["RPCSS", "TermDD"]
    assert v[(svc, "ImagePath")]["value"].endswith("-k NetworkService")
    assert res.frame["locator"].iloc[0] == f"line 6 [{RDPTCP}]"


def test_reg_query_xp_tabs():
    text = ("! REG.EXE VERSION 3.0\n\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\"
            "Terminal Server\n    fDenyTSConnections\tREG_DWORD\t0x1\n    <NO NAME>\tREG_SZ\t\n")
    res = regquery.parse_text(text, "x.txt")
    v = values(res)
    assert v[(TS, "fDenyTSConnections")]["value"] == 1 and (TS, "") in v


# --------------------------------------------------------------------------- bad input


def test_bad_lines_become_warnings_with_line_numbers():
    text = ("Windows Registry Editor Version 5.00\n\n\"orphan\"=dword:1\n[HKEY_LOCAL_MACHINE\\A]\n"
            "\"ok\"=dword:00000001\n\"bad\"=dword:zz\n\"hex\"=hex:0g,11\n\"str\"=\"unterminated\n"
            "garbage line\n[HKEY_LOCAL_MACHINE\\B\n\"after\"=dword:2\n")
    res = regfile.parse_text(text, "t.reg")
    assert [w.locator for w in res.warnings] == ["line 3", "line 6", "line 7", "line 8", "line 9",
                                                 "line 10", "line 11"]
    assert values(res) == {(r"HKLM\A", "ok"): values(res)[(r"HKLM\A", "ok")]}


def test_not_a_registry_script():
    assert not regfile.sniff(b"hello\r\nWindows Registry Editor Version 5.00\r\n")
    with pytest.raises(NotMyFormat):
        regfile.parse_text("just text", "x")


def test_key_normalisation():
    assert regcommon.normalize_key(r"HKEY_LOCAL_MACHINE\System\ControlSet002\Services") == \
        ("HKLM", r"HKLM\SYSTEM\CurrentControlSet\Services")
    assert regcommon.normalize_key(r"HKLM\software\x")[1] == r"HKLM\SOFTWARE\x"
    assert regcommon.key_equal(r"HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Control",
                               r"hklm\system\currentcontrolset\control")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise_anything_but_not_my_format(blob):
    for data in (b"Windows Registry Editor Version 5.00\r\n" + blob, b"REGEDIT4\n" + blob,
                 codecs.BOM_UTF16_LE + "Windows Registry Editor Version 5.00\r\n".encode("utf-16-le") + blob):
        text, _ = regcommon.decode_text(data)
        try:
            regfile.parse_text(text, "fuzz.reg")
        except NotMyFormat:
            pass
    try:
        regquery.parse_text(regcommon.decode_text(b"HKEY_LOCAL_MACHINE\\X\n    " + blob)[0], "q")
    except NotMyFormat:
        pass


# --------------------------------------------------------------------------- round trip


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def _hexlist(prefix: str, data: bytes) -> str:
    """Write data the way regedit does: 'prefix' + bytes, wrapped with ',\\' lines."""
    parts = [f"{b:02x}" for b in data]
    lines, cur = [], prefix
    for i, p in enumerate(parts):
        piece = p + ("," if i < len(parts) - 1 else "")
        if len(cur) + len(piece) > 76 and i < len(parts) - 1:
            lines.append(cur + "\\")
            cur = "  "
        cur += piece
    lines.append(cur)
    return "\n".join(lines)


def write_reg(keys: dict[str, list[tuple[str, str, object]]], version: str) -> bytes:
    """Our own .reg writer for the round trip (5.00: UTF-16LE+BOM, CRLF; 4: cp1252, LF)."""
    ansi = version == "4"
    enc_str = (lambda s: s.encode("cp1252") + b"\0") if ansi else (lambda s: s.encode("utf-16-le") + b"\0\0")
    out = ["REGEDIT4" if ansi else "Windows Registry Editor Version 5.00", ""]
    for key, vals in keys.items():
        out.append(f"[{key}]")
        for name, typ, val in vals:
            lhs = "@" if name == "" else f'"{_esc(name)}"'
            if typ == "REG_SZ":
                out.append(f'{lhs}="{_esc(val)}"')
            elif typ == "REG_DWORD":
                out.append(f"{lhs}=dword:{val:08x}")
            elif typ == "REG_BINARY":
                out.append(_hexlist(f"{lhs}=hex:", val))
            elif typ == "REG_EXPAND_SZ":
                out.append(_hexlist(f"{lhs}=hex(2):", enc_str(val)))
            elif typ == "REG_MULTI_SZ":
                blob = b"".join(enc_str(x) for x in val) + (b"\0" if ansi else b"\0\0")
                out.append(_hexlist(f"{lhs}=hex(7):", blob))
            elif typ == "REG_QWORD":
                out.append(_hexlist(f"{lhs}=hex(b):", val.to_bytes(8, "little")))
        out.append("")
    if ansi:
        return "\n".join(out).encode("cp1252")
    return codecs.BOM_UTF16_LE + "\r\n".join(out).encode("utf-16-le")


_CP1252_TEXT = st.characters(codec="cp1252", exclude_characters="\x00\r\n\x1a",
                             exclude_categories=("Cs",))
_UNI_TEXT = st.characters(exclude_characters="\x00\r\n", exclude_categories=("Cs",))


def _values(chars):
    text = st.text(chars, max_size=30)
    nonempty = st.text(chars, min_size=1, max_size=12)
    return st.one_of(
        st.tuples(st.just("REG_SZ"), text),
        st.tuples(st.just("REG_DWORD"), st.integers(0, 0xFFFFFFFF)),
        st.tuples(st.just("REG_QWORD"), st.integers(0, 2**64 - 1)),
        st.tuples(st.just("REG_BINARY"), st.binary(max_size=120)),
        st.tuples(st.just("REG_EXPAND_SZ"), text),
        st.tuples(st.just("REG_MULTI_SZ"), st.lists(nonempty, max_size=4)),
    )


def _keys(chars):
    comp = st.text(st.characters(codec="ascii", categories=("L", "N"), include_characters=" -_."),
                   min_size=1, max_size=12).map(str.strip).filter(bool)
    key = st.lists(comp, min_size=1, max_size=4).map(lambda p: "HKEY_LOCAL_MACHINE\\SOFTWARE\\" + "\\".join(p))
    name = st.text(chars, max_size=15).filter(lambda s: s.strip() == s)
    vals = st.dictionaries(name, _values(chars), max_size=5)
    return st.dictionaries(key, vals, min_size=1, max_size=4)


def _roundtrip(keys, version):
    path_keys = {k: [(n, t, v) for n, (t, v) in vals.items()] for k, vals in keys.items()}
    # keys that differ only in case are one key in the registry: keep the first
    seen, dedup = set(), {}
    for k, v in path_keys.items():
        if k.lower() not in seen:
            seen.add(k.lower())
            dedup[k] = v
    data = write_reg(dedup, version)
    if version == "4" and not data.isascii():
        # a BOM-less file that is valid UTF-8 is read as UTF-8 (what editors and newer tools
        # write); cp1252 bytes that happen to form UTF-8 (F0 A0 A0 8C = "ð  Œ" or U+2080C)
        # cannot be told apart, so such draws are no counterexample
        try:
            data.decode("utf-8")
            assume(False)
        except UnicodeDecodeError:
            pass
    text, _ = regcommon.decode_text(data)
    res = regfile.parse_text(text, "rt.reg")
    assert res.warnings == []
    got = values(res)
    expected = {}
    for k, vals in dedup.items():
        for n, t, v in vals:
            expected[(regcommon.normalize_key(k)[1], n)] = (t, v.hex() if t == "REG_BINARY" else v)
    assert {k: (d["type"], d["value"]) for k, d in got.items()} == expected


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_keys(_UNI_TEXT))
def test_roundtrip_version_500_utf16(keys):
    _roundtrip(keys, "5.00")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_keys(_CP1252_TEXT))
def test_roundtrip_regedit4_ansi(keys):
    _roundtrip(keys, "4")


def test_ansi_export_in_an_unknown_code_page_is_a_warning(tmp_path):
    """REGEDIT4 is written in the server's ANSI code page, which the file does not name: a
    non-UTF-8 file is read as Windows-1252 and says so (a Cyrillic server's group names
    would otherwise come out wrong without a word)."""
    key = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server"
    body = f'REGEDIT4\r\n\r\n[{key}]\r\n"fDenyTSConnections"=dword:00000000\r\n' \
           '"Note"="Пользователи удаленного рабочего стола"\r\n'
    p = tmp_path / "ts.reg"
    p.write_bytes(body.encode("cp1251"))
    res = regfile.parse(p)
    assert res.stats["encoding"] == "cp1252"
    assert [w.locator for w in res.warnings] == ["line 1"]
    assert "Windows-1252" in res.warnings[0].message
    assert values(res)[(TS, "fDenyTSConnections")]["value"] == 0
    # the same text in UTF-16 (regedit 5.00) is exact and silent
    p.write_bytes(b"\xff\xfe" + body.replace("REGEDIT4", "Windows Registry Editor Version 5.00")
                  .encode("utf-16-le"))
    res = regfile.parse(p)
    assert res.warnings == []
    assert values(res)[(TS, "Note")]["value"] == "Пользователи удаленного рабочего стола"


@pytest.mark.parametrize("tail,why", [('"PortNumber"=dword:0000d3d', "DWORD with 7 of 8"),
                                      ('"Hash"=hex:5c,6a,\\\r\n', "hex list ending in ','")])
def test_a_value_cut_by_truncation_is_a_warning_not_a_wrong_value(tmp_path, tail, why):
    """A copy cut inside the last value: dword:0000d3d read as 3389 instead of 55256."""
    key = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp"
    body = f'Windows Registry Editor Version 5.00\r\n\r\n[{key}]\r\n"A"=dword:00000001\r\n{tail}'
    p = tmp_path / "cut.reg"
    p.write_bytes(b"\xff\xfe" + body.encode("utf-16-le"))
    res = regfile.parse(p)
    assert [(k[1]) for k in values(res)] == ["A"]
    assert [w.locator for w in res.warnings] == ["line 5"] and why in res.warnings[0].message
    # the same short DWORD inside a hand-written script (not at a cut end) is read
    p.write_bytes(b"\xff\xfe" + (body.replace(tail, "") + '"P"=dword:d3d\r\n"B"=dword:1\r\n')
                  .encode("utf-16-le"))
    assert {k[1]: v["value"] for k, v in values(regfile.parse(p)).items()} == {"A": 1, "P": 3389,
                                                                               "B": 1}


def test_blank_and_comment_lines_inside_a_wrapped_hex_list_are_skipped_as_windows_does():
    key = r"HKEY_LOCAL_MACHINE\SOFTWARE\X"
    text = (f'Windows Registry Editor Version 5.00\n\n[{key}]\n'
            '"M"=hex(7):4c,00,69,00,\\ ; first part\n'
            '\n; a comment line\n'
            '  6e,00,00,00,00,00\n"N"=dword:00000002\n')
    res = regfile.parse_text(text, "w.reg")
    assert res.warnings == []
    v = {k[1]: x["value"] for k, x in values(res).items()}
    assert v == {"M": ["Lin"], "N": 2}


def test_reg_query_unset_default_and_unsplittable_lines():
    """"(Wert nicht festgelegt)" was stored as the default value's data, and an indented
    value line we cannot split was dropped without a word."""
    text = ("HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\n"
            "    (Standard)    REG_SZ    (Wert nicht festgelegt)\n"
            "    fDenyTSConnections    REG_DWORD    0x0\n"
            " TSAppCompat REG_DWORD 0x1\n")
    res = regquery.parse_text(text, "q.txt")
    assert {k[1]: x["value"] for k, x in values(res).items()} == {"fDenyTSConnections": 0}
    assert [(w.locator, w.message[:15]) for w in res.warnings] == [("line 4", "value line not ")]


def test_a_hand_written_script_without_a_final_newline_is_whole():
    """"dword:1" on the last line of a Notepad-saved script (no final newline) was taken for
    a cut value and dropped: a disabled server went unflagged (found by review)."""
    key = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server"
    res = regfile.parse_text(f'Windows Registry Editor Version 5.00\n\n[{key}]\n'
                             '"fDenyTSConnections"=dword:1', "fix.reg")
    assert values(res)[(TS, "fDenyTSConnections")]["value"] == 1
    # too little to tell a cut export from a script: read, and said (a cut "0000000" would
    # otherwise pass for "connections allowed" without a word)
    assert [w.locator for w in res.warnings] == ["line 4"]
    assert "cut short, or written by hand?" in res.warnings[0].message
    # regedit's style (every other DWORD 8 digits): surely cut, not read
    res = regfile.parse_text(f'Windows Registry Editor Version 5.00\n\n[{key}]\n'
                             '"A"=dword:00000001\n"fDenyTSConnections"=dword:0000000', "x.reg")
    assert list(values(res)) == [(TS, "A")]


def test_a_hex_list_cut_to_one_digit_at_the_end_is_not_read(tmp_path):
    p = tmp_path / "ts.reg"
    head = ("Windows Registry Editor Version 5.00\r\n\r\n"
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp]\r\n"
            "\"PortNumber\"=dword:00000d3d\r\n"
            "\"SSLCertificateSHA1Hash\"=hex:2a,4f,1c,88,00,11,22,33,44,55,66,77,88,99,aa,bb,cc,\\\r\n"
            "  dd,ee,f")
    p.write_bytes(b"\xff\xfe" + head.encode("utf-16-le"))
    res = regfile.parse(p)
    names = [orjson.loads(d)["name"] for d in res.frame["data"]]
    assert names == ["PortNumber"]
    assert [w.message.split(":")[0] for w in res.warnings] == ["hex list ending in a one-digit byte"]


def test_a_lone_cr_ends_a_line_in_registry_text(tmp_path):
    # regedit reads a lone CR as a line end; treating only LF as one hid the value after it
    p = tmp_path / "t.reg"
    p.write_bytes(b"Windows Registry Editor Version 5.00\r\n\r\n"
                  b"[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server]\r"
                  b"\"fDenyTSConnections\"=dword:00000001\r\n"
                  b"\"fSingleSessionPerUser\"=dword:00000000\r\r\n")
    res = regfile.parse(p)
    got = {orjson.loads(d)["name"]: orjson.loads(d)["value"] for d in res.frame["data"]}
    assert got == {"fDenyTSConnections": 1, "fSingleSessionPerUser": 0} and not res.warnings
    q = tmp_path / "q.txt"
    q.write_text("\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\r\n"
                 "    fDenyTSConnections    REG_DWORD    0x1\r"
                 "    fSingleSessionPerUser    REG_DWORD    0x0\r\n", encoding="utf-8", newline="")
    res = regquery.parse(q)
    got = {orjson.loads(d)["name"]: orjson.loads(d)["value"] for d in res.frame["data"]}
    assert got == {"fDenyTSConnections": 1, "fSingleSessionPerUser": 0}


def test_a_value_named_backslash_semicolon_is_no_wrapped_line():
    # found by the round-trip property: "\\;" in the name looked like a wrap mark with a
    # comment, and the line was cut to an unterminated string
    text = ("REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\0]\r\n"
            "\"\\\\;\"=dword:00000000\r\n\"b\"=dword:00000001\r\n")
    res = regfile.parse_text(text, "t.reg")
    assert res.warnings == []
    assert sorted(orjson.loads(d)["name"] for d in res.frame["data"]) == ["\\;", "b"]


def _reg_hex(name: str, data: bytes, typ: str = "hex") -> str:
    """A value as regedit wraps it: 25 bytes a line, ``,\\`` and two spaces of indent."""
    lines, cur = [], f'"{name}"={typ}:'
    for i, b in enumerate(data):
        piece = f"{b:02x}" + ("," if i < len(data) - 1 else "")
        if len(cur) + len(piece) > 77:
            lines.append(cur + "\\")
            cur = "  "
        cur += piece
    return "\r\n".join(lines + [cur])


@pytest.mark.timeout(60)
def test_a_megabyte_wrapped_value_keeps_the_file_within_its_time_budget(tmp_path):
    """``reg export HKLM\\SYSTEM\\CurrentControlSet\\Control`` holds Session Manager's
    AppCompatCache, 1.5 MB of hex in 20,000 wrapped lines: joining them re-read the value at
    every line (quadratic), the file ran over its time budget and no row at all was kept —
    fDenyTSConnections in another key was lost with it."""
    import random

    import analyzer

    blob = random.Random(7).randbytes(1_500_000)
    text = ("Windows Registry Editor Version 5.00\r\n\r\n"
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\Session Manager\\AppCompatCache]\r\n"
            + _reg_hex("AppCompatCache", blob) + "\r\n\r\n"
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\Terminal Server]\r\n"
            "\"fDenyTSConnections\"=dword:00000001\r\n\r\n")
    (tmp_path / "SYSTEM-Control.reg").write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    b = analyzer.load(tmp_path)
    assert list(b.inventory["status"]) == ["parsed"], b.inventory.iloc[0].to_dict()
    v = {orjson.loads(d)["name"]: orjson.loads(d) for d in b.timeline["data"]}
    assert v["fDenyTSConnections"]["value"] == 1
    assert v["AppCompatCache"]["raw"] == blob.hex()


_LIC = r"HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters\LicenseServers"
_CUT_EXPORT = (
    "Windows Registry Editor Version 5.00\r\n\r\n"
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp]\r\n"
    '"PortNumber"=dword:00000d3d\r\n"SecurityLayer"=dword:00000002\r\n'
    '"SSLCertificateSHA1Hash"=hex:1a,2b,3c,4d,5e,6f,70,81,92,a3,b4,c5,d6,e7,f8,09,10,\\\r\n'
    "  11,12,13\r\n\r\n"
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\TermService\\Parameters\\LicenseServers]\r\n"
    '"SpecifiedLicenseServers"=hex(7):6c,00,69,00,63,00,31,00,2e,00,63,00,6f,00,72,00,\\\r\n'
    "  70,00,2e,00,6c,00,6f,00,63,00,61,00,6c,00,00,00,6c,00,69,00,63,00,32,00,00,00,\\\r\n"
    "  00,00\r\n\r\n")


@pytest.mark.parametrize("cut_after,name,line", [
    ("  11", "SSLCertificateSHA1Hash", 6),                       # 18 of 20 bytes
    ("6c,00,69,00,63,00,31,00,2e,00", "SpecifiedLicenseServers", 10),        # ['lic1.']
    ("6c,00,00,00,6c,00,69,00,63,00", "SpecifiedLicenseServers", 10),        # [..., 'lic']
    ("6c,00,00,00", "SpecifiedLicenseServers", 10),       # ['lic1.corp.local'], lic2 lost
])
def test_a_file_cut_between_two_bytes_of_its_last_value_does_not_read_it_whole(
        tmp_path, cut_after, name, line):
    """A copy cut inside a hex list at a byte boundary gave a shortened value as if whole:
    a thumbprint of 18 bytes, SpecifiedLicenseServers ['lic1.']."""
    p = tmp_path / "cut.reg"
    p.write_bytes(b"\xff\xfe" + _CUT_EXPORT[:_CUT_EXPORT.index(cut_after) + len(cut_after)]
                  .encode("utf-16-le"))
    res = regfile.parse(p)
    v = values(res)
    assert name not in {k[1] for k in v}
    assert v[(RDPTCP, "PortNumber")]["value"] == 3389 and v[(RDPTCP, "SecurityLayer")]["value"] == 2
    assert [w.locator for w in res.warnings] == [f"line {line}"]
    assert "may be cut inside this value; not read" in res.warnings[0].message


def test_a_last_value_whose_end_proves_it_whole_is_read_without_a_final_newline(tmp_path):
    p = tmp_path / "whole.reg"
    p.write_bytes(b"\xff\xfe" + _CUT_EXPORT.rstrip("\r\n").encode("utf-16-le"))
    res = regfile.parse(p)
    assert res.warnings == []
    assert values(res)[(_LIC, "SpecifiedLicenseServers")]["value"] == ["lic1.corp.local", "lic2"]
    # REGEDIT4 (ANSI): one NUL ends a string, two a list; a QWORD is whole at 8 bytes
    key = "[HKEY_LOCAL_MACHINE\\SOFTWARE\\X]\r\n"
    for last, want in (('"S"=hex(2):25,41,25,00', "%A%"), ('"M"=hex(7):61,00,62,00,00', ["a", "b"]),
                       ('"Q"=hex(b):01,00,00,00,00,00,00,00', 1)):
        res = regfile.parse_text(f"REGEDIT4\r\n\r\n{key}{last}", "x.reg")
        assert res.warnings == [] and [x["value"] for x in values(res).values()] == [want]
    # the same list without its terminator: cut (a string type always ends with one)
    res = regfile.parse_text(f'REGEDIT4\r\n\r\n{key}"M"=hex(7):61,00,62', "x.reg")
    assert values(res) == {} and "may be cut" in res.warnings[0].message


def test_a_binary_last_value_of_a_hand_written_script_is_read():
    """Short DWORDs say a person wrote the script (regedit writes 8 digits): no final newline
    is then no sign of a cut, and a binary value (no end mark to prove it) is read."""
    key = "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp]"
    res = regfile.parse_text(f"Windows Registry Editor Version 5.00\n\n{key}\n"
                             '"SecurityLayer"=dword:2\n"SSLCertificateSHA1Hash"=hex:1a,2b,3c', "h.reg")
    assert res.warnings == []
    assert values(res)[(RDPTCP, "SSLCertificateSHA1Hash")]["raw"] == "1a2b3c"


@pytest.mark.timeout(60)
def test_a_reg_query_line_with_a_long_run_of_blanks_is_read_in_linear_time():
    """An indented line that is no value line, with 200,000 blanks in it: the lazy name of
    the value pattern tried a separator at every blank (1 s at 20,000, minutes here)."""
    text = ("HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\n"
            "    fDenyTSConnections    REG_DWORD    0x1\n"
            "  x" + " " * 200_000 + "y REG_SZ\n"
            "    TSUserEnabled    REG_DWORD    0x0\n")
    res = regquery.parse_text(text, "q.txt")
    assert {k[1]: x["value"] for k, x in values(res).items()} == {"fDenyTSConnections": 1,
                                                                  "TSUserEnabled": 0}
    assert [(w.locator, w.message[:19]) for w in res.warnings] == [("line 3", "value line not read")]


#: The value-line pattern before it was made linear: the oracle for the one that replaced it.
_OLD_VALUE = r"^(?:\s{2,}|\t)(?P<name>.*?)(?:\t|\s{2,})(?P<type>REG_[A-Z_]+|REG_UNKNOWN)" \
             r"(?:(?:\t|\s{2,}|\s)(?P<data>.*))?$"


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from([" ", "  ", "\t", "\x0b", "a", "b c", "(", ")", "Z", "_", "0x1",
                                 "REG_", "REG_SZ", "REG_DWORD", "REG_UNKNOWN"]), max_size=12))
def test_the_linear_value_pattern_splits_lines_as_the_old_one_did(parts):
    import re

    line = "".join(parts)
    old, new = re.match(_OLD_VALUE, line), regquery._VALUE.match(line)
    assert (old is None) == (new is None)
    if old:
        assert (old["name"], old["type"], old["data"]) == (new["name"] or "", new["type"],
                                                           new["data"])


def test_reg_query_output_cut_inside_its_last_value_is_not_read(tmp_path):
    """`reg query` output ends every line with CRLF: a file cut inside its last value line
    read PortNumber 0xd3 (port 211) for 0xd3d (3389), alone or as a diag log's last block,
    without a word (found by fuzzing). The value is left out, with a warning at its line."""
    from parsers import regquery, textlog
    rq = ("\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server"
          "\\WinStations\\RDP-Tcp\r\n    SecurityLayer    REG_DWORD    0x2\r\n"
          "    PortNumber    REG_DWORD    0xd3")
    p = tmp_path / "rq.txt"
    p.write_text(rq, encoding="utf-16")
    for res in (regquery.parse(p),
                textlog.parse_text("\r\nActive Connections\r\n\r\n  Proto  Local Address"
                                   "          Foreign Address        State           PID\r\n"
                                   "  TCP    0.0.0.0:3389    0.0.0.0:0    LISTENING    1668\r\n"
                                   "\r\nC:\\>reg query x\r\n" + rq, "diag.log", file_end=True)):
        names = [orjson.loads(d).get("name") for d in res.frame["data"]]
        assert "SecurityLayer" in names and "PortNumber" not in names
        assert [w.locator for w in res.warnings if "cut here" in w.message] in (["line 4"], ["line 11"])
    whole = regquery.parse_text(rq + "d\r\n", "rq.txt", file_end=True)
    values = {orjson.loads(d)["name"]: orjson.loads(d)["value"] for d in whole.frame["data"]}
    assert values["PortNumber"] == 3389 and not whole.warnings
