"""netstat: every corpus capture, every locale, -b owner lines, and the hand-written layouts."""
from __future__ import annotations

import re
from pathlib import Path

import orjson
import pandas as pd
import pytest

import parsers
from parsers import netstat
from parsers import text as T

from conftest import corpus_files, ids

FIX = Path(__file__).parent / "fixtures" / "text"
NETSTAT = corpus_files("netstat")


def _lines(p: Path) -> list[str]:
    """An independent decode: only what the BOMs / the provenance notes say."""
    b = p.read_bytes()
    if b[:2] == b"\xff\xfe":
        t = b[2:].decode("utf-16-le")
    else:
        t = b.decode("utf-8-sig")
    return t.replace("\r", "").split("\n")


def _data(df):
    return [orjson.loads(s) for s in df["data"]]


@pytest.mark.parametrize("path", NETSTAT, ids=ids(NETSTAT))
def test_corpus_row_count_matches_the_file(path):
    res = netstat.parse(path)
    expected = sum(1 for ln in _lines(path) if re.match(r"^\s+(TCP|UDP)\s+\S+:\S+\s+\S+", ln))
    assert expected > 0
    assert len(res.frame) == expected
    assert parsers.identify(path.read_bytes()[:65536], path.name) is netstat
    assert (res.frame["kind"] == "netstat").all()
    assert (res.frame["event_type"] == "net:socket").all()
    # locators point at the very line
    lines = _lines(path)
    for loc, port in zip(res.frame["locator"][:20], res.frame["port"][:20]):
        n = int(loc.split()[1])
        assert re.match(r"^\s+(TCP|UDP)\s", lines[n - 1])
        if port is not None and str(port) != "<NA>":
            assert f":{port} " in lines[n - 1] or f":{port}\t" in lines[n - 1]


@pytest.mark.parametrize("name,state_original,port,pid", [
    ("vnschilling__netstat_output_de-DE_utf16.txt", "ABHÖREN", 135, 2132),
    ("vnschilling__netstat_output_de-DE_utf16.txt", "ABHÖREN", 1688, 9112),
    ("jsmendez__netstat_es-ES_utf16.txt", "LISTENING", 3306, 8692),
    ("louaye__netstat_output_fr-FR_utf16.txt", "LISTENING", 21, 4900),
    ("viktor__netstat_output_ru-RU_utf8.txt", "LISTENING", 3306, 6688),
    ("qaiser__netstat_filtered_utf16.txt", "LISTENING", 2179, 2288),
])
def test_localized_listening_rows(corpus, name, state_original, port, pid):
    res = netstat.parse(corpus / "netstat" / name)
    df = res.frame
    row = df[(df["port"] == port) & (df["ip"] == "0.0.0.0")]
    d = _data(row)
    tcp = [x for x, p in zip(d, row["pid"]) if x["proto"] == "TCP"]
    assert tcp and tcp[0]["state"] == "LISTENING" and tcp[0]["listening"] is True
    assert tcp[0]["state_original"] == state_original
    assert int(row["pid"].iloc[0]) == pid


def test_german_state_words_are_normalised(corpus):
    res = netstat.parse(corpus / "netstat" / "vnschilling__netstat_output_de-DE_utf16.txt")
    pairs = {(x["state_original"], x["state"]) for x in _data(res.frame) if x["proto"] == "TCP"}
    assert ("HERGESTELLT", "ESTABLISHED") in pairs
    assert ("WARTEND", "TIME_WAIT") in pairs
    assert ("SCHLIESSEN_WARTEN", "CLOSE_WAIT") in pairs
    assert ("SYN_GESENDET", "SYN_SENT") in pairs
    listening = sum(x["listening"] for x in _data(res.frame))
    assert listening == sum(1 for ln in _lines(corpus / "netstat" / "vnschilling__netstat_output_de-DE_utf16.txt")
                            if "ABHÖREN" in ln)


def test_b_output_keeps_rdp_owner(corpus):
    res = netstat.parse(corpus / "netstat" / "layton__netstatnaob.txt")
    df = res.frame
    rdp = df[(df["port"] == 3389)]
    d = _data(rdp)
    assert len(rdp) == 4  # TCP v4/v6 listeners + UDP v4/v6
    assert set(rdp["pid"].astype(int)) == {1668}
    assert all(x["services"] == ["CryptSvc"] and x["image"] == "svchost.exe" for x in d)
    assert sum(x["listening"] for x in d) == 2


@pytest.mark.parametrize("name", ["layton__netstatnaob.txt", "jc__win10_netstat-aonb.out"])
def test_b_owner_lines_all_attached(corpus, name):
    lines = _lines(corpus / "netstat" / name)
    svc_lines = [ln.strip() for ln in lines if re.match(r"^  [A-Za-z][\w.-]*$", ln)]
    img_lines = [ln for ln in lines if re.match(r"^ \[.+\]$", ln)]
    unknown = [ln for ln in lines if "Can not obtain ownership" in ln]
    d = _data(netstat.parse(corpus / "netstat" / name).frame)
    assert sorted(s for x in d for s in x["services"]) == sorted(svc_lines)
    assert sum(1 for x in d if x["image"]) == len(img_lines)
    assert sum(1 for x in d if x["owner_unknown"]) == len(unknown)
    assert len(svc_lines) > 10


def test_no_pid_column_is_a_warning_not_a_failure(corpus):
    res = netstat.parse(corpus / "netstat" / "jc__win10_netstat-an.out")
    assert len(res.frame) == 260 and res.frame["pid"].isna().all()
    assert any("PID" in w.message for w in res.warnings)


def test_ipv6_zone_ids_split_on_last_colon(corpus):
    df = netstat.parse(corpus / "netstat" / "jc__win10_netstat-aon.out").frame
    row = df[df["ip"] == "fe80::244e:2f1e:2096:62b2%9"]
    assert len(row) == 1 and int(row["port"].iloc[0]) == 1900 and int(row["pid"].iloc[0]) == 8844


def test_port_conflict_fixture():
    res = netstat.parse(FIX / "netstat_ano_2003_conflict.txt")
    df = res.frame
    lst = df[(df["port"] == 3389) & pd.Series([x["listening"] for x in _data(df)])]
    assert sorted(lst["ip"]) == ["0.0.0.0", "::"] and set(lst["pid"].astype(int)) == {2412}
    zone = df[df["ip"] == "fe80::5d1:8bf7:c410:e325%12"]
    assert int(zone["port"].iloc[0]) == 49800
    assert _data(zone)[0]["remote_ip"] == "fe80::1%12" and _data(zone)[0]["state"] == "SYN_SENT"
    udp = _data(df[(df["port"] == 3389)])
    assert [x["state"] for x in udp if x["proto"] == "UDP"] == [None]
    assert res.warnings == []  # the comment line above the output is preamble, not an error


def test_anobq_fixture_bound_and_owners():
    df = netstat.parse(FIX / "netstat_anobq.txt").frame
    d = {(x["local"], x["proto"]): x for x in _data(df)}
    assert d[("0.0.0.0:3389", "TCP")]["services"] == ["TermService"]
    assert d[("0.0.0.0:445", "TCP")]["owner_unknown"] is True
    b = d[("0.0.0.0:5357", "TCP")]
    assert b["state"] == "BOUND" and b["listening"] is False
    assert d[("0.0.0.0:3389", "UDP")]["image"] == "svchost.exe"


def test_offload_column():
    d = _data(netstat.parse(FIX / "netstat_ano_t.txt").frame)
    assert [x["offload"] for x in d] == ["InHost", "Offloaded"]
    assert [x["state"] for x in d] == ["LISTENING", "ESTABLISHED"]


def test_names_without_n_map_ports_and_name_the_host():
    res = netstat.parse(FIX / "netstat_a_o_names.txt")
    assert list(res.frame["port"]) == [135, 3389, 3389]
    assert [x["listening"] for x in _data(res.frame)] == [True, True, False]
    assert res.meta["host"] == "TS01"


def test_localized_state_with_space_and_no_header():
    txt = ("  TCP    0.0.0.0:3389           0.0.0.0:0              IN ASCOLTO      1668\n"
           "  TCP    10.0.0.5:3389          10.0.0.9:50000         STABILITA       1668\n")
    assert netstat.sniff_text(txt)
    d = _data(netstat.parse_text(txt, "x").frame)
    assert [x["state"] for x in d] == ["LISTENING", "ESTABLISHED"]


def test_garbage_inside_table_is_a_warning():
    txt = ("Active Connections\n\n  Proto  Local Address   Foreign Address  State  PID\n"
           "  TCP    0.0.0.0:3389    0.0.0.0:0        LISTENING  1668\n"
           "%%% garbled %%%\n"
           "  TCP    0.0.0.0:135     0.0.0.0:0        LISTENING  900\n")
    res = netstat.parse_text(txt, "x", line_offset=10)
    assert len(res.frame) == 2
    assert [w.locator for w in res.warnings] == ["line 15"]
    assert list(res.frame["locator"]) == ["line 14", "line 16"]


def test_sniff_rejects_other_text():
    assert not netstat.sniff(b"Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE]\r\n")
    assert not netstat.sniff(T.decode(b"").text.encode())


def test_single_filtered_row_and_xp_owner_lines():
    one = "  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       2412\r\n"
    assert netstat.sniff(one.encode("cp437"))
    xp = ("  TCP    oldts:ms-wbt-server   oldts:0   LISTENING   1032\n"
          "  C:\\WINDOWS\\system32\\termsrv.dll\n"
          "  -- unknown component(s) --\n"
          "  [svchost.exe]\n")
    res = netstat.parse_text(xp, "x")
    d = _data(res.frame)[0]
    assert d["image"] == "svchost.exe" and d["listening"] is True
    # rows without the header may be `| findstr` output: said, and marked for detectors
    assert [w.message.split(":")[0] for w in res.warnings] == [
        "netstat rows without their header"] and d["headerless"] is True
    assert int(res.frame["port"].iloc[0]) == 3389 and res.meta["host"] == "OLDTS"


def test_port_names_without_a_known_number_are_said():
    """``netstat -a`` without ``-n`` prints service names; one missing from the table left
    the socket without a port and no word about it."""
    text = ("Active Connections\n\n"
            "  Proto  Local Address          Foreign Address        State           PID\n"
            "  TCP    0.0.0.0:epmap          ts01:0                 LISTENING       900\n"
            "  TCP    0.0.0.0:http-rpc-epmap ts01:0                 LISTENING       900\n"
            "  TCP    0.0.0.0:vnc-server     ts01:0                 LISTENING       2412\n")
    res = netstat.parse_text(text, "n.txt")
    assert list(res.frame["port"].astype("object").where(res.frame["port"].notna(), None)) \
        == [135, 593, None]
    assert [w.message for w in res.warnings] == [
        "port name(s) without a known number (vnc-server): those sockets have no port; "
        "`netstat -ano` prints numbers"]


def test_turkish_cp857_listening_state(tmp_path):
    p = tmp_path / "netstat.txt"
    p.write_bytes(("\r\nEtkin Bağlantılar\r\n\r\n  Proto  Yerel Adres            Yabancı Adres          "
                   "Durum           PID\r\n"
                   "  TCP    0.0.0.0:3389           0.0.0.0:0              DİNLENİYOR      1132\r\n"
                   "  TCP    10.0.0.5:3389          10.0.0.77:51234        KURULDU         1132\r\n"
                   ).encode("cp857"))
    res = netstat.parse(p)
    assert res.stats["encoding"] == "cp857"
    states = [orjson.loads(d)["state"] for d in res.frame["data"]]
    assert states[0] == "LISTENING"


@pytest.mark.parametrize("tail", ["1132\r\n", "1132", "1132\r"])
def test_complete_output_without_a_final_line_end_is_no_warning(tmp_path, tail):
    # (netstat -ano | Out-String).Trim() ends without a line end: a "probably cut" warning
    # there was noise (an earlier version of this session's change). Trim() also takes the
    # blank line netstat begins with, which a cut file keeps (see the test below).
    text = ("Active Connections\r\n\r\n  Proto  Local Address          Foreign Address"
            "        State           PID\r\n"
            "  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       912\r\n"
            "  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       " + tail)
    (tmp_path / "netstat.txt").write_text(text, encoding="utf-8", newline="")
    import analyzer
    b = analyzer.load(tmp_path)
    assert [w.message for w in b.warnings] == []
    assert sorted(int(p) for p in b.timeline["pid"]) == [912, 1132]
    # a UTF-16 capture with the ^Z that `copy /a` appends: no half character, no warning
    (tmp_path / "netstat.txt").write_bytes(b"\xff\xfe" + text.encode("utf-16-le") + b"\x1a")
    assert [w.message for w in analyzer.load(tmp_path).warnings] == []

NS_HEAD = ("\r\nActive Connections\r\n\r\n"
           "  Proto  Local Address          Foreign Address        State           PID\r\n"
           "  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       1004\r\n")


@pytest.mark.parametrize("last,encoding,pid,remote_port,lost", [
    ("  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       16", "ascii",
     None, 0, "16"),
    # UTF-16 cut inside a character: half of '8' is left
    ("  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       1668", "utf-16-cut",
     None, 0, "166\ufffd"),
    ("  TCP    10.0.0.5:3389          10.0.0.9:5", "ascii", None, None, "5"),
    ("  UDP    0.0.0.0:3389           *:*                                    12", "ascii",
     None, None, "12"),
    # cut in the blanks after the state: every field read is whole
    ("  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING    ", "ascii", None, 0, None),
    # the line break alone is missing: the PID cannot be told from a fragment of one
    ("  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       1668", "ascii",
     None, 0, "1668"),
])
def test_a_file_cut_inside_its_last_row_gives_no_wrong_value(tmp_path, last, encoding, pid,
                                                              remote_port, lost):
    """An ASCII netstat ending '…LISTENING       16' (PID 1668) gave pid 16 on 0.0.0.0:3389,
    and a cut foreign port a wrong port, without a warning (review finding)."""
    p = tmp_path / "netstat.txt"
    if encoding == "utf-16-cut":
        p.write_bytes(b"\xff\xfe" + (NS_HEAD + last).encode("utf-16-le")[:-1])
    else:
        p.write_bytes((NS_HEAD + last).encode(encoding))
    res = netstat.parse(p)
    assert list(res.frame["pid"])[0] == 1004 and list(res.frame["port"]) == [135, 3389]
    row = _data(res.frame)[1]
    assert (None if pd.isna(res.frame["pid"].iloc[1]) else int(res.frame["pid"].iloc[1])) == pid
    assert row["remote_port"] == remote_port and row.get("cut") == lost
    if remote_port == 0:
        assert row["listening"] is True and row["state"] == "LISTENING"
    w = [x for x in res.warnings if "cut" in x.message]
    assert [x.locator for x in w] == ["line 6"]
    assert (repr(lost) in w[0].message) if lost else "not read" not in w[0].message
    # a whole file (CRLF after the last row), or a trimmed one, is read as it is
    for text in (NS_HEAD + last + "\r\n", (NS_HEAD + last).strip()):
        p.write_bytes(text.encode("ascii"))
        res = netstat.parse(p)
        assert not [x for x in res.warnings if "cut" in x.message]
        assert "cut" not in _data(res.frame)[1]
        assert res.frame["message"].iloc[1].split() == last.split()


def test_a_cut_owner_line_is_not_read_as_a_service(tmp_path):
    p = tmp_path / "netstat.txt"
    row = "  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       1668\r\n"
    p.write_bytes((NS_HEAD + row + "  TermServ").encode())
    res = netstat.parse(p)
    assert _data(res.frame)[1]["services"] == [] and int(res.frame["pid"].iloc[1]) == 1668
    assert [x.locator for x in res.warnings if "cut" in x.message] == ["line 7"]
    p.write_bytes((NS_HEAD + row + "  TermService\r\n [svchost.exe]").encode())
    d = _data(netstat.parse(p).frame)[1]
    assert d["services"] == ["TermService"] and d["image"] == "svchost.exe"


def test_a_block_of_a_longer_text_is_not_taken_for_a_cut_file():
    # textlog hands each command output without its last line break: only a file's whole
    # text (parse, or file_end=True) can show a cut; a trimmed text has no line break to lose
    text = NS_HEAD + "  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       1668"
    assert int(netstat.parse_text(text, "x").frame["pid"].iloc[1]) == 1668
    assert pd.isna(netstat.parse_text(text, "x", file_end=True).frame["pid"].iloc[1])
    assert int(netstat.parse_text(text.strip(), "x", file_end=True).frame["pid"].iloc[1]) == 1668


def test_thousands_of_digits_are_no_pid_or_port_and_no_crash():
    """int() refuses 4,300 digits and more: a PID or port of 5,000 digits raised ValueError
    out of parse_text (found by fuzzing). No PID or port is that long."""
    head = ("\r\nActive Connections\r\n\r\n  Proto  Local Address          Foreign Address"
            "        State           PID\r\n")
    res = netstat.parse_text(head + "  TCP    0.0.0.0:3389   0.0.0.0:0   LISTENING   "
                             + "1" * 5000 + "\r\n", "n.txt")
    assert list(res.frame["port"]) == [3389] and res.frame["pid"].isna().all()
    res = netstat.parse_text(head + "  TCP    0.0.0.0:" + "1" * 5000
                             + "   0.0.0.0:0   LISTENING   4\r\n", "n.txt")
    assert res.frame["port"].isna().all() and list(res.frame["pid"]) == [4]
