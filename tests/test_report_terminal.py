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


def test_a_terminal_gets_lines_wrapped_between_words_with_a_hanging_indent():
    """On an 80-column terminal a third of the lines were longer than the screen, left to
    the terminal to break mid-word, the continuation without the indent that shows what it
    belongs to (found by review). Same words, same order, each piece on the screen."""
    import io
    import re
    from rich.console import Console
    r = analyzer.analyze(SAMPLES / "protocol-error-burst.zip")
    buf = io.StringIO()
    terminal.print_rich(r, Console(file=buf, width=80, force_terminal=True, color_system=None))
    out = buf.getvalue().splitlines()
    plain = terminal.render(r).splitlines()
    assert max(map(len, out)) <= 80 < max(map(len, plain))
    assert re.sub(r"\s+", "", "".join(out)) == re.sub(r"\s+", "", "".join(plain))
    words = set(" ".join(plain).split())
    j = wrapped = 0
    for ln in plain:                     # each line: its pieces, continuations indented
        indent = len(ln) - len(ln.lstrip(" "))
        assert ln.startswith(out[j].rstrip())
        got, j = re.sub(r"\s+", "", out[j]), j + 1
        while got != re.sub(r"\s+", "", ln):
            # a word is cut only when it is longer than a line (a registry path): any
            # other piece ends at a word the plain text also ends at
            assert out[j - 1].split()[-1] in words or len(out[j - 1]) == 80, out[j - 1]
            assert out[j].startswith(" " * (indent + 2)) and out[j][indent + 2] != " ", out[j]
            got, j, wrapped = got + re.sub(r"\s+", "", out[j]), j + 1, wrapped + 1
    assert j == len(out) and wrapped > 10
