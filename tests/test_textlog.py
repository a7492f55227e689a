"""textlog: several command outputs in one file (diag.log), and the netstat↔tasklist join."""
from __future__ import annotations

from pathlib import Path

import orjson
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import analyzer
import parsers
from analyzer import processes as P
from parsers import netstat, textlog

FIX = Path(__file__).parent / "fixtures" / "text"


def test_diag_log_has_three_blocks():
    p = FIX / "diag.log"
    assert parsers.identify(p.read_bytes(), "diag.log") is textlog
    res = textlog.parse(p)
    blocks = res.stats["blocks"]
    assert [b["kind"] for b in blocks] == ["netstat", "tasklist", "qwinsta"]
    assert [b["records"] for b in blocks] == [5, 9, 4]
    lines = p.read_bytes().decode("cp437").split("\r\n")
    assert lines[blocks[0]["first_line"] - 1] == "Active Connections"
    assert lines[blocks[1]["first_line"] - 1].startswith("Image Name")
    assert lines[blocks[2]["first_line"] - 1].startswith(" SESSIONNAME")
    # every locator points at its line in the whole file
    for kind, loc, data in zip(res.frame["kind"], res.frame["locator"], res.frame["data"]):
        line = lines[int(loc.split()[1]) - 1]
        d = orjson.loads(data)
        if kind == "netstat":
            assert d["local"] in line
        elif kind == "tasklist":
            assert line.startswith(d["image"])
        else:
            assert str(d["state_original"]) in line
    assert res.warnings == []
    assert res.stats["unclaimed_lines"] == 6  # note, banners, prompts


def test_one_kind_file_is_not_a_textlog():
    assert not textlog.sniff((FIX / "netstat_anobq.txt").read_bytes())
    assert textlog.find_blocks([""]) == []


def test_blocks_beyond_the_sniffed_head_are_not_lost(tmp_path):
    """A diag.log whose first 64 KiB are netstat goes to netstat, which hands it to textlog."""
    row = "  TCP    10.0.0.5:{0:<5}         10.0.0.77:51234        ESTABLISHED     1668\r\n"
    big = "Active Connections\r\n\r\n  Proto  Local Address          Foreign Address        State           PID\r\n"
    big += "".join(row.format(40000 + i % 20000) for i in range(1200))
    tail = (FIX / "tasklist_svc_2003.txt").read_text(encoding="cp437")
    p = tmp_path / "diag.log"
    p.write_bytes((big + "\r\n" + tail).encode("cp437"))
    mod = parsers.identify(p.read_bytes()[:65536], p.name)
    assert mod is netstat
    res = mod.parse(p)
    assert [b["kind"] for b in res.stats["blocks"]] == ["netstat", "tasklist"]
    assert (res.frame["kind"] == "tasklist").sum() == 12
    assert (res.frame["kind"] == "netstat").sum() == 1200


def test_bundle_inventory_lists_blocks_and_listeners(tmp_path):
    b = analyzer.load(FIX / "diag.log")
    inv = b.inventory.iloc[0]
    assert inv["status"] == "parsed" and inv["blocks"] == 3 and inv["records"] == 18
    lst = P.listeners(b.timeline, port=3389)
    assert list(lst["pid"]) == [1668, 1668]
    assert all(s == ["TermService"] for s in lst["services"])
    assert set(lst["image"]) == {"svchost.exe"} and lst["has_tasklist"].all()


def test_port_conflict_join(tmp_path):
    (tmp_path / "TS01_Netstat.txt").write_bytes((FIX / "netstat_ano_2003_conflict.txt").read_bytes())
    (tmp_path / "TS01_Tasklist.txt").write_bytes((FIX / "tasklist_svc_2003.txt").read_bytes())
    (tmp_path / "TS01_Qwinsta.txt").write_bytes((FIX / "qwinsta_2003_en.txt").read_bytes())
    b = analyzer.load(tmp_path)
    lst = P.owner_of(b.timeline, 3389, host="TS01")
    assert list(lst["pid"]) == [2412, 2412]
    assert set(lst["image"]) == {"vncsrv.exe"}
    assert all("TermService" not in s and s == ["RemoteAssistPro"] for s in lst["services"])
    # UDP sockets only when asked for
    assert len(P.listeners(b.timeline, port=3389, proto=None)) == 3
    # where TermService really is
    procs = P.processes(b.timeline)
    ts = procs[procs["services"].map(lambda s: "TermService" in s)]
    assert list(ts["pid"]) == [836] and set(ts["host"]) == {"TS01"}
    sess = P.sessions(b.timeline)
    assert len(sess[sess["listener"]]) == 1


def test_netstat_b_services_fill_in_without_tasklist():
    res = netstat.parse(FIX / "netstat_anobq.txt")
    tl = analyzer.timeline.finalize_part(res.frame, source="n.txt", host="TS02")
    lst = P.listeners(tl, port=3389)
    assert list(lst["services"]) == [["TermService"]] and not lst["has_tasklist"].any()
    assert list(lst["image"]) == ["svchost.exe"]


def test_empty_timeline_helpers():
    from parsers.base import empty_frame
    assert len(P.listeners(empty_frame())) == 0
    assert list(P.listeners(empty_frame()).columns) == P.LISTENER_COLUMNS
    assert len(P.sessions(empty_frame())) == 0


def test_systeminfo_and_netstat_blocks_name_the_host(tmp_path):
    si = (FIX / "systeminfo_2008r2_en.txt").read_text(encoding="cp437")
    ns = (FIX / "netstat_ano_t.txt").read_text(encoding="cp437")
    p = tmp_path / "collect.txt"
    p.write_bytes(("C:\\>systeminfo\r\n" + si + "\r\nC:\\>netstat -ano -t\r\n" + ns).encode("cp437"))
    mod = parsers.identify(p.read_bytes(), p.name)
    assert mod is textlog
    res = mod.parse(p)
    assert [b["kind"] for b in res.stats["blocks"]] == ["systeminfo", "netstat"]
    assert res.meta["host"] == "TS01" and res.meta["build"] == 7601
    b = analyzer.load(p)
    assert b.hosts == ["TS01"]
    assert set(b.timeline["host"].astype(str)) == {"TS01"}


def test_a_one_row_netstat_between_other_outputs_is_read_and_unread_lines_are_said(tmp_path):
    """``netstat -ano | findstr :3389`` prints one row: it was not a block, so the port
    conflict below was "not evaluated, needs netstat". Lines outside every block (not
    prompts, banners or comments) are now a warning with their line numbers."""
    p = tmp_path / "diag.log"
    p.write_text(
        "REM collected by support\n"
        "C:\\Windows\\system32>qwinsta\n"
        " SESSIONNAME       USERNAME                 ID  STATE   TYPE        DEVICE\n"
        " services                                    0  Disc\n"
        ">console           Administrator             1  Active\n"
        " rdp-tcp                                 65536  Listen\n"
        "\n"
        "C:\\Windows\\system32>netstat -ano | findstr :3389\n"
        "  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       2412\n"
        "\n"
        "The operation completed successfully.\n"
        "C:\\Windows\\system32>tasklist /svc /fi \"PID eq 2412\"\n"
        "\n"
        "Image Name                     PID Services\n"
        "========================= ======== ============================================\n"
        "vncsrv.exe                    2412 RemoteAssistPro\n", encoding="utf-8")
    res = textlog.parse(p)
    assert [b["kind"] for b in res.stats["blocks"]] == ["qwinsta", "netstat", "tasklist"]
    sock = res.frame[res.frame["event_type"] == "net:socket"]
    assert list(sock["port"]) == [3389] and list(sock["pid"]) == [2412]
    assert list(sock["locator"]) == ["line 9"]
    unread = [w for w in res.warnings if "outside every recognised" in w.message]
    assert len(unread) == 1 and unread[0].message.endswith("(line 11)")
    r = analyzer.analyze(p)
    f = {f.id: f for f in r.report.findings}
    assert "vncsrv.exe" in f["port-conflict"].summary
    # the tasklist is filtered to one PID: TermService missing from it proves nothing
    assert "termservice-not-running" not in f


# ------------------------------------------------- other outputs after a registry / policy text
TFIX = Path(__file__).parent / "fixtures"


def _text(p: Path) -> str:
    from parsers.regcommon import decode_text
    return decode_text(p.read_bytes())[0].replace("\r\n", "\n")


def _kinds_and_lines(bundle_dir):
    b = analyzer.load(bundle_dir)
    inv = b.inventory
    assert len(inv) == 1 and inv.iloc[0]["status"] == "parsed", inv
    return b, [(k, int(loc.split()[1])) for k, loc in zip(b.timeline["kind"], b.timeline["locator"])]


def test_netstat_and_tasklist_after_reg_query_in_one_file_are_read(tmp_path):
    # `reg query ... & netstat -ano & tasklist /svc > diag.txt`: the registry parser is
    # sniffed first; the command outputs were dropped without a warning
    reg = _text(TFIX / "reg" / "regquery_rdptcp.txt")
    net = _text(FIX / "netstat_ano_2003_conflict.txt")
    task = _text(FIX / "tasklist_svc_2003.txt")
    (tmp_path / "diag.txt").write_text(reg + "\n" + net + "\n" + task, encoding="utf-8")
    b, rows = _kinds_and_lines(tmp_path)
    alone = {m: len(parsers.by_name(m).parse_text(t, "x").frame)
             for m, t in (("regquery", reg), ("netstat", net), ("tasklist", task))}
    kinds = [k for k, _ in rows]
    assert (kinds.count("reg"), kinds.count("netstat"), kinds.count("tasklist")) == \
        (alone["regquery"], alone["netstat"], alone["tasklist"])
    n_reg = reg.count("\n") + 1
    first_net = min(n for k, n in rows if k == "netstat")
    assert first_net > n_reg and max(n for k, n in rows if k == "reg") <= n_reg
    # the line numbers are the file's: the netstat row for 3389 is where grep finds it
    lines = (reg + "\n" + net + "\n" + task).split("\n")
    for k, n in rows:
        if k == "netstat":
            assert "LISTENING" in lines[n - 1] or "ESTABLISHED" in lines[n - 1] \
                or "TCP" in lines[n - 1] or "UDP" in lines[n - 1]
    assert not P.owners(b.timeline).query("port == 3389")["image"].isna().all()


def test_netstat_after_gpresult_z_in_one_file_is_read(tmp_path):
    gp = _text(TFIX / "gpresult" / "gpresult_z_2003.txt")
    net = _text(FIX / "netstat_ano_2003_conflict.txt")
    (tmp_path / "diag.txt").write_text(gp + "\n\n" + net, encoding="utf-8")
    _, rows = _kinds_and_lines(tmp_path)
    gp_alone = len(parsers.by_name("gpresult_text").parse_text(gp, "x").frame)
    assert [k for k, _ in rows].count("gpresult") == gp_alone
    assert [k for k, _ in rows].count("netstat") == \
        len(parsers.by_name("netstat").parse_text(net, "x").frame) > 0


def test_doubled_and_cr_only_line_ends(tmp_path):
    # CRLF converted once more (\r\r\n) kept the gpresult /z dash underlines apart from their
    # titles (half the settings lost) and doubled the line numbers; CR-only files were
    # "not recognised"
    gp = _text(TFIX / "gpresult" / "gpresult_z_2003.txt")
    net = _text(FIX / "netstat_ano_2003_conflict.txt")
    want = {}
    for name, text in (("gp.txt", gp), ("net.txt", net)):
        d = tmp_path / f"lf-{name}"
        d.mkdir()
        (d / name).write_text(text.replace("\n", "\r\n"), encoding="utf-8", newline="")
        want[name] = _kinds_and_lines(d)[1]
        for end in ("\r\r\n", "\r"):
            d = tmp_path / f"{len(end)}-{name}"
            d.mkdir()
            (d / name).write_text(text.replace("\n", end), encoding="utf-8", newline="")
            assert _kinds_and_lines(d)[1] == want[name], (name, repr(end))
    assert len(want["gp.txt"]) > 5 and len(want["net.txt"]) > 5


@pytest.mark.parametrize("order", ["utf16-first", "oem-first"])
def test_a_file_mixing_utf16_and_oem_runs_is_read_whole(tmp_path, order):
    # PowerShell's > / >> write UTF-16, cmd.exe's the OEM code page: a script using both
    # wrote one file in two encodings, and the second part was lost (or the file skipped)
    net = (FIX / "netstat_ano_2003_conflict.txt").read_bytes().decode("latin-1")
    net = net.replace("\r\n", "\n").replace("\n", "\r\n")
    task = ("\r\nAbbildname                     PID Dienste\r\n"
            "========================= ======== ============================================\r\n"
            "System                           4 Nicht zutreffend\r\n"
            "svchost.exe                   1096 TermService, Gerätedienst\r\n")
    u16, oem = b"\xff\xfe" + net.encode("utf-16-le"), task.encode("cp850")
    (tmp_path / "diag.txt").write_bytes(u16 + oem if order == "utf16-first"
                                        else oem + net.encode("utf-16-le"))
    b = analyzer.load(tmp_path)
    inv = b.inventory.iloc[0]
    assert inv["status"] == "parsed", inv
    kinds = b.timeline["kind"].tolist()
    assert kinds.count("netstat") == len(parsers.by_name("netstat").parse_text(net, "x").frame) > 0
    assert kinds.count("tasklist") == 2
    procs = P.processes(b.timeline)
    assert "Gerätedienst" in procs.set_index("pid").loc[1096, "services"]
    assert not b.warnings, b.warnings


@pytest.mark.timeout(60)
def test_a_line_with_a_long_dash_run_between_outputs_is_looked_at_in_linear_time():
    """The banner pattern for unread lines tried every split of a dash run: 2 s for 20,000
    dashes, minutes here. Not a banner (it does not end in one): said, not read."""
    net = (FIX / "netstat_ano_2003_conflict.txt").read_bytes().decode("latin-1")
    task = (FIX / "tasklist_svc_2003.txt").read_bytes().decode("latin-1")
    text = net.replace("\r\n", "\n") + "\na" + "-" * 150_000 + "x\n" + task.replace("\r\n", "\n")
    res = textlog.parse_text(text, "diag.log")
    assert [b["kind"] for b in res.stats["blocks"]] == ["netstat", "tasklist"]
    unread = [w for w in res.warnings if "outside every recognised" in w.message]
    line = net.replace("\r\n", "\n").count("\n") + 2
    assert [w.locator for w in unread] == [f"line {line}"]
    assert unread[0].message.endswith(f"(line {line})")


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(["-", "=", "*", "#", "~", "_", " ", "\t", "a", "C:\\", ">", "PS ",
                                 "REM", "rem ", "::", "x"]), max_size=12))
def test_the_linear_noise_pattern_matches_what_the_old_one_did(parts):
    import re

    old = re.compile(r"^\s*(?:PS\s+)?[A-Za-z]:\\[^>]*>|^\s*[=*~_-]{3,}|.*[=*#~_-]{3,}\s*$"
                     r"|^\s*(?:#|::|REM\b)", re.IGNORECASE)
    line = "".join(parts)
    assert bool(old.match(line)) == bool(textlog._NOISE.match(line))


_RQ_TS = ("\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\r\n"
          "    fDenyTSConnections    REG_DWORD    0x1\r\n"
          "    TSUserEnabled    REG_DWORD    0x0\r\n\r\n"
          "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp\r\n"
          "    PortNumber    REG_DWORD    0xd3e\r\n"
          "    SecurityLayer    REG_DWORD    0x0\r\n\r\n"
          "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\AddIns\r\n"
          "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\Wds\r\n")
_TL_SVC = ("\r\nImage Name                     PID Services\r\n"
           "========================= ======== ============================================\r\n"
           "svchost.exe                   1668 TermService\r\n")


@pytest.mark.parametrize("between", ["", _TL_SVC], ids=["netstat-reg", "netstat-tasklist-reg"])
def test_reg_query_after_a_netstat_in_one_file_is_read(corpus, tmp_path, between):
    """A real 134-row ``netstat -ano`` followed by ``reg query "...\\Terminal Server"``: the
    registry lines were "not a netstat row, skipped", or with a tasklist between them "outside
    every recognised command output, not read" — RDP disabled (fDenyTSConnections 1) and the
    moved port 3390 went unseen."""
    net = (corpus / "netstat" / "shafqat__netstat_crlf.txt").read_bytes().decode()
    (tmp_path / "diag.txt").write_text(net + between + _RQ_TS, encoding="utf-8", newline="")
    b = analyzer.load(tmp_path)
    assert b.inventory.iloc[0]["status"] == "parsed"
    tl = b.timeline
    assert (tl["kind"] == "netstat").sum() == 134
    lines = (net + between + _RQ_TS).split("\r\n")
    reg, keys = {}, []
    for et, loc, d in zip(tl["event_type"], tl["locator"], tl["data"]):
        if et == "reg:value":
            d = orjson.loads(d)
            reg[d["name"]] = d["value"]
            assert d["name"] in lines[int(loc.split()[1]) - 1]      # the file's own line
        elif et == "reg:key":       # the subkeys reg query names after the values
            d = orjson.loads(d)
            keys.append(d["key"].rsplit("\\", 1)[1])
            assert lines[int(loc.split()[1]) - 1] == d["key_original"]
    assert reg == {"fDenyTSConnections": 1, "TSUserEnabled": 0, "PortNumber": 0xd3e,
                   "SecurityLayer": 0}
    assert keys == ["AddIns", "Wds"]
    assert not [w for w in b.warnings if "netstat row" in w.message or "not read" in w.message]


def test_a_reg_export_typed_after_command_outputs_is_read_whole(tmp_path):
    """``type export.reg`` after netstat: the script is a block of its own, and a block
    followed by other lines is no file cut short (its last value is read whole)."""
    net = (FIX / "netstat_ano_2003_conflict.txt").read_bytes().decode("latin-1").replace("\r\n", "\n")
    reg = ("Windows Registry Editor Version 5.00\n\n"
           "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp]\n"
           '"PortNumber"=dword:00000d3d\n'
           '"SSLCertificateSHA1Hash"=hex:1a,2b,3c,4d,5e,6f,70,81,92,a3,b4,c5,d6,e7,f8,09,10,\\\n'
           "  11,12,13\n")
    text = net + "\nC:\\>type rdp.reg\n" + reg + "C:\\>reg query HKLM\\X\n" + _RQ_TS.replace("\r\n", "\n") \
        + "\nEnd of search: 4 match(es) found.\n"
    res = textlog.parse_text(text, "diag.log")
    assert [(b["parser"], b["records"]) for b in res.stats["blocks"]] == \
        [("netstat", len(netstat.parse_text(net, "x").frame)), ("regfile", 2), ("regquery", 6)]
    assert res.warnings == []
    got = [(orjson.loads(d)["name"], orjson.loads(d)["value"])
           for et, d in zip(res.frame["event_type"], res.frame["data"]) if et == "reg:value"]
    assert got[:2] == [("PortNumber", 3389),
                       ("SSLCertificateSHA1Hash", "1a2b3c4d5e6f708192a3b4c5d6e7f80910111213")]
    assert got[2:] == [("fDenyTSConnections", 1), ("TSUserEnabled", 0), ("PortNumber", 3390),
                       ("SecurityLayer", 0)]
    # a registry file alone is still the registry parser's, not a textlog
    assert parsers.identify(reg.encode(), "x.txt").INFO.name == "regfile"
    assert parsers.identify(_RQ_TS.encode(), "x.txt").INFO.name == "regquery"


def test_a_multi_output_log_cut_inside_its_last_block_is_flagged():
    """A diag log (tasklist, then netstat) cut short inside its last row gave PID 16 for
    1668 without a word: the netstat parser knows a cut last line (no CRLF after it), but
    textlog handed it the block as if the file went on (found by review)."""
    net = ("C:\\>netstat -ano\r\n\r\nActive Connections\r\n\r\n"
           "  Proto  Local Address          Foreign Address        State           PID\r\n"
           "  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       900\r\n"
           "  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       16")
    tasks = ("C:\\>tasklist /svc\r\n\r\nImage Name                     PID Services\r\n"
             "========================= ======== ============================================\r\n"
             "System Idle Process              0 N/A\r\nsvchost.exe                    900 RpcSs\r\n\r\n")
    cut = textlog.parse_text(tasks + net, "diag.log", file_end=True)
    socks = cut.frame[cut.frame["event_type"] == "net:socket"].set_index("port")
    assert pd.isna(socks.loc[3389, "pid"]) and socks.loc[135, "pid"] == 900
    assert [w.locator for w in cut.warnings if "cut here" in w.message] == ["line 14"]
    whole = textlog.parse_text(tasks + net + "68\r\n", "diag.log", file_end=True)
    socks = whole.frame[whole.frame["event_type"] == "net:socket"].set_index("port")
    assert socks.loc[3389, "pid"] == 1668 and not whole.warnings
