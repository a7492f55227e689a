"""parsers.eventcsv: Event Viewer CSV / TXT exports (hand-written fixtures, see
tests/fixtures/events/README.md for the format rules each one exercises)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import parsers
from parsers import eventcsv
from parsers.base import ParseOptions, ParserError

FIX = Path(__file__).parent / "fixtures" / "events"


def data(row) -> dict:
    return json.loads(row["data"])


def parse(name: str, **opts):
    p = FIX / name
    assert parsers.identify(p.read_bytes()[:65536], name) is eventcsv, name
    return eventcsv.parse(p, ParseOptions(**opts))


def test_english_vista_csv_with_multiline_messages():
    res = parse("System_en-US.csv")
    df = res.frame
    assert df["event_id"].tolist() == [50, 1008, 56, 1149]
    assert df["provider"].tolist()[:3] == ["TermDD", "TermService", "TermDD"]
    assert df["level"].tolist() == [2, 3, 2, 4]
    assert set(df["channel"]) == {"System"} and set(df["kind"]) == {"evtcsv"}
    assert df["locator"].tolist() == ["line 2", "line 3", "line 5", "line 6"]
    # local time, no zone given: taken as UTC and said so
    assert str(df.iloc[0].time) == "2011-03-14 20:00:00+00:00"
    assert any("time zone unknown" in w.message for w in res.warnings)
    # the message spanning two lines is one message
    assert df.iloc[1].message.endswith("required for continuous operation.")
    # fields detectors need, recovered from the rendered text
    assert data(df.iloc[0])["param2"] == "X.224" and data(df.iloc[0])["_from_message"]
    assert data(df.iloc[2])["param2"] == "192.0.2.77"
    rcm = df.iloc[3]
    assert (rcm.user, rcm.ip) == ("CONTOSO\\alice", "192.0.2.10")
    assert data(rcm)["Param3"] == "192.0.2.10"
    assert res.stats["date_order"] == "mdy" and res.stats["records_expected"] == 4


def test_tz_hint_converts_local_times_with_dst():
    # 14 March 2011 is after the US DST change (13 March): Pacific is UTC-7 that day
    res = parse("System_en-US.csv", tz_hint="(UTC-08:00) Pacific Time (US & Canada)")
    assert str(res.frame.iloc[0].time) == "2011-03-15 03:00:00+00:00"
    assert not any("time zone unknown" in w.message for w in res.warnings)
    fixed = parse("System_en-US.csv", tz_hint="UTC+02:00")
    assert str(fixed.frame.iloc[0].time) == "2011-03-14 18:00:00+00:00"
    iana = parse("System_en-US.csv", tz_hint="Europe/Berlin")
    assert str(iana.frame.iloc[0].time) == "2011-03-14 19:00:00+00:00"
    # a display name the table lacks falls back to its offset: said, not silent
    fr = parse("System_en-US.csv", tz_hint="(UTC+01:00) Brüssel-Vorort, Nirgendwo")
    assert str(fr.frame.iloc[0].time) == "2011-03-14 19:00:00+00:00"
    w = [w.message for w in fr.warnings if "not recognised by name" in w.message]
    assert len(w) == 1 and "fixed offset UTC+01:00" in w[0] and "an hour off" in w[0]
    assert not any("not recognised by name" in w.message
                   for w in res.warnings + iana.warnings + fixed.warnings)
    paris = parse("System_en-US.csv", tz_hint="(UTC+01:00) Bruxelles, Copenhague, Madrid, Paris")
    assert str(paris.frame.iloc[0].time) == "2011-03-14 19:00:00+00:00"    # (CET that day)
    assert paris.stats["tz"].startswith("Europe/Paris")


def test_german_header_day_first_and_german_message_fields():
    res = parse("System_de-DE.csv")
    df = res.frame.iloc[::-1].reset_index(drop=True)   # the file is newest first, rows oldest first
    assert res.frame["locator"].tolist() == ["line 3", "line 2"]
    assert df["event_id"].tolist() == [50, 21]
    assert df["level"].tolist() == [2, 4]
    assert str(df.iloc[1].time) == "2021-10-02 07:05:00+00:00"       # 02.10. = 2 October
    assert data(df.iloc[0])["param2"] == "X.224"
    lsm = df.iloc[1]
    assert (lsm.user, lsm.session_id, lsm.ip) == ("CONTOSO\\bob", 2, "192.0.2.20")
    assert res.stats["language"] == "de"


def test_french_tab_delimited_utf16():
    res = parse("System_fr-FR.txt")
    df = res.frame
    assert df["event_id"].tolist() == [50, 1008]
    assert df["level"].tolist() == [2, 3]
    assert str(df.iloc[1].time) == "2011-03-15 08:01:00+00:00"
    assert res.stats["date_order"] == "dmy"


def test_spanish_csv():
    df = parse("System_es-ES.csv").frame
    assert df["event_id"].tolist() == [50, 1010]
    assert df["level"].tolist() == [2, 4]
    assert str(df.iloc[0].time) == "2011-03-14 20:00:00+00:00"


def test_security_keywords_column_audit_levels():
    df = parse("Security_en-US.csv").frame
    assert df["channel"].tolist() == ["Security", "Security"]
    assert df["level"].tolist() == [0, 0]
    f = df.iloc[0]
    d = data(f)
    assert d["audit"] == "failure" and d["LevelText"] == "Audit Failure"
    assert d["LogonType"] == "3" and d["Status"] == "0xC000015B"
    assert (f.user, f.ip, f.port) == ("CONTOSO\\bob", "192.0.2.11", 50000)
    assert data(df.iloc[1])["audit"] == "success"


def test_windows_2003_export_without_header():
    res = parse("SysEvent_2003.csv")
    df = res.frame
    assert res.stats["layout"] == "2003"
    assert df["event_id"].tolist() == [50, 1008, 534]
    assert df["level"].tolist() == [2, 3, 0]
    assert df["host"].tolist() == ["TS2003"] * 3
    sec = df.iloc[2]
    assert (sec.user, sec.ip, sec.port) == ("CONTOSO\\bob", "192.0.2.11", 50000)
    assert data(sec)["EventUser"] == "NT AUTHORITY\\SYSTEM" and data(sec)["audit"] == "failure"
    assert data(sec)["LogonType"] == "10"
    assert data(df.iloc[0])["param2"] == "DATA ENCRYPTION"
    assert str(df.iloc[0].time) == "2011-03-14 20:00:00+00:00"


def test_channel_from_operational_file_name(tmp_path):
    text = (FIX / "System_en-US.csv").read_text(encoding="utf-8-sig")
    p = tmp_path / "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.csv"
    p.write_text(text, encoding="utf-8")
    df = eventcsv.parse(p).frame
    assert set(df["channel"]) == {"Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational"}


def test_unknown_name_guesses_channel_and_warns(tmp_path):
    p = tmp_path / "export.csv"
    p.write_bytes((FIX / "System_en-US.csv").read_bytes())
    res = eventcsv.parse(p)
    assert set(res.frame["channel"]) == {"System"}
    assert any("guessed" in w.message for w in res.warnings)


def test_not_event_csv():
    assert not eventcsv.sniff(b'"Image Name","PID","Session Name","Session#","Mem Usage"\r\n'
                              b'"System Idle Process","0","Services","0","8 K"\r\n')
    assert not eventcsv.sniff(b"Windows Registry Editor Version 5.00\r\n")


def test_bundle_without_systeminfo_takes_utc_and_says_so(tmp_path):
    import analyzer
    (tmp_path / "System.csv").write_bytes((FIX / "System_en-US.csv").read_bytes())
    b = analyzer.load(tmp_path)
    inv = b.inventory.set_index("source").loc["System.csv"]
    assert inv["kind"] == "evtcsv" and inv["records"] == 4 and inv["records_expected"] == 4
    assert "sys:termdd:protocol-error" in set(b.timeline["event_type"].astype(str))
    assert str(b.timeline["time"].min()) == "2011-03-14 08:01:00+00:00"
    assert any("time zone unknown" in w.message for w in b.warnings)


def test_bundle_takes_the_zone_from_systeminfo(tmp_path):
    """analyzer.bundle re-parses evtcsv members with systeminfo's zone (meta time_zone):
    '(GMT-05:00) Eastern Time (US & Canada)' → America/New_York, DST on 14 March 2011."""
    import analyzer
    (tmp_path / "System.csv").write_bytes((FIX / "System_en-US.csv").read_bytes())
    (tmp_path / "systeminfo.txt").write_bytes(
        (FIX.parent / "text" / "systeminfo_2003_en.txt").read_bytes())
    b = analyzer.load(tmp_path)
    tl = b.timeline[b.timeline["kind"] == "evtcsv"]
    assert str(tl["time"].max()) == "2011-03-15 00:00:00+00:00"       # 20:00 EDT
    assert set(tl["host"].astype(str)) == {"OLDTS"}
    assert not any("time zone unknown" in w.message for w in b.warnings)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=600))
def test_arbitrary_text_after_a_header_never_raises(tail):
    text = "Level,Date and Time,Source,Event ID,Task Category\n" + tail
    try:
        res = eventcsv.parse_text(text, "x.csv")
    except ParserError:
        return
    assert len(res.frame) == res.stats["records"]


@pytest.mark.parametrize("hint,offset_h", [("(UTC+05:30) Chennai, Kolkata, Mumbai, New Delhi", 5.5),
                                           ("UTC-03:00", -3), ("Asia/Tokyo", 9)])
def test_resolve_tz(hint, offset_h):
    from datetime import datetime
    z, desc = eventcsv.resolve_tz(hint)
    assert z is not None and desc
    assert datetime(2011, 1, 10, tzinfo=z).utcoffset().total_seconds() == offset_h * 3600


def test_powershell_get_winevent_export_csv():
    res = parse("GetWinEvent_Export-Csv.csv")
    df = res.frame
    assert res.stats["layout"] == "powershell"
    assert df["event_id"].tolist() == [50, 21]
    assert df["record_id"].tolist() == [4711, 88]
    assert df["channel"].tolist() == ["System",
                                      "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"]
    assert df["level"].tolist() == [2, 4] and df["locator"].tolist() == ["line 3", "line 4"]
    assert data(df.iloc[0])["Qualifiers"] == 49162 and data(df.iloc[0])["param2"] == "X.224"
    lsm = df.iloc[1]
    assert (lsm.user, lsm.session_id, lsm.ip, lsm.sid, lsm.pid) == \
        ("CONTOSO\\alice", 4, "192.0.2.30", "S-1-5-18", 1024)
    assert str(lsm.time) == "2019-07-01 10:16:05+00:00"


def test_powershell_get_eventlog_export_csv_names_the_log_in_its_type_line():
    res = parse("GetEventLog_Export-Csv.csv", tz_hint="W. Europe Standard Time")
    df = res.frame
    assert df["channel"].tolist() == ["System", "System"]
    assert df["event_id"].tolist() == [50, 1008]
    assert [data(r)["Qualifiers"] for _, r in df.iterrows()] == [0xC00A, 0x8000]
    assert df["level"].tolist() == [2, 3] and df["host"].tolist() == ["TS2003"] * 2
    assert str(df.iloc[0].time) == "2011-03-14 19:00:00+00:00"       # 20:00 CET
    assert res.stats["date_order"] == "dmy"


def test_rows_the_reader_skips_are_warnings_not_only_stats(tmp_path):
    """A row without an event id (PowerShell export) and a field too long for the CSV reader
    (Event Viewer export) reach the warnings with their line, not only ``stats``."""
    lines = (FIX / "GetWinEvent_Export-Csv.csv").read_text(encoding="utf-8-sig").splitlines()
    bad = lines[2].replace('"50"', '"fifty"', 1)
    p = tmp_path / "System.csv"
    p.write_text("\n".join(lines[:3] + [bad] + lines[3:]) + "\n", encoding="utf-8")
    res = eventcsv.parse(p, ParseOptions())
    assert len(res.frame) == len(parse("GetWinEvent_Export-Csv.csv").frame)
    w = [w for w in res.warnings if "without a numeric event id" in w.message]
    assert [x.locator for x in w] == ["line 4"]

    src = (FIX / "System_en-US.csv").read_text(encoding="utf-8-sig").splitlines()
    huge = f'Error,3/14/2011 8:00:00 PM,TermDD,50,None,"{"x" * 200_000}"'
    p2 = tmp_path / "System2.csv"
    p2.write_text("\n".join(src[:2] + [huge]) + "\n", encoding="utf-8")
    res2 = eventcsv.parse(p2, ParseOptions())
    # (a message beyond csv's default 128 KiB field limit is read now: it was a CSV error)
    assert res2.frame["event_id"].tolist() == [50, 50]
    assert not [w for w in res2.warnings if "CSV error" in w.message]
    assert res2.frame["message"].tolist()[-1] == "x" * 200_000


def test_skipped_row_warnings_are_bounded(tmp_path):
    lines = (FIX / "GetWinEvent_Export-Csv.csv").read_text(encoding="utf-8-sig").splitlines()
    bad = lines[2].replace('"50"', '"x"', 1)
    p = tmp_path / "System.csv"
    p.write_text("\n".join(lines[:3] + [bad] * 50) + "\n", encoding="utf-8")
    res = eventcsv.parse(p, ParseOptions())
    w = [w.message for w in res.warnings if "skipped" in w.message]
    assert len(w) == eventcsv.SKIPPED_WARNINGS + 1
    assert w[-1].startswith(f"{50 - eventcsv.SKIPPED_WARNINGS} more rows skipped")


def test_powershell_export_with_dotted_dates_is_day_first(tmp_path):
    """A German Export-Csv ("01.03.2024 09:00:00") was read month-first: 1 March became
    3 January, and a boot moved before the connection-limit event (found by review)."""
    import csv
    import io
    lines = (FIX / "GetWinEvent_Export-Csv.csv").read_text(encoding="utf-8-sig").splitlines()
    header = next(csv.reader([lines[1]]))
    buf = io.StringIO()
    w = csv.DictWriter(buf, header, quoting=csv.QUOTE_ALL, lineterminator="\n")
    w.writeheader()
    for eid, prov, t in (("6005", "EventLog", "01.03.2024 09:00:00"),
                         ("1013", "TermService", "12.02.2024 08:00:00")):
        w.writerow({"Message": "x", "Id": eid, "Level": "4", "ProviderName": prov,
                    "LogName": "System", "MachineName": "TS01", "TimeCreated": t})
    p = tmp_path / "System.csv"
    p.write_text(lines[0] + "\n" + buf.getvalue(), encoding="utf-8")
    res = eventcsv.parse(p, ParseOptions())
    assert [t.strftime("%Y-%m-%d %H:%M") for t in res.frame["time"]] == ["2024-02-12 08:00",
                                                                         "2024-03-01 09:00"]


def test_the_zone_of_a_systeminfo_inside_a_combined_capture_is_used(tmp_path):
    """The zone was read only from a file that is all systeminfo: one inside a collector's
    combined text (with tasklist after it) left the export in UTC, 4-5 hours off, and a
    boot moved before a listener failure (found by review)."""
    import analyzer
    (tmp_path / "System.csv").write_bytes((FIX / "System_en-US.csv").read_bytes())
    info = (FIX.parent / "text" / "systeminfo_2003_en.txt").read_text(encoding="utf-8-sig")
    (tmp_path / "collect.txt").write_text(
        info + "\nC:\\>tasklist /svc\n\nImage Name                     PID Services\n"
        "========================= ======== ============================================\n"
        "System Idle Process              0 N/A\nsvchost.exe                   1096 TermService\n",
        encoding="utf-8")
    b = analyzer.load(tmp_path)
    kinds = set(b.inventory["kind"])
    assert "systeminfo" not in kinds                    # one combined text file, not systeminfo
    tl = b.timeline[b.timeline["kind"] == "evtcsv"]
    assert str(tl["time"].max()) == "2011-03-15 00:00:00+00:00"       # 20:00 EDT
    assert not any("time zone unknown" in w.message for w in b.warnings)


_BERLIN = "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"


def test_the_repeated_dst_hour_of_a_newest_first_export_is_ordered(tmp_path):
    """Event Viewer writes newest first; inferring the repeated hour (27 Oct 2024, 02:00-03:00
    twice in Berlin) needs oldest first, so every such time fell back to standard time and
    two 1013s moved after the reboot (found by review)."""
    text = ("Level,Date and Time,Source,Event ID,Task Category\n"
            "Information,27.10.2024 09:00:00,EventLog,6013,None,\"uptime\"\n"
            "Information,27.10.2024 02:15:00,EventLog,6005,None,\"started\"\n"
            "Information,27.10.2024 02:50:00,EventLog,6006,None,\"stopped\"\n"
            "Error,27.10.2024 02:45:00,TermService,1013,None,\"limit\"\n"
            "Error,27.10.2024 02:44:00,TermService,1013,None,\"limit\"\n"
            "Information,26.10.2024 20:00:00,EventLog,6005,None,\"started\"\n")
    res = eventcsv.parse_text(text, "System.csv", ParseOptions(tz_hint=_BERLIN))
    got = [t.strftime("%H:%M") for t in res.frame["time"]]
    assert got == ["18:00", "00:44", "00:45", "00:50", "01:15", "08:00"]    # oldest first
    assert not [w for w in res.warnings if "daylight" in w.message]


def test_events_of_one_second_keep_their_order(tmp_path):
    """A newest-first LSM export with a disconnect (24) and the next logon (21) of one user
    in the same second: the timeline kept them reversed and sessions-not-disconnecting fired
    (found by review). The parser now gives rows oldest first."""
    import analyzer
    text = ("Level,Date and Time,Source,Event ID,Task Category\n"
            "Information,3/1/2024 10:00:05 AM,Microsoft-Windows-TerminalServices-LocalSessionManager,"
            "21,None,\"Remote Desktop Services: Session logon succeeded:\n\nUser: CORP\\alice\n"
            "Session ID: 3\nSource Network Address: 10.0.0.9\"\n"
            "Information,3/1/2024 10:00:05 AM,Microsoft-Windows-TerminalServices-LocalSessionManager,"
            "24,None,\"Remote Desktop Services: Session has been disconnected:\n\nUser: CORP\\alice\n"
            "Session ID: 2\nSource Network Address: 10.0.0.9\"\n"
            "Information,3/1/2024 9:00:00 AM,Microsoft-Windows-TerminalServices-LocalSessionManager,"
            "21,None,\"Remote Desktop Services: Session logon succeeded:\n\nUser: CORP\\alice\n"
            "Session ID: 2\nSource Network Address: 10.0.0.9\"\n")
    p = tmp_path / "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.csv"
    p.write_text(text, encoding="utf-8")
    r = analyzer.analyze(tmp_path)
    assert list(r.timeline["event_id"]) == [21, 24, 21]
    assert list(r.timeline["session_id"]) == [2, 2, 3]
    assert "sessions-not-disconnecting" not in r.ids


def test_a_time_in_the_skipped_dst_hour_is_shifted_and_said(tmp_path):
    text = ("Level,Date and Time,Source,Event ID,Task Category\n"
            "Information,31.03.2024 02:30:00,EventLog,6005,None,\"started\"\n"
            "Information,31.03.2024 01:30:00,EventLog,6006,None,\"stopped\"\n")
    res = eventcsv.parse_text(text, "System.csv", ParseOptions(tz_hint=_BERLIN))
    assert [t.strftime("%H:%M") for t in res.frame["time"]] == ["00:30", "01:00"]
    assert any("skipped when daylight saving time starts" in w.message for w in res.warnings)


def test_dates_with_the_am_pm_word_first_and_unreadable_dates():
    """Korean/Chinese exports put 오후/下午 before the time, Event Viewer adds U+200E marks:
    such rows were glued onto the previous event's message without a word (found by
    review). They are read now; a date that still cannot be read skips its row with a
    warning and counts as expected."""
    head = "Level,Date and Time,Source,Event ID,Task Category\n"
    text = (head + 'Error,2011-03-01 오후 8:00:00,TermDD,50,None,"x"\n'
            'Error,2011/3/1 下午 8:01:00,TermDD,50,None,"y"\n'
            'Error,\u200e3/\u200e1/\u200e2011 8:02:00 PM,TermDD,50,None,"z"\n'
            'Error,2011-03-01 soir 8h,TermDD,50,None,"w"\n')
    res = eventcsv.parse_text(text, "System.csv")
    assert [t.strftime("%H:%M") for t in res.frame["time"]] == ["20:00", "20:01", "20:02"]
    assert res.frame["message"].tolist()[0].endswith("x")
    assert res.stats["records_expected"] == 4
    w = [x for x in res.warnings if "unreadable date" in x.message]
    assert [x.locator for x in w] == ["line 5"]


def test_the_hosts_locale_decides_an_ambiguous_date_order(tmp_path):
    """03/01/2011 under an English header is 3 January on an en-GB server: its systeminfo
    says so (System Locale). It was read month first with only a warning (found by
    review)."""
    import analyzer
    (tmp_path / "System.csv").write_text(
        "Level,Date and Time,Source,Event ID,Task Category\n"
        'Error,03/01/2011 08:00:00,TermDD,50,None,"x"\n', encoding="utf-8")
    info = (FIX.parent / "text" / "systeminfo_2003_en.txt").read_text(encoding="utf-8-sig")
    assert "System Locale:" in info
    gb = re.sub(r"(System Locale:\s+)\S+", r"\1en-gb;English (United Kingdom)", info)
    gb = re.sub(r"(Time Zone:\s+).*", r"\1(UTC) Dublin, Edinburgh, Lisbon, London", gb)
    (tmp_path / "systeminfo.txt").write_text(gb, encoding="utf-8")
    b = analyzer.load(tmp_path)
    t = b.timeline[b.timeline["kind"] == "evtcsv"]["time"].iloc[0]
    assert str(t) == "2011-01-03 08:00:00+00:00"
    assert not any("day/month order not decidable" in w.message for w in b.warnings)
    (tmp_path / "systeminfo.txt").write_text(info, encoding="utf-8")       # en-us: month first
    b = analyzer.load(tmp_path)
    assert str(b.timeline[b.timeline["kind"] == "evtcsv"]["time"].iloc[0]).startswith("2011-03-01")


def test_korean_2003_layout_and_a_bad_date_in_the_repeated_dst_hour(tmp_path):
    """(Found by review of the fixes above.) The 2003 layout with 오후 before the time was
    not recognised at all; one impossible date beside the repeated DST hour made every
    time of the file fall back to standard time; an unquoted message line with a number in
    its fourth field was dropped as an event row."""
    text = ("2011-03-14,오후 8:00:00,TermDD,오류,None,50,N/A,TS2003,x\n"
            "2011-03-14,오전 8:01:00,TermService,경고,None,1008,N/A,TS2003,y\n")
    res = eventcsv.parse_text(text, "SysEvent.csv")
    assert sorted(t.strftime("%H:%M") for t in res.frame["time"]) == ["08:01", "20:00"]
    text = ("Level,Date and Time,Source,Event ID,Task Category\n"
            "Information,27.10.2024 09:00:00,EventLog,6013,None,\"uptime\"\n"
            "Information,27.10.2024 02:15:00,EventLog,6005,None,\"started\"\n"
            "Information,27.10.2024 02:50:00,EventLog,6006,None,\"stopped\"\n"
            "Error,27.10.2024 02:45:00,TermService,1013,None,\"limit\"\n"
            "Error,31.02.2024 02:50:00,TermService,1013,None,\"bad date\"\n"
            "Error,27.10.2024 02:44:00,TermService,1013,None,\"limit\"\n"
            "Information,26.10.2024 20:00:00,EventLog,6005,None,\"started\"\n")
    res = eventcsv.parse_text(text, "System.csv", ParseOptions(tz_hint=_BERLIN))
    got = sorted((t.strftime("%H:%M"), e) for t, e in zip(res.frame["time"].dropna(),
                                                          res.frame["event_id"]))
    assert ("00:44", 1013) in got and ("00:45", 1013) in got
    cont = ("Level,Date and Time,Source,Event ID,Task Category\n"
            "Error,3/1/2011 8:00:00 PM,App,1000,None,Faulting application\n"
            "Offsets, module x, thread y, 42, exit code\n")
    res = eventcsv.parse_text(cont, "Application.csv")
    assert len(res.frame) == 1 and "Offsets" in res.frame["message"].iloc[0]
    assert res.stats["records_expected"] == 1


def test_a_number_too_big_for_its_column_is_a_warning_not_a_lost_log(tmp_path):
    # one hand-edited RecordId of 30 digits made the whole export fail (OverflowError)
    head = ('"Message","Id","Qualifiers","Level","RecordId","ProviderName","LogName",'
            '"ProcessId","MachineName","TimeCreated"\r\n')
    rows = ['"X.224 error.","50","49162","2","{rid}","TermDD","System","{pid}",'
            '"TS2012.contoso.com","7/1/2019 10:15:00 AM"\r\n'.format(rid=r, pid=p)
            for r, p in (("17", "4"), ("9" * 30, "8"), ("19", "1" * 25))]
    bundle = tmp_path / "b"
    bundle.mkdir()
    (bundle / "TS2012_System.csv").write_text(head + "".join(rows), encoding="utf-8-sig")
    import analyzer
    res = analyzer.load(bundle)
    inv = res.inventory.iloc[0]
    assert (inv["status"], inv["records"]) == ("parsed", 3)
    tl = res.timeline
    assert tl["record_id"].tolist()[0] == 17 and pd.isna(tl["record_id"].tolist()[1])
    assert tl["pid"].tolist()[1] == 8 and pd.isna(tl["pid"].tolist()[2])
    msgs = [(w.locator, w.message) for w in res.warnings if "integer" in w.message]
    assert [(loc, m.split()[0]) for loc, m in msgs] == [("line 3", "record_id"), ("line 4", "pid")]


@pytest.mark.timeout(60)
def test_message_fields_after_a_long_run_of_blanks_in_linear_time():
    # 'User Name: a' + 4,000 blanks + 'b' took over a minute (cubic in _inline, quadratic in
    # _after): one such row made the export exceed its time budget and every event of it was
    # lost (found by review). 100,000 blanks would take hours with the old patterns.
    sp = " " * 100_000
    f = eventcsv.fields_from_message("Security", 528, f"Successful Logon: User Name: a{sp}b "
                                     "Domain: DOM Logon Type: 10")
    assert f == {"TargetUserName": "a b", "TargetDomainName": "DOM", "LogonType": "10"}
    f = eventcsv.fields_from_message(
        "Microsoft-Windows-TerminalServices-RemoteConnectionManager", 1149,
        f"Remote Desktop Services: User authentication succeeded:\r\n\r\nUser: a{sp}b\r\n"
        "Domain: DOM\r\nSource Network Address: 192.0.2.5")
    assert f == {"Param1": f"a{sp}b", "Param2": "DOM", "Param3": "192.0.2.5"}
    assert eventcsv._after("User", "User:   alice  \r\nDomain: x") == "alice"


def test_a_long_message_and_a_cut_last_row_are_accounted():
    # a message over csv's 128 KiB field limit dropped its event and glued the rest of its
    # lines onto the event before it; a file cut inside its last row merged that row into the
    # previous message, silently (found by review)
    big = "line of text\n" * 12000
    rows = ["Level,Date and Time,Source,Event ID,Task Category",
            'Error,3/1/2024 10:00:01 AM,TermDD,50,None,"X.224 error 1."',
            f'Error,3/1/2024 10:00:02 AM,TermDD,50,None,"{big}end of big message"',
            'Error,3/1/2024 10:00:03 AM,TermDD,50,None,"X.224 error 3."',
            "Error,3/1/2024 10:00:04 AM,TermDD,50"]
    res = eventcsv.parse_text("\n".join(rows), "System.csv")
    assert len(res.frame) == 3 and res.stats["records_expected"] == 4
    msgs = res.frame["message"].tolist()
    assert msgs[0] == "X.224 error 1." and msgs[1].endswith("end of big message")
    assert msgs[2] == "X.224 error 3."
    cut = [w for w in res.warnings if "cut short" in w.message]
    assert len(cut) == 1 and cut[0].locator == f"line {len(rows) + 12000}"
