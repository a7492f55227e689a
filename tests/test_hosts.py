"""Host separation in a bundle: which host a file's rows belong to, and that one server's
artifacts never decide another's findings (found by review, each reproduced end to end)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analyzer.bundle import load as load_bundle, normalize_host
from analyzer.engine import analyze

FIX = Path(__file__).parent / "fixtures" / "text"

NETSTAT_3389_PID_1184 = """
Active Connections

  Proto  Local Address          Foreign Address        State           PID
  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       832
  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       1184
"""


def tasklist(pid_1184: tuple[str, str], pid_2412: tuple[str, str]) -> str:
    rows = [("svchost.exe", 832, "RpcEptMapper, RpcSs"), (pid_1184[0], 1184, pid_1184[1]),
            (pid_2412[0], 2412, pid_2412[1])]
    return ("\nImage Name                     PID Services\n"
            "========================= ======== ============================================\n"
            + "".join(f"{i:<25} {p:>8} {s}\n" for i, p, s in sorted(rows, key=lambda r: r[1])))


HEALTHY = tasklist(("svchost.exe", "TermService"), ("vncsrv.exe", "RemoteAssistPro"))
CONFLICT = tasklist(("vncsrv.exe", "RemoteAssistPro"), ("svchost.exe", "TermService"))


def systeminfo(host: str, zone: str | None = None) -> str:
    text = (FIX / "systeminfo_2008r2_en.txt").read_text(encoding="utf-8")
    text = text.replace("Host Name:                 TS01", f"Host Name:                 {host}")
    if zone:
        text = text.replace("(UTC-08:00) Pacific Time (US & Canada)", zone)
    return text


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


def ids(res, host=None) -> list[str]:
    return sorted(f.id for f in res.report.findings if host is None or f.host == host)


def test_a_hex_looking_computer_name_is_a_name_not_an_address():
    """``dc01``, ``cafe``, ``db01`` are all hex digits: they were kept as addresses (not
    upper-cased), so a bundle whose systeminfo says ``dc01`` in a ``DC01_`` folder had two
    hosts and every finding twice."""
    assert [normalize_host(h) for h in ("dc01", "cafe.contoso.com", "DB01", "Beef")] \
        == ["DC01", "CAFE", "DB01", "BEEF"]
    assert [normalize_host(h) for h in ("10.0.0.5", "fe80::1", "fe80::1%12", "::1")] \
        == ["10.0.0.5", "fe80::1", "fe80::1%12", "::1"]


def test_lowercase_hex_host_in_content_and_folder_is_one_host(tmp_path):
    b = write(tmp_path / "b", {
        "DC01_Networking/DC01_Netstat.txt": NETSTAT_3389_PID_1184,
        "DC01_SystemInfo/DC01_Tasklist.txt": CONFLICT,
        "DC01_SystemInfo/DC01_SystemInfo.txt": systeminfo("dc01"),
        "qwinsta.txt": (FIX / "qwinsta_2003_en.txt").read_text(encoding="utf-8"),
    })
    res = analyze(b)
    assert res.bundle.hosts == ["DC01"]
    assert ids(res).count("port-conflict") == 1
    assert {c.host for c in res.report.checks} == {"DC01"}
    inv = res.bundle.inventory.set_index("source")
    assert inv.loc["qwinsta.txt", "host"] == "DC01"            # the root file: the only host
    assert inv.loc["qwinsta.txt", "host_from"] == "bundle"
    assert inv.loc["DC01_SystemInfo/DC01_SystemInfo.txt", "host_from"] == "content"
    assert inv.loc["DC01_Networking/DC01_Netstat.txt", "host_from"] == "path"


def test_an_unlabelled_capture_does_not_override_the_hosts_own(tmp_path):
    """A root netstat/tasklist is assumed to be the only host's; the host's own (MSRD
    folder) captures still decide: an unlabelled pair showing a conflict must not turn a
    healthy labelled capture into a port-conflict."""
    b = write(tmp_path / "b", {
        "HOSTA_Networking/HOSTA_Netstat.txt": NETSTAT_3389_PID_1184,
        "HOSTA_SystemInfo/HOSTA_Tasklist.txt": HEALTHY,
        "netstat.txt": NETSTAT_3389_PID_1184,
        "tasklist.txt": CONFLICT,
    })
    res = analyze(b)
    assert res.bundle.hosts == ["HOSTA"]
    assert "port-conflict" not in ids(res)
    port = next(c for c in res.report.checks if c.id == "port-conflict")
    assert port.status == "pass"
    # with the labelled tasklist gone, the unlabelled pair is all there is: it decides
    (b / "HOSTA_SystemInfo/HOSTA_Tasklist.txt").unlink()
    (b / "HOSTA_Networking/HOSTA_Netstat.txt").unlink()
    (b / "HOSTA_SystemInfo").mkdir(exist_ok=True)
    (b / "HOSTA_SystemInfo/HOSTA_SystemInfo.txt").write_text(systeminfo("HOSTA"),
                                                            encoding="utf-8")
    res = analyze(b)
    f = [f for f in res.report.findings if f.id == "port-conflict"]
    assert len(f) == 1 and f[0].host == "HOSTA" and "vncsrv.exe" in f[0].summary


@pytest.mark.parametrize("export_host,utc", [("HOSTB", "2024-05-01 10:05"),
                                              ("HOSTA", "2024-05-01 00:05")])
def test_an_export_takes_its_own_hosts_time_zone_not_another_hosts(tmp_path, export_host, utc):
    """Event Viewer CSV exports hold local times. HOSTB's export must not be read in
    HOSTA's zone (10 hours off here): with no zone of its own it stays UTC, with a warning;
    the same export in HOSTA's folder is read in HOSTA's zone."""
    csv = ("Level,Date and Time,Source,Event ID,Task Category\n"
           'Error,5/1/2024 10:05:00 AM,TermService,1004,None,'
           '"The terminal server cannot issue a client license."\n')
    src = f"{export_host}_EventLogs/{export_host}_System.csv"
    b = write(tmp_path / "b", {
        "HOSTA_SystemInfo/HOSTA_SystemInfo.txt": systeminfo("HOSTA", "(UTC+10:00) Brisbane"),
        src: csv,
    })
    bundle = load_bundle(b)
    rows = bundle.timeline[bundle.timeline["source"] == src]
    assert list(rows["time"]) == [pd.Timestamp(utc, tz="UTC")]
    taken_as_utc = [w for w in bundle.warnings if w.source == src and "taken as UTC" in w.message]
    assert bool(taken_as_utc) == (export_host == "HOSTB")


def test_a_name_longer_than_15_characters_is_one_host_under_both_forms(tmp_path):
    """Windows cuts a computer name to 15 characters for NetBIOS (%COMPUTERNAME%: the
    MSRD-Collect folders, systeminfo), while the event logs keep the full DNS name: the
    two made two hosts, a healthy server 'inconclusive' on both halves and every finding
    told twice (found by review)."""
    from tests.test_eventxml import TERMDD
    full, short = "RDSH-PRODUCTION-01", "RDSH-PRODUCTION"
    events = "<Events>" + "".join(
        TERMDD.replace("TS2008.contoso.com", f"{full}.contoso.com")
        .replace("<EventRecordID>101<", f"<EventRecordID>{101 + i}<") for i in range(3)) \
        + "</Events>"
    root = write(tmp_path / "b", {
        f"{short}_EventLogs/{short}_System.xml": events,
        f"{short}_Networking/{short}_Netstat.txt": NETSTAT_3389_PID_1184,
        f"{short}_SystemInfo/{short}_Tasklist.txt": CONFLICT,
        f"{short}_SystemInfo/{short}_SystemInfo.txt": systeminfo(short)})
    b = load_bundle(root)
    assert b.hosts == [full]
    assert set(b.timeline["host"].astype(str)) == {full}
    assert set(b.inventory["host"].dropna()) == {full}
    res = analyze(root)
    assert [f.host for f in res.report.findings if f.id == "port-conflict"] == [full]
    # two servers that cut to the same 15 characters stay apart (nothing tells which)
    two = events.replace(f"{full}.contoso.com", "RDSH-PRODUCTION-02.contoso.com", 1)
    write(tmp_path / "b", {f"{short}_EventLogs/{short}_System.xml": two})
    assert sorted(load_bundle(root).hosts) == [short, full, "RDSH-PRODUCTION-02"]


def test_a_long_name_is_one_host_in_loose_files_and_takes_its_systeminfo_zone(tmp_path):
    """The 15-character merge came after "the bundle's only host" was decided, and the
    local-time exports looked their zone up by the full name: loose files (no MSRD folders)
    left a netstat on UNKNOWN, and a Get-WinEvent CSV beside a Brisbane systeminfo was read
    as UTC, 10 h off (found by review)."""
    import csv
    import io
    from tests.test_eventxml import TERMDD
    full, short = "RDSH-PRODUCTION-01", "RDSH-PRODUCTION"
    events = "<Events>" + TERMDD.replace("TS2008.contoso.com", f"{full}.contoso.com") \
        + "</Events>"
    lines = (Path(__file__).parent / "fixtures" / "events" / "GetWinEvent_Export-Csv.csv") \
        .read_text(encoding="utf-8-sig").splitlines()
    buf = io.StringIO()
    w = csv.DictWriter(buf, next(csv.reader([lines[1]])), quoting=csv.QUOTE_ALL,
                       lineterminator="\n")
    w.writeheader()
    w.writerow({"Message": "x", "Id": "1013", "Level": "4", "ProviderName": "TermService",
                "LogName": "System", "MachineName": f"{full}.contoso.com",
                "TimeCreated": "5/1/2024 10:05:00 AM"})
    root = write(tmp_path / "b", {
        "System.xml": events, "Netstat.txt": NETSTAT_3389_PID_1184, "Tasklist.txt": CONFLICT,
        "SystemInfo.txt": systeminfo(short, "(UTC+10:00) Brisbane"),
        "Export.csv": lines[0] + "\n" + buf.getvalue()})
    b = load_bundle(root)
    assert b.hosts == [full]
    assert set(b.inventory["host"].dropna()) == {full}
    t = b.timeline[b.timeline["source"] == "Export.csv"]["time"].tolist()
    assert t == [pd.Timestamp("2024-05-01 00:05", tz="UTC")]
    res = analyze(root)
    assert [f.host for f in res.report.findings if f.id == "port-conflict"] == [full]


def test_a_log_filtered_to_nothing_keeps_its_own_host(corpus):
    """A Security log of which the relevance filter kept no record took its host from its
    first kept row — none — so it became UNKNOWN alone, and "the bundle's only host" (another
    server) beside one other log: that host then passed the Security checks on a log it never
    wrote (found by review on the corpus). The file's newest records name its host."""
    sec = corpus / "evtx" / "omer__security.evtx"
    res = analyze(sec)
    inv = res.inventory.iloc[0]
    assert inv["records"] == 0 and inv["dropped"] == 2261
    assert (inv["host"], inv["host_from"]) == ("WIN-03DLIIOFRRA", "content")
    assert res.report.hosts == ["WIN-03DLIIOFRRA"]
    checks = {c.id: c for c in res.report.checks}
    assert checks["user-not-authorized"].status == "pass"       # a Security log is held
    # renamed after setup: the newest records' name, not the first ones'
    from parsers.evtx import _file_host
    lsm = corpus / "evtx" / ("aaron__Microsoft-Windows-TerminalServices-LocalSessionManager"
                             "%4Operational.evtx")
    assert _file_host(str(lsm)) == "WIN-2TO3V41EH3L"


def test_a_server_renamed_along_its_own_log_is_one_host(corpus):
    """A server's own log keeps the name each record was written under: setup's (MINWINPC,
    an image build machine's 26L2233B1-02), then the name it was given. Each became a host of
    its own: the engineer saw phantom servers, each with its own passes, and the captures
    beside the log no "only host" to join (found by review on the corpus)."""
    ev = corpus / "evtx"
    lsm = analyze(ev / ("aaron__Microsoft-Windows-TerminalServices-LocalSessionManager"
                        "%4Operational.evtx"))               # MINWINPC → WIN-2TO3V41EH3L
    assert lsm.report.hosts == ["WIN-2TO3V41EH3L"]
    assert set(lsm.timeline["host"].astype(str)) == {"WIN-2TO3V41EH3L"}
    assert load_bundle(ev / "omer__Security_with_size_t.evtx").hosts == ["WIN-L0ZZQ76PMUF"]
    # four renames that EventLog 6011 records ("changed from %1 to %2"), one of them to a
    # name that never logged a record, the last to a name no pattern knows
    zero = load_bundle(ev / "omer__sample-with-zero-data-size-event.evtx")
    assert zero.hosts == ["W10-1507-LTSB"]
    # default names without a 6011 are not guessed (real servers keep WIN-… names), nor is
    # a named server renamed to another name; a merged sample of eleven servers stays eleven
    tugix = load_bundle(ev / ("tugix__Microsoft-Windows-TerminalServices-LocalSessionManager"
                              "%4Operational.evtx"))
    assert tugix.hosts == ["CAFTE", "DESKTOP-P2NAHG6", "WIN-8TCU0Q1I3O7"]
    assert load_bundle(ev / "plaso__System2.evtx").hosts == ["GREENDALEGOLD", "STUDENT-PC1"]
    assert len(load_bundle(ev / "e2m__ID1149-RDP_success_logins_to_multiple_hosts.evtx").hosts) == 11


def test_renamed_hosts_needs_one_run_per_name_and_a_setup_name_or_a_rename_event():
    from analyzer.bundle import renamed_hosts
    names = ["MINWINPC", "WIN-2TO3V41EH3L"]
    assert renamed_hosts([0, 0, 1, 1], names, [1, 2, 3, 4], {}) == {"MINWINPC": "WIN-2TO3V41EH3L"}
    assert renamed_hosts([0, 1, 0, 1], names, [1, 2, 3, 4], {}) == {}       # interleaved
    assert renamed_hosts([0, 0, 1, 1], ["FS01", "FS02"], [1, 2, 3, 4], {}) == {}
    assert renamed_hosts([0, 0, 1, 1], ["FS01", "FS02"], [1, 2, 3, 4], {"FS01": "FS02"}) \
        == {"FS01": "FS02"}
    # two servers of a merged log, each counting its own record numbers: a default name is
    # a real server's name (this merged them, moving a finding to the healthy one: review)
    assert renamed_hosts([0, 0, 1, 1], ["WIN-K3J9D2LQ8PA", "TS02"], [1201, 1202, 88001, 88002],
                         {}) == {}
    # setup names only as the first names: a server named after that pattern later is not
    assert renamed_hosts([0, 1, 2], ["FS01", "37L4247F27-25", "FS02"], [1, 2, 3], {}) == {}
    chain = renamed_hosts([0, 1, 2], ["MINWINPC", "DESKTOP-P2NAHG6", "CAFTE"], [5, 6, 7],
                          {"MINWINPC": "X", "X": "DESKTOP-P2NAHG6", "DESKTOP-P2NAHG6": "CAFTE"})
    assert chain == {"MINWINPC": "CAFTE", "DESKTOP-P2NAHG6": "CAFTE"}
