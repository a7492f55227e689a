"""The objects detectors produce and reporters render.

``Report`` is the one object every output format renders (terminal, JSON, HTML, Markdown);
``Report.to_dict()`` is the canonical JSON form and follows the output contract in
../shared/KNOWLEDGE.md Part A exactly (fields may be added, none renamed or dropped).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITIES = ("info", "warning", "error", "critical")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}

CHECK_STATUSES = ("fail", "pass", "not-evaluated")


@dataclass
class Evidence:
    """One timeline row that supports a finding: where to find it in the customer's file."""

    source: str
    locator: str
    excerpt: str
    time: str | None = None          # ISO-8601 UTC, when the row has one

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["time"] is None:
            d.pop("time")
        return d


@dataclass
class Finding:
    id: str
    severity: str
    host: str
    title: str
    summary: str
    evidence: list[Evidence] = field(default_factory=list)
    remedy: str = ""
    references: list[str] = field(default_factory=list)
    explained_by: str | None = None   # id of the root-cause finding that explains this one
    explains: list[str] = field(default_factory=list)
    evidence_total: int | None = None  # rows that matched, when more than ``evidence`` holds
    details: dict[str, Any] = field(default_factory=dict)  # machine-readable specifics

    def as_dict(self) -> dict[str, Any]:
        d = {
            "id": self.id, "severity": self.severity, "host": self.host, "title": self.title,
            "summary": self.summary, "evidence": [e.as_dict() for e in self.evidence],
            "remedy": self.remedy, "references": list(self.references),
        }
        if self.explained_by:
            d["explained_by"] = self.explained_by
        if self.explains:
            d["explains"] = list(self.explains)
        if self.evidence_total is not None:
            d["evidence_total"] = self.evidence_total
        if self.details:
            d["details"] = dict(self.details)
        return d


@dataclass
class Check:
    id: str
    host: str
    status: str                        # fail | pass | not-evaluated
    missing: list[str] = field(default_factory=list)   # what to ask the customer for
    note: str = ""
    #: severities of this check's findings that ``--min-severity`` hid (the check still
    #: failed; the note says so)
    hidden: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = {"id": self.id, "host": self.host, "status": self.status, "missing": list(self.missing)}
        if self.note:
            d["note"] = self.note
        return d


@dataclass
class Report:
    """Everything ``analyze`` found for one bundle; what every reporter renders."""

    tool: dict[str, str]
    bundle: str
    hosts: list[str]
    findings: list[Finding]
    checks: list[Check]
    inventory: list[dict[str, Any]]
    warnings: list[dict[str, str]]
    accounting: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": dict(self.tool),
            "bundle": self.bundle,
            "hosts": list(self.hosts),
            "findings": [f.as_dict() for f in self.findings],
            "checks": [c.as_dict() for c in self.checks],
            "inventory": list(self.inventory),
            "warnings": list(self.warnings),
            "accounting": dict(self.accounting),
            "verdict": self.verdict().as_dict(),
        }

    def verdict(self):
        """The verdict every report leads with (:func:`analyzer.report.common.verdict`)."""
        from .report.common import verdict

        return verdict(self)

    def max_severity(self) -> str | None:
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=SEVERITY_RANK.__getitem__)
