"""parsers.evt: legacy .evt logs written here with analyzer.sample.evtwriter (no real .evt
sample exists in the corpus yet). Each test says which fields / layout rules it exercises;
libevt (pyevt) reads the same bytes as an independent cross-check."""
from __future__ import annotations

import json
import struct
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

import parsers
from analyzer.sample.evtwriter import (EVENTLOG_AUDIT_FAILURE, EVENTLOG_AUDIT_SUCCESS,
                                       EVENTLOG_ERROR_TYPE, EVENTLOG_INFORMATION_TYPE,
                                       EVENTLOG_WARNING_TYPE, EvtRecord, build_evt,
                                       build_evt_layout, termdd_binary)
from parsers import evt
from parsers.base import ParseOptions, ParserError, Relevance

T0 = datetime(2011, 3, 1, 8, 0, 0, tzinfo=timezone.utc)


def termdd50(i: int = 0, component: str = "X.224") -> EvtRecord:
    # fields: SourceName, ComputerName, full EventID with qualifiers 0xC00A, EventType error,
    # two insertion strings, binary = the IO_ERROR_LOG_PACKET, NTSTATUS at 0x0C (wdm.h)
    return EvtRecord(source="TermDD", computer="TS2003", event_id=50, qualifiers=0xC00A,
                     event_type=EVENTLOG_ERROR_TYPE, strings=("\\Device\\Termdd", component),
                     data=termdd_binary(0xC00A0032), time_generated=T0 + timedelta(minutes=i),
                     time_written=T0 + timedelta(minutes=i, seconds=2))


def termservice1008(i: int = 0) -> EvtRecord:
    # fields: warning-severity qualifiers (0x8000), no strings, no binary, category 0
    return EvtRecord(source="TermService", computer="TS2003", event_id=1008, qualifiers=0x8000,
                     event_type=EVENTLOG_WARNING_TYPE, time_generated=T0 + timedelta(minutes=i))


def series(n: int) -> list[EvtRecord]:
    """n records of varying size (the SID and a third string appear on some)."""
    out = []
    for i in range(n):
        r = termdd50(i) if i % 3 else termservice1008(i)
        if i % 2:
            r.sid = "S-1-5-18"
        if i % 5 == 0:
            r.strings = tuple(r.strings) + (f"extra string {i}",)
        out.append(r)
    return out


def libevt_safe(recs: list[EvtRecord]) -> list[EvtRecord]:
    """libevt 20260705 rejects a record with a SID but neither strings nor data (our reader
    reads it): give those one string so the cross-checks compare every record."""
    for r in recs:
        if r.sid and not r.strings and not r.data:
            r.strings = ("x",)
    return recs


def data(row) -> dict:
    return json.loads(row["data"])


# --------------------------------------------------------------------------- acceptance


def test_system_evt_termdd_50_and_termservice_1008(tmp_path):
    p = tmp_path / "SysEvent.Evt"
    p.write_bytes(build_evt([termdd50(0), termservice1008(1)]))
    assert parsers.identify(p.read_bytes()[:65536], p.name) is evt
    res = evt.parse(p)
    df = res.frame
    assert len(df) == 2 and res.warnings == []
    t = df.iloc[0]
    assert (t.provider, t.event_id, t.level, t.channel, t.host, t.record_id) == \
        ("TermDD", 50, 2, "System", "TS2003", 1)
    assert t.time == T0 and t.kind == "evt" and t.locator == "record 1"
    d = data(t)
    assert d["param1"] == "\\Device\\Termdd" and d["param2"] == "X.224"
    assert d["ntstatus"] == "0xC00A0032"
    assert d["Binary"][0x0C * 2:0x10 * 2] == "32000ac0"        # ErrorCode (0x0C)
    assert d["Qualifiers"] == 0xC00A and d["event_id_full"] == "0xC00A0032"
    assert d["time_written"] == "2011-03-01T08:00:02Z"
    assert "X.224" in t.message
    s = df.iloc[1]
    assert (s.provider, s.event_id, s.level, s.record_id) == ("TermService", 1008, 3, 2)
    ds = data(s)
    assert ds["Qualifiers"] == 0x8000 and ds["event_id_full"] == "0x800003F0"
    assert "ntstatus" not in ds and "param1" not in ds
    assert res.stats["records_expected"] == 2 and res.stats["missing"] == []


def _libevt_data(r) -> bytes:
    try:
        return bytes(r.data or b"")
    except OSError:          # pyevt raises for records without binary data
        return b""


def test_cross_check_with_libevt(tmp_path):
    pyevt = pytest.importorskip("pyevt")
    p = tmp_path / "SysEvent.Evt"
    p.write_bytes(build_evt(libevt_safe(series(12))))
    ours = evt.parse(p).frame
    f = pyevt.open(str(p))
    try:
        theirs = [f.get_record(i) for i in range(f.number_of_records)]
        rows = [(r.identifier, r.event_identifier & 0xFFFF, r.event_identifier >> 16,
                 r.source_name, r.computer_name, r.user_security_identifier,
                 [r.get_string(k) for k in range(r.number_of_strings)], _libevt_data(r).hex())
                for r in theirs]
    finally:
        f.close()
    mine = []
    for _, r in ours.iterrows():
        d = data(r)
        strings = [d[f"param{k}"] for k in range(1, 10) if f"param{k}" in d]
        mine.append((r.record_id, r.event_id, d["Qualifiers"], r.provider, r.host,
                     None if pd.isna(r.sid) else r.sid, strings, d.get("Binary", "")))
    assert mine == rows


# --------------------------------------------------------------------------- damage


@pytest.mark.parametrize("cut", [1, 37, 180, 400, 1111])
def test_truncated_file_keeps_every_record_before_the_cut(cut):
    # rules: records are read in file order until one is cut by the end of the file; the
    # header's record numbers say how many should have been there
    lay = build_evt_layout(series(30))
    blob = lay.data[: len(lay.data) - cut]
    res = evt.parse_bytes(blob, "SysEvent.Evt")
    complete = sorted(n for n, o in lay.offsets.items() if o + lay.lengths[n] <= len(blob))
    assert res.frame["record_id"].tolist() == complete
    st = res.stats
    assert st["records_expected"] == 30
    lost = 30 - len(complete)
    assert st["records_lost"] == lost
    if lost:
        assert st["missing"] == [{"first": complete[-1] + 1, "last": 30, "count": lost}]
        first_lost = lay.offsets[complete[-1] + 1]
        assert st["skipped"][0]["offset"] == first_lost
        assert "cut by the end of the file" in st["skipped"][0]["reason"]
        assert any(w.locator == f"offset {first_lost:#x}" for w in res.warnings)


def test_zeroed_record_is_skipped_and_the_rest_recovered():
    lay = build_evt_layout(series(20))
    blob = bytearray(lay.data)
    o, n = lay.offsets[7], lay.lengths[7]
    blob[o:o + n] = bytes(n)
    res = evt.parse_bytes(bytes(blob), "SysEvent.Evt")
    assert res.frame["record_id"].tolist() == [i for i in range(1, 21) if i != 7]
    assert res.stats["skipped"] == [{"offset": o, "length": n, "reason": "no record signature"}]
    assert res.stats["missing"] == [{"first": 7, "last": 7, "count": 1}]


def test_overwritten_middle_with_bad_trailing_length():
    # rule: the last DWORD repeats the length; a mismatch means the record is not intact
    lay = build_evt_layout(series(10))
    blob = bytearray(lay.data)
    o, n = lay.offsets[4], lay.lengths[4]
    blob[o + n - 4:o + n] = struct.pack("<I", n + 8)
    res = evt.parse_bytes(bytes(blob), "SysEvent.Evt")
    assert 4 not in res.frame["record_id"].tolist() and len(res.frame) == 9
    assert res.stats["skipped"][0]["offset"] == o
    assert "trailing length" in res.stats["skipped"][0]["reason"]


def test_wrapped_log_follows_the_circular_buffer():
    # rules: StartOffset > EndOffset, flag 2 (wrapped), one record split across the end of
    # the file continuing right after the header, overwritten oldest records
    recs = series(40)
    lay = build_evt_layout(recs, max_size=4096)
    assert lay.wrapped and lay.overwritten and lay.start > lay.end
    split = [n for n, o in lay.offsets.items() if o + lay.lengths[n] > 4096]
    assert split, "the fixture must exercise a record split by the wrap"
    res = evt.parse_bytes(lay.data, "SysEvent.Evt")
    live = sorted(lay.offsets)
    assert res.frame["record_id"].tolist() == live
    assert res.stats["wrapped"] and res.stats["records_expected"] == len(live)
    assert res.stats["missing"] == [] and res.stats["skipped"] == []
    row = res.frame[res.frame.record_id == split[0]].iloc[0]
    src = recs[split[0] - 1]
    assert row.provider == src.source and data(row)["param1"] == src.strings[0]
    assert row.time == src.time_generated
    times = res.frame["time"].tolist()
    assert times == sorted(times)


def test_wrapped_log_agrees_with_libevt():
    pyevt = pytest.importorskip("pyevt")
    import io
    lay = build_evt_layout(libevt_safe(series(40)), max_size=4096)
    f = pyevt.file()
    f.open_file_object(io.BytesIO(lay.data))
    try:
        # libevt may list some records twice after the EOF record: compare the distinct ones
        ids = sorted({f.get_record(i).identifier for i in range(f.number_of_records)})
    finally:
        f.close()
    assert evt.parse_bytes(lay.data, "SysEvent.Evt").frame["record_id"].tolist() == ids


def test_wrapped_and_truncated_reports_where_records_were_lost():
    lay = build_evt_layout(series(40), max_size=4096)
    blob = lay.data[:3400]
    res = evt.parse_bytes(blob, "SysEvent.Evt")
    got = res.frame["record_id"].tolist()
    # every record that lies complete in what is left comes back, in order
    intact = sorted(n for n, o in lay.offsets.items()
                    if (o + lay.lengths[n] <= 3400))
    assert got == intact
    st = res.stats
    assert st["records_expected"] == len(lay.offsets)
    assert st["records_lost"] == len(lay.offsets) - len(intact)
    assert any(s["offset"] == 3400 and s["length"] == 4096 - 3400 for s in st["skipped"])


def test_header_lies_records_recovered_by_signature_scan():
    lay = build_evt_layout(series(40), max_size=4096)
    blob = bytes(0x30) + lay.data[0x30:]
    res = evt.parse_bytes(blob, "SysEvent.Evt")
    assert res.stats["mode"] == "scan"
    assert res.frame["record_id"].tolist() == sorted(lay.offsets)  # split record included
    assert res.stats["records_expected"] is None
    assert any("scanning" in w.message for w in res.warnings)


def test_start_offset_out_of_range_falls_back_to_scan():
    lay = build_evt_layout(series(8))
    blob = bytearray(lay.data)
    struct.pack_into("<I", blob, 16, len(blob) + 0x1000)
    res = evt.parse_bytes(bytes(blob), "SysEvent.Evt")
    assert res.stats["mode"] == "scan" and len(res.frame) == 8


def test_dirty_header_with_stale_end_offset_reads_on_to_the_eof_record():
    recs = series(30)
    old = build_evt_layout(recs[:25])
    full = build_evt_layout(recs, dirty=True)
    blob = bytearray(full.data)
    blob[:0x30] = old.data[:0x30]                      # header last flushed at 25 records
    struct.pack_into("<I", blob, 36, 1)                # flags: dirty
    res = evt.parse_bytes(bytes(blob), "SysEvent.Evt")
    assert res.frame["record_id"].tolist() == list(range(1, 31))
    assert res.stats["header_stale"] is True


def test_dirty_wrapped_log_with_stale_start_offset_loses_nothing():
    # the header was last flushed after 35 records; 5 more overwrote the old start, so the
    # header's StartOffset points into the middle of a newer record and its EndOffset at an
    # overwritten EOF record: the walk resyncs, the scan finds the records it cannot reach
    recs = series(40)
    full = build_evt_layout(recs, max_size=4096)
    old = build_evt_layout(recs[:35], max_size=4096)
    assert old.start not in full.offsets.values()
    blob = bytearray(full.data)
    blob[:0x30] = old.data[:0x30]
    struct.pack_into("<I", blob, 36, 3)                # flags: dirty | wrapped
    res = evt.parse_bytes(bytes(blob), "SysEvent.Evt")
    assert res.frame["record_id"].tolist() == sorted(full.offsets)
    assert res.stats["mode"] == "walk+scan"
    recovered = [json.loads(d).get("_recovered") for d in res.frame["data"]]
    assert any(recovered) and not all(recovered)
    assert res.stats["skipped"][0]["offset"] == old.start


# --------------------------------------------------------------------------- mapping


def test_security_2003_logon_events_best_effort_names(tmp_path):
    ok = EvtRecord(source="Security", computer="TS2003", event_id=528,
                   event_type=EVENTLOG_AUDIT_SUCCESS, category=2, sid="S-1-5-21-1-2-3-500",
                   strings=("alice", "CONTOSO", "(0x0,0x3E7)", "10", "User32  ", "Negotiate",
                            "TS2003", "{00000000-0000-0000-0000-000000000000}", "TS2003$",
                            "CONTOSO", "(0x0,0x3E7)", "1234", "-", "192.0.2.10", "51234"),
                   time_generated=T0)
    fail = EvtRecord(source="Security", computer="TS2003", event_id=534,
                     event_type=EVENTLOG_AUDIT_FAILURE, category=2, sid="S-1-5-18",
                     strings=("bob", "CONTOSO", "10", "User32  ", "Negotiate", "TS2003",
                              "TS2003$", "CONTOSO", "(0x0,0x3E7)", "1234", "-", "192.0.2.11",
                              "50000"), time_generated=T0 + timedelta(seconds=5))
    rec = EvtRecord(source="Security", computer="TS2003", event_id=682,
                    event_type=EVENTLOG_AUDIT_SUCCESS, category=2,
                    strings=("carol", "CONTOSO", "(0x0,0x1234)", "RDP-Tcp#3", "LAPTOP7",
                             "192.0.2.12"), time_generated=T0 + timedelta(seconds=9))
    p = tmp_path / "SecEvent.Evt"
    p.write_bytes(build_evt([ok, fail, rec]))
    df = evt.parse(p).frame
    assert df["channel"].tolist() == ["Security"] * 3
    assert df["level"].tolist() == [0, 0, 0]
    a, b, c = (df.iloc[i] for i in range(3))
    assert (a.user, a.ip, a.port, a.sid) == ("CONTOSO\\alice", "192.0.2.10", 51234, "S-1-5-21-1-2-3-500")
    da = data(a)
    assert da["LogonType"] == "10" and da["param4"] == "10" and da["audit"] == "success"
    assert da["keywords"] == "0x8020000000000000" and da["_layout"]
    assert (b.user, b.ip, b.port, b.event_id) == ("CONTOSO\\bob", "192.0.2.11", 50000, 534)
    assert data(b)["audit"] == "failure" and data(b)["keywords"] == "0x8010000000000000"
    assert (c.user, c.ip) == ("CONTOSO\\carol", "192.0.2.12")
    assert data(c)["SessionName"] == "RDP-Tcp#3" and data(c)["ClientName"] == "LAPTOP7"


def test_channel_guessed_from_sources_when_the_name_says_nothing():
    res = evt.parse_bytes(build_evt([termdd50(0), termservice1008(1)]), "copy-from-customer.evt")
    assert res.frame["channel"].tolist() == ["System", "System"]
    assert any("guessed" in w.message for w in res.warnings)
    res = evt.parse_bytes(build_evt([termdd50(0)]), "TS2003_Application.evt")
    assert res.frame["channel"].tolist() == ["Application"]


def test_relevance_filter_counts_what_it_drops():
    recs = [termdd50(0), EvtRecord(source="Tcpip", computer="TS2003", event_id=4199,
                                   event_type=EVENTLOG_INFORMATION_TYPE, time_generated=T0)]
    rel = Relevance(providers={"termdd": frozenset({50})})
    res = evt.parse_bytes(build_evt(recs), "SysEvent.Evt", ParseOptions(relevance=rel))
    assert res.frame["provider"].tolist() == ["TermDD"]
    assert res.stats["dropped"] == {"Tcpip/4199": 1} and res.stats["records_read"] == 2


def test_sniff():
    blob = build_evt([termdd50()])
    assert evt.sniff(blob[:4096], "anything.bin")
    assert evt.sniff(bytes(0x30) + blob[0x30:], "SysEvent.Evt")      # damaged header, .evt name
    assert not evt.sniff(bytes(0x30) + blob[0x30:], "notes.txt")
    assert not evt.sniff(b"ElfFile\x00" + bytes(100), "x.evt")


def test_inventory_shows_lost_records(tmp_path):
    import analyzer
    lay = build_evt_layout(series(30))
    (tmp_path / "SysEvent.Evt").write_bytes(lay.data[:-700])
    b = analyzer.load(tmp_path)
    inv = b.inventory.set_index("source").loc["SysEvent.Evt"]
    assert inv["kind"] == "evt" and inv["status"] == "parsed"
    assert inv["records_expected"] == 30 and inv["records"] < 30
    assert inv["skipped_ranges"] == 1
    m = next(m for m in b.members if m.source == "SysEvent.Evt")
    assert m.stats["records_lost"] == 30 - inv["records"]
    tl = b.timeline
    assert set(tl["event_type"].dropna()) >= {"sys:termdd:protocol-error"}


_LAYOUTS = {}


def _layout(k: int):
    if k not in _LAYOUTS:
        _LAYOUTS[k] = [lambda: build_evt_layout(series(60)),
                       lambda: build_evt_layout(series(60), max_size=4096),
                       lambda: build_evt_layout(series(200), max_size=8192, dirty=True)][k]()
    return _LAYOUTS[k]


@pytest.mark.parametrize("seed", range(60))
def test_random_damage_every_untouched_record_comes_back(seed):
    """Zero or scramble random stretches, sometimes truncate, sometimes garble the header's
    offsets: parsing never raises, and every record whose bytes were not touched (and that
    does not straddle the wrap) is recovered, once."""
    import random
    rnd = random.Random(seed)
    lay = _layout(seed % 3)
    blob = bytearray(lay.data)
    for _ in range(rnd.randint(1, 6)):
        i = rnd.randrange(len(blob))
        n = min(rnd.randint(1, 300), len(blob) - i)
        blob[i:i + n] = bytes(n) if rnd.random() < 0.5 else rnd.randbytes(n)
    if rnd.random() < 0.3:
        blob = blob[: rnd.randrange(0x30, len(blob))]
    if rnd.random() < 0.2:
        blob[16:24] = rnd.randbytes(8)
    try:
        res = evt.parse_bytes(bytes(blob), "SysEvent.Evt")
    except ParserError:
        return
    got = res.frame["record_id"].tolist()
    assert len(got) == len(set(got))
    intact = [n for n, o in lay.offsets.items() if o + lay.lengths[n] <= len(blob)
              and bytes(blob[o:o + lay.lengths[n]]) == lay.data[o:o + lay.lengths[n]]]
    assert set(intact) <= set(got)


def test_a_zero_time_is_kept_and_flagged(tmp_path):
    """A zero TimeGenerated became 1970-01-01 without a flag, unlike .evtx's 1601 (found by
    review)."""
    recs = [termdd50(0), termservice1008(1)]
    recs[1].time_generated = 0
    p = tmp_path / "SysEvent.Evt"
    p.write_bytes(build_evt(recs))
    df = evt.parse(p).frame
    assert str(df["time"].min()) == "1970-01-01 00:00:00+00:00"
    flags = [data(r).get("_time_zero") for _, r in df.iterrows()]
    assert sorted(flags, key=str) == [None, True]


@pytest.mark.timeout(60)
def test_a_run_of_fake_record_heads_costs_linear_time():
    # 'LfLe' heads announcing 256 KiB every 8 bytes before 20 intact records: each candidate
    # copied 256 KiB before its trailing length was checked, and the EOF magic was searched
    # again to the end for each: a 2 MB file timed out and lost every record (found by
    # review). The guard is the test's timeout (the old code takes minutes here).
    recs = [EvtRecord(source="TermDD", computer="TS2003", event_id=50, qualifiers=0xC00A,
                      event_type=1, time_generated=datetime(2011, 3, 1, 8, i, tzinfo=timezone.utc),
                      strings=["\\Device\\Termdd", "X.224"]) for i in range(20)]
    d = build_evt_layout(recs).data
    flood = struct.pack("<I4s", 0x40000, b"LfLe") * ((4 << 20) // 8)
    res = evt.parse_bytes(d[:0x30] + flood + d[0x30:], "SysEvent.Evt")
    assert len(res.frame) == 20 and res.frame["event_id"].eq(50).all()


def test_a_header_announcing_more_records_than_the_file_holds_is_damaged():
    # CurrentRecordNumber 6,000,001 in a file of 20 records: above five million announced the
    # gap accounting was skipped silently, and then (one flipped high bit) reported a thousand
    # million records lost from a 2 KB file (found by review). A header announcing more than
    # the file can hold is damaged: said, and the records counted from the ones read.
    recs = [EvtRecord(source="TermDD", computer="TS2003", event_id=50, qualifiers=0xC00A,
                      event_type=1, time_generated=datetime(2011, 3, 1, 8, i, tzinfo=timezone.utc),
                      strings=["\\Device\\Termdd", "X.224"]) for i in range(20)]
    d = bytearray(build_evt_layout(recs).data)
    struct.pack_into("<I", d, 0x18, 6_000_001)               # header CurrentRecordNumber
    struct.pack_into("<I", d, len(d) - 0x28 + 0x1C, 6_000_001)  # the EOF record's copy
    res = evt.parse_bytes(bytes(d), "SysEvent.Evt")
    assert len(res.frame) == 20
    assert res.stats["records_lost"] == 0 and res.stats["missing"] == []
    w = [x for x in res.warnings if "header announces" in x.message]
    assert len(w) == 1 and w[0].locator == "offset 0x18"
    assert w[0].message.startswith("the header announces 6000000 records, more than a file of ")
    # a header within what the file can hold still accounts its gaps (see the test below)


def test_many_gaps_are_told_up_to_a_bound(monkeypatch):
    monkeypatch.setattr(evt, "MAX_GAP_WARNINGS", 2)
    lay = build_evt_layout(series(20))
    blob = bytearray(lay.data)
    for k in (3, 7, 11, 15):                       # four zeroed records: four gaps
        blob[lay.offsets[k]:lay.offsets[k] + lay.lengths[k]] = bytes(lay.lengths[k])
    res = evt.parse_bytes(bytes(blob), "SysEvent.Evt")
    assert [m["first"] for m in res.stats["missing"]] == [3, 7, 11, 15]
    told = [(w.locator, w.message) for w in res.warnings if "announced" in w.message]
    assert told == [("record 3", "1 record(s) announced by the header but not recovered"),
                    ("record 7", "1 record(s) announced by the header but not recovered"),
                    ("records 11-15", "2 more record(s) in 2 more gaps announced but not "
                                      "recovered")]


# --------------------------------------------------------------------------- duplicates


def _five(event_ids=(529, 529, 529, 529, 529)):
    from analyzer.sample.evtwriter import EvtRecord
    return [EvtRecord(source="Security", computer="SRV", event_id=e,
                      time_generated=1300000000 + 60 * i, strings=[f"user{i}", "DOM", "10"])
            for i, e in enumerate(event_ids)]


def test_a_stale_copy_of_a_record_in_the_slack_is_dropped_and_counted():
    # review rvC c03: a dirty log whose EOF record was overwritten by an older copy of
    # record 3: the walk read it twice and detectors counted the failed logon twice
    from analyzer.sample.evtwriter import build_evt_layout
    lay = build_evt_layout(_five(), dirty=True)
    data = bytearray(lay.data)
    data[lay.end:] = lay.data[lay.offsets[3]:lay.offsets[3] + lay.lengths[3]] + b"\0" * 0x28
    res = evt.parse_bytes(bytes(data), "SecEvent.Evt")
    assert list(res.frame["record_id"]) == [1, 2, 3, 4, 5]
    assert res.stats["duplicates"] == 1
    assert any("1 duplicate copies of records" in w.message for w in res.warnings)


@pytest.mark.parametrize("mode", ["walk", "scan"])
def test_different_records_sharing_a_number_are_both_kept_and_named(mode):
    # review rvC c04: record 4's number flipped to 5; the scan kept the first record 5
    # and dropped the other (the 683 of user4) without a word
    from analyzer.sample.evtwriter import build_evt_layout
    lay = build_evt_layout(_five((528, 529, 529, 682, 683)))
    data = bytearray(lay.data)
    struct.pack_into("<I", data, lay.offsets[4] + 8, 5)
    if mode == "scan":
        data[0:4] = b"\0\0\0\0"                           # header signature wiped
    res = evt.parse_bytes(bytes(data), "SecEvent.Evt")
    assert res.stats["mode"] == mode
    f = res.frame
    assert sorted(f[f["record_id"] == 5]["event_id"]) == [682, 683]
    assert "DOM\\user4" in set(f["user"])
    msgs = [f"{w.locator} {w.message}" for w in res.warnings]
    assert any(m.startswith("record 5 2 different records carry record number 5 (at offsets "
                            f"{lay.offsets[4]:#x}, {lay.offsets[5]:#x})") for m in msgs), msgs
