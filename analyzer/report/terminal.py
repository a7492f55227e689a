"""Terminal summary: the verdict in the first three lines, then findings, checklist, warnings.

Readable without colour and when piped: every severity and status is a word (``CRITICAL``,
``PASS``), never only a colour. ``render(result)`` returns plain text; ``print_rich(result,
console)`` prints the same lines with colour for a terminal.

Layout::

    ROOT CAUSE on TS01: Another program holds the RDP port  [CRITICAL]
      RDP port 3389 is held by PID 2412 (vncsrv.exe, service RemoteAssistPro); the RDP listener is down
      explains: listener-down · bundle ticket.zip · 1 host · 2 findings · 24 checks (2 fail, …)
    …
"""
from __future__ import annotations

from typing import Any

from ..safetext import printable
from ..findings import Finding, Report
from . import common

Line = list[tuple[str, str | None]]

STYLE = {"critical": "bold red", "error": "red", "warning": "yellow", "info": "cyan",
         "fail": "red", "pass": "green", "not-evaluated": "yellow", "head": "bold",
         "dim": "dim"}
MAX_EVIDENCE = 6
MAX_WARNINGS = 20


def _verdict_lines(rep: Report) -> list[Line]:
    v = common.verdict(rep)
    nfind = len(rep.findings)
    c = v.checks
    tail = (f"bundle {rep.bundle} · {len(rep.hosts)} host(s) · {nfind} finding(s) · "
            f"{sum(c.values())} checks ({c['fail']} fail, "
            + (f"{c['info']} info, " if c["info"] else "") + f"{c['pass']} pass, "
            f"{c['not-evaluated']} not evaluated)")
    if v.root is None:
        tag = {"filtered": ("  [FILTERED]", "info"), "ok": ("  [OK]", "pass"),
               "incomplete": ("  [INCOMPLETE]", "not-evaluated"),
               "inconclusive": ("  [INCONCLUSIVE]", "not-evaluated")}.get(
                   v.status, ("  [NO DATA]", "not-evaluated"))
        return [[(v.headline, "head"), tag],
                [("  " + v.detail, None)],
                [("  " + tail, "dim")]]
    root = v.root
    kind = "ROOT CAUSE" if root.severity in ("critical", "error") else "LIKELY CONTRIBUTOR"
    first = [(f"{kind} on {root.host}: {root.title}", "head"),
             (f"  [{root.severity.upper()}]", STYLE[root.severity])]
    extra = []
    if root.explains:
        extra.append("explains: " + ", ".join(root.explains))
    others = [f for f in v.others if f.host != root.host or f.id != root.id]
    if others:
        extra.append("also: " + ", ".join(f"{f.id} ({f.severity}, {f.host})" for f in others[:3])
                     + (" …" if len(others) > 3 else ""))
    return [first, [(f"  {root.summary}", None)],
            [("  " + " · ".join(extra + [tail]), "dim")]]


def _finding_lines(f: Finding, indent: str = "") -> list[Line]:
    out: list[Line] = []
    expl = f" (explained by {f.explained_by})" if f.explained_by else ""
    out.append([(indent, None), (f"[{f.severity.upper()}]", STYLE[f.severity]),
                (f" {f.id} on {f.host}: {f.title}{expl}", "head")])
    out.append([(f"{indent}    {f.summary}", None)])
    if f.evidence:
        total = max(f.evidence_total or 0, len(f.evidence))
        out.append([(f"{indent}    Evidence ({total} row{'s' if total != 1 else ''}):", "dim")])
        shown = f.evidence[:MAX_EVIDENCE]
        for e in shown:
            t = f" {e.time}" if e.time else ""
            out.append([(f"{indent}      {e.source} {e.locator}{t}: ", "dim"), (e.excerpt, None)])
        # the JSON carries only the finding's evidence rows too, not the ``total`` (as the
        # HTML and Markdown reports say)
        if total > len(shown):
            out.append([(f"{indent}      … {total - len(shown)} more matching rows not shown; the "
                         f"JSON report (--format json) carries {len(f.evidence)} of them", "dim")])
    if f.remedy and not f.explained_by:
        out.append([(f"{indent}    Fix:", "dim")])
        for step in f.remedy.splitlines():
            out.append([(f"{indent}      {step}", None)])
    if f.references:
        out.append([(f"{indent}    References: {', '.join(f.references)}", "dim")])
    return out


def lines(result: Any) -> list[Line]:
    rep = common.report_of(result)
    out: list[Line] = _verdict_lines(rep)
    out.append([])
    if rep.findings:
        out.append([("FINDINGS", "head")])
        for f in rep.findings:
            out += _finding_lines(f, "  " if f.explained_by else "")
        out.append([])
    out.append([("CHECKLIST (KB2477023 order)", "head")])
    multi = len(rep.hosts) > 1
    for key, heading, checks in common.checks_by_section(rep):
        if not checks:
            continue
        out.append([(f"  {heading}", "dim")])
        for c in checks:
            shown = common.check_outcome(rep, c)
            label = common.STATUS_LABEL[shown]
            title = common.check_title(c.id, rep.findings)
            host = f" [{c.host_label(rep.hosts)}]" if multi and c.hosts else ""
            tail = ""
            if c.status == "not-evaluated":
                tail = " — needs: " + "; ".join(c.missing) if c.missing else ""
                if c.note:
                    tail += f" ({c.note})"
            elif c.status == "pass" and c.note:
                tail = f" ({c.note})"
            out.append([(f"    {label:<13}", STYLE[shown]), (f" {c.id}: {title}{host}{tail}", None)])
    asks = common.ask_for(rep.checks)
    if asks:
        out.append([])
        out.append([("ASK THE CUSTOMER FOR", "head")])
        for a in asks:
            out.append([(f"  - {a}", None)])
    if rep.warnings:
        out.append([])
        out.append([(f"PARSER WARNINGS ({len(rep.warnings)})", "head")])
        for w in rep.warnings[:MAX_WARNINGS]:
            out.append([(f"  {w.get('source', '')} {w.get('locator', '')}: ", "dim"),
                        (str(w.get("message", "")), None)])
        if len(rep.warnings) > MAX_WARNINGS:
            out.append([(f"  … {len(rep.warnings) - MAX_WARNINGS} more (see --format json)", "dim")])
    acc = rep.accounting or {}
    if acc.get("summary"):
        out.append([])
        out.append([("INPUT: " + str(acc["summary"]), "dim")])
    # customer text (user, service and host names, event strings) may hold escape
    # sequences that clear the screen or retitle the window, CR/BS that overwrite a line,
    # and bidi overrides that reorder it: shown as \x1b, \u202e ... instead
    return [[(printable(t), st) for t, st in ln] for ln in out]


def render(result: Any) -> str:
    """Plain text (no escape codes), for pipes, files and tickets."""
    return "\n".join("".join(t for t, _ in ln) for ln in lines(result)) + "\n"


def print_rich(result: Any, console) -> None:
    """The same lines with colour, on a rich Console, wrapped at its width between words
    with a hanging indent (left to the terminal, a long line broke mid-word and its
    continuation lost the indent that shows what it belongs to)."""
    from rich.text import Text

    width = max(int(getattr(console, "width", 0) or 0), 20)
    for ln in lines(result):
        t = Text()
        for s, style in ln:
            t.append(s, style=STYLE.get(style, style) if style else None)
        plain = t.plain
        indent = len(plain) - len(plain.lstrip(" "))
        hang = min(indent + 2, width // 2)
        for n, (a, b) in enumerate(_wrap_spans(plain, width, indent, hang)):
            piece = t[a:b]
            if n:
                piece = Text(" " * hang) + piece
            console.print(piece, soft_wrap=True)


def _wrap_spans(plain: str, width: int, indent: int, hang: int) -> list[tuple[int, int]]:
    """``[(start, end)]`` of the pieces ``plain`` is printed in: the first up to ``width``
    characters, the others up to ``width - hang`` (they get ``hang`` spaces), each broken
    at the last space that fits (mid-word only when a word is longer than a line)."""
    spans = []
    pos, room = 0, width
    while len(plain) - pos > room:
        lo = pos + (indent if not spans else 0) + 1
        cut = plain.rfind(" ", lo, pos + room + 1)
        if cut < lo:
            cut = pos + room                      # one word longer than the line
        spans.append((pos, cut))
        pos = cut
        while pos < len(plain) and plain[pos] == " ":
            pos += 1
        room = width - hang
    spans.append((pos, len(plain)))
    return spans


__all__ = ["render", "print_rich", "lines"]
