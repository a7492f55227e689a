"""The records of a 64 KiB slot whose chunk header is destroyed are read where they can be.

A slot with no ``ElfChnk`` signature that is not all zero used to be only a warning ("the
records there, if any, could not be read"). Its intact record headers are now walked and
each record decoded by our own reader as in a chunk without a header: a template or name
reference (a chunk-relative offset) is followed only into the slot's intact records, where a
definition that survived still lies; a record whose template or names were in the destroyed
part is counted as unreadable, never guessed. Same rows and warnings for -j1/-j2 and both
backends.
"""
from __future__ import annotations

import struct
import time
from pathlib import Path

import pandas as pd
import pytest

import _evtxcraft as X
from parsers import evtx
from parsers.base import ParseOptions, Relevance

H, C = evtx.HEADER_SIZE, evtx.CHUNK_SIZE
BACKENDS = [pytest.param("rust", marks=pytest.mark.skipif(not evtx.rust_available(),
                                                          reason="evtx (Rust) not installed")),
            pytest.param("python", marks=pytest.mark.skipif(not evtx.python_available(),
                                                            reason="python-evtx not installed"))]


def _log(tmp_path: Path, n: int = 600) -> bytes:
    """Two shapes (two templates per chunk, names shared between them as Windows does):
    Security 4624 logons and TermDD 50 with a Binary NTSTATUS; ~100 records per chunk."""
    from analyzer.sample.evtxwriter import Event, u32, write_evtx
    events = []
    for i in range(n):
        t = 133485408000000000 + i * 10**7
        if i % 3 == 2:
            events.append(Event(provider="TermDD", event_id=50, qualifiers=49162, level=2,
                                time=t, channel="System", computer="TS01",
                                data=[(None, "\\Device\\Termdd"), (None, f"10.0.0.{i % 250}")],
                                binary=bytes.fromhex("00000000020030000000000032000ac0")))
        else:
            events.append(Event(provider="Microsoft-Windows-Security-Auditing", event_id=4624,
                                time=t, channel="Security", computer="TS01",
                                data=[("TargetUserName", f"user{i}"), ("LogonType", u32(10)),
                                      ("IpAddress", f"10.0.0.{i % 250}"), ("Pad", "x" * 200)]))
    return write_evtx(tmp_path / "src.evtx", events).read_bytes()


def _both(path: Path, backend: str, **kw):
    one = evtx.parse(path, ParseOptions(evtx_backend=backend, **kw))
    two = evtx.parse(path, ParseOptions(evtx_backend=backend, workers=2, **kw))
    assert one.stats["workers"] == 1 and two.stats["workers"] == 2
    pd.testing.assert_frame_equal(one.frame, two.frame)
    assert sorted((w.locator, w.message) for w in one.warnings) \
        == sorted((w.locator, w.message) for w in two.warnings)
    for k in ("chunks_bad", "recovered_from_damaged_chunks", "record_id_gaps",
              "records_expected"):
        assert one.stats[k] == two.stats[k], k
    return one


def _slot_warning(res, off: int) -> str:
    got = [w.message for w in res.warnings if w.locator == f"offset 0x{off:x}"]
    assert len(got) == 1, got
    return got[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_chunk_whose_header_is_zeroed_gives_back_every_record(tmp_path, monkeypatch,
                                                                  backend):
    """The whole 512-byte chunk header zeroed (signature, id range, CRCs, string and template
    tables): every record's template and names lie in the records, so every row comes back
    exactly as in the undamaged log."""
    monkeypatch.setattr(evtx, "PARALLEL_MIN_CHUNKS", 0)
    log = _log(tmp_path)
    good = tmp_path / "good.evtx"
    good.write_bytes(log)
    want = evtx.parse(good, ParseOptions(evtx_backend=backend))
    chunks = evtx.walk_chunks(log, len(log)).chunks
    assert len(chunks) >= 5
    ch = chunks[2]
    n = ch.last - ch.first + 1
    b = bytearray(log)
    b[ch.offset:ch.offset + 0x200] = bytes(0x200)
    path = tmp_path / "Security.evtx"
    path.write_bytes(bytes(b))
    res = _both(path, backend)
    pd.testing.assert_frame_equal(res.frame, want.frame)
    assert res.stats["recovered_from_damaged_chunks"] == n
    assert res.stats["chunks_bad"] == 1 and res.stats["record_id_gaps"] == []
    assert res.stats["records_expected"] == want.stats["records_expected"] == len(want.frame)
    msg = _slot_warning(res, ch.offset)
    assert msg == (f"64 KiB at 0x{ch.offset:x}: no chunk signature (ElfChnk; found "
                   f"0000000000000000) and not empty: {n} record headers, {n} recovered by "
                   f"our own reader, 0 could not be read")


@pytest.mark.parametrize("backend", BACKENDS)
def test_records_whose_template_was_in_the_zeroed_part_are_counted_not_guessed(
        tmp_path, monkeypatch, backend):
    """The chunk's first 0x2000 bytes zeroed (as the corpus' bad-magic log): its first
    record held the templates, and the names every later template shares, so no record of
    the slot can be decoded; each intact header is counted as unreadable."""
    monkeypatch.setattr(evtx, "PARALLEL_MIN_CHUNKS", 0)
    log = _log(tmp_path)
    ch = evtx.walk_chunks(log, len(log)).chunks[2]
    b = bytearray(log)
    b[ch.offset:ch.offset + 0x2000] = bytes(0x2000)
    left = [r for r in evtx.chunk_records(log, ch, len(log), [])
            if r[0] >= ch.offset + 0x2000]
    path = tmp_path / "Security.evtx"
    path.write_bytes(bytes(b))
    res = _both(path, backend)
    k = len(left)
    assert 0 < k < ch.last - ch.first + 1
    assert _slot_warning(res, ch.offset).endswith(
        f"not empty: {k} record headers, 0 recovered by our own reader, {k} could not be "
        f"read ({k} whose template or names were in the destroyed part)")
    assert res.stats["recovered_from_damaged_chunks"] == 0
    assert not res.frame["record_id"].between(ch.first, ch.last).any()
    assert res.stats["record_id_gaps"] == [[ch.first, ch.last]]
    assert res.stats["records_expected"] == 600 - (ch.last - ch.first + 1) + k


def _two_template_chunk() -> tuple[bytes, int]:
    """One chunk: records 1-5 use template A (defined inline in record 1), records 6-10
    template B (defined inline in record 6, its names inline too). Returns the log and the
    chunk offset of record 6."""
    def inner(t):
        X.named_data("User", "Ip")(t)
    recs = b""
    toffs = {}
    r6 = 0
    for rid in range(1, 11):
        tpl = "A" if rid <= 5 else "B"
        vals = X.std_subs(provider="Prov" + tpl, eid=4624 if tpl == "A" else 1149,
                          ft=X.FT + rid * 10**7, host="HOST") \
            + [(0x01, f"user{rid}".encode("utf-16-le")),
               (0x01, f"10.0.0.{rid}".encode("utf-16-le"))]
        bx = b"\x0f\x01\x01\x00"
        if tpl not in toffs:
            if tpl == "B":
                r6 = 0x200 + len(recs)
            ti, toffs[tpl] = X.template_instance(0x200 + len(recs) + 24 + len(bx),
                                                 lambda base: X.event_template(base, inner),
                                                 tid=ord(tpl))
            body = bx + ti + X.subs(vals)
        else:
            body = bx + X.template_ref(toffs[tpl], tid=ord(tpl)) + X.subs(vals)
        recs += X.record(rid, body, ft=X.FT + rid * 10**7)
    return X.file_header(1, 11) + X.chunk(recs, 1, 10), r6


@pytest.mark.parametrize("backend", BACKENDS)
def test_records_whose_template_survived_are_read_the_others_counted(tmp_path, backend):
    """Header and record 1 (template A) destroyed: records 2-5 (template A) are unreadable,
    records 6-10 (template B, defined in record 6 behind the damage) are read, with the
    values the undamaged log gives (provider, event id, time, record id, data fields)."""
    log, r6 = _two_template_chunk()
    good = tmp_path / "good.evtx"
    good.write_bytes(log)
    want = evtx.parse(good, ParseOptions(evtx_backend=backend)).frame
    assert list(want["record_id"]) == list(range(1, 11))
    b = bytearray(log)
    rec2 = H + 0x200 + struct.unpack_from("<I", log, H + 0x204)[0]
    b[H:rec2] = bytes(rec2 - H)
    path = tmp_path / "damaged.evtx"
    path.write_bytes(bytes(b))
    res = evtx.parse(path, ParseOptions(evtx_backend=backend))
    want6 = want[want["record_id"] >= 6].reset_index(drop=True)
    pd.testing.assert_frame_equal(res.frame, want6)
    assert list(res.frame["provider"].unique()) == ["ProvB"]
    assert set(res.frame["event_id"]) == {1149}
    assert res.frame["data"].str.contains('"User":"user6"').any()
    assert res.stats["recovered_from_damaged_chunks"] == 5
    assert res.stats["record_id_gaps"] == [] and res.stats["records_expected"] == 9
    assert _slot_warning(res, H).endswith(
        "not empty: 9 record headers, 5 recovered by our own reader, 4 could not be read "
        "(4 whose template or names were in the destroyed part)")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_relevance_filter_counts_the_recovered_ids_as_read(tmp_path, monkeypatch, backend):
    """With a filter dropping every record, the ids decoded in the damaged slot are still
    'read': no record-id gap is reported for them."""
    monkeypatch.setattr(evtx, "PARALLEL_MIN_CHUNKS", 0)
    log = _log(tmp_path)
    ch = evtx.walk_chunks(log, len(log)).chunks[2]
    b = bytearray(log)
    b[ch.offset:ch.offset + 0x200] = bytes(0x200)
    path = tmp_path / "Security.evtx"
    path.write_bytes(bytes(b))
    rel = Relevance(providers={"nobody": None}, channels={})
    res = _both(path, backend, relevance=rel)
    assert len(res.frame) == 0 and res.stats["record_id_gaps"] == []
    assert sum(res.stats["dropped"].values()) == 600


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_bomb_in_a_headerless_slot_stays_within_the_budget(tmp_path, backend):
    """The nested-BinXML fan-out bomb (review rvC c01) with its chunk signature zeroed: the
    budget skips record 1 (counted damaged), record 2 is read, quickly."""
    data = bytearray(X.nested_fanout(8, 12))
    data[H:H + 8] = bytes(8)
    path = tmp_path / "bomb.evtx"
    path.write_bytes(bytes(data))
    t = time.monotonic()
    res = evtx.parse(path, ParseOptions(evtx_backend=backend))
    assert time.monotonic() - t < 10
    assert list(res.frame["record_id"]) == [2]
    assert _slot_warning(res, H).endswith(
        "2 record headers, 1 recovered by our own reader, 1 could not be read (1 damaged)")


def test_garbage_record_headers_in_a_headerless_slot_never_crash(tmp_path):
    """A slot of record headers with random bodies, and references pointing anywhere (into
    the zeros, into other records, at themselves): every parse ends, with a warning."""
    import random
    rnd = random.Random(7)
    backend = "python" if evtx.python_available() else "rust"
    for n in range(30):
        slot = bytearray(C)
        p = 0x200 + rnd.randrange(0, 0x4000)
        rid = 1
        while p < C - 2048:
            body = bytearray(rnd.randbytes(rnd.randrange(16, 1500)))
            if rnd.random() < 0.7:                 # a template instance pointing somewhere
                body[0:4] = b"\x0f\x01\x01\x00"
                struct.pack_into("<BBII", body, 4, 0x0C, 1, rnd.randrange(1 << 32),
                                 rnd.choice([p + 38, rnd.randrange(C), p + 14, 0x226]))
            rec = X.record(rid, bytes(body))
            slot[p:p + len(rec)] = rec
            p += len(rec) + rnd.choice([0, 0, 8, 100])
            rid += 1
        path = tmp_path / f"g{n}.evtx"
        path.write_bytes(X.file_header(1) + bytes(slot))
        t = time.monotonic()
        res = evtx.parse(path, ParseOptions(evtx_backend=backend))
        assert time.monotonic() - t < 10
        msg = [w.message for w in res.warnings if "no chunk signature" in w.message]
        assert len(msg) == 1 and f": {rid - 1} record headers, " in msg[0], msg


@pytest.mark.corpus
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_real_bad_chunk_magic_log_says_what_its_damaged_slots_held(corpus, monkeypatch,
                                                                        backend):
    """omer__sample_with_a_bad_chunk_magic.evtx: the slots at 0x61000 and 0xa1000 have their
    first 0xe000 / 0x2000 bytes zeroed; behind them lie 15 and 67 intact records (ids
    47613-47627 and 45963-46029; a 68th, 46030, is cut by zeros at its end), every one
    referencing template 0x226, defined inline in the slot's first record, which is gone.
    Nothing is guessed: none is decoded, each is counted."""
    monkeypatch.setattr(evtx, "PARALLEL_MIN_CHUNKS", 0)     # 1 MiB: split anyway
    path = corpus / "evtx/omer__sample_with_a_bad_chunk_magic.evtx"
    res = _both(path, backend)
    lead = "64 KiB at 0x{:x}: no chunk signature (ElfChnk; found 0000000000000000) and not " \
           "empty: "
    for off, k in ((0x61000, 15), (0xa1000, 67)):
        assert _slot_warning(res, off) == lead.format(off) + (
            f"{k} record headers, 0 recovered by our own reader, {k} could not be read "
            f"({k} whose template or names were in the destroyed part)")
    assert res.stats["recovered_from_damaged_chunks"] == 0
    assert len(res.frame) == 301
    gaps = res.stats["record_id_gaps"]
    for lo, hi in ((47613, 47627), (45963, 46029)):
        assert any(a <= lo and hi <= b for a, b in gaps), gaps


@pytest.mark.corpus
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_real_security_log_with_a_destroyed_chunk_header(corpus, tmp_path, monkeypatch,
                                                           backend):
    """omer__security.evtx (Windows' own records): chunk 1's header overwritten, then also
    a run of its records zeroed in the middle. Every record outside the zeroed run is read
    with the values the intact log gives (the templates and names it uses lie in the
    chunk's first records, which survived); the zeroed ones are a gap, not a guess."""
    monkeypatch.setattr(evtx, "PARALLEL_MIN_CHUNKS", 0)
    src = corpus / "evtx/omer__security.evtx"
    log = src.read_bytes()
    want = evtx.parse(src, ParseOptions(evtx_backend=backend)).frame
    ch = next(c for c in evtx.walk_chunks(log, len(log)).chunks if c.offset == H + C)
    recs = list(evtx.chunk_records(log, ch, len(log), []))
    a, z = recs[40][0], recs[50][0]                 # records 40-49 of the chunk
    lost = {r[2] for r in recs[40:50]}
    for zero_run in (False, True):
        b = bytearray(log)
        b[ch.offset:ch.offset + 0x200] = b"\xee" * 0x200
        if zero_run:
            b[a:z] = bytes(z - a)
        path = tmp_path / "Security.evtx"
        path.write_bytes(bytes(b))
        res = _both(path, backend)
        keep = want[~want["record_id"].isin(lost)] if zero_run else want
        pd.testing.assert_frame_equal(res.frame, keep.reset_index(drop=True))
        n = len(recs) - (10 if zero_run else 0)
        assert res.stats["recovered_from_damaged_chunks"] == n
        assert _slot_warning(res, ch.offset).endswith(
            f"and not empty: {n} record headers, {n} recovered by our own reader, 0 could "
            "not be read")
        assert res.stats["record_id_gaps"] == ([[min(lost), max(lost)]] if zero_run else [])
