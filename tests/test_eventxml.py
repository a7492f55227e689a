"""parsers.eventxml: wevtutil / Event Viewer XML exports.

The XML here is hand-written from the published event schema
(http://schemas.microsoft.com/win/2004/08/events/event: System/Provider/EventID@Qualifiers/
Level/TimeCreated@SystemTime/EventRecordID/Channel/Computer/Security@UserID, EventData/Data
[@Name], Binary, UserData/EventXML, RenderingInfo/Message) in the three shapes exports take:
rootless wevtutil output, an <Events> root (Event Viewer "Save as XML", UTF-16), and events
with RenderingInfo."""
from __future__ import annotations

import json

import pandas as pd
import pytest

import parsers
from parsers import eventxml
from parsers.base import ParseOptions, ParserError, Relevance

NS = "http://schemas.microsoft.com/win/2004/08/events/event"

TERMDD = f"""<Event xmlns='{NS}'><System><Provider Name='TermDD'/><EventID Qualifiers='49162'>50</EventID><Level>2</Level><Task>0</Task><Keywords>0x80000000000000</Keywords><TimeCreated SystemTime='2011-03-01T08:00:00.000000000Z'/><EventRecordID>101</EventRecordID><Channel>System</Channel><Computer>TS2008.contoso.com</Computer><Security/></System><EventData><Data>\\Device\\Termdd</Data><Data>X.224</Data><Binary>00000400010000000000000032000AC00000000032000AC0</Binary></EventData></Event>"""

LSM21 = f"""<Event xmlns='{NS}'><System><Provider Name='Microsoft-Windows-TerminalServices-LocalSessionManager' Guid='{{5D896912-022D-40AA-A3A8-4FA5515C76D7}}'/><EventID>21</EventID><Version>0</Version><Level>4</Level><TimeCreated SystemTime='2011-03-01T08:05:01.1234567Z'/><EventRecordID>7</EventRecordID><Correlation ActivityID='{{F4208CEC-4DF9-4D54-882A-4C115ABC0000}}'/><Execution ProcessID='952' ThreadID='5672'/><Channel>Microsoft-Windows-TerminalServices-LocalSessionManager/Operational</Channel><Computer>TS2008.contoso.com</Computer><Security UserID='S-1-5-18'/></System><UserData><EventXML xmlns='Event_NS'><User>CONTOSO\\alice</User><SessionID>3</SessionID><Address>192.0.2.10</Address></EventXML></UserData></Event>"""

SEC4625 = f"""<Event xmlns='{NS}'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{{54849625-5478-4994-A5BA-3E3B0328C30D}}'/><EventID>4625</EventID><Level>0</Level><TimeCreated SystemTime='2011-03-01T08:06:00.000Z'/><EventRecordID>5000</EventRecordID><Channel>Security</Channel><Computer>TS2008.contoso.com</Computer><Security/></System><EventData><Data Name='TargetUserName'>bob</Data><Data Name='TargetDomainName'>CONTOSO</Data><Data Name='Status'>0xc000015b</Data><Data Name='LogonType'>3</Data><Data Name='IpAddress'>192.0.2.11</Data><Data Name='IpPort'>50000</Data><Data Name='WorkstationName'></Data></EventData><RenderingInfo Culture='en-US'><Message>An account failed to log on.

Logon Type:			3</Message><Level>Information</Level><Keywords><Keyword>Audit Failure</Keyword></Keywords></RenderingInfo></Event>"""


def data(row) -> dict:
    return json.loads(row["data"])


def test_wevtutil_rootless_sequence(tmp_path):
    p = tmp_path / "wevtutil-system.xml"
    p.write_text(TERMDD + "\r\n" + LSM21 + "\r\n" + SEC4625 + "\r\n", encoding="utf-8")
    assert parsers.identify(p.read_bytes(), p.name) is eventxml
    res = eventxml.parse(p)
    df = res.frame
    assert len(df) == 3 and res.stats["records_expected"] == 3 and res.warnings == []
    t = df.iloc[0]
    assert (t.provider, t.event_id, t.level, t.channel, t.record_id, t.kind) == \
        ("TermDD", 50, 2, "System", 101, "evtxml")
    assert str(t.time) == "2011-03-01 08:00:00+00:00" and t.host == "TS2008.contoso.com"
    d = data(t)
    assert d["param1"] == "\\Device\\Termdd" and d["param2"] == "X.224"
    assert d["Qualifiers"] == 49162 and d["ntstatus"] == "0xC00A0032"
    assert d["Binary"] == "00000400010000000000000032000ac00000000032000ac0"
    lsm = df.iloc[1]
    assert (lsm.user, lsm.session_id, lsm.ip, lsm.sid, lsm.pid) == \
        ("CONTOSO\\alice", 3, "192.0.2.10", "S-1-5-18", 952)
    assert data(lsm)["ActivityID"] == "{F4208CEC-4DF9-4D54-882A-4C115ABC0000}"
    assert lsm.time.microsecond == 123456
    sec = df.iloc[2]
    assert (sec.user, sec.ip, sec.port, sec.level) == ("CONTOSO\\bob", "192.0.2.11", 50000, 0)
    assert "WorkstationName" not in data(sec)          # empty <Data> left out, as in evtx
    # RenderingInfo: Windows' own message text is kept, on one line
    assert sec.message == "An account failed to log on. Logon Type: 3"
    assert res.stats["rendered"] == 1
    assert t.message.startswith("TermDD 50")


def test_event_viewer_save_as_xml_utf16_with_root(tmp_path):
    body = ('<?xml version="1.0" encoding="utf-16"?>\r\n<Events>' + TERMDD + LSM21 + "</Events>")
    p = tmp_path / "saved.xml"
    p.write_bytes(b"\xff\xfe" + body.encode("utf-16-le"))
    assert eventxml.sniff(p.read_bytes()[:65536], p.name)
    res = eventxml.parse(p)
    assert res.frame["event_id"].tolist() == [50, 21]
    assert res.stats["encoding"].startswith("utf-16")


def test_truncated_and_broken_events_cost_only_themselves():
    broken = TERMDD.replace("<Level>2</Level>", "<Level>2</Lvl>")
    text = "\n".join([LSM21, broken, SEC4625, TERMDD[: len(TERMDD) // 2]])
    res = eventxml.parse_text(text, "x.xml")
    assert res.frame["event_id"].tolist() == [21, 4625]
    assert res.stats["records_expected"] == 4
    reasons = {(s["line"], s["reason"].split(":")[0]) for s in res.stats["skipped"]}
    assert (2, "XML error") in reasons
    last = text[: text.rindex("<Event")].count("\n") + 1      # SEC4625's message spans lines
    assert last == 6
    assert any(s["line"] == last and "end tag" in s["reason"] for s in res.stats["skipped"])
    assert {w.locator for w in res.warnings} == {"line 2", f"line {last}"}


def test_entities_are_not_resolved_and_no_network():
    evil = ('<?xml version="1.0"?><!DOCTYPE Event [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            + TERMDD.replace("X.224", "&xxe;"))
    res = eventxml.parse_text(evil, "evil.xml")
    # the event is refused or read without the entity's content — never the file's text
    for msg in res.frame["message"].tolist() + res.frame["data"].tolist():
        assert "root:" not in (msg or "")


def test_namespace_less_and_prefixed_events():
    plain = TERMDD.replace(f" xmlns='{NS}'", "")
    prefixed = TERMDD.replace(f"<Event xmlns='{NS}'>", f"<e:Event xmlns:e='{NS}' xmlns='{NS}'>") \
        .replace("</Event>", "</e:Event>")
    res = eventxml.parse_text("<Events>" + plain + "</Events>\n" + prefixed, "x.xml")
    assert res.frame["event_id"].tolist() == [50, 50]
    other = TERMDD.replace(NS, "urn:not-events")
    assert len(eventxml.parse_text(other, "x.xml").frame) == 0


def test_relevance_and_sniff_negatives():
    rel = Relevance(providers={"termdd": None})
    res = eventxml.parse_text(TERMDD + LSM21, "x.xml", ParseOptions(relevance=rel))
    assert res.frame["provider"].tolist() == ["TermDD"]
    assert sum(res.stats["dropped"].values()) == 1
    assert not eventxml.sniff(b'<?xml version="1.0"?><Rsop xmlns="http://www.microsoft.com/GroupPolicy/Rsop"/>')
    assert not eventxml.sniff(b"\x00\x01\x02ElfFile")


@pytest.mark.parametrize("cut", [10, 200, 400, 777])
def test_arbitrary_truncation_never_raises(cut):
    text = (TERMDD + LSM21 + SEC4625)[:cut]
    try:
        res = eventxml.parse_text(text, "x.xml")
    except ParserError:
        return
    assert len(res.frame) <= 3


def test_zero_time_left_to_right_marks_and_unreadable_times():
    """A zero FILETIME (1601) overflowed pandas' nanoseconds and became NaT without a word;
    Event Viewer's copy of the details puts U+200E marks into the time. Now: 1601 kept and
    flagged as in .evtx, the marks dropped, a time that cannot be read is a warning."""
    def event(rid: int, t: str) -> str:
        return ('<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
                '<Provider Name="Microsoft-Windows-TerminalServices-RemoteConnectionManager"/>'
                f'<EventID>1149</EventID><TimeCreated SystemTime="{t}"/>'
                f'<EventRecordID>{rid}</EventRecordID><Computer>TS01</Computer></System>'
                '<UserData><EventXML xmlns="Event_NS"><Param1>jdoe</Param1></EventXML>'
                '</UserData></Event>')
    text = "<Events>" + "".join([
        event(3, "2021-12-16T10:23:38.6102893Z"),
        event(4, "\u200e2021\u200e-\u200e12\u200e-\u200e16T10:24:38.610289300Z"),
        event(5, "1601-01-01T00:00:00.000000000Z"),
        event(6, "yesterday")]) + "</Events>"
    res = eventxml.parse_text(text, "ev.xml")
    assert list(res.frame["record_id"]) == [3, 4, 5, 6]
    assert [str(t) for t in res.frame["time"]] == [
        "2021-12-16 10:23:38.610289+00:00", "2021-12-16 10:24:38.610289+00:00",
        "1601-01-01 00:00:00+00:00", "NaT"]
    assert [json.loads(d).get("_time_zero") for d in res.frame["data"]] == [None, None, True, None]
    assert [w.message for w in res.warnings] == [
        "SystemTime 'yesterday' unreadable: the event is kept without a time"]


def test_a_unicode_digit_that_int_rejects_costs_only_its_field():
    # '²' (one flipped bit of '2' in UTF-16) passes str.isdigit() but not int(): the whole
    # file was "parser crashed" (found by review). The same guard in every parser.
    port = SEC4625.replace("<Data Name='IpPort'>50000<", "<Data Name='IpPort'>5000\u00b2<")
    assert port != SEC4625
    res = eventxml.parse_text("<Events>" + SEC4625 + port + "</Events>", "Security.xml")
    assert len(res.frame) == 2
    assert res.frame["port"].tolist()[0] == 50000 and pd.isna(res.frame["port"].tolist()[1])
    assert data(res.frame.iloc[1])["IpPort"] == "5000\u00b2"
    from parsers import eventcsv, tasklist
    ps = ('"Id","ProviderName","LogName","TimeCreated","MachineName","Message","RecordId",'
          '"ProcessId","Level"\r\n"50","TermDD","System","3/1/2024 10:00:00 AM","TS01",'
          '"X.224 error","2","4\u00b2","2\u00b2"\r\n')
    res = eventcsv.parse_text(ps, "ps_System.csv")
    assert len(res.frame) == 1 and pd.isna(res.frame["pid"].iloc[0])
    assert tasklist._is_pid("12\u00b2") is False


def test_a_flood_of_broken_events_is_listed_up_to_a_bound(monkeypatch):
    # every <Event> without its end tag was a warning and a skipped entry of its own: a
    # 10 MB file made 1.5 million warnings and 1.8 GB (found by review)
    monkeypatch.setattr(eventxml, "MAX_LISTED", 5)
    text = "<Events>" + "<Event>" * 12 + TERMDD + "</Events>"
    res = eventxml.parse_text(text, "System.xml")
    assert len(res.frame) == 1 and res.stats["records_expected"] == 13
    assert len(res.stats["skipped"]) == 5 and res.stats["skipped_more"] == 7
    assert len(res.warnings) == 6
    assert res.warnings[-1].message == "7 more unreadable events (the first 5 are listed)"
