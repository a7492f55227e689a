"""The same events written as .evt, .evtx, wevtutil XML, Event Viewer XML (UTF-16, with
RenderingInfo) and Event Viewer CSV give the same rows on the shared columns.

Every form is written here from one list of events (``SPEC``): .evt with
analyzer.sample.evtwriter, .evtx with analyzer.sample.evtxwriter, XML and CSV by the small
renderers below, which follow the export formats (event schema namespace; the five-column
CSV header plus the unnamed message column, local times)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from analyzer.sample.evtwriter import EvtRecord, build_evt, termdd_binary
from parsers import eventcsv, eventxml, evt
from parsers.base import ParseOptions

NS = "http://schemas.microsoft.com/win/2004/08/events/event"
T0 = datetime(2011, 7, 1, 8, 0, 0, tzinfo=timezone.utc)       # summer: DST matters below
LOCAL = "Europe/Berlin"
EVT_TYPE = {2: 1, 3: 2, 4: 4}
LEVEL_WORD = {2: "Error", 3: "Warning", 4: "Information"}

SPEC = [
    dict(provider="TermDD", event_id=50, qualifiers=0xC00A, level=2,
         strings=("\\Device\\Termdd", "X.224"), binary=termdd_binary(0xC00A0032),
         message="The RDP protocol component X.224 detected an error in the protocol stream "
                 "and has disconnected the client."),
    dict(provider="TermService", event_id=1008, qualifiers=0x8000, level=3, strings=(),
         binary=b"", message="The Terminal Server licensing grace period has expired and the "
                             "service has not registered with a license server."),
    dict(provider="TermDD", event_id=56, qualifiers=0xC00A, level=2,
         strings=("\\Device\\Termdd", "192.0.2.77"), binary=termdd_binary(0xC00A0038),
         message="The Terminal Server security layer detected an error in the protocol stream "
                 "and has disconnected the client. Client IP: 192.0.2.77."),
    dict(provider="Service Control Manager", event_id=7036, qualifiers=0x4000, level=4,
         strings=("Terminal Services", "running"), binary=b"",
         message="The Terminal Services service entered the running state."),
]
for i, s in enumerate(SPEC):
    s["time"] = T0 + timedelta(minutes=7 * i, seconds=i)
    s["record"] = 100 + i

#: data keys every event format stores the same way (parsers.evtx's names)
SHARED_DATA = ("param1", "param2", "Qualifiers", "Binary", "ntstatus")
COLUMNS = ("time", "provider", "event_id", "channel", "level", "record_id")


# ----------------------------------------------------------------------------- writers


def write_evt(tmp_path):
    recs = [EvtRecord(source=s["provider"], computer="TS01", event_id=s["event_id"],
                      qualifiers=s["qualifiers"], event_type=EVT_TYPE[s["level"]],
                      strings=s["strings"], data=s["binary"], time_generated=s["time"],
                      record_number=s["record"]) for s in SPEC]
    p = tmp_path / "SysEvent.Evt"
    p.write_bytes(build_evt(recs, first_record_number=SPEC[0]["record"]))
    return evt.parse(p)


def xml_event(s, rendered: bool) -> str:
    data = "".join(f"<Data>{escape(x)}</Data>" for x in s["strings"])
    if s["binary"]:
        data += f"<Binary>{s['binary'].hex().upper()}</Binary>"
    ri = (f"<RenderingInfo Culture='en-US'><Message>{escape(s['message'])}</Message>"
          f"<Level>{LEVEL_WORD[s['level']]}</Level></RenderingInfo>") if rendered else ""
    t = s["time"].strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    return (f"<Event xmlns='{NS}'><System><Provider Name={quoteattr(s['provider'])}/>"
            f"<EventID Qualifiers='{s['qualifiers']}'>{s['event_id']}</EventID>"
            f"<Level>{s['level']}</Level><Task>0</Task><Keywords>0x80000000000000</Keywords>"
            f"<TimeCreated SystemTime='{t}'/><EventRecordID>{s['record']}</EventRecordID>"
            f"<Channel>System</Channel><Computer>TS01</Computer><Security/></System>"
            f"<EventData>{data}</EventData>{ri}</Event>")


def write_wevtutil_xml(tmp_path):
    p = tmp_path / "system-wevtutil.xml"
    p.write_text("".join(xml_event(s, False) for s in SPEC), encoding="utf-8")
    return eventxml.parse(p)


def write_eventviewer_xml(tmp_path):
    body = ('<?xml version="1.0" encoding="utf-16"?>\r\n<Events>'
            + "\r\n".join(xml_event(s, True) for s in SPEC) + "</Events>")
    p = tmp_path / "system-saved.xml"
    p.write_bytes(b"\xff\xfe" + body.encode("utf-16-le"))
    return eventxml.parse(p)


def write_csv(tmp_path):
    z = ZoneInfo(LOCAL)
    lines = ["Level,Date and Time,Source,Event ID,Task Category"]
    for s in SPEC:
        lt = s["time"].astimezone(z)
        stamp = f"{lt.month}/{lt.day}/{lt.year} {lt.strftime('%I:%M:%S %p').lstrip('0')}"
        msg = s["message"].replace('"', '""')
        lines.append(f'{LEVEL_WORD[s["level"]]},{stamp},{s["provider"]},{s["event_id"]},None,"{msg}"')
    p = tmp_path / "System.csv"
    p.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8-sig"))
    return eventcsv.parse(p, ParseOptions(tz_hint=LOCAL))


def write_evtx(tmp_path, backend: str):
    try:
        from analyzer.sample import evtxwriter
    except ImportError:
        pytest.skip("evtx writer not available")
    from parsers import evtx
    evs = [evtxwriter.Event(provider=s["provider"], event_id=s["event_id"],
                            qualifiers=s["qualifiers"], level=s["level"], time=s["time"],
                            channel="System", computer="TS01",
                            data=[(None, x) for x in s["strings"]],
                            binary=s["binary"] or None) for s in SPEC]
    p = evtxwriter.write_evtx(tmp_path / "System.evtx", evs, first_record_id=SPEC[0]["record"])
    return evtx.parse(p, ParseOptions(evtx_backend=backend))


# ----------------------------------------------------------------------------- comparison


def shared(res, with_record=True) -> list[dict]:
    out = []
    for _, r in res.frame.iterrows():
        d = json.loads(r["data"]) if isinstance(r["data"], str) else {}
        row = {c: (None if pd.isna(r[c]) else r[c]) for c in COLUMNS
               if with_record or c != "record_id"}
        row["time"] = pd.Timestamp(row["time"]).isoformat()
        row["data"] = {k: str(d[k]) for k in SHARED_DATA if k in d}
        out.append(row)
    return out


def expected(with_record=True, csv=False) -> list[dict]:
    rows = []
    for s in SPEC:
        d = {f"param{i}": x for i, x in enumerate(s["strings"], 1)}
        if not csv:
            d["Qualifiers"] = str(s["qualifiers"])
            if s["binary"]:
                d["Binary"] = s["binary"].hex()
        status = {50: "0xC00A0032", 56: "0xC00A0038"}.get(s["event_id"])
        if status and not csv:
            d["ntstatus"] = status
        if csv and s["provider"] != "TermDD":
            d = {}          # CSV carries the message only; fields come back for TermDD 50/56
        row = {"time": pd.Timestamp(s["time"]).isoformat(), "provider": s["provider"],
               "event_id": s["event_id"], "channel": "System", "level": s["level"]}
        if with_record:
            row["record_id"] = s["record"]
        row["data"] = {k: d[k] for k in SHARED_DATA if k in d}
        rows.append(row)
    return rows


def test_evt_rows(tmp_path):
    assert shared(write_evt(tmp_path)) == expected()


def test_wevtutil_xml_rows(tmp_path):
    assert shared(write_wevtutil_xml(tmp_path)) == expected()


def test_event_viewer_xml_rows_and_rendered_messages(tmp_path):
    res = write_eventviewer_xml(tmp_path)
    assert shared(res) == expected()
    assert res.frame["message"].tolist() == [s["message"] for s in SPEC]


def test_csv_rows(tmp_path):
    res = write_csv(tmp_path)
    assert shared(res, with_record=False) == expected(with_record=False, csv=True)
    assert res.frame["message"].tolist() == [s["message"] for s in SPEC]


def test_all_forms_agree_with_each_other(tmp_path):
    forms = {"evt": write_evt(tmp_path), "xml": write_wevtutil_xml(tmp_path),
             "xml-ev": write_eventviewer_xml(tmp_path)}
    base = shared(forms["evt"])
    for name, res in forms.items():
        assert shared(res) == base, name
    csv_rows = shared(write_csv(tmp_path), with_record=False)
    for a, b in zip(csv_rows, shared(forms["evt"], with_record=False)):
        assert {k: a[k] for k in COLUMNS if k in a} == {k: b[k] for k in COLUMNS if k in b}
        assert all(b["data"].get(k) == v for k, v in a["data"].items())   # CSV ⊆ evt


@pytest.mark.parametrize("backend", ["rust", "python"])
def test_evtx_writer_round_trip(tmp_path, backend):
    """The .evtx form of the same events, read by both evtx backends."""
    res = write_evtx(tmp_path, backend)
    assert shared(res) == expected()
    assert shared(res) == shared(write_evt(tmp_path))
