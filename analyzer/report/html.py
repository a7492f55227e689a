"""HTML report: one self-contained file a ticket can carry (``analyze --format html``).

Everything is inline — CSS, the SVG icons, the SVG timeline chart (:mod:`.chart`) — and a
Content-Security-Policy of ``default-src 'none'`` tells the browser the file may load
nothing and run no script, so the report opens offline and stays inert even if a string
slipped through escaping (none should: every customer-supplied string goes through
:func:`e`, which shows control characters and bidi overrides as escapes, then applies
:func:`html.escape`). No JavaScript is needed: tooltips are SVG ``<title>`` elements.

Order, so the first screen answers the ticket: verdict (root cause in one sentence,
severity as colour *and* icon *and* label), the timeline chart, then findings with evidence
and remedies, the checklist in KB2477023's sections, the effective RDP configuration, the
inventory and the parser warnings. Long lists are capped (with a count of what is left out
and a pointer to the JSON report) so the file stays small for huge bundles. Printing and
narrow (phone) screens are handled by media queries.
"""
from __future__ import annotations

from typing import Any, Iterable

import pandas as pd

from ..safetext import code_spans, html_text
from ..findings import Finding, Report
from . import chart as chart_mod
from . import common

MAX_EVIDENCE = 25          # evidence rows shown per finding
MAX_EXCERPT = 400          # characters of one excerpt
MAX_WARNINGS = 300         # parser warnings listed
MAX_INVENTORY = 1000       # inventory rows listed
MAX_CONFIG = 600           # effective-config rows listed


def e(value: Any) -> str:
    """Escape anything for HTML text or a quoted attribute; NA/None → empty."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return ""
    # (control characters and bidi overrides, which reorder what is shown, as escapes)
    return html_text(str(value))


def ec(value: Any) -> str:
    """Escape like :func:`e`, showing `backtick` spans (commands in remedies) as code.

    Spans are read by CommonMark's rule (:func:`analyzer.safetext.code_spans`): the tool
    fences a command that holds the customer's backticks with a longer run
    (:func:`analyzer.safetext.code`), so those backticks stay inside their span."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return ""
    return "".join(f"<code>{html_text(piece)}</code>" if is_code else html_text(piece)
                   for is_code, piece in code_spans(str(value)))


def ep(value: Any) -> str:
    """Escape a file path and let it wrap after its separators (not in the middle of names)."""
    return e(value).replace("/", "/<wbr>").replace("\\", "\\<wbr>")


def _clip(s: Any, n: int) -> str:
    s = "" if s is None or s is pd.NA else str(s)
    return s if len(s) <= n else s[: n - 1] + "…"


# ----------------------------------------------------------------------------- pieces

ICONS = """<svg xmlns="http://www.w3.org/2000/svg" style="display:none">
<symbol id="i-critical" viewBox="0 0 20 20"><path d="M6 1h8l5 5v8l-5 5H6l-5-5V6z" fill="currentColor"/><path d="M6.5 6.5l7 7M13.5 6.5l-7 7" stroke="#fff" stroke-width="2.4"/></symbol>
<symbol id="i-error" viewBox="0 0 20 20"><path d="M10 1l9.5 17H.5z" fill="currentColor"/><rect x="8.8" y="6.5" width="2.4" height="6.5" fill="#fff"/><rect x="8.8" y="14.3" width="2.4" height="2.4" fill="#fff"/></symbol>
<symbol id="i-warning" viewBox="0 0 20 20"><path d="M10 .8l9.2 9.2-9.2 9.2L.8 10z" fill="currentColor"/><rect x="8.8" y="5" width="2.4" height="6.5" fill="#fff"/><rect x="8.8" y="12.8" width="2.4" height="2.4" fill="#fff"/></symbol>
<symbol id="i-info" viewBox="0 0 20 20"><circle cx="10" cy="10" r="9.2" fill="currentColor"/><rect x="8.8" y="8.5" width="2.4" height="7" fill="#fff"/><rect x="8.8" y="4.5" width="2.4" height="2.4" fill="#fff"/></symbol>
<symbol id="i-pass" viewBox="0 0 20 20"><circle cx="10" cy="10" r="9.2" fill="currentColor"/><path d="M5.5 10.5l3 3 6-7" stroke="#fff" stroke-width="2.4" fill="none"/></symbol>
<symbol id="i-fail" viewBox="0 0 20 20"><rect x="1" y="1" width="18" height="18" rx="3" fill="currentColor"/><path d="M6 6l8 8M14 6l-8 8" stroke="#fff" stroke-width="2.4"/></symbol>
<symbol id="i-not-evaluated" viewBox="0 0 20 20"><circle cx="10" cy="10" r="8.4" fill="none" stroke="currentColor" stroke-width="1.8" stroke-dasharray="3 2"/><path d="M7.3 7.6a2.8 2.8 0 1 1 3.9 2.6c-.8.4-1.2.9-1.2 1.8v.6" stroke="currentColor" stroke-width="2" fill="none"/><rect x="8.9" y="13.8" width="2.2" height="2.2" fill="currentColor"/></symbol>
<symbol id="i-ok" viewBox="0 0 20 20"><circle cx="10" cy="10" r="9.2" fill="currentColor"/><path d="M5.5 10.5l3 3 6-7" stroke="#fff" stroke-width="2.4" fill="none"/></symbol>
</svg>"""

CSS = """
:root{--fg:#1a202c;--muted:#4a5568;--line:#cbd5e0;--bg:#fff;--soft:#f7fafc;
--critical:#9b1c1c;--error:#c53030;--warning:#b7791f;--info:#2b6cb0;
--pass:#276749;--fail:#9b1c1c;--not-evaluated:#4a5568;--ok:#276749}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;color:var(--fg);background:var(--bg);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",Arial,sans-serif}
main{max-width:1100px;margin:0 auto;padding:12px 16px 40px}
h1{font-size:1.25rem;margin:0}
h2{font-size:1.15rem;margin:1.6em 0 .5em;border-bottom:1px solid var(--line);padding-bottom:.2em}
h3{font-size:1rem;margin:1.2em 0 .4em}
header.top{display:flex;flex-wrap:wrap;gap:.2em 1em;align-items:baseline;
border-bottom:1px solid var(--line);padding-bottom:6px}
header.top .meta{color:var(--muted);font-size:.85rem;overflow-wrap:anywhere}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono","Liberation Mono",Consolas,monospace;
font-size:.86em;overflow-wrap:break-word}
.ico{width:1.05em;height:1.05em;vertical-align:-.15em;flex:none}
.badge{display:inline-flex;gap:.3em;align-items:center;font-weight:700;font-size:.78rem;
letter-spacing:.04em;padding:.1em .45em;border:1.5px solid currentColor;border-radius:3px;
white-space:nowrap;background:#fff}
.sev-critical{color:var(--critical)}.sev-error{color:var(--error)}
.sev-warning{color:var(--warning)}.sev-info{color:var(--info)}.sev-ok{color:var(--ok)}
.st-pass{color:var(--pass)}.st-fail{color:var(--fail)}.st-not-evaluated{color:var(--not-evaluated)}
.st-info{color:var(--info)}
#verdict{margin:12px 0 6px;padding:12px 14px;border:2px solid currentColor;border-left-width:10px;
border-radius:4px;background:var(--soft)}
#verdict .label{display:flex;gap:.4em;align-items:center;font-weight:800;letter-spacing:.06em}
#verdict .label .ico{width:1.5em;height:1.5em}
#verdict h2{color:var(--fg);border:0;margin:.25em 0 .2em;font-size:1.3rem;padding:0}
#verdict p{color:var(--fg);margin:.2em 0}
#verdict ul{color:var(--fg);margin:.3em 0 0;padding-left:1.2em}
.counts{color:var(--muted);font-size:.85rem}
#verdict p.loss{color:var(--warning);font-weight:600}
figure{margin:0}
.chart-box{overflow-x:auto;-webkit-overflow-scrolling:touch}
.chart{width:100%;min-width:620px;height:auto;display:block;font-family:system-ui,"Liberation Sans",Arial,sans-serif}
.chart .ch-host{font-size:14px;font-weight:700;fill:#1a202c}
.chart .ch-lane{font-size:13px;fill:#2d3748}
.chart .ch-none{font-size:12px;fill:#718096;font-style:italic}
.chart .ch-tick{font-size:12px;fill:#4a5568;text-anchor:middle}
.chart .ch-bg{fill:#f7fafc}
.chart .ch-rule{stroke:#a0aec0;stroke-width:1}
.chart .ch-axis{stroke:#4a5568;stroke-width:1}
.chart .ch-grid{stroke:#e2e8f0;stroke-width:1}
.chart .ch-mark{fill:#c53030}
.chart .ch-markline{stroke:#c53030;stroke-width:1;stroke-dasharray:3 3;opacity:.7}
.chart .ch-sleep{opacity:.55}
figcaption{color:var(--muted);font-size:.82rem;margin-top:2px}
article.finding{border:1px solid var(--line);border-left:6px solid currentColor;border-radius:4px;
padding:8px 12px;margin:10px 0;break-inside:avoid}
article.finding h3{color:var(--fg);margin:.2em 0;display:flex;flex-wrap:wrap;gap:.4em;align-items:center}
article.finding .fid{font-weight:400;color:var(--muted)}
article.finding p,article.finding h4,article.finding table{color:var(--fg)}
article.finding h4{margin:.6em 0 .2em;font-size:.9rem}
.remedy{white-space:pre-line;background:var(--soft);border-left:3px solid var(--pass);padding:6px 10px}
.explained{color:var(--muted);font-size:.9rem}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.86rem;margin:.3em 0}
th,td{border:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top}
th{background:var(--soft)}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.status{white-space:nowrap}
.ask{font-size:.9rem}
.ask li{margin:.1em 0}
.small{font-size:.82rem;color:var(--muted)}
footer{margin-top:2em;color:var(--muted);font-size:.8rem;border-top:1px solid var(--line);padding-top:6px}
@media (max-width:640px){
body{font-size:14px}main{padding:8px 10px 30px}
#verdict h2{font-size:1.1rem}
table{font-size:.8rem}
.wide-only{display:none}
}
@media print{
body{font-size:10pt}main{max-width:none;padding:0}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
h2{break-after:avoid}
.scroll,.chart-box{overflow:visible}
.chart{min-width:0}
figure,#verdict{break-inside:avoid}
a{color:inherit;text-decoration:none}
}
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def icon(name: str) -> str:
    return f'<svg class="ico" aria-hidden="true" focusable="false"><use href="#i-{e(name)}"/></svg>'


def sev_badge(sev: str | None) -> str:
    sev = sev if sev in common.SEVERITY_LABEL else "ok" if sev is None else "info"
    label = common.SEVERITY_LABEL.get(sev, "OK")
    return f'<span class="badge sev-{sev}">{icon(sev)}{label}</span>'


def status_badge(status: str) -> str:
    st = status if status in common.STATUS_LABEL else "not-evaluated"
    ico = "info" if st == "info" else st
    return f'<span class="badge st-{st}">{icon(ico)}{common.STATUS_LABEL[st]}</span>'


def _table(headers: Iterable[str], rows: Iterable[Iterable[str]], classes: Iterable[str] = ()) -> str:
    """A table from already-escaped cell HTML."""
    classes = list(classes)
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = []
    for r in rows:
        cells = []
        for i, c in enumerate(r):
            cls = f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""
            cells.append(f"<td{cls}>{c}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _more(n_left: int, what: str, where: str = "the JSON report (<code>--format json</code>) "
                                               "lists them all") -> str:
    if n_left <= 0:
        return ""
    return f'<p class="small">… and {n_left:,} more {e(what)} not shown here; {where}.</p>'



# ----------------------------------------------------------------------------- sections


def _names(names: list[str], n: int = 8) -> str:
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def _header(report: Report, result: Any) -> str:
    tl = common.frame_of(result, "timeline")
    n_files = len(report.inventory)
    bits = [f"bundle <code>{e(report.bundle)}</code>",
            f"host{'s' if len(report.hosts) != 1 else ''}: {e(_names(report.hosts)) or '—'}",
            f"{n_files} file{'s' if n_files != 1 else ''}"]
    if tl is not None:
        bits.append(f"{len(tl):,} timeline rows")
    return (f'<header class="top"><h1>rdpdoctor report</h1>'
            f'<span class="meta">{" · ".join(bits)}</span></header>')


def _verdict(report: Report) -> str:
    v = common.verdict(report)
    sev = v.severity or {"ok": "ok", "inconclusive": "warning"}.get(v.status, "info")
    label = (common.SEVERITY_LABEL[sev] if v.severity else
             common.VERDICT_LABEL.get(v.status, "NO FAULT FOUND"))
    out = [f'<section id="verdict" class="sev-{sev}" aria-label="Verdict">',
           f'<div class="label">{icon(sev)}<span>{label}</span></div>',
           f"<h2>{e(v.headline)}</h2>"]
    if v.detail:
        out.append(f"<p>{ec(v.detail)}</p>")
    if v.others:
        out.append("<p>Also found:</p><ul>")
        for f in v.others[:5]:
            where = f" on {f.host}" if f.host else ""
            out.append(f"<li>{sev_badge(f.severity)} {e(f.title)}{e(where)}</li>")
        if len(v.others) > 5:
            out.append(f"<li>… {len(v.others) - 5} more below</li>")
        out.append("</ul>")
    if v.severity is None and v.ask_for:
        out.append('<p>Ask the customer for:</p><ul class="ask">')
        out.extend(f"<li>{ec(a)}</li>" for a in v.ask_for)   # all of them, as the terminal and Markdown
        out.append("</ul>")
    loss = common.data_loss(report)
    if loss:
        out.append(f'<p class="loss">{icon("warning")} {e(loss)} See the inventory.</p>')
    c, k = v.counts, v.checks
    out.append(f'<p class="counts">Findings: {c["critical"]} critical, {c["error"]} error, '
               f'{c["warning"]} warning, {c["info"]} info · Checks: {k["fail"]} failed, '
               + (f'{k["info"]} info, ' if k["info"] else "")
               + f'{k["pass"]} passed, {k["not-evaluated"]} not evaluated</p>')
    out.append("</section>")
    return "".join(out)


def _marks(report: Report) -> list[tuple[str, pd.Timestamp]]:
    out = []
    for f in report.findings:
        if common.SEVERITY_RANK.get(f.severity, 0) < 1:
            continue
        for ev in f.evidence:
            if ev.time:
                t = pd.to_datetime(ev.time, utc=True, errors="coerce")
                if not pd.isna(t):
                    out.append((f.host, t))
    return out


def _chart(report: Report, result: Any) -> str:
    tl = common.frame_of(result, "timeline")
    hosts_first = [f.host for f in common.ordered_findings(report) if f.host]
    try:
        ch = chart_mod.build(tl, marks=_marks(report), hosts_first=hosts_first)
    except Exception as exc:  # the chart must never cost the customer the report
        return (f'<section id="timeline"><h2>Timeline</h2><p class="small">The chart could not be '
                f'drawn ({e(type(exc).__name__)}: {e(exc)}).</p></section>')
    if not ch.svg:
        return ('<section id="timeline"><h2>Timeline</h2><p class="small">No timed RDP-relevant '
                'events (sessions, failed logons, TermDD, licensing, TLS, service or sleep '
                'events) in this bundle.</p></section>')
    notes = [f"{ch.drawn:,} events in this window"]
    if ch.outside:
        notes.append(f"{ch.outside:,} outside it not drawn")
    if ch.sleeps:
        notes.append(f"{ch.sleeps} sleep interval{'s' if ch.sleeps != 1 else ''}")
    if ch.hosts_omitted:
        notes.append(f"{len(ch.hosts_omitted)} more host(s) not drawn: "
                     f"{_names(ch.hosts_omitted)}")
    if ch.hosts_quiet:
        notes.append(f"no timed events in this window for {_names(ch.hosts_quiet)}")
    return ('<section id="timeline" aria-label="Timeline"><h2>Timeline around the failures</h2>'
            f'<figure><div class="chart-box">{ch.svg}</div><figcaption>Times in UTC. Bar height grows with the number of '
            'events per time slot (hover for counts); red triangles mark the evidence of findings. '
            f'{e("; ".join(notes))}.</figcaption></figure></section>')


def _finding(f: Finding, n: int) -> str:
    sev = f.severity if f.severity in common.SEVERITY_LABEL else "info"
    out = [f'<article class="finding sev-{sev}" id="finding-{n}">',
           f'<h3>{sev_badge(f.severity)}<span>{e(f.title)}</span>'
           f'<span class="fid">{e(f.id)}{" · " + e(f.host) if f.host else ""}</span></h3>']
    if f.summary:
        out.append(f"<p>{ec(f.summary)}</p>")
    if f.explained_by:
        out.append(f'<p class="explained">Explained by <code>{e(f.explained_by)}</code>: this is a '
                   f"consequence, fix that first.</p>")
    if f.explains:
        out.append(f'<p class="explained">Also explains: {e(", ".join(f.explains))}.</p>')
    if f.evidence:
        shown = f.evidence[:MAX_EVIDENCE]
        timed = any(ev.time for ev in shown)          # snapshots (netstat...) have no time
        rows = []
        for ev in shown:
            row = [f'<code>{ep(ev.source)}</code>', f'<code>{e(ev.locator)}</code>',
                   e(_clip(ev.excerpt, MAX_EXCERPT))]
            rows.append(([f'<span class="mono">{e(ev.time or "")}</span>'] if timed else []) + row)
        head = (["time (UTC)"] if timed else []) + ["file", "where", "excerpt"]
        out.append("<h4>Evidence</h4>" + _table(head, rows))
        total = max(getattr(f, "evidence_total", None) or 0, len(f.evidence))
        out.append(_more(total - min(len(f.evidence), MAX_EVIDENCE), "matching rows",
                         f"the JSON report carries {len(f.evidence)} of them"))
    if f.remedy:
        out.append(f'<h4>Remedy</h4><p class="remedy">{ec(f.remedy)}</p>')
    if f.references:
        out.append(f'<p class="small">References: {e(", ".join(f.references))}</p>')
    out.append("</article>")
    return "".join(out)


def _findings(report: Report) -> str:
    fs = common.ordered_findings(report)
    if not fs:
        return ('<section id="findings"><h2>Findings</h2><p>No findings. See the checklist for '
                "what was checked and what could not be.</p></section>")
    return ('<section id="findings"><h2>Findings</h2>'
            + "".join(_finding(f, i) for i, f in enumerate(fs, 1)) + "</section>")


def _checklist(report: Report) -> str:
    out = ['<section id="checklist"><h2>Checklist (KB2477023)</h2>']
    if not report.checks:
        out.append("<p>No checks were run.</p>")
    for key, heading, checks in common.checks_by_section(report):
        if not checks:
            continue
        out.append(f'<h3 id="part-{e(key)}">{e(heading)}</h3>')
        rows = []
        for c in checks:
            if c.status == "not-evaluated":
                what = ("Ask the customer for " + "; ".join(c.missing)) if c.missing else \
                    "Not evaluated"
            elif c.status == "fail":
                fs = common.findings_for_check(report, c.check)
                what = "; ".join(f.summary or f.title for f in fs[:3]) or "see findings"
            else:
                what = ""
            if c.note:
                what = f"{what} ({c.note})" if what else c.note
            rows.append([f"{e(common.check_title(c.id, report.findings))}<br>"
                         f'<code class="small">{e(c.id)}</code>',
                         e(c.host_label(report.hosts)),
                         status_badge(common.check_outcome(report, c)), ec(what)])
        out.append(_table(["check", "host", "status", "details / ask the customer for"], rows,
                          ["", "", "status", ""]))
    asks = common.ask_for(report.checks)
    if asks:
        out.append('<h3>To complete the checklist, ask the customer for</h3><ul class="ask">')
        out.extend(f"<li>{ec(a)}</li>" for a in asks)
        out.append("</ul>")
    out.append("</section>")
    return "".join(out)


def _na(v: Any) -> bool:
    """True for None / NaN / NA / NaT scalars (what a DataFrame puts in empty cells)."""
    if v is None:
        return True
    if isinstance(v, (list, tuple, dict, str, bytes)):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):          # arrays and other containers
        return False


def _records(df: pd.DataFrame, limit: int) -> list[dict[str, Any]]:
    """Rows as dicts with empty cells as None."""
    return [{k: (None if _na(v) else v) for k, v in r.items()}
            for r in df.head(limit).to_dict("records")]


def _truthy(v: Any) -> bool:
    try:
        return bool(v) and not pd.isna(v)
    except (TypeError, ValueError):
        return False


def _overridden(v: Any) -> str:
    if v is None or isinstance(v, (str, bytes)):
        return f"<ul><li><s>{e(v)}</s></li></ul>" if v else ""
    if not hasattr(v, "__iter__"):            # a scalar (NaN / NA from a frame)
        return ""
    items = []
    for o in list(v):
        if isinstance(o, dict):
            o = {k: (None if _na(v) else v) for k, v in o.items()}
            disp = o.get("display") if o.get("display") not in (None, "") else o.get("value")
            src = " ".join(str(x) for x in (o.get("source"), o.get("locator")) if x)
            gpo = f" GPO {o['gpo']}" if o.get("gpo") else ""
            items.append(f"<li><s>{e(disp)}</s> — {e(o.get('origin'))}{e(gpo)}"
                         f"{' · <code>' + ep(src) + '</code>' if src else ''}</li>")
        else:
            items.append(f"<li><s>{e(o)}</s></li>")
    return f"<ul>{''.join(items)}</ul>" if items else ""


def _config(result: Any) -> str:
    cfg = common.frame_of(result, "config")
    head = '<section id="config"><h2>Effective RDP configuration</h2>'
    if cfg is None or len(cfg) == 0:
        return head + ("<p>No RDP configuration in the bundle (no registry export or gpresult): "
                       "ask the customer for <code>reg export \"HKLM\\SYSTEM\\CurrentControlSet\\"
                       "Control\\Terminal Server\"</code> and <code>gpresult /x</code>.</p></section>")
    rows = []
    for r in _records(cfg, MAX_CONFIG):
        disp = r.get("display")
        if disp is None or disp is pd.NA or disp == "":
            disp = r.get("value")
        origin = r.get("origin") or ""
        if _truthy(r.get("is_default")):
            origin = "documented default (not seen in the bundle)"
        if r.get("gpo"):
            origin = f"{origin}: GPO {r['gpo']}"
        src = " ".join(str(x) for x in (r.get("source"), r.get("locator")) if x)
        rows.append([e(r.get("host")), f"<code>{e(r.get('setting'))}</code>", e(disp), e(origin),
                     f"<code>{ep(src)}</code>" if src else "", _overridden(r.get("overridden"))])
    return (head + _table(["host", "setting", "value", "decided by", "source", "overridden values"],
                          rows) + _more(len(cfg) - MAX_CONFIG, "settings") + "</section>")


def _inventory(report: Report, result: Any) -> str:
    inv = common.frame_of(result, "inventory")
    records = (_records(inv, len(inv)) if inv is not None else
               [{k: (None if _na(v) else v) for k, v in r.items()} for r in report.inventory])
    out = ['<section id="inventory"><h2>Inventory</h2>']
    if not records:
        out.append("<p>The bundle held no files.</p></section>")
        return "".join(out)
    st = pd.Series([r.get("status") for r in records])
    summary = (report.accounting or {}).get("summary")
    out.append(f'<p class="small">{len(records)} files: {int((st == "parsed").sum())} parsed, '
               f'{int((st == "skipped").sum())} skipped, {int((st == "failed").sum())} failed.'
               f'{" " + e(summary) + "." if summary else ""}</p>')

    def num(v):
        return "" if _na(v) else f"{int(v):,}"

    rows = []
    for r in records[:MAX_INVENTORY]:
        status = r.get("status") or ""
        reason = r.get("reason") or ""
        dropped = r.get("dropped")
        extra = []
        if dropped:
            extra.append(f"{int(dropped):,} irrelevant events dropped")
        if r.get("skipped_ranges"):
            extra.append(f"{int(r['skipped_ranges'])} unreadable ranges skipped")
        note = "; ".join([x for x in [str(reason) if reason else ""] + extra if x])
        rows.append([f"<code>{ep(r.get('source'))}</code>", e(r.get("kind")), e(r.get("host")),
                     e(status), num(r.get("records")), num(r.get("warnings")), e(note)])
    out.append(_table(["file", "kind", "host", "status", "records", "warnings", "notes"], rows,
                      ["", "", "", "", "num", "num", ""]))
    out.append(_more(len(records) - MAX_INVENTORY, "files"))
    out.append("</section>")
    return "".join(out)


def _warnings(report: Report) -> str:
    ws = report.warnings
    out = ['<section id="warnings"><h2>Parser warnings</h2>']
    if not ws:
        out.append("<p>None: every parsed file was read completely.</p></section>")
        return "".join(out)
    rows = [[f"<code>{ep(w.get('source'))}</code>", f"<code>{e(w.get('locator'))}</code>",
             e(_clip(w.get("message"), MAX_EXCERPT))] for w in ws[:MAX_WARNINGS]]
    out.append(_table(["file", "where", "message"], rows))
    out.append(_more(len(ws) - MAX_WARNINGS, "warnings"))
    out.append("</section>")
    return "".join(out)


def render(result: Any) -> str:
    """The whole report as one HTML document (str)."""
    report = common.report_of(result)
    tool = report.tool or {}
    v = common.verdict(report)
    title = f"rdpdoctor — {v.headline} — {report.bundle}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>",
        ICONS,
        "<main>",
        _header(report, result),
        _verdict(report),
        _chart(report, result),
        _findings(report),
        _checklist(report),
        _config(result),
        _inventory(report, result),
        _warnings(report),
        f'<footer>{e(tool.get("name", "rdpdoctor"))} {e(tool.get("version", ""))} · '
        "self-contained report: it loads nothing from the network and runs no script.</footer>",
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"
