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

from typing import Iterable

import orjson
import pandas as pd

from parsers.base import (TIME_DTYPE, TIMELINE_COLUMNS, TIMELINE_DTYPES, conform,  # noqa: F401
                          empty_frame)

from . import knowledge

#: Columns stored as categoricals in the final timeline (few distinct values, many rows).
CATEGORICAL = ("host", "kind", "event_type", "provider", "channel", "source")


def finalize_part(df: pd.DataFrame, *, source: str, host: str | None) -> pd.DataFrame:
    """Conform one parser's frame: set ``source``, default ``host``, fill ``event_type``."""
    df = conform(df)
    if len(df) == 0:
        return df
    df["source"] = pd.array([source] * len(df), dtype="string")
    if host:
        df["host"] = df["host"].fillna(host.upper())
    df["host"] = df["host"].str.upper()
    missing = df["event_type"].isna()
    if missing.any():
        sub = df.loc[missing, ["provider", "event_id"]]
        # one lookup per distinct (provider, id), not per row
        keys = sub.drop_duplicates()
        mapping = {(p, e): knowledge.event_type_for(None if pd.isna(p) else p,
                                                    None if pd.isna(e) else int(e))
                   for p, e in keys.itertuples(index=False)}
        df.loc[missing, "event_type"] = [mapping[(p, e)] for p, e in sub.itertuples(index=False)]
    return df


def concat(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate conformed parts, sort by (time, source, record/line order), categorise."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_frame()
    # categoricals of different categories would upcast to object: concat plain, then cast
    parts = [p.astype({c: "string" for c in CATEGORICAL if isinstance(p[c].dtype, pd.CategoricalDtype)})
             for p in parts]
    df = pd.concat(parts, ignore_index=True)
    df["_order"] = range(len(df))
    df = df.sort_values(["time", "_order"], kind="stable", na_position="first")
    df = df.drop(columns="_order").reset_index(drop=True)
    for c in CATEGORICAL:
        df[c] = df[c].astype("category")
    return df


def fields(df: pd.DataFrame, *names: str) -> pd.DataFrame:
    """Decode the ``data`` JSON of ``df``'s rows into columns ``names`` (index preserved).

    Meant for the small subsets detectors and notebooks look at; the whole timeline's
    ``data`` stays one compact JSON string per row.
    """
    decoded = [orjson.loads(s) if isinstance(s, str) else {} for s in df["data"].tolist()]
    out = {n: [d.get(n) for d in decoded] for n in names} if names else None
    if out is None:
        return pd.DataFrame(decoded, index=df.index)
    return pd.DataFrame(out, index=df.index)


def data_of(row) -> dict:
    """The ``data`` dict of one row (a Series or namedtuple)."""
    s = row["data"] if isinstance(row, pd.Series) else getattr(row, "data")
    return orjson.loads(s) if isinstance(s, str) else {}


def by_prefix(df: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """Rows whose event_type starts with ``prefix`` (``"rdp:"``, ``"sec:logon"``...)."""
    return df[df["event_type"].astype("string").str.startswith(prefix).fillna(False)]


def excerpt(row, limit: int = 300) -> str:
    """A one-line excerpt of a row for evidence and reports."""
    msg = row.get("message") if isinstance(row, (dict, pd.Series)) else getattr(row, "message", None)
    if msg is None or (not isinstance(msg, str)) or not msg:
        d = row.get("data") if isinstance(row, (dict, pd.Series)) else getattr(row, "data", None)
        msg = d if isinstance(d, str) else ""
    msg = " ".join(str(msg).split())
    return msg if len(msg) <= limit else msg[: limit - 1] + "…"
