"""Cross-ticket rollups (analyzer.rollup) on a small hand-built summary of four tickets."""
from __future__ import annotations

import pandas as pd

from analyzer import batch, rollup

T = pd.Timestamp


def _summary() -> pd.DataFrame:
    def r(bid, sha, status, host, fid, sev, btime, first=None, explained="", os_="Windows Server 2019"):
        return {"bundle_id": bid, "path": f"/in/{bid}", "sha256": sha, "status": status, "host": host,
                "os": os_, "finding_id": fid, "severity": sev, "explained_by": explained,
                "bundle_time": T(btime, tz="UTC") if btime else pd.NaT,
                "first_evidence": T(first, tz="UTC") if first else pd.NaT}
    rows = [
        # week of Mon 2024-03-04: two tickets of TS01 (one with a symptom explained by its cause)
        r("a.zip", "A", "ok", "TS01", "port-conflict", "critical", "2024-03-06 10:00", "2024-03-05 10:00"),
        r("a.zip", "A", "ok", "TS01", "listener-down", "critical", "2024-03-06 10:00", "2024-03-05 10:00",
          explained="port-conflict"),
        r("a.zip", "A", "ok", "TS01", "nla-required", "info", "2024-03-06 10:00"),
        r("b.zip", "B", "ok", "TS01", "port-conflict", "critical", "2024-03-10 23:00", "2024-03-10 17:00"),
        # Monday 2024-03-11 00:30 UTC starts the next week
        r("c.zip", "C", "ok", "TS02", "certificate-corruption", "critical", "2024-03-11 00:30",
          "2024-03-01 00:30", os_="Windows Server 2003"),
        r("d.zip", "D", "failed", "", "", "", None),
    ]
    return pd.DataFrame(rows)


def test_week_of_is_the_monday_utc():
    w = rollup.week_of(pd.Series([T("2024-03-10 23:59", tz="UTC"), T("2024-03-11 00:00", tz="UTC"),
                                  T("2024-03-11 00:30", tz="Europe/Berlin"), pd.NaT]))
    assert list(w) == ["2024-03-04", "2024-03-11", "2024-03-04", "unknown"]


def test_root_causes_by_week_host_and_os():
    s = _summary()
    f = s[s["finding_id"] != ""]
    rc = rollup.root_causes(f)
    assert sorted(rc["finding_id"]) == ["certificate-corruption", "port-conflict", "port-conflict"]
    weekly = rollup.by_week(rc)
    assert weekly.loc["port-conflict"].to_dict() == {"2024-03-04": 2, "2024-03-11": 0}
    assert weekly.loc["certificate-corruption"].to_dict() == {"2024-03-04": 0, "2024-03-11": 1}
    assert rollup.by_week(rollup.root_causes(f, "info", include_explained=True)).loc[
        "listener-down", "2024-03-04"] == 1
    hosts = rollup.by_host(rc)
    assert hosts.iloc[0].to_dict() == {"host": "TS01", "finding_id": "port-conflict", "bundles": 2}
    assert rollup.by_os(rc).loc["certificate-corruption", "Windows Server 2003"] == 1
    top = rollup.top_failing_hosts(s)
    assert list(top["host"]) == ["TS01", "TS02"] and list(top["bundles"]) == [2, 1]


def test_time_to_ticket_and_status_counts():
    s = _summary()
    t = rollup.time_to_ticket(rollup.root_causes(s[s["finding_id"] != ""])).set_index("finding_id")
    assert t.loc["port-conflict", "median_hours"] == 15.0        # 24 h and 6 h
    assert t.loc["port-conflict", "max_hours"] == 24.0
    assert t.loc["certificate-corruption", "median_hours"] == 240.0
    assert rollup.status_counts(s).to_dict() == {"failed": 1, "ok": 3}


def test_counts_table_counts_bundles_not_rows():
    from rich.console import Console

    s = _summary().assign(n_findings=[3, 3, 3, 1, 1, 0])
    c = Console(width=120, record=True)
    c.print(batch.counts_table(s))
    text = c.export_text()
    line = next(ln for ln in text.splitlines() if "port-conflict" in ln)
    assert line.split("│")[3].strip() == "2" and line.split("│")[4].strip() == "1"


def test_weekly_chart_gives_every_finding_id_its_own_colour(tmp_path):
    """The default colour cycle repeats after 10: with more ids two shared a colour and
    the legend could not tell them apart (found by review)."""
    from analyzer.detectors import load_all

    ids = sorted(load_all())                                  # every finding id (24)
    table = pd.DataFrame({"2024-03-04": range(1, len(ids) + 1)}, index=ids)
    ax = rollup.plot_weekly(table, tmp_path / "weekly.png")
    colours = [tuple(c.patches[0].get_facecolor()) for c in ax.containers]
    assert len(colours) == len(ids) == len(set(colours))
    handles, labels = ax.get_legend_handles_labels()
    assert labels == ids
    assert (tmp_path / "weekly.png").stat().st_size > 1000
