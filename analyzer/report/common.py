"""What the HTML and Markdown reports share: the article's sections, the verdict, small accessors.

Both renderers take the ``AnalysisResult`` of ``analyzer.analyze`` (``.report`` is the
:class:`analyzer.findings.Report`; ``.timeline``, ``.config``, ``.inventory`` are optional
extras) and must say the same thing, so the wording of the verdict and the grouping of the
checklist live here, once.

The checklist mirrors KB2477023 ("Remote Desktop disconnected or can't connect…"): its four
troubleshooting parts, then the checks rdpdoctor adds for modern Windows
(../shared/KNOWLEDGE.md Part A, column "KB 2477023 part").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from ..detectors import REGISTRY, finding_order, load_all
from ..findings import SEVERITY_RANK, Check, Finding, Report

#: (section key, heading) in the article's order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("1", "Part 1 — Remote Desktop enabled, connection limits, logon rights, sleep"),
    ("2", "Part 2 — Port assignment conflict and listener availability"),
    ("3", "Part 3 — Authentication and encryption settings"),
    ("4", "Part 4 — Certificate corruption and licensing"),
    ("modern", "Beyond the article — modern Windows signals"),
)

#: check / finding id → (section key, short human title). Ids are KNOWLEDGE.md Part A's.
CHECKS: dict[str, tuple[str, str]] = {
    "rdp-disabled": ("1", "Remote Desktop is enabled"),
    "connection-limit-policy": ("1", "No finite connection limit configured"),
    "connection-limit-reached": ("1", "Connection limit not reached"),
    "admin-sessions-exhausted": ("1", "Administrative sessions available"),
    "user-not-authorized": ("1", "Users hold the Remote Desktop logon right"),
    "host-sleeps": ("1", "Host does not sleep or hibernate"),
    "port-conflict": ("2", "No other program holds the RDP port"),
    "port-nondefault": ("2", "RDP listens on the default port"),
    "listener-down": ("2", "RDP-Tcp listener is up"),
    "tls-requires-high-encryption": ("3", "TLS security layer has High encryption"),
    "tls-certificate-problem": ("3", "TLS certificate usable"),
    "fips-overrides-encryption": ("3", "FIPS option does not override encryption"),
    "policy-overrides-local": ("3", "Policy and local RDP settings agree"),
    "sessions-not-disconnecting": ("3", "Dropped sessions disconnect (keep-alive)"),
    "snp-features-enabled": ("3", "TCP Chimney / RSS / NetDMA off (2003 SP2)"),
    "certificate-corruption": ("4", "Terminal Server certificate not corrupt"),
    "licensing-grace-expired": ("4", "Licensing grace period not expired"),
    "license-server-unreachable": ("4", "License server reachable"),
    "license-issue-failed": ("4", "Client licenses can be issued"),
    "nla-required": ("modern", "Network Level Authentication requirement"),
    "rdp-brute-force": ("modern", "No password-guessing burst"),
    "protocol-error-burst": ("modern", "No burst of RDP protocol errors"),
    "logons-disabled": ("modern", "Logons not disabled (drain mode)"),
    "termservice-not-running": ("modern", "Remote Desktop Services running"),
}

SEVERITY_LABEL = {"critical": "CRITICAL", "error": "ERROR", "warning": "WARNING", "info": "INFO"}
STATUS_LABEL = {"fail": "FAIL", "pass": "PASS", "not-evaluated": "NOT EVALUATED", "info": "INFO"}
#: Text markers that carry the meaning without colour (Markdown), always next to the label.
#: Not ``[X]``: in a list item that becomes a GitHub task-list checkbox.
SEVERITY_MARK = {"critical": "✖", "error": "▲", "warning": "◆", "info": "ℹ"}
STATUS_MARK = {"fail": "✖", "pass": "✔", "not-evaluated": "?", "info": "ℹ"}


def section_of(check_id: str) -> str:
    return CHECKS.get(check_id, ("modern", ""))[0]


def check_title(check_id: str, findings: Iterable[Finding] = ()) -> str:
    """Human title of a check: our table, else the title of a finding with that id, else id."""
    if check_id in CHECKS:
        return CHECKS[check_id][1]
    for f in findings:
        if f.id == check_id and f.title:
            return f.title
    return check_id


def report_of(result: Any) -> Report:
    """The Report inside an AnalysisResult (or the Report itself)."""
    return result if isinstance(result, Report) else result.report


def frame_of(result: Any, name: str):
    """``result.<name>`` as a DataFrame, or None when absent / not computable."""
    try:
        df = getattr(result, name, None)
    except Exception:  # a lazily computed attribute (bundle.config) that failed
        return None
    if df is None or not hasattr(df, "columns"):
        return None
    return df


def ordered_findings(report: Report) -> list[Finding]:
    """Root causes by severity, each followed by the findings it explains, then the rest.

    A consequence (``explained_by`` set) reads best right under its cause: port-conflict,
    then the listener-down it explains, then the next root cause.
    """
    key = finding_order
    roots = sorted((f for f in report.findings if not f.explained_by), key=key)
    rest = sorted((f for f in report.findings if f.explained_by), key=key)
    out: list[Finding] = []
    for r in roots:
        out.append(r)
        for f in rest:
            if f.explained_by == r.id and f.host == r.host and not any(f is o for o in out):
                out.append(f)
    out += [f for f in rest if not any(f is o for o in out)]
    return out


def check_outcome(report: Report, row: "CheckRow") -> str:
    """The status to show: ``info`` for a failed check whose findings are all informational
    (e.g. nla-required: worth knowing, not a fault), else the check's own status."""
    return _outcome(report, row.check)


def _outcome(report: Report, check: Check) -> str:
    if check.status == "fail":
        sev = [f.severity for f in findings_for_check(report, check)] + list(check.hidden)
        if sev and all(s == "info" for s in sev):
            return "info"
    return check.status


@dataclass
class Verdict:
    severity: str | None          # top root cause's severity, None when nothing was found
    headline: str                 # one sentence
    detail: str                   # the root cause's summary (or what is missing)
    root: Finding | None
    others: list[Finding]         # further root causes at warning or above
    counts: dict[str, int]        # findings per severity
    checks: dict[str, int]        # checks per status
    ask_for: list[str]            # what to ask the customer for (not-evaluated checks)
    filtered: bool = False        # checks failed, but --min-severity hid all their findings
    #: fault (a root cause) · filtered · no-data · ok (every check that can stop all
    #: connections ran) · incomplete (some of them could not) · inconclusive (most could not)
    status: str = "fault"
    unchecked: list[str] = field(default_factory=list)   # blocking checks not evaluated
    unchecked_by_host: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The verdict in the JSON report (added to the contract: a batch can tell "no
        fault" from "too little to tell" without re-reading the checks)."""
        return {"status": self.status, "headline": self.headline, "detail": self.detail,
                "root_cause": self.root.id if self.root is not None else None,
                "host": self.root.host if self.root is not None else None,
                "unchecked": list(self.unchecked),
                "unchecked_by_host": {h: list(v) for h, v in self.unchecked_by_host.items()}}


#: Verdict status → the label reports show.
VERDICT_LABEL = {"ok": "NO FAULT FOUND", "incomplete": "INCOMPLETE",
                 "inconclusive": "INCONCLUSIVE", "no-data": "NO DATA", "filtered": "FILTERED"}


def _unchecked(report: Report) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """(the blocking checks this report ran — a check disabled in the configuration is not
    counted —, those of them not evaluated on some host, host → those not evaluated there)."""
    ran = {c.id for c in report.checks}
    blocking = [i for i in blocking_checks() if i in ran]
    by_host: dict[str, list[str]] = {}
    for c in report.checks:
        if c.status == "not-evaluated" and c.id in blocking:
            lst = by_host.setdefault(c.host or "", [])
            if c.id not in lst:
                lst.append(c.id)
    for h in by_host:
        by_host[h].sort(key=blocking.index)
    return blocking, [i for i in blocking if any(i in v for v in by_host.values())], by_host


def blocking_checks() -> list[str]:
    """Ids of the checks whose failure stops every connection to the host (the critical
    detectors): "no fault found" means little while they could not run."""
    load_all()
    return [i for i, d in REGISTRY.items() if d.severity == "critical"]


def ask_for(checks: Iterable[Check]) -> list[str]:
    """Distinct 'ask the customer for …' items of the not-evaluated checks, in first-seen order."""
    seen: dict[str, None] = {}
    for c in checks:
        if c.status == "not-evaluated":
            for m in c.missing:
                seen.setdefault(m, None)
    return list(seen)


def _what_next(checks: Iterable[Check], asks: list[str]) -> str:
    """What the verdict tells the reader to do about the checks not evaluated: ask for the
    items listed below when they name some; read the checklist's notes of those that name
    nothing to ask for (a 2003 server logs no sleep event: its power scheme is checked by
    hand), where no list would follow."""
    ne = [c for c in checks if c.status == "not-evaluated"]
    noted = [c for c in ne if not c.missing and c.note]
    if asks:
        return "ask the customer for the items listed below" + (
            ", and see the checklist's notes on the others" if noted else "")
    if noted:
        return "see its note in the checklist" if len(ne) == 1 else \
            "see their notes in the checklist"
    return "see the checklist"


def verdict(report: Report) -> Verdict:
    fs = ordered_findings(report)
    counts = {s: sum(f.severity == s for f in fs) for s in ("critical", "error", "warning", "info")}
    # as the checklist shows them: a check whose findings are all informational is "info"
    outcomes = [_outcome(report, c) for c in report.checks]
    checks = {s: outcomes.count(s) for s in ("fail", "info", "pass", "not-evaluated")}
    asks = ask_for(report.checks)
    roots = [f for f in fs if f.explained_by is None and SEVERITY_RANK.get(f.severity, 0) >= 1]
    if roots:
        top = roots[0]
        kind = {"critical": "Root cause", "error": "Root cause",
                "warning": "Likely contributor"}.get(top.severity, "Finding")
        where = f" on {top.host}" if top.host else ""
        headline = f"{kind}{where}: {top.title}"
        # what could not be checked still matters beside a fault found (a warning-level
        # finding on a bundle where nothing critical could run)
        _, unchecked, by_host = _unchecked(report)
        return Verdict(top.severity, headline, top.summary, top,
                       [f for f in roots[1:]], counts, checks, asks,
                       unchecked=unchecked, unchecked_by_host=by_host)
    if checks["fail"]:
        # nothing shown, yet checks failed: their findings are below --min-severity
        # (an informational check whose finding is hidden failed too: the JSON says "fail")
        failed = [c for c, o in zip(report.checks, outcomes)
                  if o == "fail" or (o == "info" and c.hidden)]
        hidden = [h for c in failed for h in c.hidden]
        infos = hidden.count("info")
        return Verdict(None, "No finding shown at the chosen minimum severity",
                       f"{len(failed)} check(s) failed with {len(hidden)} finding(s) below "
                       "--min-severity" + (f" ({infos} of them informational)" if infos else "")
                       + "; run without it to see them.",
                       None, [], counts, checks, asks, filtered=True, status="filtered")
    n_ne = checks["not-evaluated"]
    acc = report.accounting or {}
    if not report.hosts or (acc and not acc.get("parsed_files")):
        headline = "Nothing to analyse: no Windows artifact in this bundle was recognised"
        detail = ("Every check is not evaluated. " + (str(acc.get("summary")) + ". " if acc.get("summary") else "")
                  + ("Ask the customer for the event logs, registry exports and command output "
                     "listed below." if asks else "See the checklist."))
        return Verdict(None, headline, detail, None, [], counts, checks, asks, status="no-data")
    # a check that could not run is not a pass: the verdict says how much of what stops
    # every connection the bundle let us look at, host by host
    blocking, unchecked, by_host = _unchecked(report)
    if unchecked:
        inc = [h for h, v in by_host.items() if 2 * len(v) > len(blocking)]
        checked = {c.host for c in report.checks}
        clean = [h for h in report.hosts if h in checked and h not in by_host]
        several = len(checked) > 1
        names = ", ".join(unchecked)
        rest = n_ne - sum(c.status == "not-evaluated" and c.id in unchecked for c in report.checks)
        more = f", and {rest} other check(s)" if rest > 0 else ""
        if inc:
            headline = ("Inconclusive" + (f" for {', '.join(inc)}" if several else "")
                        + ": the bundle cannot show whether Remote Desktop accepts connections"
                        + (" there" if several else ""))
        else:
            headline = "No fault found in what the bundle holds"
        if several and clean:
            headline += f"; every check ran on {', '.join(clean)}"
        then = _what_next(report.checks, asks)
        if several:
            per = "; ".join(f"{h}: {len(v)} of {len(blocking)} ({', '.join(v)})"
                            for h, v in by_host.items())
            detail = (f"{checks['pass']} check(s) passed, but checks for faults that stop every "
                      f"connection could not be evaluated — {per}{more} — {then}.")
        else:
            detail = (f"{checks['pass']} check(s) passed, but {len(unchecked)} of the "
                      f"{len(blocking)} checks for faults that stop every connection could not "
                      f"be evaluated ({names}){more} — {then}.")
        if counts["info"]:
            detail += f" {counts['info']} informational finding(s) are listed below."
        return Verdict(None, headline, detail, None, [], counts, checks, asks,
                       status="inconclusive" if inc else "incomplete", unchecked=unchecked,
                       unchecked_by_host=by_host)
    headline = "No fault found that would stop Remote Desktop connections"
    if n_ne:
        # "lacks their inputs" only when each of them names one: a check can be out of
        # reach of any bundle (no sleep events on 2003) and say so in its note
        lacks = all(c.missing for c in report.checks if c.status == "not-evaluated")
        detail = (f"{checks['pass']} checks passed; {n_ne} could not be evaluated"
                  + (" because the bundle lacks their inputs" if lacks else "")
                  + f" — {_what_next(report.checks, asks)}.")
    elif checks["info"]:
        detail = f"{checks['pass']} checks passed."
    else:
        detail = f"All {checks['pass']} checks passed."
    if counts["info"]:
        detail += f" {counts['info']} informational finding(s) are listed below."
    return Verdict(None, headline, detail, None, [], counts, checks, asks, status="ok")


@dataclass
class CheckRow:
    """One checklist line: a check, and the hosts that share its status and missing inputs."""

    id: str
    status: str
    hosts: list[str]
    missing: list[str]
    note: str
    check: Check                     # the first of the grouped checks

    def host_label(self, all_hosts: list[str], n: int = 4) -> str:
        if len(self.hosts) > 1 and set(self.hosts) >= set(all_hosts):
            return f"all {len(self.hosts)} hosts"
        shown = ", ".join(self.hosts[:n])
        return shown + (f" +{len(self.hosts) - n}" if len(self.hosts) > n else "")


def _rows(checks: list[Check]) -> list[CheckRow]:
    """Group passes and not-evaluated checks of several hosts into one row; fails stay per host."""
    rows: dict[tuple, CheckRow] = {}
    for c in checks:
        key = (c.id, c.status, tuple(c.missing), c.note,
               c.host if c.status == "fail" else None)
        if key in rows:
            rows[key].hosts.append(c.host)
        else:
            rows[key] = CheckRow(c.id, c.status, [c.host], list(c.missing), c.note, c)
    return list(rows.values())


def data_loss(report: Report) -> str | None:
    """One sentence when reading lost data (damaged files, refused members), else None."""
    a = report.accounting or {}
    if not a.get("lost"):
        return None
    parts = []
    if a.get("lost_records"):
        parts.append(f"{a['lost_records']:,} records lost")
    if a.get("damaged_files"):
        parts.append(f"{a['damaged_files']} damaged file(s)")
    if a.get("skipped_ranges"):
        parts.append(f"{a['skipped_ranges']} unreadable range(s) skipped")
    if a.get("failed_files"):
        parts.append(f"{a['failed_files']} file(s) failed to parse")
    if a.get("refused_files"):
        parts.append(f"{a['refused_files']} archive member(s) refused")
    what = ", ".join(parts) or "some data could not be read"
    return f"Data was lost while reading the bundle ({what}): findings may be incomplete."


def checks_by_section(report: Report) -> list[tuple[str, str, list[CheckRow]]]:
    """(key, heading, rows) per article section, in the article's order; empty ones kept."""
    out = []
    order = {cid: i for i, cid in enumerate(CHECKS)}
    status_order = {"fail": 0, "not-evaluated": 1, "pass": 2}
    for key, heading in SECTIONS:
        cs = [c for c in report.checks if section_of(c.id) == key]
        cs.sort(key=lambda c: (order.get(c.id, len(order)), c.id, status_order.get(c.status, 3),
                               c.host or ""))
        out.append((key, heading, _rows(cs)))
    return out


def findings_for_check(report: Report, check: Check) -> list[Finding]:
    return [f for f in report.findings if f.id == check.id and (f.host == check.host or not check.host)]
