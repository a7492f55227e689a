"""parsers.evtx on the real corpus (read in place) and on damaged copies made at test time.

The recovery bar is measured here, per file, by running the two raw libraries: the Rust
``evtx`` iterator (continuing after each error, as ``skip_errors`` does) and python-evtx
(its own chunk/record walk, a record counting when its substitutions decode). Nothing about
the corpus is hard-coded except a few values PROVENANCE.md documents.
"""
from __future__ import annotations

import json
import struct
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pytest

from parsers import evtx
from parsers.base import TIMELINE_DTYPES, ParseOptions, ParserError, ParseWarning
from tests.conftest import corpus_files, ids

EVTX = corpus_files("evtx", "*.evtx")
needs_python = pytest.mark.skipif(not evtx.python_available(), reason="python-evtx not installed")
needs_rust = pytest.mark.skipif(not evtx.rust_available(), reason="evtx (Rust) not installed")


# --------------------------------------------------------------------------- raw libraries


def rust_ids(path) -> set[int]:
    """Record ids the Rust iterator yields, continuing after each error."""
    from evtx import PyEvtxParser
    out: set[int] = set()
    it = PyEvtxParser(str(path)).records_json()
    errors = 0
    while errors < 10000:
        try:
            for r in it:
                json.loads(r["data"])
                out.add(r["event_record_id"])
            break
        except (RuntimeError, ValueError):
            errors += 1
    return out


def pyevtx_ids(path) -> set[int]:
    """Record ids python-evtx decodes (substitutions parse and render), walking its chunks
    both as the header announces them and including inactive ones."""
    from Evtx.Evtx import Evtx
    out: set[int] = set()
    with Evtx(str(path)) as log:
        for inactive in (False, True):
            try:
                chunks = list(log.chunks(include_inactive=inactive))
            except Exception:
                continue
            for chunk in chunks:
                try:
                    records = list(chunk.records())
                except Exception:
                    records = []
                for rec in records:
                    try:
                        [v.string() for v in rec.root().substitutions()]
                        out.add(rec.record_num())
                    except Exception:
                        continue
    return out


@lru_cache(maxsize=None)
def parsed(path: Path, backend: str):
    return evtx.parse(path, ParseOptions(evtx_backend=backend))


def default_backend() -> str:
    return evtx.choose_backend("auto")


# --------------------------------------------------------------------------- every corpus file


@needs_rust
@needs_python
@pytest.mark.corpus
@pytest.mark.parametrize("path", EVTX, ids=ids(EVTX))
def test_both_backends_load_and_conform(path):
    for backend in ("rust", "python"):
        res = parsed(path, backend)
        assert list(res.frame.columns) == list(TIMELINE_DTYPES)
        assert {c: str(t) for c, t in res.frame.dtypes.items()} == TIMELINE_DTYPES
        assert res.stats["records"] == len(res.frame)
        assert res.stats["backend"] == backend
        assert not res.frame["record_id"].duplicated().any()
        assert res.frame["record_id"].is_monotonic_increasing
        assert all(isinstance(w, ParseWarning) and w.locator for w in res.warnings)
        assert (res.frame["kind"] == "evtx").all()
        assert res.frame["event_type"].isna().all()     # analyzer.timeline fills it


@needs_rust
@needs_python
@pytest.mark.corpus
@pytest.mark.parametrize("path", EVTX, ids=ids(EVTX))
def test_recovers_at_least_what_each_library_recovers(path):
    r_ids, p_ids = rust_ids(path), pyevtx_ids(path)
    ours = parsed(path, default_backend())
    got = set(ours.frame["record_id"].astype(int))
    assert len(got) >= max(len(r_ids), len(p_ids))
    assert r_ids <= got, f"Rust records missing: {sorted(r_ids - got)[:10]}"
    assert p_ids <= got, f"python-evtx records missing: {sorted(p_ids - got)[:10]}"
    # the pure-Python backend alone also recovers everything python-evtx decodes
    py = set(parsed(path, "python").frame["record_id"].astype(int))
    assert p_ids <= py
    # and accounts for what it could not read
    if ours.stats["records_expected"] > len(got):
        assert ours.warnings, "records lost without a warning"


@needs_rust
@needs_python
@pytest.mark.corpus
@pytest.mark.parametrize("path", EVTX, ids=ids(EVTX))
def test_backends_give_identical_frames(path):
    """Same rows, column by column (intact files; on this corpus the damaged ones too)."""
    a, b = parsed(path, "rust").frame, parsed(path, "python").frame
    pd.testing.assert_frame_equal(a, b)


@needs_rust
@needs_python
@pytest.mark.corpus
def test_recovery_bar_on_the_shadow_copy_logs(corpus):
    rdp = corpus / "evtx/omer__2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx"
    res = parsed(rdp, default_backend())
    assert len(res.frame) >= 1910                  # PROVENANCE: python-evtx decodes 1,910
    assert len(res.frame) >= len(rust_ids(rdp))
    assert any(w.locator.startswith(("offset", "record")) for w in res.warnings)
    system = corpus / "evtx/omer__2-vss_7-System.evtx"
    res = parsed(system, default_backend())
    assert len(res.frame) >= 1160                  # Rust 1,160 vs python-evtx 457 (header)
    # gap accounting matches the ids actually present
    idx = sorted(set(res.frame["record_id"].astype(int)))
    missing = sum(b - a - 1 for a, b in zip(idx, idx[1:]))
    assert res.stats["record_id_gap_count"] == missing


# --------------------------------------------------------------------------- values


@pytest.mark.corpus
def test_rcm_1149_user_and_ip(corpus):
    df = parsed(corpus / "evtx/e2m__ID1149-RDP_success_logins_to_multiple_hosts.evtx",
                default_backend()).frame
    assert len(df) == 11 and (df["event_id"] == 1149).all()
    assert (df["provider"] == "Microsoft-Windows-TerminalServices-RemoteConnectionManager").all()
    first = df.iloc[0]
    assert first["user"] == "admmig"               # Param2 (domain) is empty in this sample
    assert first["ip"] == "10.23.123.11"
    assert first["host"] == "rootdc1.offsec.lan"
    assert first["time"] == pd.Timestamp("2021-12-16T10:25:32.351835Z")
    assert json.loads(first["data"])["Param3"] == "10.23.123.11"

    vss = parsed(corpus / "evtx/omer__2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx",
                 default_backend()).frame
    logons = vss[vss["event_id"] == 1149]
    assert "MAGNETIC-DESKTO\\mpowers" in set(logons["user"])


@pytest.mark.corpus
def test_lsm_fields_and_qualifiers(corpus):
    df = parsed(corpus / "evtx/aaron__Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx",
                default_backend()).frame
    logon = df[df["event_id"] == 21].iloc[0]
    assert logon["user"] == "WIN-2TO3V41EH3L\\Administrator"
    assert logon["session_id"] == 1
    assert pd.isna(logon["ip"])                     # Address LOCAL is not an address
    assert json.loads(logon["data"])["Address"] == "LOCAL"
    assert logon["channel"] == "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"

    sysdf = parsed(corpus / "evtx/omer__2-vss_7-System.evtx", default_backend()).frame
    ev = sysdf[(sysdf["provider"] == "EventLog") & (sysdf["event_id"] == 6009)].iloc[0]
    data = json.loads(ev["data"])
    assert data["Qualifiers"] == 32768
    assert data["param1"] == "10.00." and data["param2"] == "17134"
    scm = sysdf[(sysdf["provider"] == "Service Control Manager") & (sysdf["event_id"] == 7023)]
    d = json.loads(scm.iloc[0]["data"])
    assert d["EventSourceName"] == "Service Control Manager"
    assert d["Binary"] == d["Binary"].lower()
    assert bytes.fromhex(d["Binary"]).decode("utf-16-le").rstrip("\x00") == d["param1"]


def test_termdd_binary_gives_ntstatus_and_zero_time_is_kept_and_flagged():
    cols = evtx._Columns()
    rec = evtx._Rec(7)
    rec.provider, rec.event_id, rec.qualifiers = "TermDD", 50, 49162
    rec.time = evtx._ft_iso(0)                    # a zero FILETIME as both backends render it
    rec.fields = {"param1": "\\Device\\Termdd", "param2": "X.224"}
    rec.binary = "00000000020030000000000032000AC0"
    cols.add(rec)
    df = cols.frame()
    row = df.iloc[0]
    assert row["time"] == pd.Timestamp("1601-01-01", tz="UTC")
    data = json.loads(row["data"])
    assert data["ntstatus"] == "0xC00A0032" and data["Qualifiers"] == 49162
    assert data["_time_zero"] is True
    assert data["Binary"] == "00000000020030000000000032000ac0"
    assert row["message"] == "TermDD 50: param1=\\Device\\Termdd, param2=X.224"


# --------------------------------------------------------------------------- damage


def _slice(src: Path, dst: Path, size: int) -> Path:
    with open(src, "rb") as fh:
        dst.write_bytes(fh.read(size))
    return dst


@needs_rust
@needs_python
@pytest.mark.corpus
def test_truncated_file_keeps_what_is_there(corpus, tmp_path):
    src = corpus / "evtx/omer__security.evtx"
    full = parsed(src, default_backend()).frame
    cut = _slice(src, tmp_path / "cut.evtx", 0x1000 + 2 * 0x10000 + 0x6000)  # 2.4 chunks
    results = {b: evtx.parse(cut, ParseOptions(evtx_backend=b)) for b in ("rust", "python")}
    pd.testing.assert_frame_equal(results["rust"].frame, results["python"].frame)
    got = results["rust"].frame
    assert len(got) >= len(rust_ids(cut))
    # records of the partial third chunk are recovered too, and equal the full file's
    assert len(got) > len(rust_ids(_slice(src, tmp_path / "two.evtx", 0x1000 + 2 * 0x10000)))
    full_rows = full.set_index("record_id").loc[got["record_id"].astype(int)]
    assert list(full_rows["message"]) == list(got["message"])


@needs_rust
@needs_python
@pytest.mark.corpus
def test_elfchnk_garbage_is_skipped_with_offsets(corpus, tmp_path):
    src = corpus / "evtx/omer__Security_short_selected.evtx"        # header + one chunk
    good = parsed(src, default_backend()).frame
    blob = bytearray(src.read_bytes())
    # a chunk slot with a valid magic and garbage after it, with more magics inside
    fake = bytearray((b"ElfChnk\x00" + bytes(range(256)) * 4 + b"**\x00\x00\xff\xff") * 60)[:0x10000]
    fake[0x200:0x204] = b"**\x00\x00"
    fake[0x204:0x208] = struct.pack("<I", 0x400)               # a record claiming 1 KiB of junk
    blob += fake
    blob += b"\x13\x37" * 0x8000                               # a slot with no magic at all
    bad = tmp_path / "garbage.evtx"
    bad.write_bytes(bytes(blob))
    for backend in ("rust", "python"):
        res = evtx.parse(bad, ParseOptions(evtx_backend=backend))
        pd.testing.assert_frame_equal(res.frame, good)
        locs = [w.locator for w in res.warnings]
        assert f"offset 0x{len(src.read_bytes()) + 0x10000:x}" in locs   # the no-magic slot
        assert res.stats["chunks_bad"] >= 1 and res.stats["skipped"]


@needs_rust
@needs_python
@pytest.mark.corpus
def test_zeroed_chunk_header_is_skipped_not_fatal(corpus, tmp_path):
    src = corpus / "evtx/omer__security.evtx"
    blob = bytearray(src.read_bytes())
    blob[0x1000 + 0x10000:0x1000 + 0x10000 + 0x200] = b"\xee" * 0x200   # chunk 1 header
    bad = tmp_path / "bad.evtx"
    bad.write_bytes(bytes(blob))
    full = set(parsed(src, default_backend()).frame["record_id"].astype(int))
    for backend in ("rust", "python"):
        res = evtx.parse(bad, ParseOptions(evtx_backend=backend))
        got = set(res.frame["record_id"].astype(int))
        assert got < full and len(got) > len(full) // 2
        assert any(w.locator == "offset 0x11000" for w in res.warnings)


# --------------------------------------------------------------------------- options


def test_backend_choice_fails_soft(monkeypatch):
    monkeypatch.setattr(evtx, "rust_available", lambda: False)
    if evtx.python_available():
        assert evtx.choose_backend("auto") == "python"
    with pytest.raises(ParserError, match="'rust' requested.*pip install evtx"):
        evtx.choose_backend("rust")
    monkeypatch.setattr(evtx, "python_available", lambda: False)
    with pytest.raises(ParserError, match="python-evtx is not installed.*Windows"):
        evtx.choose_backend("python")
    with pytest.raises(ParserError, match="unknown evtx backend"):
        evtx.choose_backend("java")


REL_FILES = ["omer__2-vss_7-System.evtx", "omer__security.evtx",
             "omer__2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx"]


@needs_rust
@needs_python
@pytest.mark.corpus
@pytest.mark.parametrize("name", REL_FILES)
def test_relevance_filter_drops_and_counts(corpus, name):
    from analyzer import knowledge
    rel = knowledge.relevance()
    path = corpus / "evtx" / name
    full = parsed(path, default_backend()).frame
    for backend in ("rust", "python"):
        res = evtx.parse(path, ParseOptions(evtx_backend=backend, relevance=rel))
        kept = res.frame
        assert len(kept) <= len(full)
        assert all(rel.keep(p, c, int(e)) for p, c, e in
                   kept[["provider", "channel", "event_id"]].itertuples(index=False))
        expected = (full[~full["record_id"].isin(kept["record_id"])]
                    .groupby(["provider", "event_id"]).size())
        expected = {f"{p}/{e}": n for (p, e), n in expected.items()}
        dropped = res.stats["dropped"]
        assert expected.items() <= dropped.items()
        # a damaged record the full parse could not decode may be dropped by its
        # provider/id before decoding (python backend); nothing else may be extra
        extra = sum(dropped.values()) - sum(expected.values())
        assert 0 <= extra <= len(parsed(path, backend).warnings)
        pd.testing.assert_frame_equal(
            kept, full[full["record_id"].isin(kept["record_id"])].reset_index(drop=True))


@needs_rust
@pytest.mark.corpus
def test_relevance_probe_reads_the_json_without_decoding(corpus):
    from evtx import PyEvtxParser
    path = corpus / "evtx/omer__2-vss_7-System.evtx"
    for r in PyEvtxParser(str(path)).records_json():
        ev = json.loads(r["data"])["Event"]["System"]
        probe = evtx._json_probe(r["data"])
        eid = ev["EventID"]["#text"] if isinstance(ev["EventID"], dict) else ev["EventID"]
        assert probe == (ev["Provider"]["#attributes"]["Name"], ev["Channel"], int(eid) & 0xFFFF)


@needs_python
@pytest.mark.corpus
def test_python_probe_matches_the_decoded_record(corpus):
    path = corpus / "evtx/omer__2-vss_7-System.evtx"
    buf = path.read_bytes()
    probed = 0
    for ch in evtx.walk_chunks(buf, len(buf)).chunks:
        pc = evtx._PyChunk(buf, ch.offset)
        for off, size, rid in evtx.chunk_records(buf, ch, len(buf), []):
            probe = evtx._probe_py(pc, off, size)
            rec = evtx._decode_py(buf, {ch.offset: pc}, ch, off, size, rid)
            if probe is not None:
                probed += 1
                assert probe == (rec.provider, rec.channel, evtx._int(rec.event_id) & 0xFFFF)
    assert probed > 1000


@needs_rust
@needs_python
@pytest.mark.corpus
def test_parallel_workers_give_the_same_frame(corpus, monkeypatch):
    monkeypatch.setattr(evtx, "PARALLEL_MIN_CHUNKS", 0)     # a small file, split anyway
    path = corpus / "evtx/omer__2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx"
    for backend in ("rust", "python"):
        one = parsed(path, backend)
        two = evtx.parse(path, ParseOptions(evtx_backend=backend, workers=2))
        assert two.stats["workers"] > 1
        pd.testing.assert_frame_equal(one.frame, two.frame)


@needs_rust
@pytest.mark.corpus
def test_a_damaged_file_header_is_read_by_the_rust_reader_in_workers_too(corpus, tmp_path,
                                                                         monkeypatch):
    """A zeroed file header made the Rust reader refuse the file, and our own reader decoded
    every record (≈ 50× slower); the workers' shares are now given a clean header, as the
    whole file is."""
    monkeypatch.setattr(evtx, "PARALLEL_MIN_CHUNKS", 0)     # a small file, split anyway
    path = corpus / "evtx/omer__security.evtx"
    b = bytearray(path.read_bytes())
    b[:0x1000] = bytes(0x1000)
    damaged = tmp_path / "Security.evtx"
    damaged.write_bytes(bytes(b))
    one = parsed(path, "rust")
    two = evtx.parse(damaged, ParseOptions(evtx_backend="rust", workers=2))
    assert two.stats["workers"] > 1 and two.stats["filled_in"] == 0
    assert len(two.frame) == len(one.frame) == 2261
    pd.testing.assert_frame_equal(one.frame.drop(columns="source"),
                                  two.frame.drop(columns="source"))


def test_sniff_and_not_my_format(tmp_path):
    assert evtx.sniff(b"ElfFile\x00" + b"\x00" * 100)
    assert not evtx.sniff(b"LfLe" + b"\x00" * 100)
    p = tmp_path / "x.evtx"
    p.write_bytes(b"not an event log at all")
    with pytest.raises(ParserError):
        evtx.parse(p)
    empty = tmp_path / "empty.evtx"
    empty.write_bytes(b"")
    assert len(evtx.parse(empty).frame) == 0


@needs_rust
@pytest.mark.corpus
@pytest.mark.parametrize("name", ["omer__2-vss_7-System.evtx", "omer__sample_with_a_bad_chunk_magic.evtx",
                                  "omer__sample-with-zero-data-size-event.evtx", "plaso__System2.evtx"])
def test_fill_in_needs_no_python_evtx(corpus, monkeypatch, name):
    """On Windows python-evtx is not installed: the Rust backend's fill-in still works."""
    path = corpus / "evtx" / name
    with_pyevtx = evtx.parse(path, ParseOptions(evtx_backend="rust")).frame
    monkeypatch.setattr(evtx, "python_available", lambda: False)
    without = evtx.parse(path, ParseOptions(evtx_backend="rust"))
    pd.testing.assert_frame_equal(without.frame, with_pyevtx)
    assert len(without.frame) >= len(rust_ids(path))


@needs_rust
@needs_python
def test_written_termdd_event_with_zero_time_reads_the_same_with_both_backends(tmp_path):
    """An event written at test time by the project's own writer: a TermDD 50 with a zero
    FILETIME, typed payload values and a Binary NTSTATUS."""
    from datetime import datetime, timezone

    from analyzer.sample.evtxwriter import Event, filetime, guid, hex32, u8, write_evtx
    p = write_evtx(tmp_path / "System.evtx", [Event(
        provider="TermDD", event_id=50, qualifiers=49162, level=2, time=0, channel="System",
        computer="TS01", data=[("T", filetime(0)),
                               ("T2", filetime(datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc))),
                               ("B", u8(7)), ("H", hex32(255)),
                               ("G", guid("{12345678-1234-5678-9abc-def012345678}"))],
        binary=bytes.fromhex("00000000020030000000000032000ac0"))])
    frames = [evtx.parse(p, ParseOptions(evtx_backend=b)).frame for b in ("rust", "python")]
    pd.testing.assert_frame_equal(*frames)
    row = frames[0].iloc[0]
    assert row["time"] == pd.Timestamp("1601-01-01", tz="UTC")
    assert (row["provider"], row["event_id"], row["level"], row["host"]) == ("TermDD", 50, 2, "TS01")
    assert json.loads(row["data"]) == {
        "T": "1601-01-01T00:00:00.000000Z", "T2": "2024-01-02T03:04:05.000000Z", "B": 7,
        "H": "0xff", "G": "12345678-1234-5678-9ABC-DEF012345678", "Qualifiers": 49162,
        "Binary": "00000000020030000000000032000ac0", "ntstatus": "0xC00A0032",
        "_time_zero": True}


@needs_rust
@pytest.mark.corpus
def test_bare_chunk_without_file_header(corpus, tmp_path):
    """A carved chunk (no ElfFile header, off the 64 KiB grid): the Rust reader refused the
    file and our reader decoded it; now the Rust reader is given the chunk behind a clean
    header, and nothing is left to fill in."""
    src = corpus / "evtx/omer__Security_short_selected.evtx"
    bare = tmp_path / "carved.evtx"
    bare.write_bytes(src.read_bytes()[0x1000:])
    good = parsed(src, default_backend()).frame
    res = evtx.parse(bare, ParseOptions(evtx_backend="rust"))
    pd.testing.assert_frame_equal(res.frame, good)
    assert res.stats["filled_in"] == 0 and len(good) == 7


def _count_calls(monkeypatch, name: str) -> list[int]:
    """Count the calls of ``parsers.evtx.<name>`` (a one-item list, updated in place)."""
    calls = [0]
    orig = getattr(evtx, name)

    def counted(*a, **k):
        calls[0] += 1
        return orig(*a, **k)
    monkeypatch.setattr(evtx, name, counted)
    return calls


def _count_our_decodes(monkeypatch) -> list[int]:
    """Count the records our own reader is asked to decode (the fill-in's)."""
    return _count_calls(monkeypatch, "_decode_py")


@needs_rust
@needs_python
@pytest.mark.parametrize("damage", ["zero size", "cut by a longer record", "truncated file"])
def test_rust_reader_reads_past_a_damaged_record(tmp_path, monkeypatch, damage):
    """The Rust reader stops a chunk at a record header it cannot read and loses the rest
    of the chunk; it is given the chunk again, patched to go on where our walk found the
    next record, so none of the ~40 records after the damage is left to our (slower) reader,
    and the rows are the python backend's."""
    from analyzer.sample.evtxwriter import Event, u32, write_evtx
    sec = "Microsoft-Windows-Security-Auditing"
    p = write_evtx(tmp_path / "Security.evtx", [Event(
        provider=sec, event_id=4624 + n % 3, level=0, time=133485408000000000 + n * 10**7,
        channel="Security", computer="TS01",
        data=[("TargetUserName", f"user{n}"), ("LogonType", u32(10)),
              ("IpAddress", f"10.0.0.{n}")]) for n in range(60)])
    data = bytearray(p.read_bytes())
    walk = evtx.walk_chunks(data, len(data))
    recs = [r for ch in walk.chunks for r in evtx.chunk_records(data, ch, len(data), [])]
    assert len(walk.chunks) == 1 and len(recs) == 60
    off, rsize, rid = recs[19]
    if damage == "zero size":                  # (corpus: sample-with-zero-data-size-event)
        struct.pack_into("<I", data, off + 4, 0)
        want = [i for i in range(1, 61) if i != 20]
    elif damage == "cut by a longer record":   # (corpus: the shadow-copy logs)
        # record 20's header is gone, record 22's size runs into record 23: the Rust
        # reader's second look must be told where 22 ends
        struct.pack_into("<I", data, off + 4, 0)
        struct.pack_into("<I", data, recs[21][0] + 4, recs[21][1] + 16)
        want = [i for i in range(1, 61) if i != 20]
    else:                                      # the file ends inside record 60
        data = data[:recs[59][0] + 40]
        want = list(range(1, 60))
    bad = tmp_path / "damaged.evtx"
    bad.write_bytes(bytes(data))
    ours = _count_our_decodes(monkeypatch)
    res = evtx.parse(bad, ParseOptions(evtx_backend="rust"))
    assert res.frame["record_id"].tolist() == want
    assert ours[0] == 0
    assert res.stats["filled_in"] == len(set(want) - rust_ids(bad))
    assert res.stats["filled_in"] >= 39
    pd.testing.assert_frame_equal(res.frame, evtx.parse(bad, ParseOptions(
        evtx_backend="python")).frame)


@needs_rust
@pytest.mark.corpus
def test_the_time_budget_stops_the_second_look(corpus):
    """A budget spent by the end of the first pass: the second look reads nothing more
    (review rv9: it read every damaged chunk whatever the deadline)."""
    path = corpus / "evtx/omer__sample-with-zero-data-size-event.evtx"
    res = evtx.parse(path, ParseOptions(evtx_backend="rust", time_budget_s=1e-9))
    assert res.stats.get("timed_out") and res.stats["filled_in"] == 0
    assert len(res.frame) == len(rust_ids(path)) == 335
    assert any("time budget" in w.message for w in res.warnings)
    # an intact log read whole in the first pass: nothing was left, nothing is said
    # (review rv9b: the check came before the chunks that need no second look)
    intact = corpus / "evtx/omer__security.evtx"
    res = evtx.parse(intact, ParseOptions(evtx_backend="rust", time_budget_s=1e-9))
    assert not res.stats.get("timed_out") and len(res.frame) == 2261
    assert not any("time budget" in w.message for w in res.warnings)


@needs_rust
@pytest.mark.corpus
def test_rust_reader_reads_past_the_damage_in_corpus_logs(corpus, monkeypatch):
    """On the corpus: a zero-size record, a chunk whose free-space offset and last record
    are cut by the end of the file, a record cut by a newer one next to chunks with no
    signature — the records after the damage are the Rust reader's, none ours."""
    for name, filled in [("omer__sample-with-zero-data-size-event.evtx", 114),
                         ("plaso__System2.evtx", 89),
                         ("omer__sample_with_a_bad_chunk_magic.evtx", 31)]:
        ours = _count_our_decodes(monkeypatch)
        res = evtx.parse(corpus / "evtx" / name, ParseOptions(evtx_backend="rust"))
        assert (res.stats["filled_in"], ours[0]) == (filled, 0), name


@needs_rust
@needs_python
@pytest.mark.corpus
def test_a_second_look_leaves_records_without_an_event_root_to_our_reader(corpus, tmp_path):
    """The first record of a chunk holds the names its templates use: zeroed (with the
    chunk header's tail), the Rust reader's second look rendered the 78 records after it
    as ``{"": ...}``, rows of nulls without a word; our reader says "no <Event> element"
    for each, and so it does again (review rv9)."""
    src = corpus / "evtx/tugix__Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx"
    data = bytearray(src.read_bytes())
    data[0x115A:0x115A + 409] = bytes(409)
    bad = tmp_path / "names-zeroed.evtx"
    bad.write_bytes(bytes(data))
    res = evtx.parse(bad, ParseOptions(evtx_backend="rust"))
    assert len(res.frame) == 0
    assert sum("no <Event> element" in w.message for w in res.warnings) == 78
    pd.testing.assert_frame_equal(res.frame, evtx.parse(bad, ParseOptions(
        evtx_backend="python")).frame)


@needs_rust
def test_a_chunk_whose_records_crc_is_wrong_is_walked_once(tmp_path, monkeypatch):
    """Every record read by the Rust reader, but the records CRC wrong: the chunk is not
    covered by its CRCs, so the second look walks its record headers; finding them all read
    and nothing to say, it tells the fill-in, which does not walk it again."""
    from analyzer.sample.evtxwriter import Event, write_evtx
    p = write_evtx(tmp_path / "System.evtx", [Event(
        provider="TermDD", event_id=50, level=2, time=133485408000000000 + n,
        channel="System", computer="TS01", data=[("p", f"v{n}")]) for n in range(30)])
    data = bytearray(p.read_bytes())
    data[0x1000 + 0x34] ^= 0xFF                      # the chunk's records CRC
    bad = tmp_path / "crc.evtx"
    bad.write_bytes(bytes(data))
    walks = _count_calls(monkeypatch, "chunk_records")
    ours = _count_our_decodes(monkeypatch)
    res = evtx.parse(bad, ParseOptions(evtx_backend="rust"))
    assert res.frame["record_id"].tolist() == list(range(1, 31))
    assert (walks[0], ours[0], res.stats["filled_in"], res.warnings) == (1, 0, 0, [])
    assert res.stats["records_expected"] == 30


@pytest.mark.corpus
def test_budgets(corpus):
    from parsers.base import BudgetExceeded
    path = corpus / "evtx/omer__security.evtx"
    with pytest.raises(BudgetExceeded):
        evtx.parse(path, ParseOptions(max_bytes=1000))
    res = evtx.parse(path, ParseOptions(evtx_backend="python", time_budget_s=1e-9))
    assert res.stats.get("timed_out") and len(res.frame) < len(parsed(path, "python").frame)
    assert any("time budget" in w.message for w in res.warnings)


def test_relevance_keeps_only_rdp_logons_of_4624(tmp_path):
    """4624 is kept by the relevance filter only with LogonType 10 (the value is read from
    the JSON text before decoding on the Rust path, from the fields on the python path);
    4625 is kept whatever its type; a 4624 without LogonType is kept (cannot tell)."""
    from analyzer import knowledge
    from analyzer.sample.evtxwriter import Event, u32, write_evtx
    sec = "Microsoft-Windows-Security-Auditing"

    def ev(eid, data, n):
        return Event(provider=sec, event_id=eid, level=0, time=133485408000000000 + n,
                     channel="Security", computer="TS01", data=data)
    events = [ev(4624, [("TargetUserName", "svc"), ("LogonType", u32(3))], 1),
              ev(4624, [("TargetUserName", "alice"), ("LogonType", u32(10)),
                        ("IpAddress", "10.0.0.5")], 2),
              ev(4625, [("TargetUserName", "admin"), ("LogonType", u32(3))], 3),
              ev(4624, [("TargetUserName", "bob"), ("LogonType", "10")], 4),
              ev(4624, [("TargetUserName", "carol")], 5),
              ev(4634, [("TargetUserName", "alice"), ("LogonType", u32(10))], 6)]
    p = write_evtx(tmp_path / "Security.evtx", events)
    rel = knowledge.relevance()
    frames = []
    for backend in ("rust", "python"):
        res = evtx.parse(p, ParseOptions(evtx_backend=backend, relevance=rel))
        assert res.frame["record_id"].tolist() == [2, 3, 4, 5], backend
        assert res.stats["dropped"] == {f"{sec}/4624": 1, f"{sec}/4634": 1}, backend
        frames.append(res.frame)
    pd.testing.assert_frame_equal(*frames)
    row = frames[0].iloc[0]
    assert (row["user"], row["ip"]) == ("alice", "10.0.0.5")
    assert row["message"] == f"{sec} 4624: TargetUserName=alice, LogonType=10, IpAddress=10.0.0.5"


def test_relevance_keeps_scm_7036_of_remote_desktop_services_only(tmp_path):
    """SCM 7036 (state changes of every service: most of a busy System log) is kept only when
    its Binary names one of Remote Desktop's services (``TermService/1``, any case) — or is
    absent, or is not of that ``Name/N`` shape; same rows and counts with both backends.
    7031 stays whole whatever its Binary."""
    from analyzer import knowledge
    from analyzer.sample.evtxwriter import Event, write_evtx
    scm, guid = "Service Control Manager", "{555908d1-a6d7-4695-8e1e-26931d2012f4}"

    def ev(eid, disp, state, binary, n):
        return Event(provider=scm, provider_guid=guid, event_source_name=scm, event_id=eid,
                     qualifiers=16384, level=4, time=133485408000000000 + n, channel="System",
                     computer="TS01", data=[("param1", disp), ("param2", state)],
                     binary=None if binary is None else binary.encode("utf-16-le") + b"\0\0")
    events = [ev(7036, "Windows Update", "running", "wuauserv/4", 1),
              ev(7036, "Remotedesktopdienste", "beendet", "TermService/1", 2),
              ev(7036, "Remote Desktop Configuration", "running", "sessionenv/4", 3),
              ev(7036, "Terminal Services", "stopped", None, 4),
              ev(7036, "BITS", "running", "BITS/4", 5),
              ev(7036, "Odd", "running", "no state here", 6),
              ev(7031, "Windows Update", "1", "wuauserv", 7)]
    p = write_evtx(tmp_path / "System.evtx", events)
    rel = knowledge.relevance()
    frames = []
    for backend in ("rust", "python"):
        res = evtx.parse(p, ParseOptions(evtx_backend=backend, relevance=rel))
        assert res.frame["record_id"].tolist() == [2, 3, 4, 6, 7], backend
        assert res.stats["dropped"] == {f"{scm}/7036": 2}, backend
        frames.append(res.frame)
    pd.testing.assert_frame_equal(*frames)
    assert knowledge.scm_binary(json.loads(frames[0]["data"][0])["Binary"]) == ("TermService", 1)


def test_gate_caches_by_head_but_reads_the_channel_when_it_decides():
    """The Rust-path relevance gate caches its decision per record head (text up to the
    EventID); when only the channel table can keep an event, each record's own channel
    decides (a ForwardedEvents log mixes channels under one provider/id)."""
    from parsers.base import Relevance

    def rec(provider, eid, channel, extra=""):
        eid_json = eid if isinstance(eid, str) else str(eid)
        return ('{"Event":{"System":{"Provider":{"#attributes":{"Name":"%s"}},"EventID":%s,'
                '"Channel":"%s"},"EventData":{%s}}}' % (provider, eid_json, channel, extra))
    rel = Relevance(providers={"p": frozenset({1})},
                    channels={"rdp/operational": None},
                    values={("p", 1): ("LogonType", frozenset({"10"}))})
    part = evtx._Part()
    gate = evtx._Gate(rel, part)
    assert gate(rec("X", 7, "rdp/operational")) == 1
    assert gate(rec("X", 7, "Security")) == 0           # same head, other channel
    assert gate(rec("X", 7, "RDP/Operational")) == 1
    assert gate(rec("p", 1, "Security", '"LogonType":3')) == 0
    assert gate(rec("p", 1, "Security", '"LogonType":"10"')) == 1
    assert gate(rec("p", 1, "Security")) == 1                # no LogonType: kept
    assert gate(rec("p", '{"#attributes":{"Qualifiers":16384},"#text":1}', "S",
                    '"LogonType":3')) == 0
    assert gate('{"Event":{"System":{}}}') == -1              # unusual: decode, then decide
    assert dict(part.dropped) == {"X/7": 1, "p/1": 2}
    assert len(gate.heads) == 3
    # the same head again and again (the prefix + id fast path, the last-channel memo):
    # each record's channel still decides, whatever the previous one said
    decisions = [gate(rec("X", 7, ch, '"Channel":"rdp/operational"'))
                 for ch in ("Security", "Security", "rdp/operational", "Security",
                            "Securityx", "rdp/operational", "rdp/operational")]
    assert decisions == [0, 0, 1, 0, 0, 1, 1]
    # a longer key ending in the rule's name is not the rule's field
    assert gate(rec("p", 1, "S", '"TargetLogonType":10,"LogonType":3')) == 0
    assert gate(rec("p", 1, "S", '"TargetLogonType":3,"LogonType":10')) == 1
    assert gate(rec("p", 1, "S", '"TargetLogonType":3')) == 1   # no LogonType: kept
    assert gate(rec("p", 10, "S")) == 0 and gate(rec("p", 1, "S")) == 1  # id, not prefix
    assert dict(part.dropped) == {"X/7": 5, "p/1": 3, "p/10": 1}


@needs_rust
@pytest.mark.corpus
def test_parallel_workers_find_chunks_off_the_grid(corpus, monkeypatch, tmp_path):
    """512 bytes inserted after the second chunk push every later chunk off the 64 KiB
    grid: each worker scans its own byte range for them (the parent no longer reads the
    file), so the split parse recovers what the single pass does, and that is every record."""
    monkeypatch.setattr(evtx, "PARALLEL_MIN_CHUNKS", 0)
    src = corpus / "evtx/omer__security.evtx"
    raw = src.read_bytes()
    cut = evtx.HEADER_SIZE + 2 * evtx.CHUNK_SIZE
    shifted = tmp_path / "shifted.evtx"
    shifted.write_bytes(raw[:cut] + b"\x00" * 512 + raw[cut:])
    good = parsed(src, "rust").frame
    one = evtx.parse(shifted, ParseOptions(evtx_backend="rust"))
    two = evtx.parse(shifted, ParseOptions(evtx_backend="rust", workers=2))
    assert two.stats["workers"] == 2
    assert two.stats["chunks"] == one.stats["chunks"] == len(evtx.walk_chunks(raw, len(raw)).chunks)
    pd.testing.assert_frame_equal(one.frame, two.frame)
    pd.testing.assert_frame_equal(two.frame, good)


@pytest.mark.corpus
def test_share_view_reads_the_header_then_the_shares_chunks(corpus, tmp_path):
    """A worker's Rust reader reads its share through ``_ShareView``: the file header, then
    the share's on-grid chunks back to back (a skipped slot closes up), the last one short
    when the file ends inside it; seeks land where they would in that concatenation."""
    import io
    import mmap
    raw = (corpus / "evtx/omer__security.evtx").read_bytes()
    cut = tmp_path / "cut.evtx"
    cut.write_bytes(raw[:evtx.HEADER_SIZE + 5 * evtx.CHUNK_SIZE + 1000])   # ends in chunk 5
    with open(cut, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        offsets = [evtx.HEADER_SIZE + i * evtx.CHUNK_SIZE for i in (0, 2, 3, 5)]   # 1, 4 skipped
        want = raw[:evtx.HEADER_SIZE] + b"".join(bytes(buf[o:o + evtx.CHUNK_SIZE]) for o in offsets)
        assert len(want) == evtx.HEADER_SIZE + 3 * evtx.CHUNK_SIZE + 1000
        view = evtx._ShareView(buf, offsets)
        assert io.BufferedReader(view, 4096).read() == want
        for pos, n in ((0, 10), (evtx.HEADER_SIZE - 3, 9), (evtx.HEADER_SIZE + evtx.CHUNK_SIZE - 5, 70000),
                       (len(want) - 4, 100), (len(want) + 10, 5)):
            assert view.seek(pos) == pos
            assert view.read(n) == want[pos:pos + n]
        assert view.seek(-4, 2) == len(want) - 4 and view.read() == want[-4:]
        del view


def test_row_data_is_the_fields_then_the_system_extras():
    """``data`` appends the System extras (ActivityID, a re-exported EventRecordID ...) to
    the fields' JSON text; a field of the same name takes the extra's value in place, as a
    dict update would. The message reads the fields only."""
    cols = evtx._Columns()
    fields = {"TargetUserName": "bob", "LogonType": 10, "Path": "C:\\x"}
    cols.row("2024-01-01T00:00:00Z", "TS01", 1, "P", "Security", 4624, 0, 1, None, fields,
             {"ActivityID": "{A}", "EventRecordID": 7})
    cols.row("2024-01-01T00:00:00Z", "TS01", 2, "P", "Security", 4624, 0, 1, None, fields,
             {"LogonType": 3, "ActivityID": "{A}"})
    f = cols.frame()
    assert [json.loads(d) for d in f["data"]] == [
        {"TargetUserName": "bob", "LogonType": 10, "Path": "C:\\x", "ActivityID": "{A}",
         "EventRecordID": 7},
        {"TargetUserName": "bob", "LogonType": 3, "Path": "C:\\x", "ActivityID": "{A}"}]
    assert list(json.loads(f["data"][1])) == ["TargetUserName", "LogonType", "Path", "ActivityID"]
    assert list(f["message"]) == [r"P 4624: TargetUserName=bob, LogonType=10, Path=C:\x"] * 2


@needs_rust
@pytest.mark.corpus
def test_carved_chunks_across_a_share_boundary_read_the_same_with_any_worker_count(
        corpus, monkeypatch, tmp_path):
    """A carved chunk straddling the boundary between two workers' shares, and another
    carved chunk starting inside it: whether the inner one is read must not depend on who
    reads the region (found by review: the split walk read 89 records, the single one 61)."""
    monkeypatch.setattr(evtx, "PARALLEL_MIN_CHUNKS", 0)
    H, C = evtx.HEADER_SIZE, evtx.CHUNK_SIZE
    src = (corpus / "evtx/omer__security.evtx").read_bytes()
    b = bytearray(src[:H] + bytes(C * 200))
    boundary = H + 100 * C                       # the 2-worker cut
    b[boundary - 1000:boundary - 1000 + C] = src[H:H + C]
    b[boundary + 3000:boundary + 3000 + C] = src[H + C:H + 2 * C]
    f = tmp_path / "straddle.evtx"
    f.write_bytes(bytes(b))
    whole = evtx.walk_chunks(bytes(b), len(b))
    assert [c.offset for c in whole.chunks] == [boundary - 1000, boundary + 3000]
    ids = set(parsed(corpus / "evtx/omer__security.evtx", "rust").frame["record_id"])
    for backend in ("rust", "python"):
        one = evtx.parse(f, ParseOptions(evtx_backend=backend))
        two = evtx.parse(f, ParseOptions(evtx_backend=backend, workers=2))
        assert two.stats["workers"] == 2
        assert one.stats["chunks"] == two.stats["chunks"] == 2
        pd.testing.assert_frame_equal(one.frame, two.frame)
        assert len(one.frame) > 80 and set(one.frame["record_id"]) <= ids


def test_gate_decides_the_value_rule_as_the_decoded_fields_would():
    """The LogonType rule read from the text must agree with the decoded record: an empty
    value is dropped from the fields (so the logon is kept), whitespace is not; values the
    text reading cannot mirror (null, floats, booleans, escapes) go to decoding (-1)."""
    import orjson

    from parsers.base import Relevance
    rel = Relevance(providers={"p": frozenset({1})}, channels={},
                    values={("p", 1): ("LogonType", frozenset({"10"}))})
    gate = evtx._Gate(rel, evtx._Part())

    def decoded(s):
        rec = evtx._rec_from_json(1, orjson.loads(s))
        return int(evtx._keep(rel, evtx._Part(), rec.provider, rec.channel,
                              evtx._int(rec.event_id), rec.fields))

    seen = {}
    for value in ('""', '"  "', '"10"', '" 10 "', "10", "3", '"3"', "null", "10.5", "true",
                  '"1\\u0030"', "-10", '"x\\"y"'):
        s = ('{"Event":{"System":{"Provider":{"#attributes":{"Name":"p"}},"EventID":1,'
             '"Channel":"S"},"EventData":{"TargetLogonType":10,"LogonType":%s,"Z":1}}}' % value)
        g = gate(s)
        seen[value] = g
        assert g in (-1, decoded(s)), value
    assert seen['""'] == 1 and seen['"  "'] == 0 and seen["10"] == 1 and seen["3"] == 0
    assert seen["null"] == seen["10.5"] == seen["true"] == seen['"1\\u0030"'] == -1


def _reference_walk(buf: bytes, lo: int, hi: int) -> list[int]:
    """The chunk-walk rule spelled out over every byte: a chunk on the 64 KiB grid, or a
    chunk header off the grid whose slot holds no on-grid chunk (or inside the file header)."""
    H, C = evtx.HEADER_SIZE, evtx.CHUNK_SIZE
    size, rs = len(buf), evtx._RECORDS_START
    start = H if buf[:8] == evtx.FILE_MAGIC else 0
    grid = {o for o in range(start, min(hi, size), C)
            if o >= lo and o + rs <= size and buf[o:o + 8] == evtx.CHUNK_MAGIC}
    off = {p for p in range(lo, min(hi, size))
           if buf[p:p + 8] == evtx.CHUNK_MAGIC and (p - start) % C and p + rs <= size
           and struct.unpack_from("<I", buf, p + 40)[0] == 0x80
           and (p < start or p - (p - start) % C not in grid)}
    return sorted(grid | off)


@pytest.mark.parametrize("seed", range(6))
def test_chunk_walk_searches_only_unclaimed_slots_and_finds_what_a_full_scan_does(
        seed, monkeypatch):
    """The off-grid search skips slots that hold an on-grid chunk (a healthy log is no
    longer scanned byte by byte): on random layouts — chunks on and off the grid, chunk
    magics inside chunks, in the file header, in zeroed and garbage slots, across the scan
    windows and share cuts — it finds exactly the chunks the full scan's rule does."""
    import random
    rng = random.Random(seed)
    H, C = evtx.HEADER_SIZE, evtx.CHUNK_SIZE
    monkeypatch.setattr(evtx, "_SCAN_WINDOW", 3 * C + 4321)   # windows cut through slots

    def head() -> bytes:
        h = bytearray(evtx.CHUNK_MAGIC + bytes(0x200 - 8))
        struct.pack_into("<I", h, 40, 0x80 if rng.random() < 0.85 else 0x81)
        return bytes(h)

    n_slots = 14
    buf = bytearray((evtx.FILE_MAGIC if seed % 3 else b"") + bytes(H - 8 if seed % 3 else 0)
                    + bytes(n_slots * C + rng.randrange(0, C)))
    start = H if seed % 3 else 0
    for i in range(n_slots):
        o = start + i * C
        kind = rng.choice(("chunk", "chunk", "zeros", "garbage"))
        if kind == "chunk":
            buf[o:o + 0x200] = head()
        elif kind == "garbage":
            buf[o:o + C] = rng.randbytes(C)
        for _ in range(rng.randrange(0, 3)):      # magics inside the slot, off the grid
            p = o + rng.randrange(1, C - 0x200)
            buf[p:p + 0x200] = head()
    if start:
        p = rng.randrange(8, H - 0x200)             # a chunk header inside the file header
        buf[p:p + 0x200] = head()
    buf[-0x100:-0x100 + 8] = evtx.CHUNK_MAGIC       # too close to the end to be a chunk
    buf = bytes(buf)
    size = len(buf)
    assert [c.offset for c in evtx.walk_chunks(buf, size).chunks] == _reference_walk(buf, 0, size)
    cut = start + rng.randrange(1, n_slots) * C
    for lo, hi in ((0, cut), (cut, size)):
        assert [c.offset for c in evtx.walk_chunks(buf, size, lo, hi).chunks] \
            == _reference_walk(buf, lo, hi), (lo, hi)


@pytest.mark.corpus
@pytest.mark.parametrize("backend", ["rust", "python"])
def test_relevance_filter_does_not_invent_record_id_gaps(corpus, backend):
    """With the relevance filter the kept rows' ids have gaps by design; the file's gaps are
    those of every record read (kept or dropped) — they were computed over the kept rows,
    so a filtered parse of an intact log reported thousands of missing records."""
    from analyzer import knowledge
    if backend == "python" and not evtx.python_available():
        pytest.skip("python-evtx not installed")
    if backend == "rust" and not evtx.rust_available():
        pytest.skip("evtx (Rust) not installed")
    for name in ("omer__2-vss_7-System.evtx", "omer__Security_with_size_t.evtx"):
        path = corpus / "evtx" / name
        full = evtx.parse(path, ParseOptions(evtx_backend=backend))
        rel = evtx.parse(path, ParseOptions(evtx_backend=backend,
                                            relevance=knowledge.relevance()))
        assert sum(rel.stats["dropped"].values()) > 300 and len(rel.frame) < len(full.frame) / 4
        assert rel.stats["record_id_gap_count"] == full.stats["record_id_gap_count"], name
        assert rel.stats["record_id_gaps"] == full.stats["record_id_gaps"], name


@pytest.mark.timeout(60)
def test_a_string_chain_that_points_back_at_itself_does_not_hang_the_fallback():
    """python-evtx follows a chunk's string table with `while ofs > 0`: a damaged entry whose
    next-offset is its own offset looped forever inside the python-evtx fallback (found by
    the fuzz test). The chains are walked once, each offset once, before python-evtx can."""
    import struct as S

    buf = bytearray(0x10000)
    buf[0:8] = b"ElfChnk\x00"
    S.pack_into("<I", buf, 0x80, 0x300)                 # string bucket 0 → 0x300
    S.pack_into("<IHH", buf, 0x300, 0x300, 0, 1)        # next = itself, hash, 1 character
    buf[0x308:0x30C] = "A\0".encode("utf-16-le")
    S.pack_into("<I", buf, 0x84, 0x400)                 # bucket 1: 0x400 → 0x480 → 0x400
    S.pack_into("<IHH", buf, 0x400, 0x480, 0, 1)
    buf[0x408:0x40C] = "B\0".encode("utf-16-le")
    S.pack_into("<IHH", buf, 0x480, 0x400, 0, 1)
    buf[0x488:0x48C] = "C\0".encode("utf-16-le")
    h = evtx._PyChunk(bytes(buf), 0).hdr()
    assert sorted(h.strings()) == [0x300, 0x400, 0x480]
    assert h.strings()[0x480].string() == "C"
    # a chain starting outside the chunk leaves the table empty: python-evtx's own walk must
    # not run again on it (it did, and looped)
    S.pack_into("<I", buf, 0x80, 0x20000)
    S.pack_into("<I", buf, 0x84, 0)
    h = evtx._PyChunk(bytes(buf), 0).hdr()
    assert h.strings() == {} and h.templates() == {}


def test_pool_workers_tune_their_own_garbage_collector_only():
    """Parse workers are rdpdoctor's own processes: their collector skips what they
    inherited and runs less often (≈ 7 % of a million-record parse); the parent's — a
    notebook's interpreter — is left as it was."""
    import gc

    from parsers.base import WORKER_GC_THRESHOLD, process_pool

    before = gc.get_threshold()
    with process_pool(1) as ex:
        threshold, frozen = ex.submit(_gc_state).result()
    assert threshold == WORKER_GC_THRESHOLD
    assert frozen > 0
    assert gc.get_threshold() == before


def _gc_state():
    import gc

    return gc.get_threshold(), gc.get_freeze_count()


def test_the_file_host_is_the_most_common_name_and_the_least_on_a_tie():
    """``_host_mode`` (Arrow) gives what ``Series.dropna().mode().iloc[0]`` gave."""
    import pyarrow as pa
    from hypothesis import given, settings
    from hypothesis import strategies as st

    assert evtx._host_mode(pa.chunked_array([["SRV2", "SRV1", None, "SRV2", "SRV1"]],
                                            pa.large_string())) == "SRV1"
    assert evtx._host_mode(pa.chunked_array([[None, None]], pa.large_string())) is None
    assert evtx._host_mode(None) is None

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.lists(st.one_of(st.none(), st.sampled_from(
        ["A", "B", "b", "DC01", "dc01", "Ä", "€", "😀", ""])), max_size=6), min_size=1,
        max_size=4))
    def check(chunks):
        arr = pa.chunked_array([pa.array(c, pa.large_string()) for c in chunks],
                               pa.large_string())
        s = pd.Series(arr.to_pylist(), dtype="string").dropna()
        assert evtx._host_mode(arr) == (s.mode().iloc[0] if len(s) else None)

    check()


def test_the_frame_is_what_the_public_constructor_builds(corpus):
    """``_frame_of`` (``DataFrame._from_arrays``, no per-column checks) against
    ``pd.DataFrame(dict)``: the same columns, dtypes, values and index, on a real log."""
    path = next(p for p in corpus_files("evtx", "*.evtx") if "deepblue" in p.name)
    frame = evtx.parse(path, ParseOptions(evtx_backend="rust")).frame
    cols = {c: frame[c].array for c in frame.columns}
    fast = evtx._frame_of(cols, len(frame))
    public = pd.DataFrame(cols, index=pd.RangeIndex(len(frame)))
    pd.testing.assert_frame_equal(fast, public)
    assert list(fast.dtypes) == [pd.api.types.pandas_dtype(t) for t in TIMELINE_DTYPES.values()]
    # (pandas still has the fast route; without it _frame_of builds through the public one)
    assert hasattr(pd.DataFrame, "_from_arrays")


def test_an_empty_frame_is_a_new_frame_each_time():
    """``empty_frame`` hands out copies of one frame built once: what a caller does to
    its copy (a column added, dropped, its dtype changed) is not in the next one."""
    from parsers.base import empty_frame
    a = empty_frame()
    a["host"] = a["host"].astype(object)
    a["extra"] = pd.Series([], dtype="int64")
    del a["kind"]
    b = empty_frame()
    assert len(b) == 0 and list(b.columns) == list(TIMELINE_DTYPES)
    assert {c: str(t) for c, t in b.dtypes.items()} == \
        {c: str(pd.api.types.pandas_dtype(t)) for c, t in TIMELINE_DTYPES.items()}


def _utf16_as_rust(b: bytes) -> str:
    """What the Rust reader (evtx 0.14) makes of UTF-16LE bytes, written out unit by unit:
    surrogate pairs combine, a lone surrogate is left out, an odd last byte is U+FFFD."""
    units = [int.from_bytes(b[i:i + 2], "little") for i in range(0, len(b) - 1, 2)]
    out, i = [], 0
    while i < len(units):
        u = units[i]
        if 0xD800 <= u < 0xDC00 and i + 1 < len(units) and 0xDC00 <= units[i + 1] < 0xE000:
            out.append(chr(0x10000 + ((u - 0xD800) << 10) + units[i + 1] - 0xDC00))
            i += 2
            continue
        if not 0xD800 <= u < 0xE000:
            out.append(chr(u))
        i += 1
    return "".join(out) + ("\ufffd" if len(b) % 2 else "")


def test_utf16_values_decode_as_the_rust_reader_does_an_odd_last_byte_included():
    """Our reader's UTF-16 values (``_u16``, ``_value`` type 0x01, the string case inlined
    in ``_substitutions``) are what the Rust reader makes of them: a lone surrogate is left
    out (the Rust reader drops it; the same record must give the same row whichever reader
    reads it), a value cut to an odd length keeps its last byte as U+FFFD (a bare
    ``codecs.utf_16_le_decode`` call, ``final=False``, drops it), trailing NULs go."""
    from types import SimpleNamespace

    from hypothesis import given, settings
    from hypothesis import strategies as st

    assert evtx._u16(b"a\x00b") == "a\ufffd"
    assert evtx._u16(bytes.fromhex("e4d94c01")) == "\u014c"       # corpus: System2 #216
    assert evtx._u16(bytes.fromhex("00d800dc")) == "\U00010000"
    assert evtx._value(b"R\x00D\x00P\x00\x00\x00", 0x01) == "RDP"

    def subs_of(values: list[bytes]) -> list:
        """A substitution array of these UTF-16 values, read by ``_substitutions``."""
        head = struct.pack("<I", len(values)) + b"".join(
            struct.pack("<HH", len(v), 0x01) for v in values)
        buf = head + b"".join(values)
        got, nested = evtx._substitutions(SimpleNamespace(buf=buf), 0, len(buf))
        assert not nested
        return got

    assert subs_of([b"S\x00R\x00V\x00", b"x", b"\x00\xdcA\x00"]) == ["SRV", "\ufffd", "A"]

    @settings(max_examples=400, deadline=None)
    @given(st.lists(st.binary(max_size=12) | st.text(max_size=5).map(
        lambda s: s.encode("utf-16-le", "surrogatepass")), max_size=5))
    def check(values):
        want = [_utf16_as_rust(v).rstrip("\x00") for v in values]
        assert [evtx._value(v, 0x01) for v in values] == want
        assert subs_of(values) == want

    check()
