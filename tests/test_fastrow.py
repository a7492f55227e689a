"""parsers/_fastrow.c, the Rust backend's C row builder, gives the rows the Python path gives.

It is an accelerator only: for every record it either returns exactly what ``_fast_row`` +
``_Columns.row`` produce, or None (the Python path then takes the record). These tests
compare the two whole files at a time (every real .evtx of the corpus, generated logs) and
record by record (generated odd records: value types, empty and "nullish" values, escapes,
non-ASCII text, addresses with ports and brackets, hex session ids ...).

The build is part of the install (setup.py); a missing build fails here rather than
skipping, unless RDPDOCTOR_PURE_PYTHON is set on purpose (then the C path is off anyway).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import evtx as E
from parsers.base import ParseOptions

from conftest import corpus_files, ids

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

if os.environ.get("RDPDOCTOR_PURE_PYTHON"):
    pytest.skip("RDPDOCTOR_PURE_PYTHON is set: the C row builder is switched off",
                allow_module_level=True)

try:
    from parsers import _fastrow
except ImportError as e:      # pragma: no cover - a broken install
    raise AssertionError(f"parsers._fastrow is not built ({e}): reinstall with a C compiler, "
                         "or set RDPDOCTOR_PURE_PYTHON=1 to run without it") from e

pytestmark = pytest.mark.skipif(not E.rust_available(), reason="needs the Rust evtx backend")


def _both(path: Path, monkeypatch, workers: int = 1):
    """``path`` parsed with the C row builder and without it."""
    opts = ParseOptions(evtx_backend="rust", workers=workers)
    with_c = E.parse(path, opts)
    assert E._FAST is not None
    monkeypatch.setattr(E, "_FAST", None)
    without = E.parse(path, opts)
    monkeypatch.undo()
    return with_c, without


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert [(w.locator, w.message) for w in a.warnings] == \
        [(w.locator, w.message) for w in b.warnings]
    assert a.stats == b.stats


CORPUS_EVTX = corpus_files("evtx", "*.evtx")


@pytest.mark.corpus
@pytest.mark.parametrize("path", CORPUS_EVTX, ids=ids(CORPUS_EVTX))
def test_corpus_logs_give_the_same_timeline_with_and_without_the_c_builder(corpus, path,
                                                                            monkeypatch):
    a, b = _both(path, monkeypatch)
    _same(a, b)


@pytest.mark.corpus
def test_the_corpus_is_mostly_built_by_c(corpus):
    """Not a speed claim: that the comparison above compares C rows, not two Python runs."""
    import orjson
    from evtx import PyEvtxParser
    handled = from_text = total = 0
    for path in corpus_files("evtx", "*.evtx"):
        try:
            for r in PyEvtxParser(str(path)).records_json():
                total += 1
                rid, text = r["event_record_id"], r["data"]
                t = _c_row(rid, orjson.loads(text))
                handled += t is not None
                j = _check_text(rid, text)          # (the Python path's row, or None)
                from_text += j is not None
                assert t is None or j is None or j == t
        except (RuntimeError, OSError, ValueError):
            continue          # the damaged files: the reader stops; what it gave is counted
    assert total > 5000
    assert handled / total > 0.5, (handled, total)
    # the JSON-text reader takes more than row(): UserData, classic System events
    # (qualifiers, unnamed data, binary), process ids as text (2026-11: 99 % of all)
    assert from_text / total > 0.95, (from_text, total)


@pytest.mark.parametrize("kind", ["security", "system", "rdp"])
def test_generated_logs_give_the_same_timeline_with_and_without_the_c_builder(tmp_path, kind,
                                                                              monkeypatch):
    evtx_ingest = pytest.importorskip("evtx_ingest", reason="benchmarks/ not importable")
    path = evtx_ingest.GENERATORS[kind](tmp_path / f"{kind}.evtx", 3000)
    a, b = _both(path, monkeypatch)
    _same(a, b)
    assert len(a.frame) == 3000
    assert a.frame["message"].notna().all()


def test_the_c_loop_hands_back_what_it_does_not_take_and_agrees(tmp_path, monkeypatch):
    """``_fastrow.drive`` (the Rust pass's C loop): with a deadline it hands back every
    4096th record for the check; odd records (UserData beside EventData, floats) it hands
    back whole. The rows, their order and the stats are the Python loop's."""
    import orjson
    evtx_ingest = pytest.importorskip("evtx_ingest", reason="benchmarks/ not importable")
    path = evtx_ingest.GENERATORS["security"](tmp_path / "s.evtx", 9000)
    calls = {"drive": 0, "handed": 0}
    real = _fastrow.drive

    class Counting:
        def __getattr__(self, name):
            return getattr(_fastrow, name)

        @staticmethod
        def drive(*a):
            calls["drive"] += 1
            r = real(*a)
            calls["handed"] += isinstance(r, dict)
            return r

    opts = ParseOptions(evtx_backend="rust", time_budget_s=3600)
    monkeypatch.setattr(E, "_FAST", Counting())
    a = E.parse(path, opts)
    assert calls["handed"] >= 2                       # (records 4096 and 8192)
    monkeypatch.setattr(E, "_FAST", None)
    b = E.parse(path, opts)
    _same(a, b)
    # the records it hands back whole: the iterator's own records, one per kind
    it = iter([{"event_record_id": 1, "data": orjson.dumps(_record(fields={"a": 1.5})).decode()},
               {"event_record_id": 2, "data": orjson.dumps(_record(fields={"a": "b"})).decode()},
               {"event_record_id": 3, "data": "x" * 5000},
               {"data": "{}"}, ["not", "a", "dict"]])
    seen = __import__("array").array("Q")
    pending: list = []
    m, d = _fastrow.TextColumn(), _fastrow.TextColumn()
    args = (it, seen, pending, m, d, 2, 4000, False)
    assert _fastrow.drive(*args)["event_record_id"] == 1          # a float: orjson's
    assert _fastrow.drive(*args)["event_record_id"] == 3          # (2 taken) too long
    assert list(seen) == [1, 2, 3] and len(pending) == 1 and len(m) == len(d) == 1
    assert _fastrow.drive(*args) == {"data": "{}"}                 # no id: the loop raises
    assert _fastrow.drive(*args) == (["not", "a", "dict"],)         # no dict: wrapped
    assert _fastrow.drive(*args) is None and list(seen) == [1, 2, 3]
    # None or True from the iterator: items for the loop (which raises on them), not the
    # end of the records or a full batch (review rvN)
    assert list(E._driven(_fastrow.drive, iter([None, True]), seen, pending, m, d, 99, False,
                          lambda: None)) == [None, True]
    rec4 = {"event_record_id": 4,
            "data": orjson.dumps(_record(fields={"a": "b"}, rid=4)).decode()}
    assert _fastrow.drive(iter([rec4]), seen, pending, m, d, 2, 4000, False) is True  # full


def test_worker_processes_use_the_c_builder_and_agree(tmp_path, monkeypatch):
    """Two workers (their results pickled back without the C text columns) against one
    process without C."""
    evtx_ingest = pytest.importorskip("evtx_ingest", reason="benchmarks/ not importable")
    path = evtx_ingest.GENERATORS["security"](tmp_path / "s.evtx", 12000)
    monkeypatch.setattr(E, "PARALLEL_MIN_CHUNKS", 2)
    a = E.parse(path, ParseOptions(evtx_backend="rust", workers=2))
    monkeypatch.setattr(E, "_FAST", None)
    b = E.parse(path, ParseOptions(evtx_backend="rust", workers=1))
    pd.testing.assert_frame_equal(a.frame, b.frame)


# --------------------------------------------------------------------------- record by record


def _python_row(rid, ev):
    """What the Rust pass's Python path stores for one record (``_fast_row``, else the
    general ``_rec_from_json`` + ``add``): the row tuple, or None when it raises (the
    record is then retried as text or left to our own reader)."""
    saved = E._FAST
    E._FAST = None
    try:
        cols = E._Columns()
    finally:
        E._FAST = saved
    try:
        if not E._fast_row(cols.row, rid, ev):
            cols.add(E._rec_from_json(rid, ev))
    except Exception:
        return None
    return cols.pending[-1] if cols.pending else None


def _built(build, rid, record):
    """A C builder's row of one record with its two texts read back (None: not taken)."""
    m, d = _fastrow.TextColumn(), _fastrow.TextColumn()
    t = build(rid, record, m, d)
    if t is None:
        assert len(m) == len(d) == 0
        return None
    assert t[13] is None and t[14] is None
    texts = []
    for col in (m, d):
        arr = E._text_array(col.take())
        assert len(arr) == 1
        texts.append(arr[0].as_py())
    return t[:13] + tuple(texts)


def _c_row(rid, ev):
    return _built(_fastrow.row, rid, ev)


def _json_row(rid, text):
    """``row_json`` of the record's JSON text (None: not taken)."""
    return _built(_fastrow.row_json, rid, text)


def _check_text(rid, text):
    """row_json(text) is the Python path's row of orjson.loads(text), or None."""
    import orjson
    j = _json_row(rid, text)
    if j is not None:
        py = _python_row(rid, orjson.loads(text))
        assert py is not None, "C built a row for a record the Python path cannot read"
        assert j == py
        assert [type(x) for x in j] == [type(x) for x in py]
    return j


def _check(rid, ev):
    import orjson
    c = _c_row(rid, ev)
    if c is not None:
        py = _python_row(rid, ev)
        assert py is not None, "C built a row for a record the Python path cannot read"
        assert c == py
        assert [type(x) for x in c] == [type(x) for x in py]
    try:
        text = orjson.dumps(ev).decode()          # the Rust reader's compact JSON
    except TypeError:                               # (beyond 64 bits: not a Rust record)
        return c
    j = _check_text(rid, text)
    if j is not None and c is not None:
        assert j == c
    return c


def _record(eid=4624, fields=None, provider="Microsoft-Windows-Security-Auditing", rid=7,
            erid=None, user_data=None, **system):
    sysd = {"Provider": {"#attributes": {"Name": provider, "Guid": "x"}},
            "EventID": eid, "Level": 0,
            "TimeCreated": {"#attributes": {"SystemTime": "2024-05-01T10:00:00.123456Z"}},
            "EventRecordID": rid if erid is None else erid,
            "Execution": {"#attributes": {"ProcessID": 612, "ThreadID": 1}},
            "Channel": "Security", "Computer": "SRV01.corp.example"}
    sysd.update(system)
    ev = {"Event": {"#attributes": {"xmlns": "x"}, "System": sysd}}
    if fields is not None:
        ev["Event"]["EventData"] = fields
    if user_data is not None:
        ev["Event"]["UserData"] = user_data
    return ev


def test_a_logon_record_gives_user_ip_port_and_message():
    row = _check(7, _record(fields={"TargetUserName": "alice", "TargetDomainName": "CORP",
                                    "IpAddress": "::ffff:203.0.113.5", "IpPort": "51234",
                                    "LogonType": 10, "TargetUserSid": "S-1-5-21-1-2-3-1001"}))
    assert row is not None
    assert row[7] == "CORP\\alice" and row[8] == "S-1-5-21-1-2-3-1001"
    assert row[11] == "::ffff:203.0.113.5" and row[12] == 51234
    assert row[13].startswith("Microsoft-Windows-Security-Auditing 4624: TargetUserName=alice")
    assert '"LogonType":10' in row[14]


def test_system_extras_and_odd_shapes():
    act = "{11111111-2222-3333-4444-555555555555}"
    row = _check(9, _record(erid=12, Correlation={"#attributes": {"ActivityID": act}},
                            fields={"a": "b"}))
    assert row[14] == f'{{"a":"b","ActivityID":"{act}","EventRecordID":12}}'
    row = _check(9, _record(erid=9, fields=None))
    assert row[13] == "Microsoft-Windows-Security-Auditing 4624" and row[14] is None
    # shapes the C builder leaves to the Python path
    for ev in (_record(fields={"Data": ["x", "y"]}), _record(fields={"Binary": "00"}),
               _record(fields={"a": {"b": 1}}), _record(fields={"a": 1.5}),
               _record(eid=70000), _record(eid="4624"), _record(Level=True),
               _record(TimeCreated={"#attributes": {"SystemTime": "1601-01-01T00:00:00Z"}}),
               {"Event": None}, {"Event": {"System": None}}, [], {"Event": {"System": {}}}):
        assert _c_row(5, ev) is None


def test_an_lsm_user_data_record_is_flattened_like_the_general_path():
    ud = {"EventXML": {"#attributes": {"xmlns": "Event_NS"}, "User": "CORP\\alice",
                       "SessionID": 3, "Address": "192.0.2.7", "Empty": "",
                       "Nested": {"#attributes": {"Kind": "x"}, "#text": "t", "Leaf": True}}}
    lsm = "Microsoft-Windows-TerminalServices-LocalSessionManager"
    row = _check(4, _record(eid=21, rid=4, user_data=ud, provider=lsm,
                            Channel=f"{lsm}/Operational"))
    assert row is not None
    assert row[7] == "CORP\\alice" and row[9] == 3 and row[11] == "192.0.2.7"
    assert row[14] == ('{"User":"CORP\\\\alice","SessionID":3,"Address":"192.0.2.7",'
                       '"Nested.Kind":"x","Nested":"t","Leaf":true}')
    # a name set again by a later element's text or attribute: the last value, first place
    ud2 = {"EventXML": {"X": {"P": "1", "Q": "q"}, "Y": {"P": {"#text": "2"}},
                        "Z": {"#attributes": {"R": "3"}, "R": {"#attributes": {"S": "4"}}},
                        "W": {"#attributes": {"Z.R": "5"}}}}
    row = _check(4, _record(eid=21, rid=4, user_data=ud2))
    assert row[14] == '{"P":"2","Q":"q","Z.R":"3","R.S":"4","W.Z.R":"5"}'
    # UserData beside EventData, or a repeated element (a list in Python): the Python path
    assert _c_row(4, _record(eid=21, user_data=ud, fields={"a": "b"})) is None
    assert _c_row(4, _record(eid=21, user_data={"X": {"A": "1", "B": {"A": "2"}}})) is None


def test_a_crafted_port_of_thousands_of_digits_costs_neither_path_the_row():
    # review rvL: int() of > 4,300 digits raised in event_columns; C read the port as 80
    row = _check(7, _record(fields={"IpPort": "0" * 4300 + "80"}))
    assert row is not None and row[12] == 80
    row = _check(7, _record(fields={"IpPort": "9" * 5000}))
    assert row is not None and row[12] is None


def test_a_long_message_is_cut_like_the_python_path():
    row = _check(1, _record(fields={f"k{i}": "v" * 30 for i in range(40)}))
    assert len(row[13]) == 300 and row[13].endswith("…")
    # escapes and whitespace runs shrink the cut text below the limit: still marked as cut
    row = _check(1, _record(fields={f"k{i}": "v" * 30 + "\n\t  x" for i in range(40)}))
    assert len(row[13]) < 300 and row[13].endswith("…")


def test_text_columns_hold_nulls_empty_and_unicode_text():
    m, d = _fastrow.TextColumn(), _fastrow.TextColumn()
    for msg, data in (("a", None), ("", "é€😀"), ("x" * 5000, '{"k":"v"}')):
        _fastrow.append_text(m, d, msg, data)
    with pytest.raises(UnicodeEncodeError):
        _fastrow.append_text(m, d, "ok", "\ud800")      # neither column takes the row
    assert len(m) == len(d) == 3
    assert E._text_array(m.take()).to_pylist() == ["a", "", "x" * 5000]
    arr = E._text_array(d.take())
    assert arr.type == pa.large_string() and arr.null_count == 1
    assert arr.to_pylist() == [None, "é€😀", '{"k":"v"}']
    arr.validate(full=True)
    assert len(m) == 0                                    # take() empties the column
    # the bytes handed over hold the rows' bytes and no spare capacity (review rvM: a
    # doubled bytearray kept up to 2x, ~350 MiB per million records of an in-process parse)
    import tracemalloc
    tracemalloc.start()
    try:
        for _ in range(8192):
            _fastrow.append_text(m, d, "x" * 10, None)
        data = m.take()[4]
        assert memoryview(data).nbytes == 81920
        held = tracemalloc.get_traced_memory()[0]
        del data
        freed = held - tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert 81920 <= freed < 81920 + 4096, freed


def test_convert_hands_back_columns_whose_values_do_not_fit_their_kind():
    rows = [(1, "a", None, "x"), (2**70, None, "b", "y"), (None, "c", 5, "\ud800")]
    ints, text, odd, bad = _fastrow.convert(rows, "isss")
    assert ints == [1, 2**70, None]                      # beyond 64 bits: the list
    n, nulls, valid, offsets, data = text
    assert (n, nulls) == (3, 1) and bytes(data) == b"ac"
    assert odd == [None, "b", 5] and bad == ["x", "y", "\ud800"]
    assert _fastrow.convert(rows[:1], "i-l-") == [((1).to_bytes(8, "little"), b"\0"), None,
                                                   [None], None]
    ints, (n, nulls, valid, offsets, data) = _fastrow.convert([], "is")
    assert ints == (b"", b"") and (n, nulls, valid, offsets, bytes(data)) == (0, 0, None,
                                                                             b"\0" * 8, b"")


def test_odd_row_values_give_the_python_path_frame(monkeypatch):
    """Values a damaged record can bring (ints beyond their column, a number for a host,
    a bool for a level) go through C's conversion and the Python one alike."""
    t = "2024-05-01T10:00:00.000000Z"
    rows = [(t, "H", 1, "P", "C", 4624, 4, 612, None, {"SessionID": "3"}, None),
            (t, 5, 2, "P", "C", 70000, 300, 2**70, "S-1-5-18", {"IpPort": "9"}, None),
            (t, None, 3, None, None, None, True, None, None, {}, {"EventRecordID": 9}),
            (None, "H", 2**63 - 1, "P", "C", -1, -129, -(2**63), None, {"a": "é"}, None)]

    def frame(fast):
        monkeypatch.setattr(E, "_FAST", fast)
        cols = E._Columns()
        for r in rows:
            cols.row(*r)
        return cols.frame()

    pd.testing.assert_frame_equal(frame(_fastrow), frame(None))


def test_the_json_text_reader_takes_compact_and_spaced_json_and_canonical_escapes():
    import orjson
    ev = _record(fields={"TargetUserName": "a\\b", "Msg": 'x\n"y"\t\x01\x1f', "IpPort": "3389",
                         "IpAddress": "10.0.0.5", "LogonType": 10, "Elevated": True,
                         "Neg": -5, "Empty": "", "Gone": None})
    text = orjson.dumps(ev).decode()
    row = _check_text(7, text)
    assert row is not None and row == _c_row(7, ev)
    assert row[7] == "a\\b" and row[11] == "10.0.0.5" and row[12] == 3389
    assert row[14] == ('{"TargetUserName":"a\\\\b","Msg":"x\\n\\"y\\"\\t\\u0001\\u001f",'
                       '"IpPort":"3389","IpAddress":"10.0.0.5","LogonType":10,'
                       '"Elevated":true,"Neg":-5}')
    # the same record spaced out (JSON whitespace between tokens): the same row
    spaced = orjson.dumps(ev, option=orjson.OPT_INDENT_2).decode()
    assert _check_text(7, spaced) == row


def test_the_json_text_reader_leaves_what_orjson_would_read_otherwise_to_it():
    import orjson
    base = orjson.dumps(_record(fields={"a": "b", "n": 1})).decode()
    assert _json_row(7, base) is not None
    odd = [
        base.replace('"a":"b"', '"a":"b","a":"c"'),        # a repeated name: last value wins
        base.replace('"b"', '"\\u0062"'),                  # escapes orjson does not write
        base.replace('"b"', '"\\/"'),
        base.replace('"b"', '"\\u001F"'),
        base.replace('"b"', '"\\u000a"'),
        base.replace('"n":1', '"n":1.0'), base.replace('"n":1', '"n":1e3'),
        base.replace('"n":1', '"n":-0'), base.replace('"n":1', '"n":' + "9" * 19),
        base.replace('"b"', '"é"'),                         # non-ASCII: orjson + row()
        base.replace('"b"', '"b\x01"'),                    # a raw control character: invalid
        base[:-1], base + "x", base.replace('"n":1', '"n":01'), "", "[]", "null",
        base.replace('"EventData":{', '"UserData":{"X":{"a":"1"}},"EventData":{'),
    ]
    ud = orjson.dumps(_record(eid=21, user_data={"EventXML": {"User": "u"}})).decode()
    assert _check_text(7, ud) is not None
    odd += [ud.replace('"EventXML":{', '"EventXML":{"Other":"v"},"EventXML":{'),
            ud.replace('"User":"u"', '"User":"u","User":"v"'),
            ud.replace('"User":"u"', '"User":"u","Other":["a"]'),
            ud.replace('"UserData":{', '"EventData":{"a":"b"},"UserData":{')]
    for text in odd:
        assert _json_row(7, text) is None, text
    # what it leaves, orjson + row() read (or orjson refuses, as it did before)
    assert _c_row(7, orjson.loads(odd[0]))[14] == '{"a":"c","n":1}'


def test_the_pure_python_switch_turns_the_c_builder_off():
    code = "import parsers.evtx as E; print(E._FAST is None)"
    env = {**os.environ, "RDPDOCTOR_PURE_PYTHON": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.strip()
    assert out == "True"


# generated odd values: the names event_columns reads, with values of every kind
_NAMES = ["TargetUserName", "TargetDomainName", "AccountName", "AccountDomain", "User",
          "UserName", "Domain", "SubjectUserName", "SubjectDomainName", "TargetUserSid",
          "UserSid", "IpAddress", "ClientIP", "ClientAddress", "Address", "IPString",
          "SourceAddress", "ClientIp", "IPAddress", "SessionID", "SessionId", "Session",
          "TargetSession", "IpPort", "Param1", "Param2", "Param3", "param2", "param1",
          "ActivityID", "EventRecordID", "LogonType", "Other", "Ünïcode"]
_PIECES = ["", " ", "  ", "-", "NULL", "null", "N/A", "%%1793", "LOCAL", "local", "S-1-5-18",
           "S-1-", "10.0.0.5", "10.0.0.5:3389", "[::1]:3389", "[fe80::1%12]", "::ffff:1.2.3.4",
           "fe80::1", "1.2.3.4:123456", "0x1F", "0X", "0x_1", "1_000", "+7", "-3", "007",
           "65535", "65536", "0", "\\", '"', '","', '":"', "\\n", "\n", "\t", "\r", "\x1f",
           "\x7f", "é", "€", "😀", "\u3000", "\xa0", "DOMAIN\\user", "alice", "CORP", ",", ":",
           "]", "[", "%", "٣", "x" * 90]
_text = st.lists(st.sampled_from(_PIECES), max_size=4).map("".join)
_value = st.one_of(_text, _text, _text, st.none(), st.booleans(),
                   st.integers(min_value=-(1 << 64), max_value=1 << 64),
                   st.sampled_from([True, 1.5, ["a", "b"]]))
_fields = st.one_of(st.none(), st.dictionaries(st.sampled_from(_NAMES), _value, max_size=8))
# the general shapes (unnamed Data, Binary, attributes, nested elements): classic providers
_data = st.one_of(_value, st.lists(_value, max_size=4),
                  st.fixed_dictionaries({"#text": st.one_of(_value, st.lists(_value, max_size=4))}),
                  st.fixed_dictionaries({"#attributes": st.just({"Name": "x"})}))
_general = st.builds(
    lambda named, extra: {**(named or {}), **extra}, _fields,
    st.fixed_dictionaries({}, optional={
        "Data": _data,
        "Binary": st.sampled_from(["0A1b", "", None, 5, 0, "C000A2D5" * 3]),
        "#attributes": st.just({"Name": "n"}),
        "Nested": st.dictionaries(st.sampled_from(["param1", "User", "Binary", "#text",
                                                   "#attributes", "Qualifiers"]),
                                  _value, max_size=3),
        "Qualifiers": _value, "EventSourceName": _value, "param2": _value}))
_element = st.recursive(
    _value,
    lambda inner: st.dictionaries(st.sampled_from(_NAMES + ["#attributes", "#text", "xmlns"]),
                                  inner, max_size=4),
    max_leaves=10)
_user_data = st.one_of(st.none(), st.none(), st.dictionaries(
    st.sampled_from(["EventXML", "#attributes", "Other"]), _element, max_size=2))
_provider = st.sampled_from(["Microsoft-Windows-Security-Auditing", "TermDD", "termdd",
                             "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
                             "Ünïcode-Provider", "", None, "x" * 290])


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=st.one_of(_fields, _general), user_data=_user_data, provider=_provider,
       eid=st.sampled_from([56, 4624, 1149, 21, 0, 65535]),
       rid=st.integers(min_value=1, max_value=10),
       act=st.sampled_from([None, "{A}", "é"]),
       userid=st.sampled_from([None, "S-1-5-18"]),
       host=st.sampled_from(["H", {"#text": "H2"}, None, "Hé"]),
       qual=st.sampled_from([None, None, 16384, "16384", "x", True, None]),
       esn=st.sampled_from([None, "absent", "absent", "Svc", 5]),
       pid=st.sampled_from([612, 612, "612", "0x10", " 7", None, "", 1.5]))
def test_generated_records_give_the_python_rows(fields, user_data, provider, eid, rid, act,
                                                userid, host, qual, esn, pid):
    system = {"Computer": host,
              "Execution": {"#attributes": {"ProcessID": pid, "ThreadID": 1}}}
    if qual is not None:
        system["EventID"] = {"#attributes": {"Qualifiers": qual}, "#text": eid}
    if act is not None:
        system["Correlation"] = {"#attributes": {"ActivityID": act}}
    if userid is not None:
        system["Security"] = {"#attributes": {"UserID": userid}}
    ev = _record(eid=eid, fields=fields, provider=provider, rid=rid, erid=5,
                 user_data=user_data, **system)
    if esn != "absent":
        ev["Event"]["System"]["Provider"]["#attributes"]["EventSourceName"] = esn
    _check(rid, ev)


_ascii_value = st.one_of(st.lists(st.sampled_from([p for p in _PIECES if p.isascii()]),
                                  max_size=3).map("".join),
                         st.integers(-(10**12), 10**12), st.booleans(), st.none())
_classic_data = st.fixed_dictionaries({}, optional={
    "Data": st.one_of(_ascii_value, st.lists(_ascii_value, max_size=5),
                      st.fixed_dictionaries({"#text": st.lists(_ascii_value, max_size=5)})),
    "Binary": st.sampled_from(["0A1b", "", None, "C000A2D5" * 3]),
    "#attributes": st.just({"Name": "n"}),
    "Nested": st.dictionaries(st.sampled_from(["param1", "User", "X", "#text", "#attributes"]),
                              st.one_of(_ascii_value,
                                        st.fixed_dictionaries({"Y": _ascii_value})),
                              max_size=3),
    "param1": _ascii_value, "IpAddress": _ascii_value, "Qualifiers": _ascii_value})


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=_classic_data, qual=st.sampled_from([None, 16384, "49152", 0]),
       esn=st.sampled_from([None, "absent", "Service Control Manager"]),
       pid=st.sampled_from([612, "612", None]), erid=st.sampled_from([5, 7, 5, 7, "7", "5", "07", "x"]),
       provider=st.sampled_from(["Service Control Manager", "TermDD", "EventLog"]),
       eid=st.sampled_from([7036, 7036, 7036, "7036", " 7036", "0x1B7C", 70000]),
       level=st.sampled_from([4, 4, 4, "4", None, "", "+4"]))
def test_classic_system_records_are_read_from_the_text_like_the_python_path(
        fields, qual, esn, pid, erid, provider, eid, level):
    """Unnamed Data, Binary, nested elements, qualifiers and source names (the System log's
    classic providers: TermDD, TermService, Service Control Manager): what the general
    Python path (``_rec_from_json`` + ``add``) stores, and mostly taken."""
    import orjson
    system = {"Execution": {"#attributes": {"ProcessID": pid}}, "Level": level}
    if qual is not None:
        system["EventID"] = {"#attributes": {"Qualifiers": qual}, "#text": eid}
    # (numbers as text: logs converted from XML)
    ev = _record(eid=eid, fields=fields, provider=provider, rid=7, erid=erid, **system)
    if esn != "absent":
        ev["Event"]["System"]["Provider"]["#attributes"]["EventSourceName"] = esn
    _classic_taken.append(_check_text(7, orjson.dumps(ev).decode()) is not None)


_classic_taken: list[bool] = []


def test_classic_system_records_are_mostly_taken():
    test_classic_system_records_are_read_from_the_text_like_the_python_path()
    assert sum(_classic_taken) / len(_classic_taken) > 0.3, sum(_classic_taken)


_JSON_TWISTS = st.sampled_from([
    ("", ""), (":", ": "), (",", " ,\n"), ('"', ' "'), ("{", "{ "), ("}", "\t}"),
    ('":"', '":"\\u0000'), ('":"', '":"\\\\'), ('":"', '":"\\"'), ('":"', '":"\\b'),
    ('":"', '":"\\u007f'), ('":"', '":"\\ud83d'), (":0", ":-0"), (":1", ":1.5"),
    ("true", "tru"), ("null", "nul"), ("[", "[["), ('"Level":', '"Level":true,"Level":'),
    ('"EventID":', '"EventID":1,"EventID":'), ('"System":', '"System":{},"System":'),
])


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=_fields, twists=st.lists(st.tuples(_JSON_TWISTS, st.integers(0, 50)),
                                       max_size=3),
       cut=st.one_of(st.none(), st.integers(0, 2000)))
def test_twisted_json_text_gives_the_python_row_or_none(fields, twists, cut):
    """Text orjson never writes (spacing, repeated keys, escapes, odd numbers, cut text):
    row_json gives the Python path's row of orjson.loads(text), or takes nothing."""
    import orjson
    try:
        text = orjson.dumps(_record(fields=fields, Level=0)).decode()
    except TypeError:
        return
    for (old, new), nth in twists:
        at = -1
        for _ in range(nth % max(1, text.count(old) or 1) + 1):
            at = text.find(old, at + 1)
        if old and at >= 0:
            text = text[:at] + new + text[at + len(old):]
    if cut is not None:
        text = text[:cut]
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        assert _json_row(7, text) is None
        return
    _check_text(7, text)


def _shm_folders() -> set[str]:
    return {p.name for p in Path("/dev/shm").glob("rdpdoctor-*")} \
        if Path("/dev/shm").is_dir() else set()


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="no /dev/shm on this system")
def test_workers_hand_their_columns_over_through_dev_shm_and_leave_nothing(tmp_path,
                                                                          monkeypatch):
    evtx_ingest = pytest.importorskip("evtx_ingest", reason="benchmarks/ not importable")
    path = evtx_ingest.GENERATORS["security"](tmp_path / "s.evtx", 12000)
    monkeypatch.setattr(E, "PARALLEL_MIN_CHUNKS", 2)
    before = _shm_folders()
    used = []
    real = E._Columns.from_file

    def from_file(self):
        used.append(self.file[0])
        real(self)

    monkeypatch.setattr(E._Columns, "from_file", from_file)
    a = E.parse(path, ParseOptions(evtx_backend="rust", workers=2))
    assert used and all(u.startswith("/dev/shm/rdpdoctor-") for u in used)
    assert not any(Path(u).exists() for u in used) and _shm_folders() == before
    monkeypatch.setattr(E, "_transfer_folder", lambda: None)            # pickled instead
    b = E.parse(path, ParseOptions(evtx_backend="rust", workers=2))
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert len(used) == len(set(used)) > 1
    # no room in /dev/shm: the workers pickle their results, the rows are the same
    monkeypatch.undo()
    monkeypatch.setattr(E, "PARALLEL_MIN_CHUNKS", 2)
    monkeypatch.setattr(E.os, "statvfs", lambda p: type("S", (), {"f_bavail": 0,
                                                                  "f_frsize": 4096})())
    c = E.parse(path, ParseOptions(evtx_backend="rust", workers=2))
    pd.testing.assert_frame_equal(a.frame, c.frame)
    assert _shm_folders() == before


_TIME_TEXT = st.builds(
    lambda y, mo, d, h, mi, s, frac, z, sep: f"{y:04d}-{mo:02d}-{d:02d}{sep}{h:02d}:{mi:02d}:"
                                             f"{s:02d}{frac}{z}",
    st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32), st.integers(0, 24),
    st.integers(0, 60), st.integers(0, 60),
    st.sampled_from(["", ".", ".5", ".123456", ".1234567", ".123456789", ".1234567890",
                     ".12a"]),
    st.sampled_from(["Z", "Z", "", "+01:00", "z"]), st.sampled_from(["T", "T", " "]))
_TIME_VALUE = st.one_of(_TIME_TEXT, _TIME_TEXT, st.none(),
                        st.integers(-(1 << 64), 1 << 65), st.sampled_from([True, 1.5, "", "x"]))


@pytest.mark.filterwarnings("ignore:no explicit representation of timezones")
@settings(max_examples=1500, deadline=None)
@given(st.lists(_TIME_VALUE, min_size=1, max_size=6))
def test_the_time_column_is_converted_like_the_python_path(values):
    """convert()'s "t": the Rust reader's ISO text, our reader's FILETIME ints, None -> int64
    µs, the values _times() gives; anything else hands the column back to _times()."""
    import numpy as np
    (col,) = _fastrow.convert([(v,) for v in values], "t")
    want = E._times(values)
    if type(col) is bytes:
        got = np.frombuffer(col, dtype="datetime64[us]")
        np.testing.assert_array_equal(got, want)
    else:
        assert col == values


def test_the_time_column_takes_the_rust_text_and_filetimes():
    import numpy as np
    values = ["2021-12-16T10:25:32.351835800Z", "1601-01-01T00:00:00Z", None,
              132_840_000_000_000_000, "2024-02-29T23:59:59.5Z"]
    (col,) = _fastrow.convert([(v,) for v in values], "t")
    assert type(col) is bytes
    got = np.frombuffer(col, dtype="datetime64[us]")
    assert [str(x) for x in got] == ["2021-12-16T10:25:32.351835", "1601-01-01T00:00:00.000000",
                                     "NaT", "2021-12-15T00:00:00.000000",
                                     "2024-02-29T23:59:59.500000"]
    # text _times reads its own way (an offset, a day that does not exist): the list
    for odd in ("2021-12-16T10:25:32+01:00", "2021-02-29T00:00:00Z", "2021-12-16 10:25:32Z"):
        assert _fastrow.convert([(odd,)], "t") == [[odd]]
