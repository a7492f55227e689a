"""The analysis must not copy the big timeline behind the detectors' backs.

Parsers build the text columns of a big event log as chunked Arrow arrays (one chunk per
batch of records); pyarrow's own ``take`` concatenates every chunk before picking rows, so
one careless row selection costs a full copy of ``data``. These tests pin the behaviour the
memory savings rely on — results identical to plain pandas selection on chunked columns,
no copy of a one-host timeline, configuration computed from its own rows only — without
measuring memory (which would flake).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import analyzer
from _detector_kit import ev, timeline
from analyzer import config as C
from analyzer import knowledge
from analyzer import timeline as tl
from analyzer.detectors import REGISTRY, Context
from analyzer.engine import _config_input, analyze_bundle

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"


def rechunk(df: pd.DataFrame, size: int = 3) -> pd.DataFrame:
    """``df`` with every Arrow-backed column cut into chunks of ``size`` rows (as a parser
    writing record batches leaves them)."""
    out = df.copy()
    for c in df.columns:
        arr = getattr(df[c].array, "_pa_array", None)
        if arr is None or len(arr) <= size:
            continue
        flat = arr.combine_chunks()
        chunks = [flat.slice(i, size) for i in range(0, len(flat), size)]
        out[c] = pd.Series(type(df[c].array)(pa.chunked_array(chunks, type=arr.type)),
                           index=df.index, name=c)
    return out


def _chunks(s: pd.Series) -> int:
    return s.array._pa_array.num_chunks


@pytest.fixture(scope="module")
def brute():
    return analyzer.load(SAMPLES / "rdp-brute-force.zip")


def test_rechunk_really_chunks(brute):
    t = rechunk(brute.timeline)
    assert _chunks(t["data"]) > 10
    pd.testing.assert_frame_equal(t, brute.timeline)


@pytest.mark.parametrize("n", [0, 1, 2, 7, 50, "all"])
def test_take_matches_iloc_on_chunked_columns(brute, n):
    t = rechunk(brute.timeline)
    rng = np.random.default_rng(7)
    pos = np.arange(len(t)) if n == "all" else np.sort(rng.choice(len(t), n, replace=False))
    got = tl.take(t, pos)
    pd.testing.assert_frame_equal(got, t.iloc[pos])
    assert list(got.dtypes) == list(t.dtypes)
    if len(pos) > 3:                           # cut per chunk, not concatenated first
        assert _chunks(got["data"]) > 1


def test_take_keeps_any_order_it_is_given(brute):
    t = rechunk(brute.timeline)
    pos = np.array([9, 2, 5, 2])
    pd.testing.assert_frame_equal(tl.take(t, pos), t.iloc[pos])


def test_group_positions_matches_groupby(brute):
    t = brute.timeline
    for col in ("event_type", "host", "locator"):
        key = t[col].astype("string").fillna("").to_numpy()
        want = pd.Series(key).groupby(key, sort=False).indices
        got = tl.group_positions(t[col])
        assert set(got) == set(want)
        for k, v in want.items():
            assert np.array_equal(got[k], v)


def test_group_positions_key_merges_groups_in_row_order():
    s = pd.Series(["ts01", "TS02", None, "TS01", "ts02"], dtype="category")
    got = tl.group_positions(s, key=str.upper)
    assert {k: v.tolist() for k, v in got.items()} == {"TS01": [0, 3], "TS02": [1, 4], "": [2]}
    assert tl.distinct(s) == {"ts01", "TS02", "TS01", "ts02"}


def test_context_selections_on_chunked_timeline_equal_masks(brute):
    t = rechunk(brute.timeline)
    ctx = Context.build(brute.hosts[0], t, filtered=True)
    et = t["event_type"].astype("string")
    for types in [("sec:logon:failure",), ("sec:logon:failure", "sec:logon:success"),
                  ("no:such-type",)]:
        want = t[et.isin(types).fillna(False)]
        pd.testing.assert_frame_equal(ctx.etype(*types), want)
        pos = ctx.positions(*types)
        pd.testing.assert_frame_equal(ctx.take(pos), want)
        pd.testing.assert_series_equal(ctx.column("data", pos), want["data"])
    want = t[et.str.startswith("sec:").fillna(False)]
    pd.testing.assert_frame_equal(ctx.rows("sec:"), want)
    pd.testing.assert_frame_equal(ctx.take(ctx.positions(prefixes=("sec:",))), want)
    pd.testing.assert_frame_equal(tl.by_prefix(t, "sec:"), want)
    fails = ctx.positions("sec:logon:failure")
    lengths = ctx.column_map("data", fails, lambda d: d.str.len().to_numpy(), chunk=5)
    assert lengths.tolist() == want.loc[et[et == "sec:logon:failure"].index, "data"].str.len().tolist()


def test_one_host_context_is_the_timeline_itself(brute):
    seen = []
    det = REGISTRY["rdp-brute-force"]
    orig = det.func
    det.func = lambda ctx: seen.append(ctx.timeline) or orig(ctx)
    try:
        analyze_bundle(brute)
    finally:
        det.func = orig
    assert seen and seen[0] is brute.timeline


def test_multi_host_contexts_hold_only_their_rows():
    rows = [ev(i, "sec", 4625, host=h, data={"LogonType": 10, "IpAddress": "203.0.113.9"})
            for i in range(6) for h in ("TS01", "TS02")]
    t = rechunk(timeline(rows), 2)
    for h in ("TS01", "TS02", "ts02"):
        ctx = Context.build(h, t)
        assert len(ctx.timeline) == 6
        assert set(ctx.timeline["host"].astype(str)) == {h.upper()}
    assert len(Context.build("TS03", t).timeline) == 0


@pytest.mark.parametrize("name", ["policy-overrides-local.zip", "fips-overrides-encryption.zip",
                                  "healthy-2003.zip", "rdp-brute-force.zip"])
def test_config_from_its_own_rows_equals_config_from_the_whole_bundle(name):
    b = analyzer.load(SAMPLES / name)
    whole = C.effective_config(b)
    part = C.effective_config(_config_input(b))
    pd.testing.assert_frame_equal(part, whole)
    assert len(_config_input(b).timeline) < len(b.timeline)


@pytest.mark.parametrize("name", ["rdp-brute-force.zip", "user-not-authorized.zip",
                                  "host-sleeps.zip", "protocol-error-burst.zip",
                                  "port-conflict.zip", "noisy-but-fine.zip"])
def test_report_on_a_chunked_timeline_is_the_same(name):
    b = analyzer.load(SAMPLES / name)
    want = analyze_bundle(b).to_json()
    b2 = analyzer.load(SAMPLES / name)
    b2.timeline = rechunk(b2.timeline, 4)
    assert analyze_bundle(b2).to_json() == want


def _reference_concat(parts):
    """What concat did before it avoided copies: pandas' stable sort on (time, part order)."""
    df = pd.concat([p.astype({c: tl.TIMELINE_DTYPES[c] for c in tl.CATEGORICAL}) for p in parts],
                   ignore_index=True)
    df["_order"] = range(len(df))
    df = df.sort_values(["time", "_order"], kind="stable", na_position="first")
    df = df.drop(columns="_order").reset_index(drop=True)
    return df.astype({c: "category" for c in tl.CATEGORICAL})


def test_concat_sorts_stably_with_missing_times_first_on_chunked_parts(brute):
    plain = brute.timeline.astype({c: tl.TIMELINE_DTYPES[c] for c in tl.CATEGORICAL})
    parts = [rechunk(g.reset_index(drop=True), 2)
             for _, g in plain.groupby(plain["source"].astype(str), sort=False)][::-1]
    nat = parts[0].iloc[:3].copy()
    nat["time"] = pd.Series(pd.NaT, index=nat.index, dtype=tl.TIME_DTYPE)
    parts.append(nat)
    got = tl.concat(parts)
    pd.testing.assert_frame_equal(got, _reference_concat(parts))
    t = got["time"]
    first = int(t.notna().to_numpy().argmax())
    assert first >= 3 and t.iloc[:first].isna().all()
    assert t.iloc[first:].notna().all() and t.iloc[first:].is_monotonic_increasing


def test_concat_of_ordered_rows_shares_the_text_columns(brute):
    part = brute.timeline.astype({c: tl.TIMELINE_DTYPES[c] for c in tl.CATEGORICAL})
    got = tl.concat([part])
    assert got["data"].array._pa_array.chunks[0].buffers()[2].address == \
        part["data"].array._pa_array.chunks[0].buffers()[2].address


def test_finalize_part_fills_only_missing_event_types_per_provider_and_id():
    raw = pd.DataFrame({
        "provider": ["TermDD", None, "TermDD", "Microsoft-Windows-Security-Auditing", "TermDD"],
        "event_id": pd.array([56, 4625, None, 4625, 56], dtype="Int32"),
        "event_type": ["x:given", None, None, None, None],
        "host": [None, "ab", "Ab", None, "ts02"]})
    got = tl.finalize_part(raw, source="s.evtx", host="ts01")
    want = [knowledge.event_type_for(p, e) for p, e in
            [(None, 4625), ("TermDD", None), ("Microsoft-Windows-Security-Auditing", 4625),
             ("TermDD", 56)]]
    assert got["event_type"].tolist() == ["x:given"] + want
    assert want[2] != want[3]
    assert got["host"].tolist() == ["TS01", "AB", "AB", "TS01", "TS02"]
    assert got["source"].tolist() == ["s.evtx"] * 5
    # parts come out categorised; concat unites the categories as if they were strings
    other = tl.finalize_part(raw.assign(event_type=None), source="t.evtx", host=None)
    assert all(isinstance(other[c].dtype, pd.CategoricalDtype) for c in ("source", "host", "event_type"))
    both = tl.concat([got, other])
    pd.testing.assert_frame_equal(both, _reference_concat(
        [got.astype({c: tl.TIMELINE_DTYPES[c] for c in tl.CATEGORICAL}),
         other.astype({c: tl.TIMELINE_DTYPES[c] for c in tl.CATEGORICAL})]))
    assert list(both["source"].cat.categories) == ["s.evtx", "t.evtx"]


def _pool_around_cli(env_pool: str | None) -> tuple[str, str]:
    """(default pool backend before, after) ``rdpdoctor detectors`` in a fresh interpreter."""
    import os
    import subprocess
    import sys
    code = ("import pyarrow as pa\nfrom analyzer.cli import main\n"
            "before = pa.default_memory_pool().backend_name\n"
            "try:\n    main(['detectors'])\nexcept SystemExit:\n    pass\n"
            "print(before, pa.default_memory_pool().backend_name)")
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if env_pool:
        env["ARROW_DEFAULT_MEMORY_POOL"] = env_pool
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1]).stdout
    before, after = out.strip().splitlines()[-1].split()
    return before, after


def test_cli_uses_the_c_allocator_unless_told_otherwise():
    """pyarrow's default pool keeps freed memory resident (≈ 30 MB more peak RSS for a
    million-record analyze): the CLI switches to the system allocator, but an explicit
    ARROW_DEFAULT_MEMORY_POOL is the user's choice."""
    before, after = _pool_around_cli(None)
    assert after == "system"
    if before == "system":
        pytest.skip("this pyarrow build's default pool is already the system allocator")
    before, after = _pool_around_cli(before)      # e.g. mimalloc, asked for explicitly
    assert after == before != "system"


class _NoWholeMask(pd.DataFrame):
    """A frame that refuses boolean indexing of all its rows (what copied a million-row
    timeline's Arrow strings: pandas filters a chunked column by concatenating it)."""

    @property
    def _constructor(self):
        return pd.DataFrame

    def __getitem__(self, key):
        if getattr(key, "dtype", None) == bool and len(key) == len(self):
            raise AssertionError("boolean indexing of the whole frame")
        return super().__getitem__(key)


def test_rename_events_selects_by_position_not_by_a_whole_frame_mask(brute):
    """Looking for EventLog 6011 (host renames) filtered the whole timeline with a boolean
    mask: 0.4 s and 370 MiB per million rows even when nothing matched, which took `analyze`
    of the full million-record timeline past the 1.5 GB bound (1,558 MiB; benchmark)."""
    from analyzer.bundle import rename_events
    t = rechunk(brute.timeline)
    assert rename_events([_NoWholeMask(t)]) == {}
    renamed = t.iloc[:3].copy()
    renamed["event_id"] = pd.array([6011, 1, 2], dtype="Int32")
    renamed["provider"] = pd.array(["EventLog"] * 3, dtype="string")
    renamed["data"] = pd.array(['{"param1":"MINWINPC","param2":"TS01"}', "{}", "{}"],
                               dtype="string")
    assert rename_events([_NoWholeMask(pd.concat([t, renamed], ignore_index=True))]) \
        == {"MINWINPC": "TS01"}
