"""Markdown report for a ticket comment (``analyze --format markdown``).

The verdict, the findings (summary, evidence, remedy) and the checklist in KB2477023's
sections — the same content as the HTML report's top half, from :mod:`.common`. Written for
the lowest common denominator of ticket systems: no HTML at all, every line at most
:data:`WIDTH` characters, GitHub-style pipe tables, severity and status as words and ASCII
marks (``[X] CRITICAL``), never colour alone. Customer-supplied text is backslash-escaped,
so a ``<script>`` in a user name or an ``*`` in a path stays literal text.
"""
from __future__ import annotations

import re
from typing import Any

from ..safetext import UNSAFE, code, code_spans, escape_unsafe
from ..findings import Finding, Report
from . import common

WIDTH = 100
MAX_EVIDENCE = 10          # evidence rows per finding
MAX_EXCERPT = 300          # characters of one excerpt
MAX_OTHERS = 8             # further root causes listed under the verdict

_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
_SPECIAL_IN_CODE = re.compile(r"(\|)")
#: in a code span's content: what opens a fenced code block at the start of a line
_FENCE_LIKE = re.compile(r"```|~~~")
#: a line starting like this would become a list item, heading, quote or rule
_BLOCK_START = re.compile(r"^(\s*)([-+*>](?=\s|$)|#{1,6}(?=\s|$)|=+\s*$|-{2,}\s*$|"
                          r"\d{1,9}[.)](?=\s|$))")


def esc(text: Any, *, cell: bool = False) -> str:
    """Escape Markdown and HTML syntax in text so it renders literally.

    Backtick code spans (```reg export ...```, read by CommonMark's rule with
    :func:`analyzer.safetext.code_spans`) are kept as code spans, fenced anew so the
    backticks inside cannot end them — code is shown literally by every renderer, so nothing
    inside needs escaping except ``|`` in a table ``cell``. A span whose content could open
    a fenced block once wrapped to a line start (a run of three backticks or tildes), or
    needs a fence of three, is written as escaped text instead. Everything else is
    backslash-escaped; newlines and tabs become spaces.
    """
    if text is None:
        return ""
    out = []
    for is_code, piece in code_spans(str(text)):
        piece = UNSAFE.sub(escape_unsafe, piece.replace("\r", " ").replace("\n", " ")
                           .replace("\t", " "))
        if is_code and not _FENCE_LIKE.search(piece):
            span = code(_SPECIAL_IN_CODE.sub(r"\\\1", piece) if cell else piece)
            if not span.startswith("```"):
                out.append(span)
                continue
        # (customer backticks outside a span are escaped: they cannot open one)
        out.append(_SPECIAL.sub(r"\\\1", piece))
    return "".join(out)


def _guard_start(line: str, prefix_len: int) -> str:
    """Escape a leading block marker after the line's prefix (wrapping can create one)."""
    head, body = line[:prefix_len], line[prefix_len:]
    m = _BLOCK_START.match(body)
    if not m:
        return line
    if m.group(2)[0].isdigit():        # "1." / "1)" → "1\." / "1\)"
        k = m.end(2) - 1
        return head + body[:k] + "\\" + body[k:]
    return head + body[: m.start(2)] + "\\" + body[m.start(2):]


def _chunks(word: str, width: int) -> list[str]:
    """Split an over-long escaped word without separating a backslash from its character."""
    out, cur, i = [], "", 0
    while i < len(word):
        piece = word[i: i + 2] if word[i] == "\\" and i + 1 < len(word) else word[i]
        if len(cur) + len(piece) > width and cur:
            out.append(cur)
            cur = ""
        cur += piece
        i += len(piece)
    if cur:
        out.append(cur)
    return out


def wrap(text: str, width: int = WIDTH, first: str = "", rest: str | None = None,
         guard_first: bool = True) -> list[str]:
    """Greedy word wrap of already-escaped ``text`` with prefixes; every line ≤ ``width``.

    A line that would start with a block marker (``-``, ``#``, ``1.``…) gets it escaped, so
    wrapping never turns a word into a list item or heading; ``guard_first=False`` leaves
    the first line alone for markup the caller put there on purpose (``**bold**``).
    """
    rest = " " * len(first) if rest is None else rest
    width -= 1                          # room for the escape _guard_start may add
    lines: list[str] = []
    cur = first
    fresh = True
    for word in text.split():
        room = width - len(cur) - (0 if fresh else 1)
        if len(word) <= room:
            cur += ("" if fresh else " ") + word
            fresh = False
            continue
        if not fresh:
            lines.append(cur)
            cur, fresh = rest, True
        avail = width - len(cur)
        for piece in _chunks(word, max(avail, 10)):
            if not fresh:
                lines.append(cur)
                cur = rest
            cur += piece
            fresh = False
    lines.append(cur.rstrip())
    out = []
    for i, ln in enumerate(lines):
        if not ln.strip():
            continue
        if i == 0:
            out.append(_guard_start(ln, len(first)) if guard_first else ln)
        else:
            out.append(_guard_start(ln, len(rest)))
    return out


def _fit(cell: str, n: int) -> str:
    if len(cell) <= n:
        return cell
    cut = cell[: max(n - 1, 1)]
    if cut.endswith("\\") and not cut.endswith("\\\\"):
        cut = cut[:-1]
    return cut + "…"


def table(headers: list[str], rows: list[list[str]], width: int = WIDTH,
          flex: int | None = None) -> list[str]:
    """A pipe table (cells already escaped) whose lines fit ``width``.

    Column ``flex`` gives way first (down to 16 characters), then the widest columns shrink;
    cut cells end in "…".
    """
    n = len(headers)
    cols = [[headers[i]] + [r[i] for r in rows] for i in range(n)]
    widths = [max(3, *(len(c) for c in col)) for col in cols]
    budget = width - (3 * n + 1)
    if flex is not None and sum(widths) > budget:
        widths[flex] = max(16, widths[flex] - (sum(widths) - budget))
    while sum(widths) > budget:
        i = max(range(n), key=lambda k: widths[k])
        if widths[i] <= 8:
            break
        widths[i] -= 1

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(_fit(c, w).ljust(w) for c, w in zip(cells, widths)) + " |"

    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out.extend(line(r) for r in rows)
    return out


def _sev(sev: str | None) -> str:
    if sev is None:
        return "✔ NO FAULT FOUND"
    return f"{common.SEVERITY_MARK.get(sev, 'ℹ')} {common.SEVERITY_LABEL.get(sev, sev.upper())}"


def _status(st: str) -> str:
    return f"{common.STATUS_MARK.get(st, '?')} {common.STATUS_LABEL.get(st, st.upper())}"


def _verdict(report: Report) -> list[str]:
    v = common.verdict(report)
    if v.severity:
        label = _sev(v.severity)
    else:
        mark = {"ok": "✔", "inconclusive": common.SEVERITY_MARK["warning"]}.get(v.status, "ℹ")
        label = f"{mark} {common.VERDICT_LABEL.get(v.status, 'NO FAULT FOUND')}"
    out = [f"## Verdict: {label}", ""]
    out += wrap(f"**{esc(v.headline)}**", guard_first=False)
    if v.detail:
        out += [""] + wrap(esc(v.detail))
    if v.others:
        out += ["", "Also found:", ""]
        for f in v.others[:MAX_OTHERS]:
            where = f" on {f.host}" if f.host else ""
            out += wrap(f"{_sev(f.severity)}: {esc(f.title + where)}", first="- ", rest="  ")
        if len(v.others) > MAX_OTHERS:
            out.append(f"- and {len(v.others) - MAX_OTHERS} more below")
    loss = common.data_loss(report)
    if loss:
        out += [""] + wrap(f"**Warning:** {esc(loss)} See the inventory in the HTML or JSON "
                           f"report.", guard_first=False)
    c, k = v.counts, v.checks
    out += [""] + wrap(f"Findings: {c['critical']} critical, {c['error']} error, {c['warning']} "
                       f"warning, {c['info']} info. Checks: {k['fail']} failed, "
                       + (f"{k['info']} info, " if k["info"] else "") + f"{k['pass']} "
                       f"passed, {k['not-evaluated']} not evaluated.")
    return out


def _finding(f: Finding, n: int) -> list[str]:
    where = f" on {f.host}" if f.host else ""
    # a heading cannot wrap: shorten the title, keep host and id
    lead, tail = f"### {n}. {_sev(f.severity)}: ", f"{esc(where)} ({esc(f.id)})"
    title = esc(f.title)
    if len(lead) + len(title) + len(tail) > WIDTH:
        title = _fit(title, max(WIDTH - len(lead) - len(tail), 10))
    out = ["", _fit(lead + title + tail, WIDTH)]
    out.append("")
    if f.summary:
        out += wrap(esc(f.summary))
    if f.explained_by:
        out += [""] + wrap(f"Explained by {esc(f.explained_by)}: a consequence, fix that first.")
    if f.explains:
        out += [""] + wrap(f"Also explains: {esc(', '.join(f.explains))}.")
    if f.evidence:
        out += ["", "Evidence:", ""]
        for ev in f.evidence[:MAX_EVIDENCE]:
            when = f"{ev.time} " if ev.time else ""
            excerpt = ev.excerpt if len(ev.excerpt or "") <= MAX_EXCERPT else \
                ev.excerpt[: MAX_EXCERPT - 1] + "…"
            out += wrap(f"{esc(when)}{esc(ev.source)} ({esc(ev.locator)}): {esc(excerpt)}",
                        first="- ", rest="  ")
        total = max(getattr(f, "evidence_total", None) or 0, len(f.evidence))
        left = total - min(len(f.evidence), MAX_EVIDENCE)
        if left > 0:
            out += wrap(f"and {left} more matching rows (the JSON report lists "
                        f"{len(f.evidence)})", first="- ", rest="  ")
    if f.remedy:
        out += ["", "Remedy:", ""]
        paras = [p for p in f.remedy.splitlines() if p.strip()]
        for i, para in enumerate(paras):          # the remedy's lines stay lines
            out += (([">"] if i else []) + wrap(esc(para), first="> ", rest="> "))
    if f.references:
        out += [""] + wrap(f"References: {esc(', '.join(f.references))}")
    return out


def _checklist(report: Report) -> list[str]:
    out = ["", "## Checklist (KB2477023)"]
    if not report.checks:
        return out + ["", "No checks were run."]
    notes: list[tuple[common.CheckRow, str]] = []
    for _key, heading, checks in common.checks_by_section(report):
        if not checks:
            continue
        out += ["", f"### {heading}", ""]
        rows = []
        for c in checks:
            if c.status == "not-evaluated":
                what = "ask the customer for " + "; ".join(c.missing) if c.missing else ""
            elif c.status == "fail":
                fs = common.findings_for_check(report, c.check)
                what = "; ".join(f.summary or f.title for f in fs[:2])
            else:
                what = ""
            if c.note:          # (a note is too long for a cell: listed under the tables)
                notes.append((c, common.check_title(c.id, report.findings)))
                what = f"{what}; see the note below" if what else "see the note below"
            rows.append([esc(common.check_title(c.id, report.findings), cell=True),
                         esc(c.host_label(report.hosts), cell=True),
                         _status(common.check_outcome(report, c)),
                         esc(what, cell=True)])
        out += table(["Check", "Host", "Status", "Details"], rows, flex=3)
    asks = common.ask_for(report.checks)
    if asks:
        out += ["", "To complete the checklist, ask the customer for:", ""]
        for a in asks:
            out += wrap(esc(a), first="- ", rest="  ")
    if notes:
        # what the verdict points at for a check that names nothing to ask for
        out += ["", "Notes on the checklist:", ""]
        for c, title in notes:
            out += wrap(f"{esc(title)} ({esc(c.host_label(report.hosts))}): {esc(c.note)}",
                        first="- ", rest="  ")
    return out


def render(result: Any) -> str:
    """The Markdown report (str); every line ≤ WIDTH characters, no HTML."""
    report = common.report_of(result)
    tool = report.tool or {}
    lines = ["# rdpdoctor report", ""]
    lines += wrap(f"Bundle: {esc(report.bundle)}. Hosts: {esc(', '.join(report.hosts)) or 'none'}. "
                  f"Files: {len(report.inventory)}. Tool: {esc(tool.get('name', 'rdpdoctor'))} "
                  f"{esc(tool.get('version', ''))}.")
    lines.append("")
    lines += _verdict(report)
    lines += ["", "## Findings"]
    fs = common.ordered_findings(report)
    if not fs:
        lines += ["", "No findings."]
    for i, f in enumerate(fs, 1):
        lines += _finding(f, i)
    lines += _checklist(report)
    n_warn = len(report.warnings)
    if n_warn:
        lines += [""] + wrap(f"Parser warnings: {n_warn} (see the HTML or JSON report).")
    text = "\n".join(line.rstrip() for line in lines) + "\n"
    return re.sub(r"\n{3,}", "\n\n", text)
