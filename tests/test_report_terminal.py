"""Terminal report: the counts and pointers under a finding's evidence."""
from __future__ import annotations

from pathlib import Path

import analyzer
from analyzer.findings import Evidence, Finding, Report
from analyzer.report import terminal

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"


def _report(n_evidence: int, total: int) -> Report:
    ev = [Evidence(source="S.evtx", locator=f"record {i}", excerpt=f"row {i}")
          for i in range(n_evidence)]
    f = Finding(id="protocol-error-burst", severity="warning", host="H", title="t",
                summary="s", evidence=ev, evidence_total=total)
    return Report(tool={}, bundle="b", hosts=["H"], findings=[f], checks=[], inventory=[],
                  warnings=[])


def test_evidence_left_out_is_counted_from_the_rows_listed():
    """With 4 of 45 rows listed the line said "39 more (see --format json)": it subtracted
    MAX_EVIDENCE, not the rows shown, and the JSON holds only those 4 rows too."""
    text = terminal.render(_report(4, 45))
    assert text.count("S.evtx record") == 4
    assert ("… 41 more matching rows not shown; the JSON report (--format json) carries 4 "
            "of them") in text
    assert "see --format json" not in text
    text = terminal.render(_report(10, 500))          # more rows than the terminal lists
    assert text.count("S.evtx record") == terminal.MAX_EVIDENCE
    assert (f"… {500 - terminal.MAX_EVIDENCE} more matching rows not shown; the JSON report "
            "(--format json) carries 10 of them") in text
    text = terminal.render(_report(3, 3))
    assert "more matching rows" not in text


def test_evidence_count_of_the_protocol_error_burst_sample():
    res = analyzer.analyze(SAMPLES / "protocol-error-burst.zip")
    f = next(f for f in res.report.findings if f.id == "protocol-error-burst")
    shown = min(len(f.evidence), terminal.MAX_EVIDENCE)
    assert f.evidence_total > shown
    text = terminal.render(res)
    assert (f"… {f.evidence_total - shown} more matching rows not shown; the JSON report "
            f"(--format json) carries {len(f.evidence)} of them") in text
