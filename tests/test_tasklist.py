"""tasklist: corpus captures (table, CSV /v, GBK Chinese, '.' separators) and /svc layouts."""
from __future__ import annotations

import re
from pathlib import Path

import orjson
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import parsers
from parsers import tasklist
from parsers import text as T

from conftest import corpus_files, ids

FIX = Path(__file__).parent / "fixtures" / "text"
TASKLIST = corpus_files("tasklist")


def _data(df):
    return [orjson.loads(s) for s in df["data"]]


def _expected_rows(p: Path) -> int:
    """Count process rows independently: CSV lines whose 2nd field is a number, or table
    lines after a '=' ruler ending in a memory figure."""
    b = p.read_bytes()
    if b[:2] == b"\xff\xfe":
        t = b[2:].decode("utf-16-le")
    else:
        try:
            t = b.decode("utf-8-sig")
        except UnicodeDecodeError:
            t = b.decode("gbk")
    lines = t.replace("\r", "").split("\n")
    if lines[0].startswith('"'):
        return sum(1 for ln in lines if re.match(r'^"[^"]*","\d+"', ln))
    n, in_table = 0, False
    for ln in lines:
        if ln.startswith("====="):
            in_table = True
        elif in_table and re.search(r"\s\d+\s+[\d.,]+ K\s*$", ln):
            n += 1
    return n


@pytest.mark.parametrize("path", TASKLIST, ids=ids(TASKLIST))
def test_corpus_row_count_matches_the_file(path):
    res = tasklist.parse(path)
    assert len(res.frame) == _expected_rows(path) > 0
    assert res.warnings == []
    assert parsers.identify(path.read_bytes()[:65536], path.name) is tasklist
    assert res.frame["pid"].notna().all()
    assert (res.frame["event_type"] == "proc:process").all()


def test_gbk_chinese_table(corpus):
    res = tasklist.parse(corpus / "tasklist" / "xingyuan__tasklist_zh-CN_gbk.txt")
    assert res.stats["encoding"] == "gbk"
    d = _data(res.frame)
    first = d[0]
    assert first["image"] == "System Idle Process" and first["mem_kb"] == 8
    assert d[1]["image"] == "System" and d[1]["mem_kb"] == 3336
    last = res.frame.iloc[-1]
    assert int(last["pid"]) == 22288 and _data(res.frame.tail(1))[0]["image"] == "tasklist.exe"
    assert int(last["session_id"]) == 1


def test_dot_thousands_separator(corpus):
    res = tasklist.parse(corpus / "tasklist" / "hnggiahung__tasklist_filtered_utf8bom.txt")
    assert [x["mem_kb"] for x in _data(res.frame)] == [1420, 27296]
    assert list(res.frame["pid"]) == [5376, 5052]


def test_csv_v_columns(corpus):
    res = tasklist.parse(corpus / "tasklist" / "huynhnt__tasklist_v_fo_csv.csv")
    df = res.frame
    d = _data(df)
    assert df["user"].iloc[0] == "NT AUTHORITY\\SYSTEM"
    assert d[0]["cpu_time"] == "17:39:54" and d[0]["window_title"] is None
    assert df["user"].iloc[1] is None or str(df["user"].iloc[1]) == "<NA>"  # "N/A"
    ps = [x for x in d if x["image"] == "powershell.exe"]
    assert ps and ps[0]["window_title"] == "OleMainThreadWndName" and ps[0]["status"] == "Running"


def test_svc_2003_wrapped_lists():
    res = tasklist.parse(FIX / "tasklist_svc_2003.txt")
    by_pid = {int(p): x for p, x in zip(res.frame["pid"], _data(res.frame))}
    assert by_pid[836]["services"] == ["DcomLaunch", "TermService"]
    assert by_pid[656]["services"] == ["HTTPFilter", "kdc", "Netlogon", "NtLmSsp", "PolicyAgent",
                                       "ProtectedStorage", "SamSs"]
    assert len(by_pid[1004]["services"]) == 22 and by_pid[1004]["services"][-1] == "WZCSVC"
    assert by_pid[0]["services"] == [] and by_pid[2412]["image"] == "vncsrv.exe"
    assert len(res.frame) == 12 and res.warnings == []


def test_svc_utf16_and_locators():
    res = tasklist.parse(FIX / "tasklist_svc_2019_utf16.txt")
    by_pid = {int(p): (x, loc) for p, x, loc in zip(res.frame["pid"], _data(res.frame), res.frame["locator"])}
    assert by_pid[2160][0]["services"] == ["CryptSvc", "Dnscache", "LanmanWorkstation", "NlaSvc",
                                          "WinRM", "Wcmsvc"]
    assert by_pid[1668] == ({"image": "svchost.exe", "format": "table", "variant": "svc",
                             "services": ["TermService"]}, "line 10")


def test_german_svc_cp850():
    res = tasklist.parse(FIX / "tasklist_svc_de_cp850.txt")
    d = _data(res.frame)
    assert d[0]["services"] == []  # "Nicht zutreffend"
    assert d[-1]["image"] == "Überwachung.exe"
    assert d[4]["services"] == ["Dnscache", "LanmanWorkstation", "NlaSvc", "TapiSrv"]


def test_svc_csv_and_list():
    d = _data(tasklist.parse(FIX / "tasklist_svc.csv").frame)
    assert d[1]["services"][:3] == ["BrokerInfrastructure", "DcomLaunch", "LSM"] and len(d) == 4
    res = tasklist.parse(FIX / "tasklist_list.txt")
    d = _data(res.frame)
    assert res.stats["format"] == "list"
    assert d[1]["services"] == ["BrokerInfrastructure", "DcomLaunch", "LSM"]
    assert d[3]["session_name"] == "RDP-Tcp#0" and d[3]["mem_kb"] == 84112
    assert int(res.frame["session_id"].iloc[3]) == 2


def test_v_table():
    res = tasklist.parse(FIX / "tasklist_v.txt")
    d = _data(res.frame)
    assert [x["status"] for x in d] == ["Unknown", "Unknown", "Running", "Not Responding"]
    assert list(res.frame["user"])[2:] == ["CONTOSO\\jdoe", "CONTOSO\\asmith"]
    assert d[2]["window_title"] == "Program Manager" and d[3]["session_name"] is None
    assert int(res.frame["session_id"].iloc[3]) == 3


def test_bad_rows_are_warnings():
    txt = ("Image Name                     PID Services\n"
           "========================= ======== ============\n"
           "svchost.exe                   1668 TermService\n"
           "@@@@ garbage @@@@\n"
           "vncsrv.exe                    2412 RemoteAssistPro\n")
    res = tasklist.parse_text(txt, "x", line_offset=100)
    assert list(res.frame["pid"]) == [1668, 2412]
    assert [w.locator for w in res.warnings] == ["line 104"]


def test_no_matching_tasks_is_empty_not_missing(tmp_path):
    p = tmp_path / "t.txt"
    p.write_bytes(b"INFO: No tasks are running which match the specified criteria.\r\n")
    assert parsers.identify(p.read_bytes(), p.name) is tasklist
    res = tasklist.parse(p)
    assert len(res.frame) == 0 and res.stats["no_match"] is True and res.warnings == []


@pytest.mark.parametrize("title", ['Error "0x204" when connecting - Google Chrome',
                                   'Error ""0x204"" when connecting - Google Chrome'])
def test_csv_window_title_with_quotes_is_kept(title):
    """tasklist /v /fo csv writes a quote inside a window title as it is: the line failed
    the all-fields-quoted pattern and the process vanished without a warning."""
    text = ('"Image Name","PID","Session Name","Session#","Mem Usage","Status","User Name",'
            '"CPU Time","Window Title"\n'
            '"svchost.exe","1104","Services","0","18,412 K","Unknown","NT AUTHORITY\\NETWORK '
            'SERVICE","0:00:03","N/A"\n'
            f'"chrome.exe","7312","RDP-Tcp#3","2","245,332 K","Running","CORP\\jdoe","0:02:11",'
            f'"{title}"\n'
            '"vncsrv.exe","2412","Services","0","9,120 K","Unknown","NT AUTHORITY\\SYSTEM",'
            '"0:00:01","N/A"\n')
    res = tasklist.parse_text(text, "t.csv")
    assert res.warnings == [] and list(res.frame["pid"]) == [1104, 7312, 2412]
    d = orjson.loads(res.frame["data"].iloc[1])
    assert d["window_title"] == 'Error "0x204" when connecting - Google Chrome'
    assert res.frame["user"].iloc[1] == "CORP\\jdoe"


def test_v_table_pasted_with_other_spacing_keeps_status_and_user():
    """A /v table whose rows no longer line up with the ruler (re-spaced when pasted into a
    ticket) is read by the PID; status, user, CPU time and title are split at the CPU time
    and a known status word, and what cannot be split is a warning, not lost silently."""
    lines = (FIX / "tasklist_v.txt").read_text().splitlines()
    table = lines[2:4] + [
        "svchost.exe 1668 Services 0 21,336 K Unknown NT AUTHORITY\\NETWORK SERVICE 0:00:12 N/A",
        "explorer.exe  4012 RDP-Tcp#0  2  84,112 K Running  CONTOSO\\jdoe  0:00:31 Program Manager",
        "notepad.exe 5200 3 9,004 K Not Responding CONTOSO\\asmith 0:00:00 notes.txt - Notepad",
        "app.exe 6100 Console 1 1,200 K Frobnicating CONTOSO\\bob 0:00:01 x",
    ]
    res = tasklist.parse_text("\n".join(table) + "\n", "t.txt")
    d = _data(res.frame)
    assert list(res.frame["pid"]) == [1668, 4012, 5200, 6100]
    assert [x.get("status") for x in d] == ["Unknown", "Running", "Not Responding", None]
    assert list(res.frame["user"])[:3] == ["NT AUTHORITY\\NETWORK SERVICE", "CONTOSO\\jdoe",
                                          "CONTOSO\\asmith"]
    assert d[1]["cpu_time"] == "0:00:31" and d[2]["window_title"] == "notes.txt - Notepad"
    assert [x["session_name"] for x in d] == ["Services", "RDP-Tcp#0", None, "Console"]
    assert list(res.frame["session_id"]) == [0, 2, 3, 1]
    assert [x["mem_kb"] for x in d] == [21336, 84112, 9004, 1200]
    assert [(w.locator, w.message.split(" row(s)")[0]) for w in res.warnings] == [("line 6", "1")]


def test_rows_run_together_by_lone_carriage_returns_are_a_warning_not_a_crash(tmp_path):
    # rows joined by a bare CR put every Mem Usage digit on one line: one 50-digit "integer"
    # made orjson raise and the whole tasklist was lost ("parser crashed")
    head = ("\r\nImage Name                     PID Session Name        Session#    Mem Usage\r\n"
            "========================= ======== ================ =========== ============\r\n"
            "System Idle Process              0 Services                   0          8 K\r\n")
    glued = "\r".join(f"svchost.exe                   {pid} Services                   0"
                      f"     21,404 K" for pid in (1132, 1300, 1400, 1500))
    p = tmp_path / "tasklist.txt"
    p.write_text(head + glued + "\r\nexplorer.exe                  5120 RDP-Tcp#3"
                 "                  3     95,112 K\r\n", encoding="utf-8", newline="")
    import analyzer
    b = analyzer.load(tmp_path)
    assert b.inventory.iloc[0]["status"] == "parsed"
    pids = [int(x) for x in b.timeline["pid"].dropna()]
    assert 0 in pids and 1132 in pids and 5120 in pids
    w = [(x.locator, x.message) for x in b.warnings if "carriage return" in x.message]
    assert w == [("line 5", "3 carriage return(s) inside lines (rows run together); what "
                            "follows one on its line may not be read")]


def test_undecodable_characters_are_located(tmp_path):
    p = tmp_path / "tasklist.txt"
    body = ("\r\nImage Name                     PID Services\r\n"
            "========================= ======== ============================================\r\n"
            "System                           4 N/A\r\n"
            "svchost.exe                   1096 TermService\r\n").encode("utf-16-le")
    # a lone UTF-16 surrogate (a cut or corrupted character) on line 6
    p.write_bytes(b"\xff\xfe" + body + "caf".encode("utf-16-le") + b"\x00\xd8"
                  + ".exe                      2000 N/A\r\n".encode("utf-16-le"))
    res = tasklist.parse(p)
    assert [(w.locator, w.message.split()[0]) for w in res.warnings
            if "undecodable" in w.message] == [("line 6", "1")]


SVC_HEAD = ("\r\nImage Name                     PID Services\r\n"
            "========================= ======== ============================================\r\n")


@pytest.mark.timeout(60)
def test_a_long_run_of_blanks_in_a_row_is_passed_over_in_linear_time(tmp_path):
    """'x' + blanks + 'y' under the ruler: the pattern for rows out of line with the ruler
    retried the blanks from each of them (30,000 blanks: 14 s per call, and it runs while
    sniffing, finding blocks and parsing), so a 60 KB file exceeded its time budget and the
    whole tasklist was lost (review finding)."""
    p = tmp_path / "tasklist.txt"
    p.write_bytes((SVC_HEAD + "svchost.exe                    780 TermService\r\n"
                   + "x" + " " * 60_000 + "y\r\n"
                   + "svchost.exe                   1668 TermService\r\n").encode())
    assert parsers.identify(p.read_bytes()[:65536], p.name) is tasklist
    res = tasklist.parse(p)
    assert list(res.frame["pid"]) == [780, 1668]
    assert [w.locator for w in res.warnings if "not a tasklist row" in w.message] == ["line 5"]
    # the rest of a default / /v row out of line: its session-name part had the same flaw
    cols = [(0, 25), (26, 34), (35, 51), (52, 63), (64, 76)]
    f = tasklist._split_row("img.exe 5 x" + " " * 60_000 + "y 12 3,4 K", cols,
                            tasklist.COLUMNS[5])
    assert f["pid"] == "5" and f["session_id"] == "12" and f["mem"] == "3,4 K"


#: The patterns before the linear rewrite: real rows must read the same.
_OLD_MISALIGNED = re.compile(r"^(?P<image>.+?)\s+(?P<pid>\d+)(?:\s+(?P<rest>.*))?$")
_OLD_REST = re.compile(r"^(?:(?P<sn>.*?)\s+)?(?P<sid>\d+)\s+(?P<mem>[\d.,'\u00a0\u202f ]+\s*\S*)"
                       r"(?:\s+(?P<more>.*))?$")


@pytest.mark.parametrize("line", [
    "svchost.exe 1668 Services 0 21,336 K Unknown NT AUTHORITY\\NETWORK SERVICE 0:00:12 N/A",
    "explorer.exe  4012 RDP-Tcp#0  2  84,112 K Running  CONTOSO\\jdoe  0:00:31 Program Manager",
    "System Idle Process 0 Services 0 8 K", "Überwachung.exe 2412 N/A",
    "svchost.exe 780 BrokerInfrastructure, DcomLaunch, LSM,", "a 1 2 1 234 Ko", "x\t5\t6 7 K"])
def test_rows_out_of_line_read_as_before(line):
    new, old = tasklist._MISALIGNED.match(line.strip()), _OLD_MISALIGNED.match(line.strip())
    assert new.groupdict() == old.groupdict()
    rest = (old.group("rest") or "").strip()
    a, b = tasklist._MISALIGNED_REST.match(rest), _OLD_REST.match(rest)
    assert (a and a.groupdict()) == (b and b.groupdict())


def test_continued_service_lists_are_in_the_message():
    res = tasklist.parse_text(SVC_HEAD.replace("\r", "") +
                              "svchost.exe                   1234 CryptSvc, Dnscache, LanmanWorkstation, NlaSvc,\n"
                              "                                   TapiSrv,\n"
                              "                                   TermService\n", "x")
    assert res.frame["message"].tolist() == [
        "svchost.exe pid 1234 services CryptSvc, Dnscache, LanmanWorkstation, NlaSvc, TapiSrv, "
        "TermService"]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=" \t0123456789,.'Kx-#\u00a0", max_size=24))
def test_row_patterns_match_as_before_on_any_short_text(s):
    for new, old in ((tasklist._MISALIGNED, _OLD_MISALIGNED), (tasklist._MISALIGNED_REST, _OLD_REST)):
        a, b = new.match(s.strip()), old.match(s.strip())
        assert (a and a.groupdict()) == (b and b.groupdict()), (s, new.pattern)


SVC_ROWS = ("System Idle Process              0 N/A\r\n"
            "svchost.exe                   1234 CryptSvc, Dnscache, LanmanWorkstation, NlaSvc,\r\n"
            "                                   TapiSrv,\r\n")


@pytest.mark.parametrize("last,pid,services,fragment", [
    ("svchost.exe                   99", None, [], "99"),                    # PID 9952
    ("svchost.exe                   1668 TermServ", 1668, [], "TermServ"),
    ("svchost.exe                   1668 RpcEptMapper, TermServ", 1668, ["RpcEptMapper"], "TermServ"),
    ("svchost.exe                   1668 N/A", 1668, [], None),              # whole by its form
])
def test_a_table_cut_inside_its_last_row_gives_no_wrong_value(tmp_path, last, pid, services,
                                                              fragment):
    """'svchost.exe   99' at the end of a cut file gave PID 99 without a warning (review
    finding); a cut service name would have named a service that does not exist."""
    p = tmp_path / "tasklist.txt"
    p.write_bytes((SVC_HEAD + SVC_ROWS + "                                   TermService\r\n"
                   + last).encode())
    res = tasklist.parse(p)
    d = _data(res.frame)
    assert [x["services"][-1] for x in d[1:2]] == ["TermService"]
    got = res.frame["pid"].iloc[-1]
    assert (None if pd.isna(got) else int(got)) == pid
    assert d[-1]["services"] == services and d[-1].get("cut") == fragment
    w = [(x.locator, x.message) for x in res.warnings]
    assert w == ([] if fragment is None else [("line 8", w[0][1])])
    assert fragment is None or repr(fragment) in w[0][1]
    # whole files — CRLF after the last row, or trimmed (Out-String).Trim() — read as they are
    for text in (SVC_HEAD + SVC_ROWS + last + "\r\n", (SVC_HEAD + SVC_ROWS + last).strip()):
        p.write_bytes(text.encode())
        res = tasklist.parse(p)
        assert not res.warnings and res.frame["message"].iloc[-1].split()[2] == last.split()[1]


def test_a_cut_continuation_line_and_a_cut_memory_figure(tmp_path):
    p = tmp_path / "tasklist.txt"
    p.write_bytes((SVC_HEAD + SVC_ROWS + "                                   TermServ").encode())
    res = tasklist.parse(p)
    assert _data(res.frame)[1]["services"][-1] == "TapiSrv"
    assert [x.locator for x in res.warnings] == ["line 7"] and "'TermServ'" in res.warnings[0].message
    head = ("\r\nImage Name                     PID Session Name        Session#    Mem Usage\r\n"
            "========================= ======== ================ =========== ============\r\n"
            "System Idle Process              0 Services                   0          8 K\r\n")
    for tail, mem, warned in (("     21,33", None, True), ("     21,336 K", 21336, False)):
        p.write_bytes((head + "svchost.exe                   1668 Services                   0"
                       + tail).encode())
        res = tasklist.parse(p)
        assert int(res.frame["pid"].iloc[-1]) == 1668 and _data(res.frame)[-1]["mem_kb"] == mem
        assert [x.locator for x in res.warnings] == (["line 5"] if warned else [])


@pytest.mark.parametrize("keep,pid,mem,fragment", [(8, 34712, None, "7"), (3, None, None, "347")])
def test_a_csv_cut_inside_its_last_line_keeps_its_whole_fields(corpus, tmp_path, keep, pid, mem,
                                                               fragment):
    """tasklist /fo csv cut inside its last line ('"tasklist.exe","347'): the line failed the
    all-fields-quoted pattern and was dropped without a word (381 of 382 rows)."""
    whole = (corpus / "tasklist" / "willsmythe__tasklist_fo_csv.csv").read_bytes()
    assert whole.endswith(b'"tasklist.exe","34712","Console","2","7,528 K"\n')
    end = whole.rfind(b"34712") + keep if keep == 3 else len(whole) - keep
    p = tmp_path / "tasklist.csv"
    p.write_bytes(whole[:end])
    res = tasklist.parse(p)
    assert len(res.frame) == 382
    last = _data(res.frame)[-1]
    got = res.frame["pid"].iloc[-1]
    assert last["image"] == "tasklist.exe" and (None if pd.isna(got) else int(got)) == pid
    assert last["mem_kb"] == mem and last["cut"] == fragment
    assert [(x.locator, repr(fragment) in x.message) for x in res.warnings] == [("line 383", True)]


def test_lines_inside_a_csv_block_that_are_no_records_are_warnings():
    text = ('"Image Name","PID","Session Name","Session#","Mem Usage"\n'
            '"System","4","Services","0","144 K"\n'
            'svchost.exe,1668,Services,0,"21,336 K"\n'
            '"vncsrv.exe","2412","Services","0","9,120 K"\n'
            'C:\\Users\\admin>\n')
    res = tasklist.parse_text(text, "t.csv", line_offset=10)
    assert list(res.frame["pid"]) == [4, 2412]
    assert [w.locator for w in res.warnings] == ["line 13", "line 15"]
    assert all("not a tasklist CSV row" in w.message for w in res.warnings)


def test_thousands_of_digits_are_no_pid_and_no_crash():
    """A CSV or list-format PID (or Session#) of 5,000 digits raised ValueError out of
    parse_text (int() refuses 4,300 digits and more; found by fuzzing)."""
    big = "1" * 5000
    csv = ('"Image Name","PID","Session Name","Session#","Mem Usage"\r\n'
           f'"svchost.exe","{big}","Services","0","32,144 K"\r\n'
           f'"vncsrv.exe","2412","Services","{big}","3 K"\r\n')
    res = tasklist.parse_text(csv, "t.csv")
    assert list(res.frame["pid"]) == [2412] and res.frame["session_id"].isna().all()
    res = tasklist.parse_text(f"\r\nImage Name:   svchost.exe\r\nPID:          {big}\r\n"
                              "Services:     TermService\r\n", "t.txt")
    assert not len(res.frame) and res.warnings


def test_a_quoted_line_right_above_a_ruler_does_not_hang(tmp_path):
    """A CSV-looking line directly above a table's ``=`` ruler made an empty CSV block and the
    parser stood on that line for ever (found by the property tests with a gbk line soup)."""
    text = '"svchost.exe","1668","TermService"\r\n========================= ======== ====\r\n' \
           '\r\nPID:   99999999999999999999'
    p = tmp_path / "t.txt"
    p.write_bytes(text.encode("gbk"))
    res = tasklist.parse(p)                     # (returned at all: it hung before)
    assert res.parser == "tasklist" and res.records <= 1


@pytest.mark.parametrize("tail", ["     32,", "     32.", "     32 ", "  32\u00a0", "     32'"])
def test_a_memory_figure_cut_after_its_thousands_separator_is_not_read(tmp_path, tail):
    """'32,' at the end of a cut file (of '32,144 K'; '32.' / '32 ' in localized output)
    read as 32 K (found by fuzzing "cut last lines"): it is cut, with a warning."""
    head = ("\r\nImage Name                     PID Session Name        Session#    Mem Usage\r\n"
            "========================= ======== ================ =========== ============\r\n"
            "System Idle Process              0 Services                   0          8 K\r\n")
    p = tmp_path / "tasklist.txt"
    p.write_bytes((head + "svchost.exe                   1668 Services                   0"
                   + tail).encode())
    res = tasklist.parse(p)
    assert int(res.frame["pid"].iloc[-1]) == 1668
    assert _data(res.frame)[-1]["mem_kb"] is None
    assert _data(res.frame)[-1]["cut"] == tail.strip()
    assert [x.locator for x in res.warnings] == ["line 5"] and "cut" in res.warnings[0].message
    for whole in ("     32 K", "  32 144 Ko"):      # with the unit: whole, even at the end
        p.write_bytes((head + "svchost.exe                   1668 Services                   0"
                       + whole).encode())
        res = tasklist.parse(p)
        assert _data(res.frame)[-1]["mem_kb"] == int(whole.replace(" ", "")[:-1].rstrip("Ko"))
        assert not res.warnings


def test_a_services_list_ending_with_a_comma_goes_on_in_the_next_line():
    """A /svc list that ends with a comma goes on in the next line; pasted from a web page
    or mail that line lost its leading blanks (KB 314056's example as published) and was
    'not a tasklist row': its services were lost (found by review)."""
    text = (SVC_HEAD + "System Idle Process              0 N/A\r\n"
            "Services.exe                   208 AppMgmt,Browser,Dhcp,Dmserver,Dnscache,\r\n"
            "Eventlog,LanmanServer,LanmanWorkstation,\r\n"
            "  PlugPlay\r\n"
            "svchost.exe                   1668 TermService\r\n")
    res = tasklist.parse_text(text, "t.txt")
    assert not res.warnings
    d = _data(res.frame)
    assert d[1]["services"] == ["AppMgmt", "Browser", "Dhcp", "Dmserver", "Dnscache", "Eventlog",
                                "LanmanServer", "LanmanWorkstation", "PlugPlay"]
    assert list(res.frame["pid"]) == [0, 208, 1668]
    lines = T.split_lines(text)
    assert tasklist.block_spans(lines) == [(1, len(lines) - 1)]
    # a line after a list that does not end with a comma is no continuation
    res = tasklist.parse_text(text.replace("Dnscache,\r\n", "Dnscache\r\n"), "t.txt")
    assert _data(res.frame)[1]["services"][-1] == "Dnscache"
    assert [w.locator for w in res.warnings] == ["line 6", "line 7"]


@pytest.mark.parametrize("cut_after_comma", [False, True])
def test_a_services_list_ending_with_a_comma_at_the_end_of_the_file_was_cut(tmp_path,
                                                                            cut_after_comma):
    """'... NlaSvc,' as the file's last line (the line after it cut off, or the file cut
    right after the comma) read as a whole list without a word (found by review)."""
    p = tmp_path / "tasklist.txt"
    text = SVC_HEAD + SVC_ROWS
    p.write_bytes((text.rstrip() if cut_after_comma else text).encode())
    res = tasklist.parse(p)
    assert _data(res.frame)[-1]["services"] == ["CryptSvc", "Dnscache", "LanmanWorkstation",
                                                "NlaSvc", "TapiSrv"]
    assert [w.locator for w in res.warnings] == ["line 6"]
    assert "cut" in res.warnings[0].message and "comma" in res.warnings[0].message


LIST_HEAD = ("\r\nImage Name:   System Idle Process\r\nPID:          0\r\nSession Name: Services\r\n"
             "Session#:     0\r\nMem Usage:    8 K\r\n\r\n")


@pytest.mark.parametrize("last,pid,image,fields,fragment", [
    ("Image Name:   svchost.exe\r\nPID:          16", None, "svchost.exe",
     {}, "16"),                                                         # PID 1668
    ("Image Name:   explorer.exe\r\nPID:          4012\r\nSession Name: RDP-Tcp#0\r\n"
     "Session#:     2\r\nMem Usage:    84,1", 4012, "explorer.exe",
     {"session_name": "RDP-Tcp#0", "mem_kb": None}, "84,1"),
    ("Image Name:   explorer.exe\r\nPID:          4012\r\nSession Name: RDP-Tcp#0\r\n",
     4012, "explorer.exe", {"session_name": "RDP-Tcp#0", "services": [], "variant": "default"},
     None),                                                             # ends after a line
    ("Image Name:   explorer.exe\r\nPID:          4012\r\nSess", 4012, "explorer.exe",
     {"services": [], "variant": "default"}, None),                    # a label cut short
])
def test_a_list_record_cut_by_the_end_of_the_file_gives_no_wrong_value(tmp_path, last, pid, image,
                                                                       fields, fragment):
    """tasklist /fo list had no cut handling (found by review): 'PID: 16' at the end of a
    cut file read as PID 16, and a record the file ends inside after three fields read as a
    /svc record whose services were the session name."""
    p = tmp_path / "tasklist.txt"
    p.write_bytes((LIST_HEAD + last).encode())
    res = tasklist.parse(p)
    got = res.frame["pid"].iloc[-1]
    d = _data(res.frame)[-1]
    assert len(res.frame) == 2 and (None if pd.isna(got) else int(got)) == pid
    assert d["image"] == image and d.get("cut") == fragment
    assert {k: d[k] for k in fields} == fields
    n_lines = (LIST_HEAD + last).count("\n") + (not last.endswith("\n"))
    assert [w.locator for w in res.warnings] == [f"line {n_lines}"]
    assert "cut" in res.warnings[0].message
    assert fragment is None or repr(fragment) in res.warnings[0].message


def test_a_whole_list_record_at_the_end_of_the_file_reads_without_warning(tmp_path):
    p = tmp_path / "tasklist.txt"
    for text in (LIST_HEAD, LIST_HEAD.rstrip(), LIST_HEAD + "Image Name:   x.exe\r\nPID:   4\r\n"
                 "Session Name: Services\r\nSession#:     0\r\nMem Usage:    84,112 K"):
        p.write_bytes(text.encode())
        res = tasklist.parse(p)
        assert not res.warnings and _data(res.frame)[-1]["mem_kb"] in (8, 84112)


V_HEAD = ("\r\nImage Name                     PID Session Name        Session#    Mem Usage Status"
          "          User Name                                              CPU Time Window Title\r\n"
          "========================= ======== ================ =========== ============ ==========="
          "==== ================================================== ============ ================\r\n")
V_ROW = "svchost.exe                   1668 Services                   0     21,336 K "


@pytest.mark.parametrize("table,last,field,fragment", [
    (SVC_HEAD, "System Idle Process              0 Nicht ", "services", "Nicht"),
    (SVC_HEAD, "System Idle Process              0 Non ", "services", "Non"),
    (V_HEAD, V_ROW + "Wird ", "status", "Wird"),
    (V_HEAD, V_ROW + "Running         NT ", "user", "NT"),
    (V_HEAD, V_ROW + "Running         NT AUTHORITY\\NETWORK ", "user", "NT AUTHORITY\\NETWORK"),
])
def test_a_cut_after_the_first_word_of_a_known_multi_word_value_is_cut(tmp_path, table, last,
                                                                      field, fragment):
    """German 'Nicht zutreffend' cut to 'Nicht ' (a blank after it: taken as whole) read as a
    service named 'Nicht'; a status 'Wird ausgeführt' as 'Wird' (found by review)."""
    p = tmp_path / "tasklist.txt"
    p.write_bytes((table + last).encode())
    res = tasklist.parse(p)
    d = _data(res.frame)[-1]
    assert d[field] in (None, []) and d["cut"] == fragment
    assert len(res.warnings) == 1 and repr(fragment) in res.warnings[0].message
    # a whole one-word value before the blank is read
    whole = last.replace(fragment + " ", {"services": "TermService ", "status": "Running ",
                                          "user": "CONTOSO\\jdoe "}[field])
    p.write_bytes((table + whole).encode())
    res = tasklist.parse(p)
    assert _data(res.frame)[-1][field] in (["TermService"], "Running", "CONTOSO\\jdoe")


def test_a_short_last_list_record_is_cut_only_when_it_is_one(tmp_path):
    """The 'short last record' rule ran on records that were not cut (found by review): a
    /svc record after default ones read 'Services: TermService' as the session name, a
    'Total: 5' footer became process '5', and a trimmed text (no leading blank line) cut in
    'PID: 99' read PID 99 as real."""
    p = tmp_path / "tasklist.txt"
    svc = "Image Name:   svchost.exe\r\nPID:          1088\r\nServices:     TermService\r\n"
    p.write_bytes((LIST_HEAD + svc).encode())
    res = tasklist.parse(p)
    d = _data(res.frame)[-1]
    assert int(res.frame["pid"].iloc[-1]) == 1088 and not res.warnings
    assert d["variant"] == "svc" and d["services"] == ["TermService"]
    assert "session_name" not in d

    p.write_bytes((LIST_HEAD + "Total: 5\r\nElapsed: 0.2s\r\n").encode())
    res = tasklist.parse(p)
    assert [r["image"] for r in _data(res.frame)] == ["System Idle Process"]
    assert len(res.warnings) == 1 and "2 fields skipped" in res.warnings[0].message
    assert "cut" not in res.warnings[0].message

    # (tasklist /fo list | Out-String).Trim(): no leading blank line, so the missing last
    # line break cannot tell a cut; the short record's last value is not trusted
    p.write_bytes((LIST_HEAD.lstrip() + "Image Name:   foo.exe\r\nPID:          99").encode())
    res = tasklist.parse(p)
    d = _data(res.frame)[-1]
    assert len(res.frame) == 2 and pd.isna(res.frame["pid"].iloc[-1])
    assert d["image"] == "foo.exe" and d["cut"] == "99"
    assert [w.locator for w in res.warnings] == ["line 8"] and "'99'" in res.warnings[0].message
