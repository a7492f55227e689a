"""The normalized timeline: one pandas DataFrame for every artifact of a bundle.

The column contract (names, dtypes, meanings, ``event_type`` conventions) is defined once, in
:mod:`parsers.base` (so parsers stay leaf modules), and re-exported here. This module owns
what happens after parsing: stamping source/host, filling ``event_type`` from the knowledge
tables, categorical dtypes for repeated strings, concatenation and sorting, and small
helpers for notebooks and detectors.

>>> import analyzer
>>> b = analyzer.load("sample_data/port-conflict.zip")          # doctest: +SKIP
>>> tl = b.timeline
>>> tl[tl.event_type.str.startswith("rdp:lsm:")]                 # doctest: +SKIP
>>> analyzer.timeline.fields(tl[tl.event_id == 4625], "LogonType", "IpAddress")  # doctest: +SKIP
"""
from __future__ import annotations

from typing import Callable, Hashable, Iterable

import numpy as np
import orjson
import pandas as pd
from pandas.api.types import union_categoricals

from parsers.base import (TIME_DTYPE, TIMELINE_COLUMNS, TIMELINE_DTYPES, conform,  # noqa: F401
                          empty_frame)

from . import knowledge

#: Columns stored as categoricals in the final timeline (few distinct values, many rows).
CATEGORICAL = ("host", "kind", "event_type", "provider", "channel", "source")


def finalize_part(df: pd.DataFrame, *, source: str, host: str | None) -> pd.DataFrame:
    """Conform one parser's frame: set ``source``, default ``host``, fill ``event_type``.

    Those three come out as categoricals (:func:`concat` unites the categories of all
    parts): one code per row instead of one string per row. The work is done on the few
    distinct values (hosts, (provider, event id) pairs), never row by row in Python.
    """
    df = conform(df)
    n = len(df)
    if n == 0:
        return df
    df["source"] = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8),
                                             categories=pd.Index([source], dtype=df["source"].dtype))
    h = df["host"].fillna(host.upper()) if host else df["host"]
    df["host"] = _per_distinct(h, lambda u: u.str.upper())
    missing = df["event_type"].isna().to_numpy(dtype=bool)
    if missing.all():
        df["event_type"] = _event_types(df["provider"], df["event_id"])
    elif missing.any():
        pos = np.nonzero(missing)[0]
        filled = _event_types(take_series(df["provider"], pos), df["event_id"].iloc[pos])
        df.loc[missing, "event_type"] = np.asarray(filled, dtype=object)
    return df


def _event_types(provider: pd.Series, event_id: pd.Series) -> pd.Categorical:
    """``knowledge.event_type_for`` of every (provider, event id) row, looked up once per
    distinct pair."""
    pcodes, provs = pd.factorize(provider, use_na_sentinel=True)
    ecodes, eids = pd.factorize(event_id, use_na_sentinel=True)
    width = len(eids) + 1
    # factorize (hashing) rather than np.unique (sorting): ~10x faster on a million rows
    inverse, keys = pd.factorize((pcodes.astype(np.int64) + 1) * width + (ecodes + 1))
    names = [knowledge.event_type_for(None if k // width == 0 else provs[k // width - 1],
                                      None if k % width == 0 else int(eids[k % width - 1]))
             for k in keys.tolist()]
    codes, cats = pd.factorize(pd.Series(names, dtype=TIMELINE_DTYPES["event_type"]))
    return pd.Categorical.from_codes(codes[inverse.reshape(-1)], categories=pd.Index(cats))


def _per_distinct(s: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Categorical:
    """``fn`` (a vectorised Series → Series of the same dtype) applied to the distinct values
    of ``s`` only, as a categorical over its rows (missing values stay missing)."""
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    mapped = fn(pd.Series(uniq, dtype=s.dtype)).astype(s.dtype)
    mcodes, cats = pd.factorize(mapped, use_na_sentinel=True)
    rows = np.where(codes >= 0, np.append(mcodes, -1)[codes], -1)
    return pd.Categorical.from_codes(rows, categories=pd.Index(cats))


def concat(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate conformed parts, sort by (time, source, record/line order), categorise.

    Categorical columns are united category-wise (no string per row is built). The sort is
    stable on time, missing times first; when the rows are in order already — one event log
    — nothing is copied, else each column is reordered a block of rows at a time (a chunked
    text column is never concatenated whole first).
    """
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_frame()
    columns = list(parts[0].columns)
    united = {c: union_categoricals([p[c].array for p in parts], sort_categories=True)
              for c in CATEGORICAL
              if all(isinstance(p[c].dtype, pd.CategoricalDtype) for p in parts)}
    # categoricals of different categories would upcast to object: concat plain, then cast
    parts = [p.drop(columns=list(united)).astype(
        {c: TIMELINE_DTYPES[c] for c in CATEGORICAL if c not in united
         and isinstance(p[c].dtype, pd.CategoricalDtype)}) for p in parts]
    df = pd.concat(parts, ignore_index=True)
    del parts
    for c in united:
        df[c] = united[c]
    df = df[columns]
    for c in CATEGORICAL:
        if c not in united:
            df[c] = df[c].astype("category")
    # stable on time, missing times first: ties keep part and record order, as before
    order = df["time"].sort_values(kind="stable", na_position="first").index.to_numpy()
    if (order != np.arange(len(order))).any():
        for c in df.columns:        # one column at a time: the old one goes as the new comes
            df[c] = _gather(df[c], order).array
    return df.reset_index(drop=True)


def _gather(s: pd.Series, order: np.ndarray, block: int = 1 << 16) -> pd.Series:
    """``s`` reordered by the permutation ``order``, with a fresh index. Chunked Arrow
    columns a block of rows at a time (pyarrow's own take would first concatenate every
    chunk: one more copy of the column)."""
    chunked = getattr(s.array, "_pa_array", None)
    if chunked is None or chunked.num_chunks < 2:
        return pd.Series(s.array.take(order), name=s.name)
    import pyarrow as pa

    out = []
    for i in range(0, len(order), block):
        want = order[i:i + block]
        by_pos = np.argsort(want, kind="stable")
        pieces = _chunk_take(chunked, want[by_pos])
        flat = pa.concat_arrays(pieces) if len(pieces) > 1 else pieces[0]
        back = np.empty_like(by_pos)
        back[by_pos] = np.arange(len(by_pos))
        out.append(flat.take(pa.array(back)))
    return pd.Series(type(s.array)(pa.chunked_array(out, type=chunked.type)), name=s.name)


def fields(df: pd.DataFrame, *names: str) -> pd.DataFrame:
    """Decode the ``data`` JSON of ``df``'s rows into columns ``names`` (index preserved).

    Meant for the small subsets detectors and notebooks look at; the whole timeline's
    ``data`` stays one compact JSON string per row.
    """
    decoded = data_dicts(df)
    out = {n: [d.get(n) for d in decoded] for n in names} if names else None
    if out is None:
        return pd.DataFrame(decoded, index=df.index)
    return pd.DataFrame(out, index=df.index)


def data_dicts(df: pd.DataFrame) -> list[dict]:
    """The ``data`` dicts of ``df``'s rows, in order (no per-row Series, unlike iterrows)."""
    return [orjson.loads(s) if isinstance(s, str) else {} for s in df["data"].tolist()]


def data_of(row) -> dict:
    """The ``data`` dict of one row (a Series or namedtuple)."""
    s = row["data"] if isinstance(row, pd.Series) else getattr(row, "data")
    return orjson.loads(s) if isinstance(s, str) else {}


def by_prefix(df: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """Rows whose event_type starts with ``prefix`` (``"rdp:"``, ``"sec:logon"``...)."""
    groups = group_positions(df["event_type"])
    return df.iloc[union_positions([v for k, v in groups.items() if k.startswith(prefix)])]


def take(df: pd.DataFrame, positions) -> pd.DataFrame:
    """``df.iloc[positions]`` — rows at ascending ``positions`` — without copying whole columns.

    pyarrow's ``take`` on a chunked array (parsers build the big text columns in batches)
    first concatenates every chunk: picking a thousand rows out of a million-record Security
    log copied its whole ``data`` column, a few hundred MB, for the moment of the call. Here
    chunked columns are cut chunk by chunk instead; other columns go through ``iloc``.
    """
    positions = np.asarray(positions, dtype=np.int64)
    if len(positions) > 1 and (np.diff(positions) < 0).any():
        return df.iloc[positions]
    cols = {name: take_series(df[name], positions) for name in df.columns}
    out = pd.DataFrame(cols, index=df.index[positions], columns=df.columns, copy=False)
    out.attrs = dict(df.attrs)
    return out


def take_series(s: pd.Series, positions) -> pd.Series:
    """``s.iloc[positions]`` for ascending ``positions``, chunk by chunk (see :func:`take`)."""
    chunked = getattr(s.array, "_pa_array", None)
    if chunked is None or chunked.num_chunks < 2:
        return s.iloc[positions]
    import pyarrow as pa

    positions = np.asarray(positions, dtype=np.int64)
    arr = type(s.array)(pa.chunked_array(_chunk_take(chunked, positions), type=chunked.type))
    return pd.Series(arr, index=s.index[positions], name=s.name, copy=False)


def _chunk_take(chunked, positions: np.ndarray) -> list:
    """The rows of a chunked Arrow array at ascending ``positions``, taken chunk by chunk
    (one piece per chunk that has any): never a concatenation of the whole column."""
    import pyarrow as pa

    starts = np.concatenate([[0], np.cumsum([len(c) for c in chunked.chunks])])
    cuts = np.searchsorted(positions, starts)
    return [chunk.take(pa.array(positions[lo:hi] - start))
            for chunk, start, lo, hi in zip(chunked.chunks, starts, cuts[:-1], cuts[1:])
            if hi > lo]


def union_positions(parts: list[np.ndarray]) -> np.ndarray:
    """The ascending union of disjoint ascending position arrays (groups of
    :func:`group_positions`); empty when there are none."""
    if not parts:
        return np.empty(0, dtype=np.int64)
    return np.sort(np.concatenate(parts)) if len(parts) > 1 else parts[0]


def group_positions(s: pd.Series, key: Callable[[str], Hashable] | None = None,
                    na: Hashable = "") -> dict[Hashable, np.ndarray]:
    """Row positions (ascending) of each distinct value of ``s``: ``{value: positions}``.

    ``key`` maps a value to the group it belongs to (``str.upper``...); missing values go to
    ``na``. Meant for the repeated-string columns (categoricals in the timeline): only the
    integer codes are touched, so no per-row string is built — on a million-row timeline
    that is the difference between a few MB and a few hundred.
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy()
        labels = list(s.cat.categories)
    else:
        codes, uniq = pd.factorize(s, use_na_sentinel=True)
        labels = list(uniq)
    codes = np.asarray(codes, dtype=np.int64)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(-1, len(labels) + 1), side="left")
    out: dict[Hashable, list[np.ndarray]] = {}
    for code in range(-1, len(labels)):
        lo, hi = bounds[code + 1], bounds[code + 2]
        if lo == hi:
            continue
        if code < 0:
            k = na
        else:
            k = key(labels[code]) if key is not None else labels[code]
        out.setdefault(k, []).append(order[lo:hi])
    return {k: union_positions(v) for k, v in out.items()}


def distinct(s: pd.Series) -> set:
    """The distinct non-missing values of ``s`` (read from the categories when categorical)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        used = np.flatnonzero(np.bincount(s.cat.codes.to_numpy().astype(np.int64) + 1)) - 1
        cats = s.cat.categories
        return {cats[c] for c in used if c >= 0}
    return set(s.dropna().unique())


def excerpt(row, limit: int = 300) -> str:
    """A one-line excerpt of a row for evidence and reports."""
    msg = row.get("message") if isinstance(row, (dict, pd.Series)) else getattr(row, "message", None)
    if msg is None or (not isinstance(msg, str)) or not msg:
        d = row.get("data") if isinstance(row, (dict, pd.Series)) else getattr(row, "data", None)
        msg = d if isinstance(d, str) else ""
    msg = " ".join(str(msg).split())
    return msg if len(msg) <= limit else msg[: limit - 1] + "…"


def use_system_allocator() -> str:
    """Make the C allocator pyarrow's default pool for this process and its future children
    (what the CLI and batch workers do; a notebook keeps its own choice unless it calls
    this). pyarrow's default (mimalloc) keeps freed memory resident: ``rdpdoctor analyze``
    of a million-record Security log peaked at 385,652 KB with it, 353,460 KB without.
    An explicit ``ARROW_DEFAULT_MEMORY_POOL`` in the environment wins. Returns the backend
    in use."""
    import os

    import pyarrow as pa
    chosen = os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    if chosen == "system":
        pa.set_memory_pool(pa.system_memory_pool())
    return pa.default_memory_pool().backend_name
