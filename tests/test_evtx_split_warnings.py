"""A log split over worker processes reports the same damage as a whole-file parse.

A worker's Rust reader is given only the chunks its walk found (``_ShareView``), so it never
says what a whole-file reader says about a 64 KiB slot with no chunk signature ("Failed to
parse chunk number N ... Invalid EVTX chunk header magic"). The chunk walk, which every
parse runs, reports such a slot itself when it is not empty (all zero = never-used space),
and the whole-file reader's word for it is dropped: one warning per slot, whatever ``-j``.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from parsers import evtx
from parsers.base import ParseOptions

H, C = evtx.HEADER_SIZE, evtx.CHUNK_SIZE
BACKENDS = [pytest.param("rust", marks=pytest.mark.skipif(not evtx.rust_available(),
                                                          reason="evtx (Rust) not installed")),
            pytest.param("python", marks=pytest.mark.skipif(not evtx.python_available(),
                                                            reason="python-evtx not installed"))]


def _log(tmp_path: Path, n: int = 1500) -> bytes:
    """A Security log of ``n`` logons written by the sample writer (1500: 15 chunks)."""
    from analyzer.sample.evtxwriter import Event, u32, write_evtx
    events = [Event(provider="Microsoft-Windows-Security-Auditing", event_id=4624,
                    time=133485408000000000 + i * 10**7, channel="Security", computer="TS01",
                    data=[("TargetUserName", f"user{i}"), ("LogonType", u32(10)),
                          ("IpAddress", f"10.0.0.{i % 250}"), ("Pad", "x" * 200)])
               for i in range(n)]
    return write_evtx(tmp_path / "src.evtx", events).read_bytes()


def _slot_locators(res, n_slots: int) -> Counter:
    """How many warnings name each 64 KiB slot's offset."""
    slots = {f"offset 0x{H + k * C:x}" for k in range(n_slots + 1)}
    return Counter(w.locator for w in res.warnings if w.locator in slots)


def _both(path: Path, backend: str):
    one = evtx.parse(path, ParseOptions(evtx_backend=backend))
    two = evtx.parse(path, ParseOptions(evtx_backend=backend, workers=2))
    assert one.stats["workers"] == 1 and two.stats["workers"] == 2
    pd.testing.assert_frame_equal(one.frame, two.frame)
    assert sorted((w.locator, w.message) for w in one.warnings) \
        == sorted((w.locator, w.message) for w in two.warnings)
    assert one.stats["chunks_bad"] == two.stats["chunks_bad"]
    assert one.stats["rust_errors"] == two.stats["rust_errors"]
    return one, two


@pytest.mark.parametrize("backend", BACKENDS)
def test_slots_without_a_chunk_signature_warn_once_whatever_the_worker_count(tmp_path, backend):
    """A log big enough to split by itself (140 slots, ≥ 8 MiB): a chunk whose signature
    was zeroed (its records still there), one overwritten with garbage — both in the second
    worker's share, past the header's chunk count — one zeroed in the first share, and a
    chunk slot zeroed whole (never-used space: no warning)."""
    log = _log(tmp_path)
    assert len(log) == H + 15 * C
    b = bytearray(log + bytes(125 * C))
    assert (len(b) - H) // C >= evtx.PARALLEL_MIN_CHUNKS
    b[H + 100 * C:H + 101 * C] = log[H + 3 * C:H + 4 * C]
    b[H + 110 * C:H + 111 * C] = log[H + 4 * C:H + 5 * C]
    b[H + 2 * C:H + 2 * C + 8] = bytes(8)                     # signature zeroed
    b[H + 100 * C:H + 100 * C + 8] = b"XXXXXXXX"              # signature overwritten
    b[H + 110 * C:H + 110 * C + 8] = bytes(8)
    b[H + 5 * C:H + 6 * C] = bytes(C)                         # empty
    path = tmp_path / "Security.evtx"
    path.write_bytes(bytes(b))
    one, two = _both(path, backend)
    want = Counter({f"offset 0x{H + k * C:x}": 1 for k in (2, 100, 110)})
    assert _slot_locators(one, 140) == _slot_locators(two, 140) == want
    for w in one.warnings:
        if w.locator in want:
            assert "no chunk signature" in w.message and "not empty" in w.message \
                and "could not be read" in w.message, w.message
    assert one.stats["chunks_bad"] == 3
    assert {s["offset"] for s in one.stats["skipped"]} == {H + k * C for k in (2, 100, 110)}
    chunks = evtx.walk_chunks(log, len(log)).chunks
    lost = sum(chunks[k].last - chunks[k].first + 1 for k in (2, 5))   # (3, 4: copies)
    assert len(one.frame) == 1500 - lost
    assert one.frame["record_id"].is_unique


@pytest.mark.corpus
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_real_bad_chunk_magic_log_warns_each_damaged_slot_once(corpus, monkeypatch, backend):
    """omer__sample_with_a_bad_chunk_magic.evtx: the slots at 0x61000 and 0xa1000 start
    with zeros where the signature was, and hold records; its other empty slots are all
    zero. The whole-file Rust reader warned twice, a split parse (or the python backend)
    not at all."""
    monkeypatch.setattr(evtx, "PARALLEL_MIN_CHUNKS", 0)     # 1 MiB: split anyway
    path = corpus / "evtx/omer__sample_with_a_bad_chunk_magic.evtx"
    one, two = _both(path, backend)
    want = Counter({"offset 0x61000": 1, "offset 0xa1000": 1})
    assert _slot_locators(one, 16) == _slot_locators(two, 16) == want
    assert len(one.frame) == 301


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_shifted_log_warns_only_for_bytes_no_chunk_holds(tmp_path, monkeypatch, backend):
    """Bytes inserted after the third chunk push every later chunk off the grid: their
    slots have no signature but every byte belongs to a chunk the walk reads (the whole-file
    Rust reader said "Failed to parse chunk" for each). Zero bytes inserted: no warning;
    non-zero bytes: one, at the slot holding them."""
    monkeypatch.setattr(evtx, "PARALLEL_MIN_CHUNKS", 0)
    log = _log(tmp_path)
    cut = H + 3 * C
    for fill, want in ((0, Counter()), (1, Counter({f"offset 0x{cut:x}": 1}))):
        path = tmp_path / f"shifted{fill}.evtx"
        path.write_bytes(log[:cut] + bytes([fill]) * 512 + log[cut:])
        one, _ = _both(path, backend)
        assert _slot_locators(one, 16) == want
        assert len(one.frame) == 1500


@pytest.mark.parametrize("backend", BACKENDS)
def test_non_empty_slack_at_the_end_of_the_file_warns(tmp_path, monkeypatch, backend):
    """Bytes after the last chunk too few to be one (under its 512-byte header, and not)
    are said when not zero, by the share holding them."""
    monkeypatch.setattr(evtx, "PARALLEL_MIN_CHUNKS", 0)
    log = _log(tmp_path)
    end = f"offset 0x{len(log):x}"
    for tail, warned in ((b"\x13" * 300, True), (b"\x13" * 4000, True), (bytes(300), False),
                         (bytes(4000), False)):
        path = tmp_path / "tail.evtx"
        path.write_bytes(log + tail)
        one, _ = _both(path, backend)
        assert _slot_locators(one, 16) == (Counter({end: 1}) if warned else Counter())
        if warned:
            msg = next(w.message for w in one.warnings if w.locator == end)
            assert f"the file's last {len(tail)} bytes" in msg


def test_rust_chunk_numbers_are_file_offsets_and_signatureless_slots_are_the_walks():
    """The Rust reader numbers the chunks of what it reads: in a worker's share (or behind a
    clean header) chunk N is the share's N-th, said at its file offset; reading the file
    itself, an error about a slot the walk found no chunk in is left to the walk."""
    grid = [H + 16 * C, H + 18 * C, H + 19 * C]
    loc, msg = evtx._rust_warning("Failed to parse chunk number 1: Failed to parse chunk "
                                  "header: bad", grid, None)
    assert loc == f"offset 0x{H + 18 * C:x}"
    assert msg == f"Rust evtx reader: Failed to parse chunk at 0x{H + 18 * C:x}: Failed to " \
                  "parse chunk header: bad"
    assert evtx._rust_warning("Failed to parse chunk number 6: magic", None,
                              {H, H + 7 * C}) is None
    assert evtx._rust_warning("Failed to parse chunk number 7: x", None, {H, H + 7 * C}) \
        == (f"offset 0x{H + 7 * C:x}", f"Rust evtx reader: Failed to parse chunk at "
            f"0x{H + 7 * C:x}: x")
    assert evtx._rust_warning("Failed to parse record number 12: x", grid, None)[0] \
        == "record 12"


@pytest.mark.parametrize("cut", [4, 8, 300])
def test_a_file_cut_inside_a_chunk_header_says_so(tmp_path, cut):
    """A log cut 4, 8 or 300 bytes into its next chunk: 'a chunk cut short', also when the
    cut falls inside the signature itself (it said 'no chunk signature (found 456c6643)')."""
    log = _log(tmp_path)
    path = tmp_path / "cut.evtx"
    path.write_bytes(log + evtx.CHUNK_MAGIC[:min(cut, 8)] + b"\x01" * max(0, cut - 8))
    res = evtx.parse(path)
    [msg] = [w.message for w in res.warnings if w.locator == f"offset 0x{len(log):x}"]
    assert f"the file's last {cut} bytes at 0x{len(log):x}: a chunk cut short" in msg
