"""Cross-ticket rollups over a batch OUTDIR: root causes by week, host and OS.

Reads the files ``rdpdoctor batch`` writes (``summary.parquet``, ``findings.parquet``; see
``analyzer.batch``). The same functions back ``rdpdoctor summarize`` and the batch-trends
notebook::

    from analyzer import rollup
    s, f = rollup.load("out/")
    rollup.by_week(rollup.root_causes(f))          # finding id × week, distinct bundles

A bundle's time is its ``bundle_time``: the latest event or capture time found in it, i.e.
roughly when the customer collected it for the ticket. Weeks start on Monday (UTC).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .findings import SEVERITIES


def load(outdir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary, findings) DataFrames of a batch OUTDIR; FileNotFoundError if it has none."""
    d = Path(outdir)
    sp, fp = d / "summary.parquet", d / "findings.parquet"
    if not sp.is_file():
        raise FileNotFoundError(f"{d} has no summary.parquet (is it an 'rdpdoctor batch' OUTDIR?)")
    try:
        summary = pd.read_parquet(sp)
        findings = pd.read_parquet(fp) if fp.is_file() else summary[summary["finding_id"].fillna("") != ""]
    except (OSError, ValueError, KeyError) as e:   # pyarrow's ArrowInvalid is a ValueError
        raise FileNotFoundError(f"{d}: its summary cannot be read ({type(e).__name__}: "
                                f"{str(e)[:200]}); run 'rdpdoctor batch' again") from None
    missing = {"status", "finding_id", "severity"} - set(summary.columns)
    if missing:
        raise FileNotFoundError(f"{d}: summary.parquet lacks {', '.join(sorted(missing))} "
                                "(not written by 'rdpdoctor batch'?)")
    return summary, findings


def week_of(t: pd.Series) -> pd.Series:
    """Monday (UTC date, as text ``YYYY-MM-DD``) of each time; ``unknown`` when missing."""
    t = pd.to_datetime(t, utc=True)
    monday = (t.dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
              - pd.to_timedelta(t.dt.tz_convert("UTC").dt.day_of_week, unit="D"))
    return monday.dt.strftime("%Y-%m-%d").fillna("unknown").astype("string")


def root_causes(findings: pd.DataFrame, min_severity: str = "warning",
                include_explained: bool = False) -> pd.DataFrame:
    """Findings at or above ``min_severity`` that no other finding explains."""
    f = findings
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    keep = f["severity"].map(lambda s: rank.get(s, -1) >= rank[min_severity]).astype(bool)
    if not include_explained:
        keep &= f["explained_by"].fillna("") == ""
    return f[keep]


def _count(f: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return (f.groupby(by, dropna=False, observed=True)["sha256"].nunique()
            .rename("bundles").reset_index())


def by_week(findings: pd.DataFrame) -> pd.DataFrame:
    """Finding id × week: number of distinct bundles (0 where none)."""
    f = findings.assign(week=week_of(findings["bundle_time"]))
    c = _count(f, ["finding_id", "week"])
    if c.empty:
        return pd.DataFrame()
    return c.pivot(index="finding_id", columns="week", values="bundles").fillna(0).astype(int)


def by_host(findings: pd.DataFrame) -> pd.DataFrame:
    """(host, finding id) → distinct bundles, most frequent first."""
    c = _count(findings, ["host", "finding_id"])
    return c.sort_values(["bundles", "host", "finding_id"], ascending=[False, True, True],
                         ignore_index=True)


def by_os(findings: pd.DataFrame) -> pd.DataFrame:
    """Finding id × operating system: distinct bundles."""
    f = findings.assign(os=findings["os"].fillna("").replace("", "unknown"))
    c = _count(f, ["finding_id", "os"])
    if c.empty:
        return pd.DataFrame()
    return c.pivot(index="finding_id", columns="os", values="bundles").fillna(0).astype(int)


def top_failing_hosts(summary: pd.DataFrame, n: int = 10, min_severity: str = "error") -> pd.DataFrame:
    """Hosts with the most bundles holding a root cause at or above ``min_severity``."""
    f = root_causes(summary[summary["status"] == "ok"].dropna(subset=["finding_id"])
                    .query("finding_id != ''"), min_severity)
    g = (f.groupby("host", observed=True)
          .agg(bundles=("sha256", "nunique"), findings=("finding_id", lambda s: ", ".join(sorted(set(s)))))
          .reset_index().sort_values(["bundles", "host"], ascending=[False, True], ignore_index=True))
    return g.head(n)


def time_to_ticket(findings: pd.DataFrame) -> pd.DataFrame:
    """Per finding id: hours from its first evidence to the bundle's time (median, max)."""
    f = findings.dropna(subset=["first_evidence", "bundle_time"])
    hours = (pd.to_datetime(f["bundle_time"], utc=True) - pd.to_datetime(f["first_evidence"], utc=True)
             ) / pd.Timedelta(hours=1)
    f = f.assign(hours=hours)
    if f.empty:
        return pd.DataFrame(columns=["finding_id", "bundles", "median_hours", "max_hours"])
    return (f.groupby("finding_id", observed=True)
             .agg(bundles=("sha256", "nunique"), median_hours=("hours", "median"), max_hours=("hours", "max"))
             .round(1).reset_index())


def status_counts(summary: pd.DataFrame) -> pd.Series:
    """Distinct bundles per status (ok / failed / skipped)."""
    per_bundle = summary.drop_duplicates("path")
    return per_bundle["status"].value_counts().sort_index()


def plot_weekly(table: pd.DataFrame, path: str | Path | None = None, ax=None):
    """Stacked bars of :func:`by_week`; saves to ``path`` when given. Returns the Axes."""
    import matplotlib

    if ax is None and path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 4))
    if table.empty:
        ax.text(0.5, 0.5, "no findings", ha="center", va="center", transform=ax.transAxes)
    else:
        # the default cycle has 10 colours: with more finding ids two shared one and the
        # legend could not tell them apart (24 ids exist); tab20 + tab20b give 40
        cmaps = [matplotlib.colormaps[n] for n in ("tab20", "tab20b")]
        colors = [c for m in cmaps for c in m.colors]
        colors = [colors[i % len(colors)] for i in range(len(table.index))]
        table.T.plot(kind="bar", stacked=True, ax=ax, width=0.8, color=colors)
        ax.legend(fontsize="small", bbox_to_anchor=(1.01, 1), loc="upper left")
    ax.set_xlabel("week (Monday, UTC)")
    ax.set_ylabel("bundles")
    ax.set_title("Root causes by week")
    if path is not None:
        ax.figure.tight_layout()
        ax.figure.savefig(path)
    return ax
