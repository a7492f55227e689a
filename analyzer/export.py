"""Timeline exports: table, CSV, JSON Lines, Parquet and Timesketch CSV/JSONL.

Times are written in one format, UTC with six fractional digits
(``2024-02-13T13:07:07.000000+00:00``), so ``pd.read_csv(..., parse_dates=["time"])`` and
``pd.to_datetime`` read them back exactly.

Timesketch imports CSV/JSONL that carry ``message``, ``datetime`` (ISO 8601) and
``timestamp_desc``; ``timestamp`` (microseconds since the epoch) is optional. We add those
and keep every timeline column, so an export imports into Timesketch as is. Rows without a
time (state snapshots of unknown capture time) cannot be placed on a Timesketch timeline; they
get the epoch and ``timestamp_desc`` "Unknown time (state snapshot)" rather than being lost.
"""
from __future__ import annotations

import errno
import io
import os
import stat
import tempfile
from pathlib import Path

import pandas as pd


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary name next to ``path`` then rename: never a half-written file.
    An existing target that is not a plain file (``/dev/null``, a FIFO, a symlink) is
    written through, not replaced by a file of ours; an existing plain file keeps its
    permission bits (a report made read-only or group-readable stays so)."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        with open(path, "wb") as fh:
            fh.write(data)
        return
    # mkstemp makes the file 0600; a new report is shared like any file the user writes
    mode = stat.S_IMODE(path.stat().st_mode) if path.is_file() else 0o666 & ~_umask()
    for up in (path.parent, *path.parent.parents):   # a file where a folder must be
        if up.exists():
            if not up.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(up))
            break
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


#: The one format of every exported time: UTC, always six fractional digits. ``isoformat()``
#: drops the fraction of whole seconds, and a column mixing "…:07+00:00" with
#: "…:07.015000+00:00" defeats ``pd.to_datetime`` (it infers the format from the first row)
#: and makes Timesketch's CSV importer drop the rows of the other format.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"


def iso_times(t: pd.Series) -> pd.Series:
    """Tz-aware times as :data:`TIME_FORMAT` strings (None where there is no time)."""
    text = t.dt.tz_convert("UTC").dt.strftime(TIME_FORMAT)
    return text.astype(object).where(t.notna(), None)


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype("string")
    if "time" in out.columns and isinstance(out["time"].dtype, pd.DatetimeTZDtype):
        out["time"] = iso_times(out["time"])
    return out


def to_table(df: pd.DataFrame, max_width: int = 60) -> str:
    from .safetext import UNSAFE, escape_unsafe

    if len(df) == 0:
        return "(no rows)\n"
    show = _plain(df)
    cols = [c for c in show.columns if c != "data"]
    show = show[cols].astype("string").fillna("")
    def cut(s: pd.Series) -> pd.Series:
        # keep the end of paths (the file name) and never cut hashes
        if s.name in ("sha256",):
            return s
        long = s.str.len() > max_width
        head = s.str.slice(0, max_width - 1) + "…"
        tail = "…" + s.str.slice(-(max_width - 1))
        return s.where(~long, tail if s.name in ("source", "container") else head)

    show = show.apply(cut)
    for c in show.columns:            # no raw control characters on a terminal (see printable)
        hit = show[c].str.contains(UNSAFE, regex=True)        # (vectorised; rare)
        if hit.any():
            show.loc[hit, c] = show.loc[hit, c].str.replace(UNSAFE, escape_unsafe, regex=True)
    return show.to_string(index=False) + "\n"


EPOCH_ISO = "1970-01-01T00:00:00.000000+00:00"
_EVENT_KINDS = ("evtx", "evt", "evtxml", "evtcsv")


def _text(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df.columns:
        return pd.Series([""] * len(df), index=df.index, dtype="string")
    return df[col].astype("string").fillna("")


def timesketch(df: pd.DataFrame) -> pd.DataFrame:
    """The timeline with Timesketch's columns added in front (one row per event).

    ``datetime`` is ISO 8601 in :data:`TIME_FORMAT` (Timesketch's importer parses the column
    with one inferred format), ``timestamp`` microseconds since the epoch (both
    the epoch for rows of unknown time), ``timestamp_desc`` says what the time means, and
    ``message`` is never empty: rows without one get ``[event_type] provider id`` plus user,
    address and where the row comes from.
    """
    out = _plain(df)
    t = df["time"] if "time" in df.columns else pd.Series(pd.NaT, index=df.index,
                                                         dtype="datetime64[us, UTC]")
    known = t.notna().to_numpy()
    ts = pd.Series(0, index=df.index, dtype="int64")
    ts[known] = (t[known] - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta(microseconds=1)
    iso = out["time"].where(known, EPOCH_ISO) if "time" in out.columns else [EPOCH_ISO] * len(df)
    kind = _text(df, "kind")
    desc = ["Event Recorded" if k and kd in _EVENT_KINDS else "Capture Time" if k
            else "Unknown time (state snapshot)" for k, kd in zip(known, kind)]
    msg = _text(df, "message")
    fallback = ("[" + _text(df, "event_type") + "] " + _text(df, "provider") + " " +
                _text(df, "event_id"))
    for col, label in (("user", " user "), ("ip", " from "), ("source", " in "),
                       ("locator", " ")):
        v = _text(df, col)
        fallback = fallback + (label + v).where(v != "", "")
    fallback = fallback.str.replace(r"\s+", " ", regex=True).str.strip()
    message = msg.where(msg.str.strip() != "", fallback)
    out = out.drop(columns=[c for c in ("message", "datetime", "timestamp", "timestamp_desc")
                            if c in out.columns])
    out.insert(0, "timestamp_desc", desc)
    out.insert(0, "timestamp", ts.to_numpy())
    out.insert(0, "datetime", iso)
    out.insert(0, "message", message.to_numpy())
    return out


#: A cell a spreadsheet would evaluate: = or @ first, a tab or CR first, or + / - before
#: anything but a plain number ("-" alone, "-5" and "+1.5" stay as they are).
_FORMULA = r"^(?:[=@\t\r]|[+-](?!$)(?![0-9]+(?:\.[0-9]+)?$))"


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell that Excel or LibreOffice would run as a formula
    (``=HYPERLINK(...)`` in a user name, ``=CMD|...`` in a host name: customer data) prefixed
    with an apostrophe, the usual neutraliser, for CSV meant to be opened in a spreadsheet.
    The JSON Lines, Parquet and Timesketch exports keep values exact."""
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if not (pd.api.types.is_string_dtype(s.dtype) or s.dtype == object):
            continue
        text = s.astype("string")
        hit = text.str.contains(_FORMULA, regex=True, na=False)
        if hit.any():
            out[c] = text.where(~hit, "'" + text)
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
    timesketch_fmt = fmt in ("timesketch-csv", "timesketch-jsonl")
    if timesketch_fmt:
        df = timesketch(df)
        fmt = fmt.split("-")[1]
    else:
        df = _plain(df)
    if fmt == "csv":
        if not timesketch_fmt:
            df = spreadsheet_safe(df)
        return df.to_csv(index=False, lineterminator="\n")
    if fmt == "jsonl":
        if len(df) == 0:
            return ""
        # pandas < 3 ends the last record without a newline, pandas 3 with one: normalise
        text = df.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
        return text.rstrip("\n") + "\n"
    raise ValueError(f"unknown format {fmt}")
