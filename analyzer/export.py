"""Timeline exports: table, CSV, JSON Lines, Parquet and Timesketch CSV/JSONL.

Timesketch imports CSV/JSONL that carry ``message``, ``datetime`` (ISO 8601) and
``timestamp_desc``; ``timestamp`` (microseconds since the epoch) is optional. We add those
and keep every timeline column, so an export imports into Timesketch as is. Rows without a
time (state snapshots of unknown capture time) cannot be placed on a Timesketch timeline; they
get the epoch and ``timestamp_desc`` "Unknown time (state snapshot)" rather than being lost.
"""
from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pandas as pd


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary name next to ``path`` then rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype("string")
    if "time" in out.columns and isinstance(out["time"].dtype, pd.DatetimeTZDtype):
        out["time"] = out["time"].map(lambda t: t.isoformat() if not pd.isna(t) else None)
    return out


def to_table(df: pd.DataFrame, max_width: int = 60) -> str:
    if len(df) == 0:
        return "(no rows)\n"
    show = _plain(df)
    cols = [c for c in show.columns if c != "data"]
    show = show[cols].astype("string").fillna("")
    show = show.apply(lambda s: s.str.slice(0, max_width))
    return show.to_string(index=False) + "\n"


def timesketch(df: pd.DataFrame) -> pd.DataFrame:
    """The timeline with Timesketch's required columns added (one row per event)."""
    out = _plain(df)
    t = df["time"] if "time" in df.columns else pd.Series(pd.NaT, index=df.index)
    known = t.notna()
    ts = pd.Series(0, index=df.index, dtype="int64")
    ts[known] = (t[known] - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta(microseconds=1)
    out.insert(0, "timestamp", ts.values)
    out.insert(0, "datetime", [x if x is not None else "1970-01-01T00:00:00+00:00"
                               for x in out["time"]])
    desc = []
    for kind, k in zip(df.get("kind", pd.Series([""] * len(df))).astype("string").fillna(""), known):
        if not k:
            desc.append("Unknown time (state snapshot)")
        elif kind in ("evtx", "evt", "evtxml", "evtcsv"):
            desc.append("Event Recorded")
        else:
            desc.append("Capture Time")
    out.insert(0, "timestamp_desc", desc)
    msg = out["message"].astype("string") if "message" in out.columns else pd.Series([""] * len(out))
    fallback = (out.get("event_type", "").astype("string").fillna("") + " " +
                out.get("source", "").astype("string").fillna(""))
    out["message"] = msg.where(msg.notna() & (msg != ""), fallback)
    return out


def render(df: pd.DataFrame, fmt: str, out: Path | None) -> str | None:
    """Render ``df`` as ``fmt``. Text formats are returned; parquet is written to ``out``."""
    if fmt == "parquet":
        buf = io.BytesIO()
        plain = df.copy()
        for c in plain.columns:
            if isinstance(plain[c].dtype, pd.CategoricalDtype):
                plain[c] = plain[c].astype("string")
        plain.to_parquet(buf, index=False)
        atomic_write_bytes(Path(out), buf.getvalue())
        return None
    if fmt in ("timesketch-csv", "timesketch-jsonl"):
        df = timesketch(df)
        fmt = fmt.split("-")[1]
    else:
        df = _plain(df)
    if fmt == "csv":
        return df.to_csv(index=False, lineterminator="\n")
    if fmt == "jsonl":
        return df.to_json(orient="records", lines=True, force_ascii=False, date_format="iso") + (
            "\n" if len(df) else "")
    raise ValueError(f"unknown format {fmt}")
