"""quser and qwinsta outputs of one capture that are not next to each other in a multi-output
log (found by review, "noticed and left alone"): their sessions were two rows each, counted
twice against a session limit."""
from __future__ import annotations

import orjson
import pytest

import analyzer

QUSER = (" USERNAME              SESSIONNAME        ID  STATE   IDLE TIME  LOGON TIME\r\n"
         ">administrator         rdp-tcp#0           2  Active          .  5/14/2024 9:01 AM\r\n"
         " jdoe                                      3  Disc         1:05  5/14/2024 8:00 AM\r\n")
QWINSTA = (" SESSIONNAME       USERNAME                 ID  STATE   TYPE        DEVICE\r\n"
           " services                                    0  Disc\r\n"
           " console                                     1  Conn\r\n"
           ">rdp-tcp#0         administrator             2  Active\r\n"
           "                   jdoe                      3  Disc\r\n"
           " rdp-tcp                                 65536  Listen\r\n")
NETSTAT = ("\r\nActive Connections\r\n\r\n"
           "  Proto  Local Address          Foreign Address        State           PID\r\n"
           "  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       2412\r\n"
           "  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       900\r\n")
IPCONFIG = ("\r\nWindows IP Configuration\r\n\r\n"
            "   Host Name . . . . . . . . . . . . : TS01\r\n\r\n"
            "Ethernet adapter Ethernet:\r\n\r\n"
            "   IPv4 Address. . . . . . . . . . . : 10.0.0.5(Preferred)\r\n"
            "   Lease Obtained. . . . . . . . . . : Tuesday, May 14, 2024 7:58:02 AM\r\n"
            "   Lease Expires . . . . . . . . . . : Wednesday, May 22, 2024 7:58:02 AM\r\n\r\n")
REG = ("\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations"
       "\\RDP-Tcp\r\n"
       "    PortNumber    REG_DWORD    0xd3d\r\n"
       "    MaxInstanceCount    REG_DWORD    0x3\r\n\r\n")


def sessions(tmp_path, text: str):
    d = tmp_path / "b"
    d.mkdir()
    (d / "diag.log").write_bytes(text.encode("cp437"))
    b = analyzer.load(d)
    rows = b.timeline[b.timeline["event_type"] == "session:winstation"]
    out = [(int(r.session_id), r.user if isinstance(r.user, str) else None,
            orjson.loads(r.data)) for r in rows.itertuples()]
    return b, sorted(out, key=lambda t: (t[0], t[2].get("command") or ""))


def assert_folded(out, quser_first_line: int):
    assert [(sid, user) for sid, user, _ in out] == [
        (0, None), (1, None), (2, "administrator"), (3, "jdoe"), (65536, None)]
    by_id = {sid: d for sid, _, d in out}
    assert "command" not in by_id[2]                     # the qwinsta row, completed
    assert (by_id[2]["state"], by_id[2]["session_name"]) == ("Active", "rdp-tcp#0")
    assert (by_id[2]["idle_time"], by_id[2]["logon_time"]) == (".", "5/14/2024 9:01 AM")
    assert (by_id[3]["idle_time"], by_id[3]["logon_time"]) == ("1:05", "5/14/2024 8:00 AM")
    assert by_id[2]["quser_locator"] == f"line {quser_first_line + 1}"
    assert by_id[3]["quser_locator"] == f"line {quser_first_line + 2}"
    assert "logon_time" not in by_id[1]


def assert_apart(out):
    assert [(sid, d.get("command")) for sid, _, d in out] == [
        (0, None), (1, None), (2, None), (2, "quser"), (3, None), (3, "quser"), (65536, None)]


@pytest.mark.parametrize("between", [
    "C:\\>netstat -ano\r\n" + NETSTAT,
    "C:\\>ipconfig /all\r\n" + IPCONFIG,                 # (its lease times are no stamps)
    "C:\\>netstat -ano\r\n" + NETSTAT + "\r\nC:\\>ipconfig /all\r\n" + IPCONFIG,
])
def test_quser_and_qwinsta_with_other_outputs_between_are_one_session_each(tmp_path, between):
    text = "C:\\>quser\r\n" + QUSER + "\r\n" + between + "\r\nC:\\>qwinsta\r\n" + QWINSTA
    b, out = sessions(tmp_path, text)
    assert_folded(out, 2)
    row = b.inventory.iloc[0]
    # (a file of quser and qwinsta alone is sniffed as qwinsta output, and read as a textlog)
    assert (row.kind, row.status, row.records) == (
        "textlog" if "netstat" in between else "qwinsta", "parsed",
        5 + (2 if "netstat" in between else 0))


def test_qwinsta_first_then_quser_further_down(tmp_path):
    text = ("C:\\>qwinsta\r\n" + QWINSTA + "\r\nC:\\>netstat -ano\r\n" + NETSTAT
            + "\r\nC:\\>quser\r\n" + QUSER)
    _, out = sessions(tmp_path, text)
    assert_folded(out, 18)


def test_per_command_time_stamps_seconds_apart_are_one_capture(tmp_path):
    text = ("===== quser  Tue 05/14/2024  9:30:01.20 =====\r\n" + QUSER
            + "===== netstat -ano  Tue 05/14/2024  9:30:01.84 =====\r\n" + NETSTAT
            + "===== qwinsta  Tue 05/14/2024  9:30:03.02 =====\r\n" + QWINSTA)
    _, out = sessions(tmp_path, text)
    assert_folded(out, 2)


@pytest.mark.parametrize("stamp", [
    "Tue 05/14/2024 11:02:45.17",                      # echo %date% %time%, 1.5 hours later
    "Wednesday, May 15, 2024 9:30:05 AM",              # Get-Date, the next day
    "===== qwinsta 2024-05-15 09:30:05 =====",         # a banner with the date of another day
])
def test_a_time_stamp_of_another_time_between_keeps_them_apart(tmp_path, stamp):
    text = ("Tue 05/14/2024  9:30:01.20\r\nC:\\>quser\r\n" + QUSER + "\r\nC:\\>netstat -ano\r\n"
            + NETSTAT + "\r\n" + stamp + "\r\nC:\\>qwinsta\r\n" + QWINSTA)
    if "Wednesday" in stamp:
        text = text.replace("Tue 05/14/2024  9:30:01.20", "Tuesday, May 14, 2024 9:30:01 AM")
    if "=====" in stamp:
        text = text.replace("Tue 05/14/2024  9:30:01.20", "===== quser 2024-05-14 09:30:01 =====")
    _, out = sessions(tmp_path, text)
    assert_apart(out)


def test_a_file_of_quser_and_qwinsta_alone_is_judged_the_same(tmp_path):
    """quser, other text, qwinsta and nothing else rdpdoctor reads: the file is read as
    qwinsta output, whose parse folded every quser row into the qwinsta row of its session
    whatever stood between them — also a time stamp of the next day."""
    text = ("Tue 05/14/2024  9:30:01.20\r\nC:\\>quser\r\n" + QUSER + "\r\nC:\\>ipconfig /all\r\n"
            + IPCONFIG + "\r\nWed 05/15/2024  9:30:05.11\r\nC:\\>qwinsta\r\n" + QWINSTA)
    b, out = sessions(tmp_path, text)
    assert_apart(out)
    assert (b.inventory.iloc[0].kind, b.inventory.iloc[0].records) == ("qwinsta", 7)


@pytest.mark.parametrize("change", [
    # quser lists a session qwinsta does not (a logon in between)
    lambda q, w: (q + " bob                   rdp-tcp#1           4  Active          .  "
                      "5/14/2024 9:40 AM\r\n", w),
    # session 3 held by another user (logged off, the id reused)
    lambda q, w: (q, w.replace("jdoe    ", "asmith  ")),
    # session 2 disconnected in between
    lambda q, w: (q, w.replace(">rdp-tcp#0         administrator             2  Active",
                               "                   administrator             2  Disc  ")),
    # qwinsta lists a user's session quser does not
    lambda q, w: (q, w.replace(" rdp-tcp     ", " rdp-tcp#5         bob                       5  "
                                                "Active\r\n rdp-tcp     ")),
])
def test_contradicting_session_lists_are_kept_apart(tmp_path, change):
    q, w = change(QUSER, QWINSTA)
    text = "C:\\>quser\r\n" + q + "\r\nC:\\>netstat -ano\r\n" + NETSTAT + "\r\nC:\\>qwinsta\r\n" + w
    _, out = sessions(tmp_path, text)
    assert sum(d.get("command") == "quser" for _, _, d in out) == len(q.splitlines()) - 1
    assert not any("logon_time" in d for _, _, d in out if d.get("command") != "quser")


def test_a_session_limit_counts_each_session_once(tmp_path):
    """Two RDP sessions under a limit of three: the quser rows counted again made four,
    "the RDP connection limit is reached" (critical) on a server with a free slot."""
    text = ("C:\\>quser\r\n" + QUSER + "\r\nC:\\>netstat -ano\r\n" + NETSTAT
            + "\r\nC:\\>reg query \"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server"
              "\\WinStations\\RDP-Tcp\"\r\n" + REG + "C:\\>qwinsta\r\n" + QWINSTA)
    d = tmp_path / "b"
    d.mkdir()
    (d / "diag.log").write_bytes(text.encode("cp437"))
    res = analyzer.analyze(d)
    ids = {f.id for f in res.report.findings}
    assert "connection-limit-policy" in ids              # the limit of 3 was read
    assert "connection-limit-reached" not in ids
    check = {c.id: c for c in res.report.checks}["connection-limit-reached"]
    assert check.status == "pass"


@pytest.mark.parametrize("second", [
    "C:\\>qwinsta\r\n" + QWINSTA,                     # quser kept apart from its qwinsta
    "C:\\>qwinsta\r\n" + QWINSTA + "\r\nC:\\>qwinsta\r\n" + QWINSTA,   # qwinsta run twice
])
def test_captures_kept_apart_count_each_session_once(tmp_path, second):
    """A quser kept apart from its qwinsta (a time stamp an hour later between them), or a
    file holding qwinsta twice: the two captures list the same sessions, and the session
    limit counted them twice — four sessions under a limit of three, a false critical
    connection-limit-reached (found by review). The later capture stands."""
    text = ("Tue 05/14/2024  9:30:01.20\r\nC:\\>quser\r\n" + QUSER + "\r\nC:\\>netstat -ano\r\n"
            + NETSTAT + "\r\nTue 05/14/2024 11:02:45.17\r\n" + second)
    _, out = sessions(tmp_path, text)
    assert sum(d.get("command") == "quser" for _, _, d in out) == 2   # (kept apart)
    d = tmp_path / "c"
    d.mkdir()
    (d / "diag.log").write_bytes(text.encode("cp437"))
    (d / "rdp-tcp.txt").write_bytes(("HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control"
                                     "\\Terminal Server\\WinStations\\RDP-Tcp\r\n"
                                     "    MaxInstanceCount    REG_DWORD    0x3\r\n\r\n").encode())
    res = analyzer.analyze(d)
    ids = {f.id for f in res.report.findings}
    assert "connection-limit-policy" in ids              # the limit of 3 was read
    assert "connection-limit-reached" not in ids
    assert "sessions-not-disconnecting" not in ids
    assert {c.id: c for c in res.report.checks}["connection-limit-reached"].status == "pass"


@pytest.mark.parametrize("later,rows", [("Tue 05/14/2024 11:02:45.17", 7),   # apart
                                        ("Tue 05/14/2024  9:30:05.20", 5)])  # one capture
def test_a_log_read_as_reg_query_output_judges_the_fold_by_its_stamps(tmp_path, later, rows):
    """A log whose head is `reg query` output is read by the registry parser, which hands
    its other outputs to textlog — without the lines between them, so the time stamps were
    lost and quser was folded into a qwinsta taken an hour later (found while testing the
    session-limit fix). The stamps go along now; they are no unread data either."""
    text = ("C:\\>reg query \"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server"
            "\\WinStations\\RDP-Tcp\"\r\n" + REG + "Tue 05/14/2024  9:30:01.20\r\nC:\\>quser\r\n"
            + QUSER + "\r\nC:\\>netstat -ano\r\n" + NETSTAT + "\r\n" + later
            + "\r\nC:\\>qwinsta\r\n" + QWINSTA)
    b, out = sessions(tmp_path, text)
    assert b.inventory.iloc[0].kind == "reg"
    assert len(out) == rows
    assert sum(d.get("command") == "quser" for _, _, d in out) == (2 if rows == 7 else 0)
    assert not [w for w in b.warnings if "outside every recognised" in w.message]


QWINSTA_LATER = (" SESSIONNAME       USERNAME                 ID  STATE   TYPE        DEVICE\r\n"
                 " services                                    0  Disc\r\n"
                 " console                                     1  Conn\r\n"
                 ">rdp-tcp#7         carol                     5  Active\r\n"
                 " rdp-tcp                                 65536  Listen\r\n")
LIMIT_2 = ("HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations"
           "\\RDP-Tcp\r\n    MaxInstanceCount    REG_DWORD    0x2\r\n\r\n")


def _analyze(tmp_path, text: str):
    d = tmp_path / "a"
    d.mkdir()
    (d / "diag.log").write_bytes(text.encode("cp437"))
    (d / "rdp-tcp.txt").write_bytes(LIMIT_2.encode())
    return analyzer.analyze(d)


def test_the_latest_of_two_qwinsta_captures_decides_the_session_count(tmp_path):
    """qwinsta at 9:30 (two RDP sessions) and at 11:02 (one, another id): the sessions of
    the first run ended; counting them too made three under a limit of two, a false
    critical (found by review)."""
    text = ("Tue 05/14/2024  9:30:01.20\r\nC:\\>qwinsta\r\n" + QWINSTA + "\r\nC:\\>netstat -ano\r\n"
            + NETSTAT + "\r\nTue 05/14/2024 11:02:45.17\r\nC:\\>qwinsta\r\n" + QWINSTA_LATER)
    res = _analyze(tmp_path, text)
    ids = {f.id for f in res.report.findings}
    assert "connection-limit-policy" in ids and "connection-limit-reached" not in ids
    assert {c.id: c for c in res.report.checks}["connection-limit-reached"].status == "pass"


def test_a_quser_kept_apart_after_qwinsta_leaves_the_listener_in_the_snapshot(tmp_path):
    """qwinsta first, quser an hour later: qwinsta's rows are taken (quser lists no
    listener, which would read as a listener that is down)."""
    text = ("Tue 05/14/2024  9:30:01.20\r\nC:\\>qwinsta\r\n" + QWINSTA + "\r\nC:\\>netstat -ano\r\n"
            + NETSTAT + "\r\nTue 05/14/2024 11:02:45.17\r\nC:\\>quser\r\n" + QUSER)
    _, out = sessions(tmp_path, text)
    assert sum(d.get("command") == "quser" for _, _, d in out) == 2      # (kept apart)
    res = _analyze(tmp_path, text)
    ids = {f.id for f in res.report.findings}
    assert "listener-down" not in ids
    assert "connection-limit-reached" in ids         # two sessions, a limit of two
    [f] = [f for f in res.report.findings if f.id == "connection-limit-reached"]
    assert "2 RDP session(s) in use" in f.summary
